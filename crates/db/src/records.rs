//! Conversion records of performance agreements and the Merkle trees of their periods
//! (migration `0010_conversion_records.sql`).
//!
//! An attester (a tracking service) uploads conversions; a period's tree over them
//! (`pactum_core::merkle`) gives the `detailRoot` it signs on chain; a partner or an auditor later
//! asks for the proof that one conversion was counted. Three request shapes dominate, and each is
//! a fixed number of statements whatever the size:
//!
//! - [`ingest`]: a batch of tens of thousands of records is one binary COPY into a temporary table
//!   and one `INSERT … SELECT` (plain while the batch is all new; when it hits a stored id, rolled
//!   back to its savepoint and run again with `ON CONFLICT DO NOTHING`, then one statement finds
//!   conflicts). Re-sending a record is harmless (`unchanged`); the same
//!   conversion id with another time or revenue is a conflict, and then NOTHING of the batch is
//!   written (the batch's savepoint is rolled back): the caller gets every conflicting id and
//!   answers 409, and the attester re-sends a corrected batch. Ids are checked in Rust first
//!   (`merkle::validate_conversion_id`); a batch with an invalid record touches no table.
//! - [`period_records`] / [`period_records_page`]: one range scan of the
//!   `(chain_id, agreement_id, occurred_at, conversion_id)` index.
//! - [`proof`]: two statements of index probes: the record and the leaf-map row that would hold it
//!   ([`LEAVES_PER_ROW`] entries a row), then the rows holding the proof's nodes (`merkle::proof_indices`; [`NODES_PER_ROW`] nodes a row). The proof is checked against the root before it is
//!   returned.
//!
//! Trees are stored content-addressed by root ([`store_tree`]): storing the same tree again writes
//! nothing. A tree's nodes and leaf map are written by binary COPY in one transaction.

use std::collections::{hash_map::Entry, HashMap};

use alloy::primitives::{B256, U256};
use pactum_core::merkle::{self, RecordError, Tree};
use sqlx::{Acquire, Connection, PgConnection, Postgres, Row};

use crate::{
    copy::{BinaryCopy, CopyIn, Field},
    i64_of, int4, Error, Result,
};

pub use pactum_core::merkle::Record;

/// A record as the attester sends it (the leaf's values).
pub type NewRecord = Record;

/// A record that failed its checks; the batch it came in was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    /// Its position in the batch.
    pub index: usize,
    /// Its conversion id, as sent.
    pub conversion_id: String,
    /// Why it was refused.
    pub reason: RecordError,
}

/// What [`ingest`] did with a batch.
///
/// The batch is written whole or not at all: when `invalid` or `conflicting` is not empty, no row
/// was written and both counts are 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Records new to the ledger, now stored.
    pub inserted: u64,
    /// Records the ledger already had with the same values (re-sent, or repeated in the batch).
    pub unchanged: u64,
    /// Conversion ids the ledger (or an earlier record of the same batch) has with another
    /// `occurred_at` or revenue, sorted, each once. Records are immutable: a correction is a
    /// reversal and a new conversion id.
    pub conflicting: Vec<String>,
    /// Records refused by their checks (checked before the database is touched).
    pub invalid: Vec<InvalidRecord>,
}

impl IngestOutcome {
    /// Whether the batch was written (nothing was refused).
    pub fn applied(&self) -> bool {
        self.conflicting.is_empty() && self.invalid.is_empty()
    }
}

/// What [`reverse`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReverseOutcome {
    /// Records now marked reversed.
    pub reversed: u64,
    /// Records that already were (their first reversal time is kept).
    pub already_reversed: u64,
    /// Conversion ids the agreement has no record of, sorted.
    pub unknown: Vec<String>,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The leaf's values.
    pub record: Record,
    /// When the attester reversed it (Unix seconds), if it did.
    pub reversed_at: Option<u64>,
    /// When the ledger received it (Unix seconds).
    pub received_at: u64,
}

/// A stored tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTree {
    /// Its root: the period's `detailRoot`.
    pub root: B256,
    /// The report period it was built for.
    pub period: u32,
    /// How many records (leaves) it has.
    pub leaves: u32,
    /// When it was stored (Unix seconds).
    pub built_at: u64,
}

