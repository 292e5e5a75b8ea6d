//! Performance agreements (affiliate, CPA, revenue share) through the API: the typed data brand and
//! partner sign, the transactions that create and fund them and act on them, the agreement as its
//! events left it, the attester's conversion records with the Merkle tree and report of each
//! period ([`records`]), proofs that a conversion was counted, and the KPIs ([`kpis`]).
//!
//! The contract (`PactumPerformance`) is the source of truth: every transaction handed out is
//! simulated first, and a refusal comes back with the contract's own reason in words. State is
//! folded from the mirrored events (`pactum_core::performance::PerformanceLedger`), never kept
//! beside them.

use alloy::{
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::{Eip712Domain, SolCall, SolEventInterface},
};
use axum::extract::{Path, State};
use pactum_bindings::PactumPerformance::{
    self, PactumPerformanceErrors as PE, PactumPerformanceEvents,
};
use pactum_core::performance::{
    self as perf, PerformanceAgreement, PerformanceLedger, PeriodLedger, PeriodStatus, Report,
    Status,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::{Caller, SignedIn},
    drafts::{Eip712TypedData, TxRequest},
    error::{ActionJson, ApiError, BodyErrors, ErrorBody, Json, Query, SessionErrors},
    AppState, Chain,
};

mod audit;
pub mod kpis;
pub mod records;
mod refusal;
pub mod terms;

pub use terms::{PerformanceTerms, TierTerms};

/// Routes of performance agreements.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(typed_data))
        .routes(routes!(create_transactions))
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(transactions))
        .routes(routes!(audit::bundle))
        .merge(records::routes())
        .merge(kpis::routes())
}

impl Chain {
    /// This chain's performance contract, or 404 `no_performance_contract`.
    pub(crate) fn performance(&self) -> Result<Address, ApiError> {
        self.performance.ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "no_performance_contract",
                format!("chain {} has no performance contract configured", self.id),
            )
        })
    }

    /// The EIP-712 domain of performance agreements on this chain.
    pub(crate) fn performance_domain(&self) -> Result<Eip712Domain, ApiError> {
        Ok(perf::domain(self.id, self.performance()?))
    }
}

/// A performance agreement located, loaded and folded, with who may see it checked.
pub(crate) struct Loaded<'s> {
    pub(crate) chain: &'s Chain,
    pub(crate) id: B256,
    pub(crate) agreement: PerformanceAgreement,
    pub(crate) ledger: PerformanceLedger,
}

impl Loaded<'_> {
    /// Everyone named in the agreement: they (and auditors) may read it.
    pub(crate) fn named(&self) -> [Address; 4] {
        let a = &self.agreement;
        [a.brand, a.partner, a.attester, a.arbiter]
    }
}

/// Finds agreement `id` (`<chainId>:0x…` or `0x…`) on the chains with a performance contract,
/// folds its events, and checks the caller may read it (a stranger gets the same 404 as for an
/// agreement that does not exist).
pub(crate) async fn load<'s>(
    state: &'s AppState,
    caller: Caller,
    id: &str,
) -> Result<Loaded<'s>, ApiError> {
    let at = crate::reads::parse_id(id)?;
    let chains: Vec<&Chain> = match at.chain {
        Some(c) => vec![state.chain(c)?],
        None => state.chains.iter().filter(|c| c.performance.is_some()).collect(),
    };
    let pool = state.reads.pool();
    for chain in chains {
        let events = pactum_db::performance::agreement_events(pool, chain.id, at.id).await?;
        if events.is_empty() {
            continue;
        }
        let mut decoded = Vec::with_capacity(events.len());
        for e in &events {
            let ev = PactumPerformanceEvents::decode_raw_log(&e.topics, &e.data)
                .map_err(ApiError::internal)?;
            decoded.push((ev, e.at.block_timestamp));
        }
        let ledger = PerformanceLedger::fold(decoded.iter().map(|(e, t)| (e, *t)))
            .map_err(ApiError::internal)?;
        let Some(agreement) = ledger.agreement.clone() else {
            return Err(ApiError::not_found("performance agreement"));
        };
        let loaded = Loaded { chain, id: at.id, agreement, ledger };
        if !caller.may_read(&loaded.named()) {
            return Err(ApiError::not_found("performance agreement"));
        }
        return Ok(loaded);
    }
    Err(ApiError::not_found("performance agreement"))
}

