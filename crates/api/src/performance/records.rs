//! The attester's conversion records, each period's Merkle tree and report, and the proofs.
//!
//! The attester uploads records in bulk (idempotent by conversion id; only pseudonymous ids, and
//! no field beyond the three a leaf hashes, so no customer data can come in), reverses the ones
//! returned or found fraudulent, and asks for a period's report: the API builds the tree of the
//! period's records not reversed (`pactum_core::merkle`, OpenZeppelin's StandardMerkleTree), keeps
//! it, and hands back the `Report` typed data with its `detailRoot` to sign. A partner or an
//! auditor fetches the proof that a conversion was counted, checked against the root the report put
//! on chain, and can page through a tree's records to recompute its root with any implementation
//! of the standard tree.

use alloy::primitives::{B256, U256};
use axum::extract::{DefaultBodyLimit, Path, State};
use pactum_core::{
    merkle::{self, Record, Tree},
    performance::{self as perf, Metric, PeriodStatus, Report},
};
use pactum_db::records::{self as db, StoredRecord};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{load, Loaded};
use crate::{
    auth::SignedIn,
    drafts::Eip712TypedData,
    error::{ApiError, BodyErrors, ErrorBody, Query, SessionErrors},
    AppState,
};

/// Trees one period may have built (each a different record set: corrections and rebuilds).
const MAX_TREES_PER_PERIOD: usize = 16;
/// Records a period's tree may have: built within the request (about 1.3 s to build and 2.1 s to
/// store a million on two cores, `scripts/bench-records`), well inside the request timeout.
const MAX_RECORDS_PER_PERIOD: usize = 1_000_000;

/// Records one upload may carry.
pub const MAX_RECORDS_PER_UPLOAD: usize = 100_000;
/// The body limit of an upload: 100,000 records of about 120 bytes of JSON each, with room.
const UPLOAD_BODY_LIMIT: usize = 24 * 1024 * 1024;

/// Routes of records, reports and proofs.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
        .routes(routes!(reverse))
        .routes(routes!(report))
        .routes(routes!(proof))
        .routes(routes!(tree_records))
}

/// One conversion: only what its leaf hashes. Any other field (an e-mail, a name) is refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordIn {
    /// The tracker's pseudonymous id (an order number, a UUID): 1 to 64 of A-Z a-z 0-9 . _ : -;
    /// never an e-mail or a name.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    pub conversion_id: String,
    /// When it happened, Unix seconds: the period it counts in follows from it.
    pub occurred_at: u64,
    /// The revenue it brought, in the token's smallest unit (decimal; "0" for none).
    #[schema(pattern = r"^[0-9]{1,78}$")]
    pub revenue: String,
}

/// A bulk upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordsUpload {
    /// 1 to 100,000 records.
    pub records: Vec<RecordIn>,
}

/// What an upload did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadOutcome {
    /// Records new to the ledger.
    pub inserted: u64,
    /// Records it already had, identical (re-sent).
    pub unchanged: u64,
}

/// A period index from the path (a number, 0 to 519), or 400 `invalid_period`.
fn parse_period(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>().ok().filter(|p| *p < super::terms::MAX_PERIODS).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_period",
            format!(
                "{text:?} is not a period (a number from 0 to {})",
                super::terms::MAX_PERIODS - 1
            ),
        )
    })
}

/// The caller must be the agreement's attester.
fn attester_only(l: &Loaded<'_>, who: alloy::primitives::Address) -> Result<(), ApiError> {
    if who != l.agreement.attester {
        return Err(ApiError::forbidden("only the agreement's attester handles its records"));
    }
    Ok(())
}

