//! The indexer: mirrors the Pactum escrow's events into PostgreSQL.
//!
//! It backfills with `eth_getLogs` over a block range that adapts (halved on errors and timeouts,
//! doubled while calls are fast), then follows the head. Each batch — raw events, the agreements'
//! rebuilt state, the ledger rows, the reorg window and the checkpoint — commits in one transaction,
//! so a crash at any point resumes from the last checkpoint with nothing missed or repeated.
//!
//! Reorgs: every block above the finality depth is kept as (number, hash, parent) in the window.
//! Before extending the mirror, the next block's parent must be the checkpoint's hash; if not, the
//! indexer walks the window back to the newest block the node still has, deletes what lies above it,
//! rebuilds the touched agreements from their remaining events, and goes on — atomically. A reorg
//! below the window (deeper than finality) halts with an error; a node that is merely behind is
//! waited for; a node with another genesis (a restarted anvil) is refused.
//!
//! Each batch is checked once its logs are in hand: its first block must still link to the
//! checkpoint and its logs must come from the blocks the node now calls canonical, or the batch is
//! retried — a reorg between the header calls and `eth_getLogs` must not splice forks.
//!
//! One writer per chain: [`Indexer::run`] holds a PostgreSQL advisory lock, but a lock can be lost
//! (its session killed) while the holder is between fetching a batch and writing it, so the lock
//! alone does not fence. Each transaction also swaps the checkpoint from the value its writer
//! read (`pactum_db::advance_checkpoint`): a writer whose checkpoint moved under it writes nothing.
//!
//! A log the node returns incomplete or out of range (no block hash, an index past the tables'
//! INTEGER) halts the indexer with [`Corrupt`], naming the log: a guessed value would be a silent
//! hole or a wrong row in the ledger.

mod metrics;
mod notify;
mod perf;
mod project;

pub use metrics::Metrics;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    sol_types::SolEventInterface,
};
use futures::{stream, StreamExt, TryStreamExt};
use pactum_bindings::PactumEscrow::PactumEscrowEvents;
use pactum_core::ledger::{agreement_of, event_name, milestone_of, AgreementLedger, Inconsistent};
use pactum_db::{
    notifications::NewNotification, AgreementRow, Checkpoint, EventRow, LogPosition, Projection,
};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How the indexer runs. See the README's configuration reference for the defaults' reasons.
#[derive(Debug, Clone)]
pub struct Config {
    /// The chain the RPC node must serve.
    pub chain_id: u64,
    /// The escrow to mirror.
    pub escrow: Address,
    /// The performance contract to mirror beside it, if this chain has one (its events go to
    /// `performance_events`, in the same transactions).
    pub performance: Option<Address>,
    /// The escrow's deployment block: nothing before it is read.
    pub start_block: u64,
    /// Blocks to stay behind the head (0: index the head itself).
    pub confirmations: u64,
    /// Blocks below the head after which a block is final: the reorg window's depth.
    pub finality_depth: u64,
    /// The first `eth_getLogs` range, in blocks.
    pub initial_range: u64,
    /// The largest `eth_getLogs` range.
    pub max_range: u64,
    /// Events one batch aims at: the range shrinks in proportion when a call returns more, and
    /// grows while calls return under half of it. Bounds memory (two batches are in flight: one
    /// being written, the next being fetched) whatever the chain's density.
    pub batch_events: u64,
    /// Pause between polls once caught up.
    pub poll_interval: Duration,
    /// Timeout of one RPC call.
    pub rpc_timeout: Duration,
}

impl Config {
    /// Defaults for a chain: no confirmations, a 64-block window, ranges from 4 up to 50,000
    /// blocks aiming at 10,000 events a batch.
    pub fn new(chain_id: u64, escrow: Address, start_block: u64) -> Self {
        Self {
            chain_id,
            escrow,
            performance: None,
            start_block,
            confirmations: 0,
            finality_depth: 64,
            initial_range: 4,
            max_range: 50_000,
            batch_events: 10_000,
            poll_interval: Duration::from_millis(500),
            rpc_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] pactum_db::Error),
    /// A database statement failed.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The node serves another chain than configured.
    #[error(
        "the RPC node serves chain {actual}, but the indexer is configured for chain {expected}"
    )]
    WrongChain {
        /// Configured.
        expected: u64,
        /// Served.
        actual: u64,
    },
    /// The node's genesis is not the one the mirror was built from.
    #[error(
        "the node's genesis block is {actual}, but chain {chain_id} was mirrored from genesis \
         {stored}: this is another chain (a restarted anvil?). Point at the right node, or start \
         from an empty database"
    )]
    GenesisChanged {
        /// The chain id.
        chain_id: u64,
        /// What the mirror recorded.
        stored: B256,
        /// What the node says.
        actual: B256,
    },
    /// The database mirrors another performance contract on this chain, or none, or one this
    /// configuration lacks.
    #[error(
        "the database mirrors chain {chain_id} with performance contract {stored}, but the \
         configuration names {configured}: a mirror cannot start or stop following a contract \
         halfway (the blocks already mirrored were read with or without its logs); configure the \
         same contract, or start from an empty database"
    )]
    PerformanceMismatch {
        /// The chain id.
        chain_id: u64,
        /// What the mirror follows ("none" if nothing).
        stored: String,
        /// What is configured ("none" if nothing).
        configured: String,
    },
    /// The database mirrors another escrow on this chain.
    #[error(
        "the database mirrors escrow {stored} on chain {chain_id}, not the configured {configured}"
    )]
    EscrowMismatch {
        /// The chain id.
        chain_id: u64,
        /// Mirrored.
        stored: Address,
        /// Configured.
        configured: Address,
    },
    /// A reorg reaches below the window of unfinalized blocks.
    #[error(
        "reorg below the finality window at block {block} (finality depth {depth}): refusing to \
         roll back blocks that were final; check the node, then re-index from an empty database"
    )]
    ReorgBeyondFinality {
        /// The mirror's last block.
        block: u64,
        /// The configured depth.
        depth: u64,
    },
    /// A log from the escrow did not decode as one of its events.
    #[error("log {log_index} of block {block} is not an escrow event: {reason}")]
    Decode {
        /// Block.
        block: u64,
        /// Log index.
        log_index: u64,
        /// Decoder message.
        reason: String,
    },
    /// The node returned a log that cannot be mirrored faithfully.
    #[error(transparent)]
    Corrupt(#[from] Corrupt),
    /// Events do not fit the agreements' state (not the escrow's events, or a bug).
    #[error(transparent)]
    Inconsistent(#[from] Inconsistent),
    /// Stopped on request.
    #[error("stopped")]
    Cancelled,
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Mirrored a batch (or undid a reorg): there may be more.
    Advanced,
    /// Nothing to do until the chain moves.
    CaughtUp,
}

/// A block header's essentials.
#[derive(Debug, Clone, Copy)]
struct Header {
    number: u64,
    hash: B256,
    parent: B256,
    timestamp: u64,
}

/// Counters the operator reads (the `/metrics` endpoint renders them).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// The node's head at the last step.
    pub head: u64,
    /// The last mirrored block.
    pub indexed: u64,
    /// The finalized block at the last step.
    pub finalized: u64,
    /// Events mirrored by this process.
    pub events: u64,
    /// RPC calls that failed or timed out (each was retried).
    pub rpc_errors: u64,
    /// Reorgs undone.
    pub reorgs: u64,
    /// The current `eth_getLogs` range.
    pub range: u64,
    /// Batches mirrored (or fetched, or written, by the floor passes).
    pub batches: u64,
    /// Where the time went.
    pub stages: Stages,
}

