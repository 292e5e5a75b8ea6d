//! Drafts: agreements before they go on chain.
//!
//! A brand drafts; either party proposes a new version (which voids the signatures collected for
//! the previous one, since they sign a different digest); each party fetches the EIP-712 typed
//! data of the current version, signs it in its wallet and posts the signature, which is verified
//! before it is stored. With both signatures the brand gets the transactions to send: an ERC-20
//! `approve` (when the allowance falls short) and `createAndFund`, or, with an EIP-2612 permit the
//! brand signed off chain, the one `createAndFundWithPermit`. Every step is appended to the draft's
//! hash-chained log.

use std::str::FromStr;

use alloy::{
    primitives::{aliases::U40, Address, Bytes, B256, U256},
    sol,
    sol_types::SolCall,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use pactum_bindings::PactumEscrow;
use pactum_core::{
    agreement_id, agreement_typed_data, domain, terms, total_amount, Agreement, Milestone,
};
use pactum_db::api::{Draft, DraftSignature, DraftVersion};
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::{verify_signature, Caller},
    error::{ApiError, Json, Query},
    now, AppState,
};

sol! {
    #[sol(rpc)]
    interface IERC20Allowance {
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// The escrow's limit on milestones per agreement.
const MAX_MILESTONES: usize = 32;
/// The escrow's highest arbiter fee, in basis points (`MAX_FEE_BPS`).
pub const MAX_FEE_BPS: u16 = 2_000;
/// The escrow's shortest review, contest (with an arbiter) and arbitration window (`MIN_WINDOW`).
pub const MIN_WINDOW: u32 = 3_600;
/// The escrow's longest window (`MAX_WINDOW`): 90 days.
pub const MAX_WINDOW: u32 = 90 * 86_400;
/// The escrow's most revision rounds per milestone (`MAX_REVISION_ROUNDS`).
pub const MAX_REVISION_ROUNDS: u32 = 10;
/// How far past creation a milestone deadline may lie (`MAX_TERM`): five years of 365 days.
pub const MAX_TERM: i64 = 5 * 365 * 86_400;
/// Revision rounds per milestone when the draft names none.
pub const DEFAULT_REVISION_ROUNDS: u32 = 2;
/// Default life of the parties' signatures when the draft names none.
const DEFAULT_SIGNATURE_LIFETIME: i64 = 7 * 24 * 3600;

/// Routes under `/v1/drafts`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, mine))
        .routes(routes!(show, change))
        .routes(routes!(typed_data))
        .routes(routes!(sign))
        .routes(routes!(transactions, transactions_with_permit))
        .routes(routes!(permit))
        .routes(routes!(log))
}

/// One milestone as drafted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneInput {
    /// Amount in the token's smallest unit, as a decimal string.
    pub amount: String,
    /// Delivery deadline, Unix seconds.
    pub deadline: i64,
    /// The brand's review window after a submission, seconds.
    pub review_window: u32,
}

/// A draft's content, as the brand creates it or either party changes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftInput {
    /// The creator's address.
    pub creator: String,
    /// The arbiter's address, if any.
    pub arbiter: Option<String>,
    /// The token's address; the zero address for ETH.
    pub token: String,
    /// 1 to 32 milestones.
    pub milestones: Vec<MilestoneInput>,
    /// The arbiter's fee in basis points of what it rules on.
    #[serde(default)]
    pub arbiter_fee_bps: u16,
    /// Seconds the other party has to contest a termination.
    pub contest_window: u32,
    /// Seconds the arbiter has to rule before the timeout split applies.
    #[serde(default)]
    pub arbitration_window: u32,
    /// How many times the brand may ask for a revision of each milestone (0 to 10; default 2).
    #[serde(default = "default_revision_rounds")]
    pub revision_rounds: u32,
    /// Unix time after which the signatures are void (default: a week from now).
    pub signature_deadline: Option<i64>,
    /// The terms document.
    #[schema(value_type = Object)]
    pub terms: serde_json::Value,
}

fn default_revision_rounds() -> u32 {
    DEFAULT_REVISION_ROUNDS
}

