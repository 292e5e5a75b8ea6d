//! Pactum's PostgreSQL schema and the queries run against it.
//!
//! The schema lives in `migrations/` (applied at start-up by [`migrate`]); every statement the
//! indexer and the API run is a named constant or function here, with bound parameters only.
//! Writes are bulk: one binary `COPY` for the events and one `INSERT … SELECT FROM unnest(…)` per
//! derived table per batch, so a batch of thousands of events costs a handful of round trips. Functions take a `&mut PgConnection` so the
//! caller decides the transaction: the indexer writes a batch, its derived rows and its checkpoint
//! in one.

pub mod api;
mod copy;
pub mod feed;
pub mod notifications;
pub mod performance;
pub mod reconcile;
pub mod records;
pub mod reminders;
pub mod scratch;
pub mod webhooks;

use std::collections::HashMap;

pub use copy::FieldTooLong;
use copy::{BinaryCopy, CopyIn, Field};

use alloy::primitives::{Address, Bytes, Uint, B256, U256};
use pactum_core::{
    ledger::{AgreementLedger, MilestoneLedger, MilestoneStatus, Status},
    Agreement, Milestone,
};
use sqlx::{postgres::PgPoolOptions, PgConnection, PgPool, Row};

/// The connection pool every caller of this crate holds (re-exported so they need no sqlx).
pub use sqlx::PgPool as Pool;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// PostgreSQL or the connection failed.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not what this code wrote (a corrupt or foreign database).
    #[error("stored {column} is malformed: {value}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The offending value.
        value: String,
    },
    /// A value to write does not fit its column (a node's answer no chain produces).
    #[error("{column} {value} does not fit its column")]
    OutOfRange {
        /// The column.
        column: &'static str,
        /// The value.
        value: u64,
    },
    /// A field too long for the binary COPY format.
    #[error(transparent)]
    FieldTooLong(#[from] copy::FieldTooLong),
    /// The checkpoint is not the one this writer read: another writer has moved it since.
    #[error(
        "the checkpoint of chain {chain_id} moved since block {expected} was read: another \
         writer took over; this batch is discarded"
    )]
    CheckpointMoved {
        /// The chain.
        chain_id: u64,
        /// The block number this writer read (0 when there was no checkpoint yet).
        expected: u64,
    },
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Connects a pool and applies the migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    let pool = PgPoolOptions::new().max_connections(max_connections).connect(url).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Connects a pool to a read-only replica: no migrations (the primary's reach it by replication),
/// and every session read-only, so a misrouted write fails instead of diverging.
pub async fn connect_replica(url: &str, max_connections: u32) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("SET default_transaction_read_only = on").execute(conn).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

/// Applies the migrations in `migrations/` that have not run yet.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    sqlx::migrate!("./migrations").run(pool).await?;
    Ok(())
}

/// Where the mirror of one chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The chain.
    pub chain_id: u64,
    /// The escrow being mirrored.
    pub escrow: Address,
    /// The chain's block 0 hash: a different one means the node is another chain (or a reset anvil).
    pub genesis_hash: B256,
    /// The last indexed block.
    pub block_number: u64,
    /// Its hash.
    pub block_hash: B256,
    /// The node's head when this was written.
    pub head_block: u64,
    /// The finalized block when this was written.
    pub finalized_block: u64,
}

/// One escrow event as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Where it happened.
    pub at: LogPosition,
    /// The contract's event name.
    pub event: &'static str,
    /// The agreement it belongs to, if any.
    pub agreement_id: Option<B256>,
    /// The milestone (escrow) or the period (performance) it is about, if any.
    pub milestone: Option<i32>,
    /// The log's topics.
    pub topics: Vec<B256>,
    /// The log's data.
    pub data: Bytes,
    /// The decoded fields as JSON text.
    pub fields: String,
}

/// Where a log sits on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Block time.
    pub block_timestamp: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Transaction index in the block.
    pub tx_index: u32,
    /// Log index in the block.
    pub log_index: u32,
}

/// An agreement's ledger with where it was created and last changed.
#[derive(Debug, Clone)]
pub struct AgreementRow {
    /// The agreement id.
    pub id: B256,
    /// Its state.
    pub ledger: AgreementLedger,
    /// Its first event.
    pub created: LogPosition,
    /// Its latest event.
    pub updated: LogPosition,
}

/// Money in.
#[derive(Debug, Clone)]
pub struct DepositRow {
    /// The agreement.
    pub agreement_id: B256,
    /// Who paid.
    pub funder: Address,
    /// First milestone funded.
    pub first_milestone: i32,
    /// How many.
    pub count: i32,
    /// How much.
    pub amount: U256,
    /// Where.
    pub at: LogPosition,
}

/// Money out to one recipient.
#[derive(Debug, Clone)]
pub struct PayoutRow {
    /// The agreement.
    pub agreement_id: B256,
    /// The milestone, when the payment is about one.
    pub milestone: Option<i32>,
    /// `creator`, `brand` or `arbiter`.
    pub role: &'static str,
    /// Who receives it.
    pub recipient: Address,
    /// How much.
    pub amount: U256,
    /// The event that paid it.
    pub kind: &'static str,
    /// Where.
    pub at: LogPosition,
}

