//! A real HTTP webhook receiver for tests (axum on 127.0.0.1:0) whose answers the test scripts:
//! fail with a status N times, hang past the dispatcher's timeout, then answer 200. It records
//! every request it got, headers and body, and whether it acknowledged it.

#![allow(dead_code, unreachable_pub)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    /// Answer with this status.
    Status(u16),
    /// Wait this long, then answer 200 (past the dispatcher's timeout: no answer counts).
    Hang(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Got {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
    pub headers: HeaderMap,
    /// Answered 2xx (a hang counts as not acknowledged: the dispatcher gave up on it).
    pub acked: bool,
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Act>,
    /// What to do once the script is used up (default: 200).
    then: Option<Act>,
    got: Vec<Got>,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> eyre::Result<Self> {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let app = Router::new().route("/hook", post(hook)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, inner })
    }

    /// Queues acts for the next requests.
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) {
        self.inner.lock().expect("lock").script.extend(acts);
    }

    /// What to do after the script (instead of 200).
    pub fn then(&self, act: Act) {
        self.inner.lock().expect("lock").then = Some(act);
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Got> {
        self.inner.lock().expect("lock").got.clone()
    }

    /// The acknowledged requests.
    pub fn acked(&self) -> Vec<Got> {
        self.got().into_iter().filter(|g| g.acked).collect()
    }

    /// Waits until `done` holds of what was received, or `limit` passes.
    pub async fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[Got]) -> bool,
    ) -> eyre::Result<Vec<Got>> {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let got = self.got();
            if done(&got) {
                return Ok(got);
            }
            if tokio::time::Instant::now() > until {
                eyre::bail!("timed out; received {} requests", got.len());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn hook(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let act = {
        let mut i = inner.lock().expect("lock");
        i.script.pop_front().or(i.then).unwrap_or(Act::Status(200))
    };
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut got = Got {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body,
        headers: headers.clone(),
        acked: false,
        at: std::time::Instant::now(),
    };
    let status = match act {
        Act::Status(s) => StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Act::Hang(d) => {
            inner.lock().expect("lock").got.push(got);
            tokio::time::sleep(d).await;
            return StatusCode::OK;
        }
    };
    got.acked = status.is_success();
    inner.lock().expect("lock").got.push(got);
    status
}