/// The proof that one record is a leaf of a stored tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRow {
    /// The record (with its current reversal state: a record reversed after the tree was built is
    /// still one of its leaves).
    pub record: StoredRecord,
    /// Its leaf hash (`Record::leaf_hash`).
    pub leaf: B256,
    /// The leaf's node index in the tree's array.
    pub node_index: u32,
    /// The siblings from the leaf up: `merkle::verify(root, leaf, &proof)` holds.
    pub proof: Vec<B256>,
}

/// The checks a record passes before any write: its id ([`merkle::validate_conversion_id`]) and an
/// `occurred_at` that fits a BIGINT.
pub fn check_record(record: &Record) -> Result<(), RecordError> {
    record.validate()?;
    if i64::try_from(record.occurred_at).is_err() {
        return Err(RecordError::OccurredAtOutOfRange(record.occurred_at));
    }
    Ok(())
}

/// The staging table a batch is copied into: temporary (no WAL, private to the session), created
/// by a session's first batch, emptied at each commit and at the start of each batch (a caller's
/// transaction may ingest twice before it commits). `client_min_messages`, for the transaction:
/// the "already exists, skipping" notice of every later batch is noise in the logs.
const CREATE_STAGING: &str = "SET LOCAL client_min_messages = warning; \
    CREATE TEMP TABLE IF NOT EXISTS conversion_records_staging (\
      conversion_id TEXT COLLATE \"C\" NOT NULL, occurred_at BIGINT NOT NULL, \
      revenue TEXT NOT NULL) ON COMMIT DELETE ROWS; \
    TRUNCATE conversion_records_staging";

/// The staging table as [`ingest`] copies it (revenue as decimal text, cast once in the insert).
const COPY_STAGING: CopyIn<3> = CopyIn {
    table: "conversion_records_staging",
    columns: ["conversion_id", "occurred_at", "revenue"],
};

/// The batch into the ledger when none of it is there yet: the common case, tried first in a
/// savepoint. A plain insert checks the key once, as it inserts; `ON CONFLICT` probes it first.
const INSERT_NEW: &str = "INSERT INTO conversion_records \
      (chain_id, agreement_id, conversion_id, occurred_at, revenue) \
    SELECT $1, $2, conversion_id, occurred_at, revenue::numeric \
    FROM conversion_records_staging";

/// The batch into the ledger when some of it is there (the plain insert hit the key): what is
/// already there is left alone, and classified after.
const INSERT_STAGED: &str = "INSERT INTO conversion_records \
      (chain_id, agreement_id, conversion_id, occurred_at, revenue) \
    SELECT $1, $2, conversion_id, occurred_at, revenue::numeric \
    FROM conversion_records_staging \
    ON CONFLICT (chain_id, agreement_id, conversion_id) DO NOTHING";

/// PostgreSQL's `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// The staged records the ledger has with other values: one probe of the primary key per staged
/// row. Run after the insert, so a concurrent batch's record (committed while the insert waited on
/// it) counts too.
const STAGED_CONFLICTS: &str = "SELECT s.conversion_id FROM conversion_records_staging s \
    JOIN conversion_records r ON r.chain_id = $1 AND r.agreement_id = $2 \
      AND r.conversion_id = s.conversion_id \
    WHERE r.occurred_at <> s.occurred_at OR r.revenue <> s.revenue::numeric \
    ORDER BY s.conversion_id";

