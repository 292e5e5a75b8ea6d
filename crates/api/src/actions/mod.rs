//! Settlement: the transaction for every escrow action, checked against the agreement's current
//! state before it is handed out.
//!
//! `POST /v1/agreements/{id}/transactions` with `{"action": "...", ...}` builds the call from the
//! agreement as the indexer mirrored it, then simulates it (`eth_call` from the signed-in account
//! at the latest block). A call the escrow would refuse comes back as a 409 whose code and
//! message are the escrow's own reason, in words ("the review window is still open until …"),
//! decoded from its custom error; only a call that would succeed is returned to be signed. The
//! contract stays the single source of truth for its rules: nothing here re-implements them.
//!
//! `settle` and `terminate-mutually` need both parties' signatures of a split: without them the
//! response is the EIP-712 typed data to sign; with them, the transaction. The typed data names
//! the agreement's current state nonce, read from the escrow (`getState(id).nonce`): any change
//! of the agreement's state (or either party's `cancel-signatures`) voids the signatures, and
//! their default deadline is short ([`SPLIT_SIGNATURE_TTL`]), so a signed split never stays an
//! open option for long. A `submit` with a
//! caption is checked for the disclosure the terms require and the caption is recorded in the
//! draft's off-chain log.

use alloy::{
    primitives::{aliases::U40, keccak256, Address, Bytes, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::{Eip712Domain, SolCall},
};
use axum::extract::{Path, State};
use pactum_bindings::PactumEscrow::{self, PactumEscrowErrors as E};
use pactum_core::{
    disclosure, mutual_termination_digest, mutual_termination_typed_data, settlement_digest,
    settlement_typed_data, Agreement, MutualTermination, Settlement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::SignedIn,
    drafts::{Eip712TypedData, TxRequest},
    error::{ActionJson, ApiError, ErrorBody, Json},
    now, AppState, Chain,
};

mod refusal;
pub mod request;

pub use request::{ActionRequest, ActionRequestSchema, MAX_BPS};

/// How long signatures of a settlement or mutual termination stay valid by default: an hour of
/// the chain's time ([`crate::chain_time`]), which the escrow measures the deadline by.
pub const SPLIT_SIGNATURE_TTL: i64 = 3_600;

/// Routes of the settlement actions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(prepare)).routes(routes!(caption_check))
}

/// The transactions to send for an action (one, simulated: the escrow would accept it now).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreparedAction {
    /// The action, as asked.
    pub action: &'static str,
    /// What the caller's wallet sends.
    pub transactions: Vec<TxRequest>,
}

/// What both parties sign before a split (`settle`, `terminate-mutually`) can be sent: ask again
/// with `deadline`, `nonce` and both signatures for the transaction.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SplitToSign {
    /// The action, as asked.
    pub action: &'static str,
    /// The EIP-712 digest both parties sign.
    #[schema(value_type = String)]
    pub digest: B256,
    /// The typed data (`eth_signTypedData_v4`).
    #[schema(value_type = Eip712TypedData)]
    pub typed_data: serde_json::Value,
    /// The agreement's state nonce the signatures name.
    pub nonce: u32,
    /// Unix time the signatures expire.
    pub deadline: u64,
    /// When the signatures become void, in words.
    pub note: String,
}

/// The answer to an action: the transactions to send, or, for a split still unsigned, what both
/// parties sign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActionResponse {
    /// The transactions to send.
    Transactions(PreparedAction),
    /// The typed data both parties sign first.
    Sign(SplitToSign),
}

fn reason_hash(reason: &str) -> B256 {
    keccak256(reason.as_bytes())
}

fn time40(t: i64, now: i64) -> Result<U40, ApiError> {
    if t <= now {
        return Err(ApiError::bad_request(
            "deadline_in_past",
            format!("deadline {t} is not in the future (the chain's time is {now})"),
        ));
    }
    U40::try_from(u64::try_from(t).unwrap_or(u64::MAX)).map_err(|_| {
        ApiError::bad_request("deadline_out_of_range", "deadline does not fit in 40 bits")
    })
}

