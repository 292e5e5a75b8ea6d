//! The dispatcher benchmark: N pending webhook deliveries across E endpoints (A agreements, so
//! lanes, each), delivered over real HTTP to a local receiver that answers 200 at once; prints
//! deliveries per second for each concurrency asked for. Figures only, no assertions.
//!
//! `scripts/bench-notify` builds and runs it (`dispatch_bench`):
//! `dispatch_bench [--notifications N (20000)] [--endpoints E (100)] [--agreements A (20)]
//!        [--concurrency C[,C…] (32,128)] [--db ADMIN_URL]`

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256};
use axum::{routing::post, Router};
use eyre::{bail, eyre, Result};
use pactum_db::{
    notifications::{publish, NewNotification, Recipient},
    webhooks::NewEndpoint,
};
use pactum_notify::{Config, Dispatcher};
use tokio_util::sync::CancellationToken;

fn flag(args: &mut VecDeque<String>, name: &str) -> Result<String> {
    args.pop_front().ok_or_else(|| eyre!("{name} needs a value"))
}

fn account(i: u64) -> Address {
    let mut a = [0xe0; 20];
    a[12..20].copy_from_slice(&i.to_be_bytes());
    Address::from(a)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args: VecDeque<String> = std::env::args().skip(1).collect();
    let (mut n, mut endpoints, mut agreements) = (20_000u64, 100u64, 20u64);
    let mut concurrency = vec![32usize, 128];
    let mut admin = pactum_db::scratch::admin_url();
    while let Some(arg) = args.pop_front() {
        match arg.as_str() {
            "--notifications" => n = flag(&mut args, &arg)?.parse()?,
            "--endpoints" => endpoints = flag(&mut args, &arg)?.parse()?,
            "--agreements" => agreements = flag(&mut args, &arg)?.parse()?,
            "--concurrency" => {
                concurrency =
                    flag(&mut args, &arg)?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--db" => admin = flag(&mut args, &arg)?,
            other => bail!("unknown argument {other}"),
        }
    }
    if endpoints == 0 || agreements == 0 {
        bail!("--endpoints and --agreements must be at least 1");
    }

    // The receiver: 200 at once, counting.
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let db = pactum_db::scratch::create(&admin, "pactum_bench_notify").await?;
    let pool = pactum_db::connect(&db, 16).await?;
    let mut conn = pool.acquire().await?;
    for e in 0..endpoints {
        let new = NewEndpoint {
            url: url.clone(),
            description: String::new(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            event_types: vec![],
            agreement_ids: vec![],
            roles: vec![],
            reminder_leads: vec![172_800, 86_400],
        };
        pactum_db::webhooks::insert_endpoint(&mut conn, account(e), &new, i64::MAX).await?;
    }
    drop(conn);
    eprintln!("publishing {n} notifications to {endpoints} accounts with one endpoint each…");
    let started = Instant::now();
    let mut k = 0u64;
    while k < n {
        let batch: Vec<NewNotification> = (k..n.min(k + 1000))
            .map(|i| {
                let who = i % endpoints;
                let lane = (i / endpoints) % agreements;
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&who.to_be_bytes());
                id[8..16].copy_from_slice(&lane.to_be_bytes());
                NewNotification {
                    kind: "milestones.funded".to_owned(),
                    chain_id: 31337,
                    agreement_id: Some(B256::from(id)),
                    milestone: Some(0),
                    source: None,
                    occurred_at: 1_700_000_000,
                    data: serde_json::json!({ "seq": i, "count": 1, "amount": "1000000" }),
                    audience: vec![Recipient { account: account(who), role: "brand" }],
                }
            })
            .collect();
        let mut tx = pool.begin().await?;
        publish(&mut tx, &batch).await?;
        tx.commit().await?;
        k += 1000;
    }
    eprintln!("published in {:.1} s", started.elapsed().as_secs_f64());

    let mut rows = Vec::new();
    for &c in &concurrency {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
             next_attempt_at = now(), delivered_at = NULL",
        )
        .execute(&pool)
        .await?;
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries").fetch_one(&pool).await?;
        let mut cfg = Config::new(31337);
        cfg.concurrency = c;
        cfg.allow_private = true;
        cfg.poll_interval = Duration::from_millis(200);
        let stop = CancellationToken::new();
        let dispatcher = Dispatcher::new(cfg, pool.clone())?;
        let before = hits.load(Ordering::Relaxed);
        let began = Instant::now();
        let run = tokio::spawn(dispatcher.run(stop.clone()));
        loop {
            let done: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'",
            )
            .fetch_one(&pool)
            .await?;
            if done == total {
                break;
            }
            if began.elapsed() > Duration::from_secs(1800) {
                bail!("only {done} of {total} delivered after 30 minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let secs = began.elapsed().as_secs_f64();
        stop.cancel();
        run.await??;
        let sent = hits.load(Ordering::Relaxed) - before;
        rows.push((c, total, sent, secs));
    }
    pool.close().await;
    // The scratch database goes (its name is the checked prefix plus digits).
    if let Some((_, name)) = db.rsplit_once('/') {
        use sqlx::Connection;
        let mut admin_conn = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin_conn)
            .await?;
    }

    println!();
    println!("| concurrency | deliveries | HTTP requests | wall time | deliveries per second |");
    println!("| --- | --- | --- | --- | --- |");
    for (c, total, sent, secs) in rows {
        #[allow(clippy::cast_precision_loss)]
        let rate = total as f64 / secs;
        println!("| {c} | {total} | {sent} | {secs:.2} s | {rate:.0} |");
    }
    println!("\n{endpoints} endpoints, {agreements} agreements (lanes) each, one local receiver");
    Ok(())
}