/// Stores a batch of an agreement's records, idempotently by conversion id (see [`IngestOutcome`]
/// and the module's documentation). Runs in a transaction of its own, or a savepoint of the
/// caller's.
pub async fn ingest(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    records: &[NewRecord],
) -> Result<IngestOutcome> {
    let mut out = IngestOutcome::default();
    // The cheap refusals first: nothing is sent to the database for a batch with a bad record.
    for (index, record) in records.iter().enumerate() {
        if let Err(reason) = check_record(record) {
            out.invalid.push(InvalidRecord {
                index,
                conversion_id: record.conversion_id.clone(),
                reason,
            });
        }
    }
    if !out.invalid.is_empty() {
        return Ok(out);
    }
    // Repeats within the batch: the same values count once (the rest are unchanged), other values
    // are a conflict like one with the ledger.
    let mut first: HashMap<&str, &Record> = HashMap::with_capacity(records.len());
    let mut unique = Vec::with_capacity(records.len());
    for record in records {
        match first.entry(record.conversion_id.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert(record);
                unique.push(record);
            }
            Entry::Occupied(seen) if *seen.get() != record => {
                out.conflicting.push(record.conversion_id.clone());
            }
            Entry::Occupied(_) => {}
        }
    }
    if !out.conflicting.is_empty() {
        out.conflicting.sort();
        out.conflicting.dedup();
        return Ok(out);
    }
    let repeats = (records.len() - unique.len()) as u64;
    if unique.is_empty() {
        return Ok(out);
    }
    // In key order, the insert walks the primary key's pages once, in order, instead of at random.
    unique.sort_unstable_by(|a, b| a.conversion_id.cmp(&b.conversion_id));

    let mut payload = BinaryCopy::new(&COPY_STAGING, unique.len() * 64);
    let mut revenue = String::with_capacity(80);
    for record in &unique {
        use std::fmt::Write as _;
        revenue.clear();
        // Writing into a String cannot fail.
        let _ = write!(revenue, "{}", record.revenue);
        payload.row([
            Field::Bytes(record.conversion_id.as_bytes()),
            Field::Int8(i64_of(record.occurred_at)),
            Field::Bytes(revenue.as_bytes()),
        ])?;
    }
    let payload = payload.finish();

    let chain = i64_of(chain_id);
    let mut tx = Connection::begin(&mut *conn).await?;
    sqlx::raw_sql(CREATE_STAGING).execute(&mut *tx).await?;
    let mut sink = tx.copy_in_raw(&COPY_STAGING.statement()).await?;
    sink.send(payload).await?;
    sink.finish().await?;
    let fast = {
        let mut all_new = Connection::begin(&mut *tx).await?;
        let done = sqlx::query(INSERT_NEW)
            .bind(chain)
            .bind(agreement_id.as_slice())
            .execute(&mut *all_new)
            .await;
        match done {
            Ok(done) => {
                all_new.commit().await?;
                Some(done.rows_affected())
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNIQUE_VIOLATION) => {
                all_new.rollback().await?;
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let inserted = match fast {
        Some(inserted) => inserted,
        None => sqlx::query(INSERT_STAGED)
            .bind(chain)
            .bind(agreement_id.as_slice())
            .execute(&mut *tx)
            .await?
            .rows_affected(),
    };
    if inserted < unique.len() as u64 {
        let conflicting: Vec<String> = sqlx::query_scalar(STAGED_CONFLICTS)
            .bind(chain)
            .bind(agreement_id.as_slice())
            .fetch_all(&mut *tx)
            .await?;
        if !conflicting.is_empty() {
            tx.rollback().await?;
            out.conflicting = conflicting;
            return Ok(out);
        }
    }
    tx.commit().await?;
    out.inserted = inserted;
    out.unchanged = unique.len() as u64 - inserted + repeats;
    Ok(out)
}

/// Marks records reversed at `at` (Unix seconds): one statement. A record already reversed keeps
/// its first reversal time; ids the agreement has no record of are reported.
pub async fn reverse(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    conversion_ids: &[String],
    at: u64,
) -> Result<ReverseOutcome> {
    let mut out = ReverseOutcome::default();
    if conversion_ids.is_empty() {
        return Ok(out);
    }
    // `known` reads the statement's snapshot, from before the update: every record is still there.
    let rows = sqlx::query(
        "WITH wanted AS (SELECT DISTINCT unnest($3::text[]) COLLATE \"C\" AS id), \
         done AS ( \
           UPDATE conversion_records r SET reversed_at = $4 FROM wanted w \
           WHERE r.chain_id = $1 AND r.agreement_id = $2 AND r.conversion_id = w.id \
             AND r.reversed_at IS NULL \
           RETURNING r.conversion_id) \
         SELECT w.id, d.conversion_id IS NOT NULL AS reversed, EXISTS ( \
             SELECT 1 FROM conversion_records r \
             WHERE r.chain_id = $1 AND r.agreement_id = $2 AND r.conversion_id = w.id) AS known \
         FROM wanted w LEFT JOIN done d ON d.conversion_id = w.id \
         ORDER BY w.id",
    )
    .bind(i64_of(chain_id))
    .bind(agreement_id.as_slice())
    .bind(conversion_ids)
    .bind(i64_of(at))
    .fetch_all(conn)
    .await?;
    for row in rows {
        let (id, reversed, known): (String, bool, bool) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        match (reversed, known) {
            (true, _) => out.reversed += 1,
            (false, true) => out.already_reversed += 1,
            (false, false) => out.unknown.push(id),
        }
    }
    Ok(out)
}

/// The columns a [`StoredRecord`] is read from (`r`: `conversion_records`).
const RECORD_COLUMNS: &str = "r.conversion_id, r.occurred_at, r.revenue::text AS revenue, \
    r.reversed_at, extract(epoch FROM r.received_at)::int8 AS received_at";

fn stored_record(row: &sqlx::postgres::PgRow) -> Result<StoredRecord> {
    let revenue: String = row.try_get("revenue")?;
    Ok(StoredRecord {
        record: Record {
            conversion_id: row.try_get("conversion_id")?,
            occurred_at: unsigned(row.try_get("occurred_at")?, "occurred_at")?,
            revenue: revenue
                .parse::<U256>()
                .map_err(|_| Error::Corrupt { column: "revenue", value: revenue.clone() })?,
        },
        reversed_at: row
            .try_get::<Option<i64>, _>("reversed_at")?
            .map(|v| unsigned(v, "reversed_at"))
            .transpose()?,
        received_at: u64::try_from(row.try_get::<i64, _>("received_at")?).unwrap_or(0),
    })
}

/// The last second of `[from, to)` as a BIGINT bound, inclusive (so that `to` past `i64::MAX`
/// still includes a record at `i64::MAX`); `None` for an empty range.
fn last_second(from: u64, to: u64) -> Option<i64> {
    (to > from).then(|| i64_of(to - 1))
}

fn unsigned(v: i64, column: &'static str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt { column, value: v.to_string() })
}

/// An agreement's records that occurred in `[from, to)` (Unix seconds), by occurrence time then
/// conversion id; reversed ones only if `include_reversed`. The input of a period's tree: one range
/// scan of `conversion_records_period`.
pub async fn period_records(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    from: u64,
    to: u64,
    include_reversed: bool,
) -> Result<Vec<StoredRecord>> {
    let Some(last) = last_second(from, to) else { return Ok(Vec::new()) };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM conversion_records r \
         WHERE r.chain_id = $1 AND r.agreement_id = $2 \
           AND r.occurred_at >= $3 AND r.occurred_at <= $4 \
           AND ($5 OR r.reversed_at IS NULL) \
         ORDER BY r.occurred_at, r.conversion_id"
    )))
    .bind(i64_of(chain_id))
    .bind(agreement_id.as_slice())
    .bind(i64_of(from))
    .bind(last)
    .bind(include_reversed)
    .fetch_all(conn)
    .await?;
    rows.iter().map(stored_record).collect()
}

