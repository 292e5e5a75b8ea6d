//! An agreement's state rebuilt from the escrow's events alone.
//!
//! The contract promises that its events carry everything needed to rebuild each agreement without
//! a call; this module is that rebuild. The indexer folds every event through [`AgreementLedger::apply`]
//! to maintain its derived tables, the API reads what it wrote, and the tests compare the result
//! with the contract's own `getState` and `getMilestone`, so the two cannot silently disagree.

use alloy::primitives::{Address, B256, U256};
use pactum_bindings::PactumEscrow::PactumEscrowEvents as Ev;

use crate::Agreement;

/// Where an agreement is; the numbering is the contract's `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// Created; milestones are funded, delivered and paid.
    Active = 1,
    /// A party ended it for cause; contest window or arbiter pending.
    Terminating = 2,
    /// Every milestone reached a final state.
    Completed = 3,
    /// Ended by termination.
    Terminated = 4,
    /// A party revoked its signature before creation.
    Revoked = 5,
    /// A termination ended and its unearned escrow went as decided, but milestones delivered
    /// before it (under review, in revision, in dispute) still run to their own end; becomes
    /// `Terminated` when the last of them finishes.
    Closing = 6,
}

impl Status {
    /// The name used in the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Terminating => "terminating",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
            Self::Revoked => "revoked",
            Self::Closing => "closing",
        }
    }

    /// Every status, in the contract's order.
    pub const ALL: [Self; 6] = [
        Self::Active,
        Self::Terminating,
        Self::Completed,
        Self::Terminated,
        Self::Revoked,
        Self::Closing,
    ];

    /// The status named `name` (see [`Status::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether milestones can still move (the contract's "live": active, terminating, closing).
    pub const fn is_live(self) -> bool {
        matches!(self, Self::Active | Self::Terminating | Self::Closing)
    }

    /// Whether nothing can change any more.
    pub const fn is_ended(self) -> bool {
        matches!(self, Self::Completed | Self::Terminated | Self::Revoked)
    }
}

/// Where one milestone is; the numbering is the contract's `MilestoneStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum MilestoneStatus {
    /// Not submitted yet.
    #[default]
    Open = 0,
    /// Deliverable submitted; the review window runs.
    Submitted = 1,
    /// The brand asked for a revision.
    RevisionRequested = 2,
    /// Disputed; the arbiter rules.
    Disputed = 3,
    /// Approved and paid to the creator.
    Approved = 4,
    /// Claimed by the creator after the brand's silence.
    Claimed = 5,
    /// Taken back by the brand after a missed deadline.
    Reclaimed = 6,
    /// Split by the arbiter.
    Resolved = 7,
    /// Split evenly after the arbiter's timeout.
    TimedOut = 8,
    /// Split as both parties signed.
    Settled = 9,
    /// Never submitted when a termination ended the agreement; its money (if funded) went as the
    /// termination decided.
    Cancelled = 10,
}

impl MilestoneStatus {
    /// The name used in the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Submitted => "submitted",
            Self::RevisionRequested => "revision_requested",
            Self::Disputed => "disputed",
            Self::Approved => "approved",
            Self::Claimed => "claimed",
            Self::Reclaimed => "reclaimed",
            Self::Resolved => "resolved",
            Self::TimedOut => "timed_out",
            Self::Settled => "settled",
            Self::Cancelled => "cancelled",
        }
    }

    /// Every milestone status, in the contract's order.
    pub const ALL: [Self; 11] = [
        Self::Open,
        Self::Submitted,
        Self::RevisionRequested,
        Self::Disputed,
        Self::Approved,
        Self::Claimed,
        Self::Reclaimed,
        Self::Resolved,
        Self::TimedOut,
        Self::Settled,
        Self::Cancelled,
    ];

    /// The milestone status named `name` (see [`MilestoneStatus::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the milestone was delivered and still runs to its own end: under review, in
    /// revision or in dispute. A termination leaves these to the creator's (and the brand's)
    /// ordinary exits.
    pub const fn is_delivered_pending(self) -> bool {
        matches!(self, Self::Submitted | Self::RevisionRequested | Self::Disputed)
    }

    /// Whether the milestone's money has left the escrow.
    pub const fn is_final(self) -> bool {
        self as u8 >= Self::Approved as u8
    }
}

