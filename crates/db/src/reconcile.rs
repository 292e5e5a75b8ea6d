//! The mirror's money at a block, for `GET /v1/reconciliation`: what each agreement still holds
//! (its deposits minus its payouts) and each account's unwithdrawn credit (deferred payments
//! minus withdrawals), summed from the rows the indexer wrote for blocks up to that block. Sums
//! are decimal text and may be negative: a tampered or corrupt mirror is reported, not refused.

use alloy::primitives::{Address, B256};
use sqlx::{PgConnection, Row};

use crate::{address, hash, i64_of, Result};

/// What one agreement holds, as the mirror sums it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRow {
    /// The agreement.
    pub id: B256,
    /// Its token (zero: ETH).
    pub token: Address,
    /// Deposits minus payouts up to the block (decimal, possibly negative).
    pub held: String,
}

/// One account's credit in one token, as the mirror sums it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRow {
    /// The token (zero: ETH).
    pub token: Address,
    /// The account.
    pub account: Address,
    /// Deferred minus withdrawn up to the block (decimal, possibly negative).
    pub amount: String,
}

/// Every agreement created by `block` (revoked ones, without a token, are left out) with its
/// deposits minus payouts up to `block`, by id. One pass over each money table.
pub async fn held_at(conn: &mut PgConnection, chain_id: u64, block: u64) -> Result<Vec<HeldRow>> {
    let rows = sqlx::query(
        "WITH d AS (SELECT agreement_id, sum(amount) AS s FROM deposits \
                    WHERE chain_id = $1 AND block_number <= $2 GROUP BY agreement_id), \
              p AS (SELECT agreement_id, sum(amount) AS s FROM payouts \
                    WHERE chain_id = $1 AND block_number <= $2 GROUP BY agreement_id) \
         SELECT a.id, a.token, (COALESCE(d.s, 0) - COALESCE(p.s, 0))::text AS held \
         FROM agreements a \
           LEFT JOIN d ON d.agreement_id = a.id \
           LEFT JOIN p ON p.agreement_id = a.id \
         WHERE a.chain_id = $1 AND a.created_block <= $2 AND a.token IS NOT NULL \
         ORDER BY a.id",
    )
    .bind(i64_of(chain_id))
    .bind(i64_of(block))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HeldRow {
                id: hash(r.try_get("id")?, "id")?,
                token: address(r.try_get("token")?, "token")?,
                held: r.try_get("held")?,
            })
        })
        .collect()
}

/// Every account ever credited by `block`, with deferred minus withdrawn up to `block`, by token
/// and account.
pub async fn credits_at(
    conn: &mut PgConnection,
    chain_id: u64,
    block: u64,
) -> Result<Vec<CreditRow>> {
    let rows = sqlx::query(
        "SELECT token, account, \
           sum(CASE WHEN withdrawn_to IS NULL THEN amount ELSE -amount END)::text AS amount \
         FROM deferred_payments WHERE chain_id = $1 AND block_number <= $2 \
         GROUP BY token, account ORDER BY token, account",
    )
    .bind(i64_of(chain_id))
    .bind(i64_of(block))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(CreditRow {
                token: address(r.try_get("token")?, "token")?,
                account: address(r.try_get("account")?, "account")?,
                amount: r.try_get("amount")?,
            })
        })
        .collect()
}

/// A small pool for reading the mirror, without applying migrations: an auditor's read of a
/// database must not change its schema. Gives up after 5 s without a connection.
pub async fn connect_read(url: &str) -> Result<sqlx::PgPool> {
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await?)
}