/// Where the indexer's time goes, summed over this process's batches: the wall time of each stage
/// as a step waits for it (one `Instant` per stage per batch, nothing per event). The fetch stages
/// count only what is left to wait for: a range prefetched while the previous batch was written
/// costs `logs` only the part that did not overlap.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    /// The top of each step: `eth_blockNumber`, the checkpoint read and the genesis check.
    pub head: Duration,
    /// The batch's first header and its logs (`eth_getLogs`, or what remained of its prefetch).
    pub logs: Duration,
    /// The batch's other headers (the reorg window, its last block) and missing block times.
    pub headers: Duration,
    /// ABI-decoding the logs and reading their positions.
    pub decode: Duration,
    /// Reading back the state of the agreements the batch touches.
    pub load: Duration,
    /// Folding events into the agreements' state; derived rows, event rows (their JSON fields)
    /// and notifications.
    pub project: Duration,
    /// The events' binary `COPY`.
    pub copy: Duration,
    /// The derived tables: deposits, payouts, disputes, terminations, deferred payments.
    pub derived: Duration,
    /// The agreements' and milestones' upserts.
    pub agreements: Duration,
    /// Notifications, their audience, the webhook fan-out and the wake-up.
    pub notify: Duration,
    /// The checkpoint's swap and the reorg window.
    pub checkpoint: Duration,
    /// `BEGIN` and `COMMIT`.
    pub commit: Duration,
    /// Handing the committed batch (its logs, rows and notifications) to a blocking thread that
    /// frees it: freeing it in the step measured about 3% of a backfill.
    pub free: Duration,
}

impl Stages {
    /// Each stage with its name, in the order a batch goes through them.
    pub fn named(&self) -> [(&'static str, Duration); 13] {
        [
            ("head", self.head),
            ("logs", self.logs),
            ("headers", self.headers),
            ("decode", self.decode),
            ("load", self.load),
            ("project", self.project),
            ("copy", self.copy),
            ("derived", self.derived),
            ("agreements", self.agreements),
            ("notify", self.notify),
            ("checkpoint", self.checkpoint),
            ("commit", self.commit),
            ("free", self.free),
        ]
    }
}

/// The time since `t`, and `t` moved to now: consecutive stages from one clock.
fn lap(t: &mut Instant) -> Duration {
    let now = Instant::now();
    let d = now - *t;
    *t = now;
    d
}

/// One batch's logs and headers as the node gave them, checked against the chain: the range
/// `from..=to` extending the checkpoint `prev`.
#[derive(Debug)]
pub struct FetchedBatch {
    genesis: B256,
    prev: (u64, B256),
    from: u64,
    to: u64,
    head: u64,
    finalized: u64,
    logs: Vec<Log>,
    headers: HashMap<u64, Header>,
    timestamps: HashMap<u64, u64>,
}

impl FetchedBatch {
    /// The blocks it covers.
    pub fn blocks(&self) -> std::ops::RangeInclusive<u64> {
        self.from..=self.to
    }

    /// Its logs.
    pub fn events(&self) -> usize {
        self.logs.len()
    }

    /// Its last block's hash (present: a batch without it is never returned).
    fn last_hash(&self) -> B256 {
        self.headers.get(&self.to).map(|h| h.hash).unwrap_or_default()
    }
}

/// What fetching a batch found.
#[derive(Debug)]
enum Fetch {
    /// The batch, checked (boxed: the other outcomes carry nothing).
    Batch(Box<FetchedBatch>),
    /// The next block does not link to the checkpoint: a reorg to undo.
    Unlinked,
    /// The chain moved while the batch was read: read it again.
    Retry,
    /// The blocks are not there (yet).
    CaughtUp,
}

/// A batch's logs decoded: (index into the batch's logs, event, position), and the agreements
/// they touch (sorted, deduplicated).
#[derive(Debug)]
struct Decoded {
    events: Vec<(usize, PactumEscrowEvents, LogPosition)>,
    ids: Vec<B256>,
    perf: perf::Decoded,
}

/// A batch decoded and folded: every row its transaction writes.
#[derive(Debug)]
pub struct PreparedBatch {
    read: Option<(u64, B256)>,
    next: Checkpoint,
    projection: Projection,
    perf: perf::Decoded,
    touched: Vec<AgreementRow>,
    notes: Vec<NewNotification>,
    window: Vec<(u64, B256, B256)>,
    forget_below: u64,
}

impl PreparedBatch {
    /// Its events (both contracts').
    pub fn events(&self) -> usize {
        self.projection.events.len() + self.perf.events.len()
    }
}

/// The next batch's logs, fetched while the current batch is written.
#[derive(Debug)]
struct Prefetch {
    from: u64,
    to: u64,
    started: Instant,
    task: tokio::task::JoinHandle<Option<Vec<Log>>>,
}

/// The indexer of one chain's escrow.
#[derive(Debug)]
pub struct Indexer {
    cfg: Config,
    provider: DynProvider,
    pool: PgPool,
    cancel: CancellationToken,
    range: u64,
    prefetch: Option<Prefetch>,
    stats: Stats,
    metrics: Arc<Metrics>,
}

impl Drop for Indexer {
    fn drop(&mut self) {
        if let Some(p) = self.prefetch.take() {
            p.task.abort();
        }
    }
}

impl Indexer {
    /// An indexer reading `rpc_url` and writing `pool` (migrated).
    pub fn new(cfg: Config, rpc_url: alloy::transports::http::reqwest::Url, pool: PgPool) -> Self {
        let provider =
            ProviderBuilder::new().disable_recommended_fillers().connect_http(rpc_url).erased();
        let range = cfg.initial_range.max(1);
        let metrics = Arc::new(Metrics::new(cfg.chain_id));
        Self {
            cfg,
            provider,
            pool,
            cancel: CancellationToken::new(),
            range,
            prefetch: None,
            stats: Stats::default(),
            metrics,
        }
    }

