//! Deadline reminders, planned from the mirrored state: each window that is open now and ends
//! within a lead time gets one `reminder.due` notification per lead time, once.
//!
//! Nothing is scheduled ahead: every pass reads the windows open at the given time from the
//! agreements and milestones tables, so a window that closed (the brand approved, the dispute was
//! ruled) or moved (a resubmission restarts the review) is re-planned by construction. The
//! `reminders` table remembers what was sent, keyed by the window's deadline, so a reminder fires
//! once per deadline and lead however often the planner runs or however many run.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use pactum_core::notifications::REMINDER;
use sqlx::PgConnection;

use crate::{
    i64_of,
    notifications::{self, NewNotification, Recipient},
    Result,
};

/// The windows open at `$2` on chain `$1` whose end lies within `$3` (the longest lead) and
/// whose reminder for some lead in `$4` is due and not yet sent.
const DUE: &str = "\
WITH windows AS ( \
    SELECT m.agreement_id, m.index AS milestone, 'review_window' AS kind, \
           m.since + m.review_window AS deadline \
    FROM milestones m WHERE m.chain_id = $1 AND m.status = 'submitted' \
  UNION ALL \
    SELECT m.agreement_id, m.index, 'delivery_deadline', \
           CASE WHEN m.status = 'revision_requested' \
                THEN greatest(m.deadline, m.since + m.review_window) ELSE m.deadline END \
    FROM milestones m JOIN agreements a ON a.chain_id = m.chain_id AND a.id = m.agreement_id \
    WHERE m.chain_id = $1 AND m.funded \
      AND (m.status = 'revision_requested' OR (m.status = 'open' AND a.status = 'active')) \
  UNION ALL \
    SELECT m.agreement_id, m.index, 'arbitration_window', m.since + a.arbitration_window \
    FROM milestones m JOIN agreements a ON a.chain_id = m.chain_id AND a.id = m.agreement_id \
    WHERE m.chain_id = $1 AND m.status = 'disputed' \
  UNION ALL \
    SELECT a.id, -1, CASE WHEN a.contested THEN 'arbitration_window' ELSE 'contest_window' END, \
           a.since + CASE WHEN a.contested THEN a.arbitration_window ELSE a.contest_window END \
    FROM agreements a WHERE a.chain_id = $1 AND a.status = 'terminating' \
) \
SELECT w.agreement_id, w.milestone, w.kind, w.deadline, l.lead, a.brand, a.creator, a.arbiter \
FROM windows w \
JOIN agreements a ON a.chain_id = $1 AND a.id = w.agreement_id \
CROSS JOIN unnest($4::int4[]) AS l(lead) \
WHERE w.deadline > $2 AND w.deadline <= $2 + $3 AND w.deadline - l.lead <= $2 \
  AND NOT EXISTS ( \
    SELECT 1 FROM reminders r \
    WHERE r.chain_id = $1 AND r.agreement_id = w.agreement_id AND r.milestone = w.milestone \
      AND r.kind = w.kind AND r.deadline = w.deadline AND r.lead_seconds = l.lead) \
ORDER BY w.deadline, w.agreement_id, w.milestone, l.lead";

/// One row of [`DUE`]: a window, a lead time due for it, and the agreement's parties.
#[derive(sqlx::FromRow)]
struct DueRow {
    agreement_id: Vec<u8>,
    milestone: i32,
    kind: String,
    deadline: i64,
    lead: i32,
    brand: Option<Vec<u8>>,
    creator: Option<Vec<u8>>,
    arbiter: Option<Vec<u8>>,
}

/// One window's due reminders.
struct Due {
    agreement_id: B256,
    milestone: i32,
    kind: String,
    deadline: i64,
    leads: Vec<i32>,
    parties: [Option<Address>; 3],
}

