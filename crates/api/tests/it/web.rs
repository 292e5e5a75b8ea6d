//! What the web app needs from the API: the client configuration, the caller's drafts, the
//! disclosure check before a submission, and the app itself served at `/` beside the API.

use alloy::primitives::B256;
use eyre::Result;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{stack, Stack, AUDITOR_KEY};

/// A draft signed by both and funded on chain; returns (draft id, agreement id, brand and
/// creator tokens).
async fn funded(s: &Stack) -> Result<(String, B256, String, String)> {
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let (status, d) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    let agreement: B256 = serde_json::from_value(d["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let sig = s.sign_digest(key, agreement)?;
        let (status, body) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": sig }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, txs) = s.get(&format!("/v1/drafts/{id}/transactions"), Some(&brand)).await?;
    for tx in txs["transactions"].as_array().cloned().unwrap_or_default() {
        s.send(&tx).await?;
    }
    s.index().await?;
    Ok((id, agreement, brand, creator))
}

#[tokio::test(flavor = "multi_thread")]
async fn config_names_the_chain_escrow_and_tokens() -> Result<()> {
    let s = stack().await?;
    let (status, cfg) = s.get("/v1/config", None).await?;
    assert_eq!(status, StatusCode::OK, "{cfg}");
    assert_eq!(cfg["chainId"].as_u64(), Some(s.chain_id()));
    assert_eq!(
        cfg["escrow"].as_str().map(str::to_lowercase),
        Some(s.escrow.to_string().to_lowercase())
    );
    assert_eq!(cfg["siweDomain"], "pactum.test");
    let tokens = cfg["tokens"].as_array().cloned().unwrap_or_default();
    assert_eq!(tokens.len(), 2, "{cfg}");
    assert_eq!(tokens[0]["symbol"], "ETH");
    assert_eq!(tokens[0]["decimals"], 18);
    assert_eq!(
        tokens[1]["address"].as_str().map(str::to_lowercase),
        Some(s.usd.to_string().to_lowercase())
    );
    assert_eq!(tokens[1]["symbol"], "pUSD");
    assert_eq!(tokens[1]["decimals"], 6);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_list_shows_each_party_only_its_own() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let stranger = s.login(&s.stranger).await?;
    let (status, first) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["3000000", "4000000"])).await?;

    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_str().map(str::to_owned))
            .collect()
    };
    // Both parties see both drafts, newest first (to the second), with version and status.
    let mut want =
        vec![first["id"].as_str().unwrap_or_default(), second["id"].as_str().unwrap_or_default()];
    want.sort_unstable();
    for token in [&brand, &creator] {
        let (status, list) = s.get("/v1/drafts", Some(token)).await?;
        assert_eq!(status, StatusCode::OK, "{list}");
        let mut got = ids(&list);
        let times: Vec<i64> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["version"]["createdAt"].as_i64())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(list["items"][0]["status"], "awaiting_signatures");
        assert_eq!(list["items"][0]["version"]["number"], 1);
    }
    // Someone else's drafts are not listed; auditors see all; nobody without a session.
    let (_, list) = s.get("/v1/drafts", Some(&stranger)).await?;
    assert!(ids(&list).is_empty(), "{list}");
    let (_, list) = s.get("/v1/drafts", Some(AUDITOR_KEY)).await?;
    assert_eq!(ids(&list).len(), 2, "{list}");
    let (status, err) = s.get("/v1/drafts", None).await?;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn caption_check_gives_the_verdict_without_recording_anything() -> Result<()> {
    let s = stack().await?;
    let (_, id, _brand, creator) = funded(&s).await?;
    let path = format!("/v1/agreements/{id}/caption-check");
    let log_rows = s.count("offchain_log").await?;

    let (status, bad) =
        s.post(&path, Some(&creator), json!({ "milestone": 0, "caption": "Launch day!" })).await?;
    assert_eq!(status, StatusCode::OK, "{bad}");
    assert_eq!(bad["ok"], false);
    let summary = bad["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("US (FTC)") && summary.contains("#ad"), "{summary}");
    assert_eq!(bad["report"]["rules"].as_array().map(Vec::len), Some(2));

    let (_, good) = s
        .post(&path, Some(&creator), json!({ "milestone": 0, "caption": "#ad Launch day!" }))
        .await?;
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["report"]["warnings"], json!([]), "{good}");

    // The hostile caption: Instagram's own tag, where the signed terms list #ad and #sponsored.
    // It used to pass. Refused now, each unmet rule and its labels said once.
    let partnership = json!({ "milestone": 0, "caption": "Paid partnership with Acme" });
    let (_, native) = s.post(&path, Some(&creator), partnership.clone()).await?;
    assert_eq!(native["ok"], false, "{native}");
    let summary = native["summary"].as_str().unwrap_or_default();
    assert_eq!(
        summary,
        "The caption lacks the disclosure the terms require: US (FTC) needs #ad or #sponsored; \
         UK (ASA) needs #ad."
    );
    assert_eq!(native["report"]["rules"][0]["accepted"], json!(["#ad", "#sponsored"]));
    // Submitting it is refused with the same sentence, not wrapped in another that echoes it.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(7), "uri": "ipfs://x",
        "caption": "Paid partnership with Acme",
    });
    let (status, refused) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(&creator), submit).await?;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("disclosure_missing")),
        "{refused}"
    );
    assert_eq!(refused["error"]["message"].as_str(), Some(summary), "{refused}");
    // Buried after six hashtags, #ad still meets the terms, with a warning.
    let buried = "Launch day! #run #trail #fit #shoes #morning #nature #ad";
    let (_, late) =
        s.post(&path, Some(&creator), json!({ "milestone": 0, "caption": buried })).await?;
    assert_eq!(late["ok"], true, "{late}");
    let warnings = late["report"]["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{late}");
    assert!(warnings[0].as_str().unwrap_or_default().contains("after 6 other hashtags"), "{late}");
    // Inside another word it is no label; in capitals it is.
    let (_, word) = s
        .post(&path, Some(&creator), json!({ "milestone": 0, "caption": "#adventure #badge" }))
        .await?;
    assert_eq!(word["ok"], false, "{word}");
    let (_, caps) =
        s.post(&path, Some(&creator), json!({ "milestone": 0, "caption": "#AD day" })).await?;
    assert_eq!(caps["ok"], true, "{caps}");
    let (_, audited) =
        s.post(&path, Some(AUDITOR_KEY), json!({ "milestone": 1, "caption": "#ad" })).await?;
    assert_eq!(audited["ok"], true, "{audited}");
    assert_eq!(s.count("offchain_log").await?, log_rows, "a check records nothing");

    // The rules are private terms: not for strangers or anonymous callers.
    let stranger = s.login(&s.stranger).await?;
    let (status, err) =
        s.post(&path, Some(&stranger), json!({ "milestone": 0, "caption": "#ad" })).await?;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, _) = s.post(&path, None, json!({ "milestone": 0, "caption": "#ad" })).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, err) = s.post(&path, Some(&creator), json!({ "caption": "#ad" })).await?;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_permit_funds_in_one_transaction() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let (_, d) = s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    let agreement: B256 = serde_json::from_value(d["version"]["agreementId"].clone())?;

    // Not before both signed.
    let (status, err) = s.get(&format!("/v1/drafts/{id}/permit"), Some(&brand)).await?;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_signed")));
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let sig = s.sign_digest(key, agreement)?;
        s.post(
            &format!("/v1/drafts/{id}/signatures"),
            Some(token),
            json!({ "version": 1, "signature": sig }),
        )
        .await?;
    }

    // The permit's typed data names the token's domain, the brand, the escrow and the total.
    let (status, p) = s.get(&format!("/v1/drafts/{id}/permit"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["value"], "3000000");
    assert_eq!(p["typedData"]["primaryType"], "Permit");
    let typed: alloy::dyn_abi::TypedData = serde_json::from_value(p["typedData"].clone())?;
    let digest = typed.eip712_signing_hash()?;
    let path = format!("/v1/drafts/{id}/transactions");

    // Signed by someone else than the brand: refused before anything is sent.
    let wrong = s.sign_digest(&s.creator, digest)?;
    let body = json!({ "permit": { "deadline": p["deadline"], "signature": wrong } });
    let (status, err) = s.post(&path, Some(&brand), body).await?;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_signature"))
    );

    // The brand's: one transaction, no approve, and the agreement is funded.
    let good = s.sign_digest(&s.brand, digest)?;
    let body = json!({ "permit": { "deadline": p["deadline"], "signature": good } });
    let (status, txs) = s.post(&path, Some(&brand), body).await?;
    assert_eq!(status, StatusCode::OK, "{txs}");
    let txs = txs["transactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(txs.len(), 1);
    s.send(&txs[0]).await?;
    s.index().await?;
    let (_, a) = s.get(&format!("/v1/agreements/{agreement}"), Some(&brand)).await?;
    assert_eq!(a["agreement"]["funded"], "3000000", "{a}");

    // ETH agreements need no permit.
    let mut eth = s.draft_body(["1000", "2000"]);
    eth["token"] = json!("0x0000000000000000000000000000000000000000");
    let (_, d) = s.post("/v1/drafts", Some(&brand), eth).await?;
    let eth_id = d["id"].as_str().unwrap_or_default().to_owned();
    let eth_agreement: B256 = serde_json::from_value(d["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let sig = s.sign_digest(key, eth_agreement)?;
        s.post(
            &format!("/v1/drafts/{eth_id}/signatures"),
            Some(token),
            json!({ "version": 1, "signature": sig }),
        )
        .await?;
    }
    let (status, err) = s.get(&format!("/v1/drafts/{eth_id}/permit"), Some(&brand)).await?;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_permit_for_eth"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_is_served_beside_the_api() -> Result<()> {
    let s = stack().await?;
    for path in ["/", "/drafts/d_0123", "/agreements/0xabc", "/audit"] {
        let res = s.http.get(format!("{}{path}", s.base)).send().await?;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(res.headers().contains_key("content-security-policy"), "{path}");
        assert!(res.text().await?.contains("<title>Pactum</title>"), "{path}");
    }
    // The app's script is served with its type; a missing file is not the page.
    let html = s.http.get(format!("{}/", s.base)).send().await?.text().await?;
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    assert!(script.starts_with("/assets/") && script.ends_with(".js"), "{script}");
    let res = s.http.get(format!("{}{script}", s.base)).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str()?.starts_with("text/javascript"));
    assert_eq!(s.get("/assets/missing-0000.js", None).await?.0, StatusCode::NOT_FOUND);

    // Unknown API paths keep the API's error shape rather than becoming the page.
    let (status, err) = s.get("/v1/nothing-here", None).await?;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, _) = s.call(Method::POST, "/drafts/d_0123", None, Some(json!({}))).await?;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

