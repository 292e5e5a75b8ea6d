//! Clearing out what expires: sign-in nonces (anyone may ask for one, so without pruning the
//! table grows as fast as a client can call `POST /v1/auth/nonce`), sessions past their end, and
//! the rate limiters' idle keys.
//!
//! `pactum serve` runs [`sweep`] every few minutes; the sign-in routes also delete a few expired
//! rows on each call. Deletion goes in bounded batches, each its own short statement, so a large
//! backlog never holds locks for long.

use std::time::Duration;

use tracing::{info, warn};

use crate::{now, AppState};

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired nonces deleted.
    pub nonces: u64,
    /// Expired sessions deleted.
    pub sessions: u64,
}

/// Deletes every nonce and session that expired before now, `batch` rows at a time, and forgets
/// the rate limiters' idle keys.
pub async fn sweep(state: &AppState, batch: i64) -> Result<Swept, pactum_db::Error> {
    let t = now();
    let mut swept = Swept::default();
    let mut conn = state.pool.acquire().await?;
    loop {
        let n = pactum_db::api::prune_expired_nonces(&mut conn, t, batch).await?;
        swept.nonces += n;
        if n < u64::try_from(batch).unwrap_or(0) {
            break;
        }
    }
    loop {
        let n = pactum_db::api::prune_expired_sessions(&mut conn, t, batch).await?;
        swept.sessions += n;
        if n < u64::try_from(batch).unwrap_or(0) {
            break;
        }
    }
    state.limits.forget_idle();
    Ok(swept)
}

/// Runs [`sweep`] every `every` until the task is dropped or aborted; a failed sweep is logged
/// and tried again next time.
pub async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep(&state, BATCH).await {
            Ok(s) if s == Swept::default() => {}
            Ok(s) => info!(nonces = s.nonces, sessions = s.sessions, "pruned expired sign-ins"),
            Err(e) => warn!(error = %e, "pruning expired sign-ins failed"),
        }
    }
}
