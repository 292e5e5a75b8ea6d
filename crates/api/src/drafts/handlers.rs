//! The draft's life before funding: create, list, read, propose a new version, fetch the typed
//! data to sign and post a signature.

use alloy::primitives::{Address, B256, U256};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use pactum_core::{agreement_id, agreement_typed_data, domain};
use pactum_db::api::{Draft, DraftSignature, DraftVersion};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{
    input::{check, Built, DraftInput, SignRequest, VersionQuery},
    log::record,
    view::{agreement_of, current_version, load, view, views, DraftView, Eip712TypedData},
};
use crate::{
    auth::{verify_signature, Caller, SignedIn},
    error::{ApiError, BodyErrors, ErrorBody, Json, Query, SessionErrors},
    now, AppState,
};

/// Which chain's drafts `GET /v1/drafts` lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DraftListQuery {
    /// The chain (default: the primary one; `GET /v1/config` lists them).
    #[param(minimum = 1)]
    pub chain: Option<u64>,
}

/// The caller's drafts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftList {
    /// At most 100, newest first.
    pub items: Vec<DraftView>,
}

/// The typed data of a version, for `eth_signTypedData_v4`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftTypedData {
    /// The version.
    pub version: i32,
    /// Whether it is the current version (only the current one can be signed).
    pub current: bool,
    /// The agreement id: the EIP-712 digest of the typed data.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// The typed data.
    #[schema(value_type = Eip712TypedData)]
    pub typed_data: serde_json::Value,
}

#[utoipa::path(
    post,
    path = "/v1/drafts",
    tag = "drafts",
    summary = "Draft an agreement (as its brand)",
    request_body = DraftInput,
    responses(
        (status = 201, description = "The draft at version 1", body = DraftView),
        (status = 400, description = "Malformed draft: a chain this deployment does not serve (`unknown_chain`; create) or another than the draft's (`chain_mismatch`; change), `invalid_json`, `invalid_body`, `invalid_address`, `bad_checksum`, `invalid_parties`, `unknown_token`, `invalid_milestone_count`, `invalid_amount`, `zero_amount`, `amount_overflow`, `deadline_in_past`, `deadline_out_of_range`, terms errors", body = ErrorBody),
        (status = 403, description = "An auditor: auditors read, they change nothing (`forbidden`)", body = ErrorBody),
        (status = 422, description = "Outside what the escrow accepts at creation: `invalid_fee`, `invalid_window`, `deadline_in_past`, `deadline_too_far`, `too_many_revision_rounds`; deadlines are measured by the chain's time (the latest block's timestamp, or the server's clock if later)", body = ErrorBody),
        (status = 502, description = "The Ethereum node did not give its time (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Json(input): Json<DraftInput>,
) -> Result<(StatusCode, Json<DraftView>), ApiError> {
    let brand = caller.party()?;
    // In a body an unserved chain is a bad request (400), not a missing resource.
    let chain = state
        .chain_or_primary(input.chain_id)
        .map_err(|e| ApiError::bad_request("unknown_chain", e.message))?;
    let salt = U256::from_be_bytes(rand::rng().random::<[u8; 32]>());
    let checked = check(chain, brand, salt, &input)?;
    // The deadlines last: measuring them takes the chain's time, an RPC call.
    let Built { agreement, canonical, terms_hash } = checked.at(chain.now().await?)?;
    let t = now();
    let id_hash = agreement_id(&agreement, &chain.domain());
    let draft = Draft {
        id: format!("d_{}", alloy::hex::encode(rand::rng().random::<[u8; 12]>())),
        chain_id: chain.id,
        escrow: chain.escrow,
        brand,
        creator: agreement.creator,
        salt: salt.to_string(),
        current_version: 1,
        created_at: t,
    };
    let version = DraftVersion {
        draft_id: draft.id.clone(),
        version: 1,
        proposed_by: brand,
        agreement: serde_json::to_value(&agreement).map_err(ApiError::internal)?,
        agreement_id: id_hash,
        terms: input.terms.clone(),
        terms_canonical: canonical,
        terms_hash,
        created_at: t,
    };
    let mut tx = state.pool.begin().await?;
    pactum_db::api::insert_draft(&mut tx, &draft).await?;
    pactum_db::api::insert_version(&mut tx, &version).await?;
    record(
        &mut tx,
        &draft.id,
        "draft_created",
        brand,
        t,
        serde_json::json!({
            "version": 1, "agreementId": id_hash, "termsHash": terms_hash,
        }),
    )
    .await?;
    let out = view(&state, &mut tx, &draft, caller).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The draft's current version, unless its agreement is on chain already (`already_on_chain`).
async fn off_chain(conn: &mut sqlx::PgConnection, draft: &Draft) -> Result<DraftVersion, ApiError> {
    let current = current_version(conn, draft).await?;
    if pactum_db::api::agreement(conn, draft.chain_id, current.agreement_id).await?.is_some() {
        return Err(ApiError::conflict(
            "already_on_chain",
            "this draft's agreement is on chain; it can no longer change",
        ));
    }
    Ok(current)
}

/// How many drafts `GET /v1/drafts` returns at most (newest first).
const LIST_LIMIT: i64 = 100;

#[utoipa::path(
    get,
    path = "/v1/drafts",
    tag = "drafts",
    summary = "The caller's drafts (as brand or creator) on one chain, newest first; an auditor's: all",
    params(DraftListQuery),
    responses(
        (status = 200, description = "At most 100 drafts, newest first", body = DraftList),
        (status = 400, description = "A malformed `chain` (`invalid_query`)", body = ErrorBody),
        (status = 404, description = "A chain this deployment does not serve (`unknown_chain`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn mine(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<DraftListQuery>,
) -> Result<Json<DraftList>, ApiError> {
    let chain = state.chain_or_primary(q.chain)?;
    let party = match caller {
        Caller::Party(a) => Some(a),
        Caller::Auditor(_) => None,
        Caller::Anonymous => {
            return Err(ApiError::unauthorized("sign in first (POST /v1/auth/login)"))
        }
    };
    let mut conn = state.pool.acquire().await?;
    // A party sees the drafts that name it, an auditor every draft: two statements in all.
    let page =
        pactum_db::api::draft_page(&mut conn, chain.id, chain.escrow, party, LIST_LIMIT).await?;
    let items = views(&state, &mut conn, chain.id, page, caller).await?;
    Ok(Json(DraftList { items }))
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}",
    tag = "drafts",
    summary = "A draft, its current version and signatures",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "The draft", body = DraftView),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<DraftView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    Ok(Json(view(&state, &mut conn, &draft, caller).await?))
}

/// What anyone holding a draft's link learns of it: who invites (the brand's address). Nothing of
/// the terms, the money, the creator or the draft's state: those stay its parties' (and
/// auditors') only. The draft id is 96 random bits, so the link is what the brand chose to share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftInvitation {
    /// The draft id.
    pub id: String,
    /// The brand that drafted it: the inviter.
    #[schema(value_type = String)]
    pub brand: Address,
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}/invitation",
    tag = "drafts",
    summary = "Who invites to a draft (its brand's address), for its link opened signed out; nothing of the terms",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "The inviter: the draft's brand, and nothing else", body = DraftInvitation),
        (status = 404, description = "No such draft (`not_found`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Our fault (`internal`)", body = ErrorBody),
    ),
    security(())
)]
pub(super) async fn invitation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DraftInvitation>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let draft = pactum_db::api::draft(&mut conn, &id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("draft"))?;
    Ok(Json(DraftInvitation { id: draft.id, brand: draft.brand }))
}

