//! The indexer benchmark: puts N escrow events on a throwaway anvil, then times a backfill from
//! block 0 into a fresh database and prints events per second, rows per second and peak memory.
//!
//! `scripts/bench-index` builds and runs it. Two phases, two processes:
//!
//! * `bench [--events N] [--per-block K] [--keep-db]` starts anvil, generates the events (below),
//!   then runs `bench index …` as a child process, so the indexer's peak RSS is its own and not
//!   the generator's.
//! * `bench index --rpc URL --escrow ADDR --chain-id ID --db URL` creates the database, backfills
//!   with [`Indexer::sync_to_head`] and prints one JSON line of figures.
//!
//! `--floors` measures, as three child processes on the same chain, what the node and the database
//! can do at all next to the backfill (`bench index --mode …`):
//!
//! * `fetch`: [`Indexer::fetch_to_head`], every RPC call the backfill makes (the same adaptive
//!   `eth_getLogs` ranges, prefetched the same way, the same header calls), nothing decoded or
//!   written; the child counts its calls by method, to be compared with the backfill's.
//! * `write`: the same batches fetched and decoded first (not timed), then only
//!   [`Indexer::write_prepared`]: the same rows through the backfill's own write path, one
//!   transaction per batch, into a fresh database; its row counts are compared with the backfill's.
//! * `full`: the backfill.
//!
//! Each prints its wall time, its stage timers ([`pactum_indexer::Stages`]) and the CPU seconds the
//! indexer, anvil and every PostgreSQL process spent during the timed part (PostgreSQL's include
//! whatever else the server was doing: the machine is shared).
//!
//! Generation: sending tens of thousands of real signed escrow transactions would take longer
//! than the benchmark itself, so the events come from `contracts/test/bench/EventReplayer.sol`,
//! which emits whatever logs its calldata describes. Every log is ABI-encoded here from the
//! escrow's own event types (`pactum_bindings::PactumEscrow`), byte for byte what the escrow
//! emits, in valid per-agreement sequences (created, funded, submitted, approved, claimed,
//! disputed, settled, terminated, completed…) interleaved across many agreements and blocks; the
//! replayer's address is indexed as the escrow. Agreement ids are the real EIP-712 digests for
//! that address. Blocks are packed with K events each: automine is off, the block's transactions
//! are sent, then `evm_mine`.

use std::{
    collections::VecDeque,
    process::Command,
    time::{Duration, Instant},
};

use alloy::{
    node_bindings::Anvil,
    primitives::{keccak256, Address, Bytes, LogData, Uint, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    sol_types::SolEvent,
};
use eyre::{bail, eyre, Result, WrapErr};
use pactum_bindings::PactumEscrow as E;
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use pactum_indexer::{Config, Indexer};
use sqlx::{Connection, PgConnection};

/// Calldata of one replayer transaction stays under this (node and pool limits on tx size).
const MAX_TX_BYTES: usize = 96 * 1024;
/// Gas budget of one replayer transaction (below the 2^24 per-transaction cap of recent forks).
const MAX_TX_GAS: u64 = 14_000_000;
/// Agreements in flight at once: their events interleave across blocks.
const IN_FLIGHT: usize = 512;
/// The replayer's address on the benchmark chain.
const REPLAYER: Address = Address::new([0x5e; 20]);

#[derive(Debug)]
struct Args {
    events: u64,
    per_block: u64,
    keep_db: bool,
    admin_url: String,
    /// Webhook endpoints registered before each backfill (one backfill per entry).
    endpoints: Vec<u64>,
    /// Stop after this many agreements instead of `events` (the scale data set is sized so).
    agreements: Option<u64>,
    /// Which parties and storylines the agreements get (see [`Mix`]).
    mix: Mix,
    /// Fetch-only and write-only passes next to each backfill.
    floors: bool,
    /// Rounds of passes (with `--floors`).
    runs: u32,
}

/// Who the agreements belong to and how far they got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Every agreement its own brand, creator and arbiter; every storyline played to its end.
    /// The indexer figures in the README were taken with this mix.
    Even,
    /// A platform's shape: skewed parties (one brand with a tenth of all agreements, nine with
    /// about 1% each, the rest about 20 each; one creator with 3%), 50 arbiters, two tokens, and
    /// 15% of the agreements stopped part-way (in progress: funded, under review, disputed,
    /// terminating).
    Scale,
}

