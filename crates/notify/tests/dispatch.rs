//! The dispatcher against a real PostgreSQL and real HTTP receivers: retries until a receiver
//! recovers, order per agreement, no loss when a dispatcher dies mid-send, a hanging receiver
//! not delaying a healthy one, dead letters, disabling, and the SSRF guard at send time.

#[path = "common/receiver.rs"]
mod receiver;

use std::time::Duration;

use alloy::primitives::{Address, B256};
use eyre::Result;
use pactum_db::{
    notifications::{publish, NewNotification, Recipient},
    webhooks::NewEndpoint,
};
use pactum_notify::{Config, Dispatcher};
use receiver::{Act, Receiver};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn db() -> Result<PgPool> {
    let url =
        pactum_db::scratch::create(&pactum_db::scratch::admin_url(), "pactum_notify_test").await?;
    Ok(pactum_db::connect(&url, 16).await?)
}

/// A quick configuration: short timeout, lease and retries, no jitter, private targets allowed.
fn quick() -> Config {
    let mut cfg = Config::new(31337);
    cfg.timeout = Duration::from_millis(700);
    cfg.lease = Duration::from_secs(2);
    cfg.poll_interval = Duration::from_millis(100);
    cfg.retry_schedule = vec![Duration::from_millis(100); 6];
    cfg.jitter = 0.0;
    cfg.allow_private = true;
    cfg
}

async fn endpoint(pool: &PgPool, account: Address, url: &str) -> Result<i64> {
    let mut conn = pool.acquire().await?;
    let e = pactum_db::webhooks::insert_endpoint(
        &mut conn,
        account,
        &NewEndpoint {
            url: url.to_owned(),
            description: String::new(),
            secret: SECRET.to_owned(),
            event_types: vec![],
            agreement_ids: vec![],
            roles: vec![],
            reminder_leads: vec![172_800, 86_400],
        },
        10,
    )
    .await?
    .ok_or_else(|| eyre::eyre!("over the cap"))?;
    Ok(e.id)
}

/// Publishes one notification per entry (agreement byte, sequence number) to `account` as brand.
async fn notify(pool: &PgPool, account: Address, items: &[(u8, u32)]) -> Result<Vec<i64>> {
    let notes: Vec<NewNotification> = items
        .iter()
        .map(|&(agreement, seq)| NewNotification {
            kind: "milestones.funded".to_owned(),
            chain_id: 31337,
            agreement_id: Some(B256::repeat_byte(agreement)),
            milestone: Some(seq),
            source: None,
            occurred_at: 1_700_000_000,
            data: json!({ "agreement": agreement, "seq": seq }),
            audience: vec![Recipient { account, role: "brand" }],
        })
        .collect();
    let mut tx = pool.begin().await?;
    let ids = publish(&mut tx, &notes).await?;
    tx.commit().await?;
    Ok(ids)
}

fn start(cfg: Config, pool: &PgPool) -> Result<(CancellationToken, tokio::task::JoinHandle<()>)> {
    let stop = CancellationToken::new();
    let d = Dispatcher::new(cfg, pool.clone())?;
    let s = stop.clone();
    let handle = tokio::spawn(async move {
        if let Err(e) = d.run(s).await {
            panic!("dispatcher: {e}");
        }
    });
    Ok((stop, handle))
}

/// Verifies a received request as a receiver would (the crate's own verify, all headers).
fn verify(g: &receiver::Got, secret: &str) -> Result<Value> {
    standardwebhooks::Webhook::new(secret)?.verify(&g.body, &g.headers)?;
    Ok(serde_json::from_slice(&g.body)?)
}

async fn status_of(pool: &PgPool, endpoint: i64) -> Result<Vec<(i64, String, i32)>> {
    Ok(sqlx::query_as(
        "SELECT notification_id, status, attempts FROM webhook_deliveries \
         WHERE endpoint_id = $1 ORDER BY notification_id",
    )
    .bind(endpoint)
    .fetch_all(pool)
    .await?)
}

