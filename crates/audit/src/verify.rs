//! The verifier: checks a bundle against a node, trusting only the escrow address it is told to
//! trust (never the bundle's own) and the node's answers.
//!
//! What it proves, check by check (ids are stable, the web app's checker uses the same ones):
//! - `format`: the bundle is format 2 and parses;
//! - `exporter-signature`: when signed, the signature covers the document as received and, when a
//!   trusted exporter is named, comes from it;
//! - `pinned-escrow`, `node-chain`: the bundle's escrow is the trusted one and the node serves the
//!   bundle's (and the trusted deployment's) chain;
//! - `as-of-block`: the stated block exists on the node's chain with the stated hash;
//! - `later-events`: no event of the agreement exists after it (a historical bundle may be
//!   accepted explicitly);
//! - `agreement-id`: the id is the EIP-712 digest of the agreement under the trusted domain;
//! - `creation`: the node's first log for the id is `AgreementCreated` at the stated transaction,
//!   carrying exactly the bundle's agreement;
//! - `events-complete`: the bundle's events are exactly the node's logs of the trusted escrow whose
//!   first indexed topic is the id, creation block to as-of block, in order: nothing omitted,
//!   added, repeated or swapped;
//! - `event-names`: each event's label is the name its topic 0 decodes to;
//! - `replay`, `state`, `summary`: the node's logs fold through the ledger without inconsistency,
//!   rebuild the escrow's own `getState` at the as-of block, and give the bundle's stated money;
//! - `deferred-credits`: each payout of the agreement the escrow deferred is still its recipient's
//!   credit or left it through `Withdrawn`;
//! - `signature-brand`, `signature-creator`: each party's signature recovers to it, or its contract
//!   wallet accepts it (EIP-1271, asked at the creation block);
//! - `signatures-submitted`: those are the exact bytes the creation transaction submitted;
//! - `terms`: the terms text is canonical and hashes to the signed `termsHash`;
//! - `offchain-log`, `offchain-log-anchored`: the log is an unbroken hash chain of canonical
//!   entries, each party-made signature in it verifies, and it holds both parties' signatures of
//!   this agreement exactly as submitted on chain. A hash chain has no key, so the entries that
//!   are not a party's signature are vouched for only under a valid exporter signature (else the
//!   check is skipped, saying so).

use std::fmt::Write as _;

use alloy::{
    eips::BlockId,
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol,
    sol_types::{SolCall, SolEventInterface},
};
use pactum_bindings::PactumEscrow::{self, PactumEscrowEvents};
use pactum_core::{
    agreement_id, domain,
    ledger::{event_name, AgreementLedger},
    recover_signer, Agreement,
};
use serde::{Deserialize, Serialize};

use crate::bundle::{
    Bundle, Event, LogEntry, PartySignature, Role, SignatureMethod, Summary, FORMAT, FORMAT_FAMILY,
};

sol! {
    #[sol(rpc)]
    interface IERC1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4);
    }
}

/// EIP-1271's "valid" answer.
const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// The format tag of the machine-readable report.
pub const REPORT_FORMAT: &str = "pactum-audit-report/1";

/// What the verifier trusts, given by the auditor, never read from the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    /// The escrow deployment to trust.
    pub escrow: Address,
    /// The chain that deployment is on, when known (a deployments file names it).
    pub chain_id: Option<u64>,
    /// The exporting server's signing address, when the auditor requires its signature.
    pub exporter: Option<Address>,
    /// Accept a bundle that describes the agreement at an earlier block than the node's latest
    /// (later events are then reported, not refused).
    pub historical: bool,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It held.
    Pass,
    /// It did not: the bundle is wrong, forged or incomplete.
    Fail,
    /// Not applicable: the part it checks is absent (and the report says so).
    Skipped,
    /// It could not be decided: the node did not answer.
    Error,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable id (see the module docs).
    pub id: String,
    /// Its outcome.
    pub status: Status,
    /// The evidence, or what did not match.
    pub detail: String,
}

/// The overall result, which decides `pactum verify`'s exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check passed or was not applicable (exit 0).
    Verified,
    /// A check failed (exit 1).
    Failed,
    /// The bundle or the node could not be read, and nothing failed (exit 2).
    Unreadable,
}

impl Outcome {
    /// The process exit code for it.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Verified => 0,
            Self::Failed => 1,
            Self::Unreadable => 2,
        }
    }
}

/// The verifier's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// The overall result.
    pub outcome: Outcome,
    /// The agreement, when the bundle could be read.
    pub agreement_id: Option<B256>,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn new() -> Self {
        Self {
            format: REPORT_FORMAT.to_owned(),
            outcome: Outcome::Verified,
            agreement_id: None,
            checks: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, id: &str, status: Status, detail: impl Into<String>) {
        self.checks.push(Check { id: id.to_owned(), status, detail: detail.into() });
    }

    pub(crate) fn pass(&mut self, id: &str, detail: impl Into<String>) {
        self.push(id, Status::Pass, detail);
    }

    pub(crate) fn fail(&mut self, id: &str, detail: impl Into<String>) {
        self.push(id, Status::Fail, detail);
    }

    pub(crate) fn check(
        &mut self,
        id: &str,
        ok: bool,
        pass: impl Into<String>,
        fail: impl Into<String>,
    ) {
        if ok {
            self.pass(id, pass);
        } else {
            self.fail(id, fail);
        }
    }

    pub(crate) fn error(&mut self, id: &str, detail: impl Into<String>) {
        self.push(id, Status::Error, detail);
    }

    pub(crate) fn finish(mut self) -> Self {
        let has = |s| self.checks.iter().any(|c| c.status == s);
        self.outcome = if has(Status::Fail) {
            Outcome::Failed
        } else if has(Status::Error) {
            Outcome::Unreadable
        } else {
            Outcome::Verified
        };
        self
    }

    /// The report on a bundle that could not be read at all: one check, `id`, that could not be
    /// decided.
    pub fn unreadable(id: &str, detail: impl Into<String>) -> Self {
        let mut r = Self::new();
        r.error(id, detail);
        r.finish()
    }

    /// The checks with a given status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.status == status)
    }

    /// Whether the check `id` ran with `status`.
    pub fn has(&self, id: &str, status: Status) -> bool {
        self.checks.iter().any(|c| c.id == id && c.status == status)
    }
}