/// A dispute opened.
#[derive(Debug, Clone)]
pub struct DisputeRow {
    /// The agreement.
    pub agreement_id: B256,
    /// The milestone.
    pub milestone: i32,
    /// Who opened it.
    pub opened_by: Address,
    /// Hash of the reasons.
    pub reason_hash: B256,
    /// Where.
    pub at: LogPosition,
}

/// A termination step.
#[derive(Debug, Clone)]
pub struct TerminationRow {
    /// The agreement.
    pub agreement_id: B256,
    /// `started`, `contested` or `ended`.
    pub step: &'static str,
    /// Who acted (started or contested).
    pub actor: Option<Address>,
    /// Hash of the cause (started).
    pub reason_hash: Option<B256>,
    /// How it ended (ended).
    pub kind: Option<&'static str>,
    /// The split (ended): creator, brand, arbiter.
    pub split: Option<(U256, U256, U256)>,
    /// Where.
    pub at: LogPosition,
}

/// A payment deferred, or a withdrawal of deferred payments (`withdrawn_to` set).
#[derive(Debug, Clone)]
pub struct DeferredRow {
    /// The agreement whose payout was deferred (none for a withdrawal).
    pub agreement_id: Option<B256>,
    /// The token (zero: ETH).
    pub token: Address,
    /// Whose money.
    pub account: Address,
    /// How much.
    pub amount: U256,
    /// Where a withdrawal sent it.
    pub withdrawn_to: Option<Address>,
    /// Where.
    pub at: LogPosition,
}

/// Everything one batch writes besides the agreements' current state.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    /// Raw and decoded events.
    pub events: Vec<EventRow>,
    /// Deposits.
    pub deposits: Vec<DepositRow>,
    /// Payouts and refunds.
    pub payouts: Vec<PayoutRow>,
    /// Disputes.
    pub disputes: Vec<DisputeRow>,
    /// Termination steps.
    pub terminations: Vec<TerminationRow>,
    /// Deferred payments and withdrawals.
    pub deferred: Vec<DeferredRow>,
}

pub(crate) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An index for an INTEGER column: a value past its range is refused, never wrapped.
pub(crate) fn int4(v: u32, column: &'static str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::OutOfRange { column, value: u64::from(v) })
}

/// The positions' log indices for an `int4[]` parameter.
fn log_indices(at: impl Iterator<Item = LogPosition>) -> Result<Vec<i32>> {
    at.map(|p| int4(p.log_index, "log_index")).collect()
}

fn b(v: impl AsRef<[u8]>) -> Vec<u8> {
    v.as_ref().to_vec()
}

/// Reads a chain's checkpoint.
pub async fn checkpoint(conn: &mut PgConnection, chain_id: u64) -> Result<Option<Checkpoint>> {
    let row = sqlx::query(
        "SELECT escrow, genesis_hash, block_number, block_hash, head_block, finalized_block \
         FROM indexer_checkpoints WHERE chain_id = $1",
    )
    .bind(i64_of(chain_id))
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Checkpoint {
            chain_id,
            escrow: address(r.try_get("escrow")?, "escrow")?,
            genesis_hash: hash(r.try_get("genesis_hash")?, "genesis_hash")?,
            block_number: u64::try_from(r.try_get::<i64, _>("block_number")?).unwrap_or(0),
            block_hash: hash(r.try_get("block_hash")?, "block_hash")?,
            head_block: u64::try_from(r.try_get::<i64, _>("head_block")?).unwrap_or(0),
            finalized_block: u64::try_from(r.try_get::<i64, _>("finalized_block")?).unwrap_or(0),
        })
    })
    .transpose()
}

/// Moves a chain's checkpoint from `read` (the one the writer read; `None`: there was none) to
/// `next`, only if it still is `read` — a compare-and-swap that fences a writer who lost the lock.
///
/// The writer lock alone cannot fence: a writer can lose it (its session killed) between reading
/// the checkpoint and committing, and a standby can take over and advance meanwhile. Run first in
/// the batch's transaction, the swap also takes the checkpoint's row lock, so a concurrent writer
/// waits for the commit and then finds the checkpoint moved. Returns
/// [`Error::CheckpointMoved`] when it did not hold `read`: the caller must roll back.
pub async fn advance_checkpoint(
    conn: &mut PgConnection,
    read: Option<(u64, B256)>,
    next: &Checkpoint,
) -> Result<()> {
    let q = match read {
        Some((number, hash)) => sqlx::query(
            "UPDATE indexer_checkpoints SET escrow = $2, genesis_hash = $3, block_number = $4, \
               block_hash = $5, head_block = $6, finalized_block = $7, updated_at = now() \
             WHERE chain_id = $1 AND block_number = $8 AND block_hash = $9",
        )
        .bind(i64_of(next.chain_id))
        .bind(b(next.escrow))
        .bind(b(next.genesis_hash))
        .bind(i64_of(next.block_number))
        .bind(b(next.block_hash))
        .bind(i64_of(next.head_block))
        .bind(i64_of(next.finalized_block))
        .bind(i64_of(number))
        .bind(b(hash)),
        None => sqlx::query(
            "INSERT INTO indexer_checkpoints \
               (chain_id, escrow, genesis_hash, block_number, block_hash, head_block, \
                finalized_block) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain_id) DO NOTHING",
        )
        .bind(i64_of(next.chain_id))
        .bind(b(next.escrow))
        .bind(b(next.genesis_hash))
        .bind(i64_of(next.block_number))
        .bind(b(next.block_hash))
        .bind(i64_of(next.head_block))
        .bind(i64_of(next.finalized_block)),
    };
    if q.execute(conn).await?.rows_affected() != 1 {
        return Err(Error::CheckpointMoved {
            chain_id: next.chain_id,
            expected: read.map_or(0, |r| r.0),
        });
    }
    Ok(())
}

