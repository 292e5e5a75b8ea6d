//! Reads from the indexer's tables: agreements (filtered, keyset-paginated, on request with what a
//! dashboard row draws), one agreement with its milestones and money, its event history (JSON or
//! CSV), and how far the mirror has synced.
//! What is on chain is public; the terms document is shown to the parties and auditors only.

use alloy::primitives::{Address, B256};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use sqlx::Connection;
use utoipa_axum::{router::OpenApiRouter, routes};

use pactum_db::api::PartyRole;

use crate::{
    auth::{Caller, SignedIn},
    error::{ApiError, Json, Query},
    AppState,
};

/// Routes of the reads.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(status))
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(history))
        .routes(routes!(audit_bundle))
}

#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "Liveness", responses((status = 200, description = "ok")), security(()))]
/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Readiness: not ready until the indexer has caught up", responses((status = 200, description = "Ready: the indexer has caught up", body = SyncStatus), (status = 503, description = "An indexer behind, or a chain's node not answering (`not_ready`)", body = crate::error::ErrorBody)), security(()))]
/// Readiness: the database answers and the indexer is within `ready_max_lag` blocks of the head.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<SyncStatus>, ApiError> {
    // A node that does not answer makes this server not ready (503), as a lagging mirror does:
    // its chain's reads and actions cannot be trusted to be current.
    let s = sync_status(&state).await.map_err(|e| {
        if e.status == StatusCode::BAD_GATEWAY {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.message)
        } else {
            e
        }
    })?;
    // Ready only when every chain's mirror keeps up: a chain left behind would serve stale money.
    if let Some(c) =
        s.chains.iter().find(|c| c.head.saturating_sub(c.indexed) > state.cfg.ready_max_lag)
    {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!(
                "the indexer of chain {} is at block {} of {}; not serving until it catches up",
                c.chain_id, c.indexed, c.head
            ),
        ));
    }
    Ok(Json(s))
}

/// How far the mirror has synced.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// The primary chain.
    pub chain_id: u64,
    /// Its last block mirrored.
    pub indexed: u64,
    /// Its node's head now.
    pub head: u64,
    /// Its last final block, as the indexer counts finality.
    pub finalized: u64,
    /// Every served chain, the primary one first, each as above.
    pub chains: Vec<ChainSync>,
}

/// How far one chain's mirror has synced.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainSync {
    /// The chain.
    pub chain_id: u64,
    /// The last block mirrored.
    pub indexed: u64,
    /// The node's head now.
    pub head: u64,
    /// The last final block, as the indexer counts finality.
    pub finalized: u64,
}

async fn sync_status(state: &AppState) -> Result<SyncStatus, ApiError> {
    let mut conn = state.reads.pool().acquire().await?;
    let mut chains = Vec::with_capacity(state.chains.len());
    for chain in state.chains.iter() {
        let cp = pactum_db::checkpoint(&mut conn, chain.id).await?;
        chains.push(ChainSync {
            chain_id: chain.id,
            indexed: cp.as_ref().map_or(0, |c| c.block_number),
            head: chain.head().await?,
            finalized: cp.as_ref().map_or(0, |c| c.finalized_block),
        });
    }
    let primary = chains[0].clone();
    Ok(SyncStatus {
        chain_id: primary.chain_id,
        indexed: primary.indexed,
        head: primary.head,
        finalized: primary.finalized,
        chains,
    })
}

#[utoipa::path(get, path = "/v1/status", tag = "reads", summary = "Sync status: indexed block, head, finalized block", responses((status = 200, description = "The indexer's position against the chain", body = SyncStatus), (status = 500, description = "Our fault", body = crate::error::ErrorBody), (status = 502, description = "The Ethereum node is unavailable", body = crate::error::ErrorBody)), security(()))]
async fn status(State(state): State<AppState>) -> Result<Json<SyncStatus>, ApiError> {
    Ok(Json(sync_status(&state).await?))
}