/// The largest block range asked of the node in one `eth_getLogs`; halved on refusal.
const LOG_RANGE: u64 = 50_000;

/// How many times a refused range is halved before the node is declared unreadable.
const MAX_HALVINGS: u32 = 16;

/// Every log of `escrow` whose first indexed topic is `id`, blocks `from..=to`, in chain order.
pub async fn agreement_logs(
    provider: &DynProvider,
    escrow: Address,
    id: B256,
    from: u64,
    to: u64,
) -> Result<Vec<Log>, String> {
    logs_in_ranges(provider, &Filter::new().address(escrow).topic1(id), from, to).await
}

/// The logs matching `filter`, blocks `from..=to`, in chain order. Ranges are bounded, and halved
/// when the node refuses one (too many results, range too wide).
pub async fn logs_in_ranges(
    provider: &DynProvider,
    filter: &Filter,
    from: u64,
    to: u64,
) -> Result<Vec<Log>, String> {
    let mut out = Vec::new();
    let mut start = from;
    let mut span = LOG_RANGE;
    let mut halvings = 0;
    while start <= to {
        let end = to.min(start.saturating_add(span - 1));
        match provider.get_logs(&filter.clone().from_block(start).to_block(end)).await {
            Ok(logs) => {
                out.extend(logs);
                start = end + 1;
            }
            Err(e) if span > 1 && halvings < MAX_HALVINGS => {
                tracing::debug!(start, end, error = %e, "log range refused; halving it");
                span /= 2;
                halvings += 1;
            }
            Err(e) => return Err(format!("eth_getLogs {start}..={end}: {e}")),
        }
    }
    if out.iter().any(|l| l.removed) {
        return Err("the node returned removed logs (its chain is reorganising)".to_owned());
    }
    Ok(out)
}

/// A bundle file's text as JSON, read as the web app's checker reads it (a browser's UTF-8 decode
/// drops a leading byte order mark, which an editor may have added to an honest bundle).
/// A member named twice in one object is refused: JSON parsers disagree on which one wins (the
/// last here and in browsers, the first in others), so a forger could show a reader one summary
/// and the verifier another under a valid exporter signature.
pub fn parse_bundle_text(text: &str) -> Result<serde_json::Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str::<Unambiguous>(text).map(|u| u.0).map_err(|e| e.to_string())
}

/// A JSON value whose objects name each member once.
struct Unambiguous(serde_json::Value);

impl<'de> Deserialize<'de> for Unambiguous {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnambiguousVisitor).map(Unambiguous)
    }
}

struct UnambiguousVisitor;

impl<'de> serde::de::Visitor<'de> for UnambiguousVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Unambiguous(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(out.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unambiguous(v) = map.next_value()?;
            if out.insert(key.clone(), v).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "member {key:?} appears twice in one object"
                )));
            }
        }
        Ok(out.into())
    }
}

/// Members of the bundle this verifier does not know, outside `extensions`: allowed (a later minor
/// version may add some), never checked, and so listed in the report for a reader who might take
/// them for checked facts.
pub fn unknown_members(raw: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    const ROOT: &[&str] = &[
        "format",
        "chainId",
        "escrow",
        "exportedAt",
        "asOf",
        "created",
        "agreementId",
        "agreement",
        "terms",
        "signatures",
        "events",
        "summary",
        "offchainLog",
        "extensions",
        "exporter",
    ];
    const AGREEMENT: &[&str] = &[
        "brand",
        "creator",
        "arbiter",
        "token",
        "termsHash",
        "arbiterFeeBps",
        "contestWindow",
        "arbitrationWindow",
        "revisionRounds",
        "deadline",
        "salt",
        "milestones",
    ];
    const SUMMARY: &[&str] = &[
        "status",
        "nonce",
        "fundedCount",
        "funded",
        "paidToCreator",
        "refundedToBrand",
        "arbiterFees",
        "deferred",
        "held",
        "milestones",
    ];
    fn object(v: &Value, at: &str, known: &[&str], out: &mut Vec<String>) {
        let mut keys: Vec<&String> = v.as_object().into_iter().flat_map(|m| m.keys()).collect();
        keys.sort();
        for k in keys {
            if !known.contains(&k.as_str()) {
                out.push(format!("{at}{k}"));
            }
        }
    }
    fn each(v: &Value, at: &str, known: &[&str], out: &mut Vec<String>) {
        for (i, x) in v.as_array().into_iter().flatten().enumerate() {
            object(x, &format!("{at}[{i}]."), known, out);
        }
    }
    let mut out = Vec::new();
    object(raw, "", ROOT, &mut out);
    object(&raw["asOf"], "asOf.", &["number", "hash"], &mut out);
    object(&raw["created"], "created.", &["blockNumber", "blockHash", "txHash"], &mut out);
    object(&raw["agreement"], "agreement.", AGREEMENT, &mut out);
    each(
        &raw["agreement"]["milestones"],
        "agreement.milestones",
        &["amount", "deadline", "reviewWindow"],
        &mut out,
    );
    object(&raw["terms"], "terms.", &["canonical", "hash"], &mut out);
    each(&raw["signatures"], "signatures", &["role", "signer", "signature", "method"], &mut out);
    each(
        &raw["events"],
        "events",
        &["name", "blockNumber", "blockHash", "txHash", "logIndex", "topics", "data"],
        &mut out,
    );
    object(&raw["summary"], "summary.", SUMMARY, &mut out);
    each(&raw["summary"]["milestones"], "summary.milestones", &["status", "revisions"], &mut out);
    each(&raw["offchainLog"], "offchainLog", &["seq", "entry", "prevHash", "hash"], &mut out);
    object(&raw["exporter"], "exporter.", &["address", "signature"], &mut out);
    out
}

