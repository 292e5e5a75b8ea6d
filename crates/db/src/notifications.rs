//! The notification outbox: what each party hears, written in the transaction of what caused it.
//!
//! The indexer publishes an event's notifications in the transaction that mirrors the event, and a
//! rollback retracts them in the transaction that removes it, so no notification outlives its
//! event and none is missed. Every writer goes through [`publish`], which holds one advisory lock
//! from drawing ids to commit: ids are therefore assigned in commit order, and a reader that has
//! seen id N has seen every id below it (the live stream and webhook replay rely on that).
//! Publishing also fans out webhook deliveries to the endpoints whose filters match, in the same
//! transaction, and wakes listeners with `NOTIFY` (delivered at commit, so never early).

use alloy::primitives::{Address, B256};
use serde_json::Value;
use sqlx::PgConnection;

use crate::{
    copy::{BinaryCopy, CopyIn, Field},
    i64_of, Result,
};

/// The `LISTEN` channel woken on every commit that publishes notifications.
pub const CHANNEL: &str = "pactum_notifications";

/// Advisory-lock class of the outbox ("NOTI"); the second key is always 0.
const LOCK_CLASS: i32 = 0x4E4F_5449;

/// The type of the notice that a reorg removed an earlier notification's event.
pub const RETRACTED: &str = "notification.retracted";

/// Who hears a notification, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The account.
    pub account: Address,
    /// `brand`, `creator`, `arbiter`, or `account` (a notice about that account alone).
    pub role: &'static str,
}

/// The escrow event a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u32,
}

/// A notification to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Its type, e.g. `deliverable.submitted` (see the event catalogue).
    pub kind: String,
    /// The chain.
    pub chain_id: u64,
    /// The agreement it concerns, if any.
    pub agreement_id: Option<B256>,
    /// The milestone it concerns, if any.
    pub milestone: Option<u32>,
    /// The event it reports (none for reminders and notices).
    pub source: Option<Source>,
    /// When it happened, in Unix seconds by the chain's clock.
    pub occurred_at: u64,
    /// The payload's `data`.
    pub data: Value,
    /// Who hears it (an account at most once).
    pub audience: Vec<Recipient>,
}

/// Takes the outbox lock for the rest of the transaction. [`publish`] takes it; a caller that
/// must decide what to publish under it (so two writers cannot both decide) takes it first.
pub async fn lock(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, 0)").bind(LOCK_CLASS).execute(conn).await?;
    Ok(())
}

