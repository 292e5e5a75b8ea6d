//! Webhook endpoints and their deliveries: the statements the API (an account managing its own
//! endpoints) and the dispatcher (`pactum-notify`, sending what `notifications::publish` fanned
//! out) run.
//!
//! The delivery rows are a queue with lanes: deliveries of one (endpoint, agreement) go out one at
//! a time in notification order, so a receiver sees an agreement's events in the order they
//! happened. [`claim`] takes the head of each due lane in one statement and counts the attempt at
//! claim time (a reorg's retraction goes to every endpoint whose delivery was attempted, even one
//! still in flight); the lease it sets is what makes a crashed dispatcher's work come back.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use serde_json::Value;
use sqlx::PgConnection;

use crate::Result;

/// An endpoint as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    /// Its id.
    pub id: i64,
    /// The owning account (20 bytes).
    pub account: Vec<u8>,
    /// Where deliveries are posted.
    pub url: String,
    /// The owner's note.
    pub description: String,
    /// `whsec_…`: the signing secret.
    pub secret: String,
    /// The secret before the last rotation, signing too until `previous_expires_at`.
    pub previous_secret: Option<String>,
    /// Unix seconds the previous secret stops signing.
    pub previous_expires_at: Option<i64>,
    /// Types let through (empty: all).
    pub event_types: Vec<String>,
    /// Agreements let through (empty: all).
    pub agreement_ids: Vec<Vec<u8>>,
    /// Roles let through (empty: all).
    pub roles: Vec<String>,
    /// Reminder lead times, in seconds.
    pub reminder_leads: Vec<i32>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Unix seconds of the first failure since the last success.
    pub failing_since: Option<i64>,
    /// Unix seconds it was registered.
    pub created_at: i64,
}

const ENDPOINT_COLUMNS: &str = "id, account, url, description, secret, previous_secret, \
    extract(epoch FROM previous_expires_at)::int8 AS previous_expires_at, event_types, \
    agreement_ids, roles, reminder_leads, enabled, disabled_reason, \
    extract(epoch FROM failing_since)::int8 AS failing_since, \
    extract(epoch FROM created_at)::int8 AS created_at";

/// What an account registers.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where deliveries are posted.
    pub url: String,
    /// The owner's note.
    pub description: String,
    /// The signing secret.
    pub secret: String,
    /// Types let through (empty: all).
    pub event_types: Vec<String>,
    /// Agreements let through (empty: all).
    pub agreement_ids: Vec<B256>,
    /// Roles let through (empty: all).
    pub roles: Vec<String>,
    /// Reminder lead times, in seconds.
    pub reminder_leads: Vec<i32>,
}

/// How many endpoints `account` has.
pub async fn count_endpoints(conn: &mut PgConnection, account: Address) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE account = $1")
        .bind(account.as_slice())
        .fetch_one(conn)
        .await?)
}

/// Advisory-lock class of an account's endpoint list ("WHEP"); the second key is the account's.
const ENDPOINTS_LOCK: i32 = 0x5748_4550;

/// Registers an endpoint for `account` unless it has `cap` already (`None`). Takes a lock on the
/// account's list for the rest of the transaction, so concurrent registrations cannot both pass
/// the count: run it in a transaction.
pub async fn insert_endpoint(
    conn: &mut PgConnection,
    account: Address,
    e: &NewEndpoint,
    cap: i64,
) -> Result<Option<Endpoint>> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(encode($2, 'hex')))")
        .bind(ENDPOINTS_LOCK)
        .bind(account.as_slice())
        .execute(&mut *conn)
        .await?;
    if count_endpoints(&mut *conn, account).await? >= cap {
        return Ok(None);
    }
    let agreements: Vec<Vec<u8>> = e.agreement_ids.iter().map(|a| a.to_vec()).collect();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhook_endpoints (account, url, description, secret, event_types, \
         agreement_ids, roles, reminder_leads) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING {ENDPOINT_COLUMNS}"
    )))
    .bind(account.as_slice())
    .bind(&e.url)
    .bind(&e.description)
    .bind(&e.secret)
    .bind(&e.event_types)
    .bind(&agreements)
    .bind(&e.roles)
    .bind(&e.reminder_leads)
    .fetch_optional(conn)
    .await?)
}