/// Records indexed blocks' hashes (the reorg window) and forgets those at or below `finalized`.
pub async fn save_blocks(
    conn: &mut PgConnection,
    chain_id: u64,
    blocks: &[(u64, B256, B256)],
    finalized: u64,
) -> Result<()> {
    if !blocks.is_empty() {
        sqlx::query(
            "INSERT INTO indexer_blocks (chain_id, number, hash, parent_hash) \
             SELECT $1, * FROM unnest($2::int8[], $3::bytea[], $4::bytea[]) \
             ON CONFLICT (chain_id, number) DO UPDATE \
               SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash",
        )
        .bind(i64_of(chain_id))
        .bind(blocks.iter().map(|x| i64_of(x.0)).collect::<Vec<_>>())
        .bind(blocks.iter().map(|x| b(x.1)).collect::<Vec<_>>())
        .bind(blocks.iter().map(|x| b(x.2)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM indexer_blocks WHERE chain_id = $1 AND number < $2")
        .bind(i64_of(chain_id))
        .bind(i64_of(finalized))
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored hash of an indexed, not yet finalized block.
pub async fn block_hash(
    conn: &mut PgConnection,
    chain_id: u64,
    number: u64,
) -> Result<Option<B256>> {
    let row = sqlx::query("SELECT hash FROM indexer_blocks WHERE chain_id = $1 AND number = $2")
        .bind(i64_of(chain_id))
        .bind(i64_of(number))
        .fetch_optional(conn)
        .await?;
    row.map(|r| hash(r.try_get("hash")?, "hash")).transpose()
}

/// The stored reorg window, newest first: (number, hash).
pub async fn window_desc(conn: &mut PgConnection, chain_id: u64) -> Result<Vec<(u64, B256)>> {
    let rows = sqlx::query(
        "SELECT number, hash FROM indexer_blocks WHERE chain_id = $1 ORDER BY number DESC",
    )
    .bind(i64_of(chain_id))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                u64::try_from(r.try_get::<i64, _>("number")?).unwrap_or(0),
                hash(r.try_get("hash")?, "hash")?,
            ))
        })
        .collect()
}

/// `escrow_events` as [`insert_projection`] copies it: the statement and every row's fields come
/// from this one column list.
const COPY_EVENTS: CopyIn<13> = CopyIn {
    table: "escrow_events",
    columns: [
        "chain_id",
        "block_number",
        "block_hash",
        "block_timestamp",
        "tx_hash",
        "tx_index",
        "log_index",
        "event",
        "agreement_id",
        "milestone",
        "topics",
        "data",
        "fields",
    ],
};

/// `performance_events`, as `performance::write` copies it (the period in the milestone's place).
pub(crate) const COPY_PERFORMANCE_EVENTS: CopyIn<13> = CopyIn {
    table: "performance_events",
    columns: [
        "chain_id",
        "block_number",
        "block_hash",
        "block_timestamp",
        "tx_hash",
        "tx_index",
        "log_index",
        "event",
        "agreement_id",
        "period",
        "topics",
        "data",
        "fields",
    ],
};

/// Writes a batch's events and projections: [`copy_events`], then [`insert_derived`].
pub async fn insert_projection(
    conn: &mut PgConnection,
    chain_id: u64,
    p: &Projection,
) -> Result<()> {
    copy_events(conn, chain_id, &p.events).await?;
    insert_derived(conn, chain_id, p).await
}

/// Writes a batch's events (`escrow_events`) by binary COPY: the bulk of a backfill's bytes.
pub async fn copy_events(
    conn: &mut PgConnection,
    chain_id: u64,
    events: &[EventRow],
) -> Result<()> {
    copy_event_rows(conn, &COPY_EVENTS, chain_id, events).await
}

/// Writes event rows into `target` (`escrow_events` or `performance_events`, same columns but the
/// milestone's or the period's) by binary COPY.
pub(crate) async fn copy_event_rows(
    conn: &mut PgConnection,
    target: &CopyIn<13>,
    chain_id: u64,
    events: &[EventRow],
) -> Result<()> {
    let chain = i64_of(chain_id);
    if !events.is_empty() {
        // Binary COPY (see `copy`).
        let mut copy = BinaryCopy::new(target, events.len() * 640);
        for x in events {
            let topics: Vec<u8> = x.topics.iter().flat_map(|t| t.0).collect();
            copy.row([
                Field::Int8(chain),
                Field::Int8(i64_of(x.at.block_number)),
                Field::Bytes(x.at.block_hash.as_slice()),
                Field::Int8(i64_of(x.at.block_timestamp)),
                Field::Bytes(x.at.tx_hash.as_slice()),
                Field::Int4(int4(x.at.tx_index, "tx_index")?),
                Field::Int4(int4(x.at.log_index, "log_index")?),
                Field::Bytes(x.event.as_bytes()),
                x.agreement_id.as_ref().map_or(Field::Null, |id| Field::Bytes(id.as_slice())),
                x.milestone.map_or(Field::Null, Field::Int4),
                Field::Bytes(&topics),
                Field::Bytes(&x.data),
                Field::Jsonb(&x.fields),
            ])?;
        }
        let mut sink = conn.copy_in_raw(&target.statement()).await?;
        sink.send(copy.finish()).await?;
        sink.finish().await?;
    }
    Ok(())
}

