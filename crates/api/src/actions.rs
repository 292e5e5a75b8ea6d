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
    sol_types::SolCall,
};
use axum::extract::{Path, State};
use pactum_bindings::PactumEscrow::{self, PactumEscrowErrors as E};
use pactum_core::{
    disclosure, domain, ledger::Status, mutual_termination_digest, mutual_termination_typed_data,
    settlement_digest, settlement_typed_data, MutualTermination, Settlement,
};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    drafts::TxRequest,
    error::{ApiError, Json},
    now, AppState,
};

/// How long signatures of a settlement or mutual termination stay valid by default: an hour.
pub const SPLIT_SIGNATURE_TTL: i64 = 3_600;

/// Routes of the settlement actions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(prepare)).routes(routes!(caption_check))
}

/// What to do; the fields each action needs are listed with it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionRequest {
    /// `fund` (count; the first milestone is the next unfunded one), `submit` (milestone,
    /// contentHash, uri, caption?, platform?), `approve`, `request-revision` (milestone, reason),
    /// `claim` (milestone), `reclaim` (milestone), `dispute` (milestone, reason), `resolve`
    /// (milestone, creatorBps), `resolve-timeout` (milestone), `settle` (milestone,
    /// creatorAmount, deadline?, nonce?, signatures?), `cancel-signatures`, `terminate` (reason),
    /// `contest`, `finalize-termination`, `resolve-termination` (creatorBps),
    /// `resolve-termination-timeout`, `terminate-mutually` (creatorAmount, deadline?, nonce?,
    /// signatures?), `withdraw` (to?).
    pub action: String,
    /// Milestone index.
    pub milestone: Option<u64>,
    /// Milestones to fund.
    pub count: Option<u64>,
    /// The deliverable's content hash.
    #[schema(value_type = Option<String>)]
    pub content_hash: Option<B256>,
    /// Where the deliverable is.
    pub uri: Option<String>,
    /// The deliverable's caption, checked for the required disclosure.
    pub caption: Option<String>,
    /// The platform the caption is for (default: the milestone's deliverable's platform).
    pub platform: Option<String>,
    /// Why (revision, dispute, termination): hashed on chain, kept off chain.
    pub reason: Option<String>,
    /// The creator's share in basis points (arbiter rulings).
    pub creator_bps: Option<u16>,
    /// The creator's amount (settlements, mutual terminations), decimal.
    pub creator_amount: Option<String>,
    /// Unix time the split's signatures expire (default when asking for the typed data: an hour
    /// from now; with the signatures: the deadline they signed, required).
    pub deadline: Option<i64>,
    /// The state nonce the split's signatures name (default: the agreement's current nonce, read
    /// from the escrow). Send back the nonce of the typed data that was signed.
    pub nonce: Option<u32>,
    /// The brand's signature of the split.
    #[schema(value_type = Option<String>)]
    pub brand_signature: Option<Bytes>,
    /// The creator's signature of the split.
    #[schema(value_type = Option<String>)]
    pub creator_signature: Option<Bytes>,
    /// Withdraw to this address (default: the caller).
    #[schema(value_type = Option<String>)]
    pub to: Option<Address>,
}

fn need<T>(v: Option<T>, action: &str, field: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::bad_request("missing_field", format!("{action} needs {field}")))
}

fn reason_hash(action: &str, reason: Option<&String>) -> Result<B256, ApiError> {
    let r = need(reason, action, "reason")?;
    if r.trim().is_empty() {
        return Err(ApiError::bad_request("missing_field", format!("{action} needs a reason")));
    }
    Ok(keccak256(r.as_bytes()))
}

fn time40(t: i64) -> Result<U40, ApiError> {
    if t <= now() {
        return Err(ApiError::bad_request(
            "deadline_in_past",
            format!("deadline {t} is not in the future"),
        ));
    }
    U40::try_from(u64::try_from(t).unwrap_or(u64::MAX)).map_err(|_| {
        ApiError::bad_request("deadline_out_of_range", "deadline does not fit in 40 bits")
    })
}

