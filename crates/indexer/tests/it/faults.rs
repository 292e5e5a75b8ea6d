//! Faults around the indexer: an RPC node that drops, delays and errors requests, and a database
//! whose connections are cut. Both times the mirror must end equal to a clean run, row for row.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use alloy::transports::http::reqwest;
use axum::{body::Bytes, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use eyre::Result;
use sqlx::Connection;

use crate::{
    helpers::{chain, dump, fresh_db},
    lifecycle::scenario,
};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    calls: Arc<AtomicU64>,
    faults: Arc<AtomicU64>,
}

/// Forwards JSON-RPC to anvil, but of every ten requests: one gets a 503, one is delayed past the
/// indexer's timeout, one gets a JSON-RPC error ("too many results"), one gets a body that is not
/// JSON. A deterministic schedule, so a failure reproduces.
async fn rpc(State(p): State<Proxy>, body: Bytes) -> impl IntoResponse {
    let n = p.calls.fetch_add(1, Ordering::Relaxed);
    let fault = match n % 10 {
        1 => Some(StatusCode::SERVICE_UNAVAILABLE.into_response()),
        4 => {
            tokio::time::sleep(Duration::from_millis(700)).await;
            None
        }
        6 => {
            let id = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .unwrap_or(serde_json::Value::Null);
            let err = serde_json::json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32005, "message": "query returned more than 10000 results"}});
            Some(([("content-type", "application/json")], err.to_string()).into_response())
        }
        8 => Some((StatusCode::OK, "<html>bad gateway</html>").into_response()),
        _ => None,
    };
    if let Some(resp) = fault {
        p.faults.fetch_add(1, Ordering::Relaxed);
        return resp;
    }
    match p
        .client
        .post(&p.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[tokio::test]
async fn rpc_faults_do_not_change_the_mirror() -> Result<()> {
    let c = chain().await?;
    let (_agreements, _revoked) = scenario(&c).await?;
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;

    let proxy = Proxy {
        upstream: c.anvil.endpoint(),
        client: reqwest::Client::new(),
        calls: Arc::default(),
        faults: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url: reqwest::Url = format!("http://{}", listener.local_addr()?).parse()?;
    let app = axum::Router::new().route("/", post(rpc)).with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let faulty = fresh_db().await?;
    let mut cfg = c.config();
    cfg.rpc_timeout = Duration::from_millis(400);
    cfg.initial_range = 4;
    let mut indexer = pactum_indexer::Indexer::new(cfg, url, faulty.clone());
    tokio::time::timeout(Duration::from_secs(120), indexer.sync_to_head()).await??;

    assert!(proxy.faults.load(Ordering::Relaxed) >= 5, "the proxy injected faults");
    assert!(indexer.stats().rpc_errors > 0);
    assert_eq!(dump(&faulty).await?, dump(&clean).await?);
    Ok(())
}

#[tokio::test]
async fn database_outages_are_waited_out() -> Result<()> {
    let c = chain().await?;
    let (_agreements, _revoked) = scenario(&c).await?;
    let clean = fresh_db().await?;
    c.indexer(c.config(), clean.clone()).sync_to_head().await?;

    let pool = fresh_db().await?;
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await?;
    let mut cfg = c.config();
    cfg.initial_range = 1;
    cfg.max_range = 1;
    let mut indexer = c.indexer(cfg, pool.clone());
    let stop = indexer.cancel_token();
    let task = tokio::spawn(async move { indexer.run().await });

    // Cut every connection to the indexer's database, five times, while it backfills.
    let admin = std::env::var("PACTUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    let mut cut = 0;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&name)
        .fetch_one(&mut conn)
        .await?;
        cut += n;
    }
    assert!(cut > 0, "connections were cut");

    let head = {
        use alloy::providers::Provider;
        c.provider.get_block_number().await?
    };
    let mut waited = 0;
    loop {
        let indexed: Option<i64> =
            sqlx::query_scalar("SELECT block_number FROM indexer_checkpoints")
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
        if indexed == Some(head as i64) {
            break;
        }
        waited += 1;
        assert!(waited < 600, "the indexer did not recover from the outages");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    task.await??;
    assert_eq!(dump(&pool).await?, dump(&clean).await?);
    Ok(())
}

/// Without a foreign key (migration 0007), an audience row whose notification is gone is caught
/// only by `dump`: a row planted without its notification must make the dump differ from a clean
/// one, or the crash, fault and reorg comparisons could not see it.
#[tokio::test]
async fn an_audience_row_without_its_notification_shows_in_the_dump() -> Result<()> {
    let pool = fresh_db().await?;
    let clean = dump(&pool).await?;
    sqlx::query(
        "INSERT INTO notification_audience (account, notification_id, role) \
         VALUES ('\\xb0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', 424242, 'brand')",
    )
    .execute(&pool)
    .await?;
    let planted = dump(&pool).await?;
    assert_ne!(planted, clean);
    assert!(
        planted
            .iter()
            .any(|l| l.starts_with("audience without its notification:") && l.contains("424242")),
        "the orphan is not named: {planted:?}"
    );
    Ok(())
}