/// The typed data for both parties to sign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceToSign {
    /// The agreement's id once created: the EIP-712 digest both parties sign.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// The chain.
    pub chain_id: u64,
    /// The performance contract (the verifying contract).
    #[schema(value_type = String)]
    pub contract: Address,
    /// The terms as signed (with the salt filled in): send them back with the signatures.
    pub agreement: PerformanceTerms,
    /// The typed data (`eth_signTypedData_v4`).
    #[schema(value_type = Eip712TypedData)]
    pub typed_data: serde_json::Value,
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/typed-data",
    tag = "performance",
    summary = "The EIP-712 typed data of a performance agreement, for brand and partner to sign",
    request_body = PerformanceTerms,
    responses(
        (status = 200, description = "What both parties sign", body = PerformanceToSign),
        SessionErrors,
        BodyErrors,
        (status = 400, description = "Terms the contract would refuse, with the reason: `invalid_parties`, `invalid_token`, `invalid_fee`, `invalid_tiers`, `invalid_window`, `invalid_term`, `deadline_in_past`, `invalid_amount`, `invalid_body`, `invalid_json`", body = ErrorBody),
        (status = 403, description = "The caller is neither the brand nor the partner (`forbidden`)", body = ErrorBody),
        (status = 404, description = "A chain not served, or without a performance contract (`unknown_chain`, `no_performance_contract`)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn typed_data(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Json(terms): Json<PerformanceTerms>,
) -> Result<Json<PerformanceToSign>, ApiError> {
    let who = caller.party()?;
    if who != terms.brand && who != terms.partner {
        return Err(ApiError::forbidden("only the brand or the partner drafts their agreement"));
    }
    let chain = state.chain_or_primary(terms.chain_id)?;
    let d = chain.performance_domain()?;
    let now = u64::try_from(chain.now().await?).unwrap_or(0);
    let agreement = terms.to_agreement(now)?;
    Ok(Json(PerformanceToSign {
        agreement_id: perf::agreement_id(&agreement, &d),
        chain_id: chain.id,
        contract: chain.performance()?,
        agreement: PerformanceTerms::of(&agreement, chain.id),
        typed_data: perf::agreement_typed_data(&agreement, &d).map_err(ApiError::internal)?,
    }))
}

/// Both signatures and the first budget: what creates and funds the agreement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePerformance {
    /// The terms exactly as `typed-data` returned them (the salt included).
    pub agreement: PerformanceTerms,
    /// The brand's signature of the agreement id (hex).
    #[schema(value_type = String)]
    pub brand_signature: Bytes,
    /// The partner's signature of the agreement id (hex).
    #[schema(value_type = String)]
    pub partner_signature: Bytes,
    /// The budget to escrow now, in the token's smallest unit (decimal string; top-ups later).
    #[schema(pattern = r"^[0-9]{1,78}$")]
    pub budget: String,
}

/// The transactions the brand sends, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceTransactions {
    /// The agreement's id.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// What to send, in order.
    pub transactions: Vec<TxRequest>,
}