/// The agreement's current state nonce, read from the escrow (the mirror may lag a block).
async fn chain_nonce(chain: &Chain, id: B256) -> Result<u32, ApiError> {
    let escrow = PactumEscrow::new(chain.escrow, chain.provider.clone());
    let s = escrow.getState(id).call().await.map_err(ApiError::upstream)?;
    Ok(s.nonce)
}

/// A split both parties sign: a milestone's settlement (`milestone`) or a mutual termination.
struct Split {
    milestone: Option<u64>,
    creator_amount: String,
    deadline: Option<i64>,
    nonce: Option<u32>,
    brand_signature: Option<Bytes>,
    creator_signature: Option<Bytes>,
}

/// A split's next step: the typed data to sign, or the call that carries both signatures.
enum SplitStep {
    ToSign(SplitToSign),
    Call(Vec<u8>),
}

impl Split {
    /// Checks the split against what is at stake (`available`) and the signatures' deadline,
    /// then returns what to sign or, signed, the escrow call.
    async fn step(
        self,
        chain: &Chain,
        agreement: &Agreement,
        id: B256,
        d: &Eip712Domain,
        action: &'static str,
        available: U256,
    ) -> Result<SplitStep, ApiError> {
        let amount = U256::from_str_radix(&self.creator_amount, 10).map_err(|_| {
            ApiError::bad_request(
                "invalid_amount",
                "creatorAmount is a whole number in the token's smallest unit",
            )
        })?;
        let signed = self.brand_signature.is_some() || self.creator_signature.is_some();
        // The signatures sign the deadline: sending them, say which one.
        if signed && self.deadline.is_none() {
            return Err(ApiError::bad_request(
                "missing_field",
                format!("{action} needs deadline (the one the signatures signed)"),
            ));
        }
        // Nobody should sign a split the escrow would refuse: the creator's amount is at most
        // what is at stake (the milestone's amount; for a mutual termination, the unearned
        // escrow: funded milestones never delivered, as the mirror last saw them).
        if amount > available {
            return Err(ApiError::conflict(
                "split_too_large",
                format!(
                    "{amount} is more than the {available} at stake{}",
                    if self.milestone.is_some() {
                        " (the milestone's amount)"
                    } else {
                        " (the unearned escrow: funded milestones never delivered; delivered \
                         ones keep their own exits)"
                    }
                ),
            ));
        }
        // The escrow compares the deadline with `block.timestamp`: measured by the chain's time.
        let now = chain.now().await?;
        let deadline = time40(self.deadline.unwrap_or(now + SPLIT_SIGNATURE_TTL), now)?;
        let current = chain_nonce(chain, id).await?;
        let nonce = self.nonce.unwrap_or(current);
        let (digest, typed) = match self.milestone {
            Some(m) => {
                let s = Settlement {
                    agreementId: id,
                    milestone: U256::from(m),
                    creatorAmount: amount,
                    nonce,
                    deadline,
                };
                (
                    settlement_digest(&s, d),
                    settlement_typed_data(&s, d).map_err(ApiError::internal)?,
                )
            }
            None => {
                let t =
                    MutualTermination { agreementId: id, creatorAmount: amount, nonce, deadline };
                (
                    mutual_termination_digest(&t, d),
                    mutual_termination_typed_data(&t, d).map_err(ApiError::internal)?,
                )
            }
        };
        let (Some(bs), Some(cs)) = (self.brand_signature, self.creator_signature) else {
            // First step: what both parties sign.
            return Ok(SplitStep::ToSign(SplitToSign {
                action,
                digest,
                typed_data: typed,
                nonce,
                deadline: deadline.to::<u64>(),
                note: format!(
                    "these signatures are void once the agreement's state changes (any \
                     funding, delivery, review, dispute, payout or termination step moves \
                     its nonce past {nonce}), once either party cancels them \
                     (cancel-signatures), and after {}",
                    crate::time::rfc3339(deadline.to::<u64>())
                ),
            }));
        };
        let agreement = agreement.clone();
        Ok(SplitStep::Call(match self.milestone {
            Some(m) => PactumEscrow::settleCall {
                agreement,
                milestone: U256::from(m),
                creatorAmount: amount,
                nonce,
                deadline,
                brandSignature: bs,
                creatorSignature: cs,
            }
            .abi_encode(),
            None => PactumEscrow::terminateMutuallyCall {
                agreement,
                creatorAmount: amount,
                nonce,
                deadline,
                brandSignature: bs,
                creatorSignature: cs,
            }
            .abi_encode(),
        }))
    }
}

