//! `pactum reconcile` run as an auditor runs it, against the reconciliation scenario on anvil
//! (every exit in ETH and pUSD, deferred payments) and the indexer's database: exit 0 when it
//! reconciles (a stray transfer is printed as surplus), 1 on a tampered mirror or a shortfall,
//! 2 when the node or the database cannot be read.

mod common;
#[path = "../crates/audit/tests/it/scenario.rs"]
mod scenario;

use std::process::{Command, Output};

use alloy::{primitives::U256, providers::Provider};
use eyre::{ensure, Result};
use scenario::{deploy, ETHER, USD};

fn pactum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PACTUM_RPC_URL")
        .env_remove("PACTUM_ESCROW")
        .env_remove("PACTUM_START_BLOCK")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run pactum")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn exit_codes_follow_the_figures_and_the_mirror() -> Result<()> {
    let mut s = deploy().await?;
    s.play().await?;
    let rpc = s.anvil.endpoint();
    let escrow = s.address().to_string();
    let from = s.start_block.to_string();
    let base = ["reconcile", "--rpc-url", &rpc, "--escrow", &escrow, "--from-block", &from];

    // Reconciles: each token's line, to the unit.
    let o = pactum(&base);
    ensure!(o.status.code() == Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let eth_line = out.lines().find(|l| l.starts_with("ETH")).unwrap_or_default();
    let words: Vec<&str> = eth_line.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "ETH",
            &(9 * ETHER / 10).to_string(),
            &(ETHER / 5).to_string(),
            &(7 * ETHER / 10).to_string(),
            "0"
        ],
        "{out}"
    );
    ensure!(out.trim_end().ends_with("reconciles"), "{out}");

    // A stray transfer: printed as surplus, still exit 0.
    s.stray(U256::from(12_345_678u64)).await?;
    let o = pactum(&[&base[..], &["--json"]].concat());
    ensure!(o.status.code() == Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let usd = s.usd_address().to_string().to_lowercase();
    let t = json["chain"]["tokens"]
        .as_array()
        .and_then(|ts| {
            ts.iter().find(|t| t["token"].as_str().map(str::to_lowercase) == Some(usd.clone()))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&t["balance"], &t["held"], &t["surplus"]),
        (
            &serde_json::json!((470 * USD + 12_345_678).to_string()),
            &serde_json::json!((470 * USD).to_string()),
            &serde_json::json!("12345678")
        ),
        "{json}"
    );
    assert_eq!(json["reconciles"], true);
    assert_eq!(json["database"], serde_json::Value::Null);

    // With the indexer's database: matches once indexed; a tampered payout is exit 1 and named.
    let db_url = common::fresh_database("pactum_reconcile_cli").await?;
    let pool = pactum_db::connect(&db_url, 4).await?;
    let cfg = pactum_indexer::Config::new(s.anvil.chain_id(), s.address(), s.start_block);
    pactum_indexer::Indexer::new(cfg, s.anvil.endpoint_url(), pool.clone()).sync_to_head().await?;
    let with_db = [&base[..], &["--database-url", &db_url]].concat();
    let o = pactum(&with_db);
    ensure!(o.status.code() == Some(0), "{}", text(&o));
    ensure!(String::from_utf8_lossy(&o.stdout).contains("matches at block"), "{}", text(&o));
    sqlx::query(
        "UPDATE payouts SET amount = amount + 5 WHERE agreement_id = $1 AND role = 'creator'",
    )
    .bind(s.ids.approve_claim.as_slice())
    .execute(&pool)
    .await?;
    let o = pactum(&with_db);
    ensure!(o.status.code() == Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    ensure!(
        out.contains(&format!(
            "agreement {} (ETH): chain holds 0, database says -10",
            s.ids.approve_claim
        )),
        "{out}"
    );
    // A block the mirror has not reached cannot be compared: exit 2.
    let o = pactum(&[&with_db[..], &["--block", "99999"]].concat());
    ensure!(o.status.code() == Some(2), "{}", text(&o));

    // A shortfall (the escrow's ETH one wei short of what it owes) is exit 1, database or not.
    let short = U256::from(9 * ETHER / 10 - 1);
    let _: serde_json::Value =
        s.provider.raw_request("anvil_setBalance".into(), (s.address(), short)).await?;
    let o = pactum(&base);
    ensure!(o.status.code() == Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    ensure!(out.lines().any(|l| l.starts_with("ETH") && l.contains(" -1  SHORTFALL")), "{out}");
    Ok(())
}

#[tokio::test]
async fn an_unreadable_node_or_database_is_exit_2() -> Result<()> {
    let escrow = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let o = pactum(&["reconcile", "--rpc-url", "http://127.0.0.1:9", "--escrow", escrow]);
    ensure!(o.status.code() == Some(2), "{}", text(&o));
    ensure!(String::from_utf8_lossy(&o.stderr).contains("could not reconcile"), "{}", text(&o));

    let s = deploy().await?;
    let rpc = s.anvil.endpoint();
    let escrow = s.address().to_string();
    // An address without the escrow's code.
    let brand = s.brand.address().to_string();
    let o = pactum(&["reconcile", "--rpc-url", &rpc, "--escrow", &brand]);
    ensure!(o.status.code() == Some(2), "{}", text(&o));
    // A database nobody serves.
    let dead_db = format!("postgres://postgres@127.0.0.1:{}/nothing", common::free_port()?);
    let o =
        pactum(&["reconcile", "--rpc-url", &rpc, "--escrow", &escrow, "--database-url", &dead_db]);
    ensure!(o.status.code() == Some(2), "{}", text(&o));
    // Nothing to reconcile yet, but nothing wrong either: an empty escrow reconciles.
    let o = pactum(&["reconcile", "--rpc-url", &rpc, "--escrow", &escrow]);
    ensure!(o.status.code() == Some(0), "{}", text(&o));
    Ok(())
}