/// One milestone as the events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneLedger {
    /// Its status.
    pub status: MilestoneStatus,
    /// Block time of its last submission, revision request or dispute (0 if none).
    pub since: u64,
    /// How many revisions the brand has asked for (the contract's clock keeps the same count).
    pub revisions: u8,
    /// The latest deliverable's content hash.
    pub content_hash: Option<B256>,
    /// The latest deliverable's URI.
    pub uri: Option<String>,
}

/// An agreement and its money, as the events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementLedger {
    /// The signed agreement (absent for an agreement revoked before creation).
    pub agreement: Option<Agreement>,
    /// Its status.
    pub status: Status,
    /// Milestones `[0, funded_count)` are funded.
    pub funded_count: u8,
    /// 1 when the brand started a termination, 2 when the creator did, 0 otherwise.
    pub terminated_by: u8,
    /// Whether the termination was contested.
    pub contested: bool,
    /// Block time the termination started or was contested (0 if none).
    pub since: u64,
    /// The contract's state nonce: bumped by every state change and by `cancelSignatures`.
    /// Signed settlements and mutual terminations name it.
    pub nonce: u32,
    /// One entry per milestone.
    pub milestones: Vec<MilestoneLedger>,
    /// Everything funded into the agreement.
    pub funded: U256,
    /// Everything paid (or deferred) to the creator.
    pub paid_to_creator: U256,
    /// Everything returned (or deferred) to the brand.
    pub refunded_to_brand: U256,
    /// Everything paid (or deferred) to the arbiter.
    pub arbiter_fees: U256,
    /// The part of the payouts above that the escrow could not push and holds for its recipient
    /// to withdraw (`PaymentDeferred` of this agreement). Withdrawals are per account and token,
    /// not per agreement, so they do not reduce it.
    pub deferred: U256,
}

/// An event that does not fit the agreement's state: the events are not the escrow's, or arrive
/// out of order. The indexer treats it as a bug or a misconfiguration, never as data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event} does not fit agreement state: {reason}")]
pub struct Inconsistent {
    /// The event's name.
    pub event: &'static str,
    /// What did not fit.
    pub reason: String,
}

impl AgreementLedger {
    /// A newly created agreement.
    pub fn created(agreement: Agreement) -> Self {
        let milestones = vec![
            MilestoneLedger {
                status: MilestoneStatus::Open,
                since: 0,
                revisions: 0,
                content_hash: None,
                uri: None,
            };
            agreement.milestones.len()
        ];
        Self {
            agreement: Some(agreement),
            status: Status::Active,
            funded_count: 0,
            terminated_by: 0,
            contested: false,
            since: 0,
            nonce: 0,
            milestones,
            funded: U256::ZERO,
            paid_to_creator: U256::ZERO,
            refunded_to_brand: U256::ZERO,
            arbiter_fees: U256::ZERO,
            deferred: U256::ZERO,
        }
    }

    /// An agreement revoked before it was created.
    pub fn revoked() -> Self {
        Self { agreement: None, status: Status::Revoked, ..Self::created(Agreement::default()) }
    }

    /// What the agreement still holds: funded minus everything paid out.
    pub fn held(&self) -> U256 {
        self.funded - self.paid_to_creator - self.refunded_to_brand - self.arbiter_fees
    }

    /// The milestones packed as the contract's `AgreementState.milestones` (four bits each).
    pub fn packed_milestones(&self) -> u128 {
        self.milestones
            .iter()
            .enumerate()
            .fold(0u128, |acc, (i, m)| acc | ((m.status as u128) << (4 * i)))
    }

