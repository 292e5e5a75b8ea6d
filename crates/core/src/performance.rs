//! Performance agreements (affiliate, CPA, revenue share): the EIP-712 rules of
//! `PactumPerformance`, the pay rule its reports follow, and the state its events fold into.
//!
//! The contract is a second singleton beside the escrow, with its own EIP-712 domain
//! (`"Pactum Performance"`, `"1"`): a signature for one can never be replayed on the other. Like
//! [`crate::ledger`] for the escrow, [`PerformanceLedger`] rebuilds an agreement's state from its
//! events alone, so the indexer, the API and an auditor's verification derive the same state from
//! the same log; a test checks the fold against the contract's own views after every action.

use std::collections::BTreeMap;

use alloy::{
    dyn_abi::TypedData,
    primitives::{Address, B256, U256, U512},
    sol_types::{eip712_domain, Eip712Domain, SolStruct},
};
use pactum_bindings::PactumPerformance::PactumPerformanceEvents as Ev;
pub use pactum_bindings::PactumPerformance::{PerformanceAgreement, Report, Tier};

use crate::{Error, Result};

/// The EIP-712 domain name the performance contract was deployed with.
pub const DOMAIN_NAME: &str = "Pactum Performance";
/// Its EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";
/// 100% in basis points.
pub const BPS: u64 = 10_000;

/// The EIP-712 domain of the performance contract at `contract` on chain `chain_id`.
pub fn domain(chain_id: u64, contract: Address) -> Eip712Domain {
    eip712_domain! {
        name: DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: contract,
    }
}

/// The agreement's id: the EIP-712 digest brand and partner sign, which the contract stores.
pub fn agreement_id(agreement: &PerformanceAgreement, domain: &Eip712Domain) -> B256 {
    agreement.eip712_signing_hash(domain)
}

/// The digest the attester signs for a report.
pub fn report_digest(report: &Report, domain: &Eip712Domain) -> B256 {
    report.eip712_signing_hash(domain)
}

/// A `0x` hex quantity, as alloy writes integers wider than 32 bits in typed data (a JSON number
/// would lose precision in a JavaScript wallet above 2^53, and cannot hold a `uint128` at all).
fn hex(v: impl std::fmt::LowerHex) -> serde_json::Value {
    serde_json::Value::String(format!("{v:#x}"))
}

/// Typed data of `S` with `message` built here: alloy's `TypedData::from_struct` serializes the
/// struct with serde, which writes `uint128` fields as JSON numbers and panics on values above
/// 2^64.
fn typed<S: SolStruct>(domain: &Eip712Domain, message: serde_json::Value) -> Result<TypedData> {
    let mut resolver = alloy::dyn_abi::Resolver::from_struct::<S>();
    resolver.ingest_string(domain.encode_type()).map_err(|e| Error::TypedData(e.to_string()))?;
    Ok(TypedData { domain: domain.clone(), resolver, primary_type: S::NAME.into(), message })
}

fn agreement_message(a: &PerformanceAgreement) -> serde_json::Value {
    serde_json::json!({
        "brand": a.brand, "partner": a.partner, "attester": a.attester, "arbiter": a.arbiter,
        "token": a.token, "termsHash": a.termsHash, "metric": a.metric,
        "arbiterFeeBps": a.arbiterFeeBps, "start": hex(a.start.to::<u64>()), "period": a.period,
        "periods": a.periods, "reportWindow": a.reportWindow, "lockWindow": a.lockWindow,
        "arbitrationWindow": a.arbitrationWindow, "deadline": hex(a.deadline.to::<u64>()),
        "salt": hex(a.salt),
        "tiers": a.tiers.iter().map(|t| serde_json::json!({
            "fromUnits": hex(t.fromUnits), "rate": hex(t.rate),
        })).collect::<Vec<_>>(),
    })
}

/// The agreement as `eth_signTypedData_v4` JSON; signing it yields a signature over its id.
pub fn agreement_typed_data(
    agreement: &PerformanceAgreement,
    domain: &Eip712Domain,
) -> Result<serde_json::Value> {
    let typed = typed::<PerformanceAgreement>(domain, agreement_message(agreement))?;
    serde_json::to_value(typed).map_err(|e| Error::TypedData(e.to_string()))
}

