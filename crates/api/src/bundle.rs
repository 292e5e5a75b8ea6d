//! The audit bundle: one JSON document an auditor can check against any Ethereum node without
//! trusting the server that exported it.
//!
//! It carries the agreement exactly as signed, the terms document with its canonical form, both
//! parties' signatures, every escrow event with where it sits on chain (block, block hash, tx hash,
//! log index, raw topics and data), the draft's hash-chained off-chain log, and the indexer's
//! position at export. [`verify`] re-derives every hash and asks the node for every event; `pactum
//! verify` prints its checks.

use alloy::{
    eips::BlockId,
    primitives::{keccak256, Address, Bytes, B256},
    providers::{DynProvider, Provider},
    sol_types::SolEventInterface,
};
use pactum_bindings::PactumEscrow::{self, PactumEscrowEvents};
use pactum_core::{
    agreement_id, domain,
    ledger::{event_name, AgreementLedger},
    recover_signer, terms, Agreement,
};
use serde::{Deserialize, Serialize};

/// The bundle's format tag.
pub const FORMAT: &str = "pactum-audit-bundle/1";

/// An exported agreement with everything needed to verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: String,
    /// The chain.
    pub chain_id: u64,
    /// The escrow.
    pub escrow: Address,
    /// Unix time of export.
    pub exported_at: i64,
    /// Where the indexer stood at export.
    pub indexer: IndexerPosition,
    /// The agreement id (its EIP-712 digest).
    pub agreement_id: B256,
    /// The agreement as both parties signed it.
    pub agreement: Agreement,
    /// The terms document, if it was drafted on this server.
    pub terms: Option<Terms>,
    /// The parties' signatures of the agreement id.
    pub signatures: Vec<BundleSignature>,
    /// Every escrow event of the agreement, in chain order.
    pub events: Vec<BundleEvent>,
    /// The draft's off-chain log, oldest first.
    pub offchain_log: Vec<BundleLogEntry>,
}

/// The indexer's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexerPosition {
    /// Last block mirrored.
    pub indexed: u64,
    /// The node's head.
    pub head: u64,
    /// Last final block.
    pub finalized: u64,
}

/// The terms document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Terms {
    /// As the parties submitted it.
    pub document: serde_json::Value,
    /// keccak256 of its RFC 8785 canonical form.
    pub hash: B256,
}

/// One party's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSignature {
    /// `brand` or `creator`.
    pub role: String,
    /// Who signed.
    pub signer: Address,
    /// The digest signed.
    pub digest: B256,
    /// The signature.
    pub signature: Bytes,
    /// `ecdsa` or `eip1271`.
    pub method: String,
}

/// One event and its place on chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleEvent {
    /// Event name.
    pub event: String,
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u64,
    /// Topics.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Bytes,
}

/// One off-chain log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleLogEntry {
    /// Position, from 1.
    pub seq: i64,
    /// The canonical JSON text hashed.
    pub entry: String,
    /// The previous entry's hash.
    pub prev_hash: B256,
    /// keccak256(prev_hash || entry).
    pub hash: B256,
}

/// One verification step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// The evidence or the mismatch.
    pub detail: String,
}

fn check(out: &mut Vec<Check>, what: impl Into<String>, ok: bool, detail: impl Into<String>) {
    out.push(Check { what: what.into(), ok, detail: detail.into() });
}