/// Sends the reminders due at `now` (Unix seconds by the chain's clock) on chain `chain_id` for
/// lead times `leads` (seconds before a window ends): the defaults plus every endpoint's own.
/// Where several leads of one window are due at once (the planner first saw a window shorter
/// than a lead, or was down), one reminder goes out, named by the shortest and covering the rest.
/// Returns how many notifications it published. Runs in one transaction under the outbox lock, so
/// concurrent planners send each reminder once.
pub async fn send_due(
    conn: &mut PgConnection,
    chain_id: u64,
    now: u64,
    leads: &[u32],
) -> Result<usize> {
    let mut leads: Vec<i32> =
        leads.iter().filter_map(|l| i32::try_from(*l).ok()).filter(|l| *l > 0).collect();
    leads.sort_unstable();
    leads.dedup();
    let Some(longest) = leads.last().copied() else { return Ok(0) };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    notifications::lock(&mut tx).await?;
    let rows: Vec<DueRow> = sqlx::query_as(DUE)
        .bind(i64_of(chain_id))
        .bind(i64_of(now))
        .bind(i64::from(longest))
        .bind(&leads)
        .fetch_all(&mut *tx)
        .await?;
    let mut windows: BTreeMap<(Vec<u8>, i32, String, i64), Due> = BTreeMap::new();
    for DueRow {
        agreement_id: agreement,
        milestone,
        kind,
        deadline,
        lead,
        brand,
        creator,
        arbiter,
    } in rows
    {
        let key = (agreement.clone(), milestone, kind.clone(), deadline);
        let party = |v: Option<Vec<u8>>, c| v.map(|v| crate::address(v, c)).transpose();
        let parties =
            [party(brand, "brand")?, party(creator, "creator")?, party(arbiter, "arbiter")?];
        let due = match windows.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(Due {
                agreement_id: crate::hash(agreement, "agreement_id")?,
                milestone,
                kind,
                deadline,
                leads: Vec::new(),
                parties,
            }),
        };
        due.leads.push(lead);
    }
    if windows.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let due: Vec<Due> = windows.into_values().collect();
    let notes: Vec<NewNotification> = due.iter().map(|d| note(chain_id, now, d)).collect();
    let ids = notifications::publish(&mut tx, &notes).await?;
    let (mut agreement, mut milestone, mut kind, mut deadline, mut lead, mut id) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (d, n) in due.iter().zip(&ids) {
        for l in &d.leads {
            agreement.push(d.agreement_id.to_vec());
            milestone.push(d.milestone);
            kind.push(d.kind.clone());
            deadline.push(d.deadline);
            lead.push(*l);
            id.push(*n);
        }
    }
    sqlx::query(
        "INSERT INTO reminders (chain_id, agreement_id, milestone, kind, deadline, lead_seconds, \
         notification_id) SELECT $1, * FROM unnest($2::bytea[], $3::int4[], $4::text[], \
         $5::int8[], $6::int4[], $7::int8[])",
    )
    .bind(i64_of(chain_id))
    .bind(&agreement)
    .bind(&milestone)
    .bind(&kind)
    .bind(&deadline)
    .bind(&lead)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

fn note(chain_id: u64, now: u64, d: &Due) -> NewNotification {
    let roles = ["brand", "creator", "arbiter"];
    let audience = d
        .parties
        .iter()
        .zip(roles)
        .filter_map(|(p, role)| {
            p.filter(|a| !a.is_zero()).map(|account| Recipient { account, role })
        })
        .collect();
    let shortest = d.leads.first().copied().unwrap_or_default();
    let milestone = u32::try_from(d.milestone).ok();
    NewNotification {
        kind: REMINDER.to_owned(),
        chain_id,
        agreement_id: Some(d.agreement_id),
        milestone,
        source: None,
        occurred_at: now,
        data: serde_json::json!({
            "chain_id": chain_id,
            "agreement_id": d.agreement_id,
            "milestone": milestone,
            "window": d.kind,
            "deadline": d.deadline,
            "remaining_seconds": d.deadline.saturating_sub(i64_of(now)),
            "lead_seconds": shortest,
            "leads": d.leads,
        }),
        audience,
    }
}

/// Every lead time an enabled webhook endpoint asked for (the planner adds the defaults).
pub async fn endpoint_leads(conn: &mut PgConnection) -> Result<Vec<u32>> {
    let leads: Vec<i32> = sqlx::query_scalar(
        "SELECT DISTINCT unnest(reminder_leads) FROM webhook_endpoints WHERE enabled",
    )
    .fetch_all(conn)
    .await?;
    Ok(leads.into_iter().filter_map(|l| u32::try_from(l).ok()).collect())
}
