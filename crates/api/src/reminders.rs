//! Deadline reminders: `pactum serve` asks, every few seconds, which windows end within a lead
//! time by the chain's clock, and publishes a `reminder.due` for each (see
//! `pactum_db::reminders`, which makes each fire once however many servers ask).
//!
//! Reminders are planned from the mirror, so the mirror must be current: a pass is skipped while
//! the indexer is more than `ready_max_lag` blocks behind the head, or a window the chain already
//! closed (the brand approved a block ago) would be reminded of. Time is the escrow's: the later
//! of the latest block's timestamp and this server's clock ([`crate::chain_time`]), so a dev chain
//! moved days ahead reminds as the contract will judge.

use std::time::Duration;

use pactum_core::notifications::DEFAULT_REMINDER_LEADS;
use tracing::{debug, info, warn};

use crate::{error::ApiError, AppState};

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Reminders published (0: none was due).
    Sent(usize),
    /// The mirror was too far behind the head to plan from.
    Behind {
        /// The head block.
        head: u64,
        /// The last mirrored block.
        indexed: u64,
    },
}

/// Publishes the reminders due now, chain by chain: each chain is planned by its own clock, and
/// one whose mirror is behind waits without holding up the others. `Behind` only if no chain
/// could be planned (it names the first).
pub async fn pass(state: &AppState) -> Result<Pass, ApiError> {
    let mut conn = state.pool.acquire().await.map_err(pactum_db::Error::from)?;
    let mut leads = None;
    let (mut sent, mut behind, mut planned) = (0, None, false);
    for chain in state.chains.iter() {
        let indexed = pactum_db::checkpoint(&mut conn, chain.id)
            .await?
            .map(|c| c.block_number)
            .unwrap_or_default();
        // One chain's node failing must not hold up the others' reminders.
        let head = match chain.head().await {
            Ok(h) => h,
            Err(e) => {
                warn!(chain = chain.id, error = ?e, "the node did not give its head; this chain's reminders wait");
                continue;
            }
        };
        if head.saturating_sub(indexed) > state.cfg.ready_max_lag {
            debug!(
                chain = chain.id,
                head, indexed, "the mirror is behind the head; its reminders wait"
            );
            behind.get_or_insert(Pass::Behind { head, indexed });
            continue;
        }
        let now = match chain.now().await {
            Ok(t) => u64::try_from(t).unwrap_or_default(),
            Err(e) => {
                warn!(chain = chain.id, error = ?e, "the node did not give its time; this chain's reminders wait");
                continue;
            }
        };
        if leads.is_none() {
            let mut l = pactum_db::reminders::endpoint_leads(&mut conn).await?;
            l.extend(DEFAULT_REMINDER_LEADS);
            leads = Some(l);
        }
        let leads = leads.as_deref().unwrap_or_default();
        sent += pactum_db::reminders::send_due(&mut conn, chain.id, now, leads).await?;
        planned = true;
    }
    Ok(match behind {
        Some(b) if !planned => b,
        _ => Pass::Sent(sent),
    })
}

/// Runs [`pass`] every `every` until the task is dropped or aborted; a failed pass is logged and
/// tried again next time.
pub async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match pass(&state).await {
            Ok(Pass::Sent(0)) => {}
            Ok(Pass::Sent(n)) => info!(reminders = n, "sent deadline reminders"),
            Ok(Pass::Behind { head, indexed }) => {
                debug!(head, indexed, "the mirror is behind the head; reminders wait for it")
            }
            Err(e) => warn!(error = ?e, "planning reminders failed; trying again"),
        }
    }
}