fn flag(args: &mut VecDeque<String>, name: &str) -> Result<String> {
    args.pop_front().ok_or_else(|| eyre!("{name} needs a value"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args: VecDeque<String> = std::env::args().skip(1).collect();
    if args.front().map(String::as_str) == Some("index") {
        args.pop_front();
        return index(args).await;
    }
    let mut a = Args {
        events: 100_000,
        per_block: 2_000,
        keep_db: false,
        endpoints: vec![0],
        agreements: None,
        mix: Mix::Even,
        floors: false,
        runs: 1,
        admin_url: std::env::var("PACTUM_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    };
    while let Some(arg) = args.pop_front() {
        match arg.as_str() {
            "--events" => a.events = flag(&mut args, &arg)?.parse()?,
            "--per-block" => a.per_block = flag(&mut args, &arg)?.parse()?,
            "--keep-db" => a.keep_db = true,
            "--agreements" => a.agreements = Some(flag(&mut args, &arg)?.parse()?),
            "--mix" => {
                a.mix = match flag(&mut args, &arg)?.as_str() {
                    "even" => Mix::Even,
                    "scale" => Mix::Scale,
                    other => bail!("--mix is even or scale, not {other}"),
                }
            }
            "--floors" => a.floors = true,
            "--runs" => a.runs = flag(&mut args, &arg)?.parse()?,
            "--db" => a.admin_url = flag(&mut args, &arg)?,
            "--endpoints" => {
                a.endpoints =
                    flag(&mut args, &arg)?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: bench [--events N (100000)] [--per-block K (2000)] [--keep-db] \
                     [--db ADMIN_URL] [--endpoints M[,M…] (0): webhook endpoints registered \
                     before the backfill, one backfill per entry, side by side] [--floors: \
                     fetch-only and write-only passes next to the backfill] [--runs R (1)] \
                     [--agreements A: stop after A agreements instead of N events] \
                     [--mix even|scale (even): parties and storylines, see Mix]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    if a.events == 0 || a.per_block == 0 || a.runs == 0 || a.agreements == Some(0) {
        bail!("--events, --per-block, --runs and --agreements must be positive");
    }
    run(a).await
}

async fn run(a: Args) -> Result<()> {
    let artifact = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/EventReplayer.sol/EventReplayer.json"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(artifact)
            .wrap_err_with(|| format!("{artifact}: run scripts/bench-index (it builds it)"))?,
    )?;
    let code: Bytes = json["deployedBytecode"]["object"]
        .as_str()
        .ok_or_else(|| eyre!("{artifact} has no deployedBytecode"))?
        .parse()?;

    let anvil = Anvil::new().args(["--disable-block-gas-limit", "--order", "fifo"]).try_spawn()?;
    let chain_id = anvil.chain_id();
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url()).erased();
    let _: serde_json::Value =
        provider.raw_request("anvil_setCode".into(), (REPLAYER, code)).await?;
    let _: serde_json::Value = provider.raw_request("evm_setAutomine".into(), (false,)).await?;
    let from = anvil.addresses()[0];

    let target = match a.agreements {
        Some(n) => Target::Agreements(n),
        None => Target::Events(a.events),
    };
    eprintln!(
        "generating {target:?}, {} per block, mix {:?}, on anvil (chain {chain_id})…",
        a.per_block, a.mix
    );
    let started = Instant::now();
    let mut gen = Generator::new(domain(chain_id, REPLAYER), target, a.mix);
    let mut nonce = 0u64;
    let mut blocks = 0u64;
    let mut kinds = std::collections::BTreeMap::<&'static str, u64>::new();
    while !gen.done() {
        let mut in_block = 0;
        let mut txs = Vec::new();
        let mut calldata = Vec::new();
        let mut gas = 21_000u64;
        while in_block < a.per_block {
            let Some((name, log)) = gen.next() else { break };
            *kinds.entry(name).or_default() += 1;
            let record = encode(&log)?;
            let record_gas = log_gas(&log, record.len());
            if !calldata.is_empty()
                && (calldata.len() + record.len() > MAX_TX_BYTES || gas + record_gas > MAX_TX_GAS)
            {
                txs.push((std::mem::take(&mut calldata), gas));
                gas = 21_000;
            }
            calldata.extend_from_slice(&record);
            gas += record_gas;
            in_block += 1;
        }
        if !calldata.is_empty() {
            txs.push((calldata, gas));
        }
        for (data, gas) in txs {
            let tx = TransactionRequest::default()
                .from(from)
                .to(REPLAYER)
                .input(Bytes::from(data).into())
                .nonce(nonce)
                .gas_limit(gas + gas / 5 + 50_000)
                .max_fee_per_gas(100_000_000_000)
                .max_priority_fee_per_gas(1);
            let _pending = provider.send_transaction(tx).await?;
            nonce += 1;
        }
        let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
        blocks += 1;
    }
    let head = provider.get_block_number().await?;
    if head != blocks {
        bail!("mined {head} blocks, expected {blocks}: a block did not take all its transactions");
    }
    let pending: serde_json::Value =
        provider.raw_request("txpool_status".into(), ()).await.unwrap_or_default();
    let gen_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "generated {} events ({} agreements) in {blocks} blocks, {nonce} transactions, {gen_secs:.1} s; pool {pending}",
        gen.emitted, gen.agreements
    );
    for (k, v) in &kinds {
        eprintln!("  {k:<22} {v}");
    }

    let rpc = anvil.endpoint_url();
    if a.floors {
        return floors(&a, rpc.as_str(), chain_id, anvil.child().id(), blocks);
    }
    let mut results = Vec::with_capacity(a.endpoints.len());
    for &m in &a.endpoints {
        eprintln!("backfilling with {m} webhook endpoints registered…");
        results.push((m, backfill(&a, rpc.as_str(), chain_id, m, "full", None)?));
    }
    let Some((_, r)) = results.first().cloned() else { bail!("--endpoints is empty") };
    let f = |k: &str| r[k].as_f64().unwrap_or_default();
    let secs = f("seconds");
    println!();
    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| events (N) | {} |", r["events"]);
    println!("| events per block (K) | {} |", a.per_block);
    println!("| blocks | {blocks} |");
    println!("| rows written | {} |", r["rows"]);
    println!("| backfill wall time | {secs:.2} s |");
    println!("| events per second | {:.0} |", f("events") / secs);
    println!("| rows per second | {:.0} |", f("rows") / secs);
    println!("| indexer peak RSS (VmHWM, child process) | {:.1} MB |", f("vm_hwm_kb") / 1024.0);
    println!(
        "| generator peak RSS (parent, not the indexer) | {:.1} MB |",
        vm_hwm_kb().unwrap_or_default() as f64 / 1024.0
    );
    println!("| generation time (not timed above) | {gen_secs:.1} s |");
    println!("| database | {} |", r["database"].as_str().unwrap_or("?"));
    for (table, n) in r["tables"].as_object().into_iter().flatten() {
        eprintln!("  {table:<18} {n}");
    }
    if results.len() > 1 {
        println!();
        println!("| webhook endpoints | backfill wall time | events per second | notifications | deliveries queued |");
        println!("| --- | --- | --- | --- | --- |");
        for (m, r) in &results {
            let f = |k: &str| r[k].as_f64().unwrap_or_default();
            println!(
                "| {m} | {:.2} s | {:.0} | {} | {} |",
                f("seconds"),
                f("events") / f("seconds"),
                r["notifications"],
                r["webhook_deliveries"]
            );
        }
    }
    Ok(())
}

/// The three passes, `a.runs` rounds, on one chain; prints the floors table and the profile.
fn floors(a: &Args, rpc: &str, chain_id: u64, anvil_pid: u32, blocks: u64) -> Result<()> {
    let m = a.endpoints.first().copied().unwrap_or_default();
    let mut rounds = Vec::new();
    for run in 1..=a.runs {
        let mut round = Vec::new();
        for mode in ["fetch", "write", "full"] {
            let load = std::fs::read_to_string("/proc/loadavg")?;
            let load: String = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
            eprintln!("run {run}: {mode} pass (load average {load})…");
            let r = backfill(a, rpc, chain_id, m, mode, Some(anvil_pid))?;
            round.push((mode, load, r));
        }
        rounds.push(round);
    }
    let num = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or_default();
    println!();
    println!(
        "{} events, {} per block, {blocks} blocks; {} run(s); CPU s during each timed pass: \
         indexer / anvil / all PostgreSQL processes",
        a.events, a.per_block, a.runs
    );
    println!();
    println!("| run | pass | load avg before (1/5/15 min) | seconds | events/s | CPU s idx / anvil / pg |");
    println!("| --- | --- | --- | ---: | ---: | --- |");
    for (i, round) in rounds.iter().enumerate() {
        for (mode, load, r) in round {
            let cpu = &r["cpu_seconds"];
            println!(
                "| {} | {} | {load} | {:.2} | {:.0} | {:.2} / {:.2} / {:.2} |",
                i + 1,
                match *mode {
                    "fetch" => "fetch-only",
                    "write" => "write-only",
                    _ => "full backfill",
                },
                num(r, "seconds"),
                num(r, "events") / num(r, "seconds"),
                num(cpu, "indexer"),
                num(cpu, "anvil"),
                num(cpu, "postgres"),
            );
        }
        let s = |k: usize| num(&round[k].2, "seconds");
        let floor = s(0).max(s(1));
        println!(
            "| {} | **full / max(fetch, write)** | | **{:.2}×** (target ≤ 1.5×) | | |",
            i + 1,
            s(2) / floor
        );
    }
    // The passes must be the same work: the fetch floor's calls are the backfill's, the write
    // floor's rows are the backfill's.
    let last = rounds.last().ok_or_else(|| eyre!("no runs"))?;
    let (fetch, write, full) = (&last[0].2, &last[1].2, &last[2].2);
    println!();
    println!("| same work (last run) | fetch-only | write-only | full backfill |");
    println!("| --- | ---: | ---: | ---: |");
    for method in ["eth_getLogs", "eth_getBlockByNumber", "eth_blockNumber"] {
        println!(
            "| {method} calls | {} | – | {} |",
            fetch["rpc_calls"][method], full["rpc_calls"][method]
        );
    }
    println!("| batches | {} | {} | {} |", fetch["batches"], write["batches"], full["batches"]);
    println!("| events | {} | {} | {} |", fetch["events"], write["events"], full["events"]);
    println!("| rows written | – | {} | {} |", write["rows"], full["rows"]);
    println!("| notifications | – | {} | {} |", write["notifications"], full["notifications"]);
    if write["tables"] != full["tables"] {
        bail!("the write-only pass wrote other rows than the backfill: {write} vs {full}");
    }
    println!();
    println!("Stage timers, seconds summed over the batches (mean of {} run(s)):", a.runs);
    println!();
    println!("| stage | full backfill | share | write-only | fetch-only |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mean = |k: usize, stage: &str| {
        rounds.iter().map(|r| num(&r[k].2["stages"], stage)).sum::<f64>() / rounds.len() as f64
    };
    let full_secs =
        rounds.iter().map(|r| num(&r[2].2, "seconds")).sum::<f64>() / rounds.len() as f64;
    let mut timed = 0.0;
    for stage in full["stages"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()) {
        let f = mean(2, stage);
        timed += f;
        println!(
            "| {stage} | {f:.3} | {:.0}% | {:.3} | {:.3} |",
            100.0 * f / full_secs,
            mean(1, stage),
            mean(0, stage)
        );
    }
    println!(
        "| (untimed: between stages) | {:.3} | {:.0}% | | |",
        full_secs - timed,
        100.0 * (full_secs - timed) / full_secs
    );
    Ok(())
}

/// Runs the indexing child once (a fresh database, `endpoints` webhook endpoints registered) in
/// `mode` (`full`, `fetch` or `write`); returns its figures.
fn backfill(
    a: &Args,
    rpc: &str,
    chain_id: u64,
    endpoints: u64,
    mode: &str,
    anvil_pid: Option<u32>,
) -> Result<serde_json::Value> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe);
    child.args(["index", "--mode", mode]);
    if let Some(pid) = anvil_pid {
        child.args(["--anvil-pid", &pid.to_string()]);
    }
    child.args([
        "--rpc",
        rpc,
        "--escrow",
        &REPLAYER.to_string(),
        "--chain-id",
        &chain_id.to_string(),
        "--db",
        &a.admin_url,
        "--endpoints",
        &endpoints.to_string(),
    ]);
    if a.keep_db {
        child.arg("--keep-db");
    }
    // The child's stderr (errors, and its logs under RUST_LOG) goes straight to ours.
    let out = child.stderr(std::process::Stdio::inherit()).output()?;
    if !out.status.success() {
        bail!("the indexing child failed ({}); its messages are above", out.status);
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value =
        serde_json::from_str(line.trim()).wrap_err_with(|| format!("child printed {line:?}"))?;
    Ok(r)
}

/// The child: backfill into a fresh database, print figures as JSON.
async fn index(mut args: VecDeque<String>) -> Result<()> {
    // RUST_LOG=pactum_indexer=debug shows each batch's phase timings on stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let (mut rpc, mut escrow, mut chain_id, mut admin, mut keep) = (None, None, None, None, false);
    let mut endpoints = 0u64;
    let mut mode = "full".to_owned();
    let mut anvil_pid = None;
    while let Some(arg) = args.pop_front() {
        match arg.as_str() {
            "--rpc" => rpc = Some(flag(&mut args, &arg)?),
            "--escrow" => escrow = Some(flag(&mut args, &arg)?.parse::<Address>()?),
            "--chain-id" => chain_id = Some(flag(&mut args, &arg)?.parse::<u64>()?),
            "--db" => admin = Some(flag(&mut args, &arg)?),
            "--keep-db" => keep = true,
            "--endpoints" => endpoints = flag(&mut args, &arg)?.parse::<u64>()?,
            "--mode" => mode = flag(&mut args, &arg)?,
            "--anvil-pid" => anvil_pid = Some(flag(&mut args, &arg)?.parse::<u32>()?),
            other => bail!("unknown argument {other}"),
        }
    }
    let (Some(rpc), Some(escrow), Some(chain_id), Some(admin)) = (rpc, escrow, chain_id, admin)
    else {
        bail!("index needs --rpc, --escrow, --chain-id and --db");
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let name = format!("pactum_bench_{}_{nanos}", std::process::id());
    let mut conn = PgConnection::connect(&admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    let Some((base, _)) = admin.rsplit_once('/') else { bail!("{admin} has no database part") };
    let url = format!("{base}/{name}");
    let pool = pactum_db::connect(&url, 4).await?;

    let mut cfg = Config::new(chain_id, escrow, 1);
    cfg.rpc_timeout = Duration::from_secs(120);
    if let Ok(v) = std::env::var("BENCH_INITIAL_RANGE") {
        cfg.initial_range = v.parse()?;
    }
    if let Ok(v) = std::env::var("BENCH_MAX_RANGE") {
        cfg.max_range = v.parse()?;
    }
    if let Ok(v) = std::env::var("BENCH_BATCH_EVENTS") {
        cfg.batch_events = v.parse()?;
    }
    // Webhook endpoints of the first `endpoints` agreements' brands (see `Generator::script`), so
    // the fan-out finds recipients with endpoints, as in production.
    let mut c = pool.acquire().await?;
    for n in 0..endpoints {
        let mut account = [0xb0; 20];
        account[12..20].copy_from_slice(&n.to_be_bytes());
        let new = pactum_db::webhooks::NewEndpoint {
            url: "https://hooks.example.com/pactum".to_owned(),
            description: String::new(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            event_types: vec![],
            agreement_ids: vec![],
            roles: vec![],
            reminder_leads: vec![172_800, 86_400],
        };
        pactum_db::webhooks::insert_endpoint(&mut c, Address::from(account), &new, i64::MAX)
            .await?;
    }
    drop(c);
    let mut indexer = Indexer::new(cfg.clone(), rpc.parse()?, pool.clone());
    let (seconds, cpu) = match mode.as_str() {
        "full" => {
            let cpu = Cpu::now(anvil_pid)?;
            let started = Instant::now();
            indexer.sync_to_head().await?;
            (started.elapsed().as_secs_f64(), cpu.since(anvil_pid)?)
        }
        "fetch" => {
            let cpu = Cpu::now(anvil_pid)?;
            let started = Instant::now();
            indexer.fetch_to_head(false).await?;
            (started.elapsed().as_secs_f64(), cpu.since(anvil_pid)?)
        }
        "write" => {
            // Not timed: the same batches, fetched and decoded into memory first.
            let fetched = indexer.fetch_to_head(true).await?;
            let prepared = indexer.prepare_from_empty(&fetched)?;
            drop(fetched);
            indexer = Indexer::new(cfg, rpc.parse()?, pool.clone());
            let cpu = Cpu::now(anvil_pid)?;
            let started = Instant::now();
            indexer.write_prepared(&prepared).await?;
            (started.elapsed().as_secs_f64(), cpu.since(anvil_pid)?)
        }
        other => bail!("--mode {other}: full, fetch or write"),
    };
    let hwm = vm_hwm_kb()?;
    let stats = indexer.stats().clone();
    let stages: serde_json::Map<String, serde_json::Value> = stats
        .stages
        .named()
        .iter()
        .map(|(k, d)| ((*k).to_owned(), d.as_secs_f64().into()))
        .collect();
    let metrics = indexer.metrics();
    let rpc_calls: serde_json::Map<String, serde_json::Value> =
        ["eth_chainId", "eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs"]
            .into_iter()
            .map(|m| (m.to_owned(), metrics.rpc_calls.with_label_values(&[m]).get().into()))
            .collect();

    let mut rows = 0i64;
    let mut tables = serde_json::Map::new();
    for table in [
        "escrow_events",
        "agreements",
        "milestones",
        "deposits",
        "payouts",
        "disputes",
        "terminations",
        "deferred_payments",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&pool)
                .await?;
        rows += n;
        tables.insert(table.to_owned(), n.into());
    }
    let events = indexer.stats().events;
    let notifications: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications").fetch_one(&pool).await?;
    let deliveries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries").fetch_one(&pool).await?;
    drop(indexer);
    pool.close().await;
    if !keep {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await?;
    }
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "rows": rows,
            "tables": tables,
            "seconds": seconds,
            "mode": mode,
            "batches": stats.batches,
            "stages": stages,
            "rpc_calls": rpc_calls,
            "cpu_seconds": cpu,
            "vm_hwm_kb": hwm,
            "notifications": notifications,
            "webhook_deliveries": deliveries,
            "database": if keep { name } else { format!("{name} (dropped)") },
        })
    );
    Ok(())
}

/// CPU time (user + system, clock ticks) of this process, anvil and every PostgreSQL process.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    indexer: u64,
    anvil: u64,
    postgres: u64,
}

impl Cpu {
    fn now(anvil: Option<u32>) -> Result<Self> {
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else {
                continue;
            };
            if std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
            {
                // A process that exited meanwhile counts as nothing.
                postgres += ticks(pid).unwrap_or_default();
            }
        }
        Ok(Self {
            indexer: ticks("self")?,
            anvil: anvil.map(|p| ticks(&p.to_string())).transpose()?.unwrap_or_default(),
            postgres,
        })
    }

    /// Seconds spent since `self`, as JSON. (PostgreSQL backends that exited meanwhile are
    /// missed; each pass keeps its connections to the end.)
    fn since(self, anvil: Option<u32>) -> Result<serde_json::Value> {
        let now = Self::now(anvil)?;
        // USER_HZ: 100 on Linux.
        let s = |a: u64, b: u64| a.saturating_sub(b) as f64 / 100.0;
        Ok(serde_json::json!({
            "indexer": s(now.indexer, self.indexer),
            "anvil": s(now.anvil, self.anvil),
            "postgres": s(now.postgres, self.postgres),
        }))
    }
}

