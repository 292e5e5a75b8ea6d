//! The `pactum` binary run as a user runs it, against a real escrow on anvil.

use std::process::Command;

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Bytes, B256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::Result;
use pactum_bindings::PactumEscrow;

fn pactum(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pactum")).args(args).output().expect("run pactum")
}

/// `pactum typed-data` gives the id the contract computes and typed data a wallet signs; the
/// signatures it yields create the agreement; `pactum recover` names the signers.
#[tokio::test]
async fn typed_data_signs_and_creates_on_chain() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let brand: PrivateKeySigner = anvil.keys()[1].clone().into();
    let creator = anvil.addresses()[2];
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(brand.clone()))
        .connect_http(anvil.endpoint_url());
    let escrow = PactumEscrow::deploy(&provider).await?;

    let dir = std::env::temp_dir().join(format!("pactum-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("agreement.json");
    // A milestone deadline within the escrow's five-year term: a month from the chain's now.
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let agreement = serde_json::json!({
        "brand": brand.address(), "creator": creator, "arbiter": Address::ZERO,
        "token": Address::ZERO, "termsHash": B256::repeat_byte(7),
        "arbiterFeeBps": 0, "contestWindow": 86400, "arbitrationWindow": 0, "revisionRounds": 2,
        "deadline": "0xffffffffff", "salt": "0x1",
        "milestones": [{
            "amount": "0xde0b6b3a7640000", "deadline": format!("{:#x}", now + 30 * 86_400),
            "reviewWindow": 3600,
        }]
    });
    std::fs::write(&file, agreement.to_string())?;

    let chain_id = anvil.chain_id().to_string();
    let escrow_addr = escrow.address().to_string();
    let out = pactum(&[
        "typed-data",
        file.to_str().expect("utf-8 path"),
        "--chain-id",
        &chain_id,
        "--escrow",
        &escrow_addr,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let id: B256 = serde_json::from_value(printed["id"].clone())?;
    let parsed: pactum_core::Agreement = serde_json::from_value(agreement)?;
    assert_eq!(escrow.hashAgreement(parsed.clone()).call().await?, id);

    let mut sigs = Vec::new();
    for signer in [brand.address(), creator] {
        let sig: Bytes = provider
            .raw_request("eth_signTypedData_v4".into(), (signer, printed["typedData"].clone()))
            .await?;
        let out = pactum(&["recover", "--digest", &id.to_string(), &sig.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout)?.trim().parse::<Address>()?, signer);
        sigs.push(sig);
    }
    let receipt =
        escrow.create(parsed, sigs[0].clone(), sigs[1].clone()).send().await?.get_receipt().await?;
    assert!(receipt.status());
    assert_eq!(escrow.getState(id).call().await?.status, 1, "agreement is active");
    Ok(())
}

/// A file that is not an agreement is refused with the file named, and nothing printed on stdout.
#[test]
fn bad_agreement_file_is_a_clear_error() -> Result<()> {
    let file = std::env::temp_dir().join(format!("pactum-bad-{}.json", std::process::id()));
    std::fs::write(&file, "{\"brand\": 5}")?;
    let out = pactum(&[
        "typed-data",
        file.to_str().expect("utf-8 path"),
        "--chain-id",
        "1",
        "--escrow",
        "0x0000000000000000000000000000000000000001",
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an agreement"));
    Ok(())
}