/// The report as `eth_signTypedData_v4` JSON; signing it yields a signature over [`report_digest`].
pub fn report_typed_data(report: &Report, domain: &Eip712Domain) -> Result<serde_json::Value> {
    let message = serde_json::json!({
        "agreementId": report.agreementId, "period": report.period, "version": report.version,
        "units": hex(report.units), "revenue": hex(report.revenue), "detailRoot": report.detailRoot,
    });
    let typed = typed::<Report>(domain, message)?;
    serde_json::to_value(typed).map_err(|e| Error::TypedData(e.to_string()))
}

/// What a performance agreement pays for (the contract's `Metric`, in its order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Per conversion: the tier rate is an amount per unit.
    Conversions,
    /// Per qualified lead: the tier rate is an amount per unit.
    QualifiedLeads,
    /// A share of revenue: the tier rate is basis points.
    Revenue,
}

impl Metric {
    /// The contract's code.
    pub fn code(self) -> u8 {
        match self {
            Self::Conversions => 0,
            Self::QualifiedLeads => 1,
            Self::Revenue => 2,
        }
    }

    /// From the contract's code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Conversions),
            1 => Some(Self::QualifiedLeads),
            2 => Some(Self::Revenue),
            _ => None,
        }
    }
}

/// The sum over tiers of (units in the tier) × rate: `PerformanceMath.weightedUnits`. Tiers are
/// marginal and counted within the period; they start at 0 and ascend (the contract checks).
pub fn weighted_units(tiers: &[Tier], units: U256) -> U512 {
    let mut weighted = U512::ZERO;
    for (i, tier) in tiers.iter().enumerate() {
        let from = U256::from(tier.fromUnits);
        if units <= from {
            break;
        }
        let upper = match tiers.get(i + 1) {
            Some(next) => units.min(U256::from(next.fromUnits)),
            None => units,
        };
        weighted += U512::from(upper - from) * U512::from(tier.rate);
    }
    weighted
}

/// The pay a report of `units` and `revenue` earns before the budget cap: `PerformanceMath.pay`.
/// Per unit: the weighted units; revenue share: revenue × weighted / (units × 10,000), rounded
/// down; zero units earn nothing. `None` when the value does not fit 256 bits (the contract's
/// checked arithmetic reverts there).
pub fn pay(metric: Metric, tiers: &[Tier], units: U256, revenue: U256) -> Option<U256> {
    let weighted = weighted_units(tiers, units);
    let value = match metric {
        Metric::Conversions | Metric::QualifiedLeads => weighted,
        Metric::Revenue => {
            if units.is_zero() {
                return Some(U256::ZERO);
            }
            U512::from(revenue) * weighted / (U512::from(units) * U512::from(BPS))
        }
    };
    U256::checked_from_limbs_slice(value.as_limbs())
}

/// `start + period × (index + 1)`: when period `index` ends.
pub fn period_end(agreement: &PerformanceAgreement, index: u64) -> u64 {
    period_start(agreement, index.saturating_add(1))
}

/// When period `index` starts.
pub fn period_start(agreement: &PerformanceAgreement, index: u64) -> u64 {
    agreement.start.to::<u64>().saturating_add(u64::from(agreement.period).saturating_mul(index))
}

/// The agreement's end date.
pub fn end(agreement: &PerformanceAgreement) -> u64 {
    period_start(agreement, u64::from(agreement.periods))
}

/// Where a performance agreement is (the contract's `PerformanceStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not created.
    #[default]
    None,
    /// Running.
    Active,
    /// No more reports; locked or disputed periods run to their end.
    Closing,
    /// Over; nothing changes.
    Ended,
    /// Revoked before creation.
    Revoked,
}

/// Where a period is (the contract's `PeriodStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// Not reported.
    #[default]
    Unreported,
    /// Reported; pay locked.
    Locked,
    /// Disputed by the brand.
    Disputed,
    /// Paid to the partner after the lock.
    Paid,
    /// Split by the arbiter.
    Resolved,
    /// Split evenly after the arbiter's window.
    TimedOut,
}

/// One period as its events left it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodLedger {
    /// Where it is.
    pub status: PeriodStatus,
    /// The latest report's version.
    pub version: u32,
    /// Units of the first report (a reversal rate's base).
    pub first_units: U256,
    /// Units of the latest report.
    pub units: U256,
    /// Revenue of the first report.
    pub first_revenue: U256,
    /// Revenue of the latest report.
    pub revenue: U256,
    /// The latest report's detail root.
    pub detail_root: B256,
    /// Pay the period holds (what the partner gets, or got, if nothing is disputed).
    pub pay: U256,
    /// Pay the first report reserved.
    pub first_pay: U256,
    /// When the lock ends.
    pub locked_until: u64,
    /// Block time of the first report.
    pub reported_at: u64,
    /// Block time it was disputed (0: never).
    pub disputed_at: u64,
    /// Block time it reached a final status (0: not yet).
    pub settled_at: u64,
    /// What the partner received from it.
    pub partner_paid: U256,
    /// The arbiter's fee from it.
    pub arbiter_fee: U256,
    /// What a ruling or timeout returned (to the budget, or to the brand once closing).
    pub returned: U256,
}

