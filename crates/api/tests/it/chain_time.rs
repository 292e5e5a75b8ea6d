//! Deadlines measured by the chain's time, as the escrow measures them (`block.timestamp`), not by
//! the server's clock: on a chain moved days ahead (as `pactum demo` moves `pactum dev`'s), a
//! draft made with the defaults must still go on chain, a deadline past by the chain's time must
//! be refused before anyone signs it, and the default signature life must stay short. Reading the
//! chain's time costs an RPC call: refusals that do not need it must not make it, and no number of
//! requests may make more than one per cache period.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use alloy::providers::{Provider, ProviderBuilder};
use eyre::Result;
use pactum_api::chain_time::ChainClock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{now, serve, stack, Stack},
    termination::create,
};

/// Ten days: more than the old wall-clock default (7 days) and than the new one (24 hours).
const AHEAD: u64 = 10 * 86_400;

/// The longest default signature life this project accepts: 24 hours.
const SHORT: i64 = 24 * 3600;

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

/// The signature deadline of the draft's current version.
fn signature_deadline(draft: &Value) -> Result<i64> {
    let agreement: pactum_core::Agreement =
        serde_json::from_value(draft["version"]["agreement"].clone())?;
    Ok(i64::try_from(agreement.deadline.to::<u64>())?)
}