/// A window the escrow requires in [`MIN_WINDOW`, `MAX_WINDOW`].
fn window(field: &str, seconds: u32) -> Result<(), ApiError> {
    if (MIN_WINDOW..=MAX_WINDOW).contains(&seconds) {
        return Ok(());
    }
    Err(ApiError::unprocessable(
        "invalid_window",
        format!(
            "{field}: {seconds} seconds is outside what the escrow accepts: one hour ({MIN_WINDOW} \
             s) to 90 days ({MAX_WINDOW} s)"
        ),
    ))
}

fn parse_address(field: &str, s: &str) -> Result<Address, ApiError> {
    let hex = s.strip_prefix("0x").unwrap_or(s);
    let mixed =
        hex.chars().any(|c| c.is_ascii_uppercase()) && hex.chars().any(|c| c.is_ascii_lowercase());
    let parsed =
        if mixed { Address::parse_checksummed(s, None).ok() } else { Address::from_str(s).ok() };
    match parsed {
        Some(a) => Ok(a),
        None if mixed && Address::from_str(s).is_ok() => Err(ApiError::bad_request(
            "bad_checksum",
            format!("{field}: {s} fails its EIP-55 checksum (a typo?); send it all-lowercase or correctly checksummed"),
        )),
        None => Err(ApiError::bad_request(
            "invalid_address",
            format!("{field}: {s:?} is not an address (0x and 40 hex digits)"),
        )),
    }
}

fn parse_amount(i: usize, s: &str) -> Result<U256, ApiError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_amount",
            format!("milestones[{i}].amount: {s:?} is not a non-negative whole number in the token's smallest unit"),
        ));
    }
    let v = U256::from_str_radix(s, 10).map_err(|_| {
        ApiError::bad_request(
            "amount_overflow",
            format!("milestones[{i}].amount: {s} does not fit in 256 bits"),
        )
    })?;
    if v.is_zero() {
        return Err(ApiError::bad_request(
            "zero_amount",
            format!("milestones[{i}].amount must be above zero"),
        ));
    }
    Ok(v)
}

fn time40(field: &str, t: i64, now: i64) -> Result<U40, ApiError> {
    if t <= now {
        return Err(ApiError::bad_request(
            "deadline_in_past",
            format!("{field}: {t} is not in the future"),
        ));
    }
    let t = u64::try_from(t).unwrap_or(u64::MAX);
    U40::try_from(t).map_err(|_| {
        ApiError::bad_request(
            "deadline_out_of_range",
            format!("{field}: {t} does not fit in 40 bits"),
        )
    })
}