/// The escrow's refusal, in words.
fn explain(e: &E) -> (&'static str, String) {
    let at = |t: U256| crate::time::rfc3339(t.saturating_to::<u64>());
    match e {
        E::Escrow_ReviewWindowOpen(x) => {
            ("review_window_open", format!("the review window is still open until {}", at(x.until)))
        }
        E::Escrow_ReviewWindowClosed(x) => {
            ("review_window_closed", format!("the review window closed at {}", at(x.closedAt)))
        }
        E::Escrow_DeadlinePassed(x) => {
            ("deadline_passed", format!("the delivery deadline passed at {}", at(x.deadline)))
        }
        E::Escrow_DeadlineNotPassed(x) => (
            "deadline_not_passed",
            format!("the delivery deadline is {}; it has not passed", at(x.deadline)),
        ),
        E::Escrow_ArbitrationWindowOpen(x) => {
            ("arbitration_window_open", format!("the arbiter may rule until {}", at(x.until)))
        }
        E::Escrow_ContestWindowOpen(x) => {
            ("contest_window_open", format!("the other party may contest until {}", at(x.until)))
        }
        E::Escrow_ContestWindowClosed(x) => {
            ("contest_window_closed", format!("the contest window closed at {}", at(x.closedAt)))
        }
        E::Escrow_SignatureExpired(x) => {
            ("signature_expired", format!("the signatures expired at {}", at(x.deadline)))
        }
        E::Escrow_Unauthorized(x) => {
            ("not_your_action", format!("{} may not take this action on this agreement", x.caller))
        }
        E::Escrow_WrongStatus(x) => (
            "wrong_status",
            format!("the agreement is {}; this action is not possible now", status_name(x.status)),
        ),
        E::Escrow_WrongMilestoneStatus(x) => (
            "wrong_milestone_status",
            format!(
                "milestone {} is {}; this action is not possible now",
                x.milestone,
                milestone_status_name(x.status)
            ),
        ),
        E::Escrow_InvalidMilestone(x) => (
            "invalid_milestone",
            format!("milestone {} does not exist (the agreement has {})", x.milestone, x.count),
        ),
        E::Escrow_NotFunded(x) => (
            "not_funded",
            format!("milestone {} is not funded yet (funded: {})", x.milestone, x.fundedCount),
        ),
        E::Escrow_InvalidFundCount(x) => (
            "invalid_fund_count",
            format!("cannot fund {} milestones; {} remain", x.count, x.remaining),
        ),
        E::Escrow_WrongValue(x) => {
            ("wrong_value", format!("send exactly {} wei, not {}", x.expected, x.received))
        }
        E::Escrow_FundingShortfall(x) => {
            ("funding_shortfall", format!("the token delivered {} of {}", x.received, x.expected))
        }
        E::Escrow_NoArbiter(_) => ("no_arbiter", "the agreement has no arbiter".to_owned()),
        E::Escrow_InvalidBps(x) => {
            ("invalid_bps", format!("{} basis points is above 10000", x.bps))
        }
        E::Escrow_SplitTooLarge(x) => (
            "split_too_large",
            format!("{} is more than the {} available", x.creatorAmount, x.available),
        ),
        E::Escrow_NothingToWithdraw(x) => (
            "nothing_to_withdraw",
            format!("{} has nothing to withdraw in token {}", x.account, x.token),
        ),
        E::Escrow_InvalidSignature(x) => (
            "invalid_signature",
            format!("the signature of {} is not valid for this split", x.signer),
        ),
        E::Escrow_ZeroRecipient(_) => {
            ("zero_recipient", "withdraw to a non-zero address".to_owned())
        }
        E::Escrow_RecipientIsEscrow(_) => {
            ("recipient_is_escrow", "withdraw to an address other than the escrow".to_owned())
        }
        E::Escrow_ArbitrationWindowClosed(x) => (
            "arbitration_window_closed",
            format!(
                "the arbiter's window to rule closed at {}; either party may now split it evenly",
                at(x.closedAt)
            ),
        ),
        E::Escrow_NoRevisionsLeft(x) => (
            "no_revisions_left",
            format!(
                "no revision rounds left for milestone {}: the agreement allows {} and all are used; \
                 approve it or dispute it",
                x.milestone, x.rounds
            ),
        ),
        E::Escrow_StaleNonce(x) => (
            "stale_nonce",
            format!(
                "the agreement changed since this was signed (nonce {}, now {}): both parties \
                 must sign again",
                x.signed, x.current
            ),
        ),
        E::Escrow_WrongFirstMilestone(x) => (
            "wrong_first_milestone",
            format!(
                "funding must start at milestone {} (the next unfunded one), not {}",
                x.next, x.first
            ),
        ),
        E::Escrow_InvalidWindow(x) => (
            "invalid_window",
            format!("a window of {} seconds is outside one hour to 90 days", x.window),
        ),
        E::Escrow_InvalidDeadline(x) => (
            "invalid_deadline",
            format!(
                "milestone {}'s deadline {} is past or more than five years away",
                x.milestone,
                at(x.deadline)
            ),
        ),
        E::Escrow_TooManyRevisionRounds(x) => (
            "too_many_revision_rounds",
            format!("{} revision rounds is more than the 10 allowed", x.rounds),
        ),
        E::Escrow_InvalidFee(x) => (
            "invalid_fee",
            format!(
                "an arbiter fee of {} basis points is not allowed (at most 2000, and 0 without an \
                 arbiter)",
                x.feeBps
            ),
        ),
        E::Escrow_AlreadyExists(x) => {
            ("already_exists", format!("agreement {} exists already or was revoked", x.id))
        }
        other => ("escrow_refused", format!("the escrow would refuse this: {other:?}")),
    }
}