/// An agreement as the reads show it (amounts as decimal strings).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementOut {
    /// The chain it is on.
    pub chain_id: u64,
    /// The id (the EIP-712 digest both parties signed).
    #[schema(value_type = String)]
    pub id: B256,
    /// The brand (absent for an agreement revoked before creation).
    #[schema(value_type = Option<String>)]
    pub brand: Option<Address>,
    /// The creator.
    #[schema(value_type = Option<String>)]
    pub creator: Option<Address>,
    /// The arbiter (zero: none).
    #[schema(value_type = Option<String>)]
    pub arbiter: Option<Address>,
    /// The token (zero: ETH).
    #[schema(value_type = Option<String>)]
    pub token: Option<Address>,
    /// The terms document's hash.
    #[schema(value_type = Option<String>)]
    pub terms_hash: Option<B256>,
    /// `active`, `terminating`, `closing`, `completed`, `terminated` or `revoked`.
    pub status: String,
    /// Milestones funded so far.
    pub funded_count: i32,
    /// Sum of milestone amounts (decimal).
    pub total_amount: String,
    /// Funded so far (decimal).
    pub funded: String,
    /// Paid (or credited) to the creator (decimal).
    pub paid_to_creator: String,
    /// Refunded (or credited) to the brand (decimal).
    pub refunded_to_brand: String,
    /// Paid to the arbiter (decimal).
    pub arbiter_fees: String,
    /// Of those payouts, what the escrow could not push and holds for withdrawal (decimal).
    pub deferred: String,
    /// Revision rounds each milestone allows.
    pub revision_rounds: Option<i32>,
    /// The contract's state nonce: what a settlement or mutual termination signed now must name.
    pub nonce: i64,
    /// Block it was created in.
    pub created_block: i64,
    /// Block time of creation.
    pub created_at: i64,
    /// Block of its latest event.
    pub updated_block: i64,
}

impl AgreementOut {
    /// Agreement `a` of chain `chain_id`.
    fn on(chain_id: u64, a: pactum_db::api::AgreementView) -> Self {
        Self {
            chain_id,
            id: a.id,
            brand: a.brand,
            creator: a.creator,
            arbiter: a.arbiter,
            token: a.token,
            terms_hash: a.terms_hash,
            status: a.status,
            funded_count: a.funded_count,
            total_amount: a.total_amount,
            funded: a.funded,
            paid_to_creator: a.paid_to_creator,
            refunded_to_brand: a.refunded_to_brand,
            arbiter_fees: a.arbiter_fees,
            deferred: a.deferred,
            revision_rounds: a.revision_rounds,
            nonce: a.nonce,
            created_block: a.created_block,
            created_at: a.created_at,
            updated_block: a.updated_block,
        }
    }
}

/// One row of the agreement list: the agreement and its money, and with `include=milestones`
/// what a dashboard row draws besides (each milestone, the termination under way), exactly as
/// `GET /v1/agreements/{id}` shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementRow {
    /// The agreement and its money.
    #[serde(flatten)]
    pub agreement: AgreementOut,
    /// With `include=milestones`: each milestone, by index (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<MilestoneOut>>,
    /// With `include=milestones`: the termination under way, when the status is `terminating`
    /// (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination: Option<TerminationOut>,
}

/// One page of agreements.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementPage {
    /// The agreements, oldest first.
    pub items: Vec<AgreementRow>,
    /// The cursor of the next page (absent on the last).
    pub next: Option<String>,
}

/// A milestone as the reads show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneOut {
    /// Index.
    pub index: i32,
    /// Amount (decimal).
    pub amount: String,
    /// Delivery deadline (Unix time).
    pub deadline: i64,
    /// Review window (seconds).
    pub review_window: i64,
    /// Funded yet.
    pub funded: bool,
    /// Status name.
    pub status: String,
    /// Unix time the status began.
    pub since: i64,
    /// Revisions the brand has asked for.
    pub revisions: i32,
    /// The submitted deliverable's hash.
    #[schema(value_type = Option<String>)]
    pub content_hash: Option<B256>,
    /// The submitted deliverable's URI.
    pub uri: Option<String>,
}

