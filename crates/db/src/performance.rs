//! The performance contract's mirror: its events (written in the indexer's batch transaction, by
//! binary COPY like the escrow's), the parties of each agreement, and the reads that fold them.

use alloy::primitives::{Address, B256};
use sqlx::{PgConnection, PgPool, Row};

use crate::{address, b, hash, i64_of, EventRow, LogPosition, Result};

/// A created performance agreement's parties, as the indexer records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartiesRow {
    /// The agreement's id.
    pub id: B256,
    /// The brand.
    pub brand: Address,
    /// The partner.
    pub partner: Address,
    /// The attester.
    pub attester: Address,
    /// The arbiter (zero: none).
    pub arbiter: Address,
    /// The token.
    pub token: Address,
    /// Where it was created.
    pub at: LogPosition,
}

/// Writes a batch's performance events and the parties of the agreements it created.
pub async fn write(
    conn: &mut PgConnection,
    chain_id: u64,
    events: &[EventRow],
    created: &[PartiesRow],
) -> Result<()> {
    crate::copy_event_rows(conn, &crate::COPY_PERFORMANCE_EVENTS, chain_id, events).await?;
    if created.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&PartiesRow) -> Vec<u8>| created.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO performance_agreements \
           (chain_id, id, brand, partner, attester, arbiter, token, block_number, block_hash, \
            tx_hash, log_index) \
         SELECT $1, * FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], \
           $6::bytea[], $7::bytea[], $8::int8[], $9::bytea[], $10::bytea[], $11::int4[])",
    )
    .bind(i64_of(chain_id))
    .bind(col(|r| b(r.id)))
    .bind(col(|r| b(r.brand)))
    .bind(col(|r| b(r.partner)))
    .bind(col(|r| b(r.attester)))
    .bind(col(|r| b(r.arbiter)))
    .bind(col(|r| b(r.token)))
    .bind(created.iter().map(|r| i64_of(r.at.block_number)).collect::<Vec<_>>())
    .bind(col(|r| b(r.at.block_hash)))
    .bind(col(|r| b(r.at.tx_hash)))
    .bind(
        created
            .iter()
            .map(|r| crate::int4(r.at.log_index, "log_index"))
            .collect::<Result<Vec<_>>>()?,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The performance contract a chain's mirror follows, if any.
pub async fn mirror(conn: &mut PgConnection, chain_id: u64) -> Result<Option<Address>> {
    let row: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT contract FROM performance_mirrors WHERE chain_id = $1")
            .bind(i64_of(chain_id))
            .fetch_optional(conn)
            .await?;
    row.map(|v| address(v, "contract")).transpose()
}

/// Records which performance contract (or none) a chain's mirror follows; called before the
/// mirror's first batch, when nothing has been read with or without its logs yet.
pub async fn set_mirror(
    conn: &mut PgConnection,
    chain_id: u64,
    contract: Option<Address>,
) -> Result<()> {
    match contract {
        Some(c) => sqlx::query(
            "INSERT INTO performance_mirrors (chain_id, contract) VALUES ($1, $2) \
             ON CONFLICT (chain_id) DO UPDATE SET contract = EXCLUDED.contract",
        )
        .bind(i64_of(chain_id))
        .bind(b(c)),
        None => sqlx::query("DELETE FROM performance_mirrors WHERE chain_id = $1")
            .bind(i64_of(chain_id)),
    }
    .execute(conn)
    .await?;
    Ok(())
}

/// One stored event of an agreement: the raw log to decode, and when it happened.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The log's topics.
    pub topics: Vec<B256>,
    /// The log's data.
    pub data: Vec<u8>,
    /// Where it sits.
    pub at: LogPosition,
}

/// An agreement's events in log order (one index range scan of `performance_events_agreement`).
pub async fn agreement_events(pool: &PgPool, chain_id: u64, id: B256) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT block_number, block_hash, block_timestamp, tx_hash, tx_index, log_index, topics, \
                data \
         FROM performance_events WHERE chain_id = $1 AND agreement_id = $2 \
         ORDER BY block_number, log_index",
    )
    .bind(i64_of(chain_id))
    .bind(b(id))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let topics: Vec<u8> = r.try_get("topics")?;
            Ok(StoredEvent {
                topics: topics.chunks(32).map(B256::from_slice).collect(),
                data: r.try_get("data")?,
                at: LogPosition {
                    block_number: u64::try_from(r.try_get::<i64, _>("block_number")?).unwrap_or(0),
                    block_hash: hash(r.try_get("block_hash")?, "block_hash")?,
                    block_timestamp: u64::try_from(r.try_get::<i64, _>("block_timestamp")?)
                        .unwrap_or(0),
                    tx_hash: hash(r.try_get("tx_hash")?, "tx_hash")?,
                    tx_index: u32::try_from(r.try_get::<i32, _>("tx_index")?).unwrap_or(0),
                    log_index: u32::try_from(r.try_get::<i32, _>("log_index")?).unwrap_or(0),
                },
            })
        })
        .collect()
}

/// Which side of an agreement an account is on, for a party's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The brand.
    Brand,
    /// The partner.
    Partner,
    /// The attester.
    Attester,
    /// The arbiter.
    Arbiter,
}