    /// What a termination would decide on now: the funded milestones never submitted (`Open`).
    /// Milestones under review, in revision or in dispute are outside it.
    pub fn unearned(&self) -> U256 {
        let Some(a) = &self.agreement else { return U256::ZERO };
        self.milestones
            .iter()
            .zip(&a.milestones)
            .take(usize::from(self.funded_count))
            .filter(|(m, _)| m.status == MilestoneStatus::Open)
            .fold(U256::ZERO, |sum, (_, spec)| sum.saturating_add(spec.amount))
    }

    /// Whether every milestone reached a final state.
    pub fn all_final(&self) -> bool {
        self.milestones.iter().all(|m| m.status.is_final())
    }

    /// Folds one event of this agreement into the state. `timestamp` is its block's time.
    /// `Withdrawn` carries no agreement id and leaves it unchanged.
    pub fn apply(&mut self, event: &Ev, timestamp: u64) -> Result<(), Inconsistent> {
        match event {
            Ev::AgreementCreated(_) | Ev::AgreementRevoked(_) => {
                return Err(self.bad(event, "the agreement already exists"));
            }
            Ev::MilestonesFunded(e) => {
                if self.funded_count as usize != to_usize(e.firstMilestone) {
                    return Err(self.bad(event, "funding is not the next milestone"));
                }
                self.funded_count = self.funded_count.saturating_add(to_usize(e.count) as u8);
                self.funded += e.amount;
            }
            Ev::DeliverableSubmitted(e) => {
                let m = self.milestone(event, e.milestone)?;
                m.status = MilestoneStatus::Submitted;
                m.since = timestamp;
                m.content_hash = Some(e.contentHash);
                m.uri = Some(e.uri.clone());
            }
            Ev::RevisionRequested(e) => {
                let m = self.milestone(event, e.milestone)?;
                m.status = MilestoneStatus::RevisionRequested;
                m.since = timestamp;
                m.revisions = m.revisions.saturating_add(1);
            }
            Ev::DisputeOpened(e) => {
                let m = self.milestone(event, e.milestone)?;
                m.status = MilestoneStatus::Disputed;
                m.since = timestamp;
            }
            Ev::MilestoneApproved(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::Approved;
                self.paid_to_creator += e.amount;
            }
            Ev::MilestoneClaimed(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::Claimed;
                self.paid_to_creator += e.amount;
            }
            Ev::MilestoneReclaimed(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::Reclaimed;
                self.refunded_to_brand += e.amount;
            }
            Ev::DisputeResolved(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::Resolved;
                self.pay(e.creatorAmount, e.brandAmount, e.arbiterFee);
            }
            Ev::DisputeTimedOut(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::TimedOut;
                self.pay(e.creatorAmount, e.brandAmount, U256::ZERO);
            }
            Ev::MilestoneSettled(e) => {
                self.milestone(event, e.milestone)?.status = MilestoneStatus::Settled;
                self.pay(e.creatorAmount, e.brandAmount, U256::ZERO);
            }
            Ev::AgreementCompleted(_) => {
                if !self.all_final() {
                    return Err(self.bad(event, "a milestone is not final yet"));
                }
                // The contract's rule: `Completed` only if no termination had begun.
                self.status = if self.status == Status::Active {
                    Status::Completed
                } else {
                    Status::Terminated
                };
                // Emitted beside the milestone event that finished it: no nonce of its own.
                return Ok(());
            }
            Ev::TerminationStarted(e) => {
                let brand = self.agreement.as_ref().map(|a| a.brand);
                self.status = Status::Terminating;
                self.terminated_by = if brand == Some(e.by) { 1 } else { 2 };
                self.since = timestamp;
            }
            Ev::TerminationContested(_) => {
                self.contested = true;
                self.since = timestamp;
            }
            Ev::AgreementTerminated(e) => {
                // Every milestone never submitted (funded or not) is cancelled; delivered ones run on.
                for m in &mut self.milestones {
                    if m.status == MilestoneStatus::Open {
                        m.status = MilestoneStatus::Cancelled;
                    }
                }
                self.status = if self.all_final() { Status::Terminated } else { Status::Closing };
                self.pay(e.creatorAmount, e.brandAmount, e.arbiterFee);
            }
            Ev::SignaturesCancelled(e) => {
                let expected = self.nonce.wrapping_add(1);
                if e.nonce != expected {
                    return Err(self
                        .bad(event, &format!("new nonce {} after nonce {}", e.nonce, self.nonce)));
                }
                self.nonce = e.nonce;
                return Ok(());
            }
            Ev::PaymentDeferred(e) => {
                // Part of a payout already counted above: it only changes how it is paid.
                self.deferred += e.amount;
                return Ok(());
            }
            Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => return Ok(()),
        }
        // Every state change moves the contract's nonce by one.
        self.nonce = self.nonce.wrapping_add(1);
        Ok(())
    }

