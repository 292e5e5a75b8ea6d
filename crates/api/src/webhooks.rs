//! `/v1/webhooks`: a signed-in party registers, changes, rotates, replays and inspects its own
//! webhook endpoints; `pactum-notify` delivers to them.
//!
//! Everything here is the caller's own: another account's endpoint answers 404, exactly as a
//! missing one, so ids cannot be probed. The secret is shown twice only: on creation and on
//! rotation. Target URLs are checked before anything is written: http or https, no credentials,
//! and (unless `webhooks_allow_private`) no loopback, private, link-local or unspecified address,
//! so the server cannot be aimed at its own network; the dispatcher checks again at send time.

use alloy::primitives::{Address, B256};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use base64::Engine;
use pactum_db::webhooks::{Attempt, Endpoint, EndpointChange, NewEndpoint};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::SignedIn,
    error::{ApiError, BodyErrors, ErrorBody, Json, Query, SessionErrors},
    AppState,
};

/// Endpoints one account may register.
pub const MAX_ENDPOINTS: i64 = 10;
/// Reminder lead times an endpoint may ask for.
pub const MAX_REMINDER_LEADS: usize = 8;
/// The shortest reminder lead time, in seconds.
pub const MIN_REMINDER_LEAD: u32 = 60;
/// The longest reminder lead time, in seconds (30 days).
pub const MAX_REMINDER_LEAD: u32 = 30 * 86_400;
/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
const MAX_EVENT_TYPES: usize = 32;
const MAX_AGREEMENTS: usize = 100;
const ROLES: [&str; 3] = ["brand", "creator", "arbiter"];

/// Routes of the webhook endpoints.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update, remove))
        .routes(routes!(rotate))
        .routes(routes!(replay))
        .routes(routes!(deliveries))
}

/// An endpoint to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are posted (http or https; public addresses only).
    pub url: String,
    /// A note for yourself.
    #[serde(default)]
    pub description: String,
    /// Notification types to receive (empty or absent: all); see the catalogue.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Agreements to receive notifications of (empty or absent: all of yours).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub agreement_ids: Vec<B256>,
    /// Roles to receive notifications as: `brand`, `creator`, `arbiter` (empty or absent: all).
    /// Notices about your account alone always come.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Seconds before a deadline at which reminders come (60 s to 30 days, at most 8; absent:
    /// 48 h and 24 h).
    pub reminder_leads: Option<Vec<u32>>,
}

/// A change to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookChange {
    /// New URL.
    pub url: Option<String>,
    /// New note.
    pub description: Option<String>,
    /// New type filter.
    pub event_types: Option<Vec<String>>,
    /// New agreement filter.
    #[schema(value_type = Option<Vec<String>>)]
    pub agreement_ids: Option<Vec<B256>>,
    /// New role filter.
    pub roles: Option<Vec<String>>,
    /// New reminder lead times.
    pub reminder_leads: Option<Vec<u32>>,
    /// `true` re-enables a disabled endpoint (its failure record starts afresh); `false`
    /// pauses it (deliveries wait).
    pub enabled: Option<bool>,
}

/// An endpoint as its owner sees it (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// Its id.
    pub id: i64,
    /// Where deliveries are posted.
    pub url: String,
    /// The owner's note.
    pub description: String,
    /// Types received (empty: all).
    pub event_types: Vec<String>,
    /// Agreements received (empty: all).
    #[schema(value_type = Vec<String>)]
    pub agreement_ids: Vec<B256>,
    /// Roles received (empty: all).
    pub roles: Vec<String>,
    /// Reminder lead times, in seconds.
    pub reminder_leads: Vec<i32>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Unix time of the first failure since the last success (absent: healthy).
    pub failing_since: Option<i64>,
    /// Unix time the previous secret stops signing, after a rotation.
    pub previous_secret_expires_at: Option<i64>,
    /// Unix time it was registered.
    pub created_at: i64,
}

/// An endpoint with its signing secret (on creation and rotation only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    /// The endpoint.
    pub endpoint: WebhookView,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Shown now only.
    pub secret: String,
}