/// Checks a draft's content the way the escrow will, and builds the agreement both sign.
fn build(
    state: &AppState,
    brand: Address,
    salt: U256,
    input: &DraftInput,
    now: i64,
) -> Result<(Agreement, String, B256), ApiError> {
    let creator = parse_address("creator", &input.creator)?;
    let arbiter = match &input.arbiter {
        Some(a) => parse_address("arbiter", a)?,
        None => Address::ZERO,
    };
    let token = parse_address("token", &input.token)?;
    if creator == Address::ZERO || creator == brand {
        return Err(ApiError::bad_request(
            "invalid_parties",
            "the creator must be an account other than the brand",
        ));
    }
    if arbiter == brand || arbiter == creator {
        return Err(ApiError::bad_request("invalid_parties", "the arbiter must be neither party"));
    }
    if !state.cfg.tokens.contains(&token) {
        return Err(ApiError::bad_request(
            "unknown_token",
            format!(
                "token {token} is not one this deployment accepts ({})",
                list(&state.cfg.tokens)
            ),
        ));
    }
    if input.milestones.is_empty() || input.milestones.len() > MAX_MILESTONES {
        return Err(ApiError::bad_request(
            "invalid_milestone_count",
            format!(
                "an agreement has 1 to {MAX_MILESTONES} milestones, not {}",
                input.milestones.len()
            ),
        ));
    }
    // The escrow's creation bounds, checked here so that nobody signs what it would refuse.
    if arbiter.is_zero() {
        if input.arbiter_fee_bps != 0 {
            return Err(ApiError::unprocessable(
                "invalid_fee",
                format!(
                    "arbiterFeeBps: {} without an arbiter; an agreement without one has no fee (0)",
                    input.arbiter_fee_bps
                ),
            ));
        }
        if input.contest_window > MAX_WINDOW {
            return Err(ApiError::unprocessable(
                "invalid_window",
                format!(
                    "contestWindow: {} seconds is more than 90 days ({MAX_WINDOW} s)",
                    input.contest_window
                ),
            ));
        }
    } else {
        if input.arbiter_fee_bps > MAX_FEE_BPS {
            return Err(ApiError::unprocessable(
                "invalid_fee",
                format!(
                    "arbiterFeeBps: {} is above the escrow's cap of {MAX_FEE_BPS} (20%)",
                    input.arbiter_fee_bps
                ),
            ));
        }
        window("contestWindow", input.contest_window)?;
        window("arbitrationWindow", input.arbitration_window)?;
    }
    if input.revision_rounds > MAX_REVISION_ROUNDS {
        return Err(ApiError::unprocessable(
            "too_many_revision_rounds",
            format!(
                "revisionRounds: {} is more than the escrow allows ({MAX_REVISION_ROUNDS})",
                input.revision_rounds
            ),
        ));
    }
    let mut milestones = Vec::with_capacity(input.milestones.len());
    let mut total = U256::ZERO;
    for (i, m) in input.milestones.iter().enumerate() {
        let amount = parse_amount(i, &m.amount)?;
        total = total.checked_add(amount).ok_or_else(|| {
            ApiError::bad_request(
                "amount_overflow",
                "the milestones' amounts add up to more than 256 bits",
            )
        })?;
        let field = format!("milestones[{i}].deadline");
        if m.deadline <= now {
            return Err(ApiError::unprocessable(
                "deadline_in_past",
                format!("{field}: {} is not in the future", m.deadline),
            ));
        }
        if m.deadline > now + MAX_TERM {
            return Err(ApiError::unprocessable(
                "deadline_too_far",
                format!(
                    "{field}: {} is more than five years (365-day years) away; the escrow \
                     refuses it",
                    m.deadline
                ),
            ));
        }
        window(&format!("milestones[{i}].reviewWindow"), m.review_window)?;
        milestones.push(Milestone {
            amount,
            deadline: time40(&field, m.deadline, now)?,
            reviewWindow: m.review_window,
        });
    }
    let deadline = input.signature_deadline.unwrap_or(now + DEFAULT_SIGNATURE_LIFETIME);
    let deadline = time40("signatureDeadline", deadline, now)?;

    let doc = terms::TermsDocument::from_json_value(&input.terms)
        .map_err(|e| ApiError::bad_request(e.code(), format!("terms: {e}")))?;
    doc.validate(milestones.len()).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let canonical = terms::canonical_json(&input.terms)
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let terms_hash = alloy::primitives::keccak256(canonical.as_bytes());

    let agreement = Agreement {
        brand,
        creator,
        arbiter,
        token,
        termsHash: terms_hash,
        arbiterFeeBps: input.arbiter_fee_bps,
        contestWindow: input.contest_window,
        arbitrationWindow: input.arbitration_window,
        revisionRounds: u8::try_from(input.revision_rounds).map_err(ApiError::internal)?,
        deadline,
        salt,
        milestones,
    };
    Ok((agreement, canonical, terms_hash))
}

fn list(tokens: &[Address]) -> String {
    tokens
        .iter()
        .map(|t| if t.is_zero() { "ETH (0x0)".to_owned() } else { t.to_string() })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored version's agreement, as it was built.
fn agreement_of(v: &DraftVersion) -> Result<Agreement, ApiError> {
    serde_json::from_value(v.agreement.clone()).map_err(ApiError::internal)
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

/// A draft as the API returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    /// Its id.
    pub id: String,
    /// Chain.
    pub chain_id: u64,
    /// Escrow.
    pub escrow: Address,
    /// Paying party.
    pub brand: Address,
    /// Paid party.
    pub creator: Address,
    /// `awaiting_signatures`, `ready` (both signed) or `created` (on chain).
    pub status: &'static str,
    /// Once created: where the agreement is read (`/v1/agreements/{id}`).
    pub agreement: Option<String>,
    /// The current version.
    pub version: VersionView,
}

/// One version.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// Its number.
    pub number: i32,
    /// Who proposed it.
    pub proposed_by: Address,
    /// The agreement id (EIP-712 digest) both parties sign.
    pub agreement_id: B256,
    /// The agreement as signed.
    pub agreement: serde_json::Value,
    /// The terms document.
    pub terms: serde_json::Value,
    /// keccak256 of its canonical JSON (RFC 8785): the on-chain `termsHash`.
    pub terms_hash: B256,
    /// Unix time proposed.
    pub created_at: i64,
    /// Signatures collected for this version.
    pub signatures: Vec<SignatureView>,
}

