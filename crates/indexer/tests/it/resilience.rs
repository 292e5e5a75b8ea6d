//! Crashes, reorgs and a changed chain: the mirror ends equal to a clean run's.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use alloy::{
    primitives::{keccak256, U256},
    providers::Provider,
};
use eyre::Result;
use futures::future::BoxFuture;

use crate::{
    helpers::{
        chain, dump, fresh_db, notification_ids_in_chain_order, pactum_binary, pool_url, proxy,
        Hook, Phase,
    },
    lifecycle::{assert_mirrors_chain, scenario},
};

/// The mirrored tables that hold a row per log, and the column of its block.
const LOG_TABLES: [&str; 6] =
    ["escrow_events", "deposits", "payouts", "disputes", "terminations", "deferred_payments"];

/// Blocks per batch in the crash test (fixed: the range neither grows nor shrinks).
const CRASH_RANGE: u64 = 3;

/// A real `pactum index` process, SIGKILLed mid-backfill again and again: each killed run leaves a
/// checkpoint at a batch boundary and exactly the clean run's rows up to it (nothing past it); the
/// last run finishes, and the database equals a clean run's, row for row.
#[tokio::test]
async fn crash_mid_backfill_resumes_exactly_once() -> Result<()> {
    let c = chain().await?;
    let (agreements, revoked) = scenario(&c).await?;
    let head = c.provider.get_block_number().await?;
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    let bin = pactum_binary()?;

    // Every eth_getLogs waits a little: the backfill takes seconds, long enough to kill it in.
    let hook: Hook = Arc::new(|phase: Phase, method: String| -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if phase == Phase::Before && method == "eth_getLogs" {
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
        })
    });
    let rpc = proxy(c.anvil.endpoint(), hook).await?;
    let crashed = fresh_db().await?;
    let url = pool_url(&crashed).await?;
    let spawn = || -> Result<std::process::Child> {
        let range = CRASH_RANGE.to_string();
        Ok(std::process::Command::new(&bin)
            .args(["index", "--rpc-url", rpc.as_str(), "--database-url", &url])
            .args(["--chain-id", &c.chain_id().to_string()])
            .args(["--escrow", &c.escrow.address().to_string()])
            .args(["--start-block", &c.start_block.to_string()])
            .args(["--initial-range", &range, "--max-range", &range])
            .args(["--metrics-addr", "off", "--poll-ms", "50"])
            .env_remove("PACTUM_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?)
    };
    let checkpoint = || async {
        let n: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints")
            .fetch_optional(&crashed)
            .await?;
        eyre::Ok(n.map(|n| n as u64))
    };

    let mut killed_partial = 0;
    for round in 0..5u64 {
        let before = checkpoint().await?;
        if before == Some(head) {
            break;
        }
        let mut child = spawn()?;
        // Progress: the checkpoint moves. Then let it run into some later point of a batch.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while checkpoint().await? == before {
            assert!(child.try_wait()?.is_none(), "pactum index exited early");
            assert!(std::time::Instant::now() < deadline, "pactum index made no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(17 * round)).await;
        child.kill()?; // SIGKILL: no clean shutdown, no chance to finish the batch
        child.wait()?;

        let Some(cp) = checkpoint().await? else { eyre::bail!("no checkpoint after progress") };
        assert!(before.is_none_or(|b| cp > b), "round {round}: the checkpoint went back");
        if cp < head {
            killed_partial += 1;
        }
        // A batch boundary: batches run from the start block in fixed ranges, cut only by the head.
        assert!(
            (cp + 1 - c.start_block) % CRASH_RANGE == 0 || cp == head,
            "round {round}: checkpoint {cp} is inside a batch"
        );
        // Exactly the clean run's rows up to the checkpoint, and nothing past it.
        for table in LOG_TABLES {
            let upto = |pool: &sqlx::PgPool| {
                let pool = pool.clone();
                async move {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text FROM {table} t WHERE block_number <= $1 \
                         ORDER BY block_number, log_index, t::text"
                    )))
                    .bind(cp as i64)
                    .fetch_all(&pool)
                    .await?;
                    eyre::Ok(rows)
                }
            };
            assert_eq!(upto(&crashed).await?, upto(&clean).await?, "round {round}: {table}");
            let past: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE block_number > $1"
            )))
            .bind(cp as i64)
            .fetch_one(&crashed)
            .await?;
            assert_eq!(past, 0, "round {round}: {table} has rows past checkpoint {cp}");
        }
        let past: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM agreements WHERE created_block > $1 OR updated_block > $1",
        )
        .bind(cp as i64)
        .fetch_one(&crashed)
        .await?;
        assert_eq!(past, 0, "round {round}: agreements changed past checkpoint {cp}");
    }
    assert!(killed_partial >= 2, "only {killed_partial} runs were killed before the end");

    // The last run finishes.
    let mut child = spawn()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while checkpoint().await? != Some(head) {
        assert!(child.try_wait()?.is_none(), "pactum index exited early");
        assert!(std::time::Instant::now() < deadline, "pactum index did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill()?;
    child.wait()?;
    assert_eq!(dump(&crashed).await?, dump(&clean).await?);
    assert_mirrors_chain(&c, &crashed, &agreements, revoked).await?;
    // Notifications, exactly once: one live notification per event that tells a party anything,
    // numbered in chain order though five processes wrote them.
    let (events, notified): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM escrow_events WHERE event <> 'EIP712DomainChanged'), \
                (SELECT COUNT(*) FROM notifications WHERE NOT retracted)",
    )
    .fetch_one(&crashed)
    .await?;
    assert!(events > 0);
    assert_eq!(notified, events);
    let ids = notification_ids_in_chain_order(&crashed).await?;
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of chain order: {ids:?}");
    Ok(())
}