#[tokio::test]
async fn failing_receiver_gets_everything_in_order_once_it_recovers() -> Result<()> {
    let pool = db().await?;
    let rx = Receiver::start().await?;
    // Three failures, a hang past the timeout, two more failures, then 200s.
    rx.script([
        Act::Status(500),
        Act::Status(503),
        Act::Status(500),
        Act::Hang(Duration::from_secs(3)),
        Act::Status(500),
        Act::Status(404),
    ]);
    let owner = Address::repeat_byte(1);
    let ep = endpoint(&pool, owner, &rx.url).await?;
    let items: Vec<(u8, u32)> = (0..6).flat_map(|i| [(0xa, i), (0xb, i)]).collect();
    let ids = notify(&pool, owner, &items).await?;
    let (stop, run) = start(quick(), &pool)?;

    let got = rx
        .wait_for(Duration::from_secs(30), |g| g.iter().filter(|x| x.acked).count() >= ids.len())
        .await?;
    // Let anything stray arrive before judging.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if rx.got().len() > got.len() { rx.got() } else { got };
    stop.cancel();
    run.await?;

    // Every notification arrived, signed; none acknowledged twice.
    let mut acked: Vec<String> = got.iter().filter(|g| g.acked).map(|g| g.id.clone()).collect();
    acked.sort();
    let mut want: Vec<String> = ids.iter().map(|i| pactum_notify::webhook_id(*i)).collect();
    want.sort();
    assert_eq!(acked, want, "each webhook-id acknowledged exactly once");
    for g in &got {
        let body = verify(g, SECRET)?;
        assert_eq!(g.id, format!("ntf_{}", body["data"]["notification_id"]));
        assert_eq!(body["type"], "milestones.funded");
    }
    // After its 2xx, an id is never sent again.
    for (i, g) in got.iter().enumerate() {
        if g.acked {
            assert!(
                !got[i + 1..].iter().any(|later| later.id == g.id),
                "{} sent after its 2xx",
                g.id
            );
        }
    }
    // Per agreement, what arrives never goes back to an earlier notification.
    for lane in [0xa, 0xb] {
        let seqs: Vec<u64> = got
            .iter()
            .map(|g| serde_json::from_slice::<Value>(&g.body))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|b| b["data"]["agreement"] == lane)
            .filter_map(|b| b["data"]["seq"].as_u64())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "lane {lane:#x} out of order: {seqs:?}");
        assert_eq!(seqs.iter().copied().max(), Some(5));
    }
    // Every attempt logged, all delivered, the endpoint healthy again.
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1")
            .bind(ep)
            .fetch_one(&pool)
            .await?;
    assert_eq!(logged, i64::try_from(got.len())?);
    assert!(status_of(&pool, ep).await?.iter().all(|(_, s, _)| s == "delivered"));
    let failing: Option<i64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM failing_since)::int8 FROM webhook_endpoints WHERE id = $1",
    )
    .bind(ep)
    .fetch_one(&pool)
    .await?;
    assert_eq!(failing, None);
    let timeouts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1 AND status_code IS NULL \
         AND error LIKE 'timed out%'",
    )
    .bind(ep)
    .fetch_one(&pool)
    .await?;
    assert_eq!(timeouts, 1, "the hang is logged as a timeout");
    Ok(())
}

