//! The audit of performance agreements (`PactumPerformance`): the bundle, format
//! `pactum-performance-bundle/1`, and its verifier.
//!
//! A bundle holds the signed agreement, every event of the contract whose first indexed topic is
//! the agreement's id (as raw logs), and, for each reported period, the conversion records of the
//! tree its latest accepted report names. Like format 2 of the escrow's bundle it follows
//! [`crate::num`] (every integer a decimal string) and is signed by the exporting server over the
//! same digest ([`crate::verify::exporter_digest`]).
//!
//! The verifier trusts nothing in it: only the contract the auditor names ([`PerformanceTrust`])
//! and the node's answers. Its checks (stable ids):
//! - `format`: the bundle is this format and parses;
//! - `exporter-signature`: when signed (or when the auditor requires it), the signature covers the
//!   document as received and comes from the stated (and, if named, the trusted) exporter;
//! - `pinned-contract`, `node-chain`: the bundle names the trusted contract, and the node serves
//!   the bundle's (and the trusted) chain;
//! - `as-of-block`: the stated block is on the node's chain with the stated hash;
//! - `agreement-id`: the id is the EIP-712 digest of the bundle's agreement under the trusted
//!   contract's domain and chain;
//! - `creation`: the node's first log for the id is `PerformanceAgreementCreated` carrying exactly
//!   the bundle's agreement;
//! - `events-complete`: the bundle's events are exactly the node's logs of the trusted contract
//!   with topic 1 = the id, creation block to as-of block: none omitted, added, altered or
//!   reordered;
//! - `event-names`: each label is the name its topic 0 decodes to;
//! - `later-events`: no event of the agreement after the as-of block (a historical bundle may be
//!   accepted explicitly, and the later events are listed);
//! - `replay`, `state`: the node's logs fold (`PerformanceLedger`) into the contract's own
//!   `getState`, every reported period's `getPeriod` and `reserved` at the as-of block;
//! - `records`: each reported period's records rebuild the Merkle root of its latest accepted
//!   report, number its units, add up to its revenue and fall within the period; no period is
//!   missing or extra;
//! - `pay`: each report's pay is the contract's rule recomputed from the verified events: the
//!   formula ([`pactum_core::performance::pay`]) capped by the unreserved budget for a first
//!   report, by the previous pay for a correction, and the budget after it follows.

use std::collections::{BTreeMap, BTreeSet};

use alloy::{
    eips::BlockId,
    primitives::{aliases::U40, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::Log,
    sol_types::SolEventInterface,
};
use pactum_bindings::PactumPerformance::{self, PactumPerformanceEvents as Ev};
use pactum_core::{
    merkle::{self, Record, Tree},
    performance::{
        self as perf, Metric, PerformanceAgreement, PerformanceLedger, PeriodStatus,
        Status as AgreementStatus, Tier,
    },
};
use serde::{Deserialize, Serialize};

use crate::{
    bundle::{BlockRef, Event, ExporterSignature},
    num::dec,
    verify::{agreement_logs, completeness_named, exporter_check, place, Report, Status},
};

/// The format tag of performance bundles.
pub const FORMAT: &str = "pactum-performance-bundle/1";

/// The format family: another major version is refused as unreadable.
pub const FORMAT_FAMILY: &str = "pactum-performance-bundle/";

/// An exported performance agreement with everything needed to verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceBundle {
    /// [`FORMAT`].
    pub format: String,
    /// The chain.
    #[serde(with = "dec")]
    pub chain_id: u64,
    /// The performance contract the exporter read (a verifier compares it with the trusted one).
    pub contract: Address,
    /// Unix time of export.
    #[serde(with = "dec")]
    pub exported_at: u64,
    /// The block the bundle describes the agreement at.
    pub as_of: BlockRef,
    /// The agreement id (its EIP-712 digest under the contract's domain).
    pub agreement_id: B256,
    /// The agreement exactly as both parties signed it.
    pub agreement: AgreementDoc,
    /// Every log of the contract whose topic 1 is the id, creation to `asOf`, in chain order.
    pub events: Vec<RawEvent>,
    /// Each reported period's records: those of the tree its latest accepted report names.
    pub periods: Vec<PeriodRecords>,
    /// Room for additions that do not change the meaning of the members above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// The exporting server's signature of the rest of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<ExporterSignature>,
}

