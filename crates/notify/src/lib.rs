//! The webhook dispatcher: delivers the deliveries `pactum_db::notifications::publish` fans out
//! to registered endpoints, as Standard Webhooks (<https://www.standardwebhooks.com>).
//!
//! It exists apart from the indexer and the API so that a slow or failing receiver never delays
//! either: the indexer only writes rows in its own transaction, and this loop, in `pactum serve`,
//! sends them. It wakes on the outbox's `NOTIFY` (and polls as a fallback), claims the head of
//! each due lane in one statement ([`pactum_db::webhooks::claim`]: several dispatchers may run,
//! none sends an attempt another has claimed), sends lanes in parallel up to a bound, one delivery
//! per lane at a time (order per agreement), and retries failures with exponential backoff and
//! jitter until the last retry, when the delivery is dead. An endpoint failing for too long is
//! disabled and its owner told with an `endpoint.disabled` notification.
//!
//! At least once: a delivery is marked delivered only after a 2xx, and a dispatcher that stops
//! mid-send leaves its claim to expire (the lease), after which it is sent again under the same
//! `webhook-id`, which receivers deduplicate on.

pub mod target;

use std::{collections::HashMap, sync::Arc, time::Duration};

use pactum_db::{
    notifications::{NewNotification, Recipient},
    webhooks::{Claimed, Outcome},
};
use serde_json::{json, Value};
use sqlx::{postgres::PgListener, PgPool};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The chain notifications are about (for the `endpoint.disabled` notice).
    pub chain_id: u64,
    /// Deliveries in flight at once (each a different lane).
    pub concurrency: usize,
    /// Deliveries in flight at once to one endpoint: a slow endpoint with many lanes holds at
    /// most this many of the `concurrency` slots, the rest stay free for others.
    pub per_endpoint: usize,
    /// Longest a receiver may take to answer.
    pub timeout: Duration,
    /// How long a claim holds before another dispatcher may retry it (longer than `timeout`).
    pub lease: Duration,
    /// How often it looks for due work when nothing wakes it.
    pub poll_interval: Duration,
    /// The waits before each retry; after the last, a delivery is dead.
    pub retry_schedule: Vec<Duration>,
    /// Each wait is varied by up to this fraction either way (0.2: ±20%).
    pub jitter: f64,
    /// An endpoint failing continuously this long is disabled.
    pub disable_after: Duration,
    /// Send to loopback and private addresses too (development and tests only).
    pub allow_private: bool,
}

impl Config {
    /// Defaults: 32 lanes at once, 10 s timeout, retries after 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h and 10 h (about 28 h in all), disabled after 5 days of failure.
    pub fn new(chain_id: u64) -> Self {
        let timeout = Duration::from_secs(10);
        Self {
            chain_id,
            concurrency: 32,
            per_endpoint: 4,
            timeout,
            lease: timeout * 3 + Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            retry_schedule: [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            jitter: 0.2,
            disable_after: Duration::from_secs(5 * 86_400),
            allow_private: false,
        }
    }
}

/// What stops the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] pactum_db::Error),
    /// The `LISTEN` connection failed.
    #[error("listening for notifications: {0}")]
    Listen(#[from] sqlx::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The dispatcher; [`Dispatcher::run`] until cancelled.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    cfg: Arc<Config>,
    pool: PgPool,
    http: reqwest::Client,
}

/// The `webhook-id` of a notification: the same on every attempt and replay.
pub fn webhook_id(notification_id: i64) -> String {
    format!("ntf_{notification_id}")
}

/// The body of a notification's webhook: its type, when it was written, and its data with its id.
pub fn body(kind: &str, timestamp: &str, data: &Value, notification_id: i64) -> Value {
    let mut data = match data {
        Value::Object(m) => m.clone(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".to_owned(), other.clone());
            m
        }
    };
    data.insert("notification_id".to_owned(), notification_id.into());
    json!({ "type": kind, "timestamp": timestamp, "data": data })
}

/// The `webhook-signature` header: one `v1,<base64>` per secret, space-separated. A secret that
/// is not `whsec_<base64>` is skipped (and logged); none left is an error.
pub fn signature(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    payload: &[u8],
) -> Result<String, standardwebhooks::WebhookError> {
    let mut out = Vec::with_capacity(secrets.len());
    let mut last_err = None;
    for s in secrets {
        match standardwebhooks::Webhook::new(s).and_then(|w| w.sign(msg_id, timestamp, payload)) {
            Ok(sig) => out.push(sig),
            Err(e) => {
                tracing::warn!(error = %e, "an endpoint secret cannot sign");
                last_err = Some(e);
            }
        }
    }
    match (out.is_empty(), last_err) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(standardwebhooks::WebhookError::InvalidSignature),
        _ => Ok(out.join(" ")),
    }
}