fn milestone_status_name(s: u8) -> &'static str {
    pactum_core::ledger::MilestoneStatus::ALL
        .into_iter()
        .find(|m| *m as u8 == s)
        .map_or("in an unknown state", |m| m.as_str())
}

fn status_name(s: u8) -> &'static str {
    Status::ALL.into_iter().find(|x| *x as u8 == s).map_or("unknown", |x| x.as_str())
}

/// The agreement's current state nonce, read from the escrow (the mirror may lag a block).
async fn chain_nonce(state: &AppState, id: B256) -> Result<u32, ApiError> {
    let escrow = PactumEscrow::new(state.cfg.escrow, state.provider.clone());
    let s = escrow.getState(id).call().await.map_err(ApiError::upstream)?;
    Ok(s.nonce)
}

#[utoipa::path(post, path = "/v1/agreements/{id}/transactions", tag = "settlement", summary = "The transaction for an escrow action, simulated against the current state first", params(("id" = String, Path)), request_body = ActionRequest, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 401, description = "No valid session", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody), (status = 422, description = "Caption lacks the required disclosure", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn prepare(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<ActionRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = caller.party()?;
    let id = crate::reads::parse_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let rows = pactum_db::load_agreements(&mut conn, state.cfg.chain_id, &[id]).await?;
    let row = rows.get(&id).ok_or_else(|| ApiError::not_found("agreement"))?;
    let agreement = row.ledger.agreement.clone().ok_or_else(|| {
        ApiError::conflict("wrong_status", "the agreement was revoked before creation")
    })?;
    let d = domain(state.cfg.chain_id, state.cfg.escrow);
    let a = req.action.as_str();
    let ms = |v: Option<u64>| need(v, a, "milestone").map(U256::from);
    let mut value = U256::ZERO;
    let mut recorded = None;
    let data: Vec<u8> = match a {
        "fund" => {
            let count = need(req.count, a, "count")?;
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
                agreement: agreement.clone(),
                first: U256::from(row.ledger.funded_count),
                count: U256::from(count),
            }
            .abi_encode()
        }
        "submit" => {
            let milestone = need(req.milestone, a, "milestone")?;
            if let Some(caption) = &req.caption {
                // Who asks comes before what the terms say: the check's refusal spells out the
                // disclosure rules, which are private to the parties.
                if ![agreement.brand, agreement.creator, agreement.arbiter].contains(&who) {
                    return Err(ApiError::forbidden(
                        "only the agreement's parties may submit its deliverables",
                    ));
                }
                let report =
                    check_caption(&mut conn, id, milestone, caption, req.platform.as_deref())
                        .await?;
                if !report.0 {
                    return Err(ApiError::new(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "disclosure_missing",
                        format!("the caption lacks the disclosure its terms require: {}", report.1),
                    ));
                }
                recorded = Some((milestone, caption.clone(), report.2));
            }
            PactumEscrow::submitCall {
                agreement: agreement.clone(),
                milestone: U256::from(milestone),
                contentHash: need(req.content_hash, a, "contentHash")?,
                uri: need(req.uri.clone(), a, "uri")?,
            }
            .abi_encode()
        }
        "approve" => PactumEscrow::approveCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
        }
        .abi_encode(),
        "request-revision" => PactumEscrow::requestRevisionCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
            reasonHash: reason_hash(a, req.reason.as_ref())?,
        }
        .abi_encode(),
        "claim" => PactumEscrow::claimAfterSilenceCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
        }
        .abi_encode(),
        "reclaim" => PactumEscrow::reclaimAfterDeadlineCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
        }
        .abi_encode(),
        "dispute" => PactumEscrow::disputeCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
            reasonHash: reason_hash(a, req.reason.as_ref())?,
        }
        .abi_encode(),
        "resolve" => PactumEscrow::resolveDisputeCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
            creatorBps: need(req.creator_bps, a, "creatorBps")?,
        }
        .abi_encode(),
        "resolve-timeout" => PactumEscrow::resolveDisputeAfterTimeoutCall {
            agreement: agreement.clone(),
            milestone: ms(req.milestone)?,
        }
        .abi_encode(),
        "terminate" => PactumEscrow::terminateCall {
            agreement: agreement.clone(),
            reasonHash: reason_hash(a, req.reason.as_ref())?,
        }
        .abi_encode(),
        "contest" => {
            PactumEscrow::contestTerminationCall { agreement: agreement.clone() }.abi_encode()
        }
        "finalize-termination" => {
            PactumEscrow::finalizeTerminationCall { agreement: agreement.clone() }.abi_encode()
        }
        "resolve-termination" => PactumEscrow::resolveTerminationCall {
            agreement: agreement.clone(),
            creatorBps: need(req.creator_bps, a, "creatorBps")?,
        }
        .abi_encode(),
        "resolve-termination-timeout" => {
            PactumEscrow::resolveTerminationAfterTimeoutCall { agreement: agreement.clone() }
                .abi_encode()
        }
        "cancel-signatures" => {
            PactumEscrow::cancelSignaturesCall { agreement: agreement.clone() }.abi_encode()
        }
        "withdraw" => {
            PactumEscrow::withdrawCall { token: agreement.token, to: req.to.unwrap_or(who) }
                .abi_encode()
        }
        "settle" | "terminate-mutually" => {
            let amount = need(req.creator_amount.as_deref(), a, "creatorAmount")?;
            let amount = U256::from_str_radix(amount, 10).map_err(|_| {
                ApiError::bad_request(
                    "invalid_amount",
                    "creatorAmount is a whole number in the token's smallest unit",
                )
            })?;
            let signed = req.brand_signature.is_some() || req.creator_signature.is_some();
            let deadline = match req.deadline {
                Some(t) => t,
                // The signatures sign the deadline: sending them, say which one.
                None if signed => need::<i64>(None, a, "deadline")?,
                None => now() + SPLIT_SIGNATURE_TTL,
            };
            let deadline = time40(deadline)?;
            // Nobody should sign a split the escrow would refuse: the creator's amount is at most
            // what is at stake (the milestone's amount; for a mutual termination, the unearned
            // escrow: funded milestones never delivered, as the mirror last saw them).
            let available = if a == "settle" {
                let m = need(req.milestone, a, "milestone")?;
                let spec = usize::try_from(m).ok().and_then(|i| agreement.milestones.get(i));
                spec.map(|x| x.amount).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_milestone",
                        format!(
                            "milestone {m} does not exist (the agreement has {})",
                            agreement.milestones.len()
                        ),
                    )
                })?
            } else {
                row.ledger.unearned()
            };
            if amount > available {
                return Err(ApiError::conflict(
                    "split_too_large",
                    format!(
                        "{amount} is more than the {available} at stake{}",
                        if a == "settle" {
                            " (the milestone's amount)"
                        } else {
                            " (the unearned escrow: funded milestones never delivered; delivered \
                             ones keep their own exits)"
                        }
                    ),
                ));
            }
            let current = chain_nonce(&state, id).await?;
            let nonce = req.nonce.unwrap_or(current);
            let (digest, typed) = if a == "settle" {
                let s = Settlement {
                    agreementId: id,
                    milestone: ms(req.milestone)?,
                    creatorAmount: amount,
                    nonce,
                    deadline,
                };
                (
                    settlement_digest(&s, &d),
                    settlement_typed_data(&s, &d).map_err(ApiError::internal)?,
                )
            } else {
                let t =
                    MutualTermination { agreementId: id, creatorAmount: amount, nonce, deadline };
                (
                    mutual_termination_digest(&t, &d),
                    mutual_termination_typed_data(&t, &d).map_err(ApiError::internal)?,
                )
            };
            let (Some(bs), Some(cs)) = (req.brand_signature.clone(), req.creator_signature.clone())
            else {
                // First step: what both parties sign.
                return Ok(Json(json!({
                    "action": a,
                    "digest": digest,
                    "typedData": typed,
                    "nonce": nonce,
                    "deadline": deadline.to::<u64>(),
                    "note": format!(
                        "these signatures are void once the agreement's state changes (any \
                         funding, delivery, review, dispute, payout or termination step moves \
                         its nonce past {nonce}), once either party cancels them \
                         (cancel-signatures), and after {}",
                        crate::time::rfc3339(deadline.to::<u64>())
                    ),
                })));
            };
            if a == "settle" {
                PactumEscrow::settleCall {
                    agreement: agreement.clone(),
                    milestone: ms(req.milestone)?,
                    creatorAmount: amount,
                    nonce,
                    deadline,
                    brandSignature: bs,
                    creatorSignature: cs,
                }
                .abi_encode()
            } else {
                PactumEscrow::terminateMutuallyCall {
                    agreement: agreement.clone(),
                    creatorAmount: amount,
                    nonce,
                    deadline,
                    brandSignature: bs,
                    creatorSignature: cs,
                }
                .abi_encode()
            }
        }
        other => {
            return Err(ApiError::bad_request(
                "unknown_action",
                format!("{other:?} is not an escrow action (see the API reference)"),
            ))
        }
    };
    let data = Bytes::from(data);

    let tx = TxRequest {
        description: format!("{a} on agreement {id}"),
        from: who,
        to: state.cfg.escrow,
        data,
        value: value.to_string(),
    };
    // Would the escrow accept it from this account, now?
    simulate(&state, &tx).await?;
    if let Some((milestone, caption, report)) = recorded {
        record_caption(&state, id, who, milestone, &caption, report).await?;
    }
    Ok(Json(json!({ "action": a, "transactions": [tx] })))
}