/// The keccak256 digest the exporter signs: the RFC 8785 canonical form of the bundle without its
/// `exporter` member. Computed on the document as received, so unknown members are covered too.
pub fn exporter_digest(raw: &serde_json::Value) -> Result<B256, String> {
    let mut unsigned = raw.clone();
    if let Some(map) = unsigned.as_object_mut() {
        map.remove("exporter");
    }
    let text = serde_json_canonicalizer::to_string(&unsigned).map_err(|e| e.to_string())?;
    Ok(keccak256(text.as_bytes()))
}

/// The exporter's signature of a bundle document of any format (the document without its
/// `exporter` member): EIP-191 over [`exporter_digest`], as the verifier checks it.
pub fn exporter_signature(
    unsigned: &serde_json::Value,
    key: &alloy::signers::local::PrivateKeySigner,
) -> Result<crate::bundle::ExporterSignature, String> {
    use alloy::signers::SignerSync;
    let digest = exporter_digest(unsigned)?;
    let sig = key
        .sign_hash_sync(&alloy::primitives::eip191_hash_message(digest))
        .map_err(|e| e.to_string())?;
    Ok(crate::bundle::ExporterSignature {
        address: key.address(),
        signature: sig.as_bytes().to_vec().into(),
    })
}

/// Checks a bundle (as parsed JSON, so that its exporter signature covers exactly what arrived)
/// against a node.
pub async fn verify(raw: &serde_json::Value, provider: &DynProvider, trust: &Trust) -> Report {
    let mut r = Report::new();
    let format = raw.get("format").and_then(|f| f.as_str()).unwrap_or_default();
    if format != FORMAT {
        let why = if format.starts_with(FORMAT_FAMILY) {
            format!("format {format:?}: this verifier reads {FORMAT}")
        } else {
            format!("not an audit bundle (format {format:?})")
        };
        r.error("format", why);
        return r.finish();
    }
    let b: Bundle = match serde_json::from_value(raw.clone()) {
        Ok(b) => b,
        Err(e) => {
            r.error("format", format!("unreadable {FORMAT}: {e}"));
            return r.finish();
        }
    };
    r.agreement_id = Some(b.agreement_id);
    let unknown = unknown_members(raw);
    if unknown.is_empty() {
        r.pass("format", FORMAT);
    } else {
        r.pass(
            "format",
            format!(
                "{FORMAT}; members this verifier does not know, NOT checked: {}",
                unknown.join(", ")
            ),
        );
    }
    exporter(&mut r, raw, &b, trust);

    r.check(
        "pinned-escrow",
        b.escrow == trust.escrow,
        format!("the trusted escrow {}", trust.escrow),
        format!("the bundle names escrow {}, the trusted one is {}", b.escrow, trust.escrow),
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
        format!(
            "node serves chain {node_chain}, the bundle says {}{}",
            b.chain_id,
            trust
                .chain_id
                .map(|c| format!(", the trusted deployment is on {c}"))
                .unwrap_or_default()
        ),
    );
    if !chain_ok {
        return r.finish();
    }

    // Everything below asks the node about the trusted escrow, never the bundle's.
    let escrow = trust.escrow;
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
        Ok(None) => r.fail(
            "as-of-block",
            format!("block {} is not on the node's chain (beyond its head)", b.as_of.number),
        ),
        Err(e) => r.error("as-of-block", format!("node error: {e}")),
    }

    let agreement = match Agreement::try_from(&b.agreement) {
        Ok(a) => a,
        Err(e) => {
            r.fail("agreement-id", e.to_string());
            return r.finish();
        }
    };
    let id = agreement_id(&agreement, &domain(b.chain_id, escrow));
    r.check(
        "agreement-id",
        id == b.agreement_id,
        format!("EIP-712 digest {id}"),
        format!("the agreement's EIP-712 digest is {id}, the bundle says {}", b.agreement_id),
    );

    let logs = match agreement_logs(
        provider,
        escrow,
        b.agreement_id,
        b.created.block_number,
        b.as_of.number,
    )
    .await
    {
        Ok(logs) => logs,
        Err(e) => {
            r.error("events-complete", e);
            return r.finish();
        }
    };
    creation(&mut r, &b, &agreement, &logs);
    completeness(&mut r, &b.events, &logs);
    names(&mut r, &b.events);
    later_events(&mut r, provider, escrow, &b, trust).await;
    replay(&mut r, provider, escrow, &b, &agreement, &logs).await;
    deferred_credits(&mut r, provider, escrow, &b, &logs).await;
    let submitted = submitted_signatures(provider, escrow, &b).await;
    signatures(&mut r, provider, &b, &submitted).await;
    terms(&mut r, &b);
    offchain_log(&mut r, provider, &b, &submitted).await;
    r.finish()
}

fn exporter(r: &mut Report, raw: &serde_json::Value, b: &Bundle, trust: &Trust) {
    exporter_check(r, raw, b.exporter.as_ref(), trust.exporter);
}

/// The `exporter-signature` check of any bundle format: `sig` must recover, over
/// [`exporter_digest`] of the document as received, to its stated address and, when the auditor
/// names one, to the trusted exporter; an unsigned bundle fails only when one is required.
pub(crate) fn exporter_check(
    r: &mut Report,
    raw: &serde_json::Value,
    sig: Option<&crate::bundle::ExporterSignature>,
    trusted: Option<Address>,
) {
    let Some(sig) = sig else {
        match trusted {
            Some(want) => r.fail("exporter-signature", format!("unsigned; {want} must sign it")),
            None => r.push("exporter-signature", Status::Skipped, "the bundle is not signed"),
        }
        return;
    };
    let recovered = exporter_digest(raw).and_then(|d| {
        recover_signer(alloy::primitives::eip191_hash_message(d), &sig.signature)
            .map_err(|e| e.to_string())
    });
    match recovered {
        Ok(a) if a == sig.address && trusted.is_none_or(|t| t == a) => {
            r.pass("exporter-signature", format!("signed by {a}"));
        }
        Ok(a) if a == sig.address => r.fail(
            "exporter-signature",
            format!("signed by {a}, not by the trusted exporter {}", trusted.unwrap_or(a)),
        ),
        Ok(a) => r.fail(
            "exporter-signature",
            format!("the signature recovers to {a}, not the stated {}: the document changed after signing, or the signature is forged", sig.address),
        ),
        Err(e) => r.fail("exporter-signature", format!("unreadable signature: {e}")),
    }
}

