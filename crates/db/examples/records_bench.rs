//! The conversion-records benchmark (`scripts/bench-records`): N records of one agreement ingested
//! in batches through `records::ingest`, the period's tree built (`Tree::from_records`) and stored
//! (`records::store_tree`), then proof lookups (`records::proof`) for random conversion ids, one
//! after another on one connection, each proof verified against the root. Prints figures; asserts
//! nothing about timings.
//!
//! ```text
//! cargo run --release -p pactum-db --example records_bench -- [--records N (1000000)]
//!     [--batch B (50000)] [--lookups L (10000)] [--db ADMIN_URL] [--keep-db]
//! ```
//!
//! Targets (the issue): ingest at least 50,000 records/s; proof lookup p99 under 10 ms with
//! 1,000,000 records.

use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use pactum_core::merkle::{self, Record, Tree};
use pactum_db::records;
use sqlx::{Connection, PgConnection};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHAIN: u64 = 1;
/// The period: 30 days from 2025-01-01.
const PERIOD_START: u64 = 1_735_689_600;
const PERIOD_LEN: u64 = 30 * 86_400;

struct Args {
    records: usize,
    batch: usize,
    lookups: usize,
    db: String,
    keep_db: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        records: 1_000_000,
        batch: 50_000,
        lookups: 10_000,
        db: pactum_db::scratch::admin_url(),
        keep_db: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => a.records = value()?.parse()?,
            "--batch" => a.batch = value()?.parse()?,
            "--lookups" => a.lookups = value()?.parse()?,
            "--db" => a.db = value()?,
            "--keep-db" => a.keep_db = true,
            other => {
                return Err(format!("unknown argument {other} (see the example's header)").into())
            }
        }
    }
    if a.records == 0 || a.batch == 0 {
        return Err("--records and --batch must be positive".into());
    }
    Ok(a)
}