/// The caller's endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub items: Vec<WebhookView>,
}

/// What to send again, under the same `webhook-id`s.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReplayRequest {
    /// One notification.
    One {
        /// Its id.
        #[serde(rename = "notificationId")]
        notification_id: i64,
    },
    /// Every notification from this id on.
    Since {
        /// The first id.
        #[serde(rename = "notificationId")]
        notification_id: i64,
    },
}

/// What a replay queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayResult {
    /// Deliveries queued (notifications of yours that the endpoint's filters let through).
    pub queued: u64,
}

/// One delivery attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// The attempt's id (the page cursor).
    pub id: i64,
    /// The notification.
    pub notification_id: i64,
    /// Its `webhook-id` header.
    pub webhook_id: String,
    /// Which attempt of that delivery (1: the first).
    pub attempt: i32,
    /// Unix milliseconds it was made.
    pub at_ms: i64,
    /// The receiver's HTTP status (absent: no answer).
    pub status_code: Option<i32>,
    /// How long it took, in milliseconds.
    pub duration_ms: i32,
    /// What went wrong (absent: acknowledged).
    pub error: Option<String>,
}

/// A page of the delivery log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptPage {
    /// Newest first.
    pub items: Vec<AttemptView>,
    /// The cursor of the next (older) page (absent on the last).
    pub next: Option<String>,
}

/// The log's paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptQuery {
    /// A `next` cursor from the previous page.
    pub before: Option<String>,
    /// At most this many (1 to 200; default 50).
    pub limit: Option<i64>,
}

fn view(e: Endpoint) -> Result<WebhookView, ApiError> {
    let agreement_ids = e
        .agreement_ids
        .into_iter()
        .map(|a| B256::try_from(a.as_slice()).map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    Ok(WebhookView {
        id: e.id,
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        agreement_ids,
        roles: e.roles,
        reminder_leads: e.reminder_leads,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since,
        previous_secret_expires_at: e.previous_expires_at.filter(|_| e.previous_secret.is_some()),
        created_at: e.created_at,
    })
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// An endpoint id from the path; anything else is as absent as another's endpoint.
fn endpoint_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("webhook endpoint"))
}

async fn check_url(state: &AppState, url: &str) -> Result<(), ApiError> {
    if url.len() > MAX_URL {
        return Err(ApiError::bad_request("invalid_url", "the URL is longer than 2048 bytes"));
    }
    pactum_notify::target::check(url, state.cfg.webhooks_allow_private).await.map_err(|e| {
        let code = match e {
            pactum_notify::target::TargetError::Private(_)
            | pactum_notify::target::TargetError::Unresolved(_) => "forbidden_target",
            _ => "invalid_url",
        };
        ApiError::bad_request(code, e.to_string())
    })?;
    Ok(())
}

fn check_description(d: &str) -> Result<(), ApiError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::bad_request(
            "invalid_description",
            "the description is longer than 500 characters",
        ));
    }
    Ok(())
}

fn check_event_types(types: &[String]) -> Result<(), ApiError> {
    if types.len() > MAX_EVENT_TYPES {
        return Err(ApiError::bad_request("invalid_event_types", "at most 32 event types"));
    }
    if let Some(t) = types.iter().find(|t| !pactum_core::notifications::is_kind(t)) {
        return Err(ApiError::bad_request(
            "unknown_event_type",
            format!("{t:?} is not a notification type (see docs/notifications.md)"),
        ));
    }
    Ok(())
}

fn check_agreements(ids: &[B256]) -> Result<(), ApiError> {
    if ids.len() > MAX_AGREEMENTS {
        return Err(ApiError::bad_request("invalid_agreement_ids", "at most 100 agreements"));
    }
    Ok(())
}

fn check_roles(roles: &[String]) -> Result<(), ApiError> {
    if let Some(r) = roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        return Err(ApiError::bad_request(
            "invalid_role",
            format!("{r:?} is not a role; roles are brand, creator and arbiter"),
        ));
    }
    Ok(())
}

