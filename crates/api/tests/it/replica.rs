//! Reads from a real streaming replica (a private primary and its replica, made with the
//! machine's `initdb`, `pg_basebackup` and `pg_ctl`), and two API processes on one database.
//!
//! The replica's WAL replay is paused to make it lag: ledger reads then show the replica's older
//! state only while the lag is within bounds, then come from the primary; sign-in, drafts and
//! what a party just wrote never depend on the replica.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::B256;
use eyre::{bail, Result};
use pactum_api::replica::Reads;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    helpers::{serve, serve_state, stack, stack_on},
    termination::{act, create},
};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A private PostgreSQL server in a temporary directory, stopped and removed when dropped.
struct Server {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
}

/// Runs a PostgreSQL binary as the `postgres` account when we are root (the server refuses root).
fn pg(tool: &str) -> Command {
    let path = format!("{BIN}/{tool}");
    if nix_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(path)
    }
}

fn nix_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(mut c: Command, what: &str) -> Result<()> {
    let out = c.output()?;
    if !out.status.success() {
        bail!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// A fresh primary.
    fn primary(dir: &Path) -> Result<Self> {
        let data = dir.join("primary");
        let mut c = pg("initdb");
        c.args(["-D"]).arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        run(c, "initdb")?;
        Self::start(dir, data)
    }

    /// A streaming replica of `self`.
    fn replica(&self) -> Result<Self> {
        let data = self.dir.join("replica");
        let mut c = pg("pg_basebackup");
        c.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-D"])
            .arg(&data)
            .args(["-R", "-X", "stream"]);
        run(c, "pg_basebackup")?;
        Self::start(&self.dir, data)
    }

    fn start(dir: &Path, data: PathBuf) -> Result<Self> {
        let port = free_port()?;
        let log = data.with_extension("log");
        let mut c = pg("pg_ctl");
        c.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "start", "-o"]).arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        ));
        run(c, "pg_ctl start")?;
        Ok(Self { dir: dir.to_owned(), data, port })
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut c = pg("pg_ctl");
        c.arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]);
        let _ = c.output();
    }
}

