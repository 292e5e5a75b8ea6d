//! The audit bundle, format 2: one JSON document from which an auditor checks, with any node of the
//! chain, who agreed to what, when, and where every unit of the agreement's money went.
//!
//! The format is written down in `docs/audit-bundle.schema.json` so that a verifier in another
//! language can be built from it alone. Its rules:
//! - every integer is a decimal string ([`crate::num`]); addresses and hashes are 0x hex;
//! - unknown members are allowed everywhere (a later minor version, or `extensions`), and a
//!   verifier ignores what it does not know; the major version in `format` changes only when a
//!   member's meaning does;
//! - nothing a verifier can recompute is trusted: event names are labels (the name comes from
//!   topic 0), the summary is compared with a replay of the node's logs, the exporter's signature
//!   covers the document as sent (RFC 8785 canonical form, minus the `exporter` member).

use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes, B256, U256};
use pactum_core::{Agreement, Milestone};
use serde::{Deserialize, Serialize};

use crate::num::dec;

/// The format tag of bundles this crate writes and reads.
pub const FORMAT: &str = "pactum-audit-bundle/2";

/// The format family: a bundle whose `format` starts with it but names another major version is
/// refused as unreadable rather than half-checked.
pub const FORMAT_FAMILY: &str = "pactum-audit-bundle/";

/// An exported agreement with everything needed to verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: String,
    /// The chain.
    #[serde(with = "dec")]
    pub chain_id: u64,
    /// The escrow the exporter read (a verifier compares it with the escrow it trusts).
    pub escrow: Address,
    /// Unix time of export.
    #[serde(with = "dec")]
    pub exported_at: u64,
    /// The block the bundle describes the agreement at: its events are every event up to it.
    pub as_of: BlockRef,
    /// Where the agreement was created: the block and transaction of its `AgreementCreated`.
    pub created: TxRef,
    /// The agreement id (its EIP-712 digest under the escrow's domain).
    pub agreement_id: B256,
    /// The agreement exactly as both parties signed it.
    pub agreement: AgreementDoc,
    /// The terms text that was hashed into `agreement.termsHash`, when the exporter has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<TermsDoc>,
    /// Both parties' signatures of the agreement id, as the creation transaction submitted them.
    pub signatures: Vec<PartySignature>,
    /// Every event of the escrow whose first indexed topic is the agreement id, from the creation
    /// block to `asOf`, in chain order.
    pub events: Vec<Event>,
    /// The agreement's state and money at `asOf`, as a replay of `events` computes them.
    pub summary: Summary,
    /// The draft's off-chain log (oldest first), when the agreement was drafted on the exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offchain_log: Option<Vec<LogEntry>>,
    /// Room for additions that do not change the meaning of the members above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// The exporting server's signature of the rest of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<ExporterSignature>,
}

/// A block, by number and hash (the hash pins the fork).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRef {
    /// Its number.
    #[serde(with = "dec")]
    pub number: u64,
    /// Its hash.
    pub hash: B256,
}

/// A transaction's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRef {
    /// Block number.
    #[serde(with = "dec")]
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
}

/// The escrow's `Agreement` struct, every integer a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AgreementDoc {
    pub brand: Address,
    pub creator: Address,
    pub arbiter: Address,
    pub token: Address,
    pub terms_hash: B256,
    #[serde(with = "dec")]
    pub arbiter_fee_bps: u16,
    #[serde(with = "dec")]
    pub contest_window: u32,
    #[serde(with = "dec")]
    pub arbitration_window: u32,
    #[serde(with = "dec")]
    pub revision_rounds: u8,
    #[serde(with = "dec")]
    pub deadline: u64,
    #[serde(with = "dec")]
    pub salt: U256,
    pub milestones: Vec<MilestoneDoc>,
}

/// One milestone of [`AgreementDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct MilestoneDoc {
    #[serde(with = "dec")]
    pub amount: U256,
    #[serde(with = "dec")]
    pub deadline: u64,
    #[serde(with = "dec")]
    pub review_window: u32,
}

