//! What a signed-in party hears, read back and live: its notifications (a list, newest first,
//! cursor-paged), the live stream (Server-Sent Events, resumable with `Last-Event-ID`), and the
//! catalogue of types with the schema of each one's `data`.
//!
//! One item shape ([`NotificationItem`]) serves the list, the stream's `data:` lines and the
//! webhook payload (`{"type", "timestamp", "data"}` and the id), so one schema documents all three.
//!
//! The stream reads the account's notifications above its cursor in pages, oldest first, and
//! then waits. Streams are woken by one shared `LISTEN` connection per process ([`Wakeup`]); a
//! lost `NOTIFY` (a dropped listener connection) only delays a stream until its next poll, since
//! every read starts from the stream's cursor, never from what a notification said. Ids are
//! assigned in commit order (`pactum_db::notifications`), so reading "above the cursor" never
//! skips an id that commits later.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use alloy::primitives::{Address, B256};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use pactum_db::feed::{FeedRow, Page};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::SignedIn,
    error::{ApiError, Json, Query},
    AppState,
};

/// Routes of the notifications.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(types)).routes(routes!(stream))
}

/// Rows a page of the list holds at most.
const MAX_LIMIT: i64 = 100;
/// Rows the stream reads at a time.
const STREAM_PAGE: i64 = 100;

/// One notification, as the list, the live stream and webhooks send it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationItem {
    /// Its id: ascending in commit order; the stream's event id and the list's cursor.
    pub id: i64,
    /// Its type, one of the catalogue's (`GET /v1/notifications/types`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was published (RFC 3339, UTC).
    pub timestamp: String,
    /// When it happened by the chain's clock (Unix seconds): the event's block time, or the
    /// reminder's planned time.
    pub occurred_at: i64,
    /// The agreement it concerns, if any.
    #[schema(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub agreement_id: Option<B256>,
    /// The milestone it concerns, if any.
    pub milestone: Option<i32>,
    /// What the reader is to it: `brand`, `creator`, `arbiter`, or `account` (a notice about
    /// that account alone).
    #[schema(pattern = "^(brand|creator|arbiter|account)$")]
    pub role: String,
    /// Whether a reorg removed the event it reported (a `notification.retracted` names it). The
    /// stream sends an item once, when it is published, so there it is false.
    pub retracted: bool,
    /// The type's payload.
    #[schema(value_type = NotificationData)]
    pub data: serde_json::Value,
}

impl TryFrom<FeedRow> for NotificationItem {
    type Error = pactum_db::Error;

    fn try_from(r: FeedRow) -> Result<Self, Self::Error> {
        Ok(Self {
            agreement_id: r.agreement()?,
            id: r.id,
            kind: r.kind,
            timestamp: r.timestamp,
            occurred_at: r.occurred_at,
            milestone: r.milestone,
            role: r.role,
            retracted: r.retracted,
            data: r.data,
        })
    }
}

/// A notification's `data`: one shape per family of types (see each type's schema at
/// `GET /v1/notifications/types`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NotificationData {
    /// Every type that reports an escrow event.
    Event(EventData),
    /// `reminder.due`.
    Reminder(ReminderData),
    /// `notification.retracted`.
    Retracted(RetractedData),
    /// `endpoint.disabled`.
    EndpointDisabled(EndpointDisabledData),
}

/// The `data` of a notification that reports an escrow event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventData {
    /// The chain.
    pub chain_id: u64,
    /// The agreement (null for a withdrawal, which names an account only).
    #[schema(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub agreement_id: Option<B256>,
    /// The milestone, if the event names one.
    pub milestone: Option<u32>,
    /// The escrow event's name (`DeliverableSubmitted`).
    pub event: String,
    /// Its decoded parameters by name, as in an agreement's history.
    #[schema(value_type = std::collections::BTreeMap<String, crate::schema::EventFieldValue>)]
    pub fields: serde_json::Value,
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    #[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub block_hash: B256,
    /// Block time (Unix seconds).
    pub block_timestamp: u64,
    /// Transaction hash.
    #[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u32,
    /// The agreement's status after the event (`active`, `terminating`, …), if it is mirrored.
    pub status: Option<String>,
}

