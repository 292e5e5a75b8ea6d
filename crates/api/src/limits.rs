//! Request budgets, so one client cannot take the server (or its database) for itself.
//!
//! Two budgets, each a GCRA limiter keyed in memory (`governor`): the sign-in routes (`nonce`,
//! `login`), which anyone may call, are limited per IP address; every request that carries a
//! session is limited per account, whatever route it is for. A request over budget is refused
//! with 429 `rate_limited` and a `Retry-After` before any work is done for it.
//!
//! Each budget is `n` requests per minute, `n` at once: a burst of `n` passes, then one request
//! every `60/n` seconds. The limiters live in the process (one server, or one budget per server
//! behind a load balancer); the per-IP key is the TCP peer, so behind a reverse proxy the proxy
//! must do its own per-client limiting.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
};

use alloy::primitives::Address;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{error::ApiError, AppState};

/// The per-IP and per-account limiters.
#[derive(Debug)]
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<Address>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    l: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), ApiError> {
    let Some(l) = l else { return Ok(()) };
    l.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(l.clock().now());
        // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
        ApiError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    })
}

impl RateLimits {
    /// Limiters for these budgets (0: that budget is off).
    pub fn new(anonymous_per_minute: u32, account_per_minute: u32) -> Self {
        Self { per_ip: limiter(anonymous_per_minute), per_account: limiter(account_per_minute) }
    }

    /// Spends one anonymous request of `ip`'s budget, or refuses with 429.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(self.per_ip.as_ref(), &ip)
    }

    /// Spends one request of `account`'s budget, or refuses with 429.
    pub fn check_account(&self, account: Address) -> Result<(), ApiError> {
        check(self.per_account.as_ref(), &account)
    }

    /// Forgets keys whose budget is full again (they behave as new ones), so the maps hold only
    /// recent clients; returns how many keys remain.
    pub fn forget_idle(&self) -> usize {
        let mut left = 0;
        if let Some(l) = &self.per_ip {
            l.retain_recent();
            l.shrink_to_fit();
            left += l.len();
        }
        if let Some(l) = &self.per_account {
            l.retain_recent();
            l.shrink_to_fit();
            left += l.len();
        }
        left
    }
}

/// An extractor that spends one request of the caller's per-IP budget (the sign-in routes).
///
/// The IP is the TCP peer, from `into_make_service_with_connect_info::<SocketAddr>()`; a server
/// started without it has no peer addresses, and all its clients share one budget.
#[derive(Debug, Clone, Copy)]
pub struct PerIp;

impl FromRequestParts<AppState> for PerIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        state.limits.check_ip(ip)?;
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use alloy::primitives::Address;

    use super::RateLimits;

    #[test]
    fn a_budget_is_per_key_and_zero_turns_it_off() {
        let l = RateLimits::new(2, 0);
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert!(l.check_ip(a).is_ok());
        assert!(l.check_ip(a).is_ok());
        let refused = l.check_ip(a).unwrap_err();
        assert_eq!(refused.code, "rate_limited");
        assert!(refused.retry_after.is_some_and(|s| (1..=30).contains(&s)));
        assert!(l.check_ip(b).is_ok());
        for _ in 0..1000 {
            assert!(l.check_account(Address::ZERO).is_ok());
        }
    }
}