/// Writes a batch's derived rows (deposits, payouts, disputes, terminations, deferred payments),
/// one `INSERT … SELECT FROM unnest(…)` per table; `p.events` is not written here.
pub async fn insert_derived(conn: &mut PgConnection, chain_id: u64, p: &Projection) -> Result<()> {
    let chain = i64_of(chain_id);
    if !p.deposits.is_empty() {
        let d = &p.deposits;
        sqlx::query(
            "INSERT INTO deposits (chain_id, agreement_id, funder, first_milestone, count, amount, \
               block_number, block_hash, tx_hash, log_index) \
             SELECT $1, ag, f, fm, c, a::numeric, n, bh, th, li FROM unnest($2::bytea[], \
               $3::bytea[], $4::int4[], $5::int4[], $6::text[], $7::int8[], $8::bytea[], \
               $9::bytea[], $10::int4[]) AS t(ag, f, fm, c, a, n, bh, th, li)",
        )
        .bind(chain)
        .bind(d.iter().map(|x| b(x.agreement_id)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.funder)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.first_milestone).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.count).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.amount.to_string()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_number)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.block_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.tx_hash)).collect::<Vec<_>>())
        .bind(log_indices(d.iter().map(|x| x.at))?)
        .execute(&mut *conn)
        .await?;
    }
    if !p.payouts.is_empty() {
        let d = &p.payouts;
        sqlx::query(
            "INSERT INTO payouts (chain_id, agreement_id, milestone, role, recipient, amount, kind, \
               block_number, block_hash, tx_hash, log_index) \
             SELECT $1, ag, ms, r, rc, a::numeric, k, n, bh, th, li FROM unnest($2::bytea[], \
               $3::int4[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::int8[], \
               $9::bytea[], $10::bytea[], $11::int4[]) AS t(ag, ms, r, rc, a, k, n, bh, th, li)",
        )
        .bind(chain)
        .bind(d.iter().map(|x| b(x.agreement_id)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.milestone).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.role).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.recipient)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.amount.to_string()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.kind).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_number)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.block_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.tx_hash)).collect::<Vec<_>>())
        .bind(log_indices(d.iter().map(|x| x.at))?)
        .execute(&mut *conn)
        .await?;
    }
    if !p.disputes.is_empty() {
        let d = &p.disputes;
        sqlx::query(
            "INSERT INTO disputes (chain_id, agreement_id, milestone, opened_by, reason_hash, \
               opened_at, block_number, block_hash, tx_hash, log_index) \
             SELECT $1, * FROM unnest($2::bytea[], $3::int4[], $4::bytea[], $5::bytea[], \
               $6::int8[], $7::int8[], $8::bytea[], $9::bytea[], $10::int4[])",
        )
        .bind(chain)
        .bind(d.iter().map(|x| b(x.agreement_id)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.milestone).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.opened_by)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.reason_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_timestamp)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_number)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.block_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.tx_hash)).collect::<Vec<_>>())
        .bind(log_indices(d.iter().map(|x| x.at))?)
        .execute(&mut *conn)
        .await?;
    }
    if !p.terminations.is_empty() {
        let d = &p.terminations;
        let part = |f: fn(&(U256, U256, U256)) -> U256| {
            d.iter().map(|x| x.split.as_ref().map(|s| f(s).to_string())).collect::<Vec<_>>()
        };
        sqlx::query(
            "INSERT INTO terminations (chain_id, agreement_id, step, actor, reason_hash, kind, \
               creator_amount, brand_amount, arbiter_fee, at, block_number, block_hash, tx_hash, \
               log_index) \
             SELECT $1, ag, st, ac, rh, k, ca::numeric, ba::numeric, af::numeric, at, n, bh, th, li \
             FROM unnest($2::bytea[], $3::text[], $4::bytea[], $5::bytea[], $6::text[], \
               $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::bytea[], \
               $13::bytea[], $14::int4[]) AS t(ag, st, ac, rh, k, ca, ba, af, at, n, bh, th, li)",
        )
        .bind(chain)
        .bind(d.iter().map(|x| b(x.agreement_id)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.step).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.actor.map(b)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.reason_hash.map(b)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.kind).collect::<Vec<_>>())
        .bind(part(|s| s.0))
        .bind(part(|s| s.1))
        .bind(part(|s| s.2))
        .bind(d.iter().map(|x| i64_of(x.at.block_timestamp)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_number)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.block_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.tx_hash)).collect::<Vec<_>>())
        .bind(log_indices(d.iter().map(|x| x.at))?)
        .execute(&mut *conn)
        .await?;
    }
    if !p.deferred.is_empty() {
        let d = &p.deferred;
        sqlx::query(
            "INSERT INTO deferred_payments (chain_id, token, account, amount, withdrawn_to, \
               block_number, block_hash, tx_hash, log_index, agreement_id) \
             SELECT $1, tk, ac, a::numeric, wt, n, bh, th, li, ag FROM unnest($2::bytea[], \
               $3::bytea[], $4::text[], $5::bytea[], $6::int8[], $7::bytea[], $8::bytea[], \
               $9::int4[], $10::bytea[]) AS t(tk, ac, a, wt, n, bh, th, li, ag)",
        )
        .bind(chain)
        .bind(d.iter().map(|x| b(x.token)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.account)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.amount.to_string()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.withdrawn_to.map(b)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| i64_of(x.at.block_number)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.block_hash)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| b(x.at.tx_hash)).collect::<Vec<_>>())
        .bind(log_indices(d.iter().map(|x| x.at))?)
        .bind(d.iter().map(|x| x.agreement_id.map(b)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts or replaces agreements' current state and their milestones.
pub async fn upsert_agreements(
    conn: &mut PgConnection,
    chain_id: u64,
    rows: &[AgreementRow],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let chain = i64_of(chain_id);
    let opt_addr = |f: fn(&Agreement) -> Address| {
        rows.iter().map(|r| r.ledger.agreement.as_ref().map(|a| b(f(a)))).collect::<Vec<_>>()
    };
    let agreement = |r: &AgreementRow| r.ledger.agreement.clone();
    let money = |f: fn(&AgreementLedger) -> U256| {
        rows.iter().map(|r| f(&r.ledger).to_string()).collect::<Vec<_>>()
    };
    sqlx::query(
        "INSERT INTO agreements (chain_id, id, brand, creator, arbiter, token, terms_hash, \
           arbiter_fee_bps, contest_window, arbitration_window, signature_deadline, salt, \
           milestone_count, status, funded_count, terminated_by, contested, since, total_amount, \
           funded, paid_to_creator, refunded_to_brand, arbiter_fees, created_block, \
           created_block_hash, created_tx_hash, created_log_index, created_at, updated_block, \
           updated_block_hash, updated_tx_hash, updated_log_index, revision_rounds, nonce, \
           deferred) \
         SELECT $1, id, br, cr, ar, tk, th, fee, cw, aw, sd, salt::numeric, mc, st, fc, tb, ct, si, \
           ta::numeric, fu::numeric, pc::numeric, rb::numeric, af::numeric, cb, cbh, cth, cli, cat, \
           ub, ubh, uth, uli, rr, nn, de::numeric \
         FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], \
           $8::int4[], $9::int8[], $10::int8[], $11::int8[], $12::text[], $13::int4[], $14::text[], \
           $15::int4[], $16::int4[], $17::bool[], $18::int8[], $19::text[], $20::text[], \
           $21::text[], $22::text[], $23::text[], $24::int8[], $25::bytea[], $26::bytea[], \
           $27::int4[], $28::int8[], $29::int8[], $30::bytea[], $31::bytea[], $32::int4[], \
           $33::int4[], $34::int8[], $35::text[]) \
         AS t(id, br, cr, ar, tk, th, fee, cw, aw, sd, salt, mc, st, fc, tb, ct, si, ta, fu, pc, rb, \
           af, cb, cbh, cth, cli, cat, ub, ubh, uth, uli, rr, nn, de) \
         ON CONFLICT (chain_id, id) DO UPDATE SET status = EXCLUDED.status, \
           funded_count = EXCLUDED.funded_count, terminated_by = EXCLUDED.terminated_by, \
           contested = EXCLUDED.contested, since = EXCLUDED.since, funded = EXCLUDED.funded, \
           paid_to_creator = EXCLUDED.paid_to_creator, \
           refunded_to_brand = EXCLUDED.refunded_to_brand, arbiter_fees = EXCLUDED.arbiter_fees, \
           nonce = EXCLUDED.nonce, deferred = EXCLUDED.deferred, \
           updated_block = EXCLUDED.updated_block, updated_block_hash = EXCLUDED.updated_block_hash, \
           updated_tx_hash = EXCLUDED.updated_tx_hash, updated_log_index = EXCLUDED.updated_log_index",
    )
    .bind(chain)
    .bind(rows.iter().map(|r| b(r.id)).collect::<Vec<_>>())
    .bind(opt_addr(|a| a.brand))
    .bind(opt_addr(|a| a.creator))
    .bind(opt_addr(|a| a.arbiter))
    .bind(opt_addr(|a| a.token))
    .bind(rows.iter().map(|r| agreement(r).map(|a| b(a.termsHash))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| i32::from(a.arbiterFeeBps))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| i64::from(a.contestWindow))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| i64::from(a.arbitrationWindow))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| i64_of(a.deadline.to::<u64>()))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| a.salt.to_string())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.ledger.milestones.len() as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.ledger.status.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i32::from(r.ledger.funded_count)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i32::from(r.ledger.terminated_by)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.ledger.contested).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i64_of(r.ledger.since)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| agreement(r).map(|a| pactum_core::total_amount(&a)).unwrap_or_default().to_string()).collect::<Vec<_>>())
    .bind(money(|l| l.funded))
    .bind(money(|l| l.paid_to_creator))
    .bind(money(|l| l.refunded_to_brand))
    .bind(money(|l| l.arbiter_fees))
    .bind(rows.iter().map(|r| i64_of(r.created.block_number)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| b(r.created.block_hash)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| b(r.created.tx_hash)).collect::<Vec<_>>())
    .bind(log_indices(rows.iter().map(|r| r.created))?)
    .bind(rows.iter().map(|r| i64_of(r.created.block_timestamp)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i64_of(r.updated.block_number)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| b(r.updated.block_hash)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| b(r.updated.tx_hash)).collect::<Vec<_>>())
    .bind(log_indices(rows.iter().map(|r| r.updated))?)
    .bind(rows.iter().map(|r| agreement(r).map(|a| i32::from(a.revisionRounds))).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i64::from(r.ledger.nonce)).collect::<Vec<_>>())
    .bind(money(|l| l.deferred))
    .execute(&mut *conn)
    .await?;

    // Milestones: one row per (agreement, index).
    let mut ag = Vec::new();
    let mut idx = Vec::new();
    let mut amount = Vec::new();
    let mut deadline = Vec::new();
    let mut review = Vec::new();
    let mut funded = Vec::new();
    let mut status = Vec::new();
    let mut since = Vec::new();
    let mut revisions = Vec::new();
    let mut content = Vec::new();
    let mut uri = Vec::new();
    for r in rows {
        let Some(a) = &r.ledger.agreement else { continue };
        for (i, (m, spec)) in r.ledger.milestones.iter().zip(&a.milestones).enumerate() {
            ag.push(b(r.id));
            idx.push(i as i32);
            amount.push(spec.amount.to_string());
            deadline.push(i64_of(spec.deadline.to::<u64>()));
            review.push(i64::from(spec.reviewWindow));
            funded.push(i < usize::from(r.ledger.funded_count));
            status.push(m.status.as_str());
            since.push(i64_of(m.since));
            revisions.push(i32::from(m.revisions));
            content.push(m.content_hash.map(b));
            uri.push(m.uri.clone());
        }
    }
    if !ag.is_empty() {
        sqlx::query(
            "INSERT INTO milestones (chain_id, agreement_id, index, amount, deadline, \
               review_window, funded, status, since, content_hash, uri, revisions) \
             SELECT $1, ag, i, a::numeric, d, rw, f, s, si, ch, u, rv FROM unnest($2::bytea[], \
               $3::int4[], $4::text[], $5::int8[], $6::int8[], $7::bool[], $8::text[], \
               $9::int8[], $10::bytea[], $11::text[], $12::int4[]) \
               AS t(ag, i, a, d, rw, f, s, si, ch, u, rv) \
             ON CONFLICT (chain_id, agreement_id, index) DO UPDATE SET funded = EXCLUDED.funded, \
               status = EXCLUDED.status, since = EXCLUDED.since, revisions = EXCLUDED.revisions, \
               content_hash = EXCLUDED.content_hash, uri = EXCLUDED.uri",
        )
        .bind(chain)
        .bind(ag)
        .bind(idx)
        .bind(amount)
        .bind(deadline)
        .bind(review)
        .bind(funded)
        .bind(status)
        .bind(since)
        .bind(content)
        .bind(uri)
        .bind(revisions)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Loads the current state of the given agreements (those that exist).
pub async fn load_agreements(
    conn: &mut PgConnection,
    chain_id: u64,
    ids: &[B256],
) -> Result<HashMap<B256, AgreementRow>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let chain = i64_of(chain_id);
    let id_bytes: Vec<Vec<u8>> = ids.iter().map(b).collect();
    let rows = sqlx::query(
        "SELECT id, brand, creator, arbiter, token, terms_hash, arbiter_fee_bps, contest_window, \
           arbitration_window, signature_deadline, salt::text AS salt, status, funded_count, \
           terminated_by, contested, since, funded::text AS funded, \
           paid_to_creator::text AS paid_to_creator, refunded_to_brand::text AS refunded_to_brand, \
           arbiter_fees::text AS arbiter_fees, created_block, created_block_hash, created_tx_hash, \
           created_log_index, created_at, updated_block, updated_block_hash, updated_tx_hash, \
           updated_log_index, revision_rounds, nonce, deferred::text AS deferred \
         FROM agreements WHERE chain_id = $1 AND id = ANY($2)",
    )
    .bind(chain)
    .bind(&id_bytes)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let id = hash(r.try_get("id")?, "id")?;
        let status = status_of(&r.try_get::<String, _>("status")?)?;
        let brand: Option<Vec<u8>> = r.try_get("brand")?;
        let agreement = match brand {
            None => None,
            Some(brand) => Some(Agreement {
                brand: address(brand, "brand")?,
                creator: address(r.try_get("creator")?, "creator")?,
                arbiter: address(r.try_get("arbiter")?, "arbiter")?,
                token: address(r.try_get("token")?, "token")?,
                termsHash: hash(r.try_get("terms_hash")?, "terms_hash")?,
                arbiterFeeBps: u16::try_from(r.try_get::<i32, _>("arbiter_fee_bps")?).unwrap_or(0),
                contestWindow: u32::try_from(r.try_get::<i64, _>("contest_window")?).unwrap_or(0),
                arbitrationWindow: u32::try_from(r.try_get::<i64, _>("arbitration_window")?)
                    .unwrap_or(0),
                revisionRounds: u8::try_from(
                    r.try_get::<Option<i32>, _>("revision_rounds")?.unwrap_or(0),
                )
                .unwrap_or(0),
                deadline: Uint::from(
                    u64::try_from(r.try_get::<i64, _>("signature_deadline")?).unwrap_or(0),
                ),
                salt: amount(r.try_get("salt")?, "salt")?,
                milestones: Vec::new(),
            }),
        };
        let pos = |p: &str| -> Result<LogPosition> {
            Ok(LogPosition {
                block_number: u64::try_from(r.try_get::<i64, _>(format!("{p}_block").as_str())?)
                    .unwrap_or(0),
                block_hash: hash(r.try_get(format!("{p}_block_hash").as_str())?, "block_hash")?,
                block_timestamp: if p == "created" {
                    u64::try_from(r.try_get::<i64, _>("created_at")?).unwrap_or(0)
                } else {
                    0
                },
                tx_hash: hash(r.try_get(format!("{p}_tx_hash").as_str())?, "tx_hash")?,
                tx_index: 0,
                log_index: u32::try_from(r.try_get::<i32, _>(format!("{p}_log_index").as_str())?)
                    .unwrap_or(0),
            })
        };
        let ledger = AgreementLedger {
            agreement,
            status,
            funded_count: u8::try_from(r.try_get::<i32, _>("funded_count")?).unwrap_or(0),
            terminated_by: u8::try_from(r.try_get::<i32, _>("terminated_by")?).unwrap_or(0),
            contested: r.try_get("contested")?,
            since: u64::try_from(r.try_get::<i64, _>("since")?).unwrap_or(0),
            nonce: u32::try_from(r.try_get::<i64, _>("nonce")?).unwrap_or(0),
            milestones: Vec::new(),
            funded: amount(r.try_get("funded")?, "funded")?,
            paid_to_creator: amount(r.try_get("paid_to_creator")?, "paid_to_creator")?,
            refunded_to_brand: amount(r.try_get("refunded_to_brand")?, "refunded_to_brand")?,
            arbiter_fees: amount(r.try_get("arbiter_fees")?, "arbiter_fees")?,
            deferred: amount(r.try_get("deferred")?, "deferred")?,
        };
        let created = pos("created")?;
        let updated = pos("updated")?;
        out.insert(id, AgreementRow { id, ledger, created, updated });
    }
    let ms = sqlx::query(
        "SELECT agreement_id, index, amount::text AS amount, deadline, review_window, status, \
           since, content_hash, uri, revisions \
         FROM milestones WHERE chain_id = $1 AND agreement_id = ANY($2) \
         ORDER BY agreement_id, index",
    )
    .bind(chain)
    .bind(&id_bytes)
    .fetch_all(conn)
    .await?;
    for r in ms {
        let id = hash(r.try_get("agreement_id")?, "agreement_id")?;
        let Some(row) = out.get_mut(&id) else { continue };
        let Some(a) = row.ledger.agreement.as_mut() else { continue };
        a.milestones.push(Milestone {
            amount: amount(r.try_get("amount")?, "amount")?,
            deadline: Uint::from(u64::try_from(r.try_get::<i64, _>("deadline")?).unwrap_or(0)),
            reviewWindow: u32::try_from(r.try_get::<i64, _>("review_window")?).unwrap_or(0),
        });
        let content: Option<Vec<u8>> = r.try_get("content_hash")?;
        row.ledger.milestones.push(MilestoneLedger {
            status: milestone_status_of(&r.try_get::<String, _>("status")?)?,
            since: u64::try_from(r.try_get::<i64, _>("since")?).unwrap_or(0),
            revisions: u8::try_from(r.try_get::<i32, _>("revisions")?).unwrap_or(0),
            content_hash: content.map(|c| hash(c, "content_hash")).transpose()?,
            uri: r.try_get("uri")?,
        });
    }
    Ok(out)
}