    /// The token that stops [`Indexer::run`] between batches.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Counts into `metrics` (those of an earlier indexer of the same chain, restarted) instead of
    /// its own.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Stops between batches when `token` is cancelled instead (one token for the indexers of
    /// several chains in one process).
    #[must_use]
    pub fn stopped_by(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The Prometheus metrics, shareable with the task that serves them.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    fn record_position(&mut self, head: u64, indexed: u64, finalized: u64) {
        self.stats.head = head;
        self.stats.indexed = indexed;
        self.stats.finalized = finalized;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.metrics.head.set(as_i64(head));
        self.metrics.indexed.set(as_i64(indexed));
        self.metrics.finalized.set(as_i64(finalized));
        self.metrics.lag.set(as_i64(head.saturating_sub(indexed)));
    }

    /// Takes the chain's writer lock (waiting while another indexer holds it), then mirrors and
    /// follows the chain until cancelled. Database outages are waited out; only conditions that
    /// need an operator (wrong chain, changed genesis, a reorg below finality) end it with an error.
    pub async fn run(&mut self) -> Result<()> {
        info!(chain_id = self.cfg.chain_id, "waiting for the writer lock");
        let mut lock = tokio::select! {
            lock = pactum_db::lock_writer(&self.pool, self.cfg.chain_id) => lock?,
            () = self.cancel.cancelled() => return Ok(()),
        };
        info!(chain_id = self.cfg.chain_id, escrow = %self.cfg.escrow, "writer lock taken; indexing");
        self.check_chain().await?;
        let mut db_delay = Duration::from_millis(200);
        while !self.cancel.is_cancelled() {
            match self.step().await {
                Ok(Progress::Advanced) => db_delay = Duration::from_millis(200),
                Ok(Progress::CaughtUp) => self.pause(self.cfg.poll_interval).await,
                Err(Error::Cancelled) => break,
                Err(Error::Db(pactum_db::Error::CheckpointMoved { .. })) => {
                    // Another writer moved the checkpoint under this one: the batch was rolled
                    // back. Writing on is only safe with the lock; the next step re-reads.
                    warn!("the checkpoint moved under this writer; batch discarded");
                    if !lock.is_held().await {
                        info!("writer lock lost; waiting for it again");
                        lock = tokio::select! {
                            lock = pactum_db::lock_writer(&self.pool, self.cfg.chain_id) => lock?,
                            () = self.cancel.cancelled() => return Ok(()),
                        };
                    }
                }
                Err(Error::Sqlx(e)) | Err(Error::Db(pactum_db::Error::Sqlx(e))) => {
                    warn!(error = %e, "database unavailable; retrying");
                    self.pause(jitter(db_delay)).await;
                    db_delay = (db_delay * 2).min(Duration::from_secs(10));
                    if !lock.is_held().await {
                        // The lock died with its connection: another indexer may have taken over.
                        info!("writer lock lost with the database connection; taking it again");
                        lock = tokio::select! {
                            lock = pactum_db::lock_writer(&self.pool, self.cfg.chain_id) => lock?,
                            () = self.cancel.cancelled() => return Ok(()),
                        };
                    }
                }
                Err(e) => return Err(e),
            }
        }
        info!(indexed = self.stats.indexed, "stopped between batches");
        Ok(())
    }

    /// Mirrors until caught up with the head (without the writer lock: for tools and tests that
    /// know they are alone).
    pub async fn sync_to_head(&mut self) -> Result<()> {
        self.check_chain().await?;
        while self.step().await? == Progress::Advanced {}
        Ok(())
    }

    async fn pause(&self, d: Duration) {
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            () = self.cancel.cancelled() => {}
        }
    }

    async fn check_chain(&mut self) -> Result<()> {
        let actual = self.rpc("eth_chainId", |p| async move { p.get_chain_id().await }).await?;
        if actual != self.cfg.chain_id {
            return Err(Error::WrongChain { expected: self.cfg.chain_id, actual });
        }
        Ok(())
    }

    /// One step: mirror the next batch, undo a reorg, or find nothing to do.
    pub async fn step(&mut self) -> Result<Progress> {
        let mut t = Instant::now();
        let head =
            self.rpc("eth_blockNumber", |p| async move { p.get_block_number().await }).await?;
        let mut conn = self.pool.acquire().await?;
        let (cp, stored) = self.checkpoint(&mut conn).await?;
        // What the batch's transaction swaps the checkpoint from (see `advance_checkpoint`).
        let read = stored.then_some((cp.block_number, cp.block_hash));
        let finalized = head.saturating_sub(self.cfg.finality_depth);
        self.record_position(head, cp.block_number, finalized);
        let started = Instant::now();
        if head < cp.block_number {
            warn!(head, indexed = cp.block_number, "the node is behind the mirror; waiting for it");
            return Ok(Progress::CaughtUp);
        }
        let target = head.saturating_sub(self.cfg.confirmations);
        if cp.block_number >= target {
            // Idle: is the mirror's tip still on the canonical chain?
            let tip = self.header(cp.block_number).await?;
            self.stats.stages.head += lap(&mut t);
            return match tip {
                Some(h) if h.hash != cp.block_hash => {
                    self.undo_reorg(&mut conn, &cp, read).await?;
                    Ok(Progress::Advanced)
                }
                _ => Ok(Progress::CaughtUp),
            };
        }
        self.stats.stages.head += lap(&mut t);

        let prev = (cp.block_number, cp.block_hash);
        let batch = match self.fetch_batch(cp.genesis_hash, prev, head, target).await? {
            Fetch::Batch(b) => b,
            Fetch::Unlinked => {
                self.undo_reorg(&mut conn, &cp, read).await?;
                return Ok(Progress::Advanced);
            }
            Fetch::Retry => return Ok(Progress::Advanced),
            Fetch::CaughtUp => return Ok(Progress::CaughtUp),
        };
        drop(conn);
        let fetched = started.elapsed();
        // The next range is fetched while this one is written: the node and PostgreSQL work at
        // once. The next step checks those logs against the chain like any others.
        if batch.to < target {
            self.start_prefetch(batch.to + 1, target);
        }
        let mut t = Instant::now();
        let decoded = decode(&batch, self.cfg.performance)?;
        self.stats.stages.decode += lap(&mut t);
        let mut tx = self.pool.begin().await?;
        self.stats.stages.commit += lap(&mut t);
        // The swap first: it fences a writer that lost the lock, and holds the checkpoint's row
        // lock for the rest of the transaction.
        let next = Checkpoint {
            block_number: batch.to,
            block_hash: batch.last_hash(),
            head_block: head,
            finalized_block: finalized,
            ..cp
        };
        pactum_db::advance_checkpoint(&mut tx, read, &next).await?;
        self.stats.stages.checkpoint += lap(&mut t);
        let rows = pactum_db::load_agreements(&mut tx, self.cfg.chain_id, &decoded.ids).await?;
        self.stats.stages.load += lap(&mut t);
        let prepared = prepare(self.cfg.chain_id, &batch, decoded, rows, read, next)?;
        self.stats.stages.project += lap(&mut t);
        self.write(&mut tx, &prepared, &mut t).await?;
        let written = started.elapsed();
        tx.commit().await?;
        self.stats.stages.commit += lap(&mut t);
        let (events, from, to) = (prepared.events() as u64, batch.from, batch.to);
        // Off the step's path: tens of thousands of allocations, freed while the next batch is read.
        drop(tokio::task::spawn_blocking(move || drop((prepared, batch))));
        self.stats.stages.free += lap(&mut t);
        self.stats.events += events;
        self.stats.batches += 1;
        self.metrics.events.inc_by(events);
        self.metrics
            .events_per_second
            .set(events as f64 / started.elapsed().as_secs_f64().max(1e-6));
        self.record_position(head, to, finalized);
        debug!(
            from,
            to,
            events,
            range = self.range,
            fetch_ms = fetched.as_millis() as u64,
            write_ms = (written - fetched).as_millis() as u64,
            commit_ms = (started.elapsed() - written).as_millis() as u64,
            "batch mirrored"
        );
        Ok(Progress::Advanced)
    }

