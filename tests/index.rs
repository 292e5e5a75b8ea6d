//! `pactum index` run as a user runs it: configured by file, environment and flags, mirroring a
//! live anvil into PostgreSQL, serving /metrics, and stopping cleanly on SIGTERM.

mod common;
use common::{free_port, fresh_database, terminate, StopOnDrop};

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Uint, B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::Result;
use pactum_bindings::PactumEscrow;
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use sqlx::Connection;

/// A chain with the escrow deployed and one agreement created, funded and approved (four events).
struct OneAgreement {
    anvil: AnvilInstance,
    escrow: Address,
    start: u64,
    id: B256,
}

async fn chain_with_one_agreement(chain_id: u64) -> Result<OneAgreement> {
    let anvil = Anvil::new().chain_id(chain_id).try_spawn()?;
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
    Ok(OneAgreement { escrow: *escrow.address(), anvil, start, id })
}

#[tokio::test]
async fn index_command_mirrors_serves_metrics_and_stops_on_sigterm() -> Result<()> {
    let OneAgreement { anvil, escrow, start, id } = chain_with_one_agreement(31_337).await?;
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());

    // The file names a wrong chain id; the environment overrides it; flags give the rest.
    let dir = std::env::temp_dir().join(format!("pactum-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("pactum.toml");
    std::fs::write(
        &config,
        format!("chain_id = 1\nescrow = \"{escrow}\"\nstart_block = {start}\n"),
    )?;
    let database_url = fresh_database("pactum_cli").await?;
    let metrics_port = free_port()?;
    // Stopped however the test ends: a failed assertion must not leave an indexer running.
    let mut child = StopOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["index", "--config"])
            .arg(&config)
            .args(["--rpc-url", anvil.endpoint().as_str(), "--database-url", &database_url])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}"), "--poll-ms", "50"])
            .env("PACTUM_CHAIN_ID", anvil.chain_id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?,
    );

    let mut conn = sqlx::PgConnection::connect(&database_url).await?;
    wait_for_events(&mut conn, &mut child.0, 4).await?;
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

    let exit = terminate(&mut child.0, Duration::from_secs(10)).await?;
    assert!(exit.success(), "exit status {exit}");
    Ok(())
}

