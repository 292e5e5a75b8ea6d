//! Hostile clients: each test is the move a stranger, a scraper or a flood would make, and what
//! the API must not give away or spend for it (private terms, the node's URL, RPC calls, row
//! locks, table rows, request capacity).

use std::net::{IpAddr, Ipv4Addr};

use alloy::{
    primitives::{keccak256, Bytes, B256},
    signers::SignerSync,
};
use eyre::{bail, Result};
use pactum_api::{AppState, Config, ConfigError};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{fresh_db, now, serve, siwe_text, stack, stack_with, Stack};

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

/// Bits of the helpers' terms document that only the parties and auditors may see.
const PRIVATE: [&str; 6] =
    ["#sponsored", "FTC", "ASA", "running shoes", "disrepute", "product reel"];

fn leaks_terms(body: &str) -> Option<&'static str> {
    PRIVATE.into_iter().find(|p| body.contains(p))
}

/// Drafts, signs, creates and funds an agreement (brand and creator), indexes it; returns its id,
/// the draft id and the creator's token.
pub(crate) async fn agreement_on_chain(s: &Stack) -> Result<(B256, String, String)> {
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    if status != StatusCode::CREATED {
        bail!("draft: {status} {draft}");
    }
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let agreement: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let body = json!({ "version": 1, "signature": s.sign_digest(key, agreement)? });
        let (status, out) =
            s.post(&format!("/v1/drafts/{id}/signatures"), Some(token), body).await?;
        if status != StatusCode::OK {
            bail!("sign: {status} {out}");
        }
    }
    let (status, txs) = s.get(&format!("/v1/drafts/{id}/transactions"), Some(&brand)).await?;
    if status != StatusCode::OK {
        bail!("transactions: {status} {txs}");
    }
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    s.index().await?;
    Ok((agreement, id, creator))
}

/// An RPC URL with a secret in its path and query, on a port nobody listens on.
async fn dead_node_with_secret() -> Result<alloy::transports::http::reqwest::Url> {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
    Ok(format!("http://127.0.0.1:{port}/v3/SECRETKEY0123456789?apikey=SECRETQUERY").parse()?)
}

