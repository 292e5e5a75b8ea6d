//! Webhooks end to end: endpoints registered through the API, notifications from a real
//! agreement's lifecycle delivered by the dispatcher to a real HTTP receiver that fails, hangs and
//! recovers; replay, rotation, SSRF refusals, strangers, and signatures checked by clients we did
//! not write (Python's `standardwebhooks`, and the README's standard-library snippet).

use std::time::Duration;

use alloy::primitives::{Address, B256};
use eyre::{bail, eyre, Result};
use pactum_db::notifications::{publish, NewNotification, Recipient};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{
    helpers::{stack, stack_with, Stack},
    receiver::{Act, Got, Receiver},
    termination::{act, create},
};

async fn hooks_stack() -> Result<Stack> {
    stack_with(|c| c.webhooks_allow_private = true).await
}

/// A dispatcher for the stack with short retries; stopped when the token is cancelled.
fn dispatch(s: &Stack) -> Result<CancellationToken> {
    let mut cfg = pactum_notify::Config::new(s.chain_id());
    cfg.timeout = Duration::from_millis(800);
    cfg.lease = Duration::from_secs(3);
    cfg.poll_interval = Duration::from_millis(100);
    cfg.retry_schedule = vec![Duration::from_millis(150); 8];
    cfg.allow_private = true;
    let d = pactum_notify::Dispatcher::new(cfg, s.pool.clone())?;
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { d.run(token).await });
    Ok(stop)
}

/// Registers an endpoint; returns its id and secret.
async fn register(s: &Stack, token: &str, body: Value) -> Result<(i64, String)> {
    let (status, res) = s.post("/v1/webhooks", Some(token), body).await?;
    if status != StatusCode::CREATED {
        bail!("register: {status} {res}");
    }
    let id = res["endpoint"]["id"].as_i64().ok_or_else(|| eyre!("no id: {res}"))?;
    let secret = res["secret"].as_str().ok_or_else(|| eyre!("no secret"))?.to_owned();
    Ok((id, secret))
}

/// Publishes `n` notifications to `account` directly (as the indexer would), one agreement.
async fn notify(s: &Stack, account: Address, n: u32) -> Result<Vec<i64>> {
    let notes: Vec<NewNotification> = (0..n)
        .map(|i| NewNotification {
            kind: "milestones.funded".to_owned(),
            chain_id: s.chain_id(),
            agreement_id: Some(B256::repeat_byte(0x42)),
            milestone: Some(i),
            source: None,
            occurred_at: 1_700_000_000,
            data: json!({ "seq": i }),
            audience: vec![Recipient { account, role: "brand" }],
        })
        .collect();
    let mut tx = s.pool.begin().await?;
    let ids = publish(&mut tx, &notes).await?;
    tx.commit().await?;
    Ok(ids)
}

