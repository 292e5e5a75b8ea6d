//! `pactum index`: runs the indexer with its configuration, signals, logs, progress and metrics.
//!
//! Configuration precedence, for every setting: command-line flag, then environment variable, then
//! the TOML file given by `--config` (or `PACTUM_CONFIG`), then the default.

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::primitives::Address;
use clap::Args;
use eyre::{Context, Result};
use pactum_indexer::{Config, Indexer, Metrics};
use serde::Deserialize;
use tracing::info;

use crate::settings::{
    read_config_file, required, shutdown_signal, CHAIN_ID, DATABASE_URL, ESCROW, RPC_URL,
};

/// Flags of `pactum index`; each also reads the environment variable named in its help.
#[derive(Debug, Args)]
pub(crate) struct IndexArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_` for `-`).
    #[arg(long, env = "PACTUM_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC URL of the chain's node.
    #[arg(long, env = "PACTUM_RPC_URL")]
    rpc_url: Option<String>,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Chain id the node must serve.
    #[arg(long, env = "PACTUM_CHAIN_ID")]
    chain_id: Option<u64>,
    /// The escrow's address.
    #[arg(long, env = "PACTUM_ESCROW")]
    escrow: Option<Address>,
    /// The escrow's deployment block [default: 1].
    #[arg(long, env = "PACTUM_START_BLOCK")]
    start_block: Option<u64>,
    /// Blocks to stay behind the head [default: 0].
    #[arg(long, env = "PACTUM_CONFIRMATIONS")]
    confirmations: Option<u64>,
    /// Depth below the head after which blocks are final [default: 64].
    #[arg(long, env = "PACTUM_FINALITY_DEPTH")]
    finality_depth: Option<u64>,
    /// First eth_getLogs range in blocks [default: 4].
    #[arg(long, env = "PACTUM_INITIAL_RANGE")]
    initial_range: Option<u64>,
    /// Largest eth_getLogs range in blocks [default: 50000].
    #[arg(long, env = "PACTUM_MAX_RANGE")]
    max_range: Option<u64>,
    /// Events a batch aims at; the range adapts to it [default: 10000].
    #[arg(long, env = "PACTUM_BATCH_EVENTS")]
    batch_events: Option<u64>,
    /// Poll interval once caught up, in milliseconds [default: 500].
    #[arg(long, env = "PACTUM_POLL_MS")]
    poll_ms: Option<u64>,
    /// Address to serve /metrics on [default: 127.0.0.1:9464]; "off" serves nothing.
    #[arg(long, env = "PACTUM_METRICS_ADDR")]
    metrics_addr: Option<String>,
}

/// The same settings as read from the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rpc_url: Option<String>,
    database_url: Option<String>,
    chain_id: Option<u64>,
    escrow: Option<Address>,
    start_block: Option<u64>,
    confirmations: Option<u64>,
    finality_depth: Option<u64>,
    initial_range: Option<u64>,
    max_range: Option<u64>,
    batch_events: Option<u64>,
    poll_ms: Option<u64>,
    metrics_addr: Option<String>,
}

/// The resolved settings.
#[derive(Debug)]
struct Settings {
    rpc_url: String,
    database_url: String,
    metrics_addr: Option<SocketAddr>,
    indexer: Config,
}

impl IndexArgs {
    fn resolve(self) -> Result<Settings> {
        let file: FileConfig = read_config_file(self.config.as_deref())?;
        let rpc_url = required(self.rpc_url.or(file.rpc_url), RPC_URL)?;
        let database_url = required(self.database_url.or(file.database_url), DATABASE_URL)?;
        let chain_id = required(self.chain_id.or(file.chain_id), CHAIN_ID)?;
        let escrow = required(self.escrow.or(file.escrow), ESCROW)?;
        let mut indexer =
            Config::new(chain_id, escrow, self.start_block.or(file.start_block).unwrap_or(1));
        if let Some(v) = self.confirmations.or(file.confirmations) {
            indexer.confirmations = v;
        }
        if let Some(v) = self.finality_depth.or(file.finality_depth) {
            indexer.finality_depth = v;
        }
        if let Some(v) = self.initial_range.or(file.initial_range) {
            indexer.initial_range = v.max(1);
        }
        if let Some(v) = self.max_range.or(file.max_range) {
            indexer.max_range = v.max(1);
        }
        if let Some(v) = self.batch_events.or(file.batch_events) {
            indexer.batch_events = v.max(1);
        }
        if let Some(v) = self.poll_ms.or(file.poll_ms) {
            indexer.poll_interval = Duration::from_millis(v);
        }
        let metrics_addr = match self.metrics_addr.or(file.metrics_addr).as_deref() {
            Some("off") => None,
            Some(a) => Some(a.parse().wrap_err_with(|| format!("metrics address {a:?}"))?),
            None => Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        };
        Ok(Settings { rpc_url, database_url, metrics_addr, indexer })
    }
}

/// Runs the indexer until Ctrl-C or SIGTERM, which stop it between batches.
pub(crate) async fn run(args: IndexArgs) -> Result<()> {
    let settings = args.resolve()?;
    let url =
        settings.rpc_url.parse().wrap_err_with(|| format!("RPC URL {:?}", settings.rpc_url))?;
    let pool = pactum_db::connect(&settings.database_url, 8)
        .await
        .wrap_err("connecting to PostgreSQL and applying migrations")?;
    let mut indexer = Indexer::new(settings.indexer, url, pool);
    let cancel = indexer.cancel_token();
    let metrics = indexer.metrics();

    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            shutdown_signal().await;
            info!("stopping after the current batch");
            cancel.cancel();
        }
    });
    if let Some(addr) = settings.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .wrap_err_with(|| format!("binding the metrics address {addr}"))?;
        info!(%addr, "serving /metrics");
        tokio::spawn(serve_metrics(listener, metrics.clone()));
    }
    tokio::spawn(report_progress(metrics, cancel));
    indexer.run().await.wrap_err("indexer stopped")?;
    Ok(())
}

async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "metrics server stopped");
    }
}

/// A progress bar while backfilling on a terminal; a log line every ten seconds otherwise.
async fn report_progress(metrics: Arc<Metrics>, cancel: tokio_util::sync::CancellationToken) {
    let tty = std::io::stderr().is_terminal();
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
