//! A performance agreement as clients send and read it: amounts and rates as decimal strings (they
//! exceed JavaScript's safe integers), the metric by name, and the same bounds the contract checks,
//! refused here first with a stable code so nobody signs an agreement the contract would refuse.

use alloy::primitives::{aliases::U40, Address, B256, U256};
use pactum_core::performance::{Metric, PerformanceAgreement, Tier};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Bounds the contract enforces (`PactumPerformance`'s constants).
pub(crate) const MAX_TIERS: usize = 8;
pub(crate) const MAX_PERIODS: u32 = 520;
pub(crate) const MAX_FEE_BPS: u16 = 2000;
pub(crate) const MIN_WINDOW: u32 = 3_600;
pub(crate) const MAX_WINDOW: u32 = 90 * 86_400;
pub(crate) const MAX_PERIOD: u32 = 366 * 86_400;
pub(crate) const MAX_TERM: u64 = 10 * 365 * 86_400;

/// One step of the rate: units of a period from `fromUnits` up to the next tier's are paid `rate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierTerms {
    /// Where the tier starts (the first tier at 0), in units counted within the period.
    pub from_units: u64,
    /// An amount per unit in the token's smallest unit (conversions, leads), or basis points of
    /// revenue (revenue share; at most 10000), as a decimal string.
    #[schema(pattern = r"^[0-9]{1,39}$")]
    pub rate: String,
}

/// The terms of a performance agreement, as both parties sign them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerformanceTerms {
    /// The chain (default: the deployment's primary chain).
    #[serde(default)]
    pub chain_id: Option<u64>,
    /// The payer.
    #[schema(value_type = String)]
    pub brand: Address,
    /// The payee.
    #[schema(value_type = String)]
    pub partner: Address,
    /// Signs the reports: a tracking service both accept, or the brand itself; never the partner.
    #[schema(value_type = String)]
    pub attester: Address,
    /// Rules on disputed reports (omit for none: reports then cannot be disputed).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub arbiter: Option<Address>,
    /// The ERC-20 token paid in.
    #[schema(value_type = String)]
    pub token: Address,
    /// keccak256 of the off-chain terms document (default: zero).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub terms_hash: Option<B256>,
    /// What is paid for.
    #[schema(value_type = String, pattern = r"^(conversions|qualified_leads|revenue)$")]
    pub metric: Metric,
    /// The arbiter's fee in basis points of a disputed period's pay (default 0; at most 2000).
    #[serde(default)]
    pub arbiter_fee_bps: u16,
    /// Unix time period 0 starts.
    pub start: u64,
    /// Seconds per period (1 hour to 366 days).
    pub period: u32,
    /// How many periods (1 to 520); the agreement ends at start + period × periods.
    pub periods: u32,
    /// Seconds after a period's end in which its report must come (1 hour to 90 days).
    pub report_window: u32,
    /// Seconds a report's pay stays locked: correctable and disputable (1 hour to 90 days).
    pub lock_window: u32,
    /// Seconds the arbiter has to rule on a disputed period (1 hour to 90 days).
    pub arbitration_window: u32,
    /// Unix time after which the signatures can no longer create the agreement.
    pub deadline: u64,
    /// Distinguishes otherwise identical agreements (decimal string; default: random).
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,78}$")]
    pub salt: Option<String>,
    /// One to eight tiers, by ascending fromUnits, the first from 0.
    pub tiers: Vec<TierTerms>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