/// A request's status, headers and raw body.
async fn raw(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(StatusCode, reqwest::header::HeaderMap, String)> {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    Ok((res.status(), res.headers().clone(), res.text().await?))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_learns_no_terms_from_any_route() -> Result<()> {
    let s = stack().await?;
    let (agreement, draft, creator) = agreement_on_chain(&s).await?;
    let stranger = s.login(&s.stranger).await?;

    // The hostile move: a submit whose caption fails the disclosure check. Before the fix the
    // check ran first and its 422 spelt out the terms' disclosure rules.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": keccak256("x"), "uri": "ipfs://x",
        "caption": "no labels at all",
    });
    let path = format!("/v1/agreements/{agreement}/transactions");
    let (status, body) = s.post(&path, Some(&stranger), submit.clone()).await?;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert_eq!(leaks_terms(&body.to_string()), None, "{body}");
    // The creator still gets the check (and so the rules): they are the creator's terms.
    let (status, body) = s.post(&path, Some(&creator), submit).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(leaks_terms(&body.to_string()).is_some(), "the party sees the rules: {body}");

    // Every route that touches the agreement or its draft, as the stranger: nothing private.
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;
    let calls: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (get.clone(), format!("/v1/agreements/{agreement}"), None),
        (get.clone(), format!("/v1/agreements/{agreement}/history"), None),
        (get.clone(), format!("/v1/agreements/{agreement}/history?format=csv"), None),
        (get.clone(), format!("/v1/agreements/{agreement}/audit-bundle"), None),
        (
            post.clone(),
            format!("/v1/agreements/{agreement}/caption-check"),
            Some(json!({ "milestone": 0, "caption": "nothing" })),
        ),
        (get.clone(), format!("/v1/drafts/{draft}"), None),
        (get.clone(), format!("/v1/drafts/{draft}/invitation"), None),
        (get.clone(), format!("/v1/drafts/{draft}/typed-data"), None),
        (get.clone(), format!("/v1/drafts/{draft}/transactions"), None),
        (get.clone(), format!("/v1/drafts/{draft}/log"), None),
        (get.clone(), format!("/v1/drafts/{draft}/permit"), None),
        (post.clone(), format!("/v1/drafts/{draft}/transactions"), Some(json!({}))),
        (get.clone(), "/v1/agreements".to_owned(), None),
        (put, format!("/v1/drafts/{draft}"), Some(s.draft_body(["1", "1"]))),
        (
            post.clone(),
            format!("/v1/drafts/{draft}/signatures"),
            Some(json!({ "version": 1, "signature": s.sign_digest(&s.stranger, agreement)? })),
        ),
        (get, "/v1/drafts".to_owned(), None),
    ];
    for (method, path, body) in calls {
        for token in [Some(stranger.as_str()), None] {
            let (status, _, text) =
                raw(&s.http, method.clone(), format!("{}{path}", s.base), token, body.clone())
                    .await?;
            assert_eq!(leaks_terms(&text), None, "{method} {path} ({status}): {text}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_link_opened_by_a_stranger_names_the_inviter_and_nothing_else() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let stranger = s.login(&s.stranger).await?;
    let path = format!("/v1/drafts/{id}/invitation");
    for token in [None, Some(stranger.as_str())] {
        let (status, body) = s.get(&path, token).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Exactly the draft id and the brand: no terms, amounts, creator, arbiter or state.
        let keys: Vec<&String> = body.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["brand", "id"], "{body}");
        assert_eq!(body["id"], json!(id));
        let said: alloy::primitives::Address = serde_json::from_value(body["brand"].clone())?;
        assert_eq!(said, s.brand.address());
        let text = body.to_string().to_lowercase();
        assert_eq!(leaks_terms(&body.to_string()), None, "{body}");
        assert!(!text.contains(&format!("{:x}", s.creator.address())), "the creator: {body}");
        assert!(!text.contains("1000000"), "an amount: {body}");
        // Its own draft page stays closed to them.
        let (status, _) = s.get(&format!("/v1/drafts/{id}"), token).await?;
        assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND), "{status}");
    }
    // A guessed or mangled id learns nothing either.
    for guess in ["d_000000000000000000000000", "d_", "x", &id.to_uppercase()] {
        let (status, body) = s.get(&format!("/v1/drafts/{guess}/invitation"), None).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{guess}: {body}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn node_errors_never_reach_the_client() -> Result<()> {
    let pool = fresh_db().await?;
    let mut cfg = Config::new(31_337, alloy::primitives::Address::repeat_byte(0xee));
    cfg.siwe_domain = "pactum.test".to_owned();
    cfg.siwe_uri = "https://pactum.test".to_owned();
    cfg.tokens.push(alloy::primitives::Address::repeat_byte(0x11));
    let base = serve(cfg, pool, dead_node_with_secret().await?).await?;
    let http = reqwest::Client::new();

    // A sign-in whose signature is not the key's: the server asks the node for contract code.
    let (_, _, n) =
        raw(&http, reqwest::Method::POST, format!("{base}/v1/auth/nonce"), None, Some(json!({})))
            .await?;
    let nonce: Value = serde_json::from_str(&n)?;
    let key = alloy::signers::local::PrivateKeySigner::random();
    let other = alloy::signers::local::PrivateKeySigner::random();
    let message = siwe_text(
        "pactum.test",
        "https://pactum.test",
        key.address(),
        31_337,
        nonce["nonce"].as_str().unwrap_or_default(),
        now() - 5,
        now() + 600,
    );
    let signature = Bytes::from(other.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    let login = json!({ "message": message, "signature": signature });

    let mut upstream = 0;
    for (method, path, body) in [
        (reqwest::Method::GET, "/v1/status", None),
        (reqwest::Method::GET, "/readyz", None),
        (reqwest::Method::GET, "/v1/config", None),
        (reqwest::Method::POST, "/v1/auth/login", Some(login)),
    ] {
        let (status, _, text) = raw(&http, method, format!("{base}{path}"), None, body).await?;
        assert!(!text.contains("SECRET"), "{path} ({status}) leaks the RPC URL: {text}");
        assert!(!text.contains("127.0.0.1"), "{path} ({status}) names the node: {text}");
        if status == StatusCode::BAD_GATEWAY {
            let v: Value = serde_json::from_str(&text)?;
            assert_eq!(code(&v), Some("rpc_unavailable"), "{text}");
            upstream += 1;
        }
    }
    // The test reached the node (and its errors) on more than one route.
    assert!(upstream >= 2, "only {upstream} routes failed upstream");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_bundle_refuses_a_stranger_without_asking_the_node() -> Result<()> {
    let s = stack().await?;
    let (agreement, _, creator) = agreement_on_chain(&s).await?;
    let stranger = s.login(&s.stranger).await?;
    // A second server over the same database (so the same sessions) whose node is down: any RPC
    // call it makes fails with 502.
    let dead = serve(s.cfg.clone(), s.pool.clone(), dead_node_with_secret().await?).await?;
    let path = format!("{dead}/v1/agreements/{agreement}/audit-bundle");
    let (status, _, text) =
        raw(&s.http, reqwest::Method::GET, path.clone(), Some(&stranger), None).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    // A party gets past the check; an agreement drafted here is exported from the mirror and
    // the drafts alone (its signatures are stored), so even a dead node does not stop it.
    let (status, _, text) = raw(&s.http, reqwest::Method::GET, path, Some(&creator), None).await?;
    assert_eq!(status, StatusCode::OK, "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn config_reads_token_metadata_once() -> Result<()> {
    let s = stack().await?;
    let (status, first) = s.get("/v1/config", None).await?;
    assert_eq!(status, StatusCode::OK, "{first}");
    let usd = &first["tokens"][1];
    assert!(usd["symbol"].is_string() && usd["decimals"].is_u64(), "{first}");
    // The node goes away; the token's metadata does not need it any more.
    kill_node(&s)?;
    let (status, second) = s.get("/v1/config", None).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["tokens"], first["tokens"]);
    Ok(())
}

/// Stops the stack's anvil (its process, by id).
fn kill_node(s: &Stack) -> Result<()> {
    let pid = s.anvil.child().id();
    let status = std::process::Command::new("kill").arg(pid.to_string()).status()?;
    if !status.success() {
        bail!("kill {pid}: {status}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_is_checked_before_the_draft_is_locked() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let (_, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let agreement: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    // Someone else holds the draft's row (as a slow signing request would).
    let mut held = s.pool.begin().await?;
    sqlx::query("SELECT id FROM drafts WHERE id = $1 FOR UPDATE")
        .bind(&id)
        .execute(&mut *held)
        .await?;
    // A wrong signature is refused without waiting for the lock.
    let wrong = json!({ "version": 1, "signature": s.sign_digest(&s.stranger, agreement)? });
    let quick = reqwest::Client::builder().timeout(std::time::Duration::from_secs(4)).build()?;
    let res = quick
        .post(format!("{}/v1/drafts/{id}/signatures", s.base))
        .bearer_auth(&brand)
        .json(&wrong)
        .send()
        .await;
    held.rollback().await?;
    let res = res.map_err(|e| eyre::eyre!("the request waited for the row lock: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_signature")));
    // With the lock free, the right signature is stored.
    let right = json!({ "version": 1, "signature": s.sign_digest(&s.brand, agreement)? });
    let (status, body) =
        s.post(&format!("/v1/drafts/{id}/signatures"), Some(&brand), right).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"]["signatures"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_nonces_and_sessions_are_pruned_live_ones_kept() -> Result<()> {
    let s = stack().await?;
    let t = now();
    let mut conn = s.pool.acquire().await?;
    for i in 0..5 {
        pactum_db::api::insert_nonce(&mut conn, &format!("old{i}"), t - 10 - i).await?;
        let hash = keccak256(format!("old session {i}"));
        pactum_db::api::insert_session(&mut conn, hash, s.brand.address(), "party", t - 100, t - 1)
            .await?;
    }
    pactum_db::api::insert_nonce(&mut conn, "live", t + 600).await?;
    let live_session = keccak256("live session");
    pactum_db::api::insert_session(&mut conn, live_session, s.brand.address(), "party", t, t + 600)
        .await?;
    drop(conn);

    // Each nonce handed out clears some expired ones on its way.
    let (status, _) = s.post("/v1/auth/nonce", None, json!({})).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.count("siwe_nonces WHERE expires_at < extract(epoch FROM now())").await?, 0);
    assert_eq!(s.count("siwe_nonces").await?, 2, "the live nonce and the new one");

    // The sweep, in batches smaller than the backlog.
    let state = AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url());
    let swept = pactum_api::housekeeping::sweep(&state, 2).await?;
    assert_eq!(swept.sessions, 5);
    assert_eq!(s.count("sessions").await?, 1);
    let mut conn = s.pool.acquire().await?;
    assert!(pactum_db::api::session(&mut conn, live_session, t).await?.is_some());
    assert_eq!(pactum_api::housekeeping::sweep(&state, 2).await?, Default::default());
    Ok(())
}

/// A client whose requests come from `ip` (any 127.x address is this machine).
fn client_from(ip: [u8; 4]) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::from(ip))).build()?)
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_get_429_per_ip_and_per_account() -> Result<()> {
    let s = stack_with(|c| {
        c.anonymous_rate_per_minute = 5;
        c.account_rate_per_minute = 8;
    })
    .await?;
    // Two sign-ins from 127.0.0.1: four anonymous requests, under its budget.
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;

    // A flood of nonces from 127.0.0.2: the budget passes, then 429 with Retry-After.
    let flood = client_from([127, 0, 0, 2])?;
    let nonce = format!("{}/v1/auth/nonce", s.base);
    for i in 0..5 {
        let (status, _, text) =
            raw(&flood, reqwest::Method::POST, nonce.clone(), None, Some(json!({}))).await?;
        assert_eq!(status, StatusCode::OK, "request {i}: {text}");
    }
    let (status, headers, text) =
        raw(&flood, reqwest::Method::POST, nonce.clone(), None, Some(json!({}))).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    let v: Value = serde_json::from_str(&text)?;
    assert_eq!(code(&v), Some("rate_limited"), "{text}");
    let retry: u64 = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Login is the same budget.
    let (status, _, _) = raw(
        &flood,
        reqwest::Method::POST,
        format!("{}/v1/auth/login", s.base),
        None,
        Some(json!({ "message": "x", "signature": "0x00" })),
    )
    .await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is unaffected, and so are public reads from the flooding one.
    let other = client_from([127, 0, 0, 3])?;
    let (status, _, _) = raw(&other, reqwest::Method::POST, nonce, None, Some(json!({}))).await?;
    assert_eq!(status, StatusCode::OK);
    let me = format!("{}/v1/auth/me", s.base);
    let (status, _, _) = raw(&flood, reqwest::Method::GET, me.clone(), None, None).await?;
    assert_eq!(status, StatusCode::OK);

    // One account's flood, whatever route and address: its budget, then 429.
    for i in 0..8 {
        let (status, _, text) =
            raw(&s.http, reqwest::Method::GET, me.clone(), Some(&brand), None).await?;
        assert_eq!(status, StatusCode::OK, "request {i}: {text}");
    }
    let (status, headers, _) =
        raw(&other, reqwest::Method::GET, me.clone(), Some(&brand), None).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(reqwest::header::RETRY_AFTER));
    // The other account is unaffected.
    let (status, _, _) = raw(&s.http, reqwest::Method::GET, me, Some(&creator), None).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_scheme_is_case_insensitive() -> Result<()> {
    let s = stack().await?;
    let token = s.login(&s.creator).await?;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let res = s
            .http
            .get(format!("{}/v1/auth/me", s.base))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
        let me: Value = res.json().await?;
        assert_eq!(me["role"], "party", "{scheme}");
    }
    let res = s
        .http
        .post(format!("{}/v1/auth/logout", s.base))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_of_another_chain_stops_start_up() -> Result<()> {
    let s = stack().await?;
    let right = AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url());
    right.check_chain().await?;
    let mut cfg = s.cfg.clone();
    cfg.chain_id = 8_453;
    let wrong = AppState::new(cfg, s.pool.clone(), s.anvil.endpoint_url());
    let err = wrong.check_chain().await.err();
    assert_eq!(err, Some(ConfigError::WrongChain { node: s.chain_id(), configured: 8_453 }));
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("--chain-id") && message.contains("8453"), "{message}");
    // A node that does not answer is a clear error too, without its URL.
    let dead = AppState::new(s.cfg.clone(), s.pool.clone(), dead_node_with_secret().await?);
    let err = dead.check_chain().await.err();
    assert_eq!(err, Some(ConfigError::NodeUnreachable));
    Ok(())
}