/// Checks a signature of `digest` by `signer`: a key's signature must recover to it; a contract
/// wallet's is left to the contract (EIP-1271), which the simulation asks.
async fn check_signature(
    chain: &Chain,
    signer: Address,
    digest: B256,
    signature: &[u8],
    who: &str,
) -> Result<(), ApiError> {
    if pactum_core::recover_signer(digest, signature).ok() == Some(signer) {
        return Ok(());
    }
    let code = chain.provider.get_code_at(signer).await.map_err(ApiError::upstream)?;
    if code.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_signature",
            format!("the {who}'s signature is not {signer}'s signature of this agreement"),
        ));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/transactions",
    tag = "performance",
    summary = "The transactions that create a signed performance agreement and escrow its budget",
    request_body = CreatePerformance,
    responses(
        (status = 200, description = "The brand's transactions: approve (if the allowance falls short), then createAndFund", body = PerformanceTransactions),
        SessionErrors,
        BodyErrors,
        (status = 400, description = "Malformed or refused terms (as for typed-data), `invalid_signature`, `invalid_amount`", body = ErrorBody),
        (status = 403, description = "The caller is not the brand (`forbidden`)", body = ErrorBody),
        (status = 404, description = "A chain not served, or without a performance contract", body = ErrorBody),
        (status = 409, description = "The contract would refuse it, with its reason (`already_exists`, `signature_expired`, …)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_transactions(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Json(req): Json<CreatePerformance>,
) -> Result<Json<PerformanceTransactions>, ApiError> {
    let who = caller.party()?;
    if who != req.agreement.brand {
        return Err(ApiError::forbidden("the brand funds the budget: sign in as the brand"));
    }
    if req.agreement.salt.is_none() {
        return Err(ApiError::bad_request(
            "missing_field",
            "agreement.salt: send the terms exactly as typed-data returned them",
        ));
    }
    let budget = amount("budget", &req.budget)?;
    let chain = state.chain_or_primary(req.agreement.chain_id)?;
    let contract = chain.performance()?;
    let d = chain.performance_domain()?;
    let now = u64::try_from(chain.now().await?).unwrap_or(0);
    let agreement = req.agreement.to_agreement(now)?;
    let id = perf::agreement_id(&agreement, &d);
    check_signature(chain, agreement.brand, id, &req.brand_signature, "brand").await?;
    check_signature(chain, agreement.partner, id, &req.partner_signature, "partner").await?;
    // The signatures and terms as the contract sees them: `create` alone needs no allowance.
    let create = TxRequest {
        description: format!("create performance agreement {id}"),
        chain_id: chain.id,
        from: who,
        to: contract,
        data: PactumPerformance::createCall {
            agreement: agreement.clone(),
            brandSignature: req.brand_signature.clone(),
            partnerSignature: req.partner_signature.clone(),
        }
        .abi_encode()
        .into(),
        value: "0".into(),
    };
    simulate(chain, &create).await?;
    let mut transactions = approve_if_short(chain, who, agreement.token, contract, budget).await?;
    let data = if budget.is_zero() {
        create.data
    } else {
        PactumPerformance::createAndFundCall {
            agreement,
            brandSignature: req.brand_signature,
            partnerSignature: req.partner_signature,
            amount: budget,
        }
        .abi_encode()
        .into()
    };
    transactions.push(TxRequest {
        description: if budget.is_zero() {
            format!("create performance agreement {id}")
        } else {
            format!("create performance agreement {id} and escrow {budget} of its budget")
        },
        data,
        ..create
    });
    Ok(Json(PerformanceTransactions { agreement_id: id, transactions }))
}

/// An `approve` of `amount` when the owner's allowance falls short of it.
async fn approve_if_short(
    chain: &Chain,
    owner: Address,
    token: Address,
    spender: Address,
    amount: U256,
) -> Result<Vec<TxRequest>, ApiError> {
    if amount.is_zero() {
        return Ok(Vec::new());
    }
    let erc20 = crate::drafts::IERC20Allowance::new(token, chain.provider.clone());
    let allowance = erc20.allowance(owner, spender).call().await.map_err(ApiError::upstream)?;
    if allowance >= amount {
        return Ok(Vec::new());
    }
    Ok(vec![TxRequest {
        description: format!("approve the performance contract to take {amount}"),
        chain_id: chain.id,
        from: owner,
        to: token,
        data: crate::drafts::IERC20Allowance::approveCall { spender, amount }.abi_encode().into(),
        value: "0".into(),
    }])
}

pub(crate) fn amount(what: &str, v: &str) -> Result<U256, ApiError> {
    if v.is_empty() || v.len() > 78 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_amount",
            format!("{what} is a whole decimal number in the token's smallest unit"),
        ));
    }
    U256::from_str_radix(v, 10).map_err(|_| {
        ApiError::bad_request("invalid_amount", format!("{what} does not fit 256 bits"))
    })
}

