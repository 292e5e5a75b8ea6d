//! Turns decoded escrow events into the rows the ledger tables hold.

use alloy::primitives::{Address, U256};
use pactum_bindings::PactumEscrow::PactumEscrowEvents as Ev;
use pactum_core::{ledger::AgreementLedger, Agreement};
use pactum_db::{
    DeferredRow, DepositRow, DisputeRow, LogPosition, PayoutRow, Projection, TerminationRow,
};

/// The termination kinds, in the contract's `TerminationKind` order.
const TERMINATION_KINDS: [&str; 4] = ["uncontested", "arbiter_ruling", "arbiter_timeout", "mutual"];

/// Adds the rows `event` produces to `out`. `ledger` is its agreement's state after the event.
pub(crate) fn project(
    event: &Ev,
    at: LogPosition,
    ledger: Option<&AgreementLedger>,
    out: &mut Projection,
) {
    let agreement = ledger.and_then(|l| l.agreement.as_ref());
    let mut pay = |id, milestone: Option<U256>, parts: [(&'static str, U256); 3], kind| {
        let Some(a) = agreement else { return };
        for (role, amount) in parts {
            if amount.is_zero() {
                continue;
            }
            out.payouts.push(PayoutRow {
                agreement_id: id,
                milestone: milestone.map(index),
                role,
                recipient: recipient(a, role),
                amount,
                kind,
                at,
            });
        }
    };
    let z = U256::ZERO;
    match event {
        Ev::MilestoneApproved(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", e.amount), ("brand", z), ("arbiter", z)],
            "approved",
        ),
        Ev::MilestoneClaimed(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", e.amount), ("brand", z), ("arbiter", z)],
            "claimed",
        ),
        Ev::MilestoneReclaimed(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", z), ("brand", e.amount), ("arbiter", z)],
            "reclaimed",
        ),
        Ev::DisputeResolved(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", e.creatorAmount), ("brand", e.brandAmount), ("arbiter", e.arbiterFee)],
            "dispute_resolved",
        ),
        Ev::DisputeTimedOut(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", e.creatorAmount), ("brand", e.brandAmount), ("arbiter", z)],
            "dispute_timed_out",
        ),
        Ev::MilestoneSettled(e) => pay(
            e.id,
            Some(e.milestone),
            [("creator", e.creatorAmount), ("brand", e.brandAmount), ("arbiter", z)],
            "settled",
        ),
        Ev::AgreementTerminated(e) => {
            let kind = TERMINATION_KINDS.get(usize::from(e.kind)).copied().unwrap_or("unknown");
            pay(
                e.id,
                None,
                [("creator", e.creatorAmount), ("brand", e.brandAmount), ("arbiter", e.arbiterFee)],
                "terminated",
            );
            out.terminations.push(TerminationRow {
                agreement_id: e.id,
                step: "ended",
                actor: None,
                reason_hash: None,
                kind: Some(kind),
                split: Some((e.creatorAmount, e.brandAmount, e.arbiterFee)),
                at,
            });
        }
        Ev::MilestonesFunded(e) => out.deposits.push(DepositRow {
            agreement_id: e.id,
            funder: e.funder,
            first_milestone: index(e.firstMilestone),
            count: index(e.count),
            amount: e.amount,
            at,
        }),
        Ev::DisputeOpened(e) => out.disputes.push(DisputeRow {
            agreement_id: e.id,
            milestone: index(e.milestone),
            opened_by: e.by,
            reason_hash: e.reasonHash,
            at,
        }),
        Ev::TerminationStarted(e) => out.terminations.push(TerminationRow {
            agreement_id: e.id,
            step: "started",
            actor: Some(e.by),
            reason_hash: Some(e.reasonHash),
            kind: None,
            split: None,
            at,
        }),
        Ev::TerminationContested(e) => out.terminations.push(TerminationRow {
            agreement_id: e.id,
            step: "contested",
            actor: Some(e.by),
            reason_hash: None,
            kind: None,
            split: None,
            at,
        }),
        Ev::PaymentDeferred(e) => out.deferred.push(DeferredRow {
            agreement_id: Some(e.id),
            token: e.token,
            account: e.account,
            amount: e.amount,
            withdrawn_to: None,
            at,
        }),
        Ev::Withdrawn(e) => out.deferred.push(DeferredRow {
            agreement_id: None,
            token: e.token,
            account: e.account,
            amount: e.amount,
            withdrawn_to: Some(e.to),
            at,
        }),
        Ev::AgreementCreated(_)
        | Ev::AgreementRevoked(_)
        | Ev::DeliverableSubmitted(_)
        | Ev::RevisionRequested(_)
        | Ev::AgreementCompleted(_)
        | Ev::SignaturesCancelled(_)
        | Ev::EIP712DomainChanged(_) => {}
    }
}

fn recipient(a: &Agreement, role: &str) -> Address {
    match role {
        "creator" => a.creator,
        "brand" => a.brand,
        _ => a.arbiter,
    }
}

/// Milestone indices and counts are below 32 in the escrow.
fn index(v: U256) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