/// One stored event, raw, for replay after a rollback.
#[derive(Debug, Clone)]
pub struct StoredLog {
    /// Where.
    pub at: LogPosition,
    /// Topics.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Bytes,
}

/// All stored events of the given agreements, in chain order.
pub async fn agreement_logs(
    conn: &mut PgConnection,
    chain_id: u64,
    ids: &[B256],
) -> Result<Vec<StoredLog>> {
    let rows = sqlx::query(
        "SELECT block_number, block_hash, block_timestamp, tx_hash, tx_index, log_index, topics, \
           data FROM escrow_events WHERE chain_id = $1 AND agreement_id = ANY($2) \
         ORDER BY block_number, log_index",
    )
    .bind(i64_of(chain_id))
    .bind(ids.iter().map(b).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let topics: Vec<u8> = r.try_get("topics")?;
            Ok(StoredLog {
                at: LogPosition {
                    block_number: u64::try_from(r.try_get::<i64, _>("block_number")?).unwrap_or(0),
                    block_hash: hash(r.try_get("block_hash")?, "block_hash")?,
                    block_timestamp: u64::try_from(r.try_get::<i64, _>("block_timestamp")?)
                        .unwrap_or(0),
                    tx_hash: hash(r.try_get("tx_hash")?, "tx_hash")?,
                    tx_index: u32::try_from(r.try_get::<i32, _>("tx_index")?).unwrap_or(0),
                    log_index: u32::try_from(r.try_get::<i32, _>("log_index")?).unwrap_or(0),
                },
                topics: topics.chunks_exact(32).map(B256::from_slice).collect(),
                data: Bytes::from(r.try_get::<Vec<u8>, _>("data")?),
            })
        })
        .collect()
}