/// The `data` of a `reminder.due`: a window closes soon.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderData {
    /// The chain.
    pub chain_id: u64,
    /// The agreement.
    #[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub agreement_id: B256,
    /// The milestone (null: the agreement's own window, a termination's).
    pub milestone: Option<u32>,
    /// Which window.
    #[schema(pattern = "^(review_window|delivery_deadline|contest_window|arbitration_window)$")]
    pub window: String,
    /// When it closes (Unix seconds, the chain's clock).
    pub deadline: i64,
    /// Seconds left when the reminder was sent.
    pub remaining_seconds: i64,
    /// The lead time it was sent for (the shortest of `leads`).
    pub lead_seconds: i32,
    /// Every lead time it covers.
    pub leads: Vec<i32>,
}

/// The `data` of a `notification.retracted`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractedData {
    /// The id of the notification it retracts.
    pub retracts: i64,
    /// That notification's type.
    pub retracted_type: String,
    /// Why, in a sentence.
    pub reason: String,
}

/// The `data` of an `endpoint.disabled`, sent to the endpoint's owner.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointDisabledData {
    /// The endpoint (as in `/v1/webhooks/{id}`).
    pub endpoint_id: i64,
    /// Its URL.
    pub url: String,
    /// Why it was disabled, in a sentence.
    pub reason: String,
}

/// Paging of `GET /v1/notifications`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only notifications with a smaller id (the `older` cursor of the previous page).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Only notifications with a larger id: the oldest `limit` of them (the `newer` cursor).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<NotificationItem>,
    /// Without `after`: pass as `before` for the next older page (absent when this page is not
    /// full: there is none).
    pub older: Option<i64>,
    /// With `after`: pass as `after` for the next newer page (absent when this page is not full:
    /// there is none).
    pub newer: Option<i64>,
}

#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", summary = "The signed-in party's notifications, newest first, cursor-paged", params(ListQuery), responses((status = 200, description = "One page of notifications", body = NotificationPage), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 403, description = "Auditors hear nothing", body = crate::error::ErrorBody), crate::error::SessionErrors), security(("bearer" = [])))]
/// The signed-in party's notifications. Without a cursor: the newest `limit`. With `before`: the
/// newest below it. With `after`: the oldest `limit` above it (still newest first in the page).
async fn list(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    let account = caller.party()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit is 1 to 100"));
    }
    let page = match (q.before, q.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("invalid_cursor", "give before or after, not both"))
        }
        (Some(b), None) if b < 1 => {
            return Err(ApiError::bad_request("invalid_cursor", "before is an id, 1 or more"))
        }
        (None, Some(a)) if a < 0 => {
            return Err(ApiError::bad_request("invalid_cursor", "after is an id, 0 or more"))
        }
        (Some(b), None) => Page::Before(b),
        (None, Some(a)) => Page::After(a),
        (None, None) => Page::Before(i64::MAX),
    };
    let mut conn = state.pool.acquire().await?;
    let rows = pactum_db::feed::page(&mut conn, &state.chain_ids(), account, page, limit).await?;
    let full = rows.len() as i64 == limit;
    let mut items =
        rows.into_iter().map(NotificationItem::try_from).collect::<Result<Vec<_>, _>>()?;
    let (older, newer) = match page {
        Page::Before(_) => (full.then(|| items.last().map(|i| i.id)).flatten(), None),
        Page::After(_) => {
            let newer = full.then(|| items.last().map(|i| i.id)).flatten();
            items.reverse();
            (None, newer)
        }
    };
    Ok(Json(NotificationPage { items, older, newer }))
}

/// One notification type.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationType {
    /// The type, as in payloads (`deliverable.submitted`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The escrow event it reports (null: a reminder or a notice).
    pub event: Option<String>,
    /// What it tells the reader.
    pub summary: String,
    /// The JSON Schema of its `data`: a reference to its component in `/openapi.json` (null for
    /// `endpoint.disabled`, whose payload the webhook endpoints describe).
    pub data_schema: Option<SchemaRef>,
}

/// A JSON Schema that is a reference to a component of `/openapi.json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaRef {
    /// `/openapi.json#/components/schemas/<name>`.
    #[serde(rename = "$ref")]
    #[schema(pattern = "^/openapi\\.json#/components/schemas/[A-Za-z]+$")]
    pub reference: String,
}