#[tokio::test]
async fn a_dispatcher_killed_mid_delivery_loses_nothing() -> Result<()> {
    let pool = db().await?;
    let rx = Receiver::start().await?;
    // The first request hangs long enough for the dispatcher to die under it.
    rx.script([Act::Hang(Duration::from_secs(30))]);
    let owner = Address::repeat_byte(2);
    let ep = endpoint(&pool, owner, &rx.url).await?;
    let ids = notify(&pool, owner, &[(1, 0), (1, 1), (1, 2)]).await?;
    let mut cfg = quick();
    cfg.timeout = Duration::from_secs(20);
    cfg.lease = Duration::from_secs(1);
    let (_stop, run) = start(cfg.clone(), &pool)?;
    rx.wait_for(Duration::from_secs(10), |g| !g.is_empty()).await?;
    run.abort();
    let _ = run.await;
    // Its claim was counted and leased; nothing was delivered.
    assert_eq!(status_of(&pool, ep).await?[0], (ids[0], "pending".to_owned(), 1));

    let (stop, run) = start(cfg, &pool)?;
    let got =
        rx.wait_for(Duration::from_secs(15), |g| g.iter().filter(|x| x.acked).count() == 3).await?;
    stop.cancel();
    run.await?;
    let sent: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    let want: Vec<String> = ids.iter().map(|i| pactum_notify::webhook_id(*i)).collect();
    // The interrupted one again under the same id, then the rest in order.
    assert_eq!(sent, [&want[0], &want[0], &want[1], &want[2]]);
    assert!(status_of(&pool, ep).await?.iter().all(|(_, s, _)| s == "delivered"));
    Ok(())
}

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_a_healthy_one() -> Result<()> {
    let pool = db().await?;
    let slow = Receiver::start().await?;
    slow.then(Act::Hang(Duration::from_secs(10)));
    let fast = Receiver::start().await?;
    let (a, b) = (Address::repeat_byte(3), Address::repeat_byte(4));
    endpoint(&pool, a, &slow.url).await?;
    endpoint(&pool, b, &fast.url).await?;
    // Several agreements each, so the slow one has many lanes hanging at once.
    let items: Vec<(u8, u32)> = (0u8..10).map(|i| (i, 0)).collect();
    notify(&pool, a, &items).await?;
    let mut cfg = quick();
    cfg.timeout = Duration::from_secs(5);
    cfg.concurrency = 8;
    let (stop, run) = start(cfg, &pool)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = std::time::Instant::now();
    notify(&pool, b, &items).await?;
    fast.wait_for(Duration::from_secs(3), |g| g.iter().filter(|x| x.acked).count() == 10).await?;
    let took = began.elapsed();
    assert!(took < Duration::from_secs(3), "the healthy receiver waited {took:?}");
    assert!(!slow.got().is_empty(), "the slow receiver was being tried meanwhile");
    stop.cancel();
    run.abort();
    Ok(())
}

#[tokio::test]
async fn dead_letter_after_the_last_retry_then_disabled_and_the_owner_told() -> Result<()> {
    let pool = db().await?;
    let broken = Receiver::start().await?;
    broken.then(Act::Status(500));
    let other = Receiver::start().await?;
    let owner = Address::repeat_byte(5);
    let bad = endpoint(&pool, owner, &broken.url).await?;
    let good = endpoint(&pool, owner, &other.url).await?;
    let mut cfg = quick();
    cfg.retry_schedule = vec![Duration::from_millis(50), Duration::from_millis(50)];
    cfg.disable_after = Duration::from_secs(2);
    let (stop, run) = start(cfg, &pool)?;

    let first = notify(&pool, owner, &[(9, 0)]).await?[0];
    broken.wait_for(Duration::from_secs(10), |g| g.len() == 3).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One try and two retries, then dead; still enabled (not failing long enough yet).
    assert_eq!(status_of(&pool, bad).await?, vec![(first, "dead".to_owned(), 3)]);
    assert_eq!(broken.got().len(), 3);
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM webhook_endpoints WHERE id = $1")
        .bind(bad)
        .fetch_one(&pool)
        .await?;
    assert!(enabled);

    tokio::time::sleep(Duration::from_secs(2)).await;
    notify(&pool, owner, &[(9, 1)]).await?;
    let disabled = other
        .wait_for(Duration::from_secs(10), |g| {
            g.iter().any(|x| {
                serde_json::from_slice::<Value>(&x.body)
                    .is_ok_and(|b| b["type"] == "endpoint.disabled")
            })
        })
        .await?;
    let notice = disabled
        .iter()
        .map(|x| verify(x, SECRET))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .find(|b| b["type"] == "endpoint.disabled")
        .ok_or_else(|| eyre::eyre!("no notice"))?;
    assert_eq!(notice["data"]["endpoint_id"], bad);
    let (enabled, reason): (bool, Option<String>) =
        sqlx::query_as("SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1")
            .bind(bad)
            .fetch_one(&pool)
            .await?;
    assert!(!enabled);
    assert!(reason.is_some_and(|r| r.contains("HTTP 500")));
    // The notice is the owner's (role account), and the disabled endpoint is not sent it.
    let role: String = sqlx::query_scalar(
        "SELECT a.role FROM notification_audience a JOIN notifications n ON n.id = a.notification_id \
         WHERE n.type = 'endpoint.disabled' AND a.account = $1",
    )
    .bind(owner.as_slice())
    .fetch_one(&pool)
    .await?;
    assert_eq!(role, "account");
    let to_bad: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id \
         WHERE n.type = 'endpoint.disabled' AND d.endpoint_id = $1",
    )
    .bind(bad)
    .fetch_one(&pool)
    .await?;
    assert_eq!(to_bad, 0);
    // Nothing more goes to the disabled endpoint.
    let before = broken.got().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(broken.got().len(), before);
    let _ = good;
    stop.cancel();
    run.await?;
    Ok(())
}

