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
        }
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
        }
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
            milestones,
            funded: U256::ZERO,
            paid_to_creator: U256::ZERO,
            refunded_to_brand: U256::ZERO,
            arbiter_fees: U256::ZERO,
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

    /// Folds one event of this agreement into the state. `timestamp` is its block's time.
    /// Events that carry no agreement id (`PaymentDeferred`, `Withdrawn`) leave it unchanged.
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
            Ev::AgreementCompleted(_) => self.status = Status::Completed,
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
                self.status = Status::Terminated;
                self.pay(e.creatorAmount, e.brandAmount, e.arbiterFee);
            }
            Ev::PaymentDeferred(_) | Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => {}
        }
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
        Ev::PaymentDeferred(_) | Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => return None,
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
