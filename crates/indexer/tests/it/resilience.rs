//! Crashes, reorgs and a changed chain: the mirror ends equal to a clean run's.

use std::time::Duration;

use alloy::{
    primitives::{keccak256, U256},
    providers::Provider,
};
use eyre::Result;

use crate::{
    helpers::{chain, dump, fresh_db},
    lifecycle::{assert_mirrors_chain, scenario},
};

/// Aborting the indexer mid-backfill, again and again, then letting it finish, leaves exactly the
/// tables a clean run writes.
#[tokio::test]
async fn crash_mid_backfill_resumes_exactly_once() -> Result<()> {
    let c = chain().await?;
    let (agreements, revoked) = scenario(&c).await?;

    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;

    let crashed = fresh_db().await?;
    let mut cfg = c.config();
    // One block per batch: many commits to crash between (and inside).
    cfg.initial_range = 1;
    cfg.max_range = 1;
    for round in 0..6u64 {
        let mut indexer = c.indexer(cfg.clone(), crashed.clone());
        let task = tokio::spawn(async move { indexer.run().await });
        tokio::time::sleep(Duration::from_millis(40 + 30 * round)).await;
        task.abort();
        let _ = task.await;
    }
    let mut indexer = c.indexer(cfg, crashed.clone());
    indexer.sync_to_head().await?;
    assert_eq!(dump(&crashed).await?, dump(&clean).await?);
    assert_mirrors_chain(&c, &crashed, &agreements, revoked).await?;
    Ok(())
}

/// Blocks replaced by a reorg (`anvil_reorg`, then a different transaction): their events leave the
/// mirror, the agreements are rebuilt, and the mirror equals the new canonical chain.
#[tokio::test]
async fn reorg_rolls_back_to_the_common_ancestor() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let usd = *c.usd.address();
    let a = c.agreement(usd, &[100, 200], true, 7).await?;
    let id = c.create_and_fund(&a, 2).await?;
    let mut indexer = c.indexer(c.config(), pool.clone());
    indexer.sync_to_head().await?;

    c.escrow
        .submit(a.clone(), U256::ZERO, keccak256("x"), "ipfs://x".into())
        .from(c.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .approve(a.clone(), U256::ZERO)
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    indexer.sync_to_head().await?;
    let approved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payouts").fetch_one(&pool).await?;
    assert_eq!(approved, 1);

    // The fork: anvil replaces the last two blocks (the submission and the approval) with empty
    // ones; then the brand approves milestone 1 instead.
    let _: serde_json::Value = c
        .provider
        .raw_request("anvil_reorg".into(), (2u64, Vec::<serde_json::Value>::new()))
        .await?;
    // alloy's receipt watcher follows block filters, which a reorg confuses: poll the receipt.
    // The wallet's nonce cache still counts the reorged-out approval: take the fork's nonce.
    let nonce = c.provider.get_transaction_count(c.brand.address()).await?;
    let pending = c
        .escrow
        .approve(a.clone(), U256::from(1))
        .from(c.brand.address())
        .nonce(nonce)
        .send()
        .await?;
    let hash = *pending.tx_hash();
    let mut receipt = None;
    for _ in 0..100 {
        receipt = c.provider.get_transaction_receipt(hash).await?;
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receipt.as_ref().is_some_and(|r| r.status()), "approval on the fork: {receipt:?}");
    tokio::time::timeout(Duration::from_secs(60), indexer.sync_to_head()).await??;
    assert_eq!(indexer.stats().reorgs, 1);

    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM escrow_events ORDER BY block_number, log_index")
            .fetch_all(&pool)
            .await?;
    assert!(!events.contains(&"DeliverableSubmitted".to_owned()), "{events:?}");
    let payouts: Vec<i32> =
        sqlx::query_scalar("SELECT milestone FROM payouts").fetch_all(&pool).await?;
    assert_eq!(payouts, [1]);
    assert_mirrors_chain(&c, &pool, &[a], id).await.ok();
    // And the mirror equals a clean run over the new chain, row for row.
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);
    Ok(())
}

/// A node with another genesis (a restarted anvil) is refused with a clear error, not "reorged".
#[tokio::test]
async fn another_genesis_is_refused() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    c.indexer(c.config(), pool.clone()).sync_to_head().await?;
    // Anvil's genesis hash depends on its start time, in seconds: start the other a second later.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let other = chain().await?; // same chain id and escrow address, new genesis
    assert_eq!(other.escrow.address(), c.escrow.address());
    let err = other.indexer(c.config(), pool).sync_to_head().await.expect_err("must refuse");
    assert!(matches!(err, pactum_indexer::Error::GenesisChanged { .. }), "{err}");
    Ok(())
}

/// Two indexers on one database: only one writes; when it dies the other takes over.
#[tokio::test]
async fn standby_takes_over_when_the_writer_dies() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let mut first = c.indexer(c.config(), pool.clone());
    let first_task = tokio::spawn(async move { first.run().await });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let second_pool = pactum_db::connect(&pool_url(&pool).await?, 4).await?;
    let mut second = c.indexer(c.config(), second_pool);
    let second_stop = second.cancel_token();
    let second_task = tokio::spawn(async move {
        let r = second.run().await;
        (r, second.stats().events)
    });
    let a = c.agreement(*c.usd.address(), &[5], false, 9).await?;
    c.create_and_fund(&a, 1).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mirrored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events").fetch_one(&pool).await?;
    assert_eq!(mirrored, 2, "the writer mirrors");

    first_task.abort();
    let _ = first_task.await;
    c.escrow
        .approve(a.clone(), U256::ZERO)
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let mut waited = 0;
    loop {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events").fetch_one(&pool).await?;
        if n == 4 {
            break;
        }
        waited += 1;
        assert!(waited < 100, "the standby did not take over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second_stop.cancel();
    let (r, events) = second_task.await?;
    r?;
    assert_eq!(events, 2, "the standby wrote only what came after the takeover");
    Ok(())
}

async fn pool_url(pool: &sqlx::PgPool) -> Result<String> {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await?;
    let admin = std::env::var("PACTUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    Ok(format!("{}/{name}", admin.rsplit_once('/').map(|x| x.0).unwrap_or_default()))
}

/// A reorg deeper than the finality window halts the indexer with a clear error rather than
/// rolling back blocks it treated as final.
#[tokio::test]
async fn reorg_below_finality_halts() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let a = c.agreement(*c.usd.address(), &[100, 200], true, 8).await?;
    c.create_and_fund(&a, 2).await?;
    let _: serde_json::Value = c.provider.raw_request("anvil_mine".into(), (5u64,)).await?;
    let mut cfg = c.config();
    cfg.finality_depth = 1;
    let mut indexer = c.indexer(cfg, pool.clone());
    indexer.sync_to_head().await?;

    // Replace the last four blocks: three of them are below the one-block window.
    let _: serde_json::Value = c
        .provider
        .raw_request("anvil_reorg".into(), (4u64, Vec::<serde_json::Value>::new()))
        .await?;
    let _: serde_json::Value = c.provider.raw_request("anvil_mine".into(), (1u64,)).await?;
    let err = indexer.sync_to_head().await.expect_err("must halt");
    assert!(matches!(err, pactum_indexer::Error::ReorgBeyondFinality { .. }), "{err}");
    // Nothing was rolled back.
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM escrow_events").fetch_one(&pool).await?;
    assert_eq!(events, 2);
    Ok(())
}
