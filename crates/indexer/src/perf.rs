//! The performance contract's logs: decoded into `performance_events` rows, and each created
//! agreement's parties. No state is derived here: an agreement's state is folded from its events on
//! read (`pactum_core::performance`), so a reorg's rollback only has to delete rows.

use alloy::{rpc::types::Log, sol_types::SolEventInterface};
use pactum_bindings::PactumPerformance::PactumPerformanceEvents as Ev;
use pactum_core::performance::{agreement_of, event_name, period_of};
use pactum_db::{performance::PartiesRow, EventRow, LogPosition};

use crate::{json, Corrupt, Error, Problem, Result};

/// A batch's performance logs as rows.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// One row per log, in log order.
    pub(crate) events: Vec<EventRow>,
    /// The agreements created in the batch.
    pub(crate) created: Vec<PartiesRow>,
}

impl Decoded {
    /// Decodes one log of the performance contract; one that does not decode stops the batch, as
    /// for the escrow.
    pub(crate) fn push(&mut self, log: &Log, at: LogPosition) -> Result<()> {
        let event =
            Ev::decode_raw_log(log.topics(), &log.data().data).map_err(|e| Error::Decode {
                block: at.block_number,
                log_index: u64::from(at.log_index),
                reason: e.to_string(),
            })?;
        let period = period_of(&event)
            .map(|p| i32::try_from(p).map_err(|_| Corrupt::at(at, Problem::Period(p))))
            .transpose()?;
        if let Ev::PerformanceAgreementCreated(e) = &event {
            self.created.push(PartiesRow {
                id: e.id,
                brand: e.agreement.brand,
                partner: e.agreement.partner,
                attester: e.agreement.attester,
                arbiter: e.agreement.arbiter,
                token: e.agreement.token,
                at,
            });
        }
        self.events.push(EventRow {
            at,
            event: event_name(&event),
            agreement_id: agreement_of(&event),
            milestone: period,
            topics: log.topics().to_vec(),
            data: log.data().data.clone(),
            fields: fields(&event, at)?,
        });
        Ok(())
    }
}

/// The event's decoded fields as JSON text.
fn fields(event: &Ev, at: LogPosition) -> Result<String, Corrupt> {
    let v = match event {
        Ev::PerformanceAgreementCreated(e) => serde_json::to_string(e),
        Ev::PerformanceAgreementRevoked(e) => serde_json::to_string(e),
        Ev::BudgetFunded(e) => serde_json::to_string(e),
        Ev::ReportAccepted(e) => serde_json::to_string(e),
        Ev::PeriodDisputed(e) => serde_json::to_string(e),
        Ev::PeriodPaid(e) => serde_json::to_string(e),
        Ev::PeriodResolved(e) => serde_json::to_string(e),
        Ev::PeriodTimedOut(e) => serde_json::to_string(e),
        Ev::PerformanceAgreementTerminated(e) => serde_json::to_string(e),
        Ev::PerformanceAgreementClosed(e) => serde_json::to_string(e),
        Ev::BudgetReturned(e) => serde_json::to_string(e),
        Ev::PerformanceAgreementEnded(e) => serde_json::to_string(e),
        Ev::PaymentDeferred(e) => serde_json::to_string(e),
        Ev::Withdrawn(e) => serde_json::to_string(e),
        Ev::EIP712DomainChanged(e) => serde_json::to_string(e),
    };
    json(v, at)
}
