//! KPIs of performance agreements, from the ledger: per period and per agreement, and per brand or
//! partner over their agreements. Every figure is derived from the mirrored events (the folded
//! [`PerformanceLedger`](pactum_core::performance::PerformanceLedger)), so a KPI can be traced to
//! the reports and payouts on chain. JSON, or CSV with `format=csv`.
//!
//! Ratios are decimal strings with six decimals, computed in integers (rounded down): amounts are
//! uint256, which a float would round silently.

use alloy::primitives::U256;
use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use pactum_core::performance::{self as perf, PeriodStatus};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{load, side, Loaded};
use crate::{
    auth::SignedIn,
    error::{ApiError, ErrorBody, Json, Query, SessionErrors},
    AppState,
};

/// Routes of the KPIs.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(agreement_kpis)).routes(routes!(party_kpis))
}

/// `a / b` with six decimals, rounded down; `None` when `b` is zero.
fn ratio(a: U256, b: U256) -> Option<String> {
    if b.is_zero() {
        return None;
    }
    let scaled = a.saturating_mul(U256::from(1_000_000u64)) / b;
    let whole = scaled / U256::from(1_000_000u64);
    let frac = scaled % U256::from(1_000_000u64);
    Some(format!("{whole}.{frac:0>6}"))
}

/// The figures of one period, or of a sum of periods.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Periods reported.
    pub periods_reported: u64,
    /// Units as finally reported.
    pub units: String,
    /// Units first reported (before reversals).
    pub first_units: String,
    /// Attested revenue as finally reported.
    pub revenue: String,
    /// Pay the reports hold or paid (after corrections, before disputes' splits).
    pub pay: String,
    /// Paid to the partner so far.
    pub paid: String,
    /// Pay still locked or disputed.
    pub pending: String,
    /// Effective cost per acquisition: pay / units, in the token's smallest unit (divide by
    /// 10^decimals for whole tokens).
    pub cost_per_unit: Option<String>,
    /// Revenue per unit of pay: revenue / pay (both in the token's smallest unit: a plain ratio).
    pub revenue_per_pay: Option<String>,
    /// Reversal rate: (first units − final units) / first units.
    pub reversal_rate: Option<String>,
    /// Mean seconds from a period's end to its payout, over paid periods.
    pub mean_seconds_to_payout: Option<u64>,
}

#[derive(Default)]
struct Sum {
    reported: u64,
    units: U256,
    first: U256,
    revenue: U256,
    pay: U256,
    paid: U256,
    pending: U256,
    payout_secs: u128,
    payouts: u64,
}

impl Sum {
    fn add(&mut self, o: &Self) {
        self.reported += o.reported;
        self.units += o.units;
        self.first += o.first;
        self.revenue += o.revenue;
        self.pay += o.pay;
        self.paid += o.paid;
        self.pending += o.pending;
        self.payout_secs += o.payout_secs;
        self.payouts += o.payouts;
    }

    fn figures(&self) -> Figures {
        Figures {
            periods_reported: self.reported,
            units: self.units.to_string(),
            first_units: self.first.to_string(),
            revenue: self.revenue.to_string(),
            pay: self.pay.to_string(),
            paid: self.paid.to_string(),
            pending: self.pending.to_string(),
            cost_per_unit: ratio(self.pay, self.units),
            revenue_per_pay: ratio(self.revenue, self.pay),
            reversal_rate: ratio(self.first.saturating_sub(self.units), self.first),
            mean_seconds_to_payout: (self.payouts > 0)
                .then(|| u64::try_from(self.payout_secs / u128::from(self.payouts)).unwrap_or(0)),
        }
    }
}

/// One period's KPIs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodKpis {
    /// The period.
    pub period: u64,
    /// When it ended.
    pub ends_at: u64,
    /// Its status.
    #[schema(value_type = String)]
    pub status: PeriodStatus,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One agreement's KPIs: by period, and in total.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementKpis {
    /// The agreement.
    #[schema(value_type = String)]
    pub agreement_id: alloy::primitives::B256,
    /// Its chain.
    pub chain_id: u64,
    /// Reported periods, in order.
    pub periods: Vec<PeriodKpis>,
    /// Over every period.
    pub total: Figures,
}

fn agreement(l: &Loaded<'_>) -> (AgreementKpis, Sum) {
    let a = &l.agreement;
    let mut total = Sum::default();
    let mut periods = Vec::new();
    for (&i, p) in &l.ledger.periods {
        if p.status == PeriodStatus::Unreported {
            continue;
        }
        let ends_at = perf::period_end(a, i);
        let pending = matches!(p.status, PeriodStatus::Locked | PeriodStatus::Disputed);
        let mut s = Sum {
            reported: 1,
            units: p.units,
            first: p.first_units,
            revenue: p.revenue,
            pay: p.pay,
            paid: p.partner_paid,
            pending: if pending { p.pay } else { U256::ZERO },
            ..Sum::default()
        };
        if p.settled_at > 0 && !p.partner_paid.is_zero() {
            s.payout_secs = u128::from(p.settled_at.saturating_sub(ends_at));
            s.payouts = 1;
        }
        total.add(&s);
        periods.push(PeriodKpis { period: i, ends_at, status: p.status, figures: s.figures() });
    }
    (
        AgreementKpis { agreement_id: l.id, chain_id: l.chain.id, periods, total: total.figures() },
        total,
    )
}