fn same_place(e: &Event, l: &Log) -> bool {
    l.block_number == Some(e.block_number)
        && l.block_hash == Some(e.block_hash)
        && l.transaction_hash == Some(e.tx_hash)
        && l.log_index == Some(e.log_index)
}

fn same_log(e: &Event, l: &Log) -> bool {
    same_place(e, l) && l.topics() == e.topics.as_slice() && l.data().data == e.data
}

pub(crate) fn place(l: &Log) -> String {
    format!("block {} log {}", l.block_number.unwrap_or_default(), l.log_index.unwrap_or_default())
}

fn creation(r: &mut Report, b: &Bundle, agreement: &Agreement, logs: &[Log]) {
    let Some(first) = logs.first() else {
        return r.fail(
            "creation",
            format!(
                "the escrow logged nothing for {} from block {} to {}",
                b.agreement_id, b.created.block_number, b.as_of.number
            ),
        );
    };
    let decoded = PactumEscrowEvents::decode_raw_log(first.topics(), &first.data().data);
    let Ok(PactumEscrowEvents::AgreementCreated(created)) = decoded else {
        return r.fail(
            "creation",
            format!(
                "the first log from block {} is not AgreementCreated ({})",
                b.created.block_number,
                place(first)
            ),
        );
    };
    let at_stated = first.transaction_hash == Some(b.created.tx_hash)
        && first.block_hash == Some(b.created.block_hash)
        && first.block_number == Some(b.created.block_number);
    r.check(
        "creation",
        at_stated && created.agreement == *agreement,
        format!("created in tx {} at block {}", b.created.tx_hash, b.created.block_number),
        if at_stated {
            "AgreementCreated carries another agreement than the bundle's".to_owned()
        } else {
            format!(
                "AgreementCreated is in tx {:?} ({}), not where the bundle says",
                first.transaction_hash,
                place(first)
            )
        },
    );
}

fn completeness(r: &mut Report, events: &[Event], logs: &[Log]) {
    completeness_named(r, events, logs, decode_name);
}

/// The `events-complete` check of any contract's events: `events` are exactly `logs`, in order;
/// `name` labels a log by its topic 0.
pub(crate) fn completeness_named(
    r: &mut Report,
    events: &[Event],
    logs: &[Log],
    decode_name: fn(Option<&B256>) -> &'static str,
) {
    if events.len() == logs.len() && events.iter().zip(logs).all(|(e, l)| same_log(e, l)) {
        return r.pass("events-complete", format!("all {} events, in chain order", logs.len()));
    }
    let mut why = String::new();
    for l in logs {
        let n = events.iter().filter(|e| same_log(e, l)).count();
        let name = decode_name(l.topics().first());
        if n == 0 {
            let _ = write!(why, "omitted: {name} at {}; ", place(l));
        } else if n > 1 {
            let _ = write!(why, "listed {n} times: {name} at {}; ", place(l));
        }
    }
    for e in events {
        if !logs.iter().any(|l| same_log(e, l)) {
            let altered = logs.iter().any(|l| same_place(e, l));
            let _ = write!(
                why,
                "{}: {} at block {} log {}; ",
                if altered {
                    "altered (topics or data differ from the node's)"
                } else {
                    "not the escrow's log for this agreement"
                },
                e.name,
                e.block_number,
                e.log_index
            );
        }
    }
    if why.is_empty() {
        why = "the same events, in another order".to_owned();
    }
    r.fail(
        "events-complete",
        format!(
            "the node has {} events, the bundle {}: {}",
            logs.len(),
            events.len(),
            why.trim_end_matches("; ")
        ),
    );
}

fn decode_name(topic0: Option<&B256>) -> &'static str {
    topic0.and_then(|t| name_of_topic(*t)).unwrap_or("an unknown event")
}

/// The escrow event whose signature hash is `topic0`.
pub fn name_of_topic(topic0: B256) -> Option<&'static str> {
    use alloy::sol_types::SolEvent;
    use PactumEscrow as E;
    Some(match topic0 {
        t if t == E::AgreementCreated::SIGNATURE_HASH => "AgreementCreated",
        t if t == E::AgreementRevoked::SIGNATURE_HASH => "AgreementRevoked",
        t if t == E::MilestonesFunded::SIGNATURE_HASH => "MilestonesFunded",
        t if t == E::DeliverableSubmitted::SIGNATURE_HASH => "DeliverableSubmitted",
        t if t == E::RevisionRequested::SIGNATURE_HASH => "RevisionRequested",
        t if t == E::MilestoneApproved::SIGNATURE_HASH => "MilestoneApproved",
        t if t == E::MilestoneClaimed::SIGNATURE_HASH => "MilestoneClaimed",
        t if t == E::MilestoneReclaimed::SIGNATURE_HASH => "MilestoneReclaimed",
        t if t == E::DisputeOpened::SIGNATURE_HASH => "DisputeOpened",
        t if t == E::DisputeResolved::SIGNATURE_HASH => "DisputeResolved",
        t if t == E::DisputeTimedOut::SIGNATURE_HASH => "DisputeTimedOut",
        t if t == E::MilestoneSettled::SIGNATURE_HASH => "MilestoneSettled",
        t if t == E::AgreementCompleted::SIGNATURE_HASH => "AgreementCompleted",
        t if t == E::TerminationStarted::SIGNATURE_HASH => "TerminationStarted",
        t if t == E::TerminationContested::SIGNATURE_HASH => "TerminationContested",
        t if t == E::AgreementTerminated::SIGNATURE_HASH => "AgreementTerminated",
        t if t == E::SignaturesCancelled::SIGNATURE_HASH => "SignaturesCancelled",
        t if t == E::PaymentDeferred::SIGNATURE_HASH => "PaymentDeferred",
        t if t == E::Withdrawn::SIGNATURE_HASH => "Withdrawn",
        _ => return None,
    })
}