/// The contract's `PerformanceAgreement`, every integer a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AgreementDoc {
    pub brand: Address,
    pub partner: Address,
    pub attester: Address,
    pub arbiter: Address,
    pub token: Address,
    pub terms_hash: B256,
    /// The contract's `Metric` code (0 conversions, 1 qualified leads, 2 revenue).
    #[serde(with = "dec")]
    pub metric: u8,
    #[serde(with = "dec")]
    pub arbiter_fee_bps: u16,
    #[serde(with = "dec")]
    pub start: u64,
    #[serde(with = "dec")]
    pub period: u32,
    #[serde(with = "dec")]
    pub periods: u32,
    #[serde(with = "dec")]
    pub report_window: u32,
    #[serde(with = "dec")]
    pub lock_window: u32,
    #[serde(with = "dec")]
    pub arbitration_window: u32,
    #[serde(with = "dec")]
    pub deadline: u64,
    #[serde(with = "dec")]
    pub salt: U256,
    pub tiers: Vec<TierDoc>,
}

/// One tier of [`AgreementDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TierDoc {
    #[serde(with = "dec")]
    pub from_units: u128,
    #[serde(with = "dec")]
    pub rate: u128,
}

impl From<&PerformanceAgreement> for AgreementDoc {
    fn from(a: &PerformanceAgreement) -> Self {
        Self {
            brand: a.brand,
            partner: a.partner,
            attester: a.attester,
            arbiter: a.arbiter,
            token: a.token,
            terms_hash: a.termsHash,
            metric: a.metric,
            arbiter_fee_bps: a.arbiterFeeBps,
            start: a.start.to::<u64>(),
            period: a.period,
            periods: a.periods,
            report_window: a.reportWindow,
            lock_window: a.lockWindow,
            arbitration_window: a.arbitrationWindow,
            deadline: a.deadline.to::<u64>(),
            salt: a.salt,
            tiers: a
                .tiers
                .iter()
                .map(|t| TierDoc { from_units: t.fromUnits, rate: t.rate })
                .collect(),
        }
    }
}

impl TryFrom<&AgreementDoc> for PerformanceAgreement {
    type Error = crate::bundle::OutOfRange;

    fn try_from(a: &AgreementDoc) -> Result<Self, Self::Error> {
        let u40 = |v: u64, what| U40::try_from(v).map_err(|_| crate::bundle::OutOfRange(what));
        Ok(Self {
            brand: a.brand,
            partner: a.partner,
            attester: a.attester,
            arbiter: a.arbiter,
            token: a.token,
            termsHash: a.terms_hash,
            metric: a.metric,
            arbiterFeeBps: a.arbiter_fee_bps,
            start: u40(a.start, "start")?,
            period: a.period,
            periods: a.periods,
            reportWindow: a.report_window,
            lockWindow: a.lock_window,
            arbitrationWindow: a.arbitration_window,
            deadline: u40(a.deadline, "deadline")?,
            salt: a.salt,
            tiers: a.tiers.iter().map(|t| Tier { fromUnits: t.from_units, rate: t.rate }).collect(),
        })
    }
}

/// One log and its place on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEvent {
    /// A label for people; the verifier names the event from `topics[0]`.
    pub name: String,
    /// Block number.
    #[serde(with = "dec")]
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub transaction_hash: B256,
    /// Log index in the block.
    #[serde(with = "dec")]
    pub log_index: u64,
    /// Topics, topic 0 first.
    pub topics: Vec<B256>,
    /// ABI-encoded data.
    pub data: Bytes,
}

impl RawEvent {
    fn as_event(&self) -> Event {
        Event {
            name: self.name.clone(),
            block_number: self.block_number,
            block_hash: self.block_hash,
            tx_hash: self.transaction_hash,
            log_index: self.log_index,
            topics: self.topics.clone(),
            data: self.data.clone(),
        }
    }
}