/// `json` (default) or `csv`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default) or `csv`.
    #[param(pattern = r"^(json|csv)$")]
    pub format: Option<String>,
}

const CSV_HEADER: &str = "agreement_id,period,ends_at,status,units,first_units,revenue,pay,paid,\
pending,cost_per_unit,revenue_per_pay,reversal_rate,mean_seconds_to_payout\n";

fn csv_row(out: &mut String, id: &str, period: &str, ends: &str, status: &str, f: &Figures) {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    out.push_str(&format!(
        "{id},{period},{ends},{status},{},{},{},{},{},{},{},{},{},{}\n",
        f.units,
        f.first_units,
        f.revenue,
        f.pay,
        f.paid,
        f.pending,
        o(&f.cost_per_unit),
        o(&f.revenue_per_pay),
        o(&f.reversal_rate),
        f.mean_seconds_to_payout.map(|s| s.to_string()).unwrap_or_default(),
    ));
}

fn status_name(s: PeriodStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn csv(rows: &[AgreementKpis], total: Option<&Figures>) -> Response {
    let mut out = String::from(CSV_HEADER);
    for k in rows {
        let id = k.agreement_id.to_string();
        for p in &k.periods {
            csv_row(
                &mut out,
                &id,
                &p.period.to_string(),
                &p.ends_at.to_string(),
                &status_name(p.status),
                &p.figures,
            );
        }
        csv_row(&mut out, &id, "total", "", "", &k.total);
    }
    if let Some(t) = total {
        csv_row(&mut out, "all", "total", "", "", t);
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}

fn format(q: &FormatQuery) -> Result<bool, ApiError> {
    match q.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("format is json or csv, not {other:?}"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/performance/agreements/{id}/kpis",
    tag = "performance",
    summary = "One agreement's KPIs by period and in total: units, revenue, pay, cost per unit, revenue per unit of pay, reversal rate, time to payout (JSON, or CSV with format=csv)",
    params(("id" = String, Path, pattern = r"^([0-9]{1,20}:)?0x[0-9a-fA-F]{64}$", description = "The agreement id"), FormatQuery),
    responses(
        (status = 200, description = "The KPIs", content((AgreementKpis = "application/json"), (String = "text/csv"))),
        SessionErrors,
        (status = 400, description = "Malformed request (`invalid_id`, `invalid_format`)", body = ErrorBody),
        (status = 404, description = "No such agreement, or not the caller's (`not_found`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn agreement_kpis(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let as_csv = format(&q)?;
    let l = load(&state, caller, &id).await?;
    let (k, _) = agreement(&l);
    Ok(if as_csv { csv(std::slice::from_ref(&k), None) } else { Json(k).into_response() })
}

/// Whose KPIs.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartyQuery {
    /// brand, partner, attester or arbiter.
    #[param(pattern = r"^(brand|partner|attester|arbiter)$")]
    pub role: String,
    /// The chain (default: the primary).
    pub chain: Option<u64>,
    /// `json` (default) or `csv`.
    #[param(pattern = r"^(json|csv)$")]
    pub format: Option<String>,
}

/// A party's KPIs: each agreement's, and over all of them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyKpis {
    /// Each agreement (at most the 500 newest).
    pub agreements: Vec<AgreementKpis>,
    /// Over every agreement listed.
    pub total: Figures,
}

#[utoipa::path(
    get,
    path = "/v1/performance/kpis",
    tag = "performance",
    summary = "The caller's KPIs as brand, partner or attester: per agreement and period, and in total (JSON, or CSV with format=csv)",
    params(PartyQuery),
    responses(
        (status = 200, description = "The KPIs", content((PartyKpis = "application/json"), (String = "text/csv"))),
        SessionErrors,
        (status = 400, description = "Malformed query (`invalid_query`, `invalid_format`)", body = ErrorBody),
        (status = 403, description = "An auditor (KPIs here are per account)", body = ErrorBody),
        (status = 404, description = "A chain not served (`unknown_chain`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn party_kpis(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<PartyQuery>,
) -> Result<Response, ApiError> {
    let who = caller.party()?;
    let as_csv = format(&FormatQuery { format: q.format.clone() })?;
    let side = side(&q.role)?;
    let chain = state.chain_or_primary(q.chain)?;
    let rows =
        pactum_db::performance::agreements_of(state.reads.pool(), chain.id, who, side, 500).await?;
    let mut all = Sum::default();
    let mut agreements = Vec::with_capacity(rows.len());
    for r in rows {
        let l = load(&state, caller, &format!("{}:{}", chain.id, r.id)).await?;
        let (k, sum) = agreement(&l);
        all.add(&sum);
        agreements.push(k);
    }
    let total = all.figures();
    Ok(if as_csv {
        csv(&agreements, Some(&total))
    } else {
        Json(PartyKpis { agreements, total }).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_exact_decimals_rounded_down() {
        assert_eq!(ratio(U256::from(1), U256::from(3)).as_deref(), Some("0.333333"));
        assert_eq!(ratio(U256::from(10), U256::from(4)).as_deref(), Some("2.500000"));
        assert_eq!(ratio(U256::from(1), U256::ZERO), None);
    }
}
