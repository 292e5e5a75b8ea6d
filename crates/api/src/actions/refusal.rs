//! The escrow's refusals in words: a simulated call the escrow would revert comes back as its
//! custom error, decoded here into a stable code and a sentence naming the times, amounts and
//! states involved, so a client shows why without knowing the contract's ABI.

use alloy::primitives::U256;
use pactum_bindings::PactumEscrow::PactumEscrowErrors as E;
use pactum_core::ledger::Status;

/// The escrow's refusal, in words.
pub(super) fn explain(e: &E) -> (&'static str, String) {
    let at = |t: U256| crate::time::rfc3339(t.saturating_to::<u64>());
    match e {
        E::Escrow_ReviewWindowOpen(x) => {
            ("review_window_open", format!("the review window is still open until {}", at(x.until)))
        }
        E::Escrow_ReviewWindowClosed(x) => {
            ("review_window_closed", format!("the review window closed at {}", at(x.closedAt)))
        }
        E::Escrow_DeadlinePassed(x) => {
            ("deadline_passed", format!("the delivery deadline passed at {}", at(x.deadline)))
        }
        E::Escrow_DeadlineNotPassed(x) => (
            "deadline_not_passed",
            format!("the delivery deadline is {}; it has not passed", at(x.deadline)),
        ),
        E::Escrow_ArbitrationWindowOpen(x) => {
            ("arbitration_window_open", format!("the arbiter may rule until {}", at(x.until)))
        }
        E::Escrow_ContestWindowOpen(x) => {
            ("contest_window_open", format!("the other party may contest until {}", at(x.until)))
        }
        E::Escrow_ContestWindowClosed(x) => {
            ("contest_window_closed", format!("the contest window closed at {}", at(x.closedAt)))
        }
        E::Escrow_SignatureExpired(x) => {
            ("signature_expired", format!("the signatures expired at {}", at(x.deadline)))
        }
        E::Escrow_Unauthorized(x) => {
            ("not_your_action", format!("{} may not take this action on this agreement", x.caller))
        }
        E::Escrow_WrongStatus(x) => (
            "wrong_status",
            format!("the agreement is {}; this action is not possible now", status_name(x.status)),
        ),
        E::Escrow_WrongMilestoneStatus(x) => (
            "wrong_milestone_status",
            format!(
                "milestone {} is {}; this action is not possible now",
                x.milestone,
                milestone_status_name(x.status)
            ),
        ),
        E::Escrow_InvalidMilestone(x) => (
            "invalid_milestone",
            format!("milestone {} does not exist (the agreement has {})", x.milestone, x.count),
        ),
        E::Escrow_NotFunded(x) => (
            "not_funded",
            format!("milestone {} is not funded yet (funded: {})", x.milestone, x.fundedCount),
        ),
        E::Escrow_InvalidFundCount(x) => (
            "invalid_fund_count",
            format!("cannot fund {} milestones; {} remain", x.count, x.remaining),
        ),
        E::Escrow_WrongValue(x) => {
            ("wrong_value", format!("send exactly {} wei, not {}", x.expected, x.received))
        }
        E::Escrow_FundingShortfall(x) => {
            ("funding_shortfall", format!("the token delivered {} of {}", x.received, x.expected))
        }
        E::Escrow_NoArbiter(_) => ("no_arbiter", "the agreement has no arbiter".to_owned()),
        E::Escrow_InvalidBps(x) => {
            ("invalid_bps", format!("{} basis points is above 10000", x.bps))
        }
        E::Escrow_SplitTooLarge(x) => (
            "split_too_large",
            format!("{} is more than the {} available", x.creatorAmount, x.available),
        ),
        E::Escrow_NothingToWithdraw(x) => (
            "nothing_to_withdraw",
            format!("{} has nothing to withdraw in token {}", x.account, x.token),
        ),
        E::Escrow_InvalidSignature(x) => (
            "invalid_signature",
            format!("the signature of {} is not valid for this split", x.signer),
        ),
        E::Escrow_ZeroRecipient(_) => {
            ("zero_recipient", "withdraw to a non-zero address".to_owned())
        }
        E::Escrow_RecipientIsEscrow(_) => {
            ("recipient_is_escrow", "withdraw to an address other than the escrow".to_owned())
        }
        E::Escrow_ArbitrationWindowClosed(x) => (
            "arbitration_window_closed",
            format!(
                "the arbiter's window to rule closed at {}; either party may now split it evenly",
                at(x.closedAt)
            ),
        ),
        E::Escrow_NoRevisionsLeft(x) => (
            "no_revisions_left",
            format!(
                "no revision rounds left for milestone {}: the agreement allows {} and all are used; \
                 approve it or dispute it",
                x.milestone, x.rounds
            ),
        ),
        E::Escrow_StaleNonce(x) => (
            "stale_nonce",
            format!(
                "the agreement changed since this was signed (nonce {}, now {}): both parties \
                 must sign again",
                x.signed, x.current
            ),
        ),
        E::Escrow_WrongFirstMilestone(x) => (
            "wrong_first_milestone",
            format!(
                "funding must start at milestone {} (the next unfunded one), not {}",
                x.next, x.first
            ),
        ),
        E::Escrow_InvalidWindow(x) => (
            "invalid_window",
            format!("a window of {} seconds is outside one hour to 90 days", x.window),
        ),
        E::Escrow_InvalidDeadline(x) => (
            "invalid_deadline",
            format!(
                "milestone {}'s deadline {} is past or more than five years away",
                x.milestone,
                at(x.deadline)
            ),
        ),
        E::Escrow_TooManyRevisionRounds(x) => (
            "too_many_revision_rounds",
            format!("{} revision rounds is more than the 10 allowed", x.rounds),
        ),
        E::Escrow_InvalidFee(x) => (
            "invalid_fee",
            format!(
                "an arbiter fee of {} basis points is not allowed (at most 2000, and 0 without an \
                 arbiter)",
                x.feeBps
            ),
        ),
        E::Escrow_AlreadyExists(x) => {
            ("already_exists", format!("agreement {} exists already or was revoked", x.id))
        }
        other => ("escrow_refused", format!("the escrow would refuse this: {other:?}")),
    }
}

fn milestone_status_name(s: u8) -> &'static str {
    pactum_core::ledger::MilestoneStatus::ALL
        .into_iter()
        .find(|m| *m as u8 == s)
        .map_or("in an unknown state", |m| m.as_str())
}

fn status_name(s: u8) -> &'static str {
    Status::ALL.into_iter().find(|x| *x as u8 == s).map_or("unknown", |x| x.as_str())
}