/// A reported period's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodRecords {
    /// The period's index.
    #[serde(with = "dec")]
    pub period: u64,
    /// The `detailRoot` of its latest accepted report.
    pub root: B256,
    /// The records (leaves) of that tree, in any order.
    pub records: Vec<RecordDoc>,
}

/// One conversion record: a leaf's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordDoc {
    /// The tracker's id of the conversion.
    pub conversion_id: String,
    /// When it happened, Unix seconds.
    #[serde(with = "dec")]
    pub occurred_at: u64,
    /// Its revenue, in the token's base units.
    #[serde(with = "dec")]
    pub revenue: U256,
}

impl From<&RecordDoc> for Record {
    fn from(r: &RecordDoc) -> Self {
        Self {
            conversion_id: r.conversion_id.clone(),
            occurred_at: r.occurred_at,
            revenue: r.revenue,
        }
    }
}

/// What the verifier of a performance bundle trusts, given by the auditor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerformanceTrust {
    /// The performance contract to trust (never the bundle's own claim).
    pub contract: Address,
    /// Its chain, when known.
    pub chain_id: Option<u64>,
    /// The exporter whose signature is required, if any.
    pub exporter: Option<Address>,
    /// Accept a bundle exported before the agreement's latest events (they are listed).
    pub historical: bool,
}

/// The performance event whose signature hash is `topic0`.
pub fn name_of_topic(topic0: Option<&B256>) -> &'static str {
    use alloy::sol_types::SolEvent;
    use PactumPerformance as P;
    let Some(t) = topic0 else { return "an unknown event" };
    match *t {
        t if t == P::PerformanceAgreementCreated::SIGNATURE_HASH => "PerformanceAgreementCreated",
        t if t == P::PerformanceAgreementRevoked::SIGNATURE_HASH => "PerformanceAgreementRevoked",
        t if t == P::BudgetFunded::SIGNATURE_HASH => "BudgetFunded",
        t if t == P::ReportAccepted::SIGNATURE_HASH => "ReportAccepted",
        t if t == P::PeriodDisputed::SIGNATURE_HASH => "PeriodDisputed",
        t if t == P::PeriodPaid::SIGNATURE_HASH => "PeriodPaid",
        t if t == P::PeriodResolved::SIGNATURE_HASH => "PeriodResolved",
        t if t == P::PeriodTimedOut::SIGNATURE_HASH => "PeriodTimedOut",
        t if t == P::PerformanceAgreementTerminated::SIGNATURE_HASH => {
            "PerformanceAgreementTerminated"
        }
        t if t == P::PerformanceAgreementClosed::SIGNATURE_HASH => "PerformanceAgreementClosed",
        t if t == P::BudgetReturned::SIGNATURE_HASH => "BudgetReturned",
        t if t == P::PerformanceAgreementEnded::SIGNATURE_HASH => "PerformanceAgreementEnded",
        t if t == P::PaymentDeferred::SIGNATURE_HASH => "PaymentDeferred",
        _ => "an unknown event",
    }
}