/// Deletes everything mirrored above block `ancestor` and the current state of the agreements those
/// events touched; returns those agreements' ids (the caller rebuilds them from their remaining
/// events) and how many events were removed.
pub async fn rollback_above(
    conn: &mut PgConnection,
    chain_id: u64,
    ancestor: u64,
) -> Result<(Vec<B256>, u64)> {
    let chain = i64_of(chain_id);
    let above = i64_of(ancestor);
    let ids: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT DISTINCT agreement_id FROM escrow_events \
         WHERE chain_id = $1 AND block_number > $2 AND agreement_id IS NOT NULL",
    )
    .bind(chain)
    .bind(above)
    .fetch_all(&mut *conn)
    .await?;
    let mut removed = 0;
    for table in ROLLBACK_TABLES {
        let res = sqlx::query(table).bind(chain).bind(above).execute(&mut *conn).await?;
        if table.contains("escrow_events") {
            removed = res.rows_affected();
        }
    }
    sqlx::query("DELETE FROM milestones WHERE chain_id = $1 AND agreement_id = ANY($2)")
        .bind(chain)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM agreements WHERE chain_id = $1 AND id = ANY($2)")
        .bind(chain)
        .bind(&ids)
        .execute(conn)
        .await?;
    let ids = ids.into_iter().map(|v| hash(v, "agreement_id")).collect::<Result<_>>()?;
    Ok((ids, removed))
}