/// Wakes the dispatchers (at commit): work was queued outside `notifications::publish`.
pub async fn wake(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::notifications::CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// `account`'s endpoints, oldest first.
pub async fn endpoints_of(conn: &mut PgConnection, account: Address) -> Result<Vec<Endpoint>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account = $1 ORDER BY id"
    )))
    .bind(account.as_slice())
    .fetch_all(conn)
    .await?)
}

/// Endpoint `id` if `account` owns it (another's is as absent as a missing one).
pub async fn endpoint(
    conn: &mut PgConnection,
    account: Address,
    id: i64,
) -> Result<Option<Endpoint>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND account = $2"
    )))
    .bind(id)
    .bind(account.as_slice())
    .fetch_optional(conn)
    .await?)
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    /// New URL.
    pub url: Option<String>,
    /// New note.
    pub description: Option<String>,
    /// New type filter.
    pub event_types: Option<Vec<String>>,
    /// New agreement filter.
    pub agreement_ids: Option<Vec<B256>>,
    /// New role filter.
    pub roles: Option<Vec<String>>,
    /// New reminder lead times.
    pub reminder_leads: Option<Vec<i32>>,
    /// Enable (clears the failure record) or disable.
    pub enabled: Option<bool>,
}

/// Applies `change` to `account`'s endpoint `id`; `None` if it has no such endpoint.
pub async fn update_endpoint(
    conn: &mut PgConnection,
    account: Address,
    id: i64,
    change: &EndpointChange,
) -> Result<Option<Endpoint>> {
    let agreements: Option<Vec<Vec<u8>>> =
        change.agreement_ids.as_ref().map(|v| v.iter().map(|a| a.to_vec()).collect());
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE webhook_endpoints SET url = coalesce($3, url), \
         description = coalesce($4, description), event_types = coalesce($5, event_types), \
         agreement_ids = coalesce($6, agreement_ids), roles = coalesce($7, roles), \
         reminder_leads = coalesce($8, reminder_leads), enabled = coalesce($9, enabled), \
         disabled_reason = CASE WHEN $9 THEN NULL WHEN $9 = false THEN 'disabled by its owner' \
                           ELSE disabled_reason END, \
         failing_since = CASE WHEN $9 THEN NULL ELSE failing_since END, updated_at = now() \
         WHERE id = $1 AND account = $2 RETURNING {ENDPOINT_COLUMNS}"
    )))
    .bind(id)
    .bind(account.as_slice())
    .bind(&change.url)
    .bind(&change.description)
    .bind(&change.event_types)
    .bind(&agreements)
    .bind(&change.roles)
    .bind(&change.reminder_leads)
    .bind(change.enabled)
    .fetch_optional(conn)
    .await?)
}

/// Deletes `account`'s endpoint `id` (its deliveries and log with it); false if it has none.
pub async fn delete_endpoint(conn: &mut PgConnection, account: Address, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND account = $2")
        .bind(id)
        .bind(account.as_slice())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the secret of `account`'s endpoint `id`; the old one keeps signing for `overlap`.
pub async fn rotate_secret(
    conn: &mut PgConnection,
    account: Address,
    id: i64,
    secret: &str,
    overlap: Duration,
) -> Result<Option<Endpoint>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE webhook_endpoints SET previous_secret = secret, secret = $3, \
         previous_expires_at = now() + make_interval(secs => $4), updated_at = now() \
         WHERE id = $1 AND account = $2 RETURNING {ENDPOINT_COLUMNS}"
    )))
    .bind(id)
    .bind(account.as_slice())
    .bind(secret)
    .bind(overlap.as_secs_f64())
    .fetch_optional(conn)
    .await?)
}

/// The endpoint filter of `notifications::fan_out`, for endpoint `e` and notification `n` heard
/// by `a`: replay sends exactly what the fan-out would have.
const FILTER: &str = "(cardinality(e.event_types) = 0 OR n.type = ANY(e.event_types) \
        OR n.type = 'notification.retracted') \
    AND (cardinality(e.agreement_ids) = 0 OR n.agreement_id = ANY(e.agreement_ids)) \
    AND (cardinality(e.roles) = 0 OR a.role = ANY(e.roles) OR a.role = 'account') \
    AND (n.type <> 'reminder.due' OR e.reminder_leads && ARRAY( \
        SELECT jsonb_array_elements_text(n.data->'leads')::int4))";