/// Simulates a call to the performance contract from the caller; a refusal is a 409 with the
/// contract's reason.
pub(crate) async fn simulate(chain: &Chain, tx: &TxRequest) -> Result<(), ApiError> {
    let call = TransactionRequest::default().from(tx.from).to(tx.to).input(tx.data.clone().into());
    if let Err(err) = chain.provider.call(call).await {
        let decoded = err.as_error_resp().and_then(|e| e.as_decoded_interface_error::<PE>());
        return Err(match decoded {
            Some(e) => {
                let (code, message) = refusal::explain(&e);
                ApiError::conflict(code, message)
            }
            None if err.as_error_resp().is_some() => {
                let reason = err.as_error_resp().map(|e| e.message.to_string()).unwrap_or_default();
                ApiError::conflict(
                    "contract_refused",
                    format!("the performance contract would refuse this: {reason}"),
                )
            }
            None => ApiError::upstream(err),
        });
    }
    Ok(())
}

/// One period as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodView {
    /// Its index.
    pub period: u64,
    /// Unix time it starts.
    pub starts_at: u64,
    /// Unix time it ends.
    pub ends_at: u64,
    /// Unix time its report window closes.
    pub report_due: u64,
    /// unreported, locked, disputed, paid, resolved or timed_out.
    #[schema(value_type = String)]
    pub status: PeriodStatus,
    /// The latest report's version (0: none).
    pub version: u32,
    /// Units, as last reported.
    pub units: String,
    /// Units first reported (a reversal shows as the difference).
    pub first_units: String,
    /// Revenue, as last reported.
    pub revenue: String,
    /// The latest report's detail root.
    #[schema(value_type = String)]
    pub detail_root: B256,
    /// The pay it holds or paid.
    pub pay: String,
    /// When its lock ends (0: not reported).
    pub locked_until: u64,
    /// When it was first reported (0: not yet).
    pub reported_at: u64,
    /// When it was disputed (0: never).
    pub disputed_at: u64,
    /// When its money left (0: not yet).
    pub settled_at: u64,
    /// What the partner received from it.
    pub partner_paid: String,
    /// The arbiter's fee from it.
    pub arbiter_fee: String,
    /// What a ruling or timeout returned.
    pub returned: String,
}

impl PeriodView {
    fn of(a: &PerformanceAgreement, index: u64, p: &PeriodLedger) -> Self {
        let ends_at = perf::period_end(a, index);
        Self {
            period: index,
            starts_at: perf::period_start(a, index),
            ends_at,
            report_due: ends_at.saturating_add(u64::from(a.reportWindow)),
            status: p.status,
            version: p.version,
            units: p.units.to_string(),
            first_units: p.first_units.to_string(),
            revenue: p.revenue.to_string(),
            detail_root: p.detail_root,
            pay: p.pay.to_string(),
            locked_until: p.locked_until,
            reported_at: p.reported_at,
            disputed_at: p.disputed_at,
            settled_at: p.settled_at,
            partner_paid: p.partner_paid.to_string(),
            arbiter_fee: p.arbiter_fee.to_string(),
            returned: p.returned.to_string(),
        }
    }
}