fn names(r: &mut Report, events: &[Event]) {
    let wrong: Vec<String> = events
        .iter()
        .filter_map(|e| {
            let real = name_of_topic(e.topics.first().copied().unwrap_or_default());
            (real != Some(e.name.as_str())).then(|| {
                format!(
                    "block {} log {} is labelled {} but is {}",
                    e.block_number,
                    e.log_index,
                    e.name,
                    real.unwrap_or("no escrow event")
                )
            })
        })
        .collect();
    r.check(
        "event-names",
        wrong.is_empty(),
        "every label is the name its topic 0 decodes to",
        wrong.join("; "),
    );
}

async fn later_events(
    r: &mut Report,
    provider: &DynProvider,
    escrow: Address,
    b: &Bundle,
    trust: &Trust,
) {
    let head = match provider.get_block_number().await {
        Ok(h) => h,
        Err(e) => return r.error("later-events", format!("node error: {e}")),
    };
    if head <= b.as_of.number {
        return r.pass("later-events", format!("the bundle is as of the node's head {head}"));
    }
    match agreement_logs(provider, escrow, b.agreement_id, b.as_of.number + 1, head).await {
        Ok(later) if later.is_empty() => r.pass(
            "later-events",
            format!("no event of the agreement in blocks {}..={head}", b.as_of.number + 1),
        ),
        Ok(later) => {
            let list = later
                .iter()
                .map(|l| format!("{} at {}", decode_name(l.topics().first()), place(l)))
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

async fn replay(
    r: &mut Report,
    provider: &DynProvider,
    escrow: Address,
    b: &Bundle,
    agreement: &Agreement,
    logs: &[Log],
) {
    let mut ledger = AgreementLedger::created(agreement.clone());
    for l in logs.iter().skip(1) {
        let event = match PactumEscrowEvents::decode_raw_log(l.topics(), &l.data().data) {
            Ok(ev) => ev,
            Err(e) => {
                return r.fail("replay", format!("the log at {} does not decode: {e}", place(l)))
            }
        };
        if let Err(e) = ledger.apply(&event, 0) {
            return r.fail("replay", format!("{} at {}: {e}", event_name(&event), place(l)));
        }
    }
    r.pass("replay", format!("{} events fold through the ledger", logs.len()));

    let contract = PactumEscrow::new(escrow, provider.clone());
    match contract.getState(b.agreement_id).block(BlockId::hash(b.as_of.hash)).call().await {
        Ok(s) => {
            let ours = (
                ledger.status as u8,
                ledger.nonce,
                ledger.funded_count,
                ledger.packed_milestones(),
            );
            let theirs = (s.status, s.nonce, s.fundedCount, s.milestones);
            r.check(
                "state",
                ours == theirs,
                format!("{} at nonce {}, {} funded", ledger.status.as_str(), ledger.nonce, ledger.funded_count),
                format!("the replay gives {ours:?}, the escrow's getState {theirs:?} (status, nonce, funded, milestones)"),
            );
        }
        Err(e) => r.error("state", format!("getState at the as-of block: {e}")),
    }

    let replayed = Summary::of(&ledger);
    if replayed == b.summary {
        r.pass(
            "summary",
            format!(
                "{}: funded {}, paid to creator {}, refunded {}, fees {}, deferred {}, held {}",
                replayed.status,
                replayed.funded,
                replayed.paid_to_creator,
                replayed.refunded_to_brand,
                replayed.arbiter_fees,
                replayed.deferred,
                replayed.held
            ),
        );
    } else {
        let theirs = serde_json::to_value(&b.summary).unwrap_or_default();
        let ours = serde_json::to_value(&replayed).unwrap_or_default();
        let diff = ours
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k}: the chain says {v}, the bundle {}",
                    theirs.get(k.as_str()).cloned().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        r.fail("summary", diff);
    }
}

/// Payouts the escrow could not push became credits of their recipients, withdrawn per account
/// and token rather than per agreement. Each such credit must still be there or have left
/// through `Withdrawn`: the recipient's credit at the as-of block plus what it withdrew since the
/// first deferral covers what this agreement deferred to it.
async fn deferred_credits(
    r: &mut Report,
    provider: &DynProvider,
    escrow: Address,
    b: &Bundle,
    logs: &[Log],
) {
    use alloy::sol_types::SolEvent;
    use std::collections::BTreeMap;
    let mut deferred: BTreeMap<(Address, Address), (U256, u64)> = BTreeMap::new();
    for l in logs {
        if let Ok(PactumEscrowEvents::PaymentDeferred(d)) =
            PactumEscrowEvents::decode_raw_log(l.topics(), &l.data().data)
        {
            let e = deferred.entry((d.token, d.account)).or_insert((U256::ZERO, u64::MAX));
            e.0 += d.amount;
            e.1 = e.1.min(l.block_number.unwrap_or_default());
        }
    }
    if deferred.is_empty() {
        return r.pass("deferred-credits", "no payout of this agreement was deferred");
    }
    let contract = PactumEscrow::new(escrow, provider.clone());
    let mut details = Vec::new();
    let mut ok = true;
    for ((token, account), (amount, first)) in deferred {
        let credit = match contract
            .claimable(token, account)
            .block(BlockId::hash(b.as_of.hash))
            .call()
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return r.error("deferred-credits", format!("claimable at the as-of block: {e}"))
            }
        };
        let filter = Filter::new()
            .address(escrow)
            .event_signature(PactumEscrow::Withdrawn::SIGNATURE_HASH)
            .topic1(token.into_word())
            .topic2(account.into_word());
        let withdrawn = match logs_in_ranges(provider, &filter, first, b.as_of.number).await {
            Ok(ws) => ws
                .iter()
                .filter_map(|l| PactumEscrow::Withdrawn::decode_log_data(l.data()).ok())
                .fold(U256::ZERO, |sum, w| sum + w.amount),
            Err(e) => return r.error("deferred-credits", e),
        };
        ok &= credit + withdrawn >= amount;
        details.push(format!(
            "{amount} of token {token} credited to {account}: withdrawn {withdrawn} since block {first}, credit now {credit}"
        ));
    }
    let detail = details.join("; ");
    r.check(
        "deferred-credits",
        ok,
        detail.clone(),
        format!("a deferred payout is neither credited nor withdrawn: {detail}"),
    );
}