/// The body of an upload, parsed with our error codes: a field beyond the three a record has is
/// `personal_data_refused` (the upload may carry no customer data), other mistakes `invalid_body`.
fn parse_upload(body: &[u8]) -> Result<RecordsUpload, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if text.contains("unknown field") {
            let field = text.split('`').nth(1).unwrap_or_default();
            ApiError::bad_request(
                "personal_data_refused",
                format!(
                    "a record carries only conversionId, occurredAt and revenue; {field:?} is \
                     refused: no customer data (e-mails, names, addresses) comes into the ledger"
                ),
            )
        } else if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("invalid_json", text)
        } else {
            ApiError::bad_request("invalid_body", text)
        }
    })
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/{id}/records",
    tag = "performance",
    summary = "The attester uploads conversion records in bulk (idempotent by conversion id; all or nothing)",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id")),
    request_body = RecordsUpload,
    responses(
        (status = 200, description = "Stored (or already there, identical)", body = UploadOutcome),
        SessionErrors,
        BodyErrors,
        (status = 400, description = "Refused before anything is written: `personal_data_refused` (a field beyond conversionId, occurredAt, revenue), `invalid_records` (ids that look like e-mails or names, or not pseudonymous; the first are named), `record_outside_term`, `too_many_records`, `invalid_amount`, `invalid_body`, `invalid_json`", body = ErrorBody),
        (status = 403, description = "Not the attester (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`)", body = ErrorBody),
        (status = 409, description = "Conversion ids already stored with another time or revenue (`conflicting_records`; nothing written)", body = ErrorBody),
        (status = 413, description = "Body too large (`body_too_large`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn upload(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<crate::error::Json<UploadOutcome>, ApiError> {
    let who = caller.party()?;
    let l = load(&state, caller, &id).await?;
    attester_only(&l, who)?;
    let upload = parse_upload(&body)?;
    if upload.records.is_empty() || upload.records.len() > MAX_RECORDS_PER_UPLOAD {
        return Err(ApiError::bad_request(
            "too_many_records",
            format!("an upload holds 1 to {MAX_RECORDS_PER_UPLOAD} records"),
        ));
    }
    let (start, end) = (perf::period_start(&l.agreement, 0), perf::end(&l.agreement));
    let mut records = Vec::with_capacity(upload.records.len());
    for r in upload.records {
        if r.occurred_at < start || r.occurred_at >= end {
            return Err(ApiError::bad_request(
                "record_outside_term",
                format!(
                    "{} occurred at {}, outside the agreement's periods [{start}, {end})",
                    r.conversion_id, r.occurred_at
                ),
            ));
        }
        let revenue = super::amount("revenue", &r.revenue)?;
        records.push(Record {
            conversion_id: r.conversion_id,
            occurred_at: r.occurred_at,
            revenue,
        });
    }
    let mut conn = state.pool.acquire().await?;
    let out = db::ingest(&mut conn, l.chain.id, l.id, &records).await?;
    if !out.invalid.is_empty() {
        let first: Vec<String> = out
            .invalid
            .iter()
            .take(5)
            .map(|i| format!("#{} {:?}: {}", i.index, i.conversion_id, i.reason))
            .collect();
        return Err(ApiError::bad_request(
            "invalid_records",
            format!(
                "{} records refused, nothing written (conversion ids are pseudonymous: no \
                 e-mails or names): {}",
                out.invalid.len(),
                first.join("; ")
            ),
        ));
    }
    if !out.conflicting.is_empty() {
        let first: Vec<&str> = out.conflicting.iter().take(10).map(String::as_str).collect();
        return Err(ApiError::conflict(
            "conflicting_records",
            format!(
                "{} conversion ids are already stored with another time or revenue, nothing \
                 written (records never change: reverse one and send a new id): {}",
                out.conflicting.len(),
                first.join(", ")
            ),
        ));
    }
    Ok(crate::error::Json(UploadOutcome { inserted: out.inserted, unchanged: out.unchanged }))
}

/// Conversions to reverse (a return, fraud).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reversals {
    /// Their conversion ids (1 to 100,000).
    pub conversion_ids: Vec<String>,
}

