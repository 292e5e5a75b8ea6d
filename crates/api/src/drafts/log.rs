//! The draft's hash-chained off-chain log: every step (created, changed, signed, a caption
//! recorded) is appended in the same database transaction as the step itself, and served for
//! auditors to check against the audit bundle.

use alloy::primitives::Address;
use axum::extract::{Path, State};
use pactum_core::terms;

use super::view::load;
use crate::{
    auth::Caller,
    error::{ApiError, Json},
    AppState,
};

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

#[utoipa::path(get, path = "/v1/drafts/{id}/log", tag = "drafts", summary = "The draft's hash-chained off-chain log", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn log(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    load(&mut conn, &id, caller, false).await?;
    let entries = pactum_db::api::log(&mut conn, &id).await?;
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq, "kind": e.kind, "actor": e.actor, "at": e.at,
                "entry": e.entry, "prevHash": e.prev_hash, "hash": e.hash,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "draft": id, "entries": entries })))
}
