//! The draft's hash-chained off-chain log: every step (created, changed, signed, a caption
//! recorded) is appended in the same database transaction as the step itself, and served for
//! auditors to check against the audit bundle.

use alloy::primitives::{Address, B256};
use axum::extract::{Path, State};
use pactum_core::terms;
use serde::Serialize;

use super::view::load;
use crate::{
    auth::SignedIn,
    error::{ApiError, ErrorBody, Json, SessionErrors},
    AppState,
};

/// A draft's off-chain log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftLog {
    /// The draft's id.
    pub draft: String,
    /// Every entry, oldest first.
    pub entries: Vec<LogEntryView>,
}

/// One entry of the log: `hash` is keccak256 of `prevHash` and `entry`, so the chain shows any
/// entry changed, dropped or reordered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryView {
    /// Position in the chain, from 1.
    pub seq: i32,
    /// What happened (`draft_created`, `draft_changed`, `draft_signed`, `caption_recorded`).
    pub kind: String,
    /// Who did it.
    #[schema(value_type = String)]
    pub actor: Address,
    /// Unix time.
    pub at: i64,
    /// The canonical JSON text that was hashed.
    pub entry: String,
    /// The previous entry's hash (zero for the first).
    #[schema(value_type = String)]
    pub prev_hash: B256,
    /// This entry's hash.
    #[schema(value_type = String)]
    pub hash: B256,
}

/// Appends a step to the draft's log (inside the caller's transaction).
pub(crate) async fn record(
    conn: &mut sqlx::PgConnection,
    draft_id: &str,
    kind: &str,
    actor: Address,
    at: i64,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let entry = serde_json::json!({
        "draft": draft_id, "kind": kind, "actor": actor, "at": at, "details": details,
    });
    let text = terms::canonical_json(&entry).map_err(ApiError::internal)?;
    pactum_db::api::append_log(conn, draft_id, kind, actor, at, &text).await?;
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}/log",
    tag = "drafts",
    summary = "The draft's hash-chained off-chain log",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "Every entry, oldest first", body = DraftLog),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn log(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<DraftLog>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    load(&mut conn, &id, caller, false).await?;
    let entries = pactum_db::api::log(&mut conn, &id).await?;
    let entries = entries
        .into_iter()
        .map(|e| LogEntryView {
            seq: e.seq,
            kind: e.kind,
            actor: e.actor,
            at: e.at,
            entry: e.entry,
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect();
    Ok(Json(DraftLog { draft: id, entries }))
}