impl From<pactum_db::api::MilestoneView> for MilestoneOut {
    fn from(m: pactum_db::api::MilestoneView) -> Self {
        Self {
            index: m.index,
            amount: m.amount,
            deadline: m.deadline,
            review_window: m.review_window,
            funded: m.funded,
            status: m.status,
            since: m.since,
            revisions: m.revisions,
            content_hash: m.content_hash,
            uri: m.uri,
        }
    }
}

/// Which party started a termination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TerminatingParty {
    /// The paying party.
    Brand,
    /// The paid party.
    Creator,
}

/// A termination under way (status `terminating`), as the escrow holds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminationOut {
    /// Who started it.
    pub started_by: TerminatingParty,
    /// Whether the other party contested it: the arbiter then decides how the unearned escrow is
    /// split.
    pub contested: bool,
    /// Block time it started, or was contested if it was (Unix).
    pub since: i64,
    /// Uncontested: the last moment the other party may contest it (the `contestDeadline` of its
    /// `TerminationStarted`); after it anyone may finalize it. Null once contested.
    pub contest_deadline: Option<i64>,
    /// Contested: the last moment the arbiter may rule; after it either party may have the escrow
    /// split the unearned escrow evenly. Null while uncontested.
    pub ruling_deadline: Option<i64>,
}

impl From<pactum_db::api::TerminationView> for TerminationOut {
    fn from(t: pactum_db::api::TerminationView) -> Self {
        Self {
            started_by: match t.started_by {
                PartyRole::Brand => TerminatingParty::Brand,
                _ => TerminatingParty::Creator,
            },
            contested: t.contested,
            since: t.since,
            contest_deadline: (!t.contested).then_some(t.since + t.contest_window),
            ruling_deadline: t.contested.then_some(t.since + t.arbitration_window),
        }
    }
}

/// The terms document, for parties and auditors, when the agreement was drafted here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsOut {
    /// The draft.
    pub draft: String,
    /// The version signed.
    pub version: i32,
    /// The terms document as submitted.
    #[schema(value_type = pactum_core::terms::TermsDocument)]
    pub document: serde_json::Value,
    /// keccak256 of its RFC 8785 canonical form (the agreement's termsHash).
    #[schema(value_type = String)]
    pub terms_hash: B256,
}

/// One agreement with its milestones and, for parties and auditors, its terms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementDetail {
    /// The agreement and its money.
    pub agreement: AgreementOut,
    /// Each milestone.
    pub milestones: Vec<MilestoneOut>,
    /// The termination under way (null unless the status is `terminating`).
    pub termination: Option<TerminationOut>,
    /// The terms (null for others, or when not drafted here).
    pub terms: Option<TermsOut>,
}

/// One escrow event of an agreement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEventOut {
    /// Block number.
    pub block_number: i64,
    /// Block hash.
    #[schema(value_type = String)]
    pub block_hash: B256,
    /// Block time (Unix).
    pub timestamp: i64,
    /// Transaction hash.
    #[schema(value_type = String)]
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: i32,
    /// Event name.
    pub event: String,
    /// The milestone it concerns, if any.
    pub milestone: Option<i32>,
    /// The decoded parameters by name, as alloy decodes them: integers up to `uint32` as numbers,
    /// wider ones (amounts, deadlines) as `0x` hex quantities, addresses and hashes as `0x` hex.
    #[schema(value_type = std::collections::BTreeMap<String, crate::schema::EventFieldValue>)]
    pub fields: serde_json::Value,
    /// The raw topics, concatenated (0x hex).
    pub topics: String,
    /// The raw data (0x hex).
    pub data: String,
}

/// An agreement's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// The chain the agreement is on.
    pub chain_id: u64,
    /// The agreement.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// Every event, in chain order.
    pub events: Vec<HistoryEventOut>,
}