/// One page of [`period_records`] (the auditor's listing): the records after the cursor `after`
/// (the last page's last `(occurred_at, conversion_id)`; `None` for the first page), at most
/// `limit`. Keyset paging on the index's own order: every page is one range scan, however deep.
/// Paged by time first, not by conversion id alone, so that a page of one period never walks the
/// agreement's other periods.
#[allow(clippy::too_many_arguments)]
pub async fn period_records_page(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    from: u64,
    to: u64,
    include_reversed: bool,
    after: Option<(u64, &str)>,
    limit: u32,
) -> Result<Vec<StoredRecord>> {
    let Some(last) = last_second(from, to) else { return Ok(Vec::new()) };
    let (after_at, after_id) = match after {
        Some((at, id)) => (i64_of(at), id),
        // Before every record: occurred_at is never negative.
        None => (-1, ""),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM conversion_records r \
         WHERE r.chain_id = $1 AND r.agreement_id = $2 \
           AND r.occurred_at >= $3 AND r.occurred_at <= $4 \
           AND (r.occurred_at, r.conversion_id) > ($6, $7::text COLLATE \"C\") \
           AND ($5 OR r.reversed_at IS NULL) \
         ORDER BY r.occurred_at, r.conversion_id LIMIT $8"
    )))
    .bind(i64_of(chain_id))
    .bind(agreement_id.as_slice())
    .bind(i64_of(from))
    .bind(last)
    .bind(include_reversed)
    .bind(after_at)
    .bind(after_id)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(stored_record).collect()
}

/// `performance_tree_nodes` as [`store_tree`] copies it: [`NODES_PER_ROW`] consecutive nodes per
/// row.
const COPY_NODES: CopyIn<5> = CopyIn {
    table: "performance_tree_nodes",
    columns: ["chain_id", "agreement_id", "root", "chunk", "hashes"],
};

