//! `pactum deploy`: puts the escrow on a chain and prints what the indexer and API need (chain id,
//! address, deployment block).
//!
//! The deployer's key comes from an encrypted keystore file (`--keystore`, password from
//! `PACTUM_KEYSTORE_PASSWORD`) or from `PACTUM_DEPLOYER_KEY`; never from a flag, which would land in
//! shell history. The escrow has no owner, so the deployer holds no power after this.

use std::path::PathBuf;

use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use eyre::{bail, Context, Result};
use pactum_bindings::PactumEscrow;

/// Flags of `pactum deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// JSON-RPC URL of the target chain's node.
    #[arg(long, env = "PACTUM_RPC_URL")]
    rpc_url: String,
    /// An encrypted JSON keystore (as `cast wallet import` writes); its password is read from
    /// PACTUM_KEYSTORE_PASSWORD. Without it, the key is read from PACTUM_DEPLOYER_KEY.
    #[arg(long, env = "PACTUM_KEYSTORE")]
    keystore: Option<PathBuf>,
}

fn signer(args: &DeployArgs) -> Result<PrivateKeySigner> {
    match &args.keystore {
        Some(path) => {
            let password = std::env::var("PACTUM_KEYSTORE_PASSWORD")
                .wrap_err("PACTUM_KEYSTORE_PASSWORD must hold the keystore's password")?;
            PrivateKeySigner::decrypt_keystore(path, password)
                .wrap_err_with(|| format!("decrypting keystore {}", path.display()))
        }
        None => match std::env::var("PACTUM_DEPLOYER_KEY") {
            Ok(key) => key.trim().parse().wrap_err("PACTUM_DEPLOYER_KEY is not a private key"),
            Err(_) => bail!(
                "no deployer key: give --keystore FILE (password in PACTUM_KEYSTORE_PASSWORD) or set \
                 PACTUM_DEPLOYER_KEY"
            ),
        },
    }
}

/// Deploys and prints the configuration, human-readable on stderr and as JSON on stdout.
pub(crate) async fn run(args: DeployArgs) -> Result<()> {
    let key = signer(&args)?;
    let deployer = key.address();
    let url = args.rpc_url.parse().wrap_err_with(|| format!("RPC URL {:?}", args.rpc_url))?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(key)).connect_http(url);
    let chain_id = provider.get_chain_id().await.wrap_err("asking the node for its chain id")?;
    let balance =
        provider.get_balance(deployer).await.wrap_err("reading the deployer's balance")?;
    if balance.is_zero() {
        bail!("the deployer {deployer} has no funds on chain {chain_id}");
    }
    eprintln!("deploying PactumEscrow to chain {chain_id} from {deployer}…");
    let receipt = PactumEscrow::deploy_builder(&provider)
        .send()
        .await
        .wrap_err("sending the deployment")?
        .get_receipt()
        .await
        .wrap_err("waiting for the deployment's receipt")?;
    if !receipt.status() {
        bail!("the deployment transaction {} reverted", receipt.transaction_hash);
    }
    let (Some(escrow), Some(block)) = (receipt.contract_address, receipt.block_number) else {
        bail!("the receipt of {} names no contract or block", receipt.transaction_hash);
    };
    eprintln!(
        "escrow {escrow} at block {block} (tx {}).\nConfigure: PACTUM_CHAIN_ID={chain_id} \
         PACTUM_ESCROW={escrow} PACTUM_START_BLOCK={block}",
        receipt.transaction_hash
    );
    println!(
        "{}",
        serde_json::json!({
            "chainId": chain_id,
            "escrow": escrow,
            "startBlock": block,
            "transaction": receipt.transaction_hash,
            "deployer": deployer,
        })
    );
    Ok(())
}