/// Filters and paging of `GET /v1/agreements`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// An account: agreements it is party (or arbiter) to.
    #[param(pattern = r"^0x[0-9a-fA-F]{40}$")]
    pub party: Option<String>,
    /// With `party`: `brand`, `creator` or `arbiter`.
    #[param(pattern = r"^(brand|creator|arbiter)$")]
    pub role: Option<String>,
    /// A status (`active`, `terminating`, `closing`, `completed`, `terminated`, `revoked`).
    #[param(pattern = r"^(active|terminating|closing|completed|terminated|revoked)$")]
    pub status: Option<String>,
    /// A token (zero address: ETH).
    #[param(pattern = r"^0x[0-9a-fA-F]{40}$")]
    pub token: Option<String>,
    /// Created at or after (Unix time).
    pub from: Option<i64>,
    /// Created before (Unix time).
    pub to: Option<i64>,
    /// The `next` cursor of the previous page.
    #[param(pattern = r"^[0-9]+\.[0-9]+$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The chain (default: the primary one; `GET /v1/config` lists them).
    #[param(minimum = 1)]
    pub chain: Option<u64>,
    /// `milestones`: each row also carries its milestones and the termination under way (what
    /// a dashboard row draws), read for the whole page in one more statement.
    #[param(inline)]
    pub include: Option<ListInclude>,
}

/// What a list row carries besides the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListInclude {
    /// Each milestone and the termination under way.
    Milestones,
}

fn query_address(field: &str, s: &str) -> Result<Address, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request("invalid_address", format!("{field}: {s:?} is not an address"))
    })
}

const STATUSES: [&str; 6] =
    ["active", "terminating", "closing", "completed", "terminated", "revoked"];

#[utoipa::path(get, path = "/v1/agreements", tag = "reads", summary = "Agreements by party, role, status, token and time; keyset-paginated; with include=milestones each row also carries its milestones and the termination under way", params(ListQuery), responses((status = 200, description = "One page of agreements", body = AgreementPage), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "A chain this deployment does not serve (`unknown_chain`)", body = crate::error::ErrorBody), (status = 500, description = "Our fault", body = crate::error::ErrorBody)), security(()))]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<AgreementPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_limit", "limit is 1 to 200"));
    }
    let role = match q.role.as_deref() {
        None => None,
        Some("brand") => Some(PartyRole::Brand),
        Some("creator") => Some(PartyRole::Creator),
        Some("arbiter") => Some(PartyRole::Arbiter),
        Some(_) => {
            return Err(ApiError::bad_request("invalid_role", "role is brand, creator or arbiter"))
        }
    };
    if role.is_some() && q.party.is_none() {
        return Err(ApiError::bad_request(
            "invalid_role",
            "role filters by a party: give party too",
        ));
    }
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("status is one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let after = match &q.cursor {
        None => None,
        Some(c) => {
            let parsed = c
                .split_once('.')
                .and_then(|(b, l)| Some((b.parse::<i64>().ok()?, l.parse::<i32>().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned")
            })?)
        }
    };
    let filter = pactum_db::api::AgreementFilter {
        party: q.party.as_deref().map(|p| query_address("party", p)).transpose()?,
        role,
        status: q.status.clone(),
        token: q.token.as_deref().map(|t| query_address("token", t)).transpose()?,
        from: q.from,
        to: q.to,
        after,
    };
    let chain_id = state.chain_or_primary(q.chain)?.id;
    let mut conn = state.reads.pool().acquire().await?;
    let (rows, mut details) = match q.include {
        None => (pactum_db::api::list_agreements(&mut conn, chain_id, &filter, limit).await?, None),
        Some(ListInclude::Milestones) => {
            // The page and its rows' details from one snapshot: an event indexed between the two
            // statements cannot show a milestone paid beside money not yet counted.
            let mut tx = conn.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let rows = pactum_db::api::list_agreements(&mut tx, chain_id, &filter, limit).await?;
            let ids: Vec<B256> = rows.iter().map(|r| r.id).collect();
            let details = pactum_db::api::row_details(&mut tx, chain_id, &ids).await?;
            tx.commit().await?;
            (rows, Some(details))
        }
    };
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| format!("{}.{}", r.created_block, r.created_log_index)))
        .flatten();
    let items = rows
        .into_iter()
        .map(|a| {
            let (milestones, termination) = match details.as_mut().map(|d| d.remove(&a.id)) {
                None => (None, None),
                Some(d) => {
                    let d = d.unwrap_or_default();
                    let milestones = d.milestones.into_iter().map(MilestoneOut::from).collect();
                    (Some(milestones), d.termination.map(TerminationOut::from))
                }
            };
            AgreementRow { agreement: AgreementOut::on(chain_id, a), milestones, termination }
        })
        .collect();
    Ok(Json(AgreementPage { items, next }))
}