impl PerformanceTerms {
    /// The signed struct, after every check the contract makes at creation that does not need the
    /// chain (the deadline and the end date are measured by `now`, the chain's time).
    pub(crate) fn to_agreement(&self, now: u64) -> Result<PerformanceAgreement, ApiError> {
        let arbiter = self.arbiter.unwrap_or(Address::ZERO);
        if self.brand.is_zero() || self.partner.is_zero() || self.attester.is_zero() {
            return Err(bad("invalid_parties", "brand, partner and attester are required"));
        }
        if self.brand == self.partner {
            return Err(bad("invalid_parties", "the brand and the partner must differ"));
        }
        if self.attester == self.partner {
            return Err(bad(
                "invalid_parties",
                "the partner cannot attest its own conversions: name a tracking service, or the \
                 brand",
            ));
        }
        if !arbiter.is_zero() && [self.brand, self.partner, self.attester].contains(&arbiter) {
            return Err(bad(
                "invalid_parties",
                "the arbiter must be neither party nor the attester",
            ));
        }
        if self.token.is_zero() {
            return Err(bad("invalid_token", "performance pay is in an ERC-20 token, not ETH"));
        }
        if self.arbiter_fee_bps > MAX_FEE_BPS {
            return Err(bad("invalid_fee", format!("arbiterFeeBps is at most {MAX_FEE_BPS}")));
        }
        if self.tiers.is_empty() || self.tiers.len() > MAX_TIERS {
            return Err(bad("invalid_tiers", format!("one to {MAX_TIERS} tiers")));
        }
        let mut tiers = Vec::with_capacity(self.tiers.len());
        for (i, t) in self.tiers.iter().enumerate() {
            if i == 0 && t.from_units != 0 {
                return Err(bad("invalid_tiers", "the first tier starts at 0 units"));
            }
            if i > 0 && t.from_units <= self.tiers[i - 1].from_units {
                return Err(bad("invalid_tiers", "tiers ascend: each starts above the last"));
            }
            let rate = super::amount("a tier's rate", &t.rate)?;
            if self.metric == Metric::Revenue && rate > U256::from(10_000) {
                return Err(bad(
                    "invalid_tiers",
                    "a revenue share's rate is basis points: at most 10000",
                ));
            }
            let rate = u128::try_from(rate)
                .map_err(|_| bad("invalid_tiers", "a tier's rate does not fit 128 bits"))?;
            tiers.push(Tier { fromUnits: u128::from(t.from_units), rate });
        }
        if self.period < MIN_WINDOW || self.period > MAX_PERIOD {
            return Err(bad("invalid_window", "period is 1 hour to 366 days, in seconds"));
        }
        for (name, w) in [
            ("reportWindow", self.report_window),
            ("lockWindow", self.lock_window),
            ("arbitrationWindow", self.arbitration_window),
        ] {
            if !(MIN_WINDOW..=MAX_WINDOW).contains(&w) {
                return Err(bad(
                    "invalid_window",
                    format!("{name} is 1 hour to 90 days, in seconds"),
                ));
            }
        }
        if self.periods == 0 || self.periods > MAX_PERIODS {
            return Err(bad("invalid_term", format!("periods is 1 to {MAX_PERIODS}")));
        }
        let end = self.start.saturating_add(u64::from(self.period) * u64::from(self.periods));
        if end <= now || end > now + MAX_TERM {
            return Err(bad(
                "invalid_term",
                "the agreement must end in the future, and within 10 years",
            ));
        }
        if self.deadline < now {
            return Err(bad("deadline_in_past", "the signatures' deadline has passed"));
        }
        let salt = match &self.salt {
            Some(s) => super::amount("salt", s)?,
            None => U256::from_be_bytes(rand::random::<[u8; 32]>()),
        };
        let u40 = |what: &'static str, v: u64| {
            U40::try_from(v)
                .map_err(|_| bad("invalid_term", format!("{what} does not fit 40 bits")))
        };
        Ok(PerformanceAgreement {
            brand: self.brand,
            partner: self.partner,
            attester: self.attester,
            arbiter,
            token: self.token,
            termsHash: self.terms_hash.unwrap_or_default(),
            metric: self.metric.code(),
            arbiterFeeBps: self.arbiter_fee_bps,
            start: u40("start", self.start)?,
            period: self.period,
            periods: self.periods,
            reportWindow: self.report_window,
            lockWindow: self.lock_window,
            arbitrationWindow: self.arbitration_window,
            deadline: u40("deadline", self.deadline)?,
            salt,
            tiers,
        })
    }

    /// The terms of a signed agreement, as read back (the salt always given).
    pub(crate) fn of(a: &PerformanceAgreement, chain_id: u64) -> Self {
        Self {
            chain_id: Some(chain_id),
            brand: a.brand,
            partner: a.partner,
            attester: a.attester,
            arbiter: (!a.arbiter.is_zero()).then_some(a.arbiter),
            token: a.token,
            terms_hash: Some(a.termsHash),
            metric: Metric::from_code(a.metric).unwrap_or(Metric::Conversions),
            arbiter_fee_bps: a.arbiterFeeBps,
            start: a.start.to::<u64>(),
            period: a.period,
            periods: a.periods,
            report_window: a.reportWindow,
            lock_window: a.lockWindow,
            arbitration_window: a.arbitrationWindow,
            deadline: a.deadline.to::<u64>(),
            salt: Some(a.salt.to_string()),
            tiers: a
                .tiers
                .iter()
                .map(|t| TierTerms {
                    from_units: u64::try_from(t.fromUnits).unwrap_or(u64::MAX),
                    rate: t.rate.to_string(),
                })
                .collect(),
        }
    }
}