/// A `uint40` wider than the format allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} does not fit the escrow's uint40")]
pub struct OutOfRange(pub &'static str);

impl From<&Agreement> for AgreementDoc {
    fn from(a: &Agreement) -> Self {
        Self {
            brand: a.brand,
            creator: a.creator,
            arbiter: a.arbiter,
            token: a.token,
            terms_hash: a.termsHash,
            arbiter_fee_bps: a.arbiterFeeBps,
            contest_window: a.contestWindow,
            arbitration_window: a.arbitrationWindow,
            revision_rounds: a.revisionRounds,
            deadline: a.deadline.to::<u64>(),
            salt: a.salt,
            milestones: a
                .milestones
                .iter()
                .map(|m| MilestoneDoc {
                    amount: m.amount,
                    deadline: m.deadline.to::<u64>(),
                    review_window: m.reviewWindow,
                })
                .collect(),
        }
    }
}

impl TryFrom<&AgreementDoc> for Agreement {
    type Error = OutOfRange;

    fn try_from(a: &AgreementDoc) -> Result<Self, OutOfRange> {
        let u40 = |v: u64, what| {
            alloy::primitives::Uint::<40, 1>::try_from(v).map_err(|_| OutOfRange(what))
        };
        Ok(Self {
            brand: a.brand,
            creator: a.creator,
            arbiter: a.arbiter,
            token: a.token,
            termsHash: a.terms_hash,
            arbiterFeeBps: a.arbiter_fee_bps,
            contestWindow: a.contest_window,
            arbitrationWindow: a.arbitration_window,
            revisionRounds: a.revision_rounds,
            deadline: u40(a.deadline, "deadline")?,
            salt: a.salt,
            milestones: a
                .milestones
                .iter()
                .map(|m| {
                    Ok(Milestone {
                        amount: m.amount,
                        deadline: u40(m.deadline, "milestone deadline")?,
                        reviewWindow: m.review_window,
                    })
                })
                .collect::<Result<_, OutOfRange>>()?,
        })
    }
}

/// The terms document as it was hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TermsDoc {
    /// The exact text hashed: the RFC 8785 canonical form of the terms document.
    pub canonical: String,
    /// keccak256 of `canonical`'s UTF-8 bytes.
    pub hash: B256,
}

/// How a signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMethod {
    /// An ECDSA signature recovering to the party.
    Ecdsa,
    /// A contract wallet's signature, accepted by its `isValidSignature`.
    Eip1271,
}

/// Which side of the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The brand.
    Brand,
    /// The creator.
    Creator,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brand => "brand",
            Self::Creator => "creator",
        }
    }
}

/// One party's signature of the agreement id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartySignature {
    /// Which party.
    pub role: Role,
    /// Its address (the agreement's brand or creator).
    pub signer: Address,
    /// The signature bytes.
    pub signature: Bytes,
    /// How it verifies.
    pub method: SignatureMethod,
}

/// One event and its place on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// A label for people: the verifier names the event from `topics[0]` and refuses a label that
    /// disagrees.
    pub name: String,
    /// Block number.
    #[serde(with = "dec")]
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Log index in the block.
    #[serde(with = "dec")]
    pub log_index: u64,
    /// Topics, topic 0 first.
    pub topics: Vec<B256>,
    /// ABI-encoded data.
    pub data: Bytes,
}

/// The agreement's state and money, as a replay of its events computes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The agreement's status (`Active`, `Completed`, `Terminating`, `Closing`, `Terminated`, …).
    pub status: String,
    /// The escrow's state nonce.
    #[serde(with = "dec")]
    pub nonce: u32,
    /// Milestones `[0, fundedCount)` are funded.
    #[serde(with = "dec")]
    pub funded_count: u8,
    /// Everything funded into the agreement.
    #[serde(with = "dec")]
    pub funded: U256,
    /// Everything paid (or credited) to the creator.
    #[serde(with = "dec")]
    pub paid_to_creator: U256,
    /// Everything returned (or credited) to the brand.
    #[serde(with = "dec")]
    pub refunded_to_brand: U256,
    /// Everything paid (or credited) to the arbiter.
    #[serde(with = "dec")]
    pub arbiter_fees: U256,
    /// The part of the payouts above the escrow could not push and holds as its recipients'
    /// credits (withdrawn per account and token, not per agreement).
    #[serde(with = "dec")]
    pub deferred: U256,
    /// What the agreement still holds in escrow.
    #[serde(with = "dec")]
    pub held: U256,
    /// Each milestone's status and revision count.
    pub milestones: Vec<MilestoneSummary>,
}

/// One milestone in [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneSummary {
    /// Its status (`Open`, `Submitted`, `Approved`, …).
    pub status: String,
    /// Revisions the brand asked for.
    #[serde(with = "dec")]
    pub revisions: u8,
}

impl Summary {
    /// The summary of a ledger.
    pub fn of(l: &pactum_core::ledger::AgreementLedger) -> Self {
        Self {
            status: l.status.as_str().to_owned(),
            nonce: l.nonce,
            funded_count: l.funded_count,
            funded: l.funded,
            paid_to_creator: l.paid_to_creator,
            refunded_to_brand: l.refunded_to_brand,
            arbiter_fees: l.arbiter_fees,
            deferred: l.deferred,
            held: l.held(),
            milestones: l
                .milestones
                .iter()
                .map(|m| MilestoneSummary {
                    status: m.status.as_str().to_owned(),
                    revisions: m.revisions,
                })
                .collect(),
        }
    }
}

/// One entry of the draft's off-chain log: a hash chain from zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Position, from 1.
    #[serde(with = "dec")]
    pub seq: u64,
    /// The entry: an RFC 8785 canonical JSON text with `kind`, `actor`, `at` and `details`.
    pub entry: String,
    /// The previous entry's hash (zero for the first).
    pub prev_hash: B256,
    /// keccak256(prevHash ‖ entry).
    pub hash: B256,
}

/// The exporter's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExporterSignature {
    /// The exporting server's signing address (published at its `GET /v1/config`).
    pub address: Address,
    /// EIP-191 (`personal_sign`) signature of the 32-byte digest: keccak256 of the RFC 8785
    /// canonical form of the bundle without its `exporter` member.
    pub signature: Bytes,
}
