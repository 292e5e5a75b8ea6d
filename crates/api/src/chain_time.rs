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
//! The latest block is read at most once per [`CHAIN_TIME_TTL`] per process, by one request at a
//! time (the others wait for its answer), so no number of requests turns into more RPC calls;
//! between reads the reading is advanced by the time elapsed since. Handlers ask for it only
//! after every check that does not need it.

use std::time::{Duration, Instant};

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
};
use tokio::sync::Mutex;

use crate::error::ApiError;

/// How long a reading of the latest block serves before the node is asked again. After time
/// travel on a dev chain the API sees the new time within this long.
pub const CHAIN_TIME_TTL: Duration = Duration::from_secs(2);

/// The latest block's timestamp, read from the node at most once per `ttl`.
#[derive(Debug)]
pub struct ChainClock {
    ttl: Duration,
    last: Mutex<Option<Reading>>,
}

/// A timestamp the node reported, and when it was read.
#[derive(Debug, Clone, Copy)]
struct Reading {
    block_time: i64,
    read_at: Instant,
}

impl Default for ChainClock {
    fn default() -> Self {
        Self::new(CHAIN_TIME_TTL)
    }
}

impl ChainClock {
    /// A clock that reads the node at most once per `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, last: Mutex::new(None) }
    }

    /// Unix seconds as the escrow will see them: the larger of the latest block's timestamp
    /// (cached up to the TTL, advanced by the time since it was read) and this server's clock.
    /// Fails with `rpc_unavailable` when the node cannot say.
    pub async fn now(&self, provider: &DynProvider) -> Result<i64, ApiError> {
        // Held across the read: concurrent callers wait for one answer instead of each asking.
        let mut last = self.last.lock().await;
        let reading = match *last {
            Some(r) if r.read_at.elapsed() < self.ttl => r,
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