/// The signatures the creation transaction submitted, read from its calldata (or, when it called
/// the escrow through another contract, from the node's call trace).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Submitted {
    /// The brand's and creator's signature bytes, and the agreement they were submitted with.
    Found { brand: Bytes, creator: Bytes },
    /// The creation call could not be found (no trace support on the node).
    Unknown(String),
    /// The node failed.
    NodeError(String),
}

fn decode_create(input: &[u8]) -> Option<(Agreement, Bytes, Bytes)> {
    use PactumEscrow as E;
    let selector: [u8; 4] = input.get(..4)?.try_into().ok()?;
    match selector {
        E::createCall::SELECTOR => E::createCall::abi_decode(input)
            .ok()
            .map(|c| (c.agreement, c.brandSignature, c.creatorSignature)),
        E::createAndFundCall::SELECTOR => E::createAndFundCall::abi_decode(input)
            .ok()
            .map(|c| (c.agreement, c.brandSignature, c.creatorSignature)),
        E::createAndFundWithPermitCall::SELECTOR => {
            E::createAndFundWithPermitCall::abi_decode(input)
                .ok()
                .map(|c| (c.agreement, c.brandSignature, c.creatorSignature))
        }
        _ => None,
    }
}

/// The call frames of a `callTracer` trace that took effect, depth first: a frame that reverted
/// (it has an `error`) is left out with everything it called, and so is any frame other than a
/// `CALL` (a `DELEGATECALL` or `CALLCODE` to the escrow runs its code in another contract's state,
/// a `STATICCALL` cannot create), so that a create call that failed, with other signature bytes,
/// is never taken for the one that created the agreement.
fn frames(frame: &serde_json::Value, out: &mut Vec<(Option<Address>, Bytes)>) {
    if frame.get("error").is_some_and(|e| !e.is_null()) {
        return;
    }
    let kind = frame.get("type").and_then(|t| t.as_str()).unwrap_or("CALL");
    let to = frame.get("to").and_then(|t| t.as_str()).and_then(|t| t.parse().ok());
    let input = frame.get("input").and_then(|i| i.as_str()).and_then(|i| i.parse().ok());
    if let (Some(input), true) = (input, kind.eq_ignore_ascii_case("CALL")) {
        out.push((to, input));
    }
    for c in frame.get("calls").and_then(|c| c.as_array()).into_iter().flatten() {
        frames(c, out);
    }
}

async fn submitted_signatures(provider: &DynProvider, escrow: Address, b: &Bundle) -> Submitted {
    match creation_signatures(provider, escrow, b.chain_id, b.agreement_id, b.created.tx_hash).await
    {
        Ok(Ok((brand, creator))) => Submitted::Found { brand, creator },
        Ok(Err(why)) => Submitted::Unknown(why),
        Err(e) => Submitted::NodeError(e),
    }
}

/// The brand's and creator's signatures that transaction `tx_hash` submitted to create agreement
/// `id` at `escrow`: from its calldata when it called the escrow directly, else from the node's
/// call trace (a wallet or a batcher in between). `Ok(Err(why))` when the call cannot be found
/// (no such transaction, or a node without `debug_traceTransaction`); `Err` on a node failure.
pub async fn creation_signatures(
    provider: &DynProvider,
    escrow: Address,
    chain_id: u64,
    id: B256,
    tx_hash: B256,
) -> Result<Result<(Bytes, Bytes), String>, String> {
    use alloy::consensus::Transaction as _;
    let matches = |a: &Agreement| agreement_id(a, &domain(chain_id, escrow)) == id;
    let tx = match provider.get_transaction_by_hash(tx_hash).await {
        Ok(Some(tx)) => tx,
        Ok(None) => return Ok(Err(format!("tx {tx_hash} is not on the node"))),
        Err(e) => return Err(e.to_string()),
    };
    if tx.inner.to() == Some(escrow) {
        if let Some((a, brand, creator)) = decode_create(tx.inner.input()) {
            if matches(&a) {
                return Ok(Ok((brand, creator)));
            }
        }
    }
    let trace: Result<serde_json::Value, _> = provider
        .raw_request(
            "debug_traceTransaction".into(),
            (tx_hash, serde_json::json!({ "tracer": "callTracer" })),
        )
        .await;
    let trace = match trace {
        Ok(t) => t,
        Err(e) => {
            return Ok(Err(format!(
                "the creation tx calls the escrow through another contract and the node cannot trace it ({e})"
            )))
        }
    };
    let mut calls = Vec::new();
    frames(&trace, &mut calls);
    for (to, input) in calls {
        if to != Some(escrow) {
            continue;
        }
        if let Some((a, brand, creator)) = decode_create(&input) {
            if matches(&a) {
                return Ok(Ok((brand, creator)));
            }
        }
    }
    Ok(Err("no call creating this agreement in the creation tx's trace".to_owned()))
}