/// Checks a performance bundle (as parsed JSON, so that its exporter signature covers exactly
/// what arrived) against a node, trusting only `trust` and the node.
pub async fn verify_performance(
    raw: &serde_json::Value,
    provider: &DynProvider,
    trust: &PerformanceTrust,
) -> Report {
    let mut r = Report::new();
    let format = raw.get("format").and_then(|f| f.as_str()).unwrap_or_default();
    if format != FORMAT {
        let why = if format.starts_with(FORMAT_FAMILY) {
            format!("format {format:?}: this verifier reads {FORMAT}")
        } else {
            format!("not a performance audit bundle (format {format:?})")
        };
        r.error("format", why);
        return r.finish();
    }
    let b: PerformanceBundle = match serde_json::from_value(raw.clone()) {
        Ok(b) => b,
        Err(e) => {
            r.error("format", format!("unreadable {FORMAT}: {e}"));
            return r.finish();
        }
    };
    r.agreement_id = Some(b.agreement_id);
    r.pass("format", FORMAT);
    exporter_check(&mut r, raw, b.exporter.as_ref(), trust.exporter);

    r.check(
        "pinned-contract",
        b.contract == trust.contract,
        format!("the trusted performance contract {}", trust.contract),
        format!("the bundle names contract {}, the trusted one is {}", b.contract, trust.contract),
    );
    let node_chain = match provider.get_chain_id().await {
        Ok(id) => id,
        Err(e) => {
            r.error("node-chain", format!("the node did not answer: {e}"));
            return r.finish();
        }
    };
    let chain_ok = node_chain == b.chain_id && trust.chain_id.is_none_or(|c| c == node_chain);
    r.check(
        "node-chain",
        chain_ok,
        format!("chain {node_chain}"),
        format!("node serves chain {node_chain}, the bundle says {}", b.chain_id),
    );
    if !chain_ok {
        return r.finish();
    }
    // Everything below asks the node about the trusted contract, never the bundle's.
    let contract = trust.contract;
    match provider.get_block_by_number(b.as_of.number.into()).await {
        Ok(Some(block)) => r.check(
            "as-of-block",
            block.header.hash == b.as_of.hash,
            format!("block {} {}", b.as_of.number, b.as_of.hash),
            format!(
                "block {} is {} on the node, the bundle says {}",
                b.as_of.number, block.header.hash, b.as_of.hash
            ),
        ),
        Ok(None) => {
            r.fail("as-of-block", format!("block {} is beyond the node's head", b.as_of.number))
        }
        Err(e) => r.error("as-of-block", format!("node error: {e}")),
    }

    let agreement = match PerformanceAgreement::try_from(&b.agreement) {
        Ok(a) => a,
        Err(e) => {
            r.fail("agreement-id", e.to_string());
            return r.finish();
        }
    };
    let id = perf::agreement_id(&agreement, &perf::domain(b.chain_id, contract));
    r.check(
        "agreement-id",
        id == b.agreement_id,
        format!("EIP-712 digest {id} under the trusted contract's domain"),
        format!("the agreement's EIP-712 digest is {id}, the bundle says {}", b.agreement_id),
    );

    let Some(from) = b.events.first().map(|e| e.block_number) else {
        r.fail("events-complete", "the bundle lists no event (not even the creation)");
        return r.finish();
    };
    let logs = match agreement_logs(provider, contract, b.agreement_id, from, b.as_of.number).await
    {
        Ok(logs) => logs,
        Err(e) => {
            r.error("events-complete", e);
            return r.finish();
        }
    };
    creation(&mut r, &agreement, &logs);
    let events: Vec<Event> = b.events.iter().map(RawEvent::as_event).collect();
    completeness_named(&mut r, &events, &logs, name_of_topic);
    let wrong: Vec<String> = b
        .events
        .iter()
        .filter(|e| name_of_topic(e.topics.first()) != e.name)
        .map(|e| {
            format!(
                "block {} log {} is labelled {} but is {}",
                e.block_number,
                e.log_index,
                e.name,
                name_of_topic(e.topics.first())
            )
        })
        .collect();
    r.check(
        "event-names",
        wrong.is_empty(),
        "every label is the name its topic 0 decodes to",
        wrong.join("; "),
    );
    later_events(&mut r, provider, contract, &b, trust).await;

    // The node's logs, never the bundle's, are folded.
    let Some(decoded) = decode(&mut r, provider, &logs).await else { return r.finish() };
    let ledger = match PerformanceLedger::fold(decoded.iter().map(|(e, t, _)| (e, *t))) {
        Ok(l) => {
            r.pass("replay", format!("{} events fold through the ledger", decoded.len()));
            l
        }
        Err(e) => {
            r.fail("replay", e.to_string());
            return r.finish();
        }
    };
    state(&mut r, provider, contract, &b, &ledger).await;
    records(&mut r, &b, &agreement, &ledger);
    pay(&mut r, &agreement, &decoded);
    r.finish()
}

