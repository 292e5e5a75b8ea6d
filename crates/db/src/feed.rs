//! What one account hears, read back: its notifications newest first (the list) and oldest first
//! after a given id (the live stream's replay).
//!
//! Both statements walk `notification_audience`'s primary key `(account, notification_id)` from
//! one end, so a page costs its own rows whatever the account's history. Ids are assigned in
//! commit order (see [`crate::notifications`]), so "every id above N" read after N was seen is
//! gap-free: the stream's resumption rests on that.

use alloy::primitives::{Address, B256};
use sqlx::PgConnection;

use crate::Result;

/// The columns of one notification as an account hears it.
macro_rules! columns {
    () => {
        "SELECT n.id, n.type, \
         to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
         AS timestamp, n.occurred_at, n.agreement_id, n.milestone, a.role, n.retracted, n.data \
         FROM notification_audience a JOIN notifications n ON n.id = a.notification_id "
    };
}

// Both statements are written so that only the primary key `(account, notification_id)` can serve
// them in order: the account is bounded by a range on one side and a row comparison on the other
// (together: exactly this account, from the cursor on), so its order is `(account, id)`, which
// the ids-only index `notification_audience_notification` cannot give without sorting. Written
// plainly (`account = $2 AND notification_id < $3 ORDER BY notification_id`), the planner may walk
// that index and filter by account, reading thousands of other accounts' rows per page; the
// EXPLAIN test (tests/feed.rs) caught it for an account with 1 in 60 of the rows.

/// The newest notifications of account `$2` on the chains `$1` below id `$3`, newest first.
pub const NEWEST_BELOW: &str = concat!(
    columns!(),
    "WHERE a.account >= $2 AND (a.account, a.notification_id) < ($2, $3) AND n.chain_id = ANY($1) \
    ORDER BY a.account DESC, a.notification_id DESC LIMIT $4"
);

/// The oldest notifications of account `$2` on the chains `$1` above id `$3`, oldest first.
pub const OLDEST_ABOVE: &str = concat!(
    columns!(),
    "WHERE a.account <= $2 AND (a.account, a.notification_id) > ($2, $3) AND n.chain_id = ANY($1) \
    ORDER BY a.account, a.notification_id LIMIT $4"
);

/// One notification as its recipient reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FeedRow {
    /// Its id: the stream's event id and the list's cursor.
    pub id: i64,
    /// Its type (the catalogue's name).
    #[sqlx(rename = "type")]
    pub kind: String,
    /// When it was published (RFC 3339, UTC).
    pub timestamp: String,
    /// When it happened by the chain's clock (Unix seconds).
    pub occurred_at: i64,
    /// The agreement it concerns, if any.
    pub agreement_id: Option<Vec<u8>>,
    /// The milestone it concerns, if any.
    pub milestone: Option<i32>,
    /// What the account is to it: `brand`, `creator`, `arbiter` or `account`.
    pub role: String,
    /// Whether a reorg removed the event it reported.
    pub retracted: bool,
    /// The payload's `data`.
    pub data: serde_json::Value,
}

impl FeedRow {
    /// The agreement id as a hash (a stored value of another length is corrupt).
    pub fn agreement(&self) -> Result<Option<B256>> {
        self.agreement_id.clone().map(|v| crate::hash(v, "agreement_id")).transpose()
    }
}

/// Which end of an account's notifications a page starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest below this id (`i64::MAX`: the newest of all), newest first.
    Before(i64),
    /// The oldest above this id, oldest first.
    After(i64),
}

/// Up to `limit` notifications of `account` on the chains `chains` (a deployment's served chains:
/// one feed for all of them, in id order), from the page's end.
pub async fn page(
    conn: &mut PgConnection,
    chains: &[i64],
    account: Address,
    page: Page,
    limit: i64,
) -> Result<Vec<FeedRow>> {
    let (sql, bound) = match page {
        Page::Before(id) => (NEWEST_BELOW, id),
        Page::After(id) => (OLDEST_ABOVE, id),
    };
    Ok(sqlx::query_as(sql)
        .bind(chains)
        .bind(account.to_vec())
        .bind(bound)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// The newest notification id committed (0: none yet): a stream that starts "from now" starts
/// above it. Ids are assigned in commit order, so nothing committed later falls below it.
pub async fn latest_id(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT coalesce(max(id), 0)::int8 FROM notifications")
        .fetch_one(conn)
        .await?)
}