/// The raw body of `path` asked for with `accept-encoding` (the test client decompresses
/// nothing): its `content-encoding` and bytes.
async fn fetch_encoded(s: &Stack, path: &str, accept: &str) -> Result<(Option<String>, Vec<u8>)> {
    let res =
        s.http.get(format!("{}{path}", s.base)).header("accept-encoding", accept).send().await?;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let encoding =
        res.headers().get("content-encoding").map(|v| v.to_str().map(str::to_owned)).transpose()?;
    Ok((encoding, res.bytes().await?.to_vec()))
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_are_compressed_when_the_client_accepts_it() -> Result<()> {
    use std::io::Read;
    let s = stack().await?;
    // The API's JSON (the OpenAPI document: tens of kilobytes) and the page, each compressed once.
    for path in ["/openapi.json", "/drafts/d_0123"] {
        let (encoding, plain) = fetch_encoded(&s, path, "identity").await?;
        assert_eq!(encoding, None, "{path}");
        assert!(plain.len() > 500, "{path}");

        let (encoding, gz) = fetch_encoded(&s, path, "gzip").await?;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
        assert!(gz.len() < plain.len(), "{path}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut unzipped)?;
        assert!(unzipped == plain, "{path}: gzip body differs");

        let (encoding, br) = fetch_encoded(&s, path, "gzip, br").await?;
        assert_eq!(encoding.as_deref(), Some("br"), "{path}");
        let mut unbrotli = Vec::new();
        brotli::Decompressor::new(br.as_slice(), 4096).read_to_end(&mut unbrotli)?;
        assert!(unbrotli == plain, "{path}: brotli body differs");
    }
    Ok(())
}
