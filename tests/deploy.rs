//! `pactum deploy` as an operator runs it: the key from an encrypted keystore (password in the
//! environment) or from the environment, never a flag; it prints what to configure.

use std::process::Command;

use alloy::{
    node_bindings::Anvil,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
};
use eyre::Result;
use pactum_bindings::PactumEscrow;
use serde_json::Value;

fn deploy(rpc: &str, envs: &[(&str, &str)], args: &[&str]) -> Result<std::process::Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pactum"));
    cmd.args(["deploy", "--rpc-url", rpc]).args(args);
    for var in ["PACTUM_DEPLOYER_KEY", "PACTUM_KEYSTORE", "PACTUM_KEYSTORE_PASSWORD"] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    Ok(cmd.output()?)
}

#[tokio::test]
async fn deploys_from_a_keystore_or_the_environment_and_prints_the_configuration() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let rpc = anvil.endpoint();
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());

    // From the environment.
    let key = alloy::hex::encode_prefixed(anvil.keys()[3].to_bytes());
    let out = deploy(&rpc, &[("PACTUM_DEPLOYER_KEY", &key)], &[])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout)?;
    let escrow: Address = serde_json::from_value(printed["escrow"].clone())?;
    assert_eq!(printed["chainId"], anvil.chain_id());
    assert!(!provider.get_code_at(escrow).await?.is_empty());
    let d = PactumEscrow::new(escrow, &provider).eip712Domain().call().await?;
    assert_eq!((d.name.as_str(), d.verifyingContract), ("Pactum", escrow));
    let block = printed["startBlock"].as_u64().unwrap_or_default();
    assert!(provider.get_block_by_number(block.into()).await?.is_some());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("PACTUM_ESCROW={escrow}")));

    // From a keystore that cast wrote, funded first.
    let dir = std::env::temp_dir().join(format!("pactum-keystore-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let made = Command::new("cast")
        .args(["wallet", "new"])
        .arg(&dir)
        .args(["--unsafe-password", "correct horse", "--json"])
        .output()?;
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let made: Value = serde_json::from_slice(&made.stdout)?;
    let made = if made.is_array() { made[0].clone() } else { made };
    let path = made["path"].as_str().unwrap_or_default().to_owned();
    let owner: Address = serde_json::from_value(made["address"].clone())?;
    let _: Value = provider
        .raw_request("anvil_setBalance".into(), (owner, U256::from(10u128.pow(18))))
        .await?;
    let wrong = deploy(&rpc, &[("PACTUM_KEYSTORE_PASSWORD", "wrong")], &["--keystore", &path])?;
    assert!(!wrong.status.success());
    let out =
        deploy(&rpc, &[("PACTUM_KEYSTORE_PASSWORD", "correct horse")], &["--keystore", &path])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(printed["deployer"], serde_json::json!(owner));

    // No key at all: a clear error, nothing sent.
    let out = deploy(&rpc, &[], &[])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no deployer key"));
    Ok(())
}