impl Dispatcher {
    /// A dispatcher over `pool` (migrated).
    pub fn new(cfg: Config, pool: PgPool) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("pactum-webhooks/1");
        if !cfg.allow_private {
            builder = builder.dns_resolver(target::GuardedResolver::shared());
        }
        Ok(Self { cfg: Arc::new(cfg), pool, http: builder.build()? })
    }

    /// Delivers until `stop` is cancelled, then waits for the deliveries in flight (each bounded
    /// by the timeout) and returns. Database errors are logged and retried, not returned: a
    /// database that is briefly away must not end webhook delivery for the life of the server.
    pub async fn run(self, stop: CancellationToken) -> Result<(), Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(pactum_db::notifications::CHANNEL).await?;
        let mut tasks: JoinSet<i64> = JoinSet::new();
        // Deliveries in flight per endpoint.
        let mut busy: HashMap<i64, i32> = HashMap::new();
        // Claiming is one statement over every pending lane head: under load it runs once a
        // quarter of the slots are free (or on a wake-up), not once per finished delivery.
        let batch = (self.cfg.concurrency / 4).max(1);
        let mut woken = true;
        loop {
            if stop.is_cancelled() {
                break;
            }
            let free = self.cfg.concurrency.saturating_sub(tasks.len());
            if free > 0 && (woken || free >= batch || tasks.is_empty()) {
                woken = false;
                match self.claim(free, &busy).await {
                    Ok(claimed) => {
                        for c in claimed {
                            *busy.entry(c.endpoint_id).or_default() += 1;
                            let me = self.clone();
                            tasks.spawn(async move {
                                let endpoint = c.endpoint_id;
                                me.deliver(c).await;
                                endpoint
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                n = listener.recv() => {
                    woken = true;
                    if let Err(e) = n {
                        tracing::warn!(error = %e, "notification listener failed; polling");
                        tokio::time::sleep(self.cfg.poll_interval).await;
                    }
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    finished(&mut busy, done);
                    while let Some(done) = tasks.try_join_next() {
                        finished(&mut busy, done);
                    }
                }
                () = tokio::time::sleep(self.cfg.poll_interval) => woken = true,
            }
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    async fn claim(
        &self,
        limit: usize,
        busy: &HashMap<i64, i32>,
    ) -> Result<Vec<Claimed>, pactum_db::Error> {
        let mut conn = self.pool.acquire().await?;
        let busy: Vec<(i64, i32)> = busy.iter().map(|(k, v)| (*k, *v)).collect();
        pactum_db::webhooks::claim(
            &mut conn,
            self.cfg.lease,
            i64::try_from(limit).unwrap_or(i64::MAX),
            i32::try_from(self.cfg.per_endpoint).unwrap_or(i32::MAX),
            &busy,
        )
        .await
    }

    /// Sends one claimed delivery and records what came of it.
    async fn deliver(&self, c: Claimed) {
        let outcome = self.send(&c).await;
        if let Err(e) = self.record(&c, &outcome).await {
            // The claim's lease runs out and the delivery is sent again.
            tracing::warn!(error = %e, endpoint = c.endpoint_id, notification = c.notification_id,
                "recording a webhook attempt failed");
        }
    }

    async fn send(&self, c: &Claimed) -> Outcome {
        let started = std::time::Instant::now();
        let fail = |error: String, status_code: Option<u16>| Outcome {
            status_code,
            duration: started.elapsed(),
            error: Some(error),
        };
        // Registration checked the URL; it is checked again here since the rules may have been
        // tightened since (and the resolver checks what a name resolves to now).
        let url = match target::check_form(&c.url) {
            Ok(u) => u,
            Err(e) => return fail(e.to_string(), None),
        };
        if !self.cfg.allow_private {
            if let Some(ip) = target::literal(&url).filter(|ip| target::is_forbidden(*ip)) {
                return fail(target::TargetError::Private(ip).to_string(), None);
            }
        }
        let msg_id = webhook_id(c.notification_id);
        let payload = body(&c.kind, &c.timestamp, &c.data, c.notification_id).to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let mut secrets = vec![c.secret.as_str()];
        secrets.extend(c.previous_secret.as_deref());
        let sig = match signature(&secrets, &msg_id, now, payload.as_bytes()) {
            Ok(s) => s,
            Err(e) => return fail(format!("signing: {e}"), None),
        };
        let res = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", sig)
            .body(payload)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => Outcome {
                status_code: Some(r.status().as_u16()),
                duration: started.elapsed(),
                error: None,
            },
            Ok(r) => fail(format!("HTTP {}", r.status()), Some(r.status().as_u16())),
            Err(e) => fail(describe(&e), None),
        }
    }

    async fn record(&self, c: &Claimed, o: &Outcome) -> Result<(), pactum_db::Error> {
        let mut tx = self.pool.begin().await?;
        if o.error.is_none() {
            pactum_db::webhooks::record_success(
                &mut tx,
                c.endpoint_id,
                c.notification_id,
                c.attempts,
                o,
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        let retry_in = usize::try_from(c.attempts)
            .ok()
            .and_then(|n| self.cfg.retry_schedule.get(n.saturating_sub(1)))
            .map(|d| jittered(*d, self.cfg.jitter));
        pactum_db::webhooks::record_failure(
            &mut tx,
            c.endpoint_id,
            c.notification_id,
            c.attempts,
            o,
            retry_in,
        )
        .await?;
        let reason = format!(
            "failed continuously for {} s; the last error: {}",
            self.cfg.disable_after.as_secs(),
            o.error.as_deref().unwrap_or_default()
        );
        if let Some(owner) = pactum_db::webhooks::disable_if_failing(
            &mut tx,
            c.endpoint_id,
            self.cfg.disable_after,
            &reason,
        )
        .await?
        {
            tracing::warn!(endpoint = c.endpoint_id, %owner, "webhook endpoint disabled");
            let note = NewNotification {
                kind: pactum_core::notifications::ENDPOINT_DISABLED.to_owned(),
                chain_id: self.cfg.chain_id,
                agreement_id: None,
                milestone: None,
                source: None,
                occurred_at: unix_now(),
                data: json!({ "endpoint_id": c.endpoint_id, "url": c.url, "reason": reason }),
                audience: vec![Recipient { account: owner, role: "account" }],
            };
            pactum_db::notifications::publish(&mut tx, &[note]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Counts a finished delivery out of its endpoint's in-flight number.
fn finished(busy: &mut HashMap<i64, i32>, done: Result<i64, tokio::task::JoinError>) {
    if let Ok(endpoint) = done {
        if let Some(n) = busy.get_mut(&endpoint) {
            *n -= 1;
            if *n <= 0 {
                busy.remove(&endpoint);
            }
        }
    }
}

/// A transport error in a sentence, with its causes (reqwest's own text is often just
/// "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// `d` varied uniformly by up to `fraction` either way.
fn jittered(d: Duration, fraction: f64) -> Duration {
    let f = fraction.clamp(0.0, 1.0);
    if f == 0.0 {
        return d;
    }
    d.mul_f64(rand::random_range(1.0 - f..=1.0 + f))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_fraction() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(100), 0.2);
            assert!(d >= Duration::from_secs(80) && d <= Duration::from_secs(120), "{d:?}");
        }
        assert_eq!(jittered(Duration::from_secs(5), 0.0), Duration::from_secs(5));
    }

    #[test]
    fn signs_with_every_secret_and_each_verifies() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = "whsec_dGhlIHByZXZpb3VzIHNlY3JldCBvZiB0aGlz";
        let sig = signature(&[a, b], "ntf_1", 1_700_000_000, b"{}").expect("signs");
        assert_eq!(sig.split(' ').count(), 2);
        for s in [a, b] {
            let expected = standardwebhooks::Webhook::new(s)
                .expect("secret")
                .sign("ntf_1", 1_700_000_000, b"{}")
                .expect("sign");
            assert!(sig.split(' ').any(|x| x == expected));
        }
        assert!(signature(&["whsec_%%%"], "ntf_1", 1, b"{}").is_err());
    }
}
