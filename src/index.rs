//! `pactum index`: runs the indexer with its configuration, signals, logs, progress and metrics.
//!
//! Configuration precedence, for every setting: command-line flag, then environment variable, then
//! the TOML file given by `--config` (or `PACTUM_CONFIG`), then the default; layered in
//! [`crate::settings`].

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::primitives::Address;
use clap::Args;
use eyre::{bail, eyre, Context, Result};
use pactum_indexer::{Config, Indexer, Metrics};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::settings::{
    command_line, distinct_chains, hide_password, hide_rpc_secrets, resolve, shown_chains,
    shutdown_signal, ChainSpec, CHAIN_ID, DATABASE_URL, ESCROW, RPC_URL, START_BLOCK,
};

/// Flags of `pactum index`; each also reads the environment variable named in its help. Unset
/// ones are left out of the command-line layer so that the file and the defaults show through.
#[derive(Debug, Args, Serialize)]
pub(crate) struct IndexArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_` for `-`).
    #[arg(long, env = "PACTUM_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Check the settings (nothing is connected to) and print them as JSON, URL passwords hidden,
    /// instead of indexing.
    #[arg(long)]
    #[serde(skip)]
    print_config: bool,
    /// JSON-RPC URL of the chain's node.
    #[arg(long, env = "PACTUM_RPC_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc_url: Option<String>,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Chain id the node must serve.
    #[arg(long, env = "PACTUM_CHAIN_ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_id: Option<u64>,
    /// The escrow's address.
    #[arg(long, env = "PACTUM_ESCROW")]
    #[serde(skip_serializing_if = "Option::is_none")]
    escrow: Option<Address>,
    /// The performance-pay contract's address, mirrored beside the escrow [default: none].
    #[arg(long, env = "PACTUM_PERFORMANCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    performance: Option<Address>,
    /// The escrow's deployment block (`pactum deploy` prints it); required except on anvil's
    /// chain 31337, where it defaults to 1.
    #[arg(long, env = "PACTUM_START_BLOCK")]
    #[serde(skip_serializing_if = "Option::is_none")]
    start_block: Option<u64>,
    /// Blocks to stay behind the head [default: 0].
    #[arg(long, env = "PACTUM_CONFIRMATIONS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmations: Option<u64>,
    /// Depth below the head after which blocks are final [default: 64].
    #[arg(long, env = "PACTUM_FINALITY_DEPTH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    finality_depth: Option<u64>,
    /// First eth_getLogs range in blocks [default: 4].
    #[arg(long, env = "PACTUM_INITIAL_RANGE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_range: Option<u64>,
    /// Largest eth_getLogs range in blocks [default: 50000].
    #[arg(long, env = "PACTUM_MAX_RANGE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_range: Option<u64>,
    /// Events a batch aims at; the range adapts to it [default: 10000].
    #[arg(long, env = "PACTUM_BATCH_EVENTS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_events: Option<u64>,
    /// Poll interval once caught up, in milliseconds [default: 500].
    #[arg(long, env = "PACTUM_POLL_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_ms: Option<u64>,
    /// Address to serve /metrics on [default: 127.0.0.1:9464]; "off" serves nothing.
    #[arg(long, env = "PACTUM_METRICS_ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_addr: Option<String>,
    /// More chains to index beside the one above, each with its own checkpoint, reorg window and
    /// finality: `chain_id=…,rpc_url=…,escrow=…,start_block=…[,confirmations=…][,finality_depth=…]`,
    /// chains separated by `;` (in the file: `[[chains]]` tables) [default: none].
    #[arg(long, env = "PACTUM_CHAINS", value_delimiter = ';')]
    #[serde(skip)]
    chains: Option<Vec<String>>,
}

/// The settings of `pactum index` once layered; also what the config file may hold (any subset).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct IndexSettings {
    rpc_url: String,
    database_url: String,
    chain_id: u64,
    escrow: Address,
    #[serde(default)]
    performance: Option<Address>,
    start_block: Option<u64>,
    confirmations: u64,
    finality_depth: u64,
    initial_range: u64,
    max_range: u64,
    batch_events: u64,
    poll_ms: u64,
    metrics_addr: String,
    chains: Vec<ChainSpec>,
}

/// Anvil's default chain id: a local chain, where the escrow is deployed in the first blocks.
const ANVIL_CHAIN_ID: u64 = 31_337;

/// The resolved settings.
#[derive(Debug)]
struct Settings {
    database_url: String,
    metrics_addr: Option<SocketAddr>,
    /// Each chain's indexer and node, the primary chain first.
    chains: Vec<(Config, String)>,
}

impl IndexArgs {
    /// Layers the settings (see [`crate::settings`]) and checks them.
    fn resolve(&self) -> Result<(IndexSettings, Settings)> {
        // The indexer's own defaults, so that they are stated once.
        let lib = Config::new(0, Address::ZERO, 0);
        let defaults = serde_json::json!({
            "confirmations": lib.confirmations,
            "finality_depth": lib.finality_depth,
            "initial_range": lib.initial_range,
            "max_range": lib.max_range,
            "batch_events": lib.batch_events,
            "poll_ms": u64::try_from(lib.poll_interval.as_millis()).unwrap_or(u64::MAX),
            "metrics_addr": "127.0.0.1:9464",
            "chains": [],
        });
        let mut s: IndexSettings = resolve(
            defaults,
            self.config.as_deref(),
            &[],
            command_line(self, self.chains.as_deref())?,
            &[RPC_URL, DATABASE_URL, CHAIN_ID, ESCROW],
        )?;
        distinct_chains(s.chain_id, &s.chains)?;
        for (i, c) in s.chains.iter().enumerate() {
            let key = pactum_db::writer_lock_key(c.chain_id);
            let earlier =
                std::iter::once(s.chain_id).chain(s.chains[..i].iter().map(|c| c.chain_id));
            if let Some(other) = earlier.into_iter().find(|&o| pactum_db::writer_lock_key(o) == key)
            {
                bail!(
                    "chains {other} and {} share a writer lock (their ids are equal modulo \
                     2^31 - 1), so one indexer would wait for the other forever: one database \
                     cannot mirror both",
                    c.chain_id
                );
            }
        }
        let start_block = start_block_of(s.chain_id, s.start_block)?;
        s.start_block = Some(start_block);
        let mut indexer = Config::new(s.chain_id, s.escrow, start_block);
        indexer.performance = s.performance;
        indexer.confirmations = s.confirmations;
        indexer.finality_depth = s.finality_depth;
        indexer.initial_range = s.initial_range.max(1);
        indexer.max_range = s.max_range.max(1);
        indexer.batch_events = s.batch_events.max(1);
        indexer.poll_interval = Duration::from_millis(s.poll_ms);
        let mut chains = vec![(indexer.clone(), s.rpc_url.clone())];
        for c in &mut s.chains {
            let start_block = start_block_of(c.chain_id, c.start_block)?;
            c.start_block = Some(start_block);
            // Filled in as resolved, so that --print-config shows what each chain runs with.
            let more = Config {
                chain_id: c.chain_id,
                escrow: c.escrow,
                performance: c.performance,
                start_block,
                confirmations: *c.confirmations.get_or_insert(s.confirmations),
                finality_depth: *c.finality_depth.get_or_insert(s.finality_depth),
                ..indexer.clone()
            };
            chains.push((more, c.rpc_url.clone()));
        }
        let metrics_addr = match s.metrics_addr.as_str() {
            "off" => None,
            a => Some(a.parse().wrap_err_with(|| format!("metrics address {a:?}"))?),
        };
        let settings = Settings { database_url: s.database_url.clone(), metrics_addr, chains };
        Ok((s, settings))
    }
}

/// A chain's start block: as given, or block 1 on anvil's chain. On a real chain, block 1 would be
/// a silent guess: a backfill of the whole chain's history before the escrow existed, or (with a
/// start past the deployment) missing events.
fn start_block_of(chain_id: u64, given: Option<u64>) -> Result<u64> {
    match given {
        Some(b) => Ok(b),
        None if chain_id == ANVIL_CHAIN_ID => Ok(1),
        None => bail!(
            "{} on chain {chain_id} (the block `pactum deploy` printed; only anvil's chain \
             {ANVIL_CHAIN_ID} defaults to block 1)",
            START_BLOCK.missing(),
        ),
    }
}

/// Runs the indexer until Ctrl-C or SIGTERM, which stop it between batches.
pub(crate) async fn run(args: IndexArgs) -> Result<()> {
    let (shown, settings) = args.resolve()?;
    if args.print_config {
        let shown = IndexSettings {
            rpc_url: hide_rpc_secrets(&shown.rpc_url),
            database_url: hide_password(&shown.database_url),
            chains: shown_chains(&shown.chains),
            ..shown
        };
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(());
    }
    let pool = pactum_db::connect(&settings.database_url, 8)
        .await
        .wrap_err("connecting to PostgreSQL and applying migrations")?;
    let chains = settings
        .chains
        .into_iter()
        .map(|(cfg, rpc_url)| {
            let url: alloy::transports::http::reqwest::Url =
                rpc_url.parse().wrap_err_with(|| format!("RPC URL of chain {}", cfg.chain_id))?;
            Ok((cfg, url))
        })
        .collect::<Result<Vec<_>>>()?;
    // A node of another chain would mirror the wrong ledger under this chain's id: refused before
    // anything starts, naming the chain. (A node that does not answer yet is the indexer's to
    // wait for, as with one chain.)
    for (cfg, url) in &chains {
        let chain_id = cfg.chain_id;
        let node = alloy::providers::ProviderBuilder::new().connect_http(url.clone());
        match alloy::providers::Provider::get_chain_id(&node).await {
            Ok(actual) if actual != chain_id => bail!(
                "the node configured for chain {chain_id} serves chain {actual}; fix its rpc_url \
                 or chain_id"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(chain_id, error = %e, "the node does not answer yet"),
        }
    }
    // One indexer per chain, each with its own checkpoint, writer lock and reorg window; they
    // share the pool and the process's stop.
    let stop = tokio_util::sync::CancellationToken::new();
    let all_metrics: Vec<Arc<Metrics>> =
        chains.iter().map(|(cfg, _)| Arc::new(Metrics::new(cfg.chain_id))).collect();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            info!("stopping after the current batch");
            stop.cancel();
        }
    });
    if let Some(addr) = settings.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .wrap_err_with(|| format!("binding the metrics address {addr}"))?;
        info!(%addr, "serving /metrics");
        tokio::spawn(serve_metrics(listener, all_metrics.clone()));
    }
    let several = all_metrics.len() > 1;
    for m in &all_metrics {
        tokio::spawn(report_progress(m.clone(), stop.clone(), several));
    }
    if !several {
        // One chain: its failure is the process's, for a supervisor to restart as before.
        let (cfg, url) = chains.into_iter().next().ok_or_else(|| eyre!("no chain"))?;
        let mut indexer = Indexer::new(cfg, url, pool)
            .stopped_by(stop.clone())
            .with_metrics(all_metrics[0].clone());
        return indexer.run().await.wrap_err("indexer stopped");
    }
    // Several: one chain's failure (a reorg deeper than its finality, a node gone wrong) must not
    // stop the others' mirrors, so each chain's indexer is restarted on its own, after a pause
    // that doubles up to five minutes; it resumes from its checkpoint. `/readyz` shows the chain
    // falling behind meanwhile.
    let mut running = tokio::task::JoinSet::new();
    for ((cfg, url), metrics) in chains.into_iter().zip(all_metrics) {
        let chain_id = cfg.chain_id;
        let (pool, stop) = (pool.clone(), stop.clone());
        running.spawn(async move {
            let mut pause = Duration::from_secs(1);
            loop {
                let mut indexer = Indexer::new(cfg.clone(), url.clone(), pool.clone())
                    .stopped_by(stop.clone())
                    .with_metrics(metrics.clone());
                let outcome = indexer.run().await;
                if stop.is_cancelled() {
                    return;
                }
                let error = match outcome {
                    Ok(()) => "stopped".to_owned(),
                    Err(e) => format!("{:#}", eyre::Report::new(e)),
                };
                tracing::error!(chain_id, %error, retry_in_s = pause.as_secs(), "the indexer of chain {chain_id} stopped; the other chains go on");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => return,
                }
                pause = (pause * 2).min(Duration::from_secs(300));
            }
        });
    }
    while let Some(done) = running.join_next().await {
        done.wrap_err("indexer task")?;
    }
    Ok(())
}

async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Vec<Arc<Metrics>>) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { Metrics::render_all(&metrics) }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "metrics server stopped");
    }
}

/// A progress bar while backfilling on a terminal; a log line every ten seconds otherwise.
async fn report_progress(
    metrics: Arc<Metrics>,
    cancel: tokio_util::sync::CancellationToken,
    several: bool,
) {
    // Several bars would overwrite each other on one line: log lines then, each naming its chain.
    let tty = std::io::stderr().is_terminal() && !several;
    let bar = tty.then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} block {pos}/{len} {wide_bar} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut tick = tokio::time::interval(Duration::from_millis(if tty { 200 } else { 10_000 }));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = cancel.cancelled() => break,
        }
        let (indexed, head) = (metrics.indexed.get(), metrics.head.get());
        match &bar {
            Some(bar) => {
                bar.set_length(u64::try_from(head).unwrap_or(0));
                bar.set_position(u64::try_from(indexed).unwrap_or(0));
                bar.set_message(format!("{} events", metrics.events.get()));
            }
            None => info!(
                chain_id = metrics.chain_id(),
                indexed,
                head,
                lag = head - indexed,
                events = metrics.events.get(),
                "progress"
            ),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