fn creation(r: &mut Report, agreement: &PerformanceAgreement, logs: &[Log]) {
    let Some(first) = logs.first() else {
        return r.fail("creation", "the contract logged nothing for this id in the bundle's range");
    };
    match Ev::decode_raw_log(first.topics(), &first.data().data) {
        Ok(Ev::PerformanceAgreementCreated(c)) => r.check(
            "creation",
            c.agreement == *agreement,
            format!(
                "created in tx {} at block {}",
                first.transaction_hash.unwrap_or_default(),
                first.block_number.unwrap_or_default()
            ),
            "PerformanceAgreementCreated carries another agreement than the bundle's",
        ),
        _ => r.fail(
            "creation",
            format!(
                "the first log of the bundle's range is not PerformanceAgreementCreated ({})",
                place(first)
            ),
        ),
    }
}

async fn later_events(
    r: &mut Report,
    provider: &DynProvider,
    contract: Address,
    b: &PerformanceBundle,
    trust: &PerformanceTrust,
) {
    let head = match provider.get_block_number().await {
        Ok(h) => h,
        Err(e) => return r.error("later-events", format!("node error: {e}")),
    };
    if head <= b.as_of.number {
        return r.pass("later-events", format!("the bundle is as of the node's head {head}"));
    }
    match agreement_logs(provider, contract, b.agreement_id, b.as_of.number + 1, head).await {
        Ok(later) if later.is_empty() => r.pass(
            "later-events",
            format!("no event of the agreement in blocks {}..={head}", b.as_of.number + 1),
        ),
        Ok(later) => {
            let list = later
                .iter()
                .map(|l| format!("{} at {}", name_of_topic(l.topics().first()), place(l)))
                .collect::<Vec<_>>()
                .join(", ");
            let detail = format!(
                "{} event(s) after the as-of block {} up to head {head}: {list}",
                later.len(),
                b.as_of.number
            );
            if trust.historical {
                r.push(
                    "later-events",
                    Status::Skipped,
                    format!("historical bundle accepted; {detail}"),
                );
            } else {
                r.fail("later-events", format!("the bundle leaves out {detail}"));
            }
        }
        Err(e) => r.error("later-events", e),
    }
}

/// The node's logs decoded, each with its block time and place.
async fn decode(
    r: &mut Report,
    provider: &DynProvider,
    logs: &[Log],
) -> Option<Vec<(Ev, u64, String)>> {
    let mut times: BTreeMap<B256, u64> = BTreeMap::new();
    let mut out = Vec::with_capacity(logs.len());
    for l in logs {
        let ev = match Ev::decode_raw_log(l.topics(), &l.data().data) {
            Ok(ev) => ev,
            Err(e) => {
                r.fail("replay", format!("the log at {} does not decode: {e}", place(l)));
                return None;
            }
        };
        let at = match (l.block_timestamp, l.block_hash) {
            (Some(t), _) => t,
            (None, Some(h)) => match times.get(&h) {
                Some(t) => *t,
                None => match provider.get_block_by_hash(h).await {
                    Ok(Some(block)) => {
                        times.insert(h, block.header.timestamp);
                        block.header.timestamp
                    }
                    Ok(None) => {
                        r.error("replay", format!("block {h} is not on the node"));
                        return None;
                    }
                    Err(e) => {
                        r.error("replay", format!("node error: {e}"));
                        return None;
                    }
                },
            },
            (None, None) => {
                r.error("replay", format!("the node gave a log without its block ({})", place(l)));
                return None;
            }
        };
        out.push((ev, at, place(l)));
    }
    Some(out)
}

fn status_code(s: AgreementStatus) -> u8 {
    match s {
        AgreementStatus::None => 0,
        AgreementStatus::Active => 1,
        AgreementStatus::Closing => 2,
        AgreementStatus::Ended => 3,
        AgreementStatus::Revoked => 4,
    }
}

fn period_code(s: PeriodStatus) -> u8 {
    match s {
        PeriodStatus::Unreported => 0,
        PeriodStatus::Locked => 1,
        PeriodStatus::Disputed => 2,
        PeriodStatus::Paid => 3,
        PeriodStatus::Resolved => 4,
        PeriodStatus::TimedOut => 5,
    }
}

