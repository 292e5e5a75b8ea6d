//! The performance agreement's audit bundle (`pactum-audit`'s `pactum-performance-bundle/1`): the
//! signed agreement, every mirrored event of it as a raw log, and each reported period's records
//! (the tree its latest accepted report names), as of the indexer's checkpoint, signed with this
//! server's export key like the escrow's bundle. `pactum verify` checks it against a node.

use alloy::{primitives::B256, sol_types::SolEventInterface};
use axum::extract::{Path, State};
use pactum_audit::{
    bundle::BlockRef,
    performance::{
        name_of_topic, AgreementDoc, PerformanceBundle, PeriodRecords, RawEvent, RecordDoc, FORMAT,
    },
};
use pactum_bindings::PactumPerformance::PactumPerformanceEvents;

use super::load;
use crate::{
    auth::SignedIn,
    error::{ApiError, ErrorBody, Json, SessionErrors},
    AppState,
};

/// The bundle's shape, for the OpenAPI document (the format itself is `pactum-audit`'s
/// `PerformanceBundle`; every integer is a decimal string, addresses and hashes 0x hex).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct PerformanceAuditBundle {
    /// `pactum-performance-bundle/1`.
    format: String,
    /// The chain id.
    chain_id: String,
    /// The performance contract the exporter read.
    contract: String,
    /// Unix time of export.
    exported_at: String,
    /// The block the bundle describes the agreement at.
    as_of: AuditBlockRef,
    /// The agreement id.
    agreement_id: String,
    /// The signed agreement, every field (as the contract's `PerformanceAgreement`).
    agreement: AuditAgreement,
    /// Every log of the contract whose topic 1 is the id, in chain order.
    events: Vec<AuditRawEvent>,
    /// Each reported period's records, of the tree its latest accepted report names.
    periods: Vec<AuditPeriodRecords>,
    /// The exporting server's signature of the rest of the document.
    exporter: AuditExporter,
}

/// A block.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct AuditBlockRef {
    /// Its number.
    number: String,
    /// Its hash.
    hash: String,
}

/// The signed `PerformanceAgreement`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct AuditAgreement {
    /// The payer.
    brand: String,
    /// The payee.
    partner: String,
    /// Signs the reports.
    attester: String,
    /// Rules on disputes (zero: none).
    arbiter: String,
    /// The ERC-20.
    token: String,
    /// keccak256 of the terms document.
    terms_hash: String,
    /// The metric's code: 0 conversions, 1 qualified leads, 2 revenue.
    metric: String,
    /// The arbiter's fee, basis points.
    arbiter_fee_bps: String,
    /// When period 0 starts.
    start: String,
    /// A period's length, seconds.
    period: String,
    /// How many periods.
    periods: String,
    /// Report window, seconds.
    report_window: String,
    /// Lock window, seconds.
    lock_window: String,
    /// Arbitration window, seconds.
    arbitration_window: String,
    /// The signatures' deadline.
    deadline: String,
    /// The salt.
    salt: String,
    /// The tiers.
    tiers: Vec<AuditTier>,
}

/// A tier.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct AuditTier {
    /// Where it starts.
    from_units: String,
    /// Its rate.
    rate: String,
}

/// A raw log.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct AuditRawEvent {
    /// A label (the verifier names the event from topic 0).
    name: String,
    /// Block number.
    block_number: String,
    /// Block hash.
    block_hash: String,
    /// Transaction hash.
    transaction_hash: String,
    /// Log index in the block.
    log_index: String,
    /// Topics, topic 0 first.
    topics: Vec<String>,
    /// ABI-encoded data.
    data: String,
}

/// A reported period's records.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct AuditPeriodRecords {
    /// The period's index.
    period: String,
    /// The latest accepted report's `detailRoot`.
    root: String,
    /// The tree's records.
    records: Vec<AuditRecord>,
}

/// A conversion record (a leaf's values).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct AuditRecord {
    /// The conversion id.
    conversion_id: String,
    /// Unix seconds.
    occurred_at: String,
    /// Revenue, token base units.
    revenue: String,
}

/// The exporter's signature.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct AuditExporter {
    /// The server's export signer.
    address: String,
    /// EIP-191 signature of the canonical digest of the rest.
    signature: String,
}

/// Records read from the database per page.
const PAGE: u32 = 5_000;