/// A performance agreement's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceLedger {
    /// The signed agreement (absent when revoked before creation).
    pub agreement: Option<PerformanceAgreement>,
    /// Where it is.
    pub status: Status,
    /// Unreserved budget.
    pub budget: U256,
    /// Pay reserved by locked and disputed periods.
    pub reserved: U256,
    /// Everything funded into it (top-ups included).
    pub funded: U256,
    /// Paid to the partner.
    pub partner_paid: U256,
    /// Paid to the arbiter.
    pub arbiter_paid: U256,
    /// Returned to the brand.
    pub brand_returned: U256,
    /// 1: the brand ended it for cause; 2: the partner; 0: neither.
    pub terminated_by: u8,
    /// Block time of the termination (0: none).
    pub terminated_at: u64,
    /// Periods by index.
    pub periods: BTreeMap<u64, PeriodLedger>,
}

/// Events that do not fit the state they are applied to.
#[derive(Debug, thiserror::Error)]
#[error("performance event {event} does not fit its agreement: {reason}")]
pub struct Inconsistent {
    /// The event's name.
    pub event: &'static str,
    /// Why.
    pub reason: String,
}

/// The agreement an event belongs to (none for withdrawals and the domain event).
pub fn agreement_of(event: &Ev) -> Option<B256> {
    Some(match event {
        Ev::PerformanceAgreementCreated(e) => e.id,
        Ev::PerformanceAgreementRevoked(e) => e.id,
        Ev::BudgetFunded(e) => e.id,
        Ev::ReportAccepted(e) => e.id,
        Ev::PeriodDisputed(e) => e.id,
        Ev::PeriodPaid(e) => e.id,
        Ev::PeriodResolved(e) => e.id,
        Ev::PeriodTimedOut(e) => e.id,
        Ev::PerformanceAgreementTerminated(e) => e.id,
        Ev::PerformanceAgreementClosed(e) => e.id,
        Ev::BudgetReturned(e) => e.id,
        Ev::PerformanceAgreementEnded(e) => e.id,
        Ev::PaymentDeferred(e) => e.id,
        Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => return None,
    })
}

/// The period an event names.
pub fn period_of(event: &Ev) -> Option<U256> {
    match event {
        Ev::ReportAccepted(e) => Some(e.period),
        Ev::PeriodDisputed(e) => Some(e.period),
        Ev::PeriodPaid(e) => Some(e.period),
        Ev::PeriodResolved(e) => Some(e.period),
        Ev::PeriodTimedOut(e) => Some(e.period),
        _ => None,
    }
}

/// The event's name, as stored.
pub fn event_name(event: &Ev) -> &'static str {
    match event {
        Ev::PerformanceAgreementCreated(_) => "PerformanceAgreementCreated",
        Ev::PerformanceAgreementRevoked(_) => "PerformanceAgreementRevoked",
        Ev::BudgetFunded(_) => "BudgetFunded",
        Ev::ReportAccepted(_) => "ReportAccepted",
        Ev::PeriodDisputed(_) => "PeriodDisputed",
        Ev::PeriodPaid(_) => "PeriodPaid",
        Ev::PeriodResolved(_) => "PeriodResolved",
        Ev::PeriodTimedOut(_) => "PeriodTimedOut",
        Ev::PerformanceAgreementTerminated(_) => "PerformanceAgreementTerminated",
        Ev::PerformanceAgreementClosed(_) => "PerformanceAgreementClosed",
        Ev::BudgetReturned(_) => "BudgetReturned",
        Ev::PerformanceAgreementEnded(_) => "PerformanceAgreementEnded",
        Ev::PaymentDeferred(_) => "PaymentDeferred",
        Ev::Withdrawn(_) => "Withdrawn",
        Ev::EIP712DomainChanged(_) => "EIP712DomainChanged",
    }
}