    /// Reads the batch after checkpoint `prev` (at most up to `target`) and checks it against the
    /// chain: its first block must link to `prev`, its logs must come from the blocks the node
    /// now calls canonical, and the headers must not straddle a reorg.
    async fn fetch_batch(
        &mut self,
        genesis: B256,
        prev: (u64, B256),
        head: u64,
        target: u64,
    ) -> Result<Fetch> {
        let mut t = Instant::now();
        let finalized = head.saturating_sub(self.cfg.finality_depth);
        let from = prev.0 + 1;
        let Some(first) = self.header(from).await? else { return Ok(Fetch::CaughtUp) };
        if first.parent != prev.1 {
            return Ok(Fetch::Unlinked);
        }
        let (logs, to) = self.fetch_logs(from, target).await?;
        self.stats.stages.logs += lap(&mut t);

        // Headers: every block above the finality line (the reorg window, and a check that each
        // log comes from the block the node now calls canonical), the batch's first block (its
        // link to the checkpoint) and its last.
        let window_from = from.max(finalized + 1);
        let mut numbers: Vec<u64> = (window_from..=to).collect();
        if window_from > from {
            numbers.push(from);
        }
        if numbers.last() != Some(&to) {
            numbers.push(to);
        }
        let headers: HashMap<u64, Header> = stream::iter(numbers)
            .map(|n| self.header(n))
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .map(|h| (h.number, h))
            .collect();
        self.stats.stages.headers += lap(&mut t);
        if !headers.contains_key(&to) {
            return Ok(Fetch::CaughtUp);
        }
        // The first block's link to the checkpoint, again: `first` was read before the logs, and
        // a reorg in between would splice the old fork's checkpoint to the new fork's batch.
        if headers.get(&from).map(|h| h.parent) != Some(prev.1) {
            debug!(block = from, "the chain moved under the checkpoint during the batch; retrying");
            return Ok(Fetch::Retry);
        }
        for log in &logs {
            let n = log.block_number.unwrap_or_default();
            if let Some(h) = headers.get(&n) {
                // (A log without a hash is refused as corrupt when it is written.)
                if log.block_hash.is_some_and(|b| b != h.hash) {
                    debug!(block = n, "the chain moved during the batch; retrying it");
                    return Ok(Fetch::Retry);
                }
            }
        }
        // Parent links inside the window must hold too, or the headers straddle a reorg.
        for n in window_from + 1..=to {
            if let (Some(h), Some(p)) = (headers.get(&n), headers.get(&(n - 1))) {
                if h.parent != p.hash {
                    debug!(block = n, "headers straddle a reorg; retrying the batch");
                    return Ok(Fetch::Retry);
                }
            }
        }

        let timestamps = self.timestamps(&logs, &headers).await?;
        self.stats.stages.headers += lap(&mut t);
        if logs.iter().any(|l| l.block_number.is_some_and(|n| !timestamps.contains_key(&n))) {
            debug!("a log's block vanished during the batch; retrying it");
            return Ok(Fetch::Retry);
        }
        Ok(Fetch::Batch(Box::new(FetchedBatch {
            genesis,
            prev,
            from,
            to,
            head,
            finalized,
            logs,
            headers,
            timestamps,
        })))
    }

    /// Writes a prepared batch in the caller's transaction (after the checkpoint's swap): events,
    /// derived rows, agreements, notifications (late: publishing holds the outbox lock until
    /// commit, see `pactum_db::notifications`), then the reorg window.
    async fn write(
        &mut self,
        conn: &mut PgConnection,
        p: &PreparedBatch,
        t: &mut Instant,
    ) -> Result<()> {
        let chain_id = self.cfg.chain_id;
        let stages = &mut self.stats.stages;
        pactum_db::copy_events(conn, chain_id, &p.projection.events).await?;
        stages.copy += lap(t);
        pactum_db::insert_derived(conn, chain_id, &p.projection).await?;
        stages.derived += lap(t);
        pactum_db::upsert_agreements(conn, chain_id, &p.touched).await?;
        pactum_db::performance::write(conn, chain_id, &p.perf.events, &p.perf.created).await?;
        stages.agreements += lap(t);
        pactum_db::notifications::publish(conn, &p.notes).await?;
        stages.notify += lap(t);
        pactum_db::save_blocks(conn, chain_id, &p.window, p.forget_below).await?;
        stages.checkpoint += lap(t);
        Ok(())
    }

    /// The fetch floor: every RPC call [`Indexer::sync_to_head`] makes backfilling from an empty
    /// database — the same `eth_getLogs` ranges, adapted the same way and prefetched the same way,
    /// the same header calls — with nothing decoded or written. Keeps the batches when `keep`
    /// (the write floor's input, see [`Indexer::prepare_from_empty`]); otherwise drops each.
    pub async fn fetch_to_head(&mut self, keep: bool) -> Result<Vec<FetchedBatch>> {
        self.check_chain().await?;
        let mut out = Vec::new();
        let mut cp: Option<(u64, B256)> = None;
        loop {
            let mut t = Instant::now();
            let head =
                self.rpc("eth_blockNumber", |p| async move { p.get_block_number().await }).await?;
            // What each step's checkpoint read asks the node.
            let genesis = self.genesis().await?;
            let prev = match cp {
                Some(cp) => cp,
                None => self.before_start().await?,
            };
            let target = head.saturating_sub(self.cfg.confirmations);
            if prev.0 >= target {
                // The step that finds the backfill done checks the mirror's tip.
                self.header(prev.0).await?;
                self.stats.stages.head += lap(&mut t);
                return Ok(out);
            }
            self.stats.stages.head += lap(&mut t);
            match self.fetch_batch(genesis, prev, head, target).await? {
                Fetch::Batch(b) => {
                    if b.to < target {
                        self.start_prefetch(b.to + 1, target);
                    }
                    cp = Some((b.to, b.last_hash()));
                    self.stats.events += b.logs.len() as u64;
                    self.stats.batches += 1;
                    if keep {
                        out.push(*b);
                    }
                }
                Fetch::Unlinked => {
                    // No mirror to roll back: start over.
                    warn!(block = prev.0 + 1, "reorg during a fetch-only pass; starting over");
                    cp = None;
                    out.clear();
                }
                Fetch::Retry => {}
                Fetch::CaughtUp => return Ok(out),
            }
        }
    }

