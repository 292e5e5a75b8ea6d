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

/// Sends SIGTERM to `child` and waits (up to `within`) for it to exit; its exit status.
pub(crate) async fn terminate(
    child: &mut std::process::Child,
    within: Duration,
) -> Result<std::process::ExitStatus> {
    let sent =
        std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    if !sent.success() {
        bail!("kill -TERM {} failed", child.id());
    }
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if Instant::now() > deadline {
            bail!("{} did not stop within {within:?} of SIGTERM", child.id());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `pactum dev` prints on `stdout` up to and including its ready line ("Ctrl-C stops
/// everything."), read on a blocking thread.
pub(crate) async fn dev_banner(stdout: std::process::ChildStdout) -> Result<String> {
    use std::io::BufRead;
    Ok(tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for line in std::io::BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
            let done = line.starts_with("Ctrl-C");
            out.push(line);
            if done {
                break;
            }
        }
        out.join("\n")
    })
    .await?)
}

/// A child process stopped (SIGTERM, then waited for) when the test ends, however it ends.
pub(crate) struct StopOnDrop(pub(crate) std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ =
            std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}