    fn pay(&mut self, creator: U256, brand: U256, fee: U256) {
        self.paid_to_creator += creator;
        self.refunded_to_brand += brand;
        self.arbiter_fees += fee;
    }

    fn milestone(&mut self, event: &Ev, index: U256) -> Result<&mut MilestoneLedger, Inconsistent> {
        let i = to_usize(index);
        let count = self.milestones.len();
        self.milestones.get_mut(i).ok_or_else(|| Inconsistent {
            event: event_name(event),
            reason: format!("milestone {i} of {count}"),
        })
    }

    fn bad(&self, event: &Ev, reason: &str) -> Inconsistent {
        Inconsistent { event: event_name(event), reason: reason.to_owned() }
    }
}

/// The agreement id an event belongs to, if it belongs to one.
pub fn agreement_of(event: &Ev) -> Option<B256> {
    Some(match event {
        Ev::AgreementCreated(e) => e.id,
        Ev::AgreementRevoked(e) => e.id,
        Ev::MilestonesFunded(e) => e.id,
        Ev::DeliverableSubmitted(e) => e.id,
        Ev::RevisionRequested(e) => e.id,
        Ev::MilestoneApproved(e) => e.id,
        Ev::MilestoneClaimed(e) => e.id,
        Ev::MilestoneReclaimed(e) => e.id,
        Ev::DisputeOpened(e) => e.id,
        Ev::DisputeResolved(e) => e.id,
        Ev::DisputeTimedOut(e) => e.id,
        Ev::MilestoneSettled(e) => e.id,
        Ev::AgreementCompleted(e) => e.id,
        Ev::TerminationStarted(e) => e.id,
        Ev::TerminationContested(e) => e.id,
        Ev::AgreementTerminated(e) => e.id,
        Ev::SignaturesCancelled(e) => e.id,
        Ev::PaymentDeferred(e) => e.id,
        Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => return None,
    })
}

/// The milestone index an event is about, if any.
pub fn milestone_of(event: &Ev) -> Option<U256> {
    Some(match event {
        Ev::DeliverableSubmitted(e) => e.milestone,
        Ev::RevisionRequested(e) => e.milestone,
        Ev::MilestoneApproved(e) => e.milestone,
        Ev::MilestoneClaimed(e) => e.milestone,
        Ev::MilestoneReclaimed(e) => e.milestone,
        Ev::DisputeOpened(e) => e.milestone,
        Ev::DisputeResolved(e) => e.milestone,
        Ev::DisputeTimedOut(e) => e.milestone,
        Ev::MilestoneSettled(e) => e.milestone,
        _ => return None,
    })
}