    /// Decodes and folds fetched batches in memory, in order, as a backfill from an empty
    /// database does between its reads and its writes: the rows of the write floor.
    pub fn prepare_from_empty(&self, batches: &[FetchedBatch]) -> Result<Vec<PreparedBatch>> {
        let mut state: HashMap<B256, AgreementRow> = HashMap::new();
        let mut out = Vec::with_capacity(batches.len());
        for (i, batch) in batches.iter().enumerate() {
            let decoded = decode(batch, self.cfg.performance)?;
            let rows = decoded
                .ids
                .iter()
                .filter_map(|id| state.get(id).map(|r| (*id, r.clone())))
                .collect();
            let next = Checkpoint {
                chain_id: self.cfg.chain_id,
                escrow: self.cfg.escrow,
                genesis_hash: batch.genesis,
                block_number: batch.to,
                block_hash: batch.last_hash(),
                head_block: batch.head,
                finalized_block: batch.finalized,
            };
            let read = (i > 0).then_some(batch.prev);
            let prepared = prepare(self.cfg.chain_id, batch, decoded, rows, read, next)?;
            state.extend(prepared.touched.iter().map(|r| (r.id, r.clone())));
            out.push(prepared);
        }
        Ok(out)
    }

    /// The write floor: writes prepared batches into an empty database through the backfill's own
    /// write path, each in its transaction — the checkpoint's swap, the events' `COPY`, derived
    /// rows, agreements, notifications, the reorg window — with no RPC and no decoding.
    pub async fn write_prepared(&mut self, batches: &[PreparedBatch]) -> Result<()> {
        for p in batches {
            let mut t = Instant::now();
            let mut tx = self.pool.begin().await?;
            self.stats.stages.commit += lap(&mut t);
            pactum_db::advance_checkpoint(&mut tx, p.read, &p.next).await?;
            self.stats.stages.checkpoint += lap(&mut t);
            self.write(&mut tx, p, &mut t).await?;
            tx.commit().await?;
            self.stats.stages.commit += lap(&mut t);
            self.stats.events += p.events() as u64;
            self.stats.batches += 1;
        }
        Ok(())
    }

    /// The stored checkpoint, checked against the node (and `true`); or a fresh one before the
    /// start block (and `false`).
    async fn checkpoint(&mut self, conn: &mut PgConnection) -> Result<(Checkpoint, bool)> {
        let genesis = self.genesis().await?;
        if let Some(cp) = pactum_db::checkpoint(conn, self.cfg.chain_id).await? {
            if cp.genesis_hash != genesis {
                return Err(Error::GenesisChanged {
                    chain_id: self.cfg.chain_id,
                    stored: cp.genesis_hash,
                    actual: genesis,
                });
            }
            if cp.escrow != self.cfg.escrow {
                return Err(Error::EscrowMismatch {
                    chain_id: self.cfg.chain_id,
                    stored: cp.escrow,
                    configured: self.cfg.escrow,
                });
            }
            let stored = pactum_db::performance::mirror(conn, self.cfg.chain_id).await?;
            if stored != self.cfg.performance {
                let name =
                    |a: Option<Address>| a.map_or_else(|| "none".to_owned(), |a| a.to_string());
                return Err(Error::PerformanceMismatch {
                    chain_id: self.cfg.chain_id,
                    stored: name(stored),
                    configured: name(self.cfg.performance),
                });
            }
            return Ok((cp, true));
        }
        // Nothing mirrored yet: record which performance contract (if any) the mirror follows.
        pactum_db::performance::set_mirror(conn, self.cfg.chain_id, self.cfg.performance).await?;
        let (before, hash) = self.before_start().await?;
        let fresh = Checkpoint {
            chain_id: self.cfg.chain_id,
            escrow: self.cfg.escrow,
            genesis_hash: genesis,
            block_number: before,
            block_hash: hash,
            head_block: 0,
            finalized_block: 0,
        };
        Ok((fresh, false))
    }

    /// The node's genesis hash.
    async fn genesis(&self) -> Result<B256> {
        Ok(self.header(0).await?.map(|h| h.hash).unwrap_or_default())
    }

    /// The block before the start block and its hash: an empty mirror's checkpoint. (Block 0 is
    /// genesis: the escrow's events start at block 1 at the earliest.)
    async fn before_start(&self) -> Result<(u64, B256)> {
        let before = self.cfg.start_block.max(1) - 1;
        Ok((before, self.header(before).await?.map(|h| h.hash).unwrap_or_default()))
    }

    /// Finds the newest block of the window the node still has, deletes everything above it and
    /// rebuilds the agreements that lost events, in one transaction.
    async fn undo_reorg(
        &mut self,
        conn: &mut PgConnection,
        cp: &Checkpoint,
        read: Option<(u64, B256)>,
    ) -> Result<()> {
        let window = pactum_db::window_desc(conn, self.cfg.chain_id).await?;
        let mut ancestor = None;
        for (n, hash) in window.into_iter().filter(|(n, _)| *n <= cp.block_number) {
            if self.header(n).await?.map(|h| h.hash) == Some(hash) {
                ancestor = Some((n, hash));
                break;
            }
        }
        let Some((number, hash)) = ancestor else {
            return Err(Error::ReorgBeyondFinality {
                block: cp.block_number,
                depth: self.cfg.finality_depth,
            });
        };
        let mut tx = self.pool.begin().await?;
        pactum_db::advance_checkpoint(
            &mut tx,
            read,
            &Checkpoint { block_number: number, block_hash: hash, ..cp.clone() },
        )
        .await?;
        let (ids, removed) = pactum_db::rollback_above(&mut tx, self.cfg.chain_id, number).await?;
        let retracted =
            pactum_db::notifications::retract_above(&mut tx, self.cfg.chain_id, number).await?;
        let logs = pactum_db::agreement_logs(&mut tx, self.cfg.chain_id, &ids).await?;
        let mut rows: HashMap<B256, AgreementRow> = HashMap::new();
        for log in logs {
            let event =
                PactumEscrowEvents::decode_raw_log(&log.topics, &log.data).map_err(|e| {
                    Error::Decode {
                        block: log.at.block_number,
                        log_index: u64::from(log.at.log_index),
                        reason: e.to_string(),
                    }
                })?;
            fold(&mut rows, &event, log.at)?;
        }
        let rows: Vec<AgreementRow> = rows.into_values().collect();
        pactum_db::upsert_agreements(&mut tx, self.cfg.chain_id, &rows).await?;
        tx.commit().await?;
        self.stats.reorgs += 1;
        self.metrics.reorgs.inc();
        warn!(
            from = cp.block_number,
            ancestor = number,
            events_removed = removed,
            notifications_retracted = retracted,
            agreements_rebuilt = rows.len(),
            "reorg: rolled back to the common ancestor"
        );
        Ok(())
    }