/// SplitMix64: reproducible pseudo-random numbers without a dependency.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Record `i`: a tracker-style id in no particular order (so inserts land all over the primary
/// key, as real ids do), a random time in the period, a revenue of up to about 10^13 base units.
fn record(i: usize) -> Record {
    let r = mix(i as u64);
    Record {
        conversion_id: format!("cv-{r:016x}-{i}"),
        occurred_at: PERIOD_START + (r >> 16) % PERIOD_LEN,
        revenue: U256::from(r % 10_000_000_000_000),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// User + system CPU seconds of process `pid` (`/proc/<pid>/stat`), if this host runs it.
fn backend_cpu(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

async fn size(conn: &mut PgConnection, table: &str) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT pg_size_pretty(pg_total_relation_size($1::regclass))")
        .bind(table)
        .fetch_one(conn)
        .await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let url = pactum_db::scratch::create(&a.db, "records_bench").await?;
    println!("database {url}");
    let result = run(&a, &url).await;
    if !a.keep_db {
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        let mut admin = PgConnection::connect(&a.db).await?;
        // `name` is what `scratch::create` made: a checked prefix and digits.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
    }
    result
}

async fn run(a: &Args, url: &str) -> Result<()> {
    let pool = pactum_db::connect(url, 2).await?;
    let agreement = B256::repeat_byte(0xa1);
    let mut conn = pool.acquire().await?;

    // Ingest.
    println!("ingest: {} records in batches of {}", a.records, a.batch);
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await?;
    let cpu_before = backend_cpu(backend);
    let all: Vec<Record> = (0..a.records).map(record).collect();
    let mut batches = Vec::new();
    let started = Instant::now();
    for chunk in all.chunks(a.batch) {
        let t = Instant::now();
        let out = records::ingest(&mut conn, CHAIN, agreement, chunk).await?;
        batches.push(t.elapsed());
        if !out.applied() || out.inserted != chunk.len() as u64 {
            return Err(format!("a batch was not written whole: {out:?}").into());
        }
    }
    let total = started.elapsed();
    let mut sorted = batches.clone();
    sorted.sort();
    println!(
        "  ingest: {:.0} records/s ({} records in {:.2} s); per batch of {}: p50 {:.0} ms, \
         max {:.0} ms, first {:.0} ms, last {:.0} ms",
        a.records as f64 / total.as_secs_f64(),
        a.records,
        total.as_secs_f64(),
        a.batch,
        ms(percentile(&sorted, 50.0)),
        ms(percentile(&sorted, 100.0)),
        ms(batches.first().copied().unwrap_or_default()),
        ms(batches.last().copied().unwrap_or_default()),
    );
    // On a machine shared with other work, the wall clock says little about PostgreSQL's own cost:
    // the backend's CPU time (when the server is local) says what one idle core would do.
    if let (Some(before), Some(after)) = (cpu_before, backend_cpu(backend)) {
        let cpu = after - before;
        println!(
            "  PostgreSQL backend CPU for the ingest: {cpu:.2} s ({:.0} records per CPU-second)",
            a.records as f64 / cpu
        );
    }
    // Re-sending a batch: the idempotent path (all unchanged).
    let resend = &all[..a.batch.min(all.len())];
    let t = Instant::now();
    let out = records::ingest(&mut conn, CHAIN, agreement, resend).await?;
    println!(
        "  re-send of {} records (all unchanged: {}): {:.0} ms",
        resend.len(),
        out.unchanged == resend.len() as u64,
        ms(t.elapsed())
    );
    sqlx::query("ANALYZE conversion_records").execute(&mut *conn).await?;

    // The period's tree.
    let t = Instant::now();
    let period: Vec<Record> = records::period_records(
        &mut conn,
        CHAIN,
        agreement,
        PERIOD_START,
        PERIOD_START + PERIOD_LEN,
        false,
    )
    .await?
    .into_iter()
    .map(|r| r.record)
    .collect();
    let read = t.elapsed();
    let t = Instant::now();
    let tree = Tree::from_records(&period)?;
    let built = t.elapsed();
    let t = Instant::now();
    let stored = records::store_tree(&mut conn, CHAIN, agreement, 0, &tree, &period).await?;
    let store = t.elapsed();
    let t = Instant::now();
    let again = records::store_tree(&mut conn, CHAIN, agreement, 0, &tree, &period).await?;
    let store_again = t.elapsed();
    println!(
        "tree of {} records: read the period {:.2} s, Tree::from_records {:.2} s, store_tree \
         {:.2} s (stored: {stored}; again: {again}, {:.2} s); root {}",
        period.len(),
        read.as_secs_f64(),
        built.as_secs_f64(),
        store.as_secs_f64(),
        store_again.as_secs_f64(),
        tree.root(),
    );
    sqlx::raw_sql("ANALYZE performance_tree_nodes; ANALYZE performance_tree_leaves")
        .execute(&mut *conn)
        .await?;

    // Proof lookups: random records, one after another on one connection.
    let mut times = Vec::with_capacity(a.lookups);
    let root = tree.root();
    for k in 0..a.lookups {
        let r = &all[(mix(1_000_000_007 + k as u64) % all.len() as u64) as usize];
        let t = Instant::now();
        let got = records::proof(&mut *conn, CHAIN, agreement, root, &r.conversion_id).await?;
        times.push(t.elapsed());
        let Some(got) = got else { return Err(format!("no proof of {}", r.conversion_id).into()) };
        if !merkle::verify(root, r.leaf_hash(), &got.proof) {
            return Err(format!("the proof of {} does not verify", r.conversion_id).into());
        }
    }
    times.sort();
    println!(
        "proof lookups: {} random records, sequential, one connection, all verified: p50 {:.2} ms, \
         p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        a.lookups,
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 95.0)),
        ms(percentile(&times, 99.0)),
        ms(percentile(&times, 100.0)),
    );
    for table in [
        "conversion_records",
        "performance_trees",
        "performance_tree_nodes",
        "performance_tree_leaves",
    ] {
        println!("  {table}: {}", size(&mut conn, table).await?);
    }
    Ok(())
}