/// Whether `party` signed `digest` with `sig`: ECDSA, else its contract wallet at block `at`.
pub async fn signature_method(
    provider: &DynProvider,
    party: Address,
    digest: B256,
    sig: &[u8],
    at: BlockId,
) -> Result<SignatureMethod, String> {
    party_signed(provider, party, digest, sig, at).await
}

async fn eip1271(
    provider: &DynProvider,
    wallet: Address,
    digest: B256,
    sig: &[u8],
    at: BlockId,
) -> bool {
    let w = IERC1271::new(wallet, provider.clone());
    matches!(
        w.isValidSignature(digest, Bytes::copy_from_slice(sig)).block(at).call().await,
        Ok(magic) if magic.0 == ERC1271_MAGIC
    )
}

/// How a signature of `digest` holds for `party`: `Ok(method)` or why not.
async fn party_signed(
    provider: &DynProvider,
    party: Address,
    digest: B256,
    sig: &[u8],
    at: BlockId,
) -> Result<SignatureMethod, String> {
    // The escrow's ECDSA check (OpenZeppelin's) takes 65 bytes with v = 27 or 28 only: another
    // encoding of the same signature is not one the escrow would have accepted.
    let escrow_form = sig.len() == 65 && matches!(sig[64], 27 | 28);
    if escrow_form && matches!(recover_signer(digest, sig), Ok(a) if a == party) {
        return Ok(SignatureMethod::Ecdsa);
    }
    if eip1271(provider, party, digest, sig, at).await {
        Ok(SignatureMethod::Eip1271)
    } else {
        Err(match recover_signer(digest, sig) {
            Ok(a) if a == party => format!(
                "recovers to {party} but not in the escrow's form (65 bytes, v 27 or 28), and no contract wallet at {party} accepts it"
            ),
            Ok(a) => format!("recovers to {a}, and no contract wallet at {party} accepts it"),
            Err(e) => format!("{e}, and no contract wallet at {party} accepts it"),
        })
    }
}

async fn signatures(r: &mut Report, provider: &DynProvider, b: &Bundle, submitted: &Submitted) {
    let at = BlockId::hash(b.created.block_hash);
    for (role, party) in [(Role::Brand, b.agreement.brand), (Role::Creator, b.agreement.creator)] {
        let id = format!("signature-{}", role.as_str());
        let found: Vec<&PartySignature> = b.signatures.iter().filter(|s| s.role == role).collect();
        let [s] = found.as_slice() else {
            r.fail(
                &id,
                format!(
                    "{} {} signatures in the bundle (one expected)",
                    found.len(),
                    role.as_str()
                ),
            );
            continue;
        };
        if s.signer != party {
            r.fail(
                &id,
                format!("signed by {}, the agreement's {} is {party}", s.signer, role.as_str()),
            );
            continue;
        }
        match party_signed(provider, party, b.agreement_id, &s.signature, at).await {
            Ok(m) if m == s.method => r.pass(
                &id,
                match m {
                    SignatureMethod::Ecdsa => format!("ECDSA by {party}"),
                    SignatureMethod::Eip1271 => format!(
                        "{party}'s contract wallet accepts it (EIP-1271, at the creation block)"
                    ),
                },
            ),
            Ok(m) => r.fail(&id, format!("labelled {:?} but verifies as {m:?}", s.method)),
            Err(why) => r.fail(&id, why),
        }
    }
    match submitted {
        Submitted::Found { brand, creator } => {
            let sig = |role| b.signatures.iter().find(|s| s.role == role).map(|s| &s.signature);
            let ok = sig(Role::Brand) == Some(brand) && sig(Role::Creator) == Some(creator);
            r.check(
                "signatures-submitted",
                ok,
                "the creation transaction submitted exactly these signatures",
                format!("the creation transaction submitted brand {brand} and creator {creator}"),
            );
        }
        Submitted::Unknown(why) => r.push("signatures-submitted", Status::Skipped, why.clone()),
        Submitted::NodeError(e) => r.error("signatures-submitted", format!("node error: {e}")),
    }
}

fn terms(r: &mut Report, b: &Bundle) {
    let Some(t) = &b.terms else {
        return r.push(
            "terms",
            Status::Skipped,
            "absent: the terms text was not drafted on the exporting server; only its hash is on chain",
        );
    };
    let canonical = serde_json::from_str::<serde_json::Value>(&t.canonical)
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json_canonicalizer::to_string(&v).map_err(|e| e.to_string()));
    let hash = keccak256(t.canonical.as_bytes());
    match canonical {
        Ok(c) if c != t.canonical => {
            r.fail("terms", "the terms text is not in RFC 8785 canonical form")
        }
        Ok(_) => r.check(
            "terms",
            hash == t.hash && hash == b.agreement.terms_hash,
            format!("keccak256 of the canonical text is the signed termsHash {hash}"),
            format!(
                "the text hashes to {hash}; the bundle says {}, the agreement signed {}",
                t.hash, b.agreement.terms_hash
            ),
        ),
        Err(e) => r.fail("terms", format!("the terms text is not JSON: {e}")),
    }
}

