//! The performance contract's refusals in words: a simulated call it would revert comes back as
//! its custom error, decoded here into a stable code and a sentence, as for the escrow.

use alloy::primitives::U256;
use pactum_bindings::PactumPerformance::PactumPerformanceErrors as E;

const STATUSES: [&str; 5] = ["not created", "active", "closing", "ended", "revoked"];
const PERIOD_STATUSES: [&str; 6] =
    ["unreported", "locked", "disputed", "paid", "resolved", "timed out"];

/// The contract's refusal, in words.
pub(super) fn explain(e: &E) -> (&'static str, String) {
    let at = |t: U256| crate::time::rfc3339(t.saturating_to::<u64>());
    let name =
        |names: &[&'static str], i: u8| names.get(usize::from(i)).copied().unwrap_or("unknown");
    match e {
        E::Performance_InvalidParties(_) => {
            ("invalid_parties", "the parties overlap where they must not".into())
        }
        E::Performance_InvalidToken(x) => {
            ("invalid_token", format!("{} is not a token with code", x.token))
        }
        E::Performance_InvalidTiers(_) => ("invalid_tiers", "the tiers are not valid".into()),
        E::Performance_InvalidWindow(x) => {
            ("invalid_window", format!("a window of {} s is out of bounds", x.window))
        }
        E::Performance_InvalidTerm(_) => {
            ("invalid_term", "the agreement's end is in the past or too far".into())
        }
        E::Performance_InvalidFee(x) => {
            ("invalid_fee", format!("a fee of {} bps is above the cap", x.feeBps))
        }
        E::Performance_SignatureExpired(x) => {
            ("signature_expired", format!("the signatures expired at {}", at(x.deadline)))
        }
        E::Performance_InvalidSignature(x) => {
            ("invalid_signature", format!("the signature is not {}'s", x.signer))
        }
        E::Performance_AlreadyExists(_) => {
            ("already_exists", "this agreement was already created or revoked".into())
        }
        E::Performance_WrongStatus(x) => (
            "wrong_status",
            format!("the agreement is {}; this is not possible now", name(&STATUSES, x.status)),
        ),
        E::Performance_Unauthorized(x) => {
            ("not_your_action", format!("{} may not take this action on this agreement", x.caller))
        }
        E::Performance_ZeroAmount(_) => ("invalid_amount", "the amount is zero".into()),
        E::Performance_FundingShortfall(x) => {
            ("funding_shortfall", format!("the token delivered {} of {}", x.received, x.expected))
        }
        E::Performance_WrongAgreement(x) => {
            ("wrong_agreement", format!("the report names agreement {}", x.named))
        }
        E::Performance_PeriodNotReportable(x) => (
            "period_not_reportable",
            format!("period {} is beyond the agreement or after its termination", x.period),
        ),
        E::Performance_PeriodNotOver(x) => {
            ("period_not_over", format!("period {} is not over until {}", x.period, at(x.endsAt)))
        }
        E::Performance_ReportWindowClosed(x) => (
            "report_window_closed",
            format!("the report window of period {} closed at {}", x.period, at(x.closedAt)),
        ),
        E::Performance_StaleReport(x) => (
            "stale_report",
            format!("version {} is not above the accepted version {}", x.version, x.current),
        ),
        E::Performance_CorrectionRaises(_) => {
            ("correction_raises", "a correction may only lower units and revenue".into())
        }
        E::Performance_WrongPeriodStatus(x) => (
            "wrong_period_status",
            format!(
                "period {} is {}; this is not possible now",
                x.period,
                name(&PERIOD_STATUSES, x.status)
            ),
        ),
        E::Performance_Locked(x) => {
            ("locked", format!("the period's pay is locked until {}", at(x.until)))
        }
        E::Performance_LockEnded(x) => (
            "lock_ended",
            format!(
                "the period's lock ended at {}: it can no longer be corrected or disputed",
                at(x.endedAt)
            ),
        ),
        E::Performance_NoArbiter(_) => {
            ("no_arbiter", "the agreement names no arbiter, so reports cannot be disputed".into())
        }
        E::Performance_InvalidBps(x) => {
            ("invalid_bps", format!("{} basis points is above 10000", x.bps))
        }
        E::Performance_ArbitrationWindowOpen(x) => {
            ("arbitration_window_open", format!("the arbiter may rule until {}", at(x.until)))
        }
        E::Performance_ArbitrationWindowClosed(x) => (
            "arbitration_window_closed",
            format!("the arbiter's window closed at {}", at(x.closedAt)),
        ),
        E::Performance_ReportsStillDue(x) => {
            ("reports_still_due", format!("reports may still come until {}", at(x.until)))
        }
        E::Performance_BudgetTooLarge(_) => {
            ("invalid_amount", "the budget would exceed 2^128 - 1".into())
        }
        E::Performance_Over(x) => {
            ("agreement_over", format!("the agreement ended at {}: no more top-ups", at(x.endedAt)))
        }
        E::Performance_AlreadyTerminated(_) => {
            ("already_terminated", "the agreement was already ended for cause".into())
        }
        E::Escrow_NothingToWithdraw(_) => {
            ("nothing_to_withdraw", "nothing is held for the caller in this token".into())
        }
        E::Escrow_ZeroRecipient(_) => {
            ("invalid_recipient", "the recipient is the zero address".into())
        }
        E::Escrow_RecipientIsEscrow(_) => {
            ("invalid_recipient", "the recipient is the contract itself".into())
        }
        _ => ("contract_refused", "the performance contract would refuse this".into()),
    }
}