/// A reorg between the batch's first header and its `eth_getLogs` (the proxy reorganises anvil
/// just before forwarding the call): the batch's first block must still link to the checkpoint,
/// else the old fork's checkpoint is spliced to the new fork's logs.
#[tokio::test]
async fn reorg_between_header_and_logs_is_not_spliced() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let a = c.agreement(*c.usd.address(), &[100, 200], true, 11).await?;
    c.create_and_fund(&a, 2).await?;
    c.escrow
        .submit(a.clone(), U256::ZERO, keccak256("x"), "ipfs://x".into())
        .from(c.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;

    let armed = Arc::new(AtomicBool::new(false));
    let fired = Arc::new(AtomicBool::new(false));
    let hook: Hook = {
        let (armed, fired, node) = (armed.clone(), fired.clone(), c.provider.clone());
        Arc::new(move |phase: Phase, method: String| -> BoxFuture<'static, ()> {
            let (armed, fired, node) = (armed.clone(), fired.clone(), node.clone());
            Box::pin(async move {
                if phase == Phase::Before && method == "eth_getLogs" && armed.swap(false, SeqCst) {
                    // Replace the checkpoint's block (the submission) and the two after it.
                    let r: Result<serde_json::Value, _> = node
                        .raw_request("anvil_reorg".into(), (3u64, Vec::<serde_json::Value>::new()))
                        .await;
                    fired.store(r.is_ok(), SeqCst);
                }
            })
        })
    };
    let rpc = proxy(c.anvil.endpoint(), hook).await?;
    let mut indexer = pactum_indexer::Indexer::new(c.config(), rpc, pool.clone());
    indexer.sync_to_head().await?;
    let submitted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM escrow_events WHERE event = 'DeliverableSubmitted'",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(submitted, 1);

    let _: serde_json::Value = c.provider.raw_request("anvil_mine".into(), (2u64,)).await?;
    armed.store(true, SeqCst);
    tokio::time::timeout(Duration::from_secs(60), indexer.sync_to_head()).await??;
    assert!(fired.load(SeqCst), "the proxy reorganised the node mid-step");
    assert_eq!(indexer.stats().reorgs, 1, "the reorg was found and undone");

    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM escrow_events ORDER BY block_number, log_index")
            .fetch_all(&pool)
            .await?;
    assert!(!events.contains(&"DeliverableSubmitted".to_owned()), "{events:?}");
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);
    let id = c.id(&a);
    assert_mirrors_chain(&c, &pool, &[a], id).await?;
    Ok(())
}