/// utime + stime of a process, in clock ticks, from `/proc/PID/stat`.
fn ticks(pid: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command (which may hold spaces) end with ')'; utime and stime are the
    // 14th and 15th fields, the 12th and 13th after it.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default();
    Ok(field(11) + field(12))
}

/// Peak resident set size of this process, from `/proc/self/status`.
fn vm_hwm_kb() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or_else(|| eyre!("no VmHWM in /proc/self/status"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// One replayer record: topic count, data length, topics, data.
fn encode(log: &LogData) -> Result<Vec<u8>> {
    let topics = log.topics();
    let data = &log.data;
    if topics.is_empty() || topics.len() > 4 || data.len() > usize::from(u16::MAX) {
        bail!("log does not fit a replayer record");
    }
    let mut out = Vec::with_capacity(3 + 32 * topics.len() + data.len());
    out.push(topics.len() as u8);
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    for t in topics {
        out.extend_from_slice(t.as_slice());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// A generous gas estimate of replaying one record (log, copy, loop, calldata at the floor price).
fn log_gas(log: &LogData, record_len: usize) -> u64 {
    let len = log.data.len() as u64;
    375 * (log.topics().len() as u64 + 1)
        + 8 * len
        + 3 * len.div_ceil(32)
        + 300
        + 40 * record_len as u64
}

/// When the generator stops.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// After this many events.
    Events(u64),
    /// After this many agreements, each played as far as its storyline goes.
    Agreements(u64),
}

/// Produces valid event sequences of many agreements, interleaved.
struct Generator {
    domain: alloy::sol_types::Eip712Domain,
    target: Target,
    mix: Mix,
    emitted: u64,
    agreements: u64,
    in_flight: VecDeque<VecDeque<(&'static str, LogData)>>,
}

/// A 64-bit mix of `n` (splitmix64's finaliser): the scale mix's choices, stable per agreement.
fn spread(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Party `k` of a kind (`tag`: 0xb0 brands, 0xc0 creators, 0xa0 arbiters).
fn party(tag: u8, k: u64) -> Address {
    let mut a = [tag; 20];
    a[12..20].copy_from_slice(&k.to_be_bytes());
    Address::from(a)
}

impl Generator {
    fn new(domain: alloy::sol_types::Eip712Domain, target: Target, mix: Mix) -> Self {
        Self { domain, target, mix, emitted: 0, agreements: 0, in_flight: VecDeque::new() }
    }

    fn done(&self) -> bool {
        match self.target {
            Target::Events(n) => self.emitted >= n,
            Target::Agreements(n) => self.agreements >= n && self.in_flight.is_empty(),
        }
    }

    /// Whether another agreement may start.
    fn may_start(&self) -> bool {
        match self.target {
            Target::Events(_) => true,
            Target::Agreements(n) => self.agreements < n,
        }
    }

    /// The next event: round robin over the agreements in flight, starting new ones as they end.
    fn next(&mut self) -> Option<(&'static str, LogData)> {
        if self.done() {
            return None;
        }
        while self.in_flight.len() < IN_FLIGHT && self.may_start() {
            let script = self.script(self.agreements);
            self.agreements += 1;
            self.in_flight.push_back(script);
        }
        let mut script = self.in_flight.pop_front()?;
        let ev = script.pop_front();
        if !script.is_empty() {
            self.in_flight.push_back(script);
        }
        if ev.is_some() {
            self.emitted += 1;
        }
        ev
    }

    /// Agreement `n`'s brand, creator, arbiter and token under the mix.
    fn parties(&self, n: u64) -> (Address, Address, Address, Address) {
        let erc20 = Address::new([0x55; 20]);
        match self.mix {
            Mix::Even => (party(0xb0, n), party(0xc0, n), party(0xa0, n), erc20),
            Mix::Scale => {
                // Sized by the agreements expected: by count, or about 9.5 events each.
                let expected = match self.target {
                    Target::Agreements(a) => a,
                    Target::Events(e) => e / 9,
                }
                .max(1);
                let x = spread(n);
                let brand = match x % 1000 {
                    0..=99 => 0,
                    100..=199 => 1 + (x >> 10) % 9,
                    _ => 10 + (x >> 20) % (expected / 25).max(1),
                };
                let creator = match (x >> 32) % 1000 {
                    0..=29 => 0,
                    _ => 1 + (x >> 42) % (expected / 4).max(1),
                };
                let token = if (x >> 52).is_multiple_of(3) { Address::ZERO } else { erc20 };
                (party(0xb0, brand), party(0xc0, creator), party(0xa0, (x >> 56) % 50), token)
            }
        }
    }

    /// Agreement number `n`'s events, one of five storylines.
    fn script(&self, n: u64) -> VecDeque<(&'static str, LogData)> {
        let mut s = self.storyline(n);
        // The scale mix stops 15% of the agreements part-way: a prefix of a valid storyline is
        // a valid history of an agreement still in progress.
        let x = spread(n);
        if self.mix == Mix::Scale && (x >> 8) % 100 < 15 && s.len() > 1 {
            s.truncate(1 + ((x >> 16) as usize) % (s.len() - 1));
        }
        s
    }

    /// Agreement `n`'s whole storyline, one of five.
    fn storyline(&self, n: u64) -> VecDeque<(&'static str, LogData)> {
        let (brand, creator, arbiter, token) = self.parties(n);
        let unit = 1_000_000 * (1 + n % 97);
        let amounts = [unit, 2 * unit, 3 * unit].map(U256::from);
        let agreement = Agreement {
            brand,
            creator,
            arbiter,
            token,
            termsHash: keccak256(format!("terms {n}")),
            arbiterFeeBps: 250,
            contestWindow: 2 * 86_400,
            arbitrationWindow: 7 * 86_400,
            revisionRounds: 2,
            deadline: Uint::from(1_900_000_000u64),
            salt: U256::from(n),
            milestones: amounts
                .iter()
                .enumerate()
                .map(|(i, amount)| Milestone {
                    amount: *amount,
                    deadline: Uint::from(1_900_000_000u64 + (i as u64 + 1) * 604_800),
                    reviewWindow: 3 * 86_400,
                })
                .collect(),
        };
        let id = agreement_id(&agreement, &self.domain);
        let h = |s: &str| keccak256(format!("{s} {n}"));
        let m = |i: u64| U256::from(i);
        let mut s: VecDeque<(&'static str, LogData)> = VecDeque::new();
        macro_rules! ev {
            ($name:ident { $($f:tt)* }) => {
                s.push_back((stringify!($name), E::$name { $($f)* }.encode_log_data()))
            };
        }
        if n % 50 == 49 {
            // Revoked before creation: one event.
            ev!(AgreementRevoked { id, by: brand });
            return s;
        }
        ev!(AgreementCreated { id, brand, creator, agreement: agreement.clone() });
        let submit = |s: &mut VecDeque<_>, i: u64| {
            s.push_back((
                "DeliverableSubmitted",
                E::DeliverableSubmitted {
                    id,
                    milestone: m(i),
                    contentHash: h("content"),
                    uri: format!("ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/{n}/{i}"),
                }
                .encode_log_data(),
            ))
        };
        let third = |x: U256| x / U256::from(3);
        match n % 10 {
            // Happy path: funded at once, approved, claimed after silence, approved, completed.
            0..=4 => {
                let total = amounts.iter().copied().sum();
                ev!(MilestonesFunded {
                    id,
                    funder: brand,
                    firstMilestone: m(0),
                    count: m(3),
                    amount: total
                });
                submit(&mut s, 0);
                ev!(MilestoneApproved { id, milestone: m(0), amount: amounts[0] });
                submit(&mut s, 1);
                ev!(MilestoneClaimed { id, milestone: m(1), amount: amounts[1] });
                submit(&mut s, 2);
                ev!(MilestoneApproved { id, milestone: m(2), amount: amounts[2] });
                ev!(AgreementCompleted { id });
            }
            // Revision and dispute ruled by the arbiter, a settlement, a reclaim.
            5..=6 => {
                let total = amounts.iter().copied().sum();
                ev!(MilestonesFunded {
                    id,
                    funder: brand,
                    firstMilestone: m(0),
                    count: m(3),
                    amount: total
                });
                submit(&mut s, 0);
                ev!(RevisionRequested { id, milestone: m(0), reasonHash: h("revise") });
                ev!(DisputeOpened { id, milestone: m(0), by: creator, reasonHash: h("dispute") });
                let fee = amounts[0] * U256::from(250) / U256::from(10_000);
                let creator_amount = (amounts[0] - fee) * U256::from(6) / U256::from(10);
                ev!(DisputeResolved {
                    id,
                    milestone: m(0),
                    creatorAmount: creator_amount,
                    brandAmount: amounts[0] - fee - creator_amount,
                    arbiterFee: fee,
                    creatorBps: 6_000,
                });
                // The brand voids a split it signed earlier (state nonce 5 -> 6), then both sign
                // one for the new nonce.
                ev!(SignaturesCancelled { id, by: brand, nonce: 6 });
                ev!(MilestoneSettled {
                    id,
                    milestone: m(1),
                    creatorAmount: third(amounts[1]),
                    brandAmount: amounts[1] - third(amounts[1])
                });
                ev!(MilestoneReclaimed { id, milestone: m(2), amount: amounts[2] });
                ev!(AgreementCompleted { id });
            }
            // Funded in two steps, one approval, a contested termination ruled by the arbiter while
            // milestone 1 is under review: the ruling splits only milestone 2 (unearned), the
            // agreement closes, and the creator's claim of milestone 1 ends it.
            7..=8 => {
                ev!(MilestonesFunded {
                    id,
                    funder: brand,
                    firstMilestone: m(0),
                    count: m(1),
                    amount: amounts[0]
                });
                ev!(MilestonesFunded {
                    id,
                    funder: brand,
                    firstMilestone: m(1),
                    count: m(2),
                    amount: amounts[1] + amounts[2]
                });
                submit(&mut s, 0);
                ev!(MilestoneApproved { id, milestone: m(0), amount: amounts[0] });
                submit(&mut s, 1);
                ev!(TerminationStarted {
                    id,
                    by: brand,
                    reasonHash: h("cause"),
                    contestDeadline: U256::from(1_900_172_800u64)
                });
                ev!(TerminationContested { id, by: creator });
                let rest = amounts[2];
                let fee = rest * U256::from(250) / U256::from(10_000);
                ev!(AgreementTerminated {
                    id,
                    kind: 1,
                    creatorAmount: third(rest - fee),
                    brandAmount: rest - fee - third(rest - fee),
                    arbiterFee: fee
                });
                ev!(MilestoneClaimed { id, milestone: m(1), amount: amounts[1] });
                ev!(AgreementCompleted { id });
            }
            // Partly funded, a dispute the arbiter let time out, an uncontested termination, and
            // a deferred payment withdrawn.
            _ => {
                ev!(MilestonesFunded {
                    id,
                    funder: brand,
                    firstMilestone: m(0),
                    count: m(1),
                    amount: amounts[0]
                });
                submit(&mut s, 0);
                ev!(DisputeOpened { id, milestone: m(0), by: brand, reasonHash: h("late") });
                let half = amounts[0] / U256::from(2);
                ev!(DisputeTimedOut {
                    id,
                    milestone: m(0),
                    creatorAmount: half,
                    brandAmount: amounts[0] - half
                });
                ev!(PaymentDeferred { id, token: agreement.token, account: creator, amount: half });
                ev!(TerminationStarted {
                    id,
                    by: creator,
                    reasonHash: h("cause"),
                    contestDeadline: U256::from(1_900_172_800u64)
                });
                ev!(AgreementTerminated {
                    id,
                    kind: 0,
                    creatorAmount: U256::ZERO,
                    brandAmount: U256::ZERO,
                    arbiterFee: U256::ZERO
                });
                ev!(Withdrawn {
                    token: agreement.token,
                    account: creator,
                    to: creator,
                    amount: half
                });
            }
        }
        s
    }
}