#[utoipa::path(
    get,
    path = "/v1/performance/agreements/{id}/audit-bundle",
    tag = "performance",
    summary = "The performance agreement's audit bundle, format pactum-performance-bundle/1: the signed agreement, every event as a raw log, each reported period's records; signed by this server's export key (check it with `pactum verify`)",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id (0x and 64 hex digits), optionally after its chain id and a colon")),
    responses(
        (status = 200, description = "The signed performance audit bundle", body = PerformanceAuditBundle),
        SessionErrors,
        (status = 400, description = "Malformed id (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such agreement, not one the caller is named in (`not_found`), or a chain this deployment does not serve (`unknown_chain`)", body = ErrorBody),
        (status = 500, description = "Our fault (the mirror is inconsistent)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
/// The audit bundle of one performance agreement (its named accounts and auditors).
pub(super) async fn bundle(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // Who may read it, and where it is.
    let l = load(&state, caller, &id).await?;
    let contract = l.chain.performance()?;
    let mut conn = state.pool.acquire().await?;
    // The checkpoint first: every event up to it is mirrored (the indexer writes both in one
    // transaction); events read after it that are newer are left out, so the bundle is exactly
    // the agreement as of that block.
    let cp = pactum_db::checkpoint(&mut conn, l.chain.id)
        .await?
        .ok_or_else(|| ApiError::not_found("performance agreement"))?;
    let stored = pactum_db::performance::agreement_events(&state.pool, l.chain.id, l.id).await?;
    let stored: Vec<_> =
        stored.into_iter().filter(|e| e.at.block_number <= cp.block_number).collect();
    if stored.is_empty() {
        return Err(ApiError::not_found("performance agreement"));
    }

    // Each reported period's latest accepted root, as of the checkpoint.
    let mut roots: std::collections::BTreeMap<u64, B256> = Default::default();
    let mut events = Vec::with_capacity(stored.len());
    for e in &stored {
        if let Ok(PactumPerformanceEvents::ReportAccepted(r)) =
            PactumPerformanceEvents::decode_raw_log(&e.topics, &e.data)
        {
            let period = u64::try_from(r.period).map_err(ApiError::internal)?;
            roots.insert(period, r.detailRoot);
        }
        events.push(RawEvent {
            name: name_of_topic(e.topics.first()).to_owned(),
            block_number: e.at.block_number,
            block_hash: e.at.block_hash,
            transaction_hash: e.at.tx_hash,
            log_index: u64::from(e.at.log_index),
            topics: e.topics.clone(),
            data: e.data.clone().into(),
        });
    }
    let mut periods = Vec::with_capacity(roots.len());
    for (period, root) in roots {
        let mut records = Vec::new();
        if root != pactum_core::merkle::EMPTY_ROOT {
            let mut after: Option<String> = None;
            loop {
                let page = pactum_db::performance::tree_records_page(
                    &mut conn,
                    l.chain.id,
                    l.id,
                    root,
                    after.as_deref(),
                    PAGE,
                )
                .await?;
                let full = page.len() == PAGE as usize;
                after = page.last().map(|r| r.conversion_id.clone());
                records.extend(page.into_iter().map(|r| RecordDoc {
                    conversion_id: r.conversion_id,
                    occurred_at: r.occurred_at,
                    revenue: r.revenue,
                }));
                if !full {
                    break;
                }
            }
        }
        periods.push(PeriodRecords { period, root, records });
    }
    drop(conn);

    let bundle = PerformanceBundle {
        format: FORMAT.to_owned(),
        chain_id: l.chain.id,
        contract,
        exported_at: u64::try_from(crate::now()).unwrap_or_default(),
        as_of: BlockRef { number: cp.block_number, hash: cp.block_hash },
        agreement_id: l.id,
        agreement: AgreementDoc::from(&l.agreement),
        events,
        periods,
        extensions: Default::default(),
        exporter: None,
    };
    let mut doc = serde_json::to_value(&bundle).map_err(ApiError::internal)?;
    let sig = pactum_audit::verify::exporter_signature(&doc, &state.cfg.export_key)
        .map_err(ApiError::internal)?;
    if let Some(map) = doc.as_object_mut() {
        map.insert("exporter".to_owned(), serde_json::to_value(sig).map_err(ApiError::internal)?);
    }
    Ok(Json(doc))
}
