//! Notifications end to end, as a party uses them: against a `pactum dev` stack, the brand
//! registers a webhook endpoint and the creator opens the live stream; `pactum demo` plays a whole
//! agreement (deliveries, a claim after silence, a termination) while the chain's clock jumps
//! days. Each party hears every event and reminder of its agreements once: the receiver gets each
//! of the brand's notifications under one `webhook-id`, signed (checked with the Standard Webhooks
//! library), and the creator's stream carries exactly the creator's notifications, in order.

mod common;
#[path = "../crates/notify/tests/common/receiver.rs"]
mod receiver;
use common::{free_port, wait_ready, StopOnDrop};

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    primitives::Bytes,
    signers::{local::PrivateKeySigner, SignerSync},
    transports::http::reqwest,
};
use eyre::{bail, Result};
use serde_json::{json, Value};

/// The accounts `pactum dev` names brand and creator: anvil's default keys 1 and 2.
const BRAND_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CREATOR_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

async fn login(http: &reqwest::Client, api: &str, key: &PrivateKeySigner) -> Result<String> {
    let n: Value =
        http.post(format!("{api}/v1/auth/nonce")).json(&json!({})).send().await?.json().await?;
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    };
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let message = format!(
        "{} wants you to sign in with your Ethereum account:\n{}\n\n\nURI: {}\nVersion: 1\n\
         Chain ID: {}\nNonce: {}\nIssued At: {}\nExpiration Time: {}",
        n["domain"].as_str().unwrap_or_default(),
        key.address().to_checksum(None),
        n["uri"].as_str().unwrap_or_default(),
        n["chainId"],
        n["nonce"].as_str().unwrap_or_default(),
        fmt(now),
        fmt(now + Duration::from_secs(3600)),
    );
    let signature = Bytes::from(key.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    let res = http
        .post(format!("{api}/v1/auth/login"))
        .json(&json!({ "message": message, "signature": signature }))
        .send()
        .await?;
    let body: Value = res.json().await?;
    body["token"].as_str().map(str::to_owned).ok_or_else(|| eyre::eyre!("login: {body}"))
}

/// Every notification `token`'s account has, oldest first (the list, paged to the end).
async fn all(http: &reqwest::Client, api: &str, token: &str) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let url = match before {
            Some(b) => format!("{api}/v1/notifications?limit=100&before={b}"),
            None => format!("{api}/v1/notifications?limit=100"),
        };
        let page: Value = http.get(url).bearer_auth(token).send().await?.json().await?;
        items.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["older"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    items.reverse();
    Ok(items)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_party_hears_every_event_and_reminder_of_the_demo_once() -> Result<()> {
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let api = format!("http://127.0.0.1:{api_port}");
    let rpc = format!("http://127.0.0.1:{anvil_port}");
    let stack = StopOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["dev", "--anvil-port", &anvil_port.to_string()])
            .args(["--listen", &format!("127.0.0.1:{api_port}")])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_ready(&api).await?;
    let http = reqwest::Client::new();
    let (brand, creator): (PrivateKeySigner, PrivateKeySigner) =
        (BRAND_KEY.parse()?, CREATOR_KEY.parse()?);
    let brand_token = login(&http, &api, &brand).await?;
    let creator_token = login(&http, &api, &creator).await?;

    // The brand's CRM: a webhook endpoint for everything.
    let rx = receiver::Receiver::start().await?;
    let res = http
        .post(format!("{api}/v1/webhooks"))
        .bearer_auth(&brand_token)
        .json(&json!({ "url": rx.url, "description": "CRM" }))
        .send()
        .await?;
    assert_eq!(res.status(), 201);
    let hook: Value = res.json().await?;
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();

    // The creator's phone: the live stream, from now.
    let res = http
        .get(format!("{api}/v1/events/stream"))
        .bearer_auth(&creator_token)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    let streamed: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let sink = streamed.clone();
    tokio::spawn(async move {
        let mut res = res;
        let mut text = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            // Whole events end with a blank line.
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                let field = |name: &str| {
                    event.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                if let (Some(id), Some(kind)) = (field("id:"), field("event:")) {
                    if let Ok(id) = id.parse() {
                        sink.lock().map(|mut s| s.push((id, kind))).ok();
                    }
                }
            }
        }
    });

    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["demo", "--api", &api, "--rpc-url", &rpc, "--bundle"])
        .arg(std::env::temp_dir().join(format!("pactum-notify-demo-{}.json", std::process::id())))
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("reminder: the review window of milestone 1 closes in under 48 hours"));
    assert!(stdout.contains("reminder: the review window of milestone 1 closes in under 24 hours"));

    // What each party has, by the API's own list.
    let brand_has = all(&http, &api, &brand_token).await?;
    let creator_has = all(&http, &api, &creator_token).await?;
    assert!(brand_has.iter().any(|n| n["type"] == "agreement.terminated"), "{brand_has:?}");
    let reminders = brand_has.iter().filter(|n| n["type"] == "reminder.due").count();
    assert!(reminders >= 2, "{reminders} reminders");

    // The webhook: each of the brand's notifications exactly once, signed, in order.
    let expected: BTreeSet<String> = brand_has.iter().map(|n| format!("ntf_{}", n["id"])).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let got = loop {
        let got = rx.acked();
        let ids: BTreeSet<String> = got.iter().map(|g| g.id.clone()).collect();
        if ids == expected {
            break got;
        }
        if Instant::now() > deadline {
            bail!(
                "webhooks: missing {:?}, unexpected {:?}",
                expected.difference(&ids),
                ids.difference(&expected)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Let any duplicate arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_all = rx.got();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in &got_all {
        *seen.entry(g.id.clone()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "delivered twice: {seen:?}");
    assert_eq!(got_all.len(), got.len());
    let webhook = standardwebhooks::Webhook::new(&secret)?;
    let mut order = Vec::new();
    for g in &got {
        webhook.verify(&g.body, &g.headers)?;
        let body: Value = serde_json::from_slice(&g.body)?;
        order.push(body["data"]["notification_id"].as_i64().unwrap_or_default());
    }
    // One agreement, one lane: delivered in the order published.
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "webhooks out of order");

    // The stream: exactly the creator's notifications, each once, in id order.
    let deadline = Instant::now() + Duration::from_secs(30);
    let want: Vec<(i64, String)> = creator_has
        .iter()
        .map(|n| {
            (
                n["id"].as_i64().unwrap_or_default(),
                n["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    loop {
        let have = streamed.lock().map(|s| s.clone()).unwrap_or_default();
        if have == want {
            break;
        }
        if Instant::now() > deadline {
            bail!("stream: {have:?}\nlist: {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The stack stops on SIGTERM though the creator's stream is still open: a live stream must
    // not hold a graceful shutdown forever.
    let mut stack = stack;
    Command::new("kill").args(["-TERM", &stack.0.id().to_string()]).status()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.0.try_wait()?.is_none() {
        if Instant::now() > deadline {
            bail!("pactum dev did not stop within 20 s of SIGTERM with a live stream open");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