/// What a reversal did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReversalOutcome {
    /// Now reversed.
    pub reversed: u64,
    /// Already reversed before.
    pub already_reversed: u64,
    /// Ids with no record (nothing done for them).
    pub unknown: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/{id}/records/reversals",
    tag = "performance",
    summary = "The attester reverses conversions: the next report of their period leaves them out (a correction, while the period is locked)",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id")),
    request_body = Reversals,
    responses(
        (status = 200, description = "Done", body = ReversalOutcome),
        SessionErrors,
        BodyErrors,
        (status = 400, description = "Malformed (`invalid_body`, `too_many_records`)", body = ErrorBody),
        (status = 403, description = "Not the attester (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn reverse(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    crate::error::Json(req): crate::error::Json<Reversals>,
) -> Result<crate::error::Json<ReversalOutcome>, ApiError> {
    let who = caller.party()?;
    let l = load(&state, caller, &id).await?;
    attester_only(&l, who)?;
    if req.conversion_ids.is_empty() || req.conversion_ids.len() > MAX_RECORDS_PER_UPLOAD {
        return Err(ApiError::bad_request(
            "too_many_records",
            format!("a reversal names 1 to {MAX_RECORDS_PER_UPLOAD} conversions"),
        ));
    }
    let now = u64::try_from(l.chain.now().await?).unwrap_or(0);
    let mut conn = state.pool.acquire().await?;
    let out = db::reverse(&mut conn, l.chain.id, l.id, &req.conversion_ids, now).await?;
    Ok(crate::error::Json(ReversalOutcome {
        reversed: out.reversed,
        already_reversed: out.already_reversed,
        unknown: out.unknown,
    }))
}

/// The report of a period, for the attester to sign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportToSign {
    /// The agreement.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// The period.
    pub period: u32,
    /// The version to sign: 1 for the first report, above for a correction.
    pub version: u32,
    /// The period's records not reversed.
    pub units: String,
    /// Their revenue.
    pub revenue: String,
    /// The Merkle root of those records (zero when there are none).
    #[schema(value_type = String)]
    pub detail_root: B256,
    /// What the report would pay the partner: the rate applied to it, capped by the budget left
    /// (first report) or by the pay it corrects (correction).
    pub pay: String,
    /// The EIP-712 digest to sign.
    #[schema(value_type = String)]
    pub digest: B256,
    /// The typed data (`eth_signTypedData_v4`).
    #[schema(value_type = Eip712TypedData)]
    pub typed_data: serde_json::Value,
    /// Unix time [from, to) the records were taken from.
    pub from: u64,
    /// See `from`.
    pub to: u64,
}