/// A performance agreement as its events left it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceView {
    /// Its id.
    #[schema(value_type = String)]
    pub id: B256,
    /// Its chain.
    pub chain_id: u64,
    /// The performance contract.
    #[schema(value_type = String)]
    pub contract: Address,
    /// The signed terms.
    pub agreement: PerformanceTerms,
    /// active, closing, ended (or revoked).
    #[schema(value_type = String)]
    pub status: Status,
    /// Unix time it ends.
    pub ends_at: u64,
    /// Unreserved budget.
    pub budget: String,
    /// Pay locked or disputed.
    pub reserved: String,
    /// Everything escrowed into it.
    pub funded: String,
    /// Paid to the partner.
    pub partner_paid: String,
    /// Paid to the arbiter.
    pub arbiter_paid: String,
    /// Returned to the brand.
    pub brand_returned: String,
    /// brand or partner, when one ended it for cause.
    pub terminated_by: Option<String>,
    /// When it was ended for cause (0: never).
    pub terminated_at: u64,
    /// Every period, reported or not.
    pub periods: Vec<PeriodView>,
}

impl PerformanceView {
    pub(crate) fn of(l: &Loaded<'_>) -> Result<Self, ApiError> {
        let a = &l.agreement;
        let g = &l.ledger;
        let empty = PeriodLedger::default();
        let periods = (0..u64::from(a.periods))
            .map(|i| PeriodView::of(a, i, g.periods.get(&i).unwrap_or(&empty)))
            .collect();
        Ok(Self {
            id: l.id,
            chain_id: l.chain.id,
            contract: l.chain.performance()?,
            agreement: PerformanceTerms::of(a, l.chain.id),
            status: g.status,
            ends_at: perf::end(a),
            budget: g.budget.to_string(),
            reserved: g.reserved.to_string(),
            funded: g.funded.to_string(),
            partner_paid: g.partner_paid.to_string(),
            arbiter_paid: g.arbiter_paid.to_string(),
            brand_returned: g.brand_returned.to_string(),
            terminated_by: match g.terminated_by {
                1 => Some("brand".into()),
                2 => Some("partner".into()),
                _ => None,
            },
            terminated_at: g.terminated_at,
            periods,
        })
    }
}

#[utoipa::path(
    get,
    path = "/v1/performance/agreements/{id}",
    tag = "performance",
    summary = "A performance agreement: terms, budget, and every period (pending, locked until, paid, reversed)",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id (0x and 64 hex digits), optionally after its chain id and a colon")),
    responses(
        (status = 200, description = "The agreement", body = PerformanceView),
        SessionErrors,
        (status = 400, description = "Malformed id (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not one the caller is named in (`not_found`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<PerformanceView>, ApiError> {
    let l = load(&state, caller, &id).await?;
    Ok(Json(PerformanceView::of(&l)?))
}

/// Which side of its agreements the caller lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// brand, partner, attester or arbiter.
    #[param(pattern = r"^(brand|partner|attester|arbiter)$")]
    pub role: String,
    /// The chain (default: the primary).
    pub chain: Option<u64>,
}

/// One row of a party's list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceRow {
    /// The id.
    #[schema(value_type = String)]
    pub id: B256,
    /// Its chain.
    pub chain_id: u64,
    /// The brand.
    #[schema(value_type = String)]
    pub brand: Address,
    /// The partner.
    #[schema(value_type = String)]
    pub partner: Address,
    /// The attester.
    #[schema(value_type = String)]
    pub attester: Address,
    /// The token.
    #[schema(value_type = String)]
    pub token: Address,
    /// The block it was created in.
    pub created_block: u64,
}