    /// Block times of the logs' blocks: from the logs when the node includes them, else headers.
    async fn timestamps(
        &self,
        logs: &[Log],
        headers: &HashMap<u64, Header>,
    ) -> Result<HashMap<u64, u64>> {
        let mut out: HashMap<u64, u64> =
            headers.values().map(|h| (h.number, h.timestamp)).collect();
        let mut missing = Vec::new();
        for log in logs {
            let n = log.block_number.unwrap_or_default();
            match log.block_timestamp {
                Some(ts) => {
                    out.insert(n, ts);
                }
                None if !out.contains_key(&n) => missing.push(n),
                None => {}
            }
        }
        missing.sort_unstable();
        missing.dedup();
        let fetched: Vec<Option<Header>> =
            stream::iter(missing).map(|n| self.header(n)).buffer_unordered(8).try_collect().await?;
        out.extend(fetched.into_iter().flatten().map(|h| (h.number, h.timestamp)));
        Ok(out)
    }

    /// `eth_getLogs` from `from` to at most `to`, over as many blocks as the adaptive range allows;
    /// returns the logs and the last block covered.
    async fn fetch_logs(&mut self, from: u64, to: u64) -> Result<(Vec<Log>, u64)> {
        if let Some(p) = self.prefetch.take() {
            if p.from == from && p.to <= to {
                if let Ok(Some(logs)) = p.task.await {
                    self.adapt_range(p.to - p.from + 1, logs.len(), p.started.elapsed());
                    return Ok((logs, p.to));
                }
                // A failed prefetch is simply fetched again below, with retries.
            } else {
                p.task.abort();
            }
        }
        let mut delay = Duration::from_millis(100);
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let end = to.min(from.saturating_add(self.range - 1));
            let filter = Filter::new().address(self.addresses()).from_block(from).to_block(end);
            let started = Instant::now();
            self.metrics.rpc_calls.with_label_values(&["eth_getLogs"]).inc();
            let res =
                tokio::time::timeout(self.cfg.rpc_timeout, self.provider.get_logs(&filter)).await;
            match res {
                Ok(Ok(logs)) => {
                    self.adapt_range(end - from + 1, logs.len(), started.elapsed());
                    return Ok((logs, end));
                }
                Ok(Err(e)) => {
                    self.stats.rpc_errors += 1;
                    self.metrics.rpc_errors.inc();
                    warn!(from, to = end, range = self.range, error = %e, "eth_getLogs failed; shrinking the range");
                }
                Err(_) => {
                    self.stats.rpc_errors += 1;
                    self.metrics.rpc_errors.inc();
                    warn!(
                        from,
                        to = end,
                        range = self.range,
                        "eth_getLogs timed out; shrinking the range"
                    );
                }
            }
            if self.range > 1 {
                self.range = (self.range / 2).max(1);
            } else {
                self.pause(jitter(delay)).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }

    /// The contracts whose logs are read: the escrow, and the performance contract if configured.
    fn addresses(&self) -> Vec<Address> {
        std::iter::once(self.cfg.escrow).chain(self.cfg.performance).collect()
    }

    /// Sizes the next `eth_getLogs` range from what a call over `blocks` blocks returned.
    fn adapt_range(&mut self, blocks: u64, events: usize, elapsed: Duration) {
        let target = self.cfg.batch_events.max(1);
        let events = events as u64;
        if events > target {
            // Proportional: the next batch holds about `target` events at this density.
            self.range = (blocks.saturating_mul(target) / events).clamp(1, self.range.max(1));
        } else if blocks >= self.range
            && events.saturating_mul(2) <= target
            && elapsed < Duration::from_secs(1)
        {
            self.range = (self.range * 2).min(self.cfg.max_range.max(1));
        }
        self.stats.range = self.range;
    }

    /// Starts fetching the logs of the range after this batch (one attempt, no retries: on any
    /// failure the next step fetches it the ordinary way).
    fn start_prefetch(&mut self, from: u64, target: u64) {
        let to = target.min(from.saturating_add(self.range - 1));
        let filter = Filter::new().address(self.addresses()).from_block(from).to_block(to);
        let provider = self.provider.clone();
        let timeout = self.cfg.rpc_timeout;
        self.metrics.rpc_calls.with_label_values(&["eth_getLogs"]).inc();
        let task = tokio::spawn(async move {
            tokio::time::timeout(timeout, provider.get_logs(&filter)).await.ok()?.ok()
        });
        if let Some(old) =
            self.prefetch.replace(Prefetch { from, to, started: Instant::now(), task })
        {
            old.task.abort();
        }
    }

    async fn header(&self, n: u64) -> Result<Option<Header>> {
        let block = self
            .rpc("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Number(n)).await
            })
            .await?;
        Ok(block.map(|b| Header {
            number: b.header.number,
            hash: b.header.hash,
            parent: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// Calls the node, retrying failures and timeouts with exponential backoff and jitter until
    /// it answers or the indexer is cancelled. Never gives up on a block: a skipped block would be
    /// a hole in the ledger.
    async fn rpc<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: std::future::Future<Output = alloy::transports::TransportResult<T>>,
    {
        let mut delay = Duration::from_millis(100);
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            self.metrics.rpc_calls.with_label_values(&[what]).inc();
            match tokio::time::timeout(self.cfg.rpc_timeout, call(self.provider.clone())).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => {
                    self.metrics.rpc_errors.inc();
                    warn!(call = what, error = %e, "RPC call failed; retrying")
                }
                Err(_) => {
                    self.metrics.rpc_errors.inc();
                    warn!(call = what, "RPC call timed out; retrying")
                }
            }
            self.pause(jitter(delay)).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

/// Decodes a batch's logs (ABI and positions); the first that does not decode stops it.
fn decode(batch: &FetchedBatch, performance: Option<Address>) -> Result<Decoded> {
    let mut events = Vec::with_capacity(batch.logs.len());
    let mut ids = Vec::new();
    let mut perf = perf::Decoded::default();
    for (i, log) in batch.logs.iter().enumerate() {
        let at = position(log, &batch.timestamps)?;
        if Some(log.address()) == performance {
            perf.push(log, at)?;
            continue;
        }
        let event =
            PactumEscrowEvents::decode_raw_log(log.topics(), &log.data().data).map_err(|e| {
                Error::Decode {
                    block: at.block_number,
                    log_index: u64::from(at.log_index),
                    reason: e.to_string(),
                }
            })?;
        if let Some(id) = agreement_of(&event) {
            ids.push(id);
        }
        events.push((i, event, at));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Decoded { events, ids, perf })
}

/// Folds a decoded batch into its agreements' state (`rows`: those of `decoded.ids` that exist
/// before it) and derives every row its transaction writes.
fn prepare(
    chain_id: u64,
    batch: &FetchedBatch,
    decoded: Decoded,
    mut rows: HashMap<B256, AgreementRow>,
    read: Option<(u64, B256)>,
    next: Checkpoint,
) -> Result<PreparedBatch> {
    let mut projection = Projection::default();
    projection.events.reserve(decoded.events.len());
    let mut notes = Vec::new();
    for (i, event, at) in &decoded.events {
        fold(&mut rows, event, *at)?;
        let ledger = agreement_of(event).and_then(|id| rows.get(&id)).map(|r| &r.ledger);
        project::project(event, *at, ledger, &mut projection);
        let row = event_row(&batch.logs[*i], event, *at)?;
        notes.extend(notify::notification(chain_id, event, *at, ledger, &row.fields));
        projection.events.push(row);
    }
    let touched: Vec<AgreementRow> =
        rows.into_values().filter(|r| decoded.ids.binary_search(&r.id).is_ok()).collect();
    let mut window: Vec<(u64, B256, B256)> = batch
        .headers
        .values()
        .filter(|h| h.number > batch.finalized || h.number == batch.to)
        .map(|h| (h.number, h.hash, h.parent))
        .collect();
    window.sort_unstable_by_key(|w| w.0);
    Ok(PreparedBatch {
        read,
        next,
        projection,
        perf: decoded.perf,
        touched,
        notes,
        window,
        forget_below: batch.finalized.min(batch.to),
    })
}

/// Folds one event into the agreements' rows (creating the row on creation or revocation).
fn fold(
    rows: &mut HashMap<B256, AgreementRow>,
    event: &PactumEscrowEvents,
    at: LogPosition,
) -> Result<()> {
    let Some(id) = agreement_of(event) else { return Ok(()) };
    match event {
        PactumEscrowEvents::AgreementCreated(e) => {
            let ledger = AgreementLedger::created(e.agreement.clone());
            rows.insert(id, AgreementRow { id, ledger, created: at, updated: at });
        }
        PactumEscrowEvents::AgreementRevoked(_) => {
            rows.insert(
                id,
                AgreementRow { id, ledger: AgreementLedger::revoked(), created: at, updated: at },
            );
        }
        _ => {
            let row = rows.get_mut(&id).ok_or_else(|| Inconsistent {
                event: event_name(event),
                reason: format!("agreement {id} was never created"),
            })?;
            row.ledger.apply(event, at.block_timestamp)?;
            row.updated = at;
        }
    }
    Ok(())
}

/// The event's decoded fields as JSON text (amounts as hex strings, as alloy serializes them).
fn fields(event: &PactumEscrowEvents, at: LogPosition) -> Result<String, Corrupt> {
    use PactumEscrowEvents as Ev;
    let v = match event {
        Ev::AgreementCreated(e) => serde_json::to_string(e),
        Ev::AgreementRevoked(e) => serde_json::to_string(e),
        Ev::MilestonesFunded(e) => serde_json::to_string(e),
        Ev::DeliverableSubmitted(e) => serde_json::to_string(e),
        Ev::RevisionRequested(e) => serde_json::to_string(e),
        Ev::MilestoneApproved(e) => serde_json::to_string(e),
        Ev::MilestoneClaimed(e) => serde_json::to_string(e),
        Ev::MilestoneReclaimed(e) => serde_json::to_string(e),
        Ev::DisputeOpened(e) => serde_json::to_string(e),
        Ev::DisputeResolved(e) => serde_json::to_string(e),
        Ev::DisputeTimedOut(e) => serde_json::to_string(e),
        Ev::MilestoneSettled(e) => serde_json::to_string(e),
        Ev::AgreementCompleted(e) => serde_json::to_string(e),
        Ev::TerminationStarted(e) => serde_json::to_string(e),
        Ev::TerminationContested(e) => serde_json::to_string(e),
        Ev::AgreementTerminated(e) => serde_json::to_string(e),
        Ev::SignaturesCancelled(e) => serde_json::to_string(e),
        Ev::PaymentDeferred(e) => serde_json::to_string(e),
        Ev::Withdrawn(e) => serde_json::to_string(e),
        Ev::EIP712DomainChanged(e) => serde_json::to_string(e),
    };
    json(v, at)
}

/// The `escrow_events` row of a decoded log.
fn event_row(log: &Log, event: &PactumEscrowEvents, at: LogPosition) -> Result<EventRow, Corrupt> {
    let milestone = milestone_of(event)
        .map(|m| i32::try_from(m).map_err(|_| Corrupt::at(at, Problem::Milestone(m))))
        .transpose()?;
    Ok(EventRow {
        at,
        event: event_name(event),
        agreement_id: agreement_of(event),
        milestone,
        topics: log.topics().to_vec(),
        data: log.data().data.clone(),
        fields: fields(event, at)?,
    })
}

/// A serialization's JSON text; one that failed is corrupt (storing a placeholder would put
/// a row in the ledger that says nothing).
pub(crate) fn json(v: serde_json::Result<String>, at: LogPosition) -> Result<String, Corrupt> {
    v.map_err(|e| Corrupt::at(at, Problem::Fields(e.to_string())))
}

/// Where a log sits, from the node's answer: every field is required and must fit its column.
fn position(log: &Log, timestamps: &HashMap<u64, u64>) -> Result<LogPosition, Corrupt> {
    let corrupt = |problem| Corrupt {
        block: log.block_number,
        tx: log.transaction_hash,
        log: log.log_index,
        problem,
    };
    let block_number = log.block_number.ok_or_else(|| corrupt(Problem::Missing("blockNumber")))?;
    let block_hash = log.block_hash.ok_or_else(|| corrupt(Problem::Missing("blockHash")))?;
    let tx_hash =
        log.transaction_hash.ok_or_else(|| corrupt(Problem::Missing("transactionHash")))?;
    let tx_index =
        log.transaction_index.ok_or_else(|| corrupt(Problem::Missing("transactionIndex")))?;
    let log_index = log.log_index.ok_or_else(|| corrupt(Problem::Missing("logIndex")))?;
    // The tables hold indices as INTEGER.
    let int4 = |field, v: u64| {
        u32::try_from(v)
            .ok()
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or_else(|| corrupt(Problem::OutOfRange { field, value: v }))
    };
    let block_timestamp = timestamps
        .get(&block_number)
        .copied()
        .ok_or_else(|| corrupt(Problem::Missing("block timestamp")))?;
    Ok(LogPosition {
        block_number,
        block_hash,
        block_timestamp,
        tx_hash,
        tx_index: int4("transactionIndex", tx_index)?,
        log_index: int4("logIndex", log_index)?,
    })
}

/// A log from the node that cannot be mirrored faithfully: mirroring it with a made-up value
/// (a zero hash, a wrapped index) would corrupt the ledger silently, so the indexer halts.
#[derive(Debug, thiserror::Error)]
#[error(
    "corrupt log from the node at block {}, tx {}, log {}: {problem}; refusing to mirror it \
     (check the RPC node)",
    opt(block),
    opt(tx),
    opt(log)
)]
pub struct Corrupt {
    /// The log's block, if it said.
    pub block: Option<u64>,
    /// Its transaction, if it said.
    pub tx: Option<B256>,
    /// Its index in the block, if it said.
    pub log: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl Corrupt {
    pub(crate) fn at(at: LogPosition, problem: Problem) -> Self {
        Self {
            block: Some(at.block_number),
            tx: Some(at.tx_hash),
            log: Some(u64::from(at.log_index)),
            problem,
        }
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "?".to_owned(), ToString::to_string)
}

/// What is wrong with a [`Corrupt`] log.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A field the mirror needs is absent.
    #[error("its {0} is missing")]
    Missing(&'static str),
    /// An index does not fit the table's INTEGER column.
    #[error("its {field} {value} is out of range")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The event's milestone does not fit the table's INTEGER column.
    #[error("its milestone {0} is out of range")]
    Milestone(alloy::primitives::U256),
    /// A performance event's period does not fit the table's INTEGER column.
    #[error("its period {0} is out of range")]
    Period(alloy::primitives::U256),
    /// The decoded fields did not encode as JSON.
    #[error("its fields do not encode as JSON: {0}")]
    Fields(String),
}

/// `d` scaled by a random factor in [0.5, 1.5): spreads retries of many clients apart.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> (Log, HashMap<u64, u64>) {
        let log = Log {
            block_number: Some(7),
            block_hash: Some(B256::repeat_byte(1)),
            transaction_hash: Some(B256::repeat_byte(2)),
            transaction_index: Some(3),
            log_index: Some(4),
            ..Log::default()
        };
        (log, HashMap::from([(7, 1_700_000_000)]))
    }

    #[test]
    fn a_complete_log_has_its_position() {
        let (log, ts) = complete();
        let at = position(&log, &ts).expect("complete");
        assert_eq!(
            at,
            LogPosition {
                block_number: 7,
                block_hash: B256::repeat_byte(1),
                block_timestamp: 1_700_000_000,
                tx_hash: B256::repeat_byte(2),
                tx_index: 3,
                log_index: 4,
            }
        );
    }

    #[test]
    fn each_missing_field_is_corrupt_not_zero() {
        type Strip = fn(&mut Log);
        let cases: [(&str, Strip); 5] = [
            ("blockNumber", |l| l.block_number = None),
            ("blockHash", |l| l.block_hash = None),
            ("transactionHash", |l| l.transaction_hash = None),
            ("transactionIndex", |l| l.transaction_index = None),
            ("logIndex", |l| l.log_index = None),
        ];
        for (field, strip) in cases {
            let (mut log, ts) = complete();
            strip(&mut log);
            let err = position(&log, &ts).expect_err(field);
            assert!(matches!(err.problem, Problem::Missing(f) if f == field), "{field}: {err}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("its {field} is missing")), "{msg}");
            // The message names whatever the log did say of where it is.
            if field != "blockNumber" {
                assert!(msg.contains("block 7,"), "{msg}");
            }
            if field != "logIndex" {
                assert!(msg.contains("log 4:"), "{msg}");
            }
        }
        let (log, _) = complete();
        let err = position(&log, &HashMap::new()).expect_err("no timestamp");
        assert!(matches!(err.problem, Problem::Missing("block timestamp")), "{err}");
    }

    #[test]
    fn indices_past_the_integer_column_are_corrupt_not_wrapped() {
        for v in [u64::from(i32::MAX as u32) + 1, u64::from(u32::MAX), u64::from(u32::MAX) + 1] {
            let (mut log, ts) = complete();
            log.log_index = Some(v);
            let err = position(&log, &ts).expect_err("log index");
            assert!(
                matches!(err.problem, Problem::OutOfRange { field: "logIndex", value } if value == v),
                "{err}"
            );
            assert!(err.to_string().contains(&format!("log {v}:")), "{err}");
            let (mut log, ts) = complete();
            log.transaction_index = Some(v);
            let err = position(&log, &ts).expect_err("tx index");
            assert!(
                matches!(err.problem, Problem::OutOfRange { field: "transactionIndex", value } if value == v),
                "{err}"
            );
        }
        let (mut log, ts) = complete();
        log.log_index = Some(i32::MAX as u64);
        assert_eq!(position(&log, &ts).expect("fits").log_index, i32::MAX as u32);
    }

    #[test]
    fn fields_that_do_not_encode_are_corrupt_not_null() {
        let (log, ts) = complete();
        let at = position(&log, &ts).expect("complete");
        // JSON object keys must be strings: a real serializer failure.
        let failed = serde_json::to_string(&HashMap::from([((1u8, 2u8), 3u8)]));
        let err = json(failed, at).expect_err("must fail");
        assert!(matches!(err.problem, Problem::Fields(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("block 7,")
                && msg.contains(&B256::repeat_byte(2).to_string())
                && msg.contains("log 4:"),
            "{msg}"
        );
        assert_eq!(json(Ok("{}".to_owned()), at).expect("encodes"), "{}");
    }

    #[test]
    fn a_milestone_past_the_integer_column_is_corrupt() {
        let (log, ts) = complete();
        let at = position(&log, &ts).expect("complete");
        let event = PactumEscrowEvents::MilestoneApproved(
            pactum_bindings::PactumEscrow::MilestoneApproved {
                id: B256::repeat_byte(9),
                milestone: alloy::primitives::U256::from(1u64 << 31),
                amount: alloy::primitives::U256::from(5),
            },
        );
        let err = event_row(&log, &event, at).expect_err("out of range");
        assert!(matches!(err.problem, Problem::Milestone(_)), "{err}");
    }
}