/// The catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationTypes {
    /// Every type a party can hear.
    pub types: Vec<NotificationType>,
}

/// The component that describes a type's `data`.
fn data_schema(kind: &pactum_core::notifications::Kind) -> Option<SchemaRef> {
    use pactum_core::notifications::{ENDPOINT_DISABLED, REMINDER, RETRACTED};
    let name = match kind.name {
        _ if kind.event.is_some() => EventData::name(),
        REMINDER => ReminderData::name(),
        RETRACTED => RetractedData::name(),
        ENDPOINT_DISABLED => EndpointDisabledData::name(),
        _ => return None,
    };
    Some(SchemaRef { reference: format!("/openapi.json#/components/schemas/{name}") })
}

#[utoipa::path(get, path = "/v1/notifications/types", tag = "notifications", summary = "The catalogue: every notification type, what it means, and the schema of its data", responses((status = 200, description = "Every type", body = NotificationTypes)), security(()))]
/// Every notification type from the core catalogue.
async fn types() -> Json<NotificationTypes> {
    let types = pactum_core::notifications::CATALOGUE
        .iter()
        .map(|k| NotificationType {
            kind: k.name.to_owned(),
            event: k.event.map(str::to_owned),
            summary: k.summary.to_owned(),
            data_schema: data_schema(k),
        })
        .collect();
    Json(NotificationTypes { types })
}

/// Where a new stream starts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Replay every notification above this id first (a first connection; a reconnection sends
    /// `Last-Event-ID`, which wins). Without either, the stream starts with what comes next.
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "notifications",
    summary = "The signed-in party's notifications, live (Server-Sent Events), resumable with Last-Event-ID",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: every later one is replayed, in id order, before the live ones"),
    ),
    responses(
        (status = 200, description = "An event stream: each event has `id:` (the notification id), `event:` (its type) and `data:` (a NotificationItem as JSON); comment lines keep the connection alive", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed cursor", body = crate::error::ErrorBody),
        (status = 403, description = "Auditors hear nothing", body = crate::error::ErrorBody),
        (status = 401, description = "No valid session", body = crate::error::ErrorBody),
        (status = 429, description = "Too many open streams for this account (`too_many_streams`), or too many requests (`rate_limited`)", body = crate::error::ErrorBody),
        (status = 500, description = "Our fault", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
/// The live stream of the signed-in party.
async fn stream(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let account = caller.party()?;
    let resume = match headers.get("last-event-id") {
        Some(v) => {
            Some(v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "Last-Event-ID is a notification id")
            })?)
        }
        None => q.after,
    };
    if resume.is_some_and(|r| r < 0) {
        return Err(ApiError::bad_request("invalid_cursor", "the cursor is an id, 0 or more"));
    }
    let guard =
        state.streams.open(account, state.cfg.streams_per_account).ok_or_else(|| ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "this account has {} streams open already; close one first",
                    state.cfg.streams_per_account
                ),
            )
        })?;
    let wake = Some(state.wakeup.subscribe(&state.pool));
    let cursor = match resume {
        Some(c) => c,
        // What comes next: everything above the newest id committed now.
        None => {
            let mut conn = state.pool.acquire().await?;
            pactum_db::feed::latest_id(&mut conn).await?
        }
    };
    let mut poll = tokio::time::interval(state.cfg.stream_poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        pool: state.pool.clone(),
        chains: state.chain_ids(),
        account,
        cursor,
        buf: VecDeque::new(),
        wake,
        poll,
        _guard: guard,
    };
    // The stream ends when the server stops (a client resumes elsewhere from its last id).
    let events = futures::StreamExt::take_until(
        futures::stream::unfold(feed, Feed::next),
        state.shutdown.clone().cancelled_owned(),
    );
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(state.cfg.stream_keep_alive));
    let mut res = sse.into_response();
    // Proxies (nginx) must pass events through as they come.
    res.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// One stream's position and what wakes it.