impl PerformanceLedger {
    /// Folds an agreement's events, in log order, into its state.
    pub fn fold<'a>(events: impl IntoIterator<Item = (&'a Ev, u64)>) -> Result<Self, Inconsistent> {
        let mut ledger = Self::default();
        for (event, at) in events {
            ledger.apply(event, at)?;
        }
        Ok(ledger)
    }

    /// Applies one event at block time `at`.
    pub fn apply(&mut self, event: &Ev, at: u64) -> Result<(), Inconsistent> {
        let name = event_name(event);
        let bad = |reason: String| Inconsistent { event: name, reason };
        if !matches!(event, Ev::PerformanceAgreementCreated(_) | Ev::PerformanceAgreementRevoked(_))
            && !matches!(
                event,
                Ev::PaymentDeferred(_) | Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_)
            )
            && self.status == Status::None
        {
            return Err(bad("the agreement was never created".into()));
        }
        match event {
            Ev::PerformanceAgreementCreated(e) => {
                if self.status != Status::None {
                    return Err(bad("created twice".into()));
                }
                *self = Self {
                    agreement: Some(e.agreement.clone()),
                    status: Status::Active,
                    ..Self::default()
                };
            }
            Ev::PerformanceAgreementRevoked(_) => {
                *self = Self { status: Status::Revoked, ..Self::default() };
            }
            Ev::BudgetFunded(e) => {
                self.funded += e.amount;
                self.budget = e.budget;
            }
            Ev::ReportAccepted(e) => {
                let index = index(e.period).ok_or_else(|| bad("period index".into()))?;
                let p = self.periods.entry(index).or_default();
                if e.version == 0 || e.version <= p.version {
                    return Err(bad(format!("version {} after {}", e.version, p.version)));
                }
                if p.status == PeriodStatus::Unreported {
                    p.first_units = e.units;
                    p.first_revenue = e.revenue;
                    p.first_pay = e.pay;
                    p.reported_at = at;
                    p.status = PeriodStatus::Locked;
                    self.reserved += e.pay;
                } else {
                    // Reserved falls by what the correction took off.
                    self.reserved -= p.pay.saturating_sub(e.pay);
                }
                p.version = e.version;
                p.units = e.units;
                p.revenue = e.revenue;
                p.detail_root = e.detailRoot;
                p.pay = e.pay;
                p.locked_until = e.lockedUntil.to::<u64>();
                self.budget = e.budget;
            }
            Ev::PeriodDisputed(e) => {
                let p = self.period(e.period).map_err(bad)?;
                p.status = PeriodStatus::Disputed;
                p.disputed_at = at;
            }
            Ev::PeriodPaid(e) => {
                let closing = self.status == Status::Closing;
                let p = self.period(e.period).map_err(bad)?;
                p.status = PeriodStatus::Paid;
                p.settled_at = at;
                p.partner_paid = e.amount;
                let pay = p.pay;
                self.settle(pay, U256::ZERO, closing);
                self.partner_paid += e.amount;
            }
            Ev::PeriodResolved(e) => {
                let closing = self.status == Status::Closing;
                let p = self.period(e.period).map_err(bad)?;
                p.status = PeriodStatus::Resolved;
                p.settled_at = at;
                p.partner_paid = e.partnerAmount;
                p.arbiter_fee = e.fee;
                p.returned = e.returned;
                let pay = p.pay;
                self.settle(pay, e.returned, closing);
                self.partner_paid += e.partnerAmount;
                self.arbiter_paid += e.fee;
            }
            Ev::PeriodTimedOut(e) => {
                let closing = self.status == Status::Closing;
                let p = self.period(e.period).map_err(bad)?;
                p.status = PeriodStatus::TimedOut;
                p.settled_at = at;
                p.partner_paid = e.partnerAmount;
                p.returned = e.returned;
                let pay = p.pay;
                self.settle(pay, e.returned, closing);
                self.partner_paid += e.partnerAmount;
            }
            Ev::PerformanceAgreementTerminated(e) => {
                let a = self.agreement.as_ref().ok_or_else(|| bad("no agreement".into()))?;
                self.terminated_by = if e.by == a.brand { 1 } else { 2 };
                self.terminated_at = at;
            }
            Ev::PerformanceAgreementClosed(e) => {
                self.status = Status::Closing;
                self.budget = U256::ZERO;
                self.brand_returned += e.returned;
            }
            Ev::BudgetReturned(e) => {
                // After closing: a correction's difference or a split's remainder, to the brand.
                self.brand_returned += e.amount;
            }
            Ev::PerformanceAgreementEnded(_) => self.status = Status::Ended,
            Ev::PaymentDeferred(_) | Ev::Withdrawn(_) | Ev::EIP712DomainChanged(_) => {}
        }
        Ok(())
    }

    fn period(&mut self, period: U256) -> Result<&mut PeriodLedger, String> {
        let i = index(period).ok_or("period index")?;
        self.periods.get_mut(&i).ok_or_else(|| format!("period {i} was never reported"))
    }

    /// A period left locked/disputed: its reservation is released and `back` returns to the
    /// budget (or, once closing, went to the brand through `BudgetReturned`).
    fn settle(&mut self, pay: U256, back: U256, closing: bool) {
        self.reserved = self.reserved.saturating_sub(pay);
        if !closing {
            self.budget += back;
        }
    }
}