#[utoipa::path(
    post,
    path = "/v1/performance/agreements/{id}/periods/{period}/report",
    tag = "performance",
    summary = "The attester's report of a period: the tree of its records is built and kept, and the Report typed data returned to sign",
    params(
        ("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id"),
        ("period" = u32, Path, maximum = 519, description = "The period, from 0"),
    ),
    responses(
        (status = 200, description = "What the attester signs", body = ReportToSign),
        SessionErrors,
        (status = 400, description = "Malformed id (`invalid_id`), or a period beyond the agreement (`invalid_period`)", body = ErrorBody),
        (status = 403, description = "Not the attester (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`)", body = ErrorBody),
        (status = 409, description = "Not now: the period is not over (`period_not_over`), past its report window (`report_window_closed`), after a termination (`period_not_reportable`), the agreement takes no reports (`wrong_status`), already final or disputed (`wrong_period_status`), its lock ended (`lock_ended`), a correction would not lower it (`correction_raises`), too many trees built (`too_many_trees`) or records (`period_too_large`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn report(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, period)): Path<(String, String)>,
) -> Result<crate::error::Json<ReportToSign>, ApiError> {
    let who = caller.party()?;
    let period = parse_period(&period)?;
    let l = load(&state, caller, &id).await?;
    attester_only(&l, who)?;
    let a = &l.agreement;
    if period >= a.periods {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("the agreement has periods 0 to {}", a.periods - 1),
        ));
    }
    let index = u64::from(period);
    let from = perf::period_start(a, index);
    let mut to = perf::period_end(a, index);
    if l.ledger.terminated_at > 0 {
        // Ended for cause: what happened before the termination counts, nothing after.
        to = to.min(l.ledger.terminated_at);
    }
    let now = u64::try_from(l.chain.now().await?).unwrap_or(0);
    let current = l.ledger.periods.get(&index).cloned().unwrap_or_default();
    match current.status {
        PeriodStatus::Unreported if now < to => {
            return Err(ApiError::conflict(
                "period_not_over",
                format!("period {period} runs until {}", crate::time::rfc3339(to)),
            ))
        }
        PeriodStatus::Unreported => {
            // What the contract would refuse, refused before any record is read: a report of a
            // period the agreement no longer takes (closing, ended, after a termination, past its
            // report window).
            let due = perf::period_end(a, index).saturating_add(u64::from(a.reportWindow));
            if l.ledger.status != perf::Status::Active {
                return Err(ApiError::conflict(
                    "wrong_status",
                    "the agreement takes no more reports (closing or ended)",
                ));
            }
            if l.ledger.terminated_at > 0 && from >= l.ledger.terminated_at {
                return Err(ApiError::conflict(
                    "period_not_reportable",
                    format!("period {period} starts after the agreement was ended for cause"),
                ));
            }
            if now >= due {
                return Err(ApiError::conflict(
                    "report_window_closed",
                    format!(
                        "period {period}'s report window closed at {}",
                        crate::time::rfc3339(due)
                    ),
                ));
            }
        }
        PeriodStatus::Locked if now >= current.locked_until => {
            return Err(ApiError::conflict(
                "lock_ended",
                "the period's lock ended: it can no longer be corrected",
            ))
        }
        PeriodStatus::Locked => {}
        _ => {
            return Err(ApiError::conflict(
                "wrong_period_status",
                format!("period {period} is settled or disputed: it can no longer be reported"),
            ))
        }
    }
    let mut conn = state.pool.acquire().await?;
    // Every build of a new record set stores a tree; a bound keeps an attester (or anyone naming
    // itself attester of an agreement of its own) from filling the disk.
    let built = db::trees(&mut conn, l.chain.id, l.id, period).await?;
    if built.len() >= MAX_TREES_PER_PERIOD {
        return Err(ApiError::conflict(
            "too_many_trees",
            format!(
                "period {period} already has {MAX_TREES_PER_PERIOD} trees built: report one of them \
                 (the latest report's records are unchanged since)"
            ),
        ));
    }
    let stored = db::period_records(&mut conn, l.chain.id, l.id, from, to, false).await?;
    if stored.len() > MAX_RECORDS_PER_PERIOD {
        return Err(ApiError::conflict(
            "period_too_large",
            format!(
                "period {period} holds {} records; a report's tree is built within the request \
                 for at most {MAX_RECORDS_PER_PERIOD}",
                stored.len()
            ),
        ));
    }
    let records: Vec<Record> = stored.into_iter().map(|s: StoredRecord| s.record).collect();
    let units = U256::from(records.len());
    let revenue = records.iter().fold(U256::ZERO, |s, r| s.saturating_add(r.revenue));
    let root = if records.is_empty() {
        merkle::EMPTY_ROOT
    } else {
        let tree = Tree::from_records(&records).map_err(ApiError::internal)?;
        db::store_tree(&mut conn, l.chain.id, l.id, period, &tree, &records).await?;
        tree.root()
    };
    let too_big = || ApiError::bad_request("invalid_amount", "units or revenue exceed 128 bits");
    let units128 = u128::try_from(units).map_err(|_| too_big())?;
    let revenue128 = u128::try_from(revenue).map_err(|_| too_big())?;
    let metric = Metric::from_code(a.metric).ok_or_else(|| ApiError::internal("metric"))?;
    let formula = perf::pay(metric, &a.tiers, units, revenue).ok_or_else(too_big)?;
    let pay = if current.status == PeriodStatus::Unreported {
        formula.min(l.ledger.budget)
    } else {
        if units > current.units || revenue > current.revenue {
            return Err(ApiError::conflict(
                "correction_raises",
                format!(
                    "the period's records now add up to {units} units and {revenue} revenue, above \
                     the report's {} and {}: a correction may only lower (reverse records, or \
                     leave the report as it is)",
                    current.units, current.revenue
                ),
            ));
        }
        formula.min(current.pay)
    };
    let report = Report {
        agreementId: l.id,
        period,
        version: current.version + 1,
        units: units128,
        revenue: revenue128,
        detailRoot: root,
    };
    let d = l.chain.performance_domain()?;
    Ok(crate::error::Json(ReportToSign {
        agreement_id: l.id,
        period,
        version: report.version,
        units: units.to_string(),
        revenue: revenue.to_string(),
        detail_root: root,
        pay: pay.to_string(),
        digest: perf::report_digest(&report, &d),
        typed_data: perf::report_typed_data(&report, &d).map_err(ApiError::internal)?,
        from,
        to,
    }))
}