/// The fold of the verified events against the contract's own views at the as-of block.
async fn state(
    r: &mut Report,
    provider: &DynProvider,
    contract: Address,
    b: &PerformanceBundle,
    ledger: &PerformanceLedger,
) {
    let c = PactumPerformance::new(contract, provider.clone());
    let at = BlockId::hash(b.as_of.hash);
    let mut bad = Vec::new();
    let s = match c.getState(b.agreement_id).block(at).call().await {
        Ok(s) => s,
        Err(e) => return r.error("state", format!("getState at the as-of block: {e}")),
    };
    let reported = ledger.periods.values().filter(|p| p.status != PeriodStatus::Unreported).count();
    let open = ledger
        .periods
        .values()
        .filter(|p| matches!(p.status, PeriodStatus::Locked | PeriodStatus::Disputed))
        .count();
    let ours = (
        status_code(ledger.status),
        ledger.terminated_by,
        ledger.terminated_at,
        reported as u64,
        open as u64,
        ledger.budget,
    );
    let theirs = (
        s.status,
        s.terminatedBy,
        s.terminatedAt.to::<u64>(),
        u64::from(s.reported),
        u64::from(s.open),
        U256::from(s.budget),
    );
    if ours != theirs {
        bad.push(format!(
            "the fold gives {ours:?}, getState {theirs:?} (status, terminatedBy, terminatedAt, reported, open, budget)"
        ));
    }
    match c.reserved(b.agreement_id).block(at).call().await {
        Ok(v) if v == ledger.reserved => {}
        Ok(v) => {
            bad.push(format!("reserved: the fold gives {}, the contract {v}", ledger.reserved))
        }
        Err(e) => return r.error("state", format!("reserved at the as-of block: {e}")),
    }
    for (i, p) in &ledger.periods {
        let got = match c.getPeriod(b.agreement_id, U256::from(*i)).block(at).call().await {
            Ok(g) => g,
            Err(e) => return r.error("state", format!("getPeriod({i}) at the as-of block: {e}")),
        };
        let ours = (
            p.units,
            p.revenue,
            p.pay,
            period_code(p.status),
            p.version,
            p.locked_until,
            p.disputed_at,
        );
        let theirs = (
            U256::from(got.units),
            U256::from(got.revenue),
            U256::from(got.pay),
            got.status,
            got.version,
            got.lockedUntil.to::<u64>(),
            got.disputedAt.to::<u64>(),
        );
        if ours != theirs {
            bad.push(format!(
                "period {i}: the fold gives {ours:?}, getPeriod {theirs:?} (units, revenue, pay, status, version, lockedUntil, disputedAt)"
            ));
        }
    }
    r.check(
        "state",
        bad.is_empty(),
        format!(
            "{:?}, budget {}, reserved {}, {} period(s) as getState, getPeriod and reserved say",
            ledger.status,
            ledger.budget,
            ledger.reserved,
            ledger.periods.len()
        ),
        bad.join("; "),
    );
}

