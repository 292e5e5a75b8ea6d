//! What the end-to-end tests share: ports, databases and waiting for a stack to be ready.
//! (Each file under `tests/` is its own crate and uses only part of this.)
#![allow(dead_code)]

use std::time::{Duration, Instant};

use eyre::{bail, Result};

/// A port nobody listens on right now.
pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A fresh, empty database on the test server (`PACTUM_TEST_DATABASE_URL`).
pub(crate) async fn fresh_database(prefix: &str) -> Result<String> {
    Ok(pactum_db::scratch::create(&pactum_db::scratch::admin_url(), prefix).await?)
}

/// Waits (up to a minute) until the API at `api` answers `/readyz` with success.
pub(crate) async fn wait_ready(api: &str) -> Result<()> {
    let client = alloy::transports::http::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{api}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        if Instant::now() > deadline {
            bail!("{api} never became ready");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