/// A verified signature.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureView {
    /// `brand` or `creator`.
    pub role: String,
    /// Who signed.
    pub signer: Address,
    /// The signature.
    pub signature: Bytes,
    /// `ecdsa` or `eip1271`.
    pub method: String,
    /// Unix time verified.
    pub verified_at: i64,
}

async fn load(
    conn: &mut sqlx::PgConnection,
    id: &str,
    caller: Caller,
    lock: bool,
) -> Result<Draft, ApiError> {
    let draft =
        pactum_db::api::draft(conn, id, lock).await?.ok_or_else(|| ApiError::not_found("draft"))?;
    if !caller.may_read(&[draft.brand, draft.creator]) {
        // Not a party: the draft's existence is not theirs to learn.
        return Err(ApiError::not_found("draft"));
    }
    Ok(draft)
}

/// The version in force of a draft.
async fn current_version(
    conn: &mut sqlx::PgConnection,
    d: &Draft,
) -> Result<DraftVersion, ApiError> {
    pactum_db::api::version(conn, &d.id, d.current_version).await?.ok_or_else(|| {
        ApiError::internal(format!("draft {} has no version {}", d.id, d.current_version))
    })
}

pub(crate) async fn view(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    d: &Draft,
) -> Result<DraftView, ApiError> {
    let v = current_version(conn, d).await?;
    let sigs = pactum_db::api::signatures(conn, &d.id, d.current_version).await?;
    let on_chain =
        pactum_db::api::agreement(conn, state.cfg.chain_id, v.agreement_id).await?.is_some();
    let status = if on_chain {
        "created"
    } else if sigs.len() == 2 {
        "ready"
    } else {
        "awaiting_signatures"
    };
    Ok(DraftView {
        id: d.id.clone(),
        chain_id: d.chain_id,
        escrow: d.escrow,
        brand: d.brand,
        creator: d.creator,
        status,
        agreement: on_chain.then(|| format!("/v1/agreements/{}", v.agreement_id)),
        version: VersionView {
            number: v.version,
            proposed_by: v.proposed_by,
            agreement_id: v.agreement_id,
            agreement: v.agreement,
            terms: v.terms,
            terms_hash: v.terms_hash,
            created_at: v.created_at,
            signatures: sigs
                .into_iter()
                .map(|s| SignatureView {
                    role: s.role,
                    signer: s.signer,
                    signature: s.signature.into(),
                    method: s.method,
                    verified_at: s.verified_at,
                })
                .collect(),
        },
    })
}

#[utoipa::path(post, path = "/v1/drafts", tag = "drafts", summary = "Draft an agreement (as its brand)", request_body = DraftInput, responses((status = 201, description = "The draft at version 1", body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 422, description = "Outside what the escrow accepts at creation (fee, windows, deadlines, revision rounds)", body = crate::error::ErrorBody), (status = 401, description = "No valid session", body = crate::error::ErrorBody), (status = 403, description = "Not allowed", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<DraftInput>,
) -> Result<(StatusCode, Json<DraftView>), ApiError> {
    let brand = caller.party()?;
    let t = now();
    let salt = U256::from_be_bytes(rand::rng().random::<[u8; 32]>());
    let (agreement, canonical, terms_hash) = build(&state, brand, salt, &input, t)?;
    let d = domain(state.cfg.chain_id, state.cfg.escrow);
    let id_hash = agreement_id(&agreement, &d);
    let draft = Draft {
        id: format!("d_{}", alloy::hex::encode(rand::rng().random::<[u8; 12]>())),
        chain_id: state.cfg.chain_id,
        escrow: state.cfg.escrow,
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
    let out = view(&state, &mut tx, &draft).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// How many drafts `GET /v1/drafts` returns at most (newest first).
const LIST_LIMIT: i64 = 100;

#[utoipa::path(get, path = "/v1/drafts", tag = "drafts", summary = "The caller's drafts (as brand or creator), newest first; an auditor's: all", responses((status = 200, body = Object), (status = 401, description = "No valid session", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let party = match caller {
        Caller::Party(a) => Some(a),
        Caller::Auditor(_) => None,
        Caller::Anonymous => {
            return Err(ApiError::unauthorized("sign in first (POST /v1/auth/login)"))
        }
    };
    let mut conn = state.pool.acquire().await?;
    // A party sees the drafts that name it, an auditor every draft.
    let ids = pactum_db::api::draft_ids(
        &mut conn,
        state.cfg.chain_id,
        state.cfg.escrow,
        party,
        LIST_LIMIT,
    )
    .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let draft = load(&mut conn, &id, caller, false).await?;
        items.push(view(&state, &mut conn, &draft).await?);
    }
    Ok(Json(serde_json::json!({ "items": items })))
}

