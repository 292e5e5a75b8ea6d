//! The notification catalogue: every type a party can hear, and which escrow event each reports.
//!
//! One list, read by the indexer (which publishes an event's notification with the event), the
//! API (which documents each type and lets endpoints filter by it) and the reminder planner, so a
//! type cannot be published that the catalogue does not describe, nor filtered on that never comes.

use pactum_bindings::PactumEscrow::PactumEscrowEvents as Ev;

/// What one notification type means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The type, as in payloads and endpoint filters (`deliverable.submitted`).
    pub name: &'static str,
    /// The escrow event it reports (`None`: a reminder or a notice).
    pub event: Option<&'static str>,
    /// What it tells the reader, in a sentence.
    pub summary: &'static str,
}

const fn ev(name: &'static str, event: &'static str, summary: &'static str) -> Kind {
    Kind { name, event: Some(event), summary }
}

/// A window is closing: sent once per deadline and lead time.
pub const REMINDER: &str = "reminder.due";
/// A reorg removed the event an earlier notification reported.
pub const RETRACTED: &str = "notification.retracted";
/// A webhook endpoint was disabled after failing for too long (sent to its owner).
pub const ENDPOINT_DISABLED: &str = "endpoint.disabled";

/// Every notification type.
pub const CATALOGUE: [Kind; 22] = [
    ev("agreement.created", "AgreementCreated", "Both signatures are on chain: the agreement exists."),
    ev("agreement.revoked", "AgreementRevoked", "A party revoked its signature before the agreement was created."),
    ev("milestones.funded", "MilestonesFunded", "The brand escrowed money for one or more milestones."),
    ev("deliverable.submitted", "DeliverableSubmitted", "The creator submitted a deliverable; the brand's review window runs, and silence pays it when it ends."),
    ev("revision.requested", "RevisionRequested", "The brand asked for a revision of a deliverable."),
    ev("milestone.approved", "MilestoneApproved", "The brand approved a milestone; the creator was paid."),
    ev("milestone.claimed", "MilestoneClaimed", "The review window passed in silence; the creator claimed the milestone."),
    ev("milestone.reclaimed", "MilestoneReclaimed", "The delivery deadline passed with nothing submitted; the brand took its money back."),
    ev("dispute.opened", "DisputeOpened", "A milestone is in dispute; the arbiter's window runs."),
    ev("dispute.resolved", "DisputeResolved", "The arbiter ruled on a dispute and the milestone was split as ruled."),
    ev("dispute.timed_out", "DisputeTimedOut", "The arbiter did not rule in time; the milestone was split evenly."),
    ev("milestone.settled", "MilestoneSettled", "Both parties signed a split of a milestone and it was paid so."),
    ev("agreement.completed", "AgreementCompleted", "Every milestone reached its end."),
    ev("termination.started", "TerminationStarted", "A party ended the agreement for cause; the other may contest until the contest window ends."),
    ev("termination.contested", "TerminationContested", "The termination was contested; the arbiter decides."),
    ev("agreement.terminated", "AgreementTerminated", "The termination ended and the unearned escrow went as decided."),
    ev("signatures.cancelled", "SignaturesCancelled", "A party cancelled every signature it gave for an agreement so far."),
    ev("payment.deferred", "PaymentDeferred", "A transfer failed and the amount waits in the escrow for its owner to withdraw."),
    ev("payment.withdrawn", "Withdrawn", "An account withdrew money the escrow held for it."),
    Kind { name: REMINDER, event: None, summary: "A window closes soon: a review, a delivery deadline, a contest or an arbitration window." },
    Kind { name: RETRACTED, event: None, summary: "A chain reorganisation removed the event an earlier notification reported; disregard it." },
    Kind { name: ENDPOINT_DISABLED, event: None, summary: "One of your webhook endpoints failed for too long and was disabled." },
];

/// The notification type of an escrow event (`None`: the event tells no party anything).
pub fn kind_of(event: &Ev) -> Option<&'static str> {
    let name = crate::ledger::event_name(event);
    CATALOGUE.iter().find(|k| k.event == Some(name)).map(|k| k.name)
}

/// Whether `name` is a notification type.
pub fn is_kind(name: &str) -> bool {
    CATALOGUE.iter().any(|k| k.name == name)
}

/// The windows a reminder warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// A submitted deliverable's review window: silence pays the creator when it ends.
    Review,
    /// An open milestone's delivery deadline: after it the brand may take its money back.
    Delivery,
    /// A termination's contest window.
    Contest,
    /// A dispute's (or contested termination's) arbitration window.
    Arbitration,
}

impl Window {
    /// The name in reminders' payloads.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Review => "review_window",
            Self::Delivery => "delivery_deadline",
            Self::Contest => "contest_window",
            Self::Arbitration => "arbitration_window",
        }
    }
}

/// Default reminder lead times: 48 h and 24 h before a window ends.
pub const DEFAULT_REMINDER_LEADS: [u32; 2] = [48 * 3600, 24 * 3600];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_event_but_the_domain_change_has_one() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        let events: Vec<_> = CATALOGUE.iter().filter_map(|k| k.event).collect();
        // The escrow's events (the ABI's), less EIP712DomainChanged, which concerns no party.
        let abi = pactum_bindings::PactumEscrow::PactumEscrowEvents::SELECTORS.len();
        assert_eq!(events.len(), abi - 1);
    }
}