/// Writes `notes` in the caller's transaction, fans out their webhook deliveries and wakes the
/// listeners at commit; returns their ids, in `notes`' order. Takes the outbox lock (held until the
/// transaction ends), so call it as late in the transaction as possible.
pub async fn publish(conn: &mut PgConnection, notes: &[NewNotification]) -> Result<Vec<i64>> {
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    lock(conn).await?;
    // The batch's ids as one range: under the outbox lock nobody else draws from the sequence
    // (every writer publishes through here), so moving it past the range in one statement gives
    // the same ids as drawing them one by one, which took 80 ms per 8,000 notifications.
    let n = i64::try_from(notes.len()).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query_scalar(
        "SELECT setval(pg_get_serial_sequence('notifications', 'id'), \
           nextval(pg_get_serial_sequence('notifications', 'id')) + $1 - 1)",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let ids: Vec<i64> = (last - n + 1..=last).collect();

    // Both tables by binary COPY (see `crate::copy`): measured on the indexer benchmark's
    // 100,000 notifications, the `INSERT … SELECT FROM unnest(…)` of the same rows spent as long
    // building its array parameters as inserting.
    let mut notifications = BinaryCopy::new(&COPY_NOTIFICATIONS, notes.len() * 768);
    let mut audience = BinaryCopy::new(&COPY_AUDIENCE, notes.len() * 3 * 48);
    for (note, &id) in notes.iter().zip(&ids) {
        let data = note.data.to_string();
        let agreement = note.agreement_id;
        let source = note.source;
        notifications.row([
            Field::Int8(id),
            Field::Bytes(note.kind.as_bytes()),
            Field::Int8(i64_of(note.chain_id)),
            agreement.as_ref().map_or(Field::Null, |a| Field::Bytes(a.as_slice())),
            note.milestone
                .map(|m| crate::int4(m, "milestone"))
                .transpose()?
                .map_or(Field::Null, Field::Int4),
            source.map_or(Field::Null, |s| Field::Int8(i64_of(s.block_number))),
            source.as_ref().map_or(Field::Null, |s| Field::Bytes(s.block_hash.as_slice())),
            source.as_ref().map_or(Field::Null, |s| Field::Bytes(s.tx_hash.as_slice())),
            source
                .map(|s| crate::int4(s.log_index, "log_index"))
                .transpose()?
                .map_or(Field::Null, Field::Int4),
            Field::Int8(i64_of(note.occurred_at)),
            Field::Jsonb(&data),
        ])?;
        // An account hears a notification once (the table's key), as its first role listed.
        let mut seen: Vec<Address> = Vec::with_capacity(note.audience.len());
        for r in &note.audience {
            if seen.contains(&r.account) {
                continue;
            }
            seen.push(r.account);
            audience.row([
                Field::Int8(id),
                Field::Bytes(r.account.as_slice()),
                Field::Bytes(r.role.as_bytes()),
            ])?;
        }
    }
    for (target, payload) in [
        (COPY_NOTIFICATIONS.statement(), notifications.finish()),
        (COPY_AUDIENCE.statement(), audience.finish()),
    ] {
        let mut sink = conn.copy_in_raw(&target).await?;
        sink.send(payload).await?;
        sink.finish().await?;
    }
    fan_out(conn, &ids).await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(ids.last().copied().unwrap_or_default().to_string())
        .execute(&mut *conn)
        .await?;
    Ok(ids)
}

/// `notifications` as [`publish`] copies it.
const COPY_NOTIFICATIONS: CopyIn<11> = CopyIn {
    table: "notifications",
    columns: [
        "id",
        "type",
        "chain_id",
        "agreement_id",
        "milestone",
        "block_number",
        "block_hash",
        "tx_hash",
        "log_index",
        "occurred_at",
        "data",
    ],
};

/// `notification_audience` as [`publish`] copies it.
const COPY_AUDIENCE: CopyIn<3> =
    CopyIn { table: "notification_audience", columns: ["notification_id", "account", "role"] };

/// Creates the webhook deliveries of notifications `ids`: one per enabled endpoint of a recipient
/// whose filters (event types, agreements, roles, reminder lead times: a reminder covers every
/// lead it was sent for) let it through.
/// A retraction goes only to endpoints that may have received what it retracts.
async fn fan_out(conn: &mut PgConnection, ids: &[i64]) -> Result<u64> {
    // Without an enabled endpoint there is nothing to match: one probe of the partial index
    // `webhook_endpoints_enabled` instead of joining the batch's notifications and audience (55 ms
    // per 8,000 notifications) to find nothing. An endpoint committed between this check and the
    // insert's own snapshot could be missed; registering one does not take the outbox lock, so the
    // join alone had the same race with a registration committing just after it.
    let any: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled)")
            .fetch_one(&mut *conn)
            .await?;
    if !any {
        return Ok(0);
    }
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (endpoint_id, notification_id, lane) \
         SELECT e.id, n.id, coalesce(n.agreement_id, '\\x'::bytea) \
         FROM notifications n \
         JOIN notification_audience a ON a.notification_id = n.id \
         JOIN webhook_endpoints e ON e.account = a.account AND e.enabled \
         WHERE n.id = ANY($1) \
           AND (cardinality(e.event_types) = 0 OR n.type = ANY(e.event_types) \
                OR n.type = 'notification.retracted') \
           AND (cardinality(e.agreement_ids) = 0 OR n.agreement_id = ANY(e.agreement_ids)) \
           AND (cardinality(e.roles) = 0 OR a.role = ANY(e.roles) OR a.role = 'account') \
           AND (n.type <> 'reminder.due' OR e.reminder_leads && ARRAY( \
                SELECT jsonb_array_elements_text(n.data->'leads')::int4)) \
           AND (n.type <> 'notification.retracted' OR EXISTS ( \
                SELECT 1 FROM webhook_deliveries o \
                WHERE o.endpoint_id = e.id AND o.notification_id = (n.data->>'retracts')::int8 \
                  AND (o.status = 'delivered' OR o.attempts > 0))) \
         ORDER BY n.id \
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Retracts the live notifications of events above block `ancestor` (a reorg removed them):
/// marks them retracted, cancels their pending deliveries, and publishes one
/// `notification.retracted` notice for each, to the same audience. Returns how many it retracted.
pub async fn retract_above(conn: &mut PgConnection, chain_id: u64, ancestor: u64) -> Result<u64> {
    lock(conn).await?;
    let rows: Vec<Retracted> = sqlx::query_as(
        "UPDATE notifications SET retracted = true \
         WHERE chain_id = $1 AND block_number > $2 AND NOT retracted \
         RETURNING id, type, agreement_id, milestone, occurred_at",
    )
    .bind(i64_of(chain_id))
    .bind(i64_of(ancestor))
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    // Its event is gone: nothing more is sent. A delivery never attempted was seen by nobody, so
    // its endpoint gets no retraction either (see `fan_out`); a delivery in flight has counted its
    // attempt when it was claimed, so its endpoint does.
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'cancelled' \
         WHERE notification_id = ANY($1) AND status = 'pending'",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    let audience: Vec<(i64, Vec<u8>, String)> = sqlx::query_as(
        "SELECT notification_id, account, role FROM notification_audience \
         WHERE notification_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut notes = Vec::with_capacity(rows.len());
    for Retracted { id, kind, agreement_id: agreement, milestone, occurred_at } in rows {
        let agreement_id = agreement.map(|v| crate::hash(v, "agreement_id")).transpose()?;
        let audience = audience
            .iter()
            .filter(|a| a.0 == id)
            .map(|a| {
                Ok(Recipient {
                    account: crate::address(a.1.clone(), "account")?,
                    role: role_of(&a.2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        notes.push(NewNotification {
            kind: RETRACTED.to_owned(),
            chain_id,
            agreement_id,
            milestone: milestone.and_then(|m| u32::try_from(m).ok()),
            source: None,
            occurred_at: u64::try_from(occurred_at).unwrap_or_default(),
            data: serde_json::json!({
                "retracts": id,
                "retracted_type": kind,
                "reason": "a chain reorganisation removed the event it reported",
            }),
            audience,
        });
    }
    publish(conn, &notes).await?;
    Ok(ids.len() as u64)
}

/// A notification a rollback retracted.
#[derive(sqlx::FromRow)]
struct Retracted {
    id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    agreement_id: Option<Vec<u8>>,
    milestone: Option<i32>,
    occurred_at: i64,
}

fn role_of(s: &str) -> Result<&'static str> {
    ["brand", "creator", "arbiter", "account"]
        .into_iter()
        .find(|r| *r == s)
        .ok_or_else(|| crate::Error::Corrupt { column: "role", value: s.to_owned() })
}
