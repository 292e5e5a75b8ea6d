//! A restart of `pactum dev` in the middle of `pactum demo`, as an operator restarts a service:
//! the stack keeps its chain (`--state`) and its ledger (`--database-url`), the demo waits for it
//! to come back and plays on, and afterwards the ledger holds every escrow event on the chain
//! exactly once.

mod common;
use common::{free_port, fresh_database, wait_ready};

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256},
    providers::{Provider, ProviderBuilder},
    rpc::types::Filter,
};
use eyre::{bail, eyre, Result};
use sqlx::Row;

/// One run of the stack; stopped with SIGTERM (as an operator would) when dropped.
struct Stack(Child);

impl Stack {
    fn start(anvil_port: u16, api_port: u16, db: &str, state: &Path) -> Result<Self> {
        let child = Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["dev", "--anvil-port", &anvil_port.to_string()])
            .args(["--listen", &format!("127.0.0.1:{api_port}"), "--database-url", db, "--state"])
            .arg(state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self(child))
    }

    fn stop(&mut self) -> Result<()> {
        Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.0.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("pactum dev did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_in_the_middle_of_the_demo_loses_nothing() -> Result<()> {
    let db = fresh_database("pactum_restart").await?;
    let dir = std::env::temp_dir().join(format!("pactum-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let state = dir.join("chain.json");
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let api = format!("http://127.0.0.1:{api_port}");
    let rpc = format!("http://127.0.0.1:{anvil_port}");

    let mut stack = Stack::start(anvil_port, api_port, &db, &state)?;
    wait_ready(&api).await?;

    let mut demo = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["demo", "--api", &api, "--rpc-url", &rpc, "--bundle"])
        .arg(dir.join("bundle.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = demo.stdout.take().ok_or_else(|| eyre!("no stdout"))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // Play until the brand has funded the agreement, then restart the stack under the demo.
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .map_err(|_| eyre!("the demo never reached funding: {printed:#?}"))?
            .ok_or_else(|| eyre!("the demo ended before funding: {printed:#?}"))?;
        let funded = line.contains("brand funded all four milestones");
        printed.push(line);
        if funded {
            break;
        }
    }
    stack.stop()?;
    assert!(state.exists(), "anvil wrote no state file on SIGTERM");
    stack = Stack::start(anvil_port, api_port, &db, &state)?;

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(line)) => printed.push(line),
            Ok(None) => break,
            Err(_) => {
                let _ = demo.kill();
                bail!("the demo did not finish within 180 s of the restart: {printed:#?}");
            }
        }
    }
    let status = demo.wait()?;
    let text = printed.join("\n");
    let mut err = String::new();
    if let Some(mut e) = demo.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err)?;
    }
    assert!(status.success(), "{text}\n{err}");
    for expected in [
        "creator delivered milestone 0",
        "creator claimed milestone 1",
        "the agreement is \"closing\"",
        "the agreement is \"terminated\"; paid to creator \"600000000000000000\" wei, refunded to brand \"400000000000000000\" wei",
        "pactum verify: 20 checks, Verified",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    // Exactly once: the ledger's escrow events are the chain's escrow logs, one row each.
    let deployments: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!(
        "{}.deployments.json",
        state.display()
    ))?)?;
    let escrow: Address = serde_json::from_value(deployments["escrow"].clone())?;
    let from = deployments["deploymentBlock"].as_u64().ok_or_else(|| eyre!("no block"))?;
    let provider = ProviderBuilder::new().connect_http(rpc.parse()?);
    let mut on_chain: Vec<(B256, u64)> = provider
        .get_logs(&Filter::new().address(escrow).from_block(from))
        .await?
        .into_iter()
        .map(|l| Ok((l.block_hash.ok_or_else(|| eyre!("pending log"))?, l.log_index.unwrap_or(0))))
        .collect::<Result<_>>()?;
    on_chain.sort();
    let pool = sqlx::PgPool::connect(&db).await?;
    let mut indexed: Vec<(B256, u64)> =
        sqlx::query("SELECT block_hash, log_index FROM escrow_events WHERE chain_id = 31337")
            .fetch_all(&pool)
            .await?
            .into_iter()
            .map(|r| {
                let hash: Vec<u8> = r.get(0);
                let index: i32 = r.get(1);
                (B256::from_slice(&hash), index as u64)
            })
            .collect();
    indexed.sort();
    // Created, funded, three deliveries, an approval, two claims, a termination, its end and the
    // completion of the last delivered milestone.
    assert!(on_chain.len() >= 11, "fewer escrow events than the demo makes: {}", on_chain.len());
    assert_eq!(indexed, on_chain);
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