#[utoipa::path(get, path = "/v1/drafts/{id}", tag = "drafts", summary = "A draft, its current version and signatures", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DraftView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    Ok(Json(view(&state, &mut conn, &draft).await?))
}

#[utoipa::path(put, path = "/v1/drafts/{id}", tag = "drafts", summary = "Propose a new version (voids the signatures of the previous one)", params(("id" = String, Path)), request_body = DraftInput, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 422, description = "Outside what the escrow accepts at creation (fee, windows, deadlines, revision rounds)", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(input): Json<DraftInput>,
) -> Result<Json<DraftView>, ApiError> {
    let who = caller.party()?;
    let t = now();
    let mut tx = state.pool.begin().await?;
    let mut draft = load(&mut tx, &id, caller, true).await?;
    let current = current_version(&mut tx, &draft).await?;
    if pactum_db::api::agreement(&mut tx, state.cfg.chain_id, current.agreement_id).await?.is_some()
    {
        return Err(ApiError::conflict(
            "already_on_chain",
            "this draft's agreement is on chain; it can no longer change",
        ));
    }
    let salt = U256::from_str_radix(&draft.salt, 10).map_err(ApiError::internal)?;
    let (agreement, canonical, terms_hash) = build(&state, draft.brand, salt, &input, t)?;
    if agreement.creator != draft.creator {
        return Err(ApiError::bad_request(
            "invalid_parties",
            "a new version cannot change the creator; start a new draft",
        ));
    }
    let id_hash = agreement_id(&agreement, &domain(state.cfg.chain_id, state.cfg.escrow));
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
    let out = view(&state, &mut tx, &draft).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// `?version=N` (default: the current version).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Which version.
    pub version: Option<i32>,
}

#[utoipa::path(get, path = "/v1/drafts/{id}/typed-data", tag = "drafts", summary = "The EIP-712 typed data a wallet signs (eth_signTypedData_v4)", params(("id" = String, Path), VersionQuery), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn typed_data(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let draft = load(&mut conn, &id, caller, false).await?;
    let number = q.version.unwrap_or(draft.current_version);
    let v = pactum_db::api::version(&mut conn, &id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    let agreement = agreement_of(&v)?;
    let typed = agreement_typed_data(&agreement, &domain(draft.chain_id, draft.escrow))
        .map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({
        "version": number,
        "current": number == draft.current_version,
        "agreementId": v.agreement_id,
        "typedData": typed,
    })))
}

/// A party's signature of a version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRequest {
    /// The version signed (must be the current one).
    pub version: i32,
    /// The `eth_signTypedData_v4` signature (hex).
    #[schema(value_type = String)]
    pub signature: Bytes,
}

#[utoipa::path(post, path = "/v1/drafts/{id}/signatures", tag = "drafts", summary = "Post a party's signature of the current version", params(("id" = String, Path)), request_body = SignRequest, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn sign(
    State(state): State<AppState>,
    caller: Caller,
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
    let method = verify_signature(&state, who, v.agreement_id, &req.signature).await?;

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
    let out = view(&state, &mut tx, &draft).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// A transaction for a wallet to send.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRequest {
    /// What it does.
    pub description: String,
    /// Who must send it.
    pub from: Address,
    /// The contract.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// Wei to attach (decimal).
    pub value: String,
}