pub(crate) fn side(role: &str) -> Result<pactum_db::performance::Side, ApiError> {
    use pactum_db::performance::Side;
    match role {
        "brand" => Ok(Side::Brand),
        "partner" => Ok(Side::Partner),
        "attester" => Ok(Side::Attester),
        "arbiter" => Ok(Side::Arbiter),
        other => Err(ApiError::bad_request(
            "invalid_query",
            format!("role is brand, partner, attester or arbiter, not {other:?}"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/performance/agreements",
    tag = "performance",
    summary = "The caller's performance agreements on one side (brand, partner, attester or arbiter), newest first (at most 500)",
    params(ListQuery),
    responses(
        (status = 200, description = "The agreements", body = Vec<PerformanceRow>),
        SessionErrors,
        (status = 400, description = "Malformed query (`invalid_query`)", body = ErrorBody),
        (status = 403, description = "An auditor (lists are per account)", body = ErrorBody),
        (status = 404, description = "A chain not served (`unknown_chain`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<PerformanceRow>>, ApiError> {
    let who = caller.party()?;
    let side = side(&q.role)?;
    let chain = state.chain_or_primary(q.chain)?;
    let rows =
        pactum_db::performance::agreements_of(state.reads.pool(), chain.id, who, side, 500).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| PerformanceRow {
                id: r.id,
                chain_id: chain.id,
                brand: r.brand,
                partner: r.partner,
                attester: r.attester,
                token: r.token,
                created_block: r.at.block_number,
            })
            .collect(),
    ))
}

/// An action on a performance agreement.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PerformanceAction {
    /// Adds to the budget (an approve first if the allowance falls short).
    Fund {
        /// In the token's smallest unit, decimal.
        amount: String,
    },
    /// Submits the attester's signed report of a period (anyone may send it).
    #[serde(rename_all = "camelCase")]
    SubmitReport {
        /// The period.
        period: u32,
        /// The version the attester signed.
        version: u32,
        /// Units, decimal.
        units: String,
        /// Revenue, decimal.
        revenue: String,
        /// The detail root signed.
        #[schema(value_type = String)]
        detail_root: B256,
        /// The attester's signature (hex).
        #[schema(value_type = String)]
        signature: Bytes,
    },
    /// Pays a period whose lock ended undisputed (anyone).
    Release {
        /// The period.
        period: u32,
    },
    /// The brand disputes a locked period.
    Dispute {
        /// The period.
        period: u32,
        /// Why (its keccak256 goes on chain).
        reason: String,
    },
    /// The arbiter splits a disputed period.
    #[serde(rename_all = "camelCase")]
    Resolve {
        /// The period.
        period: u32,
        /// The partner's share after the fee, in basis points (0 to 10000).
        partner_bps: u16,
    },
    /// Anyone, after the arbiter's window: half to the partner.
    ResolveTimeout {
        /// The period.
        period: u32,
    },
    /// Brand or partner ends the agreement for cause.
    Terminate {
        /// Why (its keccak256 goes on chain).
        reason: String,
    },
    /// Anyone, once no report can come: returns the unreserved budget.
    Close {},
    /// The caller withdraws payments it could not be pushed.
    Withdraw {
        /// Where to (default: the caller).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        to: Option<Address>,
    },
}

impl PerformanceAction {
    fn name(&self) -> &'static str {
        match self {
            Self::Fund { .. } => "fund",
            Self::SubmitReport { .. } => "submit-report",
            Self::Release { .. } => "release",
            Self::Dispute { .. } => "dispute",
            Self::Resolve { .. } => "resolve",
            Self::ResolveTimeout { .. } => "resolve-timeout",
            Self::Terminate { .. } => "terminate",
            Self::Close {} => "close",
            Self::Withdraw { .. } => "withdraw",
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/{id}/transactions",
    tag = "performance",
    summary = "The transaction for a performance action, simulated against the contract first",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id")),
    request_body = PerformanceAction,
    responses(
        (status = 200, description = "What to send", body = PerformanceTransactions),
        SessionErrors,
        BodyErrors,
        (status = 400, description = "Malformed request (`invalid_body`, `missing_field`, `unknown_action`, `invalid_amount`, `invalid_bps`, `invalid_signature`)", body = ErrorBody),
        (status = 403, description = "An auditor (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`)", body = ErrorBody),
        (status = 409, description = "The contract would refuse it now, with its reason (`locked`, `lock_ended`, `stale_report`, `correction_raises`, `wrong_period_status`, `not_your_action`, …)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn transactions(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    ActionJson(action): ActionJson<PerformanceAction>,
) -> Result<Json<PerformanceTransactions>, ApiError> {
    let who = caller.party()?;
    let l = load(&state, caller, &id).await?;
    let contract = l.chain.performance()?;
    let name = action.name();
    let a = l.agreement.clone();
    let mut pre = Vec::new();
    let data: Vec<u8> = match action {
        PerformanceAction::Fund { amount: v } => {
            let value = amount("amount", &v)?;
            // Checked here too: with an approve still to send, the top-up cannot be simulated.
            if l.ledger.status != Status::Active || l.ledger.terminated_by != 0 {
                return Err(ApiError::conflict(
                    "wrong_status",
                    "the agreement is ended, closing or ended for cause: no more top-ups",
                ));
            }
            pre = approve_if_short(l.chain, who, a.token, contract, value).await?;
            PactumPerformance::fundCall { agreement: a, amount: value }.abi_encode()
        }
        PerformanceAction::SubmitReport {
            period,
            version,
            units,
            revenue,
            detail_root,
            signature,
        } => {
            let units = u128::try_from(amount("units", &units)?).map_err(|_| {
                ApiError::bad_request("invalid_amount", "units does not fit 128 bits")
            })?;
            let revenue = u128::try_from(amount("revenue", &revenue)?).map_err(|_| {
                ApiError::bad_request("invalid_amount", "revenue does not fit 128 bits")
            })?;
            let report = Report {
                agreementId: l.id,
                period,
                version,
                units,
                revenue,
                detailRoot: detail_root,
            };
            let digest = perf::report_digest(&report, &l.chain.performance_domain()?);
            check_signature(l.chain, a.attester, digest, &signature, "attester").await?;
            PactumPerformance::submitReportCall { agreement: a, report, signature }.abi_encode()
        }
        PerformanceAction::Release { period } => {
            PactumPerformance::releaseCall { agreement: a, period: U256::from(period) }.abi_encode()
        }
        PerformanceAction::Dispute { period, reason } => PactumPerformance::disputeCall {
            agreement: a,
            period: U256::from(period),
            reasonHash: keccak256(reason.as_bytes()),
        }
        .abi_encode(),
        PerformanceAction::Resolve { period, partner_bps } => {
            if partner_bps > 10_000 {
                return Err(ApiError::bad_request("invalid_bps", "partnerBps is 0 to 10000"));
            }
            PactumPerformance::resolveCall {
                agreement: a,
                period: U256::from(period),
                partnerBps: partner_bps,
            }
            .abi_encode()
        }
        PerformanceAction::ResolveTimeout { period } => {
            PactumPerformance::resolveAfterTimeoutCall { agreement: a, period: U256::from(period) }
                .abi_encode()
        }
        PerformanceAction::Terminate { reason } => PactumPerformance::terminateCall {
            agreement: a,
            reasonHash: keccak256(reason.as_bytes()),
        }
        .abi_encode(),
        PerformanceAction::Close {} => PactumPerformance::closeCall { agreement: a }.abi_encode(),
        PerformanceAction::Withdraw { to } => {
            PactumPerformance::withdrawCall { token: l.agreement.token, to: to.unwrap_or(who) }
                .abi_encode()
        }
    };
    let tx = TxRequest {
        description: format!("{name} on performance agreement {}", l.id),
        chain_id: l.chain.id,
        from: who,
        to: contract,
        data: data.into(),
        value: "0".into(),
    };
    // A funding with an approve still to send cannot be simulated before it; the contract's other
    // checks on a top-up are the agreement's status, which the view shows.
    if pre.is_empty() {
        simulate(l.chain, &tx).await?;
    }
    pre.push(tx);
    Ok(Json(PerformanceTransactions { agreement_id: l.id, transactions: pre }))
}