/// A writer that loses its lock between fetching a batch and writing it (its lock's session
/// killed while the proxy holds its `eth_getLogs` answer) while another writer takes over and
/// advances: the first writer's stale batch must not be written.
#[tokio::test]
async fn writer_that_lost_its_lock_does_not_write() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let a = c.agreement(*c.usd.address(), &[100, 200], true, 12).await?;
    c.create_and_fund(&a, 2).await?;

    let armed = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let hook: Hook = {
        let (armed, paused, release) = (armed.clone(), paused.clone(), release.clone());
        Arc::new(move |phase: Phase, method: String| -> BoxFuture<'static, ()> {
            let (armed, paused, release) = (armed.clone(), paused.clone(), release.clone());
            Box::pin(async move {
                if phase == Phase::After && method == "eth_getLogs" && armed.swap(false, SeqCst) {
                    paused.notify_one();
                    release.notified().await;
                }
            })
        })
    };
    let rpc = proxy(c.anvil.endpoint(), hook).await?;
    let mut cfg = c.config();
    cfg.rpc_timeout = Duration::from_secs(60);
    let mut first = pactum_indexer::Indexer::new(cfg, rpc, pool.clone());
    // The first writer's lock, taken as `run` takes it; its steps are driven one by one.
    let mut lock = pactum_db::lock_writer(&pool, c.chain_id()).await?;
    first.sync_to_head().await?;

    // New blocks; the first writer fetches their logs and is held there.
    let _: serde_json::Value = c.provider.raw_request("anvil_mine".into(), (3u64,)).await?;
    armed.store(true, SeqCst);
    let events_before = first.stats().events;
    let step = tokio::spawn(async move {
        let r = first.step().await;
        (first, r)
    });
    tokio::time::timeout(Duration::from_secs(30), paused.notified()).await?;

    // Its lock dies with its session; a second writer takes over and advances past it.
    let second_pool = pactum_db::connect(&pool_url(&pool).await?, 4).await?;
    let mut second = c.indexer(c.config(), second_pool);
    let second_stop = second.cancel_token();
    let second_task = tokio::spawn(async move { second.run().await });
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(killed, 1, "the first writer's lock session was killed");
    assert!(!lock.is_held().await);
    c.escrow
        .approve(a.clone(), U256::ZERO)
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let head = c.provider.get_block_number().await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints")
            .fetch_optional(&pool)
            .await?;
        if n == Some(head as i64) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the second writer did not take over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taken_over = dump(&pool).await?;

    // The first writer wakes up with its stale batch.
    release.notify_one();
    let (first, r) = tokio::time::timeout(Duration::from_secs(30), step).await??;
    let err = r.expect_err("a writer that lost its lock must not write");
    assert!(
        matches!(err, pactum_indexer::Error::Db(pactum_db::Error::CheckpointMoved { .. })),
        "{err}"
    );
    assert_eq!(first.stats().events, events_before);
    let n: i64 =
        sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints").fetch_one(&pool).await?;
    assert_eq!(n, head as i64, "the checkpoint stays where the second writer put it");
    assert_eq!(dump(&pool).await?, taken_over);

    second_stop.cancel();
    second_task.await??;
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);
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
    assert_mirrors_chain(&c, &pool, &[a], id).await?;
    // And the mirror equals a clean run over the new chain, row for row (live notifications too).
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);

    // The notifications of the removed events are retracted, each by a notice to the same
    // parties, published after it (a reader resuming from an id sees the notice).
    let retracted: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, type FROM notifications WHERE retracted ORDER BY block_number, log_index",
    )
    .fetch_all(&pool)
    .await?;
    let kinds: Vec<&str> = retracted.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(kinds, ["deliverable.submitted", "milestone.approved"]);
    for (id, kind) in &retracted {
        let notices: Vec<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT id, data FROM notifications \
             WHERE type = 'notification.retracted' AND (data->>'retracts')::int8 = $1",
        )
        .bind(id)
        .fetch_all(&pool)
        .await?;
        assert_eq!(notices.len(), 1, "{kind} {id} retracted by {notices:?}");
        let (notice, data) = &notices[0];
        assert!(notice > id);
        assert_eq!(data["retracted_type"], kind.as_str());
        let audience = |n: i64| {
            let pool = pool.clone();
            async move {
                let v: Vec<(Vec<u8>, String)> = sqlx::query_as(
                    "SELECT account, role FROM notification_audience \
                     WHERE notification_id = $1 ORDER BY account",
                )
                .bind(n)
                .fetch_all(&pool)
                .await?;
                eyre::Ok(v)
            }
        };
        let heard = audience(*id).await?;
        assert_eq!(heard.len(), 3, "brand, creator and arbiter");
        assert_eq!(audience(*notice).await?, heard);
    }
    // A second pass retracts nothing more: each removed event is retracted once.
    indexer.sync_to_head().await?;
    let notices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE type = 'notification.retracted'",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(notices, 2);
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