/// A draft both parties signed and that is not on chain yet, with what funding it needs.
struct Signed {
    draft: Draft,
    version: DraftVersion,
    agreement: Agreement,
    brand_sig: Bytes,
    creator_sig: Bytes,
}

async fn signed(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    caller: Caller,
    id: &str,
) -> Result<Signed, ApiError> {
    let draft = load(conn, id, caller, false).await?;
    let version = current_version(conn, &draft).await?;
    if pactum_db::api::agreement(conn, state.cfg.chain_id, version.agreement_id).await?.is_some() {
        return Err(ApiError::conflict(
            "already_on_chain",
            format!("the agreement is on chain: GET /v1/agreements/{}", version.agreement_id),
        ));
    }
    let sigs = pactum_db::api::signatures(conn, id, draft.current_version).await?;
    let sig =
        |role: &str| sigs.iter().find(|s| s.role == role).map(|s| Bytes::from(s.signature.clone()));
    let (Some(brand_sig), Some(creator_sig)) = (sig("brand"), sig("creator")) else {
        let missing: Vec<&str> =
            ["brand", "creator"].into_iter().filter(|r| sig(r).is_none()).collect();
        return Err(ApiError::conflict(
            "not_signed",
            format!(
                "version {} still needs the signature of: {}",
                draft.current_version,
                missing.join(", ")
            ),
        ));
    };
    let agreement = agreement_of(&version)?;
    Ok(Signed { draft, version, agreement, brand_sig, creator_sig })
}

#[utoipa::path(get, path = "/v1/drafts/{id}/transactions", tag = "drafts", summary = "The transactions the brand sends once both signed", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn transactions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let Signed { draft, version: v, agreement, brand_sig, creator_sig } =
        signed(&state, &mut conn, caller, &id).await?;
    let total = total_amount(&agreement);
    let mut out = Vec::new();
    if !agreement.token.is_zero() {
        let token = IERC20Allowance::new(agreement.token, state.provider.clone());
        let allowance =
            token.allowance(draft.brand, draft.escrow).call().await.map_err(ApiError::upstream)?;
        if allowance < total {
            out.push(TxRequest {
                description: format!(
                    "approve the escrow to take {total} of token {}",
                    agreement.token
                ),
                from: draft.brand,
                to: agreement.token,
                data: IERC20Allowance::approveCall { spender: draft.escrow, amount: total }
                    .abi_encode()
                    .into(),
                value: "0".to_owned(),
            });
        }
    }
    let n = agreement.milestones.len();
    let call = PactumEscrow::createAndFundCall {
        agreement,
        brandSignature: brand_sig,
        creatorSignature: creator_sig,
        fundCount: U256::from(n),
    };
    out.push(TxRequest {
        description: format!("create the agreement and fund all {n} milestones"),
        from: draft.brand,
        to: draft.escrow,
        data: call.abi_encode().into(),
        value: if call.agreement.token.is_zero() { total.to_string() } else { "0".to_owned() },
    });
    Ok(Json(serde_json::json!({ "agreementId": v.agreement_id, "transactions": out })))
}

/// EIP-2612 permits: the brand signs one off chain instead of sending an `approve`, and the
/// escrow spends it in `createAndFundWithPermit`, so funding is one transaction.
mod eip2612 {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        #[sol(rpc)]
        interface IERC20Permit {
            function nonces(address owner) external view returns (uint256);
            function eip712Domain() external view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions);
        }

        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        struct Permit {
            address owner;
            address spender;
            uint256 value;
            uint256 nonce;
            uint256 deadline;
        }
    }
}

/// How long a permit the API prepares stays valid.
const PERMIT_LIFETIME: i64 = 3600;