/// An agreement as a path names it: its id (0x and 64 hex digits), optionally after its chain
/// id and a colon (`8453:0x…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AgreementRef {
    /// The chain, if the path names it.
    pub chain: Option<u64>,
    /// The agreement id.
    pub id: B256,
}

/// An agreement from a path (`0x…`, or `<chainId>:0x…`), else a 400 `invalid_id`.
pub(crate) fn parse_id(text: &str) -> Result<AgreementRef, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_id",
            format!(
                "{text:?} is not an agreement id (0x and 64 hex digits, optionally after its \
                 chain id and a colon: 8453:0x…)"
            ),
        )
    };
    let (chain, id) = match text.split_once(':') {
        Some((chain, id)) => (Some(chain.parse::<u64>().map_err(|_| bad())?), id),
        None => (None, text),
    };
    Ok(AgreementRef { chain, id: id.parse().map_err(|_| bad())? })
}

/// The served chain an agreement is on: the one its path names, else the one whose ledger has it
/// (an id commits to its chain, so at most one has it), else a 404. One primary-key lookup, and
/// none when the path names the chain or only one chain is served.
pub(crate) async fn locate<'s>(
    state: &'s AppState,
    conn: &mut sqlx::PgConnection,
    r: AgreementRef,
) -> Result<&'s crate::Chain, ApiError> {
    if let Some(chain) = r.chain {
        return state.chain(chain);
    }
    if state.chains.len() == 1 {
        return Ok(state.primary());
    }
    match pactum_db::api::chain_of(conn, &state.chain_ids(), r.id).await? {
        Some(chain) => state.chain(chain),
        None => Err(ApiError::not_found("agreement")),
    }
}

#[utoipa::path(get, path = "/v1/agreements/{id}", tag = "reads", summary = "One agreement: parties, milestones, money, the termination under way; the terms for parties and auditors", params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id: 0x and 64 hex digits, optionally after its chain id and a colon (8453:0x…)")), responses((status = 200, description = "The agreement", body = AgreementDetail), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = crate::error::ErrorBody), crate::error::SessionErrors), security((), ("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AgreementDetail>, ApiError> {
    let at = parse_id(&id)?;
    let id = at.id;
    let mut conn = state.reads.pool().acquire().await?;
    let chain = locate(&state, &mut conn, at).await?.id;
    let read = pactum_db::api::agreement(&mut conn, chain, id)
        .await?
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    let a = read.agreement;
    let parties: Vec<Address> =
        [a.brand, a.creator, a.arbiter].into_iter().flatten().filter(|p| !p.is_zero()).collect();
    // The terms document is private: parties and auditors only, and only if drafted here.
    let terms = if caller.may_read(&parties) {
        pactum_db::api::version_by_agreement(&mut conn, id).await?.map(|v| TermsOut {
            draft: v.draft_id,
            version: v.version,
            document: v.terms,
            terms_hash: v.terms_hash,
        })
    } else {
        None
    };
    Ok(Json(AgreementDetail {
        agreement: AgreementOut::on(chain, a),
        milestones: read.milestones.into_iter().map(MilestoneOut::from).collect(),
        termination: read.termination.map(TerminationOut::from),
        terms,
    }))
}