/// Consecutive nodes of a tree's array stored in one row of `performance_tree_nodes` (row `c`
/// holds nodes `32c` to `32c + 31`, concatenated). A row a node would cost about 240 bytes with its
/// index entry, three quarters of it the repeated key; 32 nodes (1 KiB) a row stay below
/// PostgreSQL's 2 KiB TOAST threshold, so a row is read in place. A proof needs the rows of its
/// ~log2(n) nodes: the top five levels share row 0, the leaf and its sibling a row.
pub const NODES_PER_ROW: usize = 32;

/// `performance_tree_leaves` as [`store_tree`] copies it: [`LEAVES_PER_ROW`] entries per row.
const COPY_LEAVES: CopyIn<5> = CopyIn {
    table: "performance_tree_leaves",
    columns: ["chain_id", "agreement_id", "root", "first_id", "entries"],
};

/// Entries of a tree's leaf map (conversion id to node index) stored in one row of
/// `performance_tree_leaves`, in conversion id order, the row keyed by its first id: about 1 KiB
/// for ids of 25 characters. A row an entry took 301 MB for a million records, most of it the
/// repeated key; packed, the map is a tenth of that and a lookup still one index probe.
pub const LEAVES_PER_ROW: usize = 32;

/// Appends a leaf-map entry: the id's length (one byte), its bytes, the node index (big-endian).
fn push_entry(out: &mut Vec<u8>, conversion_id: &str, node_index: i32) {
    out.push(conversion_id.len() as u8);
    out.extend_from_slice(conversion_id.as_bytes());
    out.extend_from_slice(&node_index.to_be_bytes());
}

/// The node index of `conversion_id` in a row's packed entries, if it is there.
fn find_entry(mut entries: &[u8], conversion_id: &str) -> Result<Option<i32>> {
    let corrupt = || Error::Corrupt {
        column: "performance_tree_leaves.entries",
        value: format!("{} bytes, malformed", entries.len()),
    };
    while let Some((&len, rest)) = entries.split_first() {
        let len = usize::from(len);
        let (id, rest) = rest.split_at_checked(len).ok_or_else(corrupt)?;
        let (index, rest) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
        if id == conversion_id.as_bytes() {
            return Ok(Some(i32::from_be_bytes(*index)));
        }
        entries = rest;
    }
    Ok(None)
}

/// Node rows per COPY statement (1 KiB each): bounds the payload held in memory.
const COPY_NODE_ROWS: usize = 4_096;

/// Leaf-map rows per COPY statement (about 1 KiB each).
const COPY_LEAF_ROWS: usize = 4_096;