fn index(period: U256) -> Option<u64> {
    u64::try_from(period).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers(t: &[(u128, u128)]) -> Vec<Tier> {
        t.iter().map(|&(from, rate)| Tier { fromUnits: from, rate }).collect()
    }

    #[test]
    fn marginal_tiers_within_the_period() {
        // 10 per unit up to 100, 15 above.
        let t = tiers(&[(0, 10), (100, 15)]);
        let p = |u: u64| pay(Metric::Conversions, &t, U256::from(u), U256::ZERO).unwrap();
        assert_eq!(p(0), U256::ZERO);
        assert_eq!(p(100), U256::from(1000));
        assert_eq!(p(101), U256::from(1015));
        assert_eq!(p(150), U256::from(1000 + 750));
    }

    #[test]
    fn revenue_share_spreads_revenue_over_units_and_rounds_down() {
        // 10% up to 100 sales, 15% above; 200 sales of 1,000 revenue: 100 at 10%, 100 at 15%.
        let t = tiers(&[(0, 1000), (100, 1500)]);
        let got = pay(Metric::Revenue, &t, U256::from(200), U256::from(1_000)).unwrap();
        assert_eq!(got, U256::from(125));
        assert_eq!(pay(Metric::Revenue, &t, U256::ZERO, U256::from(5)).unwrap(), U256::ZERO);
        // 3 units, revenue 10 at 10%: 10 * 3000 / 30000 = 1 (not 1.0…1 rounded up).
        let one = tiers(&[(0, 1000)]);
        assert_eq!(
            pay(Metric::Revenue, &one, U256::from(3), U256::from(10)).unwrap(),
            U256::from(1)
        );
    }

    /// The typed data a wallet signs hashes to the id the contract computes, with values past
    /// 2^64 (which alloy's own serialization cannot write) and at their maximum.
    #[test]
    fn typed_data_hashes_to_the_id_and_the_report_digest() {
        let d = domain(31_337, Address::repeat_byte(7));
        let a = PerformanceAgreement {
            brand: Address::repeat_byte(1),
            partner: Address::repeat_byte(2),
            attester: Address::repeat_byte(3),
            arbiter: Address::ZERO,
            token: Address::repeat_byte(4),
            termsHash: B256::repeat_byte(5),
            metric: 2,
            arbiterFeeBps: 250,
            start: alloy::primitives::aliases::U40::from(1_700_000_000u64),
            period: 86_400,
            periods: 12,
            reportWindow: 3_600,
            lockWindow: 7_200,
            arbitrationWindow: 3_600,
            deadline: alloy::primitives::aliases::U40::MAX,
            salt: U256::MAX,
            tiers: tiers(&[(0, u128::MAX), (u128::from(u64::MAX) + 1, 1)]),
        };
        let typed: TypedData =
            serde_json::from_value(agreement_typed_data(&a, &d).unwrap()).unwrap();
        assert_eq!(typed.eip712_signing_hash().unwrap(), agreement_id(&a, &d));
        let r = Report {
            agreementId: B256::repeat_byte(9),
            period: 3,
            version: 2,
            units: u128::MAX,
            revenue: u128::from(u64::MAX) + 5,
            detailRoot: B256::repeat_byte(8),
        };
        let typed: TypedData = serde_json::from_value(report_typed_data(&r, &d).unwrap()).unwrap();
        assert_eq!(typed.eip712_signing_hash().unwrap(), report_digest(&r, &d));
    }

    #[test]
    fn a_value_past_256_bits_is_none_not_wrapped() {
        let t = tiers(&[(0, u128::MAX)]);
        assert!(pay(Metric::Conversions, &t, U256::MAX, U256::ZERO).is_none());
    }
}