struct Feed {
    pool: PgPool,
    chains: Vec<i64>,
    account: Address,
    /// The id of the last notification sent (or the starting point).
    cursor: i64,
    /// Read, not yet sent.
    buf: VecDeque<FeedRow>,
    wake: Option<watch::Receiver<u64>>,
    poll: tokio::time::Interval,
    _guard: StreamGuard,
}

impl Feed {
    /// The next event; `None` ends the stream (a database failure: the client resumes from its
    /// last id).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(row) = self.buf.pop_front() {
                self.cursor = row.id;
                let item = match NotificationItem::try_from(row) {
                    Ok(i) => i,
                    Err(e) => {
                        tracing::error!(error = %e, "stream: a stored notification is malformed");
                        return None;
                    }
                };
                let data = match serde_json::to_string(&item) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::error!(error = %e, "stream: serialising a notification");
                        return None;
                    }
                };
                let event = Event::default().id(item.id.to_string()).event(&item.kind).data(data);
                return Some((Ok(event), self));
            }
            // Seen before reading: a wake-up that comes during the read is not lost.
            if let Some(w) = self.wake.as_mut() {
                w.borrow_and_update();
            }
            let rows = match self.read().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "stream: reading notifications failed; closing");
                    return None;
                }
            };
            if !rows.is_empty() {
                self.buf.extend(rows);
                continue;
            }
            let woken = async {
                match self.wake.as_mut() {
                    Some(w) => w.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                alive = woken => {
                    if !alive {
                        // The listener is gone for good: polling alone from now on.
                        self.wake = None;
                    }
                }
                _ = self.poll.tick() => {}
            }
        }
    }

    async fn read(&self) -> pactum_db::Result<Vec<FeedRow>> {
        let mut conn = self.pool.acquire().await?;
        pactum_db::feed::page(
            &mut conn,
            &self.chains,
            self.account,
            Page::After(self.cursor),
            STREAM_PAGE,
        )
        .await
    }
}

/// Open streams per account.
#[derive(Debug, Default)]
pub struct Streams {
    open: Arc<Mutex<HashMap<Address, usize>>>,
}

impl Streams {
    /// Counts a new stream of `account`, unless it has `cap` open already.
    fn open(&self, account: Address, cap: usize) -> Option<StreamGuard> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(account).or_default();
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(StreamGuard { open: self.open.clone(), account })
    }

    /// Streams `account` has open now.
    pub fn count(&self, account: Address) -> usize {
        let open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        open.get(&account).copied().unwrap_or_default()
    }
}

/// One open stream; closing it (dropping the response body) frees its place.
struct StreamGuard {
    open: Arc<Mutex<HashMap<Address, usize>>>,
    account: Address,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.account) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.account);
            }
        }
    }
}

/// The process's one `LISTEN` connection on `pactum_db::notifications::CHANNEL`, started by the
/// first stream; streams subscribe to its counter, bumped at every notification and every
/// reconnection (notifications sent while it was away are lost, so every stream reads again).
#[derive(Debug, Default)]
pub struct Wakeup {
    rx: OnceLock<watch::Receiver<u64>>,
}

impl Wakeup {
    /// A receiver of wake-ups, starting the listener if it is not running yet.
    fn subscribe(&self, pool: &PgPool) -> watch::Receiver<u64> {
        let rx = self.rx.get_or_init(|| {
            let (tx, rx) = watch::channel(0u64);
            tokio::spawn(listen(pool.clone(), tx));
            rx
        });
        rx.clone()
    }
}

/// Listens until every stream is gone (the sender has no receivers left is not a reason to stop:
/// new streams subscribe to the same channel), reconnecting after failures.
async fn listen(pool: PgPool, tx: watch::Sender<u64>) {
    let bump = |tx: &watch::Sender<u64>| tx.send_modify(|n| *n = n.wrapping_add(1));
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "notifications listener: connecting failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(pactum_db::notifications::CHANNEL).await {
            tracing::warn!(error = %e, "notifications listener: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever was published while no one listened.
        bump(&tx);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => bump(&tx),
                // The connection was lost (and is re-established by the next call): anything
                // sent meanwhile is lost, so every stream reads again.
                Ok(None) => {
                    tracing::warn!("notifications listener: connection lost; reconnecting");
                    bump(&tx);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notifications listener failed; reconnecting");
                    bump(&tx);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}