/// Stores the tree built from `records` (`Tree::from_records`, or `Tree::build` of their leaves)
/// for `period`: the tree, its nodes and where each record's leaf sits, in one transaction (or a
/// savepoint of the caller's). Content-addressed: a tree with the same root already stored for the
/// agreement is left as it is, and this returns `false`.
///
/// Every record must be a leaf of the tree and every leaf a record (an
/// `Error::Sqlx(InvalidArgument)` otherwise, before anything is written).
pub async fn store_tree(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    period: u32,
    tree: &Tree,
    records: &[Record],
) -> Result<bool> {
    let chain = i64_of(chain_id);
    let root = tree.root();
    // Already stored: nothing to check or write (hashing a million records takes seconds).
    let stored: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM performance_trees \
         WHERE chain_id = $1 AND agreement_id = $2 AND root = $3)",
    )
    .bind(chain)
    .bind(agreement_id.as_slice())
    .bind(root.as_slice())
    .fetch_one(&mut *conn)
    .await?;
    if stored {
        return Ok(false);
    }
    let invalid = |what: String| Error::Sqlx(sqlx::Error::InvalidArgument(what));
    if records.len() != tree.len() {
        return Err(invalid(format!(
            "the tree has {} leaves but {} records were given",
            tree.len(),
            records.len()
        )));
    }
    // The leaf map, in conversion id order (the rows' order).
    let mut map: Vec<(&str, i32)> = Vec::with_capacity(records.len());
    for record in records {
        let Some(index) = tree.leaf_index(&record.leaf_hash()) else {
            return Err(invalid(format!(
                "record {} is not a leaf of tree {}",
                record.conversion_id,
                tree.root()
            )));
        };
        if record.conversion_id.is_empty() || record.conversion_id.len() > usize::from(u8::MAX) {
            return Err(invalid(format!("conversion id {:?}", record.conversion_id)));
        }
        map.push((
            &record.conversion_id,
            int4(u32::try_from(index).unwrap_or(u32::MAX), "node_index")?,
        ));
    }
    map.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = map.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(format!("conversion id {} is given twice", w[0].0)));
    }
    let leaves = int4(u32::try_from(tree.len()).unwrap_or(u32::MAX), "leaves")?;
    // The last node index must fit too.
    int4(u32::try_from(tree.nodes().len()).unwrap_or(u32::MAX), "node_index")?;

    let mut tx = Connection::begin(&mut *conn).await?;
    // Another writer may have stored it since: the key decides.
    let new = sqlx::query(
        "INSERT INTO performance_trees (chain_id, agreement_id, root, period, leaves) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain_id, agreement_id, root) DO NOTHING",
    )
    .bind(chain)
    .bind(agreement_id.as_slice())
    .bind(root.as_slice())
    .bind(int4(period, "period")?)
    .bind(leaves)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !new {
        tx.commit().await?;
        return Ok(false);
    }
    let statement = COPY_NODES.statement();
    let rows: Vec<&[B256]> = tree.nodes().chunks(NODES_PER_ROW).collect();
    let mut hashes = Vec::with_capacity(NODES_PER_ROW * 32);
    for (c, group) in rows.chunks(COPY_NODE_ROWS).enumerate() {
        let mut payload = BinaryCopy::new(&COPY_NODES, group.len() * (NODES_PER_ROW * 32 + 110));
        for (i, nodes) in group.iter().enumerate() {
            hashes.clear();
            for hash in *nodes {
                hashes.extend_from_slice(hash.as_slice());
            }
            payload.row([
                Field::Int8(chain),
                Field::Bytes(agreement_id.as_slice()),
                Field::Bytes(root.as_slice()),
                Field::Int4(i32::try_from(c * COPY_NODE_ROWS + i).unwrap_or(i32::MAX)),
                Field::Bytes(&hashes),
            ])?;
        }
        let mut sink = tx.copy_in_raw(&statement).await?;
        sink.send(payload.finish()).await?;
        sink.finish().await?;
    }
    let statement = COPY_LEAVES.statement();
    let rows: Vec<&[(&str, i32)]> = map.chunks(LEAVES_PER_ROW).collect();
    let mut entries = Vec::with_capacity(LEAVES_PER_ROW * 70);
    for group in rows.chunks(COPY_LEAF_ROWS) {
        let mut payload = BinaryCopy::new(&COPY_LEAVES, group.len() * (LEAVES_PER_ROW * 32 + 150));
        for row in group {
            let Some(&(first, _)) = row.first() else { continue };
            entries.clear();
            for &(id, index) in *row {
                push_entry(&mut entries, id, index);
            }
            payload.row([
                Field::Int8(chain),
                Field::Bytes(agreement_id.as_slice()),
                Field::Bytes(root.as_slice()),
                Field::Bytes(first.as_bytes()),
                Field::Bytes(&entries),
            ])?;
        }
        let mut sink = tx.copy_in_raw(&statement).await?;
        sink.send(payload.finish()).await?;
        sink.finish().await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The trees stored for an agreement's period, oldest first.
pub async fn trees(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    period: u32,
) -> Result<Vec<StoredTree>> {
    let rows = sqlx::query(
        "SELECT root, period, leaves, extract(epoch FROM built_at)::int8 AS built_at \
         FROM performance_trees WHERE chain_id = $1 AND agreement_id = $2 AND period = $3 \
         ORDER BY built_at, root",
    )
    .bind(i64_of(chain_id))
    .bind(agreement_id.as_slice())
    .bind(int4(period, "period")?)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredTree {
                root: crate::hash(r.try_get("root")?, "root")?,
                period: u32::try_from(r.try_get::<i32, _>("period")?).unwrap_or(0),
                leaves: u32::try_from(r.try_get::<i32, _>("leaves")?).unwrap_or(0),
                built_at: u64::try_from(r.try_get::<i64, _>("built_at")?).unwrap_or(0),
            })
        })
        .collect()
}