/// Waits until `pactum index` has mirrored `events` events in all, or fails if it exits first.
async fn wait_for_events(
    conn: &mut sqlx::PgConnection,
    child: &mut std::process::Child,
    events: i64,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: Option<i64> = match sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(n) => Some(n),
            // Until `pactum index` has applied the migrations, the table is not there yet
            // (42P01); any other error is the test's.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
            Err(e) => return Err(e.into()),
        };
        if n == Some(events) {
            return Ok(());
        }
        eyre::ensure!(Instant::now() < deadline, "the index command did not mirror the events");
        eyre::ensure!(child.try_wait()?.is_none(), "the index command exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One process, two chains: each chain's events land under its own chain id with its own
/// checkpoint, /metrics shows both (each family once), SIGTERM stops both. A chain whose node
/// serves another chain id stops the process, naming the chain, before anything is written for it.
#[tokio::test]
async fn index_command_indexes_several_chains_in_one_process() -> Result<()> {
    let one = chain_with_one_agreement(31_337).await?;
    let two = chain_with_one_agreement(31_338).await?;
    // Enough blocks on the second chain for its finality depth to show.
    let node = ProviderBuilder::new().connect_http(two.anvil.endpoint_url());
    let _: serde_json::Value = node.raw_request("anvil_mine".into(), (20,)).await?;
    let dir = std::env::temp_dir().join(format!("pactum-index-chains-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("pactum.toml");
    std::fs::write(
        &config,
        format!(
            "[[chains]]\nchain_id = 31338\nrpc_url = \"{}\"\nescrow = \"{}\"\nstart_block = {}\n\
             finality_depth = 8\n",
            two.anvil.endpoint(),
            two.escrow,
            two.start
        ),
    )?;
    let database_url = fresh_database("pactum_cli_chains").await?;
    let metrics_port = free_port()?;
    // Stopped however the test ends: a failed assertion must not leave an indexer running.
    let mut child = StopOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["index", "--config"])
            .arg(&config)
            .args(["--rpc-url", one.anvil.endpoint().as_str(), "--database-url", &database_url])
            .args(["--chain-id", "31337", "--escrow", &one.escrow.to_string()])
            .args(["--start-block", &one.start.to_string()])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}"), "--poll-ms", "50"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let mut conn = sqlx::PgConnection::connect(&database_url).await?;
    wait_for_events(&mut conn, &mut child.0, 8).await?;
    for (chain, id) in [(31_337i64, one.id), (31_338, two.id)] {
        let (events, status): (i64, String) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM escrow_events WHERE chain_id = $1), \
               (SELECT status FROM agreements WHERE chain_id = $1 AND id = $2)",
        )
        .bind(chain)
        .bind(id.to_vec())
        .fetch_one(&mut conn)
        .await?;
        assert_eq!((events, status.as_str()), (4, "completed"), "chain {chain}");
    }
    // Each chain's own checkpoint, and its own finality: 64 blocks on the first (the default),
    // 8 on the second (its `[[chains]]` entry).
    let checkpoints: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT chain_id, head_block, finalized_block FROM indexer_checkpoints ORDER BY chain_id",
    )
    .fetch_all(&mut conn)
    .await?;
    assert_eq!(checkpoints.iter().map(|c| c.0).collect::<Vec<_>>(), [31_337, 31_338]);
    assert_eq!(checkpoints[0].2, (checkpoints[0].1 - 64).max(0), "{checkpoints:?}");
    assert_eq!(checkpoints[1].2, checkpoints[1].1 - 8, "{checkpoints:?}");
    let metrics =
        alloy::transports::http::reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .await?
            .text()
            .await?;
    for chain in [31_337, 31_338] {
        assert!(metrics.contains(&format!("pactum_indexer_indexed_block{{chain_id=\"{chain}\"}}")));
    }
    assert_eq!(metrics.matches("# TYPE pactum_indexer_indexed_block ").count(), 1, "{metrics}");

    // A reorg deeper than the second chain's finality depth (8) halts that chain's indexer; the
    // first chain's goes on mirroring, and the process keeps running.
    let _: serde_json::Value =
        node.raw_request("anvil_reorg".into(), serde_json::json!([12, []])).await?;
    let first = ProviderBuilder::new().connect_http(one.anvil.endpoint_url());
    let _: serde_json::Value = first.raw_request("anvil_mine".into(), (5,)).await?;
    let head = i64::try_from(first.get_block_number().await?)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let at: i64 = sqlx::query_scalar(
            "SELECT block_number FROM indexer_checkpoints WHERE chain_id = 31337",
        )
        .fetch_one(&mut conn)
        .await?;
        if at == head {
            break;
        }
        assert!(Instant::now() < deadline, "the first chain stopped at {at} of {head}");
        assert!(child.0.try_wait()?.is_none(), "one chain's failure stopped the process");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.0.try_wait()?.is_none(), "one chain's failure stopped the process");
    // The second chain's mirror did halt: blocks mined on it since are not mirrored.
    let _: serde_json::Value = node.raw_request("anvil_mine".into(), (3,)).await?;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let second_head = i64::try_from(node.get_block_number().await?)?;
    let second_at: i64 =
        sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints WHERE chain_id = 31338")
            .fetch_one(&mut conn)
            .await?;
    assert!(second_at < second_head, "the second chain went on past a reorg deeper than finality");
    let exit = terminate(&mut child.0, Duration::from_secs(10)).await?;
    assert!(exit.success(), "exit status {exit}");

    // A third chain listed with the second chain's node: refused, naming it; the others keep
    // what they had.
    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["index", "--config"])
        .arg(&config)
        .args(["--rpc-url", one.anvil.endpoint().as_str(), "--database-url", &database_url])
        .args(["--chain-id", "31337", "--escrow", &one.escrow.to_string()])
        .args(["--start-block", &one.start.to_string(), "--metrics-addr", "off"])
        .env(
            "PACTUM_CHAINS",
            format!(
                "chain_id=31338,rpc_url={},escrow={},start_block={};chain_id=31339,rpc_url={},escrow={},start_block=1",
                two.anvil.endpoint(),
                two.escrow,
                two.start,
                two.anvil.endpoint(),
                two.escrow
            ),
        )
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("chain 31339"), "{err}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events WHERE chain_id = 31339")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(n, 0);
    let _ = std::fs::remove_dir_all(&dir);
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