/// Checks a bundle against a node: hashes, signatures, every event, the log's chain.
pub async fn verify(b: &Bundle, provider: &DynProvider) -> Vec<Check> {
    let mut out = Vec::new();
    check(&mut out, "format", b.format == FORMAT, format!("{:?}", b.format));
    match provider.get_chain_id().await {
        Ok(id) => check(
            &mut out,
            "node serves the bundle's chain",
            id == b.chain_id,
            format!("node chain {id}, bundle chain {}", b.chain_id),
        ),
        Err(e) => check(&mut out, "node reachable", false, e.to_string()),
    }

    // The id is the EIP-712 digest of the agreement under the escrow's domain.
    let id = agreement_id(&b.agreement, &domain(b.chain_id, b.escrow));
    check(
        &mut out,
        "agreement id = EIP-712 digest of the agreement",
        id == b.agreement_id,
        format!("computed {id}"),
    );

    // Terms: the document's canonical hash is the on-chain termsHash.
    match &b.terms {
        None => check(
            &mut out,
            "terms document",
            false,
            "not in the bundle (not drafted on the exporting server)",
        ),
        Some(t) => match terms::terms_hash(&t.document) {
            Ok(h) => {
                check(
                    &mut out,
                    "terms hash = keccak256(RFC 8785 form of the document)",
                    h == t.hash,
                    format!("computed {h}"),
                );
                check(
                    &mut out,
                    "terms hash = the agreement's termsHash",
                    h == b.agreement.termsHash,
                    format!("agreement says {}", b.agreement.termsHash),
                );
            }
            Err(e) => check(&mut out, "terms document canonicalizes", false, e.to_string()),
        },
    }

    // Signatures: both parties, over the agreement id.
    for (role, party) in [("brand", b.agreement.brand), ("creator", b.agreement.creator)] {
        let Some(s) = b.signatures.iter().find(|s| s.role == role) else {
            check(&mut out, format!("{role} signature"), false, "missing");
            continue;
        };
        let what = format!("{role} signature by {party}");
        if s.digest != b.agreement_id || s.signer != party {
            check(&mut out, what, false, format!("signs {} as {}", s.digest, s.signer));
            continue;
        }
        match recover_signer(b.agreement_id, &s.signature) {
            Ok(a) if a == party => check(&mut out, what, true, "ECDSA recovers to the party"),
            _ => {
                let ok = eip1271(provider, party, b.agreement_id, &s.signature).await;
                check(
                    &mut out,
                    what,
                    ok,
                    if ok {
                        "the party's contract wallet accepts it (EIP-1271)"
                    } else {
                        "recovers to someone else, and no contract wallet accepts it"
                    },
                );
            }
        }
    }

    // Events: each exists on chain, at the stated place, with the stated data.
    let created = b
        .events
        .first()
        .is_some_and(|e| e.event == "AgreementCreated" && e.topics.get(1) == Some(&b.agreement_id));
    check(
        &mut out,
        "first event creates this agreement",
        created,
        "AgreementCreated with the agreement id as its first indexed topic",
    );
    for e in &b.events {
        let what = format!("event {} at block {} log {}", e.event, e.block_number, e.log_index);
        match provider.get_transaction_receipt(e.tx_hash).await {
            Ok(Some(r)) => {
                let found = r.inner.logs().iter().find(|l| l.log_index == Some(e.log_index));
                let ok = found.is_some_and(|l| {
                    l.address() == b.escrow
                        && l.block_hash == Some(e.block_hash)
                        && l.block_number == Some(e.block_number)
                        && l.topics() == e.topics.as_slice()
                        && l.data().data == e.data
                });
                check(
                    &mut out,
                    what,
                    ok,
                    if ok {
                        format!("in tx {}", e.tx_hash)
                    } else {
                        format!("tx {} has no such log from the escrow", e.tx_hash)
                    },
                );
            }
            Ok(None) => {
                check(&mut out, what, false, format!("tx {} is not on this chain", e.tx_hash))
            }
            Err(err) => check(&mut out, what, false, format!("node error: {err}")),
        }
    }

    replay(&mut out, b, provider).await;

    // The off-chain log: a hash chain from zero.
    let mut prev = B256::ZERO;
    let mut chain_ok = true;
    for (i, e) in b.offchain_log.iter().enumerate() {
        let mut buf = prev.to_vec();
        buf.extend_from_slice(e.entry.as_bytes());
        let h = keccak256(&buf);
        if e.prev_hash != prev || e.hash != h || e.seq != i as i64 + 1 {
            check(
                &mut out,
                format!("off-chain log entry {}", e.seq),
                false,
                format!("expected prev {prev} and hash {h}"),
            );
            chain_ok = false;
        }
        prev = e.hash;
    }
    if chain_ok {
        check(
            &mut out,
            "off-chain log hash chain",
            true,
            format!("{} entries, head {prev}", b.offchain_log.len()),
        );
    }
    out
}

/// Folds the bundle's events through the ledger (every status, the state nonce, the termination
/// and revision rules) and compares the result with the escrow's own state at the block the
/// bundle was exported at.
async fn replay(out: &mut Vec<Check>, b: &Bundle, provider: &DynProvider) {
    let mut ledger = AgreementLedger::created(b.agreement.clone());
    for e in b.events.iter().skip(1) {
        let what = format!("replay of {} at block {} log {}", e.event, e.block_number, e.log_index);
        let event = match PactumEscrowEvents::decode_raw_log(&e.topics, &e.data) {
            Ok(ev) => ev,
            Err(err) => return check(out, what, false, format!("does not decode: {err}")),
        };
        if event_name(&event) != e.event {
            return check(out, what, false, format!("decodes as {}", event_name(&event)));
        }
        if let Err(err) = ledger.apply(&event, 0) {
            return check(out, what, false, err.to_string());
        }
    }
    let escrow = PactumEscrow::new(b.escrow, provider.clone());
    let at = BlockId::number(b.indexer.indexed);
    match escrow.getState(b.agreement_id).block(at).call().await {
        Ok(s) => {
            let ours = (
                ledger.status as u8,
                ledger.nonce,
                ledger.funded_count,
                ledger.packed_milestones(),
            );
            let theirs = (s.status, s.nonce, s.fundedCount, s.milestones);
            check(
                out,
                "the events rebuild the escrow's state at export",
                ours == theirs,
                format!(
                    "{} (nonce {}, {} funded, held {}){}",
                    ledger.status.as_str(),
                    ledger.nonce,
                    ledger.funded_count,
                    ledger.held(),
                    if ours == theirs {
                        String::new()
                    } else {
                        format!("; the escrow says status {} nonce {}", s.status, s.nonce)
                    }
                ),
            );
        }
        Err(err) => check(out, "the escrow's state at export", false, format!("node error: {err}")),
    }
}

async fn eip1271(provider: &DynProvider, signer: Address, digest: B256, signature: &[u8]) -> bool {
    let wallet = crate::auth::IERC1271::new(signer, provider.clone());
    matches!(
        wallet.isValidSignature(digest, Bytes::copy_from_slice(signature)).call().await,
        Ok(magic) if magic.0 == [0x16, 0x26, 0xba, 0x7e]
    )
}