/// The proof that the record `conversion_id` is a leaf of the agreement's stored tree `root`;
/// `None` when that tree has no such record (or is not stored). Two statements, each an index
/// probe: the leaf map joined to the record, then the leaf's and its proof's nodes. The proof is
/// verified against the root before it is returned (a mismatch is `Error::Corrupt`).
///
/// Takes a pool (a replica's will do) or a connection.
pub async fn proof<'c, A>(
    db: A,
    chain_id: u64,
    agreement_id: B256,
    root: B256,
    conversion_id: &str,
) -> Result<Option<ProofRow>>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = db.acquire().await?;
    let chain = i64_of(chain_id);
    // The record by its key, and the leaf-map row that would hold it: the one with the greatest
    // first id not above it.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.entries, {RECORD_COLUMNS} FROM conversion_records r \
         CROSS JOIN LATERAL ( \
           SELECT entries FROM performance_tree_leaves \
           WHERE chain_id = $1 AND agreement_id = $2 AND root = $3 \
             AND first_id <= $4::text COLLATE \"C\" \
           ORDER BY first_id DESC LIMIT 1) l \
         WHERE r.chain_id = $1 AND r.agreement_id = $2 AND r.conversion_id = $4"
    )))
    .bind(chain)
    .bind(agreement_id.as_slice())
    .bind(root.as_slice())
    .bind(conversion_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let entries: Vec<u8> = row.try_get("entries")?;
    let Some(stored_index) = find_entry(&entries, conversion_id)? else { return Ok(None) };
    let record = stored_record(&row)?;
    let node_index = usize::try_from(stored_index)
        .map_err(|_| Error::Corrupt { column: "node_index", value: stored_index.to_string() })?;

    // The leaf, then its proof's nodes; the rows that hold them.
    let wanted: Vec<usize> =
        std::iter::once(node_index).chain(merkle::proof_indices(node_index)).collect();
    let mut rows: Vec<i32> =
        wanted.iter().map(|i| i32::try_from(i / NODES_PER_ROW).unwrap_or(i32::MAX)).collect();
    rows.sort_unstable();
    rows.dedup();
    let found: Vec<(i32, Vec<u8>)> = sqlx::query_as(
        "SELECT chunk, hashes FROM performance_tree_nodes \
         WHERE chain_id = $1 AND agreement_id = $2 AND root = $3 AND chunk = ANY($4)",
    )
    .bind(chain)
    .bind(agreement_id.as_slice())
    .bind(root.as_slice())
    .bind(&rows)
    .fetch_all(&mut *conn)
    .await?;
    let by_row: HashMap<i32, Vec<u8>> = found.into_iter().collect();
    let node = |i: usize| {
        let row = i32::try_from(i / NODES_PER_ROW).unwrap_or(i32::MAX);
        let at = (i % NODES_PER_ROW) * 32;
        by_row.get(&row).and_then(|h| h.get(at..at + 32)).map(B256::from_slice).ok_or_else(|| {
            Error::Corrupt {
                column: "performance_tree_nodes",
                value: format!("node {i} of tree {root} is missing"),
            }
        })
    };
    let leaf = node(node_index)?;
    let proof = wanted[1..].iter().map(|&i| node(i)).collect::<Result<Vec<_>>>()?;
    if leaf != record.record.leaf_hash() || !merkle::verify(root, leaf, &proof) {
        return Err(Error::Corrupt {
            column: "performance_tree_nodes",
            value: format!("the proof of {conversion_id} does not lead to root {root}"),
        });
    }
    Ok(Some(ProofRow { record, leaf, node_index: u32::try_from(stored_index).unwrap_or(0), proof }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_map_entries_round_trip() {
        let mut row = Vec::new();
        let ids = ["a", "ord-1", &"x".repeat(64), "ord-2"];
        for (i, id) in ids.iter().enumerate() {
            push_entry(&mut row, id, i as i32 * 1_000_003);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(find_entry(&row, id).expect("well formed"), Some(i as i32 * 1_000_003));
        }
        assert_eq!(find_entry(&row, "ord-").expect("well formed"), None);
        assert_eq!(find_entry(&[], "a").expect("well formed"), None);
        // Cut anywhere inside an entry: refused, not misread.
        assert!(find_entry(&row[..row.len() - 1], "ord-2").is_err());
        assert!(find_entry(&[9, b'a'], "zzz").is_err());
    }
}