/// Queues notifications `from..=to` of `account`'s endpoint `id` again (those its owner heard
/// and its filters let through, never a retracted one): existing deliveries go back to pending
/// with no attempts, missing ones are added. Returns how many; `None` if it has no such endpoint.
pub async fn replay(
    conn: &mut PgConnection,
    account: Address,
    id: i64,
    from: i64,
    to: i64,
) -> Result<Option<u64>> {
    if endpoint(conn, account, id).await?.is_none() {
        return Ok(None);
    }
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhook_deliveries (endpoint_id, notification_id, lane) \
         SELECT e.id, n.id, coalesce(n.agreement_id, '\\x'::bytea) \
         FROM webhook_endpoints e \
         JOIN notification_audience a ON a.account = e.account \
         JOIN notifications n ON n.id = a.notification_id \
         WHERE e.id = $1 AND e.account = $2 AND n.id BETWEEN $3 AND $4 AND NOT n.retracted \
           AND {FILTER} \
         ORDER BY n.id \
         ON CONFLICT (endpoint_id, notification_id) DO UPDATE SET status = 'pending', \
           attempts = 0, next_attempt_at = now(), delivered_at = NULL"
    )))
    .bind(id)
    .bind(account.as_slice())
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(Some(done.rows_affected()))
}

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    /// Its id (the log's cursor).
    pub id: i64,
    /// The notification delivered.
    pub notification_id: i64,
    /// Which attempt of that delivery (1 is the first).
    pub attempt: i32,
    /// Unix milliseconds it was made.
    pub at_ms: i64,
    /// The receiver's status code (none: no answer).
    pub status_code: Option<i32>,
    /// How long it took.
    pub duration_ms: i32,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// Endpoint `endpoint_id`'s attempts, newest first, below `before` (an attempt id), at most