/// The temporary directory both servers live in, readable by `postgres`, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "pactum-replica-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos()
        ));
        std::fs::create_dir_all(&dir)?;
        if nix_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres").arg(&dir);
                    c
                },
                "chown",
            )?;
        }
        Ok(Self(dir))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn until(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    while !check().await? {
        if start.elapsed() > limit {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ledger_reads_use_the_replica_only_while_it_keeps_up() -> Result<()> {
    let dir = Dir::new()?;
    let primary = Server::primary(&dir.0)?;
    let replica = primary.replica()?;
    let url = pactum_db::scratch::create(&primary.url("postgres"), "pactum_replica").await?;
    let db = url.rsplit('/').next().unwrap_or_default().to_owned();
    let pool = pactum_db::connect(&url, 8).await?;
    let replica_url = replica.url(&db);
    let mut read = None;
    until("the database on the replica", Duration::from_secs(20), async || {
        read = pactum_db::connect_replica(&replica_url, 4).await.ok();
        Ok(read.is_some())
    })
    .await?;
    let read: PgPool = read.ok_or_else(|| eyre::eyre!("no replica pool"))?;

    // Two servers on the same primary and replica: one tolerates a minute of lag (longer than
    // this test: it shows what the replica serves), the other 500 ms (it must leave a replica
    // that stopped replaying within about that).
    let monitored = |state: pactum_api::AppState, lag: Duration| {
        let state = state.with_read_replica(read.clone(), lag);
        tokio::spawn(state.reads.clone().monitor(Duration::from_millis(100)));
        state
    };
    let mut lenient: Option<Arc<Reads>> = None;
    let s = stack_on(
        pool,
        |_| {},
        |state| {
            let state = monitored(state, Duration::from_secs(60));
            lenient = Some(state.reads.clone());
            state
        },
    )
    .await?;
    let lenient = lenient.ok_or_else(|| eyre::eyre!("no reads"))?;
    let strict_state = monitored(
        pactum_api::AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url()),
        Duration::from_millis(500),
    );
    let strict = strict_state.reads.clone();
    let strict_base = serve_state(strict_state).await?;
    let strict_get = |path: String| {
        let (http, base) = (s.http.clone(), strict_base.clone());
        async move {
            let res = http.get(format!("{base}{path}")).send().await?;
            eyre::Ok((res.status(), res.json::<serde_json::Value>().await?))
        }
    };

    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id: B256 = create(&s, &brand, &creator, s.draft_body(["1000", "2000"])).await?;
    let path = format!("/v1/agreements/{id}");
    // Everything written so far is replayed, then replay stops.
    let written: i64 = sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8")
        .fetch_one(&s.pool)
        .await?;
    until("the replica to replay all", Duration::from_secs(30), async || {
        let replayed: Option<i64> =
            sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8")
                .fetch_one(&read)
                .await?;
        Ok(replayed.is_some_and(|r| r >= written))
    })
    .await?;
    until("both servers on the replica", Duration::from_secs(10), async || {
        Ok(lenient.from_replica() && strict.from_replica())
    })
    .await?;
    let (_, one) = s.get(&path, None).await?;
    assert_eq!(one["milestones"][0]["status"], "open", "{one}");
    sqlx::query("SELECT pg_wal_replay_pause()").execute(&read).await?;

    // The creator delivers; the indexer mirrors it on the primary.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://v1",
    });
    assert_eq!(act(&s, id, &creator, submit).await?.0, StatusCode::OK);
    s.index().await?;

    // The lenient server still reads the replica, which has not seen the delivery.
    let (by_replica, _) = lenient.served();
    let (_, one) = s.get(&path, None).await?;
    assert_eq!(lenient.served().0, by_replica + 1, "the read did not go to the replica");
    assert_eq!(one["milestones"][0]["status"], "open", "{one}");
    // The strict one sees the replica fall behind and reads the primary: the delivery shows.
    until("the strict server to leave the replica", Duration::from_secs(15), async || {
        Ok(!strict.from_replica())
    })
    .await?;
    let (status, one) = strict_get(path.clone()).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["milestones"][0]["status"], "submitted", "{one}");

    // What does not come from the ledger never waits for the replica: a new sign-in works at once
    // and a draft is readable the moment it is written (on the lenient server, too).
    let stranger = s.login(&s.stranger).await?;
    let (status, me) = s.get("/v1/auth/me", Some(&stranger)).await?;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, draft) = s.post("/v1/drafts", Some(&brand), s.draft_body(["5", "6"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let draft_id = draft["id"].as_str().unwrap_or_default();
    let (status, again) = s.get(&format!("/v1/drafts/{draft_id}"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{again}");

    // Replay resumes: the replica catches up and the strict server reads it again, now current.
    sqlx::query("SELECT pg_wal_replay_resume()").execute(&read).await?;
    until("the replica to catch up", Duration::from_secs(30), async || Ok(strict.from_replica()))
        .await?;
    let (by_replica, _) = strict.served();
    let (_, one) = strict_get(path.clone()).await?;
    assert_eq!(strict.served().0, by_replica + 1);
    assert_eq!(one["milestones"][0]["status"], "submitted", "{one}");
    Ok(())
}

/// Two API processes on one database are interchangeable: a session made on one works on the
/// other, and both give the same answers.
#[tokio::test(flavor = "multi_thread")]
async fn api_replicas_share_sessions_and_answers() -> Result<()> {
    let s = stack().await?;
    let other = serve(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url()).await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id: B256 = create(&s, &brand, &creator, s.draft_body(["1000", "2000"])).await?;
    let get = |base: String, path: String, token: Option<String>| {
        let http = s.http.clone();
        async move {
            let mut req = http.get(format!("{base}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await?;
            eyre::Ok((res.status(), res.json::<serde_json::Value>().await?))
        }
    };
    for (path, token) in [
        ("/v1/auth/me".to_owned(), Some(brand.clone())),
        (format!("/v1/agreements/{id}"), None),
        (format!("/v1/agreements/{id}/history"), Some(creator.clone())),
        ("/v1/drafts".to_owned(), Some(brand.clone())),
    ] {
        let here = get(s.base.clone(), path.clone(), token.clone()).await?;
        let there = get(other.clone(), path.clone(), token).await?;
        assert_eq!(here.0, StatusCode::OK, "{path}: {}", here.1);
        assert_eq!(here, there, "{path}");
    }
    // Signing out on one ends the session on both.
    let res = s.http.post(format!("{other}/v1/auth/logout")).bearer_auth(&brand).send().await?;
    assert!(res.status().is_success(), "{}", res.status());
    let (status, _) = get(s.base.clone(), "/v1/auth/me".to_owned(), Some(brand)).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}