fn verify(g: &Got, secret: &str) -> Result<Value> {
    standardwebhooks::Webhook::new(secret)?.verify(&g.body, &g.headers)?;
    Ok(serde_json::from_slice(&g.body)?)
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lifecycle_arrives_signed_and_in_order_through_failures() -> Result<()> {
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let rx = Receiver::start().await?;
    rx.script([
        Act::Status(500),
        Act::Status(500),
        Act::Hang(Duration::from_secs(3)),
        Act::Status(502),
    ]);
    let (ep, secret) = register(&s, &brand, json!({ "url": rx.url, "description": "ops" })).await?;
    let stop = dispatch(&s)?;

    let id = create(&s, &brand, &creator, s.draft_body(["1000000", "2000000"])).await?;
    let submit = json!({ "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://a" });
    assert_eq!(act(&s, id, &creator, submit).await?.0, StatusCode::OK);
    assert_eq!(
        act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?.0,
        StatusCode::OK
    );
    s.index().await?;

    let want: Vec<i64> = sqlx::query_scalar(
        "SELECT n.id FROM notifications n JOIN notification_audience a ON a.notification_id = n.id \
         WHERE a.account = $1 ORDER BY n.id",
    )
    .bind(s.brand.address().as_slice())
    .fetch_all(&s.pool)
    .await?;
    assert!(want.len() >= 4, "created, funded, submitted, approved: {want:?}");
    rx.wait_for(Duration::from_secs(30), |g| g.iter().filter(|x| x.acked).count() >= want.len())
        .await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.cancel();
    let got = rx.got();

    // Every one arrived, verified; acknowledged exactly once; never sent again after its 2xx.
    let mut acked: Vec<String> = got.iter().filter(|g| g.acked).map(|g| g.id.clone()).collect();
    acked.sort();
    let mut expect: Vec<String> = want.iter().map(|i| pactum_notify::webhook_id(*i)).collect();
    expect.sort();
    assert_eq!(acked, expect);
    let mut types = Vec::new();
    for (i, g) in got.iter().enumerate() {
        let body = verify(g, &secret)?;
        assert_eq!(body["data"]["agreement_id"], json!(id));
        if g.acked {
            types.push(body["type"].as_str().unwrap_or_default().to_owned());
            assert!(!got[i + 1..].iter().any(|l| l.id == g.id), "{} again after 2xx", g.id);
        }
    }
    assert_eq!(
        types,
        ["agreement.created", "milestones.funded", "deliverable.submitted", "milestone.approved"],
        "in the order they happened"
    );
    // In order throughout: no request goes back to an earlier notification.
    let ids: Vec<i64> =
        got.iter().filter_map(|g| g.id.strip_prefix("ntf_").and_then(|n| n.parse().ok())).collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");

    // The log: every attempt, newest first, paged.
    let (status, page) =
        s.get(&format!("/v1/webhooks/{ep}/deliveries?limit=3"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    let mut all = page["items"].as_array().cloned().unwrap_or_default();
    let mut next = page["next"].as_str().map(str::to_owned);
    while let Some(cursor) = next {
        let (_, p) = s
            .get(&format!("/v1/webhooks/{ep}/deliveries?limit=3&before={cursor}"), Some(&brand))
            .await?;
        all.extend(p["items"].as_array().cloned().unwrap_or_default());
        next = p["next"].as_str().map(str::to_owned);
    }
    assert_eq!(all.len(), got.len());
    assert!(all.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
    let codes: Vec<Value> = all.iter().rev().map(|a| a["statusCode"].clone()).collect();
    assert_eq!(&codes[..4], [json!(500), json!(500), Value::Null, json!(502)]);
    assert!(all.iter().any(|a| a["error"].as_str().is_some_and(|e| e.contains("timed out"))));
    let (_, shown) = s.get(&format!("/v1/webhooks/{ep}"), Some(&brand)).await?;
    assert_eq!(shown["failingSince"], Value::Null);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_of_one_and_of_all_since_keeps_the_webhook_id() -> Result<()> {
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let rx = Receiver::start().await?;
    let (ep, secret) = register(&s, &brand, json!({ "url": rx.url })).await?;
    let stop = dispatch(&s)?;
    let ids = notify(&s, s.brand.address(), 3).await?;
    rx.wait_for(Duration::from_secs(10), |g| g.len() == 3).await?;

    let path = format!("/v1/webhooks/{ep}/replay");
    let (status, res) =
        s.post(&path, Some(&brand), json!({ "mode": "one", "notificationId": ids[1] })).await?;
    assert_eq!((status, res["queued"].as_u64()), (StatusCode::ACCEPTED, Some(1)), "{res}");
    let got = rx.wait_for(Duration::from_secs(10), |g| g.len() == 4).await?;
    assert_eq!(got[3].id, pactum_notify::webhook_id(ids[1]));
    assert_eq!(verify(&got[3], &secret)?["data"]["notification_id"], ids[1]);

    let (status, res) =
        s.post(&path, Some(&brand), json!({ "mode": "since", "notificationId": ids[1] })).await?;
    assert_eq!((status, res["queued"].as_u64()), (StatusCode::ACCEPTED, Some(2)), "{res}");
    let got = rx.wait_for(Duration::from_secs(10), |g| g.len() == 6).await?;
    let replayed: Vec<&str> = got[4..].iter().map(|g| g.id.as_str()).collect();
    assert_eq!(replayed, [pactum_notify::webhook_id(ids[1]), pactum_notify::webhook_id(ids[2])]);

    // Someone else's notification is not the endpoint's to replay; a bad mode is refused.
    let others = notify(&s, s.creator.address(), 1).await?;
    let (status, res) =
        s.post(&path, Some(&brand), json!({ "mode": "one", "notificationId": others[0] })).await?;
    assert_eq!((status, code(&res)), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, res) =
        s.post(&path, Some(&brand), json!({ "mode": "all", "notificationId": 1 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got().len(), 6, "the creator's notification never went to the brand");
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_signs_with_both_secrets_during_the_overlap() -> Result<()> {
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let rx = Receiver::start().await?;
    let (ep, old) = register(&s, &brand, json!({ "url": rx.url })).await?;
    let (status, rotated) =
        s.post(&format!("/v1/webhooks/{ep}/rotate"), Some(&brand), json!({})).await?;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap_or_default().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    let expires = rotated["endpoint"]["previousSecretExpiresAt"].as_i64().unwrap_or_default();
    assert!((expires - crate::helpers::now() - 24 * 3600).abs() < 60, "{rotated}");
    // The secret is never shown again.
    let (_, shown) = s.get(&format!("/v1/webhooks/{ep}"), Some(&brand)).await?;
    assert!(!shown.to_string().contains(&new[6..]) && !shown.to_string().contains(&old[6..]));

    let stop = dispatch(&s)?;
    notify(&s, s.brand.address(), 1).await?;
    let got = rx.wait_for(Duration::from_secs(10), |g| g.len() == 1).await?;
    verify(&got[0], &old)?;
    verify(&got[0], &new)?;
    assert_eq!(got[0].signature.split(' ').count(), 2);
    assert!(verify(&got[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());

    // Once the overlap is over, the new secret alone signs.
    sqlx::query("UPDATE webhook_endpoints SET previous_expires_at = now() - interval '1 second'")
        .execute(&s.pool)
        .await?;
    notify(&s, s.brand.address(), 1).await?;
    let got = rx.wait_for(Duration::from_secs(10), |g| g.len() == 2).await?;
    verify(&got[1], &new)?;
    assert!(verify(&got[1], &old).is_err());
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_targets_are_refused_without_the_flag() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://localhost:8080/hook",
    ] {
        let (status, res) = s.post("/v1/webhooks", Some(&brand), json!({ "url": url })).await?;
        assert_eq!(
            (status, code(&res)),
            (StatusCode::BAD_REQUEST, Some("forbidden_target")),
            "{url}"
        );
    }
    for url in ["ftp://example.com/hook", "http://user:pw@93.184.215.14/", "hook"] {
        let (status, res) = s.post("/v1/webhooks", Some(&brand), json!({ "url": url })).await?;
        assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_url")), "{url}");
    }
    // A public address passes; changing it to an internal one is refused the same way.
    let (id, _) = register(&s, &brand, json!({ "url": "https://93.184.215.14/hook" })).await?;
    let (status, res) = s
        .call(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(&brand),
            Some(json!({ "url": "http://169.254.169.254/" })),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("forbidden_target")));
    assert_eq!(s.count("webhook_endpoints").await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_checks_its_fields_and_caps_endpoints() -> Result<()> {
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let url = "http://127.0.0.1:9/hook";
    for (body, want) in [
        (json!({ "url": url, "eventTypes": ["agreement.exploded"] }), "unknown_event_type"),
        (json!({ "url": url, "roles": ["auditor"] }), "invalid_role"),
        (json!({ "url": url, "reminderLeads": [30] }), "invalid_reminder_leads"),
        (json!({ "url": url, "reminderLeads": [] }), "invalid_reminder_leads"),
        (json!({ "url": url, "reminderLeads": vec![3600; 9] }), "invalid_reminder_leads"),
        (json!({ "url": url, "reminderLeads": [31 * 86_400] }), "invalid_reminder_leads"),
        (json!({ "url": url, "agreementIds": ["0x12"] }), "invalid_body"),
        (json!({ "url": url, "secret": "mine" }), "invalid_body"),
    ] {
        let (status, res) = s.post("/v1/webhooks", Some(&brand), body.clone()).await?;
        assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some(want)), "{body}");
    }
    assert_eq!(s.count("webhook_endpoints").await?, 0);
    let (status, res) = s
        .post(
            "/v1/webhooks",
            Some(&brand),
            json!({ "url": url, "eventTypes": ["milestone.approved"], "roles": ["brand"],
                    "agreementIds": [B256::repeat_byte(7)] }),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["endpoint"]["reminderLeads"], json!([172_800, 86_400]));
    assert_eq!(res["endpoint"]["agreementIds"], json!([B256::repeat_byte(7)]));
    for _ in 1..10 {
        register(&s, &brand, json!({ "url": url })).await?;
    }
    let (status, res) = s.post("/v1/webhooks", Some(&brand), json!({ "url": url })).await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("too_many_endpoints")));
    let (_, list) = s.get("/v1/webhooks", Some(&brand)).await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(10));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_cannot_see_change_or_replay_an_endpoint() -> Result<()> {
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let stranger = s.login(&s.stranger).await?;
    let auditor = s.login(&s.auditor).await?;
    let (id, _) = register(&s, &brand, json!({ "url": "http://127.0.0.1:9/hook" })).await?;
    let p = format!("/v1/webhooks/{id}");
    let attempts: [(Method, String, Option<Value>); 7] = [
        (Method::GET, p.clone(), None),
        (
            Method::PATCH,
            p.clone(),
            Some(json!({ "url": "http://127.0.0.1:10/x", "enabled": false })),
        ),
        (Method::DELETE, p.clone(), None),
        (Method::POST, format!("{p}/rotate"), Some(json!({}))),
        (
            Method::POST,
            format!("{p}/replay"),
            Some(json!({ "mode": "since", "notificationId": 1 })),
        ),
        (Method::GET, format!("{p}/deliveries"), None),
        (Method::GET, "/v1/webhooks/999999".to_owned(), None),
    ];
    for (method, path, body) in attempts.iter().cloned() {
        let (status, res) = s.call(method.clone(), &path, Some(&stranger), body).await?;
        assert_eq!(
            (status, code(&res)),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{method} {path}"
        );
    }
    let (_, list) = s.get("/v1/webhooks", Some(&stranger)).await?;
    assert_eq!(list["items"], json!([]));
    let (status, _) = s.get(&p, Some(&auditor)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.get(&p, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Untouched: same URL, enabled, the original secret.
    let (status, shown) = s.get(&p, Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (shown["url"].as_str(), shown["enabled"].as_bool()),
        (Some("http://127.0.0.1:9/hook"), Some(true))
    );
    assert_eq!(shown["previousSecretExpiresAt"], Value::Null);
    assert_eq!(s.count("webhook_deliveries").await?, 0);

    // The owner can: disable, re-enable (clears the failure record), delete.
    sqlx::query("UPDATE webhook_endpoints SET failing_since = now()").execute(&s.pool).await?;
    let (_, off) =
        s.call(Method::PATCH, &p, Some(&brand), Some(json!({ "enabled": false }))).await?;
    assert_eq!(off["enabled"], false);
    let (_, on) = s.call(Method::PATCH, &p, Some(&brand), Some(json!({ "enabled": true }))).await?;
    assert_eq!(
        (on["enabled"].as_bool(), &on["failingSince"], &on["disabledReason"]),
        (Some(true), &Value::Null, &Value::Null)
    );
    let (status, _) = s.call(Method::DELETE, &p, Some(&brand), None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.get(&p, Some(&brand)).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

/// The Python interpreter of the API test virtualenv (scripts/setup makes it).
fn venv_python() -> Result<std::path::PathBuf> {
    let venv = std::env::var_os("PACTUM_API_VENV").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-api"),
        std::path::PathBuf::from,
    );
    let py = venv.join("bin/python");
    if !py.exists() {
        bail!(
            "{} is missing: run scripts/setup (it installs scripts/requirements-api.txt)",
            py.display()
        );
    }
    Ok(py)
}

/// The README's receiver snippet: the ```python block after the `verify-webhook` marker.
fn readme_snippet() -> Result<String> {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )?;
    let after = readme
        .split_once("<!-- verify-webhook -->")
        .ok_or_else(|| eyre!("README.md has no <!-- verify-webhook --> marker"))?
        .1;
    let block = after
        .split_once("```python\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .ok_or_else(|| eyre!("no ```python block after the marker"))?
        .0;
    Ok(block.to_owned())
}

/// Runs `python` with `code`, the delivery on stdin as JSON; returns its stdout, trimmed.
fn run_python(python: &std::path::Path, code: &str, input: &Value) -> Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new(python)
        .arg("-c")
        .arg(code)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or_else(|| eyre!("no stdin"))?.write_all(input.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("python failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_we_did_not_write_verify_our_signatures() -> Result<()> {
    let python = venv_python()?;
    let snippet = readme_snippet()?;
    let s = hooks_stack().await?;
    let brand = s.login(&s.brand).await?;
    let rx = Receiver::start().await?;
    let (ep, old) = register(&s, &brand, json!({ "url": rx.url })).await?;
    // Rotated: the header carries two signatures, as a receiver mid-switch sees it.
    let (_, rotated) =
        s.post(&format!("/v1/webhooks/{ep}/rotate"), Some(&brand), json!({})).await?;
    let new = rotated["secret"].as_str().unwrap_or_default().to_owned();
    let stop = dispatch(&s)?;
    notify(&s, s.brand.address(), 1).await?;
    let got = rx.wait_for(Duration::from_secs(10), |g| g.len() == 1).await?;
    stop.cancel();
    let g = &got[0];
    let body = String::from_utf8(g.body.to_vec())?;
    let delivery = |secret: &str, body: &str| {
        json!({
            "secret": secret,
            "headers": { "webhook-id": g.id, "webhook-timestamp": g.timestamp, "webhook-signature": g.signature },
            "body": body,
        })
    };
    let tampered = body.replace("milestones.funded", "milestone.approved");
    assert_ne!(tampered, body);
    let wrong = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    // Python's standardwebhooks (the spec's own library).
    let library = "import json, sys\nfrom standardwebhooks.webhooks import Webhook\n\
        d = json.load(sys.stdin)\n\
        try:\n    Webhook(d['secret']).verify(d['body'], d['headers'])\n    print('ok')\n\
        except Exception as e:\n    print('refused', type(e).__name__)\n";
    // The README's snippet, with a driver around it.
    let documented = format!(
        "{snippet}\nimport json, sys\nd = json.load(sys.stdin)\n\
         print('ok' if verify_webhook(d['secret'], d['headers'], d['body'].encode()) else 'refused')\n"
    );
    for code in [library, documented.as_str()] {
        assert_eq!(run_python(&python, code, &delivery(&old, &body))?, "ok");
        assert_eq!(run_python(&python, code, &delivery(&new, &body))?, "ok");
        assert!(run_python(&python, code, &delivery(&new, &tampered))?.starts_with("refused"));
        assert!(run_python(&python, code, &delivery(wrong, &body))?.starts_with("refused"));
    }
    Ok(())
}
