//! `pactum dev` as a new user runs it: the whole stack from one command (a private PostgreSQL
//! cluster, since no DATABASE_URL is given), ready to serve, and nothing left behind after SIGTERM
//! or after a start-up that fails half-way.

mod common;
use common::{dev_banner, free_port, terminate};

use std::{
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use eyre::{bail, Result};

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn dev(anvil_port: u16, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pactum"));
    cmd.args(["dev", "--anvil-port", &anvil_port.to_string(), "--listen", listen])
        .env_remove("DATABASE_URL")
        .env_remove("PACTUM_LISTEN")
        .env_remove("ANVIL_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_runs_the_stack_and_leaves_nothing_behind() -> Result<()> {
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let listen = format!("127.0.0.1:{api_port}");
    let mut child = dev(anvil_port, &listen).spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or_else(|| eyre::eyre!("no stdout"))?;
    // Read what it prints until the ready line; note PostgreSQL's port.
    let text = dev_banner(stdout).await?;
    assert!(text.contains("escrow:     0x5FbDB2315678afecb367f032d93F642f64180aa3"), "{text}");
    for role in ["brand", "creator", "arbiter", "auditor"] {
        assert!(text.contains(role), "{text}");
    }
    let pg_port: u16 = text
        .split("postgres://postgres@127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| eyre::eyre!("no PostgreSQL URL in {text}"))?;

    let client = alloy::transports::http::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client.get(format!("http://{listen}/readyz")).send().await;
        if ready.as_ref().is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if Instant::now() > deadline {
            bail!("never ready: {ready:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status: serde_json::Value = serde_json::from_str(
        &client.get(format!("http://{listen}/v1/status")).send().await?.text().await?,
    )?;
    assert_eq!(status["chainId"], 31_337);
    assert!(answers(anvil_port) && answers(pg_port));

    // SIGTERM: everything it started stops, and its folder goes.
    let exit = terminate(&mut child, Duration::from_secs(30)).await?;
    assert!(exit.success(), "{exit}");
    assert!(!answers(anvil_port), "anvil left running");
    assert!(!answers(api_port), "API left running");
    assert!(!answers(pg_port), "PostgreSQL left running");
    assert!(!std::env::temp_dir().join(format!("pactum-dev-pg-{pid}")).exists());
    Ok(())
}

#[test]
fn a_start_up_that_fails_half_way_stops_what_it_started() -> Result<()> {
    // The API's port is taken: anvil and PostgreSQL are up by the time binding fails.
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let listen = taken.local_addr()?.to_string();
    let anvil_port = free_port()?;
    let child = dev(anvil_port, &listen).stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    let out = child.wait_with_output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("binding"), "{stderr}");
    assert!(!answers(anvil_port), "anvil left running");
    let cluster = std::env::temp_dir().join(format!("pactum-dev-pg-{pid}"));
    assert!(!cluster.exists(), "its PostgreSQL cluster was left in {}", cluster.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_left_by_a_killed_dev_is_removed_at_the_next_start() -> Result<()> {
    // SIGKILL gives `pactum dev` no chance to stop its PostgreSQL: the next start must.
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let mut child = dev(anvil_port, &format!("127.0.0.1:{api_port}")).spawn()?;
    let pid = child.id();
    let cluster = std::env::temp_dir().join(format!("pactum-dev-pg-{pid}"));
    common::wait_ready(&format!("http://127.0.0.1:{api_port}")).await?;
    child.kill()?;
    child.wait()?;
    // Its anvil is orphaned too; that one the test stops itself.
    Command::new("pkill").args(["-f", &format!("anvil -p {anvil_port} ")]).status()?;
    assert!(cluster.join("data/postmaster.pid").exists(), "no running cluster to orphan");
    // Even a start that fails (its API port is taken) reaps the orphan first.
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let out = dev(free_port()?, &taken.local_addr()?.to_string()).output()?;
    assert!(!out.status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.exists() {
        assert!(
            Instant::now() < deadline,
            "the orphaned cluster {} is still there",
            cluster.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[test]
fn sigterm_during_start_up_stops_what_it_started() -> Result<()> {
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let child = dev(anvil_port, &format!("127.0.0.1:{api_port}")).spawn()?;
    let pid = child.id();
    // anvil answers first; PostgreSQL's initdb and the deployment take a second more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers(anvil_port) {
        assert!(Instant::now() < deadline, "anvil never came up");
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    let out = child.wait_with_output()?;
    assert!(out.status.success(), "{}", out.status);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.contains("Ctrl-C stops everything"), "the stack was already up:\n{printed}");
    assert!(!answers(anvil_port), "anvil left running");
    let cluster = std::env::temp_dir().join(format!("pactum-dev-pg-{pid}"));
    assert!(!cluster.exists(), "its PostgreSQL cluster was left in {}", cluster.display());
    Ok(())
}