/// The permit of a signed draft's total, as the token's EIP-712 domain and the brand's nonce
/// make it.
async fn permit_of(
    state: &AppState,
    s: &Signed,
    deadline: i64,
) -> Result<(eip2612::Permit, alloy::sol_types::Eip712Domain), ApiError> {
    if s.agreement.token.is_zero() {
        return Err(ApiError::conflict(
            "no_permit_for_eth",
            "this agreement is paid in ETH: it is funded with the value of one transaction, no permit",
        ));
    }
    let token = eip2612::IERC20Permit::new(s.agreement.token, state.provider.clone());
    let d = token.eip712Domain().call().await.map_err(|e| {
        ApiError::conflict(
            "permit_unsupported",
            format!(
                "token {} does not publish its EIP-712 domain (EIP-5267), so no permit: {e}",
                s.agreement.token
            ),
        )
    })?;
    let nonce = token.nonces(s.draft.brand).call().await.map_err(ApiError::upstream)?;
    let domain = alloy::sol_types::Eip712Domain::new(
        Some(d.name.into()),
        Some(d.version.into()),
        Some(d.chainId),
        Some(d.verifyingContract),
        None,
    );
    let permit = eip2612::Permit {
        owner: s.draft.brand,
        spender: s.draft.escrow,
        value: total_amount(&s.agreement),
        nonce,
        deadline: U256::from(u64::try_from(deadline).unwrap_or(0)),
    };
    Ok((permit, domain))
}

#[utoipa::path(get, path = "/v1/drafts/{id}/permit", tag = "drafts", summary = "The EIP-2612 permit the brand signs to fund in one transaction (ERC-20 tokens with permit)", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn permit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    let deadline = now() + PERMIT_LIFETIME;
    let (permit, domain) = permit_of(&state, &s, deadline).await?;
    let typed = alloy::dyn_abi::TypedData::from_struct(&permit, Some(domain));
    Ok(Json(serde_json::json!({
        "token": s.agreement.token,
        "value": permit.value.to_string(),
        "deadline": deadline,
        "typedData": typed,
    })))
}

/// The brand's signed permit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitInput {
    /// The deadline of the permit signed (as `GET /v1/drafts/{id}/permit` gave it).
    pub deadline: i64,
    /// The `eth_signTypedData_v4` signature of the permit (hex).
    #[schema(value_type = String)]
    pub signature: Bytes,
}

/// Funding with a permit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FundWithPermit {
    /// The signed permit.
    pub permit: PermitInput,
}

#[utoipa::path(post, path = "/v1/drafts/{id}/transactions", tag = "drafts", summary = "With the brand's signed permit: the one transaction that creates and funds the agreement", params(("id" = String, Path)), request_body = FundWithPermit, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn transactions_with_permit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<FundWithPermit>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    if req.permit.deadline <= now() {
        return Err(ApiError::bad_request(
            "permit_expired",
            "the permit's deadline has passed; sign a new one",
        ));
    }
    let (permit, domain) = permit_of(&state, &s, req.permit.deadline).await?;
    let digest = alloy::sol_types::SolStruct::eip712_signing_hash(&permit, &domain);
    match pactum_core::recover_signer(digest, &req.permit.signature) {
        Ok(a) if a == s.draft.brand => {}
        _ => {
            return Err(ApiError::bad_request(
                "invalid_signature",
                format!("the permit is not signed by the brand {}", s.draft.brand),
            ))
        }
    }
    let sig = alloy::primitives::Signature::try_from(req.permit.signature.as_ref())
        .map_err(|e| ApiError::bad_request("invalid_signature", e.to_string()))?;
    let n = s.agreement.milestones.len();
    let call = PactumEscrow::createAndFundWithPermitCall {
        agreement: s.agreement,
        brandSignature: s.brand_sig,
        creatorSignature: s.creator_sig,
        fundCount: U256::from(n),
        permit: PactumEscrow::Permit {
            deadline: permit.deadline,
            v: 27 + u8::from(sig.v()),
            r: sig.r().into(),
            s: sig.s().into(),
        },
    };
    let tx = TxRequest {
        description: format!("create the agreement and fund all {n} milestones (with the permit)"),
        from: s.draft.brand,
        to: s.draft.escrow,
        data: call.abi_encode().into(),
        value: "0".to_owned(),
    };
    crate::actions::simulate(&state, &tx).await?;
    Ok(Json(serde_json::json!({ "agreementId": s.version.agreement_id, "transactions": [tx] })))
}

#[utoipa::path(get, path = "/v1/drafts/{id}/log", tag = "drafts", summary = "The draft's hash-chained off-chain log", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn log(
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