/// Which conversion to prove, and against which root.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The conversion id.
    pub conversion_id: String,
    /// A stored tree's root (default: the detail root the period's report put on chain).
    #[param(value_type = Option<String>, pattern = r"^0x[0-9a-fA-F]{64}$")]
    pub root: Option<B256>,
}

/// The proof that a conversion was counted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversionProof {
    /// The conversion id.
    pub conversion_id: String,
    /// When it happened.
    pub occurred_at: u64,
    /// Its revenue.
    pub revenue: String,
    /// When it was reversed, if it was (after the tree was built: the tree still counts it).
    pub reversed_at: Option<u64>,
    /// Its leaf: keccak256(keccak256(abi.encode(conversionId, occurredAt, revenue))).
    #[schema(value_type = String)]
    pub leaf: B256,
    /// The siblings from the leaf up (OpenZeppelin's MerkleProof.verify takes them as they are).
    #[schema(value_type = Vec<String>)]
    pub proof: Vec<B256>,
    /// The root proved against.
    #[schema(value_type = String)]
    pub root: B256,
    /// Whether that root is the one the period's latest report put on chain.
    pub on_chain: bool,
    /// The report version whose root it is (0: a tree no accepted report names).
    pub version: u32,
}

#[utoipa::path(
    get,
    path = "/v1/performance/agreements/{id}/periods/{period}/proof",
    tag = "performance",
    summary = "The Merkle proof that a conversion was counted in a period's report",
    params(
        ("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id"),
        ("period" = u32, Path, maximum = 519, description = "The period, from 0"),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The proof, checked against the root", body = ConversionProof),
        SessionErrors,
        (status = 400, description = "Malformed request (`invalid_id`, `invalid_period`, `invalid_query`)", body = ErrorBody),
        (status = 404, description = "No such agreement or not the caller's (`not_found`), no report on chain for the period (`not_reported`), or the conversion is not in the tree (`not_in_tree`)", body = ErrorBody),
        (status = 409, description = "The root is not a tree of this period's records, or the conversion did not occur in it (`root_not_for_period`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn proof(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, period)): Path<(String, String)>,
    Query(q): Query<ProofQuery>,
) -> Result<crate::error::Json<ConversionProof>, ApiError> {
    let period = parse_period(&period)?;
    let l = load(&state, caller, &id).await?;
    let current = l.ledger.periods.get(&u64::from(period));
    let accepted = current.filter(|p| p.version > 0).map(|p| p.detail_root);
    let root = match (q.root, accepted) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_reported",
                format!(
                    "period {period} has no report on chain yet (or name a stored tree's root)"
                ),
            ))
        }
    };
    // Only a tree built for this period proves anything about it (the contract accepts any root,
    // so the same root could be signed into two periods' reports).
    let mut conn = state.reads.pool().acquire().await?;
    if !db::trees(&mut conn, l.chain.id, l.id, period).await?.iter().any(|t| t.root == root) {
        return Err(ApiError::conflict(
            "root_not_for_period",
            format!("{root} is not a tree built from period {period}'s records"),
        ));
    }
    drop(conn);
    let row = db::proof(state.reads.pool(), l.chain.id, l.id, root, &q.conversion_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_in_tree",
                format!("{:?} is not one of the records of the tree {root}", q.conversion_id),
            )
        })?;
    let (start, end) = (
        perf::period_start(&l.agreement, u64::from(period)),
        perf::period_end(&l.agreement, u64::from(period)),
    );
    if !(start..end).contains(&row.record.record.occurred_at) {
        return Err(ApiError::conflict(
            "root_not_for_period",
            format!("{:?} did not occur in period {period}", q.conversion_id),
        ));
    }
    let on_chain = accepted == Some(root);
    Ok(crate::error::Json(ConversionProof {
        conversion_id: row.record.record.conversion_id,
        occurred_at: row.record.record.occurred_at,
        revenue: row.record.record.revenue.to_string(),
        reversed_at: row.record.reversed_at,
        leaf: row.leaf,
        proof: row.proof,
        root,
        on_chain,
        version: if on_chain { current.map_or(0, |p| p.version) } else { 0 },
    }))
}