/// `?format=csv` for a spreadsheet.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// `json` (default) or `csv`.
    #[param(pattern = r"^(json|csv)$")]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/agreements/{id}/history", tag = "reads", summary = "Every event in chain order (JSON, or CSV with format=csv)", params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id: 0x and 64 hex digits, optionally after its chain id and a colon (8453:0x…)"), HistoryQuery), responses((status = 200, description = "The events in chain order, as JSON or CSV", content((History = "application/json"), (String = "text/csv"))), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = crate::error::ErrorBody), (status = 500, description = "Our fault", body = crate::error::ErrorBody)), security(()))]
async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let at = parse_id(&id)?;
    let id = at.id;
    let mut conn = state.reads.pool().acquire().await?;
    let chain = locate(&state, &mut conn, at).await?.id;
    let events = pactum_db::api::history(&mut conn, chain, id).await?;
    if events.is_empty() {
        return Err(ApiError::not_found("agreement"));
    }
    match q.format.as_deref() {
        None | Some("json") => {
            let events = events
                .into_iter()
                .map(|e| HistoryEventOut {
                    block_number: e.block_number,
                    block_hash: e.block_hash,
                    timestamp: e.block_timestamp,
                    tx_hash: e.tx_hash,
                    log_index: e.log_index,
                    event: e.event,
                    milestone: e.milestone,
                    fields: e.fields,
                    topics: alloy::hex::encode_prefixed(&e.topics),
                    data: alloy::hex::encode_prefixed(&e.data),
                })
                .collect();
            Ok(Json(History { chain_id: chain, agreement_id: id, events }).into_response())
        }
        Some("csv") => {
            let mut out = String::from(
                "block_number,block_hash,timestamp,tx_hash,log_index,event,milestone,fields\n",
            );
            for e in events {
                // Fields are JSON: quoted, with quotes doubled (RFC 4180).
                let fields = e.fields.to_string().replace('"', "\"\"");
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},\"{}\"\n",
                    e.block_number,
                    e.block_hash,
                    e.block_timestamp,
                    e.tx_hash,
                    e.log_index,
                    e.event,
                    e.milestone.map(|m| m.to_string()).unwrap_or_default(),
                    fields
                ));
            }
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("format is json or csv, not {other:?}"),
        )),
    }
}

#[utoipa::path(get, path = "/v1/agreements/{id}/audit-bundle", tag = "reads", summary = "The audit bundle, format pactum-audit-bundle/2, signed by this server's export key (check it with `pactum verify`; schema: docs/audit-bundle.schema.json)", params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id: 0x and 64 hex digits, optionally after its chain id and a colon (8453:0x…)")), responses((status = 200, description = "The signed audit bundle", body = ref("#/components/schemas/AuditBundle")), crate::error::SessionErrors, (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 403, description = "Not allowed", body = crate::error::ErrorBody), (status = 404, description = "Not found or not yours (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = crate::error::ErrorBody), (status = 502, description = "The Ethereum node is unavailable", body = crate::error::ErrorBody)), security(("bearer" = [])))]
/// The audit bundle of one agreement (parties and auditors: it holds the private terms).
async fn audit_bundle(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let at = parse_id(&id)?;
    let id = at.id;
    let mut conn = state.reads.pool().acquire().await?;
    let chain = locate(&state, &mut conn, at).await?;
    let rows = pactum_db::load_agreements(&mut conn, chain.id, &[id]).await?;
    let agreement = rows
        .get(&id)
        .and_then(|r| r.ledger.agreement.clone())
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    drop(conn);
    if !caller.may_read(&[agreement.brand, agreement.creator, agreement.arbiter]) {
        return Err(ApiError::forbidden(
            "the audit bundle holds the private terms: parties and auditors only",
        ));
    }
    // The node is asked only once the caller may have the bundle: a refusal costs no RPC call.
    Ok(Json(crate::export::bundle(&state, chain, id).await?))
}