/// The same loss of the lock under `run`: the stale batch is discarded, the writer stands by
/// (it neither writes nor halts) and takes over again when the other writer stops.
#[tokio::test]
async fn writer_that_lost_its_lock_stands_by() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let a = c.agreement(*c.usd.address(), &[100, 200], true, 13).await?;
    c.create_and_fund(&a, 2).await?;
    let checkpoint = || async {
        let n: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints")
            .fetch_optional(&pool)
            .await?;
        eyre::Ok(n.map(|n| n as u64))
    };
    let (node, checkpoint) = (&c.provider, &checkpoint);
    let wait_for_head = |what: &'static str| async move {
        let head = node.get_block_number().await?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while checkpoint().await? != Some(head) {
            assert!(std::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eyre::Ok(head)
    };

    let armed = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let hook: Hook = {
        let (armed, paused, release) = (armed.clone(), paused.clone(), release.clone());
        Arc::new(move |phase: Phase, method: String| -> BoxFuture<'static, ()> {
            let (armed, paused, release) = (armed.clone(), paused.clone(), release.clone());
            Box::pin(async move {
                if phase == Phase::After && method == "eth_getLogs" && armed.swap(false, SeqCst) {
                    paused.notify_one();
                    release.notified().await;
                }
            })
        })
    };
    let rpc = proxy(c.anvil.endpoint(), hook).await?;
    let mut cfg = c.config();
    cfg.rpc_timeout = Duration::from_secs(60);
    let mut first = pactum_indexer::Indexer::new(cfg, rpc, pool.clone());
    let first_stop = first.cancel_token();
    let first_task = tokio::spawn(async move { first.run().await });
    wait_for_head("the first writer did not catch up").await?;

    let _: serde_json::Value = c.provider.raw_request("anvil_mine".into(), (3u64,)).await?;
    armed.store(true, SeqCst);
    tokio::time::timeout(Duration::from_secs(30), paused.notified()).await?;
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(killed, 1, "the first writer's lock session was killed");
    let second_pool = pactum_db::connect(&pool_url(&pool).await?, 4).await?;
    let mut second = c.indexer(c.config(), second_pool);
    let second_stop = second.cancel_token();
    let second_task = tokio::spawn(async move { second.run().await });
    c.escrow
        .approve(a.clone(), U256::ZERO)
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let head = wait_for_head("the second writer did not take over").await?;
    let taken_over = dump(&pool).await?;

    release.notify_one();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(!first_task.is_finished(), "the first writer halted: {:?}", first_task.await?);
    assert_eq!(checkpoint().await?, Some(head), "the stale batch moved the checkpoint");
    assert_eq!(dump(&pool).await?, taken_over);

    // The second writer stops; the first takes the lock again and mirrors what comes next.
    second_stop.cancel();
    second_task.await??;
    c.escrow
        .submit(a.clone(), U256::from(1), keccak256("y"), "ipfs://y".into())
        .from(c.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    wait_for_head("the first writer did not take over again").await?;
    first_stop.cancel();
    first_task.await??;
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);
    Ok(())
}