#[test]
fn bad_cors_origins_stop_start_up() {
    let mut cfg = Config::new(1, alloy::primitives::Address::ZERO);
    cfg.cors_origins = vec!["https://app.example.com".into(), "http://localhost:5173".into()];
    assert_eq!(cfg.validate(), Ok(()));
    for bad in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "*",
        "ftp://files.example.com",
        "https://user@app.example.com",
        "https://app.example.com?x=1",
        "not an origin",
    ] {
        cfg.cors_origins = vec!["https://app.example.com".into(), bad.to_owned()];
        assert_eq!(cfg.validate(), Err(ConfigError::CorsOrigin(bad.to_owned())), "{bad}");
    }
}

#[test]
fn listening_on_every_interface_needs_a_siwe_domain() {
    let any = "0.0.0.0:8080".parse().unwrap_or_else(|e| panic!("{e}"));
    let err = Config::siwe_for_listener(any, None, None).err();
    assert_eq!(err, Some(ConfigError::SiweDomainNeeded(any)));
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("--siwe-domain") && message.contains("PACTUM_SIWE_DOMAIN"));
    let v6 = "[::]:8080".parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(Config::siwe_for_listener(v6, None, None).is_err());
    // With a domain, the URI follows it; on a concrete address, the address is the default.
    assert_eq!(
        Config::siwe_for_listener(any, Some("app.example.com".into()), None),
        Ok(("app.example.com".to_owned(), "http://app.example.com".to_owned()))
    );
    let local = "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Config::siwe_for_listener(local, None, Some("https://x.test".into())),
        Ok(("127.0.0.1:8080".to_owned(), "https://x.test".to_owned()))
    );
}