async fn offchain_log(r: &mut Report, provider: &DynProvider, b: &Bundle, submitted: &Submitted) {
    let Some(log) = &b.offchain_log else {
        r.push(
            "offchain-log",
            Status::Skipped,
            "absent: the agreement was not drafted on the exporting server",
        );
        r.push("offchain-log-anchored", Status::Skipped, "absent");
        return;
    };
    let mut prev = B256::ZERO;
    let mut bad = Vec::new();
    let mut signed: Vec<(Address, B256, Bytes)> = Vec::new();
    // The signatures it records were given before the agreement was created: a contract wallet
    // is asked where the escrow asked it.
    let at = BlockId::hash(b.created.block_hash);
    for (i, e) in log.iter().enumerate() {
        let mut buf = prev.to_vec();
        buf.extend_from_slice(e.entry.as_bytes());
        let h = keccak256(&buf);
        if e.prev_hash != prev || e.hash != h || e.seq != i as u64 + 1 {
            bad.push(format!("entry {} breaks the chain (expected prev {prev}, hash {h})", e.seq));
        }
        prev = e.hash;
        match entry_signature(e) {
            Ok(Some((actor, digest, sig))) => {
                if let Err(why) = party_signed(provider, actor, digest, &sig, at).await {
                    bad.push(format!("entry {}: the signature it records {why}", e.seq));
                }
                signed.push((actor, digest, sig));
            }
            Ok(None) => {}
            Err(why) => bad.push(format!("entry {}: {why}", e.seq)),
        }
    }
    // The hash chain has no key: anyone can rewrite an entry and recompute it. Only the entries
    // that carry a party's own signature prove themselves; the rest are the exporter's word, so
    // they are vouched for only when the exporter's signature held.
    let intact = format!(
        "{} canonical entries, an unbroken hash chain to {prev}; every signature recorded verifies",
        log.len()
    );
    if !bad.is_empty() {
        r.fail("offchain-log", bad.join("; "));
    } else if r.has("exporter-signature", Status::Pass) {
        r.pass("offchain-log", format!("{intact}; attributed by the exporter's signature"));
    } else {
        r.push(
            "offchain-log",
            Status::Skipped,
            format!(
                "{intact}, but no exporter signs it: anyone can rewrite its entries and recompute \
                 the chain, so only the parties' signatures in it are proven (offchain-log-anchored)"
            ),
        );
    }
    // Anchor: the log records both parties signing this agreement with the very bytes the chain
    // received, so the log cannot be swapped for another draft's.
    let recorded = |party: Address, sig: &Bytes| {
        signed.iter().any(|(a, d, s)| *a == party && *d == b.agreement_id && s == sig)
    };
    match submitted {
        Submitted::Found { brand, creator } => r.check(
            "offchain-log-anchored",
            recorded(b.agreement.brand, brand) && recorded(b.agreement.creator, creator),
            "the log records both parties signing this agreement with the bytes submitted on chain",
            "the log does not record both parties signing this agreement with the bytes submitted on chain",
        ),
        Submitted::Unknown(why) => r.push("offchain-log-anchored", Status::Skipped, why.clone()),
        Submitted::NodeError(e) => r.error("offchain-log-anchored", format!("node error: {e}")),
    }
}

/// The signature a `draft_signed` entry records: (actor, digest, signature). Other kinds record no
/// signature of their actor (they were authenticated by the actor's sign-in session, and the
/// exporter's signature stands for them).
fn entry_signature(e: &LogEntry) -> Result<Option<(Address, B256, Bytes)>, String> {
    let v: serde_json::Value =
        serde_json::from_str(&e.entry).map_err(|err| format!("not JSON: {err}"))?;
    let canonical = serde_json_canonicalizer::to_string(&v).map_err(|err| err.to_string())?;
    if canonical != e.entry {
        return Err("not in RFC 8785 canonical form".to_owned());
    }
    if v.get("kind").and_then(|k| k.as_str()) != Some("draft_signed") {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Signed {
        actor: Address,
        details: Details,
    }
    #[derive(Deserialize)]
    struct Details {
        digest: B256,
        signature: Bytes,
    }
    let s: Signed = serde_json::from_value(v)
        .map_err(|err| format!("a draft_signed entry without actor, digest or signature: {err}"))?;
    Ok(Some((s.actor, s.details.digest, s.details.signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Review finding: a creation transaction may first call `create` with other signature bytes
    /// in a frame that reverts (caught by a wallet or batcher), then the call that creates the
    /// agreement. Only the frame that took effect is what the chain "submitted".
    #[test]
    fn reverted_and_delegated_frames_are_not_the_submitted_call() {
        let escrow = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
        let trace = json!({
            "type": "CALL", "to": "0x1111111111111111111111111111111111111111", "input": "0x01",
            "calls": [
                { "type": "CALL", "to": escrow, "input": "0xaa", "error": "execution reverted",
                  "calls": [{ "type": "CALL", "to": escrow, "input": "0xab" }] },
                { "type": "DELEGATECALL", "to": escrow, "input": "0xbb" },
                { "type": "STATICCALL", "to": escrow, "input": "0xbc" },
                { "type": "CALL", "to": escrow, "input": "0xcc", "error": null }
            ]
        });
        let mut out = Vec::new();
        frames(&trace, &mut out);
        let inputs: Vec<String> = out.iter().map(|(_, i)| i.to_string()).collect();
        assert_eq!(inputs, ["0x01", "0xcc"]);
    }

    /// Review finding: a bundle saved with a UTF-8 byte order mark was unreadable to
    /// `pactum verify` and readable to the browser (whose UTF-8 decode drops it).
    #[test]
    fn a_member_named_twice_is_refused_and_unknown_members_are_listed() {
        let twice = r#"{"format":"x","summary":{"held":"1"},"summary":{"held":"2"}}"#;
        assert!(parse_bundle_text(twice).unwrap_err().contains("\"summary\" appears twice"));
        let nested = r#"{"a":[{"b":1,"b":2}]}"#;
        assert!(parse_bundle_text(nested).is_err());
        let ok = parse_bundle_text(r#"{"a":[{"b":1,"c":[1.5,null,true]}],"d":"x"}"#).unwrap();
        assert_eq!(ok, serde_json::json!({"a":[{"b":1,"c":[1.5,null,true]}],"d":"x"}));
        let extra = serde_json::json!({
            "format": "x", "note": 1, "extensions": {"free": 1},
            "summary": {"held": "0", "milestones": [{"status": "open", "amount": "9"}]},
        });
        assert_eq!(unknown_members(&extra), ["note", "summary.milestones[0].amount"]);
    }

    #[test]
    fn a_byte_order_mark_is_read_as_the_browser_reads_it() {
        let v = parse_bundle_text("\u{feff}{\"format\":\"x\"}").expect("read");
        assert_eq!(v["format"], "x");
        assert!(parse_bundle_text("\u{feff}\u{feff}{}").is_err());
    }
}