#[tokio::test(flavor = "multi_thread")]
async fn after_time_travel_a_draft_with_the_defaults_still_goes_on_chain() -> Result<()> {
    let s = stack().await?;
    s.warp(AHEAD).await?;
    let chain = s.chain_time().await?;
    assert!(chain >= now() + AHEAD as i64 - 60, "the warp did not move the chain's time");
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;

    // The default signature deadline lies after the chain's time, by at most 24 hours.
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body_at(["1000000", "2000000"], chain)).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let deadline = signature_deadline(&draft)?;
    assert!(deadline > chain, "deadline {deadline} is not after the chain's time {chain}");
    assert!(deadline <= chain + SHORT + 60, "deadline {deadline}: more than 24 h after {chain}");
    assert_eq!(pactum_api::drafts::DEFAULT_SIGNATURE_LIFETIME, SHORT);

    // A new version (proposed by the creator) gets the same: the chain's time, not the clock's.
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let (status, v2) = s
        .call(
            Method::PUT,
            &format!("/v1/drafts/{id}"),
            Some(&creator),
            Some(s.draft_body_at(["1000000", "2500000"], chain)),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{v2}");
    let deadline = signature_deadline(&v2)?;
    assert!(deadline > chain && deadline <= chain + SHORT + 60, "{deadline} vs {chain}");

    // With both signatures, the permit the brand is asked to sign lasts an hour of chain time.
    let v2_id: alloy::primitives::B256 =
        serde_json::from_value(v2["version"]["agreementId"].clone())?;
    for (key, token) in [(&s.brand, &brand), (&s.creator, &creator)] {
        let body = json!({ "version": 2, "signature": s.sign_digest(key, v2_id)? });
        let (status, out) =
            s.post(&format!("/v1/drafts/{id}/signatures"), Some(token), body).await?;
        assert_eq!(status, StatusCode::OK, "{out}");
    }
    let (status, permit) = s.get(&format!("/v1/drafts/{id}/permit"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{permit}");
    let deadline = permit["deadline"].as_i64().unwrap_or_default();
    assert!(deadline > chain && deadline <= chain + 3600 + 60, "permit {deadline} vs {chain}");

    // And the escrow takes it: both sign, the brand funds (createAndFund must not revert with
    // Escrow_SignatureExpired), the indexer sees it.
    let agreement =
        create(&s, &brand, &creator, s.draft_body_at(["1000000", "2000000"], chain)).await?;
    let (status, read) = s.get(&format!("/v1/agreements/{agreement}"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["agreement"]["status"], "active", "{read}");

    // A split's signatures, too, last an hour of the chain's time by default.
    let (status, split) = s
        .post(
            &format!("/v1/agreements/{agreement}/transactions"),
            Some(&brand),
            json!({ "action": "settle", "milestone": 0, "creatorAmount": "1" }),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{split}");
    let deadline = split["deadline"].as_i64().unwrap_or_default();
    assert!(deadline > chain && deadline <= chain + 3600 + 60, "split {deadline} vs {chain}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_past_by_the_chains_time_is_refused_though_future_by_the_clock() -> Result<()> {
    let s = stack().await?;
    s.warp(AHEAD).await?;
    let chain = s.chain_time().await?;
    let brand = s.login(&s.brand).await?;
    let wall = now();

    // Milestone deadlines a week and two past the server's clock: both before the chain's time.
    let (status, res) =
        s.post("/v1/drafts", Some(&brand), s.draft_body_at(["1000000", "2000000"], wall)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(code(&res), Some("deadline_in_past"), "{res}");
    let message = res["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("milestones[0].deadline"), "{res}");

    // A signature deadline two days past the clock: past on chain, so refused too.
    let mut body = s.draft_body_at(["1000000", "2000000"], chain);
    body["signatureDeadline"] = json!(wall + 2 * 86_400);
    let (status, res) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(code(&res), Some("deadline_in_past"), "{res}");

    // The escrow's five-year bound counts from the chain's time too: a deadline just inside it
    // (beyond it by the clock) is taken, one just outside is refused.
    let mut body = s.draft_body_at(["1000000", "2000000"], chain);
    body["milestones"][1]["deadline"] = json!(chain + pactum_api::drafts::MAX_TERM - 600);
    let (status, res) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    body["milestones"][1]["deadline"] = json!(chain + pactum_api::drafts::MAX_TERM + 600);
    let (status, res) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(code(&res), Some("deadline_too_far"), "{res}");

    // A new version is held to the same.
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body_at(["1000000", "2000000"], chain)).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default();
    let (status, res) = s
        .call(
            Method::PUT,
            &format!("/v1/drafts/{id}"),
            Some(&brand),
            Some(s.draft_body_at(["1000000", "2000000"], wall)),
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(code(&res), Some("deadline_in_past"), "{res}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_that_need_no_time_never_ask_the_node() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let stranger = s.login(&s.stranger).await?;
    let auditor = s.login(&s.auditor).await?;
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();

    // The same database behind an API whose node never answers: anything that reaches the node
    // fails with 502, so each other answer proves the refusal came before the RPC call.
    let dead = serve(s.cfg.clone(), s.pool.clone(), "http://127.0.0.1:9".parse()?).await?;
    let call = |method: Method, path: String, token: String, body: Value| {
        let req = s.http.request(method, format!("{dead}{path}")).bearer_auth(token).json(&body);
        async move {
            let res = req.send().await?;
            let status = res.status();
            Ok::<_, eyre::Report>((status, res.json::<Value>().await?))
        }
    };
    let valid = s.draft_body(["1000000", "2000000"]);
    let mut bad_address = valid.clone();
    bad_address["creator"] = json!("0x1234");
    let mut bad_terms = valid.clone();
    bad_terms["terms"]["deliverables"][0]["milestone"] = json!(7);
    let mut new_creator = valid.clone();
    new_creator["creator"] = json!(s.stranger.address());
    let mut bad_window = valid.clone();
    bad_window["milestones"][0]["reviewWindow"] = json!(60);
    let drafts = "/v1/drafts".to_owned();
    let one = format!("/v1/drafts/{id}");
    let cases = [
        (Method::POST, &drafts, &brand, bad_address.clone(), StatusCode::BAD_REQUEST),
        (Method::POST, &drafts, &brand, bad_terms.clone(), StatusCode::BAD_REQUEST),
        (Method::POST, &drafts, &brand, bad_window, StatusCode::UNPROCESSABLE_ENTITY),
        (Method::POST, &drafts, &auditor, valid.clone(), StatusCode::FORBIDDEN),
        (Method::PUT, &one, &stranger, valid.clone(), StatusCode::NOT_FOUND),
        (Method::PUT, &one, &auditor, valid.clone(), StatusCode::FORBIDDEN),
        (Method::PUT, &one, &creator, bad_terms, StatusCode::BAD_REQUEST),
        (Method::PUT, &one, &creator, new_creator, StatusCode::BAD_REQUEST),
    ];
    for (method, path, token, body, want) in cases {
        let (status, res) = call(method.clone(), path.clone(), token.clone(), body).await?;
        assert_eq!(status, want, "{method} {path}: {res}");
    }
    // A draft with nothing wrong but its time to measure reaches the node, and says it failed:
    // no guess from the server's clock.
    for (method, path, token) in [(Method::POST, &drafts, &brand), (Method::PUT, &one, &creator)] {
        let (status, res) =
            call(method.clone(), path.clone(), token.clone(), valid.clone()).await?;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{method} {path}: {res}");
        assert_eq!(code(&res), Some("rpc_unavailable"), "{res}");
    }
    // Reading a draft never waits on the node.
    let res = s.http.get(format!("{dead}{one}")).bearer_auth(&creator).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    Ok(())
}

/// A JSON-RPC proxy in front of `s`'s anvil that counts `eth_getBlockByNumber` calls.
/// A proxy to the node that counts `eth_getBlockByNumber` calls and answers each after `delay`
/// (so that callers who arrive while a read is in flight can be made to, deterministically).
async fn slow_counting_proxy(s: &Stack, delay: Duration) -> Result<(String, Arc<AtomicUsize>)> {
    let count = Arc::new(AtomicUsize::new(0));
    let upstream = s.anvil.endpoint();
    let http = reqwest::Client::new();
    let counted = count.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let (http, upstream, counted) = (http.clone(), upstream.clone(), counted.clone());
        async move {
            // Single requests and batches alike.
            let calls = body.matches("\"eth_getBlockByNumber\"").count();
            counted.fetch_add(calls, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            let res = http
                .post(upstream)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let text = res.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(([("content-type", "application/json")], text))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, count))
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_callers_share_one_reading_and_time_travel_is_seen_at_once() -> Result<()> {
    let s = stack().await?;
    // Each read takes 300 ms, so all fifty callers arrive while the first is in flight.
    let (proxy, count) = slow_counting_proxy(&s, Duration::from_millis(300)).await?;
    let provider = ProviderBuilder::new().connect_http(proxy.parse()?).erased();

    // Fifty callers at once, one RPC call.
    let clock = Arc::new(ChainClock::new());
    // Spawned before any is awaited (collected), so they run at once.
    let reads: Vec<_> = (0..50)
        .map(|_| {
            let (clock, provider) = (clock.clone(), provider.clone());
            tokio::spawn(async move { clock.now(&provider).await })
        })
        .collect();
    let mut times = Vec::new();
    for r in reads {
        times.push(r.await?.map_err(|e| eyre::eyre!("{e:?}"))?);
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let first = s.chain_time().await?;
    assert!(times.iter().all(|&t| t >= first - 1 && t <= first + 60), "{times:?} vs {first}");
    // `known` never asks.
    assert!(clock.known() >= first - 1);
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // The hostile case for a cache: the chain jumps right after a reading (pactum demo does this
    // on a dev chain, then a draft follows at once). The next caller must see the jump, or the
    // signatures it defaults expire on chain before they are sent.
    s.warp(AHEAD).await?;
    let moved = clock.now(&provider).await.map_err(|e| eyre::eyre!("{e:?}"))?;
    assert!(moved >= first + AHEAD as i64, "{moved} after a jump of {AHEAD} from {first}");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn many_drafts_at_once_never_ask_the_node_more_than_once_each() -> Result<()> {
    let s = stack().await?;
    let (proxy, count) = slow_counting_proxy(&s, Duration::from_millis(200)).await?;
    let api = serve(s.cfg.clone(), s.pool.clone(), proxy.parse()?).await?;
    let brand = s.login(&s.brand).await?;
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let req = s
                .http
                .post(format!("{api}/v1/drafts"))
                .bearer_auth(&brand)
                .json(&s.draft_body([&(1_000_000 + i).to_string(), "2000000"]));
            tokio::spawn(async move { req.send().await.map(|r| r.status()) })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await??, StatusCode::CREATED);
    }
    // One read per draft at most (each needs the chain's time once), and far fewer: drafts that
    // arrive while a 200 ms read is in flight share it.
    let calls = count.load(Ordering::SeqCst);
    assert!((1..=10).contains(&calls), "{calls} calls for 20 drafts");
    Ok(())
}