/// The per-table deletes of a rollback: everything mirrored above the ancestor block.
const ROLLBACK_TABLES: [&str; 9] = [
    "DELETE FROM escrow_events WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM performance_events WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM performance_agreements WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM deposits WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM payouts WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM disputes WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM terminations WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM deferred_payments WHERE chain_id = $1 AND block_number > $2",
    "DELETE FROM indexer_blocks WHERE chain_id = $1 AND number > $2",
];

pub(crate) fn address(v: Vec<u8>, column: &'static str) -> Result<Address> {
    if v.len() != 20 {
        return Err(Error::Corrupt { column, value: format!("{} bytes", v.len()) });
    }
    Ok(Address::from_slice(&v))
}

pub(crate) fn hash(v: Vec<u8>, column: &'static str) -> Result<B256> {
    if v.len() != 32 {
        return Err(Error::Corrupt { column, value: format!("{} bytes", v.len()) });
    }
    Ok(B256::from_slice(&v))
}

fn amount(v: String, column: &'static str) -> Result<U256> {
    v.parse().map_err(|_| Error::Corrupt { column, value: v })
}

fn status_of(s: &str) -> Result<Status> {
    Status::from_name(s).ok_or_else(|| Error::Corrupt { column: "status", value: s.to_owned() })
}