#[tokio::test]
async fn private_targets_are_refused_at_send_time_without_the_flag() -> Result<()> {
    let pool = db().await?;
    let rx = Receiver::start().await?;
    let owner = Address::repeat_byte(6);
    let ep = endpoint(&pool, owner, &rx.url).await?;
    // A name that resolves to loopback is refused too (the resolver checks what it connects to).
    let port = rx.url.split(':').nth(2).and_then(|p| p.split('/').next()).unwrap_or_default();
    let named =
        endpoint(&pool, Address::repeat_byte(7), &format!("http://localhost:{port}/hook")).await?;
    notify(&pool, owner, &[(1, 0)]).await?;
    notify(&pool, Address::repeat_byte(7), &[(1, 0)]).await?;
    let mut cfg = quick();
    cfg.allow_private = false;
    cfg.retry_schedule = vec![];
    let (stop, run) = start(cfg, &pool)?;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let a = status_of(&pool, ep).await?;
        let b = status_of(&pool, named).await?;
        if a[0].1 == "dead" && b[0].1 == "dead" {
            break;
        }
        assert!(std::time::Instant::now() < until, "not refused: {a:?} {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    run.await?;
    assert!(rx.got().is_empty(), "nothing reached the loopback receiver");
    let errors: Vec<String> = sqlx::query_scalar("SELECT error FROM webhook_attempts ORDER BY id")
        .fetch_all(&pool)
        .await?;
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.contains("loopback")), "{errors:?}");
    Ok(())
}

#[tokio::test]
async fn a_stopped_dispatcher_returns_and_leaves_pending_work_for_the_next() -> Result<()> {
    let pool = db().await?;
    let rx = Receiver::start().await?;
    let owner = Address::repeat_byte(8);
    endpoint(&pool, owner, &rx.url).await?;
    let (stop, run) = start(quick(), &pool)?;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), run).await??;
    notify(&pool, owner, &[(1, 0)]).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got().is_empty());
    let (stop, run) = start(quick(), &pool)?;
    rx.wait_for(Duration::from_secs(5), |g| g.len() == 1).await?;
    stop.cancel();
    run.await?;
    Ok(())
}

#[tokio::test]
async fn two_dispatchers_never_send_the_same_attempt() -> Result<()> {
    let pool = db().await?;
    let rx = Receiver::start().await?;
    let owner = Address::repeat_byte(9);
    endpoint(&pool, owner, &rx.url).await?;
    let items: Vec<(u8, u32)> =
        (0..150u32).map(|i| (u8::try_from(i % 15).unwrap_or(0), i)).collect();
    let ids = notify(&pool, owner, &items).await?;
    let mut cfg = quick();
    cfg.per_endpoint = 16;
    let (s1, r1) = start(cfg.clone(), &pool)?;
    let (s2, r2) = start(cfg, &pool)?;
    let got = rx.wait_for(Duration::from_secs(30), |g| g.len() >= ids.len()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    s1.cancel();
    s2.cancel();
    r1.await?;
    r2.await?;
    let got = if rx.got().len() > got.len() { rx.got() } else { got };
    let mut sent: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    sent.sort_unstable();
    let before = sent.len();
    sent.dedup();
    assert_eq!(before, sent.len(), "an attempt was sent twice");
    assert_eq!(sent.len(), ids.len());
    Ok(())
}