#[utoipa::path(
    post,
    path = "/v1/agreements/{id}/transactions",
    tag = "settlement",
    summary = "The transaction for an escrow action, simulated against the current state first",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id (0x and 64 hex digits), optionally after its chain id and a colon (8453:0x…)")),
    request_body = ActionRequestSchema,
    responses(
        (status = 200, description = "The transaction to send, or for an unsigned split the typed data both parties sign", body = ActionResponse),
        (status = 400, description = "Malformed request: `invalid_json`, `invalid_body` (a field the action does not take, a wrong type), `missing_field` (names it), `unknown_action`, `invalid_id`, `invalid_milestone` (above 31, or not in the agreement), `invalid_fund_count`, `invalid_bps`, `invalid_amount`, `deadline_in_past`, `deadline_out_of_range`", body = ErrorBody),
        (status = 401, description = "No session: no token, or an unknown, expired or logged-out one (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "An auditor (auditors read only), or a caption submitted by someone not a party (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such agreement (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = ErrorBody),
        (status = 409, description = "The escrow would refuse it now, with its reason (`review_window_open`, `wrong_status`, `not_your_action`, `stale_nonce`, … `escrow_refused`), a split above what is at stake (`split_too_large`), or terms unknown for a caption (`terms_unknown`)", body = ErrorBody),
        (status = 413, description = "Body too large (`body_too_large`)", body = ErrorBody),
        (status = 415, description = "Not sent as JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "The caption lacks the disclosure its terms require (`disclosure_missing`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this account (`rate_limited`; see Retry-After)", body = ErrorBody),
        (status = 500, description = "Our fault (`internal`)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn prepare(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    ActionJson(req): ActionJson<ActionRequest>,
) -> Result<Json<ActionResponse>, ApiError> {
    let who = caller.party()?;
    let at = crate::reads::parse_id(&id)?;
    let id = at.id;
    // What the types cannot say, before the database or the node is asked anything.
    req.check()?;
    let mut conn = state.pool.acquire().await?;
    let chain = crate::reads::locate(&state, &mut conn, at).await?;
    let rows = pactum_db::load_agreements(&mut conn, chain.id, &[id]).await?;
    let row = rows.get(&id).ok_or_else(|| ApiError::not_found("agreement"))?;
    let agreement = row.ledger.agreement.clone().ok_or_else(|| {
        ApiError::conflict("wrong_status", "the agreement was revoked before creation")
    })?;
    let d = chain.domain();
    let a = req.name();
    let ag = agreement.clone();
    let mut value = U256::ZERO;
    let mut recorded = None;
    let data: Vec<u8> = match req {
        ActionRequest::Fund { count } => {
            if agreement.token.is_zero() {
                let from = usize::from(row.ledger.funded_count);
                value = agreement
                    .milestones
                    .iter()
                    .skip(from)
                    .take(usize::try_from(count).unwrap_or(usize::MAX))
                    .map(|m| m.amount)
                    .sum();
            }
            // The escrow funds from the next unfunded milestone only, and makes the transaction
            // name it: a transaction priced for other milestones fails instead of paying for them.
            PactumEscrow::fundCall {
                agreement: ag,
                first: U256::from(row.ledger.funded_count),
                count: U256::from(count),
            }
            .abi_encode()
        }
        ActionRequest::Submit { milestone, content_hash, uri, caption, platform } => {
            if let Some(caption) = caption {
                // Who asks comes before what the terms say: the check's refusal spells out the
                // disclosure rules, which are private to the parties.
                if ![agreement.brand, agreement.creator, agreement.arbiter].contains(&who) {
                    return Err(ApiError::forbidden(
                        "only the agreement's parties may submit its deliverables",
                    ));
                }
                let report =
                    check_caption(&mut conn, id, milestone, &caption, platform.as_deref()).await?;
                if !report.0 {
                    // The summary is the whole sentence ("The caption lacks the disclosure the
                    // terms require: …"); no prefix of ours, or it would say so twice.
                    return Err(ApiError::unprocessable("disclosure_missing", report.1));
                }
                recorded = Some((milestone, caption, report.2));
            }
            PactumEscrow::submitCall {
                agreement: ag,
                milestone: U256::from(milestone),
                contentHash: content_hash,
                uri,
            }
            .abi_encode()
        }
        ActionRequest::Approve { milestone } => {
            PactumEscrow::approveCall { agreement: ag, milestone: U256::from(milestone) }
                .abi_encode()
        }
        ActionRequest::RequestRevision { milestone, reason } => PactumEscrow::requestRevisionCall {
            agreement: ag,
            milestone: U256::from(milestone),
            reasonHash: reason_hash(&reason),
        }
        .abi_encode(),
        ActionRequest::Claim { milestone } => {
            PactumEscrow::claimAfterSilenceCall { agreement: ag, milestone: U256::from(milestone) }
                .abi_encode()
        }
        ActionRequest::Reclaim { milestone } => PactumEscrow::reclaimAfterDeadlineCall {
            agreement: ag,
            milestone: U256::from(milestone),
        }
        .abi_encode(),
        ActionRequest::Dispute { milestone, reason } => PactumEscrow::disputeCall {
            agreement: ag,
            milestone: U256::from(milestone),
            reasonHash: reason_hash(&reason),
        }
        .abi_encode(),
        ActionRequest::Resolve { milestone, creator_bps } => PactumEscrow::resolveDisputeCall {
            agreement: ag,
            milestone: U256::from(milestone),
            creatorBps: creator_bps,
        }
        .abi_encode(),
        ActionRequest::ResolveTimeout { milestone } => {
            PactumEscrow::resolveDisputeAfterTimeoutCall {
                agreement: ag,
                milestone: U256::from(milestone),
            }
            .abi_encode()
        }
        ActionRequest::Terminate { reason } => {
            PactumEscrow::terminateCall { agreement: ag, reasonHash: reason_hash(&reason) }
                .abi_encode()
        }
        ActionRequest::Contest {} => {
            PactumEscrow::contestTerminationCall { agreement: ag }.abi_encode()
        }
        ActionRequest::FinalizeTermination {} => {
            PactumEscrow::finalizeTerminationCall { agreement: ag }.abi_encode()
        }
        ActionRequest::ResolveTermination { creator_bps } => {
            PactumEscrow::resolveTerminationCall { agreement: ag, creatorBps: creator_bps }
                .abi_encode()
        }
        ActionRequest::ResolveTerminationTimeout {} => {
            PactumEscrow::resolveTerminationAfterTimeoutCall { agreement: ag }.abi_encode()
        }
        ActionRequest::CancelSignatures {} => {
            PactumEscrow::cancelSignaturesCall { agreement: ag }.abi_encode()
        }
        ActionRequest::Withdraw { to } => {
            PactumEscrow::withdrawCall { token: agreement.token, to: to.unwrap_or(who) }
                .abi_encode()
        }
        ActionRequest::Settle {
            milestone,
            creator_amount,
            deadline,
            nonce,
            brand_signature,
            creator_signature,
        } => {
            let spec = usize::try_from(milestone).ok().and_then(|i| agreement.milestones.get(i));
            let available = spec.map(|x| x.amount).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_milestone",
                    format!(
                        "milestone {milestone} does not exist (the agreement has {})",
                        agreement.milestones.len()
                    ),
                )
            })?;
            let split = Split {
                milestone: Some(milestone),
                creator_amount,
                deadline,
                nonce,
                brand_signature,
                creator_signature,
            };
            match split.step(chain, &agreement, id, &d, a, available).await? {
                SplitStep::ToSign(sign) => return Ok(Json(ActionResponse::Sign(sign))),
                SplitStep::Call(data) => data,
            }
        }
        ActionRequest::TerminateMutually {
            creator_amount,
            deadline,
            nonce,
            brand_signature,
            creator_signature,
        } => {
            let split = Split {
                milestone: None,
                creator_amount,
                deadline,
                nonce,
                brand_signature,
                creator_signature,
            };
            let available = row.ledger.unearned();
            match split.step(chain, &agreement, id, &d, a, available).await? {
                SplitStep::ToSign(sign) => return Ok(Json(ActionResponse::Sign(sign))),
                SplitStep::Call(data) => data,
            }
        }
    };
    let data = Bytes::from(data);

    let tx = TxRequest {
        description: format!("{a} on agreement {id}"),
        chain_id: chain.id,
        from: who,
        to: chain.escrow,
        data,
        value: value.to_string(),
    };
    // Would the escrow accept it from this account, now?
    simulate(chain, &tx).await?;
    if let Some((milestone, caption, report)) = recorded {
        record_caption(&state, id, who, milestone, &caption, report).await?;
    }
    Ok(Json(ActionResponse::Transactions(PreparedAction { action: a, transactions: vec![tx] })))
}

/// Runs `tx` as an `eth_call` from its sender at the latest block; a refusal comes back as a 409
/// whose code and message are the escrow's reason, in words.
pub(crate) async fn simulate(chain: &Chain, tx: &TxRequest) -> Result<(), ApiError> {
    let value = U256::from_str_radix(&tx.value, 10).map_err(ApiError::internal)?;
    let call = TransactionRequest::default()
        .from(tx.from)
        .to(tx.to)
        .input(tx.data.clone().into())
        .value(value);
    if let Err(err) = chain.provider.call(call).await {
        let decoded = err.as_error_resp().and_then(|e| e.as_decoded_interface_error::<E>());
        return Err(match decoded {
            Some(e) => {
                let (code, message) = refusal::explain(&e);
                ApiError::conflict(code, message)
            }
            // The node's own words for the revert (not the transport's, which name its URL).
            None if err.as_error_resp().is_some() => {
                tracing::info!(error = %err, "the escrow would refuse a prepared call");
                let reason = err.as_error_resp().map(|e| e.message.to_string()).unwrap_or_default();
                ApiError::conflict(
                    "escrow_refused",
                    format!("the escrow would refuse this: {reason}"),
                )
            }
            None => ApiError::upstream(err),
        });
    }
    Ok(())
}

/// A caption to check before anything goes on chain.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptionCheckRequest {
    /// The milestone the deliverable is for (its deliverable names the platform), 0 to 31.
    #[schema(maximum = 31)]
    pub milestone: u64,
    /// The caption.
    pub caption: String,
    /// The platform (default: the milestone's deliverable's platform).
    pub platform: Option<String>,
}

/// A caption's disclosure check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptionCheck {
    /// Whether the caption carries the disclosure the terms require.
    pub ok: bool,
    /// The verdict, in words.
    pub summary: String,
    /// The check rule by rule (the disclosure report of `pactum-core`).
    #[schema(value_type = pactum_core::disclosure::DisclosureReport)]
    pub report: serde_json::Value,
}

