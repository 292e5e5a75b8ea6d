//! Rust bindings for the Pactum contracts.
//!
//! Generated at compile time by alloy's `sol!` from the ABI and bytecode that `scripts/abi` exports
//! from the Foundry build into `artifacts/` (the test script fails when those files are stale), so
//! the Rust side can never drift from the deployed contracts' interfaces. The escrow's structs
//! (`Agreement`, `Milestone`, …) and events come from here; `pactum-core` adds the EIP-712 rules.

alloy::sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    #[sol(rpc, all_derives, extra_derives(serde::Serialize, serde::Deserialize))]
    PactumEscrow,
    "artifacts/PactumEscrow.json"
);

alloy::sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    #[sol(rpc, all_derives, extra_derives(serde::Serialize, serde::Deserialize))]
    PactumPerformance,
    "artifacts/PactumPerformance.json"
);

alloy::sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    #[sol(rpc, all_derives)]
    MockStablecoin,
    "artifacts/MockStablecoin.json"
);

alloy::sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    #[sol(rpc, all_derives)]
    MockERC1271Wallet,
    "artifacts/MockERC1271Wallet.json"
);