/// Runs `tx` as an `eth_call` from its sender at the latest block; a refusal comes back as a 409
/// whose code and message are the escrow's reason, in words.
pub(crate) async fn simulate(state: &AppState, tx: &TxRequest) -> Result<(), ApiError> {
    let value = U256::from_str_radix(&tx.value, 10).map_err(ApiError::internal)?;
    let call = TransactionRequest::default()
        .from(tx.from)
        .to(tx.to)
        .input(tx.data.clone().into())
        .value(value);
    if let Err(err) = state.provider.call(call).await {
        let decoded = err.as_error_resp().and_then(|e| e.as_decoded_interface_error::<E>());
        return Err(match decoded {
            Some(e) => {
                let (code, message) = explain(&e);
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
    /// The milestone the deliverable is for (its deliverable names the platform).
    pub milestone: u64,
    /// The caption.
    pub caption: String,
    /// The platform (default: the milestone's deliverable's platform).
    pub platform: Option<String>,
}

#[utoipa::path(post, path = "/v1/agreements/{id}/caption-check", tag = "settlement", summary = "The disclosure check of a caption against the agreement's terms, without preparing anything", params(("id" = String, Path)), request_body = CaptionCheckRequest, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Terms unknown", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn caption_check(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CaptionCheckRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = crate::reads::parse_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    let rows = pactum_db::load_agreements(&mut conn, state.cfg.chain_id, &[id]).await?;
    let agreement = rows
        .get(&id)
        .and_then(|r| r.ledger.agreement.clone())
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    if !caller.may_read(&[agreement.brand, agreement.creator, agreement.arbiter]) {
        // The terms (and so the rules) are private to the parties and auditors.
        return Err(ApiError::not_found("agreement"));
    }
    let (ok, summary, report) =
        check_caption(&mut conn, id, req.milestone, &req.caption, req.platform.as_deref()).await?;
    Ok(Json(json!({ "ok": ok, "summary": summary, "report": report })))
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