/// The event's name as the contract declares it.
pub fn event_name(event: &Ev) -> &'static str {
    match event {
        Ev::AgreementCreated(_) => "AgreementCreated",
        Ev::AgreementRevoked(_) => "AgreementRevoked",
        Ev::MilestonesFunded(_) => "MilestonesFunded",
        Ev::DeliverableSubmitted(_) => "DeliverableSubmitted",
        Ev::RevisionRequested(_) => "RevisionRequested",
        Ev::MilestoneApproved(_) => "MilestoneApproved",
        Ev::MilestoneClaimed(_) => "MilestoneClaimed",
        Ev::MilestoneReclaimed(_) => "MilestoneReclaimed",
        Ev::DisputeOpened(_) => "DisputeOpened",
        Ev::DisputeResolved(_) => "DisputeResolved",
        Ev::DisputeTimedOut(_) => "DisputeTimedOut",
        Ev::MilestoneSettled(_) => "MilestoneSettled",
        Ev::AgreementCompleted(_) => "AgreementCompleted",
        Ev::TerminationStarted(_) => "TerminationStarted",
        Ev::TerminationContested(_) => "TerminationContested",
        Ev::AgreementTerminated(_) => "AgreementTerminated",
        Ev::SignaturesCancelled(_) => "SignaturesCancelled",
        Ev::PaymentDeferred(_) => "PaymentDeferred",
        Ev::Withdrawn(_) => "Withdrawn",
        Ev::EIP712DomainChanged(_) => "EIP712DomainChanged",
    }
}