/// `limit`.
pub async fn attempts(
    conn: &mut PgConnection,
    endpoint_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Attempt>> {
    Ok(sqlx::query_as(
        "SELECT id, notification_id, attempt, (extract(epoch FROM at) * 1000)::int8 AS at_ms, \
         status_code, duration_ms, error FROM webhook_attempts \
         WHERE endpoint_id = $1 AND ($2::int8 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(endpoint_id)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A delivery claimed for sending, with all that sending needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// The endpoint.
    pub endpoint_id: i64,
    /// The notification.
    pub notification_id: i64,
    /// This attempt's number (counted at claim).
    pub attempts: i32,
    /// The notification's type.
    #[sqlx(rename = "type")]
    pub kind: String,
    /// Its `data`.
    pub data: Value,
    /// When it was written, RFC 3339 UTC (the same on every attempt).
    pub timestamp: String,
    /// Where to post.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// The previous secret, while it still signs.
    pub previous_secret: Option<String>,
}

/// Claims up to `limit` due deliveries, each the head of its lane (the lowest pending
/// notification of an (endpoint, agreement)) on an enabled endpoint: counts the attempt and
/// leases it for `lease` (no other dispatcher claims it until then). One statement; a row two
/// dispatchers race for is re-checked after the first one's update, so only one gets it.
///
/// At most `per_endpoint` per endpoint, less what `busy` says it already has in flight (pairs of
/// endpoint id and count): a slow endpoint with many lanes cannot take every slot.
pub async fn claim(
    conn: &mut PgConnection,
    lease: Duration,
    limit: i64,
    per_endpoint: i32,
    busy: &[(i64, i32)],
) -> Result<Vec<Claimed>> {
    let (busy_ids, busy_n): (Vec<i64>, Vec<i32>) = busy.iter().copied().unzip();
    Ok(sqlx::query_as(
        "WITH heads AS ( \
             SELECT DISTINCT ON (d.endpoint_id, d.lane) d.endpoint_id, d.notification_id, \
                    d.next_attempt_at \
             FROM webhook_deliveries d \
             WHERE d.status = 'pending' \
             ORDER BY d.endpoint_id, d.lane, d.notification_id \
         ), due AS ( \
             SELECT h.endpoint_id, h.notification_id, n.type, n.data, \
                    to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
                        AS timestamp, \
                    e.url, e.secret, \
                    CASE WHEN e.previous_expires_at > now() THEN e.previous_secret END \
                        AS previous_secret \
             FROM ( \
                 SELECT h.*, row_number() OVER ( \
                     PARTITION BY h.endpoint_id ORDER BY h.next_attempt_at) AS rn \
                 FROM heads h WHERE h.next_attempt_at <= clock_timestamp() \
             ) h \
             JOIN webhook_endpoints e ON e.id = h.endpoint_id AND e.enabled \
             JOIN notifications n ON n.id = h.notification_id \
             LEFT JOIN unnest($4::int8[], $5::int4[]) AS busy (endpoint_id, n) \
                 ON busy.endpoint_id = h.endpoint_id \
             WHERE h.rn <= $3 - coalesce(busy.n, 0) \
             ORDER BY h.next_attempt_at \
             LIMIT $2 \
         ) \
         UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
             last_attempt_at = clock_timestamp(), \
             next_attempt_at = clock_timestamp() + make_interval(secs => $1) \
         FROM due \
         WHERE d.endpoint_id = due.endpoint_id AND d.notification_id = due.notification_id \
           AND d.status = 'pending' AND d.next_attempt_at <= clock_timestamp() \
         RETURNING d.endpoint_id, d.notification_id, d.attempts, due.type, due.data, \
             due.timestamp, due.url, due.secret, due.previous_secret",
    )
    .bind(lease.as_secs_f64())
    .bind(limit)
    .bind(per_endpoint)
    .bind(&busy_ids)
    .bind(&busy_n)
    .fetch_all(conn)
    .await?)
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver's status code (none: no answer).
    pub status_code: Option<u16>,
    /// How long it took.
    pub duration: Duration,
    /// What went wrong (none: a 2xx).
    pub error: Option<String>,
}

/// Logs attempt `attempt` of a delivery and marks the delivery delivered, which also clears the
/// endpoint's failure record.
pub async fn record_success(
    conn: &mut PgConnection,
    endpoint_id: i64,
    notification_id: i64,
    attempt: i32,
    outcome: &Outcome,
) -> Result<()> {
    log_attempt(&mut *conn, endpoint_id, notification_id, attempt, outcome).await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now() \
         WHERE endpoint_id = $1 AND notification_id = $2 AND status = 'pending'",
    )
    .bind(endpoint_id)
    .bind(notification_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = NULL \
         WHERE id = $1 AND failing_since IS NOT NULL",
    )
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Logs failed attempt `attempt` of a delivery and schedules the next in `retry_in`, or marks it
/// dead when there is none; starts the endpoint's failure record if it is not running. A
/// delivery claimed again since (this attempt outlived its lease) is left to that claim.
pub async fn record_failure(
    conn: &mut PgConnection,
    endpoint_id: i64,
    notification_id: i64,
    attempt: i32,
    outcome: &Outcome,
    retry_in: Option<Duration>,
) -> Result<()> {
    log_attempt(&mut *conn, endpoint_id, notification_id, attempt, outcome).await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET \
           status = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'pending' END, \
           next_attempt_at = CASE WHEN $4::float8 IS NULL THEN next_attempt_at \
                             ELSE now() + make_interval(secs => $4) END \
         WHERE endpoint_id = $1 AND notification_id = $2 AND status = 'pending' \
           AND attempts = $3",
    )
    .bind(endpoint_id)
    .bind(notification_id)
    .bind(attempt)
    .bind(retry_in.map(|d| d.as_secs_f64()))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1",
    )
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn log_attempt(
    conn: &mut PgConnection,
    endpoint_id: i64,
    notification_id: i64,
    attempt: i32,
    o: &Outcome,
) -> Result<()> {
    let error = o.error.as_ref().map(|e| e.chars().take(500).collect::<String>());
    sqlx::query(
        "INSERT INTO webhook_attempts (endpoint_id, notification_id, attempt, status_code, \
         duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(endpoint_id)
    .bind(notification_id)
    .bind(attempt)
    .bind(o.status_code.map(i32::from))
    .bind(i32::try_from(o.duration.as_millis()).unwrap_or(i32::MAX))
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Disables endpoint `endpoint_id` if it has been failing for longer than `after`; returns its
/// owner if it did (the caller tells them).
pub async fn disable_if_failing(
    conn: &mut PgConnection,
    endpoint_id: i64,
    after: Duration,
    reason: &str,
) -> Result<Option<Address>> {
    let owner: Option<Vec<u8>> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now() \
         WHERE id = $1 AND enabled AND failing_since < now() - make_interval(secs => $2) \
         RETURNING account",
    )
    .bind(endpoint_id)
    .bind(after.as_secs_f64())
    .bind(reason)
    .fetch_optional(conn)
    .await?;
    owner.map(|a| crate::address(a, "account")).transpose()
}