#[utoipa::path(
    post,
    path = "/v1/agreements/{id}/caption-check",
    tag = "settlement",
    summary = "The disclosure check of a caption against the agreement's terms, without preparing anything",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id (0x and 64 hex digits), optionally after its chain id and a colon (8453:0x…)")),
    request_body = CaptionCheckRequest,
    responses(
        (status = 200, description = "The check", body = CaptionCheck),
        (status = 400, description = "Malformed request (`invalid_json`, `invalid_body`, `invalid_id`, `invalid_milestone`: above 31)", body = ErrorBody),
        (status = 401, description = "An unknown, expired or logged-out token (`unauthorized`); without one the agreement is not found", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = ErrorBody),
        (status = 409, description = "The agreement was not drafted here: its terms are unknown (`terms_unknown`)", body = ErrorBody),
        (status = 413, description = "Body too large (`body_too_large`)", body = ErrorBody),
        (status = 415, description = "Not sent as JSON (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this account (`rate_limited`)", body = ErrorBody),
        (status = 500, description = "Our fault (`internal`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn caption_check(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(req): Json<CaptionCheckRequest>,
) -> Result<Json<CaptionCheck>, ApiError> {
    let at = crate::reads::parse_id(&id)?;
    let id = at.id;
    let mut conn = state.pool.acquire().await?;
    let chain = crate::reads::locate(&state, &mut conn, at).await?;
    let rows = pactum_db::load_agreements(&mut conn, chain.id, &[id]).await?;
    let agreement = rows
        .get(&id)
        .and_then(|r| r.ledger.agreement.clone())
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    if !caller.may_read(&[agreement.brand, agreement.creator, agreement.arbiter]) {
        // The terms (and so the rules) are private to the parties and auditors.
        return Err(ApiError::not_found("agreement"));
    }
    request::check_milestone(req.milestone)?;
    let (ok, summary, report) =
        check_caption(&mut conn, id, req.milestone, &req.caption, req.platform.as_deref()).await?;
    Ok(Json(CaptionCheck { ok, summary, report }))
}

/// Checks a caption against the disclosure rules of the agreement's terms (when it was drafted
/// here); returns (passes, summary, report as JSON).
async fn check_caption(
    conn: &mut sqlx::PgConnection,
    id: B256,
    milestone: u64,
    caption: &str,
    platform: Option<&str>,
) -> Result<(bool, String, serde_json::Value), ApiError> {
    let Some(v) = pactum_db::api::version_by_agreement(conn, id).await? else {
        return Err(ApiError::conflict(
            "terms_unknown",
            "this agreement was not drafted here: its disclosure rules are unknown",
        ));
    };
    let doc: pactum_core::terms::TermsDocument =
        serde_json::from_value(v.terms).map_err(ApiError::internal)?;
    let platform = platform
        .map(str::to_owned)
        .or_else(|| {
            doc.deliverables
                .iter()
                .find(|d| u64::from(d.milestone) == milestone)
                .map(|d| d.platform.clone())
        })
        .unwrap_or_default();
    let report = disclosure::check_caption(caption, &platform, &doc.disclosure);
    let json = serde_json::to_value(&report).map_err(ApiError::internal)?;
    Ok((report.ok, report.summary(), json))
}

async fn record_caption(
    state: &AppState,
    id: B256,
    who: Address,
    milestone: u64,
    caption: &str,
    report: serde_json::Value,
) -> Result<(), ApiError> {
    let mut tx = state.pool.begin().await?;
    let Some(v) = pactum_db::api::version_by_agreement(&mut tx, id).await? else { return Ok(()) };
    pactum_db::api::draft(&mut tx, &v.draft_id, true).await?;
    crate::drafts::record(
        &mut tx,
        &v.draft_id,
        "caption_recorded",
        who,
        now(),
        json!({
            "agreementId": id, "milestone": milestone, "caption": caption, "disclosure": report,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
