//! `pactum index` run as a user runs it: configured by file, environment and flags, mirroring a
//! live anvil into PostgreSQL, serving /metrics, and stopping cleanly on SIGTERM.

mod common;
use common::{free_port, fresh_database};

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Uint, B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::Result;
use pactum_bindings::PactumEscrow;
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use sqlx::Connection;

#[tokio::test]
async fn index_command_mirrors_serves_metrics_and_stops_on_sigterm() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let brand: PrivateKeySigner = anvil.keys()[1].clone().into();
    let creator: PrivateKeySigner = anvil.keys()[2].clone().into();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(brand.clone()))
        .connect_http(anvil.endpoint_url());
    let escrow = PactumEscrow::deploy(&provider).await?;
    let start = provider.get_block_number().await?;
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let a = Agreement {
        brand: brand.address(),
        creator: creator.address(),
        arbiter: Address::ZERO,
        token: Address::ZERO,
        termsHash: B256::repeat_byte(1),
        arbiterFeeBps: 0,
        contestWindow: 60,
        arbitrationWindow: 0,
        revisionRounds: 2,
        deadline: Uint::from(now + 3_600),
        salt: U256::from(1),
        milestones: vec![Milestone {
            amount: U256::from(1_000),
            deadline: Uint::from(now + 86_400),
            // The escrow's shortest review window: an hour.
            reviewWindow: 3_600,
        }],
    };
    let id = agreement_id(&a, &domain(anvil.chain_id(), *escrow.address()));
    let sig = |k: &PrivateKeySigner| -> Result<alloy::primitives::Bytes> {
        Ok(k.sign_hash_sync(&id)?.as_bytes().to_vec().into())
    };
    escrow
        .createAndFund(a.clone(), sig(&brand)?, sig(&creator)?, U256::from(1))
        .value(U256::from(1_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    escrow.approve(a.clone(), U256::ZERO).send().await?.get_receipt().await?;

    // The file names a wrong chain id; the environment overrides it; flags give the rest.
    let dir = std::env::temp_dir().join(format!("pactum-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("pactum.toml");
    std::fs::write(
        &config,
        format!("chain_id = 1\nescrow = \"{}\"\nstart_block = {start}\n", escrow.address()),
    )?;
    let database_url = fresh_database("pactum_cli").await?;
    let metrics_port = free_port()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["index", "--config"])
        .arg(&config)
        .args(["--rpc-url", anvil.endpoint().as_str(), "--database-url", &database_url])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}"), "--poll-ms", "50"])
        .env("PACTUM_CHAIN_ID", anvil.chain_id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;

    let mut conn = sqlx::PgConnection::connect(&database_url).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events")
            .fetch_one(&mut conn)
            .await
            .ok();
        if n == Some(4) {
            break;
        }
        assert!(Instant::now() < deadline, "the index command did not mirror the events");
        assert!(child.try_wait()?.is_none(), "the index command exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status: String = sqlx::query_scalar("SELECT status FROM agreements WHERE id = $1")
        .bind(id.to_vec())
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(status, "completed");

    let metrics =
        alloy::transports::http::reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .await?
            .text()
            .await?;
    let head = provider.get_block_number().await?;
    assert!(
        metrics.contains(&format!(
            "pactum_indexer_indexed_block{{chain_id=\"{}\"}} {head}",
            anvil.chain_id()
        )),
        "{metrics}"
    );
    assert!(metrics.contains("pactum_indexer_events_total"), "{metrics}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        assert!(Instant::now() < deadline, "pactum index did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit}");
    Ok(())
}

#[test]
fn index_command_names_what_is_missing_or_wrong() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args([
            "index",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--database-url",
            "postgres://x@127.0.0.1:1/x",
        ])
        .env_remove("PACTUM_CHAIN_ID")
        .env_remove("PACTUM_ESCROW")
        .env_remove("PACTUM_CONFIG")
        .output()?;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the chain id is required"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config = std::env::temp_dir().join(format!("pactum-bad-{}.toml", std::process::id()));
    std::fs::write(&config, "chain_idd = 5\n")?;
    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["index", "--config"])
        .arg(&config)
        .output()?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field") && err.contains("chain_idd"), "{err}");
    Ok(())
}
