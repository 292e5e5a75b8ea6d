//! The notification each mirrored event implies, written with the event (see
//! `pactum_db::notifications`): its type from the catalogue, its payload and who hears it.

use alloy::primitives::Address;
use pactum_bindings::PactumEscrow::PactumEscrowEvents as Ev;
use pactum_core::{
    ledger::{agreement_of, event_name, milestone_of, AgreementLedger},
    notifications::kind_of,
};
use pactum_db::{
    notifications::{NewNotification, Recipient, Source},
    LogPosition,
};
use serde_json::json;

/// The notification `event` implies, if any. `ledger` is its agreement's state after the event;
/// `fields` its decoded fields as stored (JSON).
pub(crate) fn notification(
    chain_id: u64,
    event: &Ev,
    at: LogPosition,
    ledger: Option<&AgreementLedger>,
    fields: &str,
) -> Option<NewNotification> {
    let kind = kind_of(event)?;
    let mut audience = Vec::with_capacity(3);
    if let Some(a) = ledger.and_then(|l| l.agreement.as_ref()) {
        audience.push(Recipient { account: a.brand, role: "brand" });
        audience.push(Recipient { account: a.creator, role: "creator" });
        if a.arbiter != Address::ZERO {
            audience.push(Recipient { account: a.arbiter, role: "arbiter" });
        }
    }
    // Events that name one account: it hears them even where no agreement is mirrored (a
    // signature revoked or cancelled before creation, a withdrawal).
    let named = match event {
        Ev::AgreementRevoked(e) => Some(e.by),
        Ev::SignaturesCancelled(e) => Some(e.by),
        Ev::PaymentDeferred(e) => Some(e.account),
        Ev::Withdrawn(e) => Some(e.account),
        _ => None,
    };
    if let Some(account) = named {
        if !audience.iter().any(|r| r.account == account) {
            audience.push(Recipient { account, role: "account" });
        }
    }
    if audience.is_empty() {
        return None;
    }
    let agreement_id = agreement_of(event);
    let milestone = milestone_of(event).and_then(|m| u32::try_from(m).ok());
    let fields: serde_json::Value = serde_json::from_str(fields).unwrap_or(serde_json::Value::Null);
    let data = json!({
        "chain_id": chain_id,
        "agreement_id": agreement_id,
        "milestone": milestone,
        "event": event_name(event),
        "fields": fields,
        "block_number": at.block_number,
        "block_hash": at.block_hash,
        "block_timestamp": at.block_timestamp,
        "tx_hash": at.tx_hash,
        "log_index": at.log_index,
        "status": ledger.map(|l| l.status.as_str()),
    });
    Some(NewNotification {
        kind: kind.to_owned(),
        chain_id,
        agreement_id,
        milestone,
        source: Some(Source {
            block_number: at.block_number,
            block_hash: at.block_hash,
            tx_hash: at.tx_hash,
            log_index: at.log_index,
        }),
        occurred_at: at.block_timestamp,
        data,
        audience,
    })
}