fn milestone_status_of(s: &str) -> Result<MilestoneStatus> {
    MilestoneStatus::from_name(s)
        .ok_or_else(|| Error::Corrupt { column: "milestone status", value: s.to_owned() })
}

/// Holds the one-writer-per-chain lock until dropped (its connection closes with it, and with a
/// crashed process, so a standby takes over).
#[derive(Debug)]
pub struct WriterLock {
    conn: PgConnection,
}

impl WriterLock {
    /// Whether the lock's connection (and so the lock) is still held.
    pub async fn is_held(&mut self) -> bool {
        sqlx::query("SELECT 1").execute(&mut self.conn).await.is_ok()
    }
}

/// The second key of chain `chain_id`'s writer lock (the first is the class "PACT"). Two chain ids
/// can share one (they are taken modulo `i32::MAX`, as running indexers already hold them): one
/// process must not index two such chains, or one would wait for the other forever.
pub fn writer_lock_key(chain_id: u64) -> i32 {
    i32::try_from(chain_id % (i32::MAX as u64)).unwrap_or(0)
}

/// Waits until this process is the only writer for `chain_id` (a PostgreSQL advisory lock on a
/// connection of its own).
pub async fn lock_writer(pool: &PgPool, chain_id: u64) -> Result<WriterLock> {
    let mut conn = pool.acquire().await?;
    // Advisory-lock key space: (class, chain id). 0x50414354 is "PACT".
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(0x5041_4354_i32)
        .bind(writer_lock_key(chain_id))
        .execute(&mut *conn)
        .await?;
    // Detached from the pool: the connection must close (releasing the lock) when the holder goes,
    // never return to the pool still holding it.
    Ok(WriterLock { conn: conn.detach() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_past_integer_are_refused_not_wrapped() {
        assert_eq!(int4(i32::MAX as u32, "log_index").expect("fits"), i32::MAX);
        for v in [i32::MAX as u32 + 1, u32::MAX] {
            let err = int4(v, "log_index").expect_err("out of range");
            assert!(
                matches!(err, Error::OutOfRange { column: "log_index", value } if value == u64::from(v)),
                "{err}"
            );
        }
    }
}