/// Indices and counts in the escrow are below 32; anything larger saturates (and then fails the
/// bounds checks above) rather than wrapping.
fn to_usize(value: U256) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// The account the contract's `terminatedBy` code names.
pub fn terminator(ledger: &AgreementLedger) -> Option<Address> {
    let a = ledger.agreement.as_ref()?;
    match ledger.terminated_by {
        1 => Some(a.brand),
        2 => Some(a.creator),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Milestone;
    use alloy::primitives::{address, Uint};
    use pactum_bindings::PactumEscrow as P;

    const ID: B256 = B256::repeat_byte(0x11);

    fn agreement() -> Agreement {
        Agreement {
            brand: address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            creator: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
            revisionRounds: 2,
            milestones: (1..=3u64)
                .map(|i| Milestone {
                    amount: U256::from(i * 100),
                    deadline: Uint::from(2_000_000_000u64),
                    reviewWindow: 3_600,
                })
                .collect(),
            ..Agreement::default()
        }
    }

    fn funded(first: u64, count: u64, amount: u64) -> Ev {
        Ev::MilestonesFunded(P::MilestonesFunded {
            id: ID,
            funder: Address::ZERO,
            firstMilestone: U256::from(first),
            count: U256::from(count),
            amount: U256::from(amount),
        })
    }

    fn submitted(m: u64) -> Ev {
        Ev::DeliverableSubmitted(P::DeliverableSubmitted {
            id: ID,
            milestone: U256::from(m),
            contentHash: B256::ZERO,
            uri: "ipfs://x".into(),
        })
    }

    fn terminated(creator: u64, brand: u64) -> Ev {
        Ev::AgreementTerminated(P::AgreementTerminated {
            id: ID,
            kind: 0,
            creatorAmount: U256::from(creator),
            brandAmount: U256::from(brand),
            arbiterFee: U256::ZERO,
        })
    }

    fn statuses(l: &AgreementLedger) -> Vec<MilestoneStatus> {
        l.milestones.iter().map(|m| m.status).collect()
    }

    /// A termination with one milestone under review and one in revision cancels only the open
    /// ones (funded or not), leaves the agreement `Closing`, and the last delivered milestone's
    /// end makes it `Terminated`, not `Completed`. The nonce follows every state change.
    #[test]
    fn termination_leaves_delivered_work_running() {
        use MilestoneStatus::*;
        let mut l = AgreementLedger::created(agreement());
        l.apply(&funded(0, 2, 300), 1).expect("fund");
        l.apply(&submitted(0), 2).expect("submit");
        l.apply(&submitted(1), 3).expect("submit");
        l.apply(
            &Ev::RevisionRequested(P::RevisionRequested {
                id: ID,
                milestone: U256::from(1),
                reasonHash: B256::ZERO,
            }),
            4,
        )
        .expect("revision");
        assert_eq!(l.milestones[1].revisions, 1);
        assert_eq!(l.unearned(), U256::ZERO, "nothing funded is still open");
        l.apply(
            &Ev::TerminationStarted(P::TerminationStarted {
                id: ID,
                by: agreement().brand,
                reasonHash: B256::ZERO,
                contestDeadline: U256::from(10),
            }),
            5,
        )
        .expect("start");
        assert_eq!(l.status, Status::Terminating);
        l.apply(&terminated(0, 0), 6).expect("end");
        assert_eq!(l.status, Status::Closing);
        assert_eq!(statuses(&l), vec![Submitted, RevisionRequested, Cancelled]);
        assert_eq!(l.nonce, 6);

        // The creator's delivered work stays claimable; the last one finishing ends it.
        l.apply(
            &Ev::MilestoneClaimed(P::MilestoneClaimed {
                id: ID,
                milestone: U256::ZERO,
                amount: U256::from(100),
            }),
            7,
        )
        .expect("claim");
        // A completion while a milestone still runs does not fit.
        let done = Ev::AgreementCompleted(P::AgreementCompleted { id: ID });
        assert!(l.apply(&done, 7).is_err());
        l.apply(
            &Ev::MilestoneApproved(P::MilestoneApproved {
                id: ID,
                milestone: U256::from(1),
                amount: U256::from(200),
            }),
            8,
        )
        .expect("approve");
        l.apply(&done, 8).expect("completed");
        assert_eq!(l.status, Status::Terminated);
        assert_eq!(l.nonce, 8);
        assert_eq!(l.paid_to_creator, U256::from(300));
        assert_eq!(l.held(), U256::ZERO);
    }

    /// Without delivered work a termination ends the agreement at once, and its split covers only
    /// the funded open milestones; the money summary balances.
    #[test]
    fn termination_of_open_work_is_terminated_and_balances() {
        let mut l = AgreementLedger::created(agreement());
        l.apply(&funded(0, 2, 300), 1).expect("fund");
        assert_eq!(l.unearned(), U256::from(300));
        l.apply(&terminated(120, 180), 2).expect("end");
        assert_eq!(l.status, Status::Terminated);
        assert!(l.milestones.iter().all(|m| m.status == MilestoneStatus::Cancelled));
        assert_eq!(l.held(), U256::ZERO);
        assert_eq!(l.packed_milestones(), 0xAAA);
    }

    /// An untouched agreement whose last milestone finishes while active is `Completed`.
    #[test]
    fn completion_while_active_is_completed() {
        let mut a = agreement();
        a.milestones.truncate(1);
        let mut l = AgreementLedger::created(a);
        l.apply(&funded(0, 1, 100), 1).expect("fund");
        l.apply(
            &Ev::MilestoneApproved(P::MilestoneApproved {
                id: ID,
                milestone: U256::ZERO,
                amount: U256::from(100),
            }),
            2,
        )
        .expect("approve");
        l.apply(&Ev::AgreementCompleted(P::AgreementCompleted { id: ID }), 2).expect("done");
        assert_eq!(l.status, Status::Completed);
    }

    /// `SignaturesCancelled` carries the new nonce, which must be the next one; a deferred payment
    /// belongs to its agreement and changes neither the nonce nor what it holds.
    #[test]
    fn cancelled_signatures_and_deferred_payments() {
        let mut l = AgreementLedger::created(agreement());
        l.apply(&funded(0, 1, 100), 1).expect("fund");
        let cancel = |nonce| {
            Ev::SignaturesCancelled(P::SignaturesCancelled { id: ID, by: Address::ZERO, nonce })
        };
        assert!(l.apply(&cancel(5), 2).is_err());
        l.apply(&cancel(2), 2).expect("cancel");
        assert_eq!(l.nonce, 2);
        let deferred = Ev::PaymentDeferred(P::PaymentDeferred {
            id: ID,
            token: Address::ZERO,
            account: Address::ZERO,
            amount: U256::from(7),
        });
        assert_eq!(agreement_of(&deferred), Some(ID));
        l.apply(&deferred, 3).expect("deferred");
        assert_eq!((l.nonce, l.deferred, l.held()), (2, U256::from(7), U256::from(100)));
    }
}