/// Each reported period's records against its latest accepted report.
fn records(
    r: &mut Report,
    b: &PerformanceBundle,
    agreement: &PerformanceAgreement,
    ledger: &PerformanceLedger,
) {
    let mut bad = Vec::new();
    let mut seen = BTreeSet::new();
    for pr in &b.periods {
        if !seen.insert(pr.period) {
            bad.push(format!("period {} is listed twice", pr.period));
        }
        if !ledger.periods.contains_key(&pr.period) {
            bad.push(format!("period {} is listed but was never reported", pr.period));
        }
    }
    let mut leaves = 0usize;
    for (i, p) in &ledger.periods {
        let Some(pr) = b.periods.iter().find(|x| x.period == *i) else {
            bad.push(format!("period {i} was reported but its records are missing"));
            continue;
        };
        if pr.root != p.detail_root {
            bad.push(format!(
                "period {i}: the bundle names root {}, its latest accepted report {}",
                pr.root, p.detail_root
            ));
        }
        let recs: Vec<Record> = pr.records.iter().map(Record::from).collect();
        let root = Tree::from_records(&recs).map_or(merkle::EMPTY_ROOT, |t| t.root());
        if root != p.detail_root {
            bad.push(format!(
                "period {i}: its {} records rebuild root {root}, the report accepted on chain names {}",
                recs.len(),
                p.detail_root
            ));
        }
        if U256::from(recs.len()) != p.units {
            bad.push(format!(
                "period {i}: {} records, the report counts {} units",
                recs.len(),
                p.units
            ));
        }
        let sum = recs.iter().fold(U256::ZERO, |s, x| s.saturating_add(x.revenue));
        if sum != p.revenue {
            bad.push(format!(
                "period {i}: the records' revenue adds up to {sum}, the report says {}",
                p.revenue
            ));
        }
        let (from, to) = (perf::period_start(agreement, *i), perf::period_end(agreement, *i));
        if let Some(x) = recs.iter().find(|x| x.occurred_at < from || x.occurred_at >= to) {
            bad.push(format!(
                "period {i}: record {} occurred at {}, outside the period [{from}, {to})",
                x.conversion_id, x.occurred_at
            ));
        }
        leaves += recs.len();
    }
    r.check(
        "records",
        bad.is_empty(),
        format!(
            "{} period(s), {leaves} records: each rebuilds its report's root, counts its units and adds up to its revenue",
            ledger.periods.len()
        ),
        bad.join("; "),
    );
}

/// The contract's pay rule replayed over the verified events.
fn pay(r: &mut Report, agreement: &PerformanceAgreement, decoded: &[(Ev, u64, String)]) {
    let Some(metric) = Metric::from_code(agreement.metric) else {
        return r.fail(
            "pay",
            format!("metric code {} is not one the contract knows", agreement.metric),
        );
    };
    let mut ledger = PerformanceLedger::default();
    let mut bad = Vec::new();
    let mut reports = 0;
    for (ev, at, place) in decoded {
        if let Ev::ReportAccepted(e) = ev {
            reports += 1;
            let budget = ledger.budget;
            let closing = ledger.status == AgreementStatus::Closing;
            let previous = u64::try_from(e.period)
                .ok()
                .and_then(|i| ledger.periods.get(&i))
                .filter(|p| p.status != PeriodStatus::Unreported);
            match perf::pay(metric, &agreement.tiers, e.units, e.revenue) {
                None => bad.push(format!("{place}: the formula overflows")),
                Some(formula) => {
                    let (want, budget_after) = match previous {
                        None => {
                            let want = formula.min(budget);
                            (want, budget - want)
                        }
                        Some(p) => {
                            let want = formula.min(p.pay);
                            let back = p.pay - want;
                            (want, if closing { budget } else { budget + back })
                        }
                    };
                    if e.pay != want {
                        bad.push(format!(
                            "period {} version {} ({place}): pay {}, the rule gives {want} (formula {formula}, {})",
                            e.period,
                            e.version,
                            e.pay,
                            match previous {
                                None => format!("budget {budget}"),
                                Some(p) => format!("previous pay {}", p.pay),
                            }
                        ));
                    }
                    if e.budget != budget_after {
                        bad.push(format!(
                            "period {} version {} ({place}): budget after {}, the rule gives {budget_after}",
                            e.period, e.version, e.budget
                        ));
                    }
                }
            }
        }
        if let Ev::BudgetFunded(e) = ev {
            if e.budget != ledger.budget + e.amount {
                bad.push(format!(
                    "{place}: a top-up of {} leaves budget {}, not {}",
                    e.amount,
                    e.budget,
                    ledger.budget + e.amount
                ));
            }
        }
        if let Err(e) = ledger.apply(ev, *at) {
            bad.push(e.to_string());
            break;
        }
    }
    r.check(
        "pay",
        bad.is_empty(),
        format!("{reports} report(s): each pay is the formula capped as the contract caps it"),
        bad.join("; "),
    );
}
