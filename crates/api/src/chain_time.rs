//! The chain's time, as the escrow will measure the deadlines the API checks and defaults.
//!
//! The escrow compares every deadline with `block.timestamp`, not with this server's clock, and
//! the two can differ by days: on a development chain moved forward with `evm_increaseTime`
//! (`pactum demo` does), a deadline a day past the server's clock is already past on chain. So
//! deadlines are measured from [`ChainClock::now`]: the larger of the latest block's timestamp
//! and the server's clock. The block that will carry the transaction is stamped no earlier than
//! the latest one, and on a live chain (and on anvil, which stamps new blocks with the wall clock
//! plus the offset time travel added) no earlier than the wall clock either, even when the latest
//! block is old (an idle dev chain, a lagging node); the larger of the two is the best lower bound
//! of the time the escrow will compare with.
//!
//! The latest block is read for each caller that needs it, after every check that does not, by
//! one caller at a time: callers that arrive while a read is in flight share its answer, so a
//! burst of requests costs one RPC call, not one each. A reading is never reused for a caller that
//! asked after it was taken: on a development chain time jumps (`evm_increaseTime`), and a reading
//! kept for even two seconds gave a caller the time from before the jump (the signatures it
//! defaulted had expired on chain before they were sent).

use std::time::{Duration, Instant};

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
};
use tokio::sync::Mutex;

use crate::error::ApiError;

/// The latest block's timestamp, read from the node once per burst of callers.
#[derive(Debug, Default)]
pub struct ChainClock {
    last: Mutex<Option<Reading>>,
}

/// A timestamp the node reported, and when it was read.
#[derive(Debug, Clone, Copy)]
struct Reading {
    block_time: i64,
    read_at: Instant,
}

impl ChainClock {
    /// A clock that has not read the node yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Unix seconds as the escrow will see them: the larger of the latest block's timestamp
    /// (advanced by the time since it was read) and this server's clock. Fails with
    /// `rpc_unavailable` when the node cannot say.
    pub async fn now(&self, provider: &DynProvider) -> Result<i64, ApiError> {
        let asked = Instant::now();
        // Held across the read: callers that arrive meanwhile wait for its answer.
        let mut last = self.last.lock().await;
        let reading = match *last {
            // Finished after this caller asked: taken while it waited, so it is current for it.
            Some(r) if r.read_at >= asked => r,
            _ => {
                let block = provider
                    .get_block_by_number(BlockNumberOrTag::Latest)
                    .await
                    .map_err(ApiError::upstream)?
                    .ok_or_else(|| ApiError::upstream("the node has no latest block"))?;
                let r = Reading {
                    block_time: i64::try_from(block.header.timestamp).unwrap_or(i64::MAX),
                    read_at: Instant::now(),
                };
                *last = Some(r);
                r
            }
        };
        Ok(estimate(reading.block_time, reading.read_at.elapsed(), crate::now()))
    }

    /// What is known of the chain's time without asking the node: the last reading advanced to
    /// now, or this server's clock if there is none (or one is being taken). Never later than the
    /// chain's time, so what it calls past is past on chain too; for reads that must not wait on
    /// the node, such as whether a superseded version could still be created.
    pub fn known(&self) -> i64 {
        let wall = crate::now();
        match self.last.try_lock().ok().and_then(|last| *last) {
            Some(r) => estimate(r.block_time, r.read_at.elapsed(), wall),
            None => wall,
        }
    }
}

/// The chain's time `elapsed` after a block stamped `block_time` was read, never below `wall`.
fn estimate(block_time: i64, elapsed: Duration, wall: i64) -> i64 {
    let elapsed = i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX);
    block_time.saturating_add(elapsed).max(wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_ahead_of_the_wall_clock_sets_the_time() {
        // A dev chain moved six days forward.
        let wall = 1_800_000_000;
        assert_eq!(estimate(wall + 6 * 86_400, Duration::ZERO, wall), wall + 6 * 86_400);
        // Read three seconds ago: the chain has moved on as well.
        assert_eq!(estimate(wall + 100, Duration::from_secs(3), wall), wall + 103);
    }

    #[test]
    fn an_old_latest_block_never_sets_the_time_back() {
        // An idle dev chain or a lagging node: the next block is stamped no earlier than now.
        let wall = 1_800_000_000;
        assert_eq!(estimate(wall - 7_200, Duration::from_secs(1), wall), wall);
        assert_eq!(estimate(i64::MAX, Duration::from_secs(5), wall), i64::MAX);
    }
}