/// A page of a tree's records.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TreeRecordsQuery {
    /// The tree's root (default: the detail root the period's report put on chain).
    #[param(value_type = Option<String>, pattern = r"^0x[0-9a-fA-F]{64}$")]
    pub root: Option<B256>,
    /// The last conversion id of the previous page.
    pub after: Option<String>,
    /// At most this many (1 to 10000; default 1000).
    pub limit: Option<u32>,
}

/// A page of the records a tree was built from: recompute its root with any implementation of
/// OpenZeppelin's StandardMerkleTree over ["string", "uint64", "uint256"].
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TreeRecords {
    /// The root.
    #[schema(value_type = String)]
    pub root: B256,
    /// The leaf encoding: ["string", "uint64", "uint256"].
    pub leaf_encoding: [&'static str; 3],
    /// How many records the tree has.
    pub leaves: u32,
    /// This page, by conversion id.
    pub records: Vec<TreeRecord>,
    /// The cursor of the next page (`after`), if there is one.
    pub next: Option<String>,
}

/// One record of a tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TreeRecord {
    /// The conversion id.
    pub conversion_id: String,
    /// When it happened.
    pub occurred_at: u64,
    /// Its revenue.
    pub revenue: String,
}

#[utoipa::path(
    get,
    path = "/v1/performance/agreements/{id}/periods/{period}/records",
    tag = "performance",
    summary = "The records a period's tree was built from, paged, to recompute its root",
    params(
        ("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id"),
        ("period" = u32, Path, maximum = 519, description = "The period, from 0"),
        TreeRecordsQuery,
    ),
    responses(
        (status = 200, description = "A page of records", body = TreeRecords),
        SessionErrors,
        (status = 400, description = "Malformed request (`invalid_id`, `invalid_period`, `invalid_query`)", body = ErrorBody),
        (status = 404, description = "No such agreement or not the caller's, or no such tree (`not_found`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn tree_records(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, period)): Path<(String, String)>,
    Query(q): Query<TreeRecordsQuery>,
) -> Result<crate::error::Json<TreeRecords>, ApiError> {
    let period = parse_period(&period)?;
    let l = load(&state, caller, &id).await?;
    let accepted =
        l.ledger.periods.get(&u64::from(period)).filter(|p| p.version > 0).map(|p| p.detail_root);
    let root = q.root.or(accepted).ok_or_else(|| ApiError::not_found("report for this period"))?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let mut conn = state.reads.pool().acquire().await?;
    let trees = db::trees(&mut conn, l.chain.id, l.id, period).await?;
    let tree = trees.iter().find(|t| t.root == root).ok_or_else(|| ApiError::not_found("tree"))?;
    let page = pactum_db::performance::tree_records_page(
        &mut conn,
        l.chain.id,
        l.id,
        root,
        q.after.as_deref(),
        limit,
    )
    .await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().map(|r| r.conversion_id.clone()))
        .flatten();
    Ok(crate::error::Json(TreeRecords {
        root,
        leaf_encoding: merkle::LEAF_ENCODING,
        leaves: tree.leaves,
        records: page
            .into_iter()
            .map(|r| TreeRecord {
                conversion_id: r.conversion_id,
                occurred_at: r.occurred_at,
                revenue: r.revenue.to_string(),
            })
            .collect(),
        next,
    }))
}