/// The agreements where `account` is on `side`, newest first, at most `limit` (an index scan of
/// the side's index).
pub async fn agreements_of(
    pool: &PgPool,
    chain_id: u64,
    account: Address,
    side: Side,
    limit: i64,
) -> Result<Vec<PartiesRow>> {
    let sql = match side {
        Side::Brand => {
            "SELECT * FROM performance_agreements WHERE chain_id = $1 AND brand = $2 \
             ORDER BY block_number DESC LIMIT $3"
        }
        Side::Partner => {
            "SELECT * FROM performance_agreements WHERE chain_id = $1 AND partner = $2 \
             ORDER BY block_number DESC LIMIT $3"
        }
        Side::Attester => {
            "SELECT * FROM performance_agreements WHERE chain_id = $1 AND attester = $2 \
             ORDER BY block_number DESC LIMIT $3"
        }
        Side::Arbiter => {
            "SELECT * FROM performance_agreements WHERE chain_id = $1 AND arbiter = $2 \
             ORDER BY block_number DESC LIMIT $3"
        }
    };
    let rows = sqlx::query(sql)
        .bind(i64_of(chain_id))
        .bind(b(account))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(parties).collect()
}

/// One agreement's parties (the primary key).
pub async fn parties_of(pool: &PgPool, chain_id: u64, id: B256) -> Result<Option<PartiesRow>> {
    let row = sqlx::query("SELECT * FROM performance_agreements WHERE chain_id = $1 AND id = $2")
        .bind(i64_of(chain_id))
        .bind(b(id))
        .fetch_optional(pool)
        .await?;
    row.map(parties).transpose()
}

fn parties(r: sqlx::postgres::PgRow) -> Result<PartiesRow> {
    Ok(PartiesRow {
        id: hash(r.try_get("id")?, "id")?,
        brand: address(r.try_get("brand")?, "brand")?,
        partner: address(r.try_get("partner")?, "partner")?,
        attester: address(r.try_get("attester")?, "attester")?,
        arbiter: address(r.try_get("arbiter")?, "arbiter")?,
        token: address(r.try_get("token")?, "token")?,
        at: LogPosition {
            block_number: u64::try_from(r.try_get::<i64, _>("block_number")?).unwrap_or(0),
            block_hash: hash(r.try_get("block_hash")?, "block_hash")?,
            block_timestamp: 0,
            tx_hash: hash(r.try_get("tx_hash")?, "tx_hash")?,
            tx_index: 0,
            log_index: u32::try_from(r.try_get::<i32, _>("log_index")?).unwrap_or(0),
        },
    })
}

/// One record of a stored tree, as an auditor pages through them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRecord {
    /// The conversion id.
    pub conversion_id: String,
    /// When it happened.
    pub occurred_at: u64,
    /// Its revenue.
    pub revenue: alloy::primitives::U256,
}

/// A page of the records tree `root` was built from, by conversion id after `after`: the leaf
/// map's rows from the one holding `after` on (one range scan of its primary key), then those
/// records by primary key. The leaf map packs entries as `crate::records` writes them: the id's
/// length (one byte), its bytes, the node index (4 bytes), in id order.
pub async fn tree_records_page(
    conn: &mut PgConnection,
    chain_id: u64,
    agreement_id: B256,
    root: B256,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<TreeRecord>> {
    let after = after.unwrap_or("");
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT entries FROM performance_tree_leaves \
         WHERE chain_id = $1 AND agreement_id = $2 AND root = $3 \
           AND first_id >= coalesce((SELECT max(first_id) FROM performance_tree_leaves \
             WHERE chain_id = $1 AND agreement_id = $2 AND root = $3 \
               AND first_id <= $4::text COLLATE \"C\"), '') \
         ORDER BY first_id LIMIT $5",
    )
    .bind(i64_of(chain_id))
    .bind(b(agreement_id))
    .bind(b(root))
    .bind(after)
    .bind(i64::from(limit / 16 + 2))
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: Vec<String> = Vec::new();
    'rows: for entries in &rows {
        let mut rest = entries.as_slice();
        while let Some((&len, tail)) = rest.split_first() {
            let corrupt = || crate::Error::Corrupt {
                column: "performance_tree_leaves.entries",
                value: format!("{} bytes, malformed", entries.len()),
            };
            let (id, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(corrupt)?;
            let (_, tail) = tail.split_first_chunk::<4>().ok_or_else(corrupt)?;
            rest = tail;
            let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
            if id > after {
                ids.push(id.to_owned());
                if ids.len() >= limit as usize {
                    break 'rows;
                }
            }
        }
    }
    let rows = sqlx::query(
        "SELECT conversion_id, occurred_at, revenue::text AS revenue FROM conversion_records \
         WHERE chain_id = $1 AND agreement_id = $2 AND conversion_id = ANY($3) \
         ORDER BY conversion_id",
    )
    .bind(i64_of(chain_id))
    .bind(b(agreement_id))
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let revenue: String = r.try_get("revenue")?;
            Ok(TreeRecord {
                conversion_id: r.try_get("conversion_id")?,
                occurred_at: u64::try_from(r.try_get::<i64, _>("occurred_at")?).unwrap_or(0),
                revenue: revenue.parse().map_err(|_| crate::Error::Corrupt {
                    column: "revenue",
                    value: revenue.clone(),
                })?,
            })
        })
        .collect()
}