#[utoipa::path(
    put,
    path = "/v1/drafts/{id}",
    tag = "drafts",
    summary = "Propose a new version (voids the previous one's signatures in the API; on chain they last until its deadline, so whoever signed it is offered its revoke)",
    params(("id" = String, Path, description = "The draft id")),
    request_body = DraftInput,
    responses(
        (status = 200, description = "The draft at its new version", body = DraftView),
        (status = 400, description = "Malformed draft: a chain this deployment does not serve (`unknown_chain`; create) or another than the draft's (`chain_mismatch`; change), `invalid_json`, `invalid_body`, `invalid_address`, `bad_checksum`, `invalid_parties`, `unknown_token`, `invalid_milestone_count`, `invalid_amount`, `zero_amount`, `amount_overflow`, `deadline_in_past`, `deadline_out_of_range`, terms errors; a new creator (`invalid_parties`)", body = ErrorBody),
        (status = 403, description = "An auditor: auditors read, they change nothing (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        (status = 409, description = "The agreement is on chain already (`already_on_chain`), or the draft's chain or escrow is no longer served (`chain_not_served`)", body = ErrorBody),
        (status = 422, description = "Outside what the escrow accepts at creation: `invalid_fee`, `invalid_window`, `deadline_in_past`, `deadline_too_far`, `too_many_revision_rounds`; deadlines are measured by the chain's time (the latest block's timestamp, or the server's clock if later)", body = ErrorBody),
        (status = 502, description = "The Ethereum node did not give its time (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn change(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<DraftInput>,
) -> Result<Json<DraftView>, ApiError> {
    let who = caller.party()?;
    // Who may change it, and whether it still can, from the database; then the content; then the
    // chain's time (an RPC call) for the deadlines, with no connection or lock held.
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    off_chain(&mut conn, &draft).await?;
    drop(conn);
    let chain = super::view::draft_chain(&state, &draft)?;
    if input.chain_id.is_some_and(|c| c != draft.chain_id) {
        return Err(ApiError::bad_request(
            "chain_mismatch",
            format!(
                "this draft is on chain {}; start a new draft for another chain",
                draft.chain_id
            ),
        ));
    }
    let salt = U256::from_str_radix(&draft.salt, 10).map_err(ApiError::internal)?;
    let checked = check(chain, draft.brand, salt, &input)?;
    if checked.creator() != draft.creator {
        return Err(ApiError::bad_request(
            "invalid_parties",
            "a new version cannot change the creator; start a new draft",
        ));
    }
    let Built { agreement, canonical, terms_hash } = checked.at(chain.now().await?)?;

    // Then the lock, and the draft's state again: a version proposed or an agreement created
    // meanwhile decides what this one replaces, or that it cannot.
    let t = now();
    let mut tx = state.pool.begin().await?;
    let mut draft = load(&mut tx, &id, caller, true).await?;
    let current = off_chain(&mut tx, &draft).await?;
    let id_hash = agreement_id(&agreement, &chain.domain());
    let number = draft.current_version + 1;
    let version = DraftVersion {
        draft_id: id.clone(),
        version: number,
        proposed_by: who,
        agreement: serde_json::to_value(&agreement).map_err(ApiError::internal)?,
        agreement_id: id_hash,
        terms: input.terms.clone(),
        terms_canonical: canonical,
        terms_hash,
        created_at: t,
    };
    pactum_db::api::insert_version(&mut tx, &version).await?;
    draft.current_version = number;
    record(
        &mut tx,
        &id,
        "draft_changed",
        who,
        t,
        serde_json::json!({
            "version": number, "agreementId": id_hash, "termsHash": terms_hash,
            "voids": current.version,
        }),
    )
    .await?;
    let out = view(&state, &mut tx, &draft, caller).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}/typed-data",
    tag = "drafts",
    summary = "The EIP-712 typed data a wallet signs (eth_signTypedData_v4)",
    params(("id" = String, Path, description = "The draft id"), VersionQuery),
    responses(
        (status = 200, description = "The typed data of the version", body = DraftTypedData),
        (status = 400, description = "A malformed `version` (`invalid_query`)", body = ErrorBody),
        (status = 404, description = "No such draft or version, or not the caller's (`not_found`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn typed_data(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<DraftTypedData>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    let number = q.version.unwrap_or(draft.current_version);
    let v = pactum_db::api::version(&mut conn, &id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    let agreement = agreement_of(&v)?;
    let typed = agreement_typed_data(&agreement, &domain(draft.chain_id, draft.escrow))
        .map_err(ApiError::internal)?;
    Ok(Json(DraftTypedData {
        version: number,
        current: number == draft.current_version,
        agreement_id: v.agreement_id,
        typed_data: typed,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/drafts/{id}/signatures",
    tag = "drafts",
    summary = "Post a party's signature of the current version",
    params(("id" = String, Path, description = "The draft id")),
    request_body = SignRequest,
    responses(
        (status = 200, description = "The draft with the signature", body = DraftView),
        (status = 400, description = "Malformed request (`invalid_json`, `invalid_body`), or not the caller's signature of this version (`invalid_signature`, `malleable_signature`)", body = ErrorBody),
        (status = 403, description = "An auditor: auditors read, they change nothing (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such draft or version, or not the caller's (`not_found`)", body = ErrorBody),
        (status = 409, description = "The version was replaced (`stale_version`), or the draft's chain or escrow is no longer served (`chain_not_served`)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn sign(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(req): Json<SignRequest>,
) -> Result<Json<DraftView>, ApiError> {
    let who = caller.party()?;
    let stale = |current: i32| {
        ApiError::conflict(
            "stale_version",
            format!(
                "version {} was replaced by version {current}; fetch its typed data and sign that",
                req.version
            ),
        )
    };
    // The signature is checked before the draft is locked: for a contract wallet that takes RPC
    // calls, and a slow or hostile node must not hold a row lock and a pooled connection.
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    if req.version != draft.current_version {
        return Err(stale(draft.current_version));
    }
    let v = pactum_db::api::version(&mut conn, &id, req.version)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    drop(conn);
    // A contract wallet is asked on the draft's chain: its code (and its owners) are per chain.
    let chain = super::view::draft_chain(&state, &draft)?;
    let method = verify_signature(chain, who, v.agreement_id, &req.signature).await?;

    // Then the lock, and the version again: another version may have been proposed meanwhile,
    // and a signature of a replaced version must not be stored as if it were current.
    let mut tx = state.pool.begin().await?;
    let draft = load(&mut tx, &id, caller, true).await?;
    if req.version != draft.current_version {
        return Err(stale(draft.current_version));
    }
    let role = if who == draft.brand { "brand" } else { "creator" };
    let t = now();
    pactum_db::api::upsert_signature(
        &mut tx,
        &id,
        req.version,
        &DraftSignature {
            role: role.to_owned(),
            signer: who,
            digest: v.agreement_id,
            signature: req.signature.to_vec(),
            method: method.as_str().to_owned(),
            verified_at: t,
        },
    )
    .await?;
    record(
        &mut tx,
        &id,
        "draft_signed",
        who,
        t,
        serde_json::json!({
            "version": req.version, "role": role, "digest": v.agreement_id,
            "signature": req.signature, "method": method.as_str(),
        }),
    )
    .await?;
    let out = view(&state, &mut tx, &draft, caller).await?;
    tx.commit().await?;
    Ok(Json(out))
}
