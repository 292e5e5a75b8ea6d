//! Ledger reads from a streaming replica, while it keeps up.
//!
//! The ledger tables are written by the indexer alone, so a read of them never needs to see a
//! write this server made: those reads (agreements, history, audit bundles, reconciliation, sync
//! status) may go to a read-only replica. Everything else stays on the primary: sessions (a
//! sign-in must work on the very next request), drafts and signatures (a party reads what it just
//! wrote), actions (prepared against the freshest state) and notifications.
//!
//! A replica that falls behind would show money moved a while ago as still held, so reads go to it
//! only while it is fresh: a monitor samples the primary's WAL position every tick and the
//! replica's replayed position, and calls the replica fresh while it has replayed everything the
//! primary had written `max_lag` ago. Behind (replay paused, a network partition, a rebuild) or
//! unreachable, reads fall back to the primary until it catches up.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tracing::{info, warn};

/// Where ledger reads go.
#[derive(Debug)]
pub struct Reads {
    primary: PgPool,
    replica: Option<PgPool>,
    max_lag: Duration,
    fresh: AtomicBool,
    /// Reads served by the replica, and by the primary (for `/metrics` and the tests).
    served: [AtomicU64; 2],
}

impl Reads {
    /// Every read on the primary.
    pub fn primary_only(primary: PgPool) -> Self {
        Self {
            primary,
            replica: None,
            max_lag: Duration::ZERO,
            fresh: AtomicBool::new(false),
            served: Default::default(),
        }
    }

    /// Ledger reads on `replica` while it is at most `max_lag` behind the primary (as judged by
    /// [`Reads::monitor`], which must run: until its first pass the replica is not used).
    pub fn with_replica(primary: PgPool, replica: PgPool, max_lag: Duration) -> Self {
        Self { replica: Some(replica), max_lag, ..Self::primary_only(primary) }
    }

    /// The pool a ledger read should use now.
    pub fn pool(&self) -> &PgPool {
        match &self.replica {
            Some(r) if self.fresh.load(Ordering::Acquire) => {
                self.served[0].fetch_add(1, Ordering::Relaxed);
                r
            }
            _ => {
                self.served[1].fetch_add(1, Ordering::Relaxed);
                &self.primary
            }
        }
    }

    /// Whether ledger reads go to the replica now.
    pub fn from_replica(&self) -> bool {
        self.replica.is_some() && self.fresh.load(Ordering::Acquire)
    }

    /// Ledger reads served so far: (by the replica, by the primary).
    pub fn served(&self) -> (u64, u64) {
        (self.served[0].load(Ordering::Relaxed), self.served[1].load(Ordering::Relaxed))
    }

    /// Judges the replica's freshness every `every`, for as long as the task runs (returns at once
    /// without a replica).
    pub async fn monitor(self: Arc<Self>, every: Duration) {
        let Some(replica) = self.replica.clone() else { return };
        // The primary's WAL position at past ticks, oldest first; one at or before `now -
        // max_lag` is kept as the reference the replica must have reached.
        let mut samples: VecDeque<(Instant, i64)> = VecDeque::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let fresh = match self.sample(&replica, &mut samples).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    warn!(error = %e, "reading the replica's position failed; reads go to the primary");
                    false
                }
            };
            if self.fresh.swap(fresh, Ordering::AcqRel) != fresh {
                if fresh {
                    info!("the replica has caught up; ledger reads go to it");
                } else {
                    warn!(max_lag = ?self.max_lag, "the replica is behind; ledger reads go to the primary");
                }
            }
        }
    }

    async fn sample(
        &self,
        replica: &PgPool,
        samples: &mut VecDeque<(Instant, i64)>,
    ) -> Result<bool, sqlx::Error> {
        let now = Instant::now();
        let written: i64 =
            sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8")
                .fetch_one(&self.primary)
                .await?;
        samples.push_back((now, written));
        let cutoff = now.checked_sub(self.max_lag).unwrap_or(now);
        while samples.len() > 1 && samples[1].0 <= cutoff {
            samples.pop_front();
        }
        // The newest position at least `max_lag` old; until `max_lag` has passed since the
        // monitor started, the oldest it knows (what the primary had when it started).
        let reference = samples.front().map_or(written, |s| s.1);
        let replayed: Option<i64> =
            sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8")
                .fetch_one(replica)
                .await?;
        // NULL: not a replica at all (a primary given as the read URL would never lag, but also
        // never be this server's replica; refuse to guess).
        Ok(replayed.is_some_and(|r| r >= reference))
    }
}