fn check_leads(leads: &[u32]) -> Result<Vec<i32>, ApiError> {
    if leads.is_empty() || leads.len() > MAX_REMINDER_LEADS {
        return Err(ApiError::bad_request(
            "invalid_reminder_leads",
            "between 1 and 8 reminder lead times",
        ));
    }
    let mut out = Vec::with_capacity(leads.len());
    for &l in leads {
        if !(MIN_REMINDER_LEAD..=MAX_REMINDER_LEAD).contains(&l) {
            return Err(ApiError::bad_request(
                "invalid_reminder_leads",
                format!("reminder lead {l} s is outside 60 s to 30 days"),
            ));
        }
        out.push(i32::try_from(l).map_err(ApiError::internal)?);
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    Ok(out)
}

fn not_found() -> ApiError {
    ApiError::not_found("webhook endpoint")
}

#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    summary = "Register a webhook endpoint; the answer holds its signing secret (shown now only)",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Registered; keep the secret", body = WebhookWithSecret),
        (status = 400, description = "`invalid_json`, `invalid_body`, `invalid_url`, `forbidden_target` (a loopback, private, link-local or unspecified address), `invalid_description`, `invalid_event_types`, `unknown_event_type`, `invalid_agreement_ids`, `invalid_role`, `invalid_reminder_leads`", body = ErrorBody),
        (status = 403, description = "An auditor: auditors read, they change nothing (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The account has 10 endpoints already (`too_many_endpoints`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
async fn create(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Json(input): Json<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let account = caller.party()?;
    check_description(&input.description)?;
    check_event_types(&input.event_types)?;
    check_agreements(&input.agreement_ids)?;
    check_roles(&input.roles)?;
    let leads = match &input.reminder_leads {
        Some(l) => check_leads(l)?,
        None => check_leads(&pactum_core::notifications::DEFAULT_REMINDER_LEADS)?,
    };
    check_url(&state, &input.url).await?;
    let secret = new_secret();
    let new = NewEndpoint {
        url: input.url,
        description: input.description,
        secret: secret.clone(),
        event_types: input.event_types,
        agreement_ids: input.agreement_ids,
        roles: input.roles,
        reminder_leads: leads,
    };
    let mut tx = state.pool.begin().await?;
    let Some(e) =
        pactum_db::webhooks::insert_endpoint(&mut tx, account, &new, MAX_ENDPOINTS).await?
    else {
        return Err(ApiError::conflict(
            "too_many_endpoints",
            format!("an account may have {MAX_ENDPOINTS} webhook endpoints; delete one first"),
        ));
    };
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { endpoint: view(e)?, secret })))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    summary = "The caller's webhook endpoints",
    responses(
        (status = 200, description = "Oldest first", body = WebhookList),
        (status = 403, description = "An auditor: endpoints belong to parties (`forbidden`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<WebhookList>, ApiError> {
    let account = caller.party()?;
    let mut conn = state.pool.acquire().await?;
    let items = pactum_db::webhooks::endpoints_of(&mut conn, account)
        .await?
        .into_iter()
        .map(view)
        .collect::<Result<_, _>>()?;
    Ok(Json(WebhookList { items }))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "One of the caller's webhook endpoints",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
async fn show(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<WebhookView>, ApiError> {
    let account = caller.party()?;
    let id = endpoint_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let e = pactum_db::webhooks::endpoint(&mut conn, account, id).await?.ok_or_else(not_found)?;
    Ok(Json(view(e)?))
}

#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Change an endpoint's URL, filters or note, or enable it again",
    params(("id" = String, Path, description = "The endpoint id")),
    request_body = WebhookChange,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookView),
        (status = 400, description = "As for registration", body = ErrorBody),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
async fn update(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<WebhookChange>,
) -> Result<Json<WebhookView>, ApiError> {
    let account = caller.party()?;
    let id = endpoint_id(&id)?;
    if let Some(d) = &input.description {
        check_description(d)?;
    }
    if let Some(t) = &input.event_types {
        check_event_types(t)?;
    }
    if let Some(a) = &input.agreement_ids {
        check_agreements(a)?;
    }
    if let Some(r) = &input.roles {
        check_roles(r)?;
    }
    let reminder_leads = input.reminder_leads.as_deref().map(check_leads).transpose()?;
    if let Some(u) = &input.url {
        check_url(&state, u).await?;
    }
    let change = EndpointChange {
        url: input.url,
        description: input.description,
        event_types: input.event_types,
        agreement_ids: input.agreement_ids,
        roles: input.roles,
        reminder_leads,
        enabled: input.enabled,
    };
    let mut tx = state.pool.begin().await?;
    let e = pactum_db::webhooks::update_endpoint(&mut tx, account, id, &change)
        .await?
        .ok_or_else(not_found)?;
    if change.enabled == Some(true) {
        pactum_db::webhooks::wake(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(Json(view(e)?))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Delete an endpoint, its pending deliveries and its log",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
async fn remove(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let account = caller.party()?;
    let id = endpoint_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    if !pactum_db::webhooks::delete_endpoint(&mut conn, account, id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/rotate",
    tag = "webhooks",
    summary = "A new signing secret; the previous one keeps signing too for 24 hours",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 200, description = "The new secret (shown now only)", body = WebhookWithSecret),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
async fn rotate(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    let account = caller.party()?;
    let id = endpoint_id(&id)?;
    let secret = new_secret();
    let mut conn = state.pool.acquire().await?;
    let e = pactum_db::webhooks::rotate_secret(&mut conn, account, id, &secret, ROTATION_OVERLAP)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(WebhookWithSecret { endpoint: view(e)?, secret }))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/replay",
    tag = "webhooks",
    summary = "Send notifications again (same webhook-id): one, or every one since an id",
    params(("id" = String, Path, description = "The endpoint id")),
    request_body = ReplayRequest,
    responses(
        (status = 202, description = "Queued", body = ReplayResult),
        (status = 400, description = "`invalid_json`, `invalid_body`", body = ErrorBody),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's, or (`mode: one`) no such notification for it (`not_found`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
async fn replay(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<ReplayRequest>,
) -> Result<(StatusCode, Json<ReplayResult>), ApiError> {
    let account = caller.party()?;
    let id = endpoint_id(&id)?;
    let (from, to) = match input {
        ReplayRequest::One { notification_id } => (notification_id, notification_id),
        ReplayRequest::Since { notification_id } => (notification_id, i64::MAX),
    };
    let mut tx = state.pool.begin().await?;
    let queued =
        pactum_db::webhooks::replay(&mut tx, account, id, from, to).await?.ok_or_else(not_found)?;
    if from == to && queued == 0 {
        return Err(ApiError::not_found("notification for this endpoint"));
    }
    pactum_db::webhooks::wake(&mut tx).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayResult { queued })))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "An endpoint's delivery log: every attempt, newest first",
    params(("id" = String, Path, description = "The endpoint id"), AttemptQuery),
    responses(
        (status = 200, description = "A page of attempts", body = AttemptPage),
        (status = 400, description = "`invalid_query`, `invalid_cursor`, `invalid_limit`", body = ErrorBody),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
async fn deliveries(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<AttemptQuery>,
) -> Result<Json<AttemptPage>, ApiError> {
    let account: Address = caller.party()?;
    let id = endpoint_id(&id)?;
    let before = q
        .before
        .as_deref()
        .map(|b| b.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::bad_request("invalid_cursor", "not a cursor from this log"))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit is 1 to 200"));
    }
    let mut conn = state.pool.acquire().await?;
    pactum_db::webhooks::endpoint(&mut conn, account, id).await?.ok_or_else(not_found)?;
    let rows = pactum_db::webhooks::attempts(&mut conn, id, before, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let items: Vec<AttemptView> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|a: Attempt| AttemptView {
            id: a.id,
            notification_id: a.notification_id,
            webhook_id: pactum_notify::webhook_id(a.notification_id),
            attempt: a.attempt,
            at_ms: a.at_ms,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            error: a.error,
        })
        .collect();
    let next = if more { items.last().map(|a| a.id.to_string()) } else { None };
    Ok(Json(AttemptPage { items, next }))
}
