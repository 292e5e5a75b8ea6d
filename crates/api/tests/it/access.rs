//! Access boundaries and malformed input: each refusal has its code, and nothing is stored.

use alloy::primitives::{Bytes, B256};
use alloy::signers::SignerSync;
use eyre::Result;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{now, siwe_text, stack, Stack, AUDITOR_KEY};

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

async fn login_with(
    s: &Stack,
    message: &str,
    key: &alloy::signers::local::PrivateKeySigner,
) -> Result<(StatusCode, Value)> {
    let signature = Bytes::from(key.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    s.post("/v1/auth/login", None, json!({ "message": message, "signature": signature })).await
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_refuses_replays_mismatches_and_dead_sessions() -> Result<()> {
    let s = stack().await?;
    // A nonce works once.
    let message = s.siwe_message(&s.brand).await?;
    assert_eq!(login_with(&s, &message, &s.brand).await?.0, StatusCode::OK);
    let (status, body) = login_with(&s, &message, &s.brand).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );

    // Signed by someone else than the message's address.
    let message = s.siwe_message(&s.brand).await?;
    let (status, body) = login_with(&s, &message, &s.stranger).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_signature")),
        "{body}"
    );

    // Wrong domain, wrong chain, expired, unknown nonce: each refused before any session exists.
    let (_, n) = s.post("/v1/auth/nonce", None, json!({})).await?;
    let nonce = n["nonce"].as_str().unwrap_or_default().to_owned();
    let a = s.brand.address();
    for (message, why) in [
        (
            siwe_text(
                "evil.test",
                "https://pactum.test",
                a,
                s.chain_id(),
                &nonce,
                now(),
                now() + 600,
            ),
            "domain",
        ),
        (
            siwe_text("pactum.test", "https://pactum.test", a, 1, &nonce, now(), now() + 600),
            "chain",
        ),
        (
            siwe_text(
                "pactum.test",
                "https://pactum.test",
                a,
                s.chain_id(),
                &nonce,
                now() - 7200,
                now() - 3600,
            ),
            "expired",
        ),
        (
            siwe_text(
                "pactum.test",
                "https://pactum.test",
                a,
                s.chain_id(),
                "unknownnonce123",
                now(),
                now() + 600,
            ),
            "nonce",
        ),
    ] {
        let (status, body) = login_with(&s, &message, &s.brand).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert!(code(&body).is_some_and(|c| c.starts_with("siwe_")), "{why}: {body}");
    }
    // The nonce those used is still good: a refused sign-in spends nothing.
    let good = siwe_text(
        "pactum.test",
        "https://pactum.test",
        a,
        s.chain_id(),
        &nonce,
        now(),
        now() + 600,
    );
    assert_eq!(login_with(&s, &good, &s.brand).await?.0, StatusCode::OK);
    assert_eq!(s.count("sessions").await?, 2);

    // Logout ends the session.
    let token = s.login(&s.creator).await?;
    assert_eq!(s.get("/v1/auth/me", Some(&token)).await?.1["role"], "party");
    assert_eq!(
        s.call(Method::POST, "/v1/auth/logout", Some(&token), None).await?.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = s.get("/v1/auth/me", Some(&token)).await?;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, _) = s.post("/v1/drafts", Some(&token), s.draft_body(["1", "1"])).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn parties_see_their_own_drafts_and_auditors_write_nothing() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let stranger = s.login(&s.stranger).await?;
    let auditor = s.login(&s.auditor).await?;
    let (status, draft) = s.post("/v1/drafts", Some(&brand), s.draft_body(["5", "6"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let digest: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;

    // A stranger cannot learn the draft exists; anonymous callers are asked to sign in before
    // anything about the request is looked at (the same 401 for any id).
    for path in [
        format!("/v1/drafts/{id}"),
        format!("/v1/drafts/{id}/typed-data"),
        format!("/v1/drafts/{id}/log"),
    ] {
        let (status, body) = s.get(&path, Some(stranger.as_str())).await?;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_found")), "{path}");
        let (status, body) = s.get(&path, None).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{path}"
        );
        let (status, body) = s.get("/v1/drafts/not-an-id/log", None).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{path}"
        );
    }
    // Auditors read, by session or API key, and cannot write.
    assert_eq!(s.get(&format!("/v1/drafts/{id}"), Some(&auditor)).await?.0, StatusCode::OK);
    assert_eq!(s.get(&format!("/v1/drafts/{id}"), Some(AUDITOR_KEY)).await?.0, StatusCode::OK);
    for token in [auditor.as_str(), AUDITOR_KEY] {
        let (status, body) = s.post("/v1/drafts", Some(token), s.draft_body(["5", "6"])).await?;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")));
        let (status, _) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": s.sign_digest(&s.auditor, digest)? }),
            )
            .await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // A stranger cannot sign it or change it.
    let (status, _) = s
        .post(
            &format!("/v1/drafts/{id}/signatures"),
            Some(&stranger),
            json!({ "version": 1, "signature": s.sign_digest(&s.stranger, digest)? }),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The creator posting the brand's signature (a signature by the wrong address) is refused.
    let (status, body) = s
        .post(
            &format!("/v1/drafts/{id}/signatures"),
            Some(&creator),
            json!({ "version": 1, "signature": s.sign_digest(&s.brand, digest)? }),
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_signature")),
        "{body}"
    );
    assert_eq!(s.count("draft_signatures").await?, 0);
    assert_eq!(s.count("offchain_log").await?, 1, "only the creation was logged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_drafts_are_refused_with_their_codes_and_store_nothing() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let good = s.draft_body(["1000", "2000"]);
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        for (i, p) in path.iter().enumerate() {
            if i + 1 == path.len() {
                match p.parse::<usize>() {
                    Ok(n) => at[n] = value.clone(),
                    Err(_) => at[*p] = value.clone(),
                }
                break;
            }
            at = match p.parse::<usize>() {
                Ok(n) => &mut at[n],
                Err(_) => &mut at[*p],
            };
        }
        body
    };
    let lower = format!("{:#x}", s.creator.address());
    let checksummed = s.creator.address().to_checksum(None);
    // Flip the case of one letter of the checksummed address: still hex, wrong checksum.
    let bad_checksum: String = {
        let mut flipped = false;
        checksummed
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if !flipped && i > 1 && c.is_ascii_alphabetic() {
                    flipped = true;
                    if c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                } else {
                    c
                }
            })
            .collect()
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&["creator"], json!("0x1234")), "invalid_address"),
        (with(&["creator"], json!(bad_checksum)), "bad_checksum"),
        (with(&["creator"], json!(s.brand.address())), "invalid_parties"),
        (with(&["milestones", "0", "amount"], json!("-5")), "invalid_amount"),
        (with(&["milestones", "0", "amount"], json!("0")), "zero_amount"),
        (with(&["milestones", "0", "amount"], json!("1".repeat(80))), "amount_overflow"),
        (with(&["milestones", "0", "amount"], json!("1.5")), "invalid_amount"),
        (with(&["token"], json!("0x000000000000000000000000000000000000dEaD")), "unknown_token"),
        (with(&["milestones"], json!([])), "invalid_milestone_count"),
        (with(&["terms", "deliverables"], json!([])), "terms_no_deliverables"),
        (with(&["unexpected"], json!(1)), "invalid_body"),
    ];
    for (body, want) in cases {
        let (status, got) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
        assert_eq!((status, code(&got)), (StatusCode::BAD_REQUEST, Some(want)), "{body}\n{got}");
        assert!(got["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Well-formed, but outside what the escrow accepts at creation: refused before anyone signs
    // (422), each naming the rule.
    let no_arbiter = |fee: u64, contest: u64| {
        let mut b = with(&["arbiter"], Value::Null);
        b["arbiterFeeBps"] = json!(fee);
        b["contestWindow"] = json!(contest);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(&["arbiterFeeBps"], json!(2_001)), "invalid_fee", "cap of 2000"),
        (no_arbiter(250, 3_600), "invalid_fee", "without an arbiter"),
        (no_arbiter(0, 91 * 86_400), "invalid_window", "contestWindow"),
        (with(&["contestWindow"], json!(3_599)), "invalid_window", "contestWindow"),
        (with(&["arbitrationWindow"], json!(0)), "invalid_window", "arbitrationWindow"),
        (with(&["arbitrationWindow"], json!(90 * 86_400 + 1)), "invalid_window", "90 days"),
        (
            with(&["milestones", "1", "reviewWindow"], json!(60)),
            "invalid_window",
            "milestones[1].reviewWindow",
        ),
        (with(&["milestones", "0", "deadline"], json!(now() - 10)), "deadline_in_past", "future"),
        (
            with(&["milestones", "0", "deadline"], json!(now() + 5 * 365 * 86_400 + 600)),
            "deadline_too_far",
            "five years",
        ),
        (with(&["revisionRounds"], json!(11)), "too_many_revision_rounds", "(10)"),
    ];
    for (body, want, words) in cases {
        let (status, got) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
        assert_eq!(
            (status, code(&got)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{body}\n{got}"
        );
        assert!(
            got["error"]["message"].as_str().is_some_and(|m| m.contains(words)),
            "{words}: {got}"
        );
    }
    // The bounds themselves are accepted: no arbiter, no fee, no contest window; ten rounds;
    // one-hour and 90-day windows.
    let mut edge = no_arbiter(0, 0);
    edge["revisionRounds"] = json!(10);
    edge["milestones"][0]["reviewWindow"] = json!(3_600);
    edge["milestones"][1]["reviewWindow"] = json!(90 * 86_400);
    let (status, got) = s.post("/v1/drafts", Some(&brand), edge).await?;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(got["version"]["agreement"]["revisionRounds"], 10);
    let (status, got) = s.post("/v1/drafts", Some(&brand), good.clone()).await?;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(got["version"]["agreement"]["revisionRounds"], 2, "the default");
    // Lowercase and correctly checksummed addresses are both fine.
    for creator in [lower, checksummed] {
        let (status, got) =
            s.post("/v1/drafts", Some(&brand), with(&["creator"], json!(creator))).await?;
        assert_eq!(status, StatusCode::CREATED, "{got}");
    }
    let drafts_before = s.count("drafts").await?;

    // Invalid JSON, wrong content type, oversized body.
    let raw = |body: String, ct: &'static str| {
        s.http
            .post(format!("{}/v1/drafts", s.base))
            .bearer_auth(&brand)
            .header("content-type", ct)
            .body(body)
    };
    let res = raw("{\"creator\": ".to_owned(), "application/json").send().await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&res.json().await?), Some("invalid_json"));
    let res = raw(good.to_string(), "text/plain").send().await?;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = good.clone();
    huge["terms"]["morality_clause"] = json!("x".repeat(100 * 1024));
    let res = raw(huge.to_string(), "application/json").send().await?;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&res.json().await?), Some("body_too_large"));

    // Bad reads.
    let (status, body) = s.get("/v1/agreements/0x1234", None).await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_id")));
    let (status, body) = s.get("/v1/agreements?limit=0", None).await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_limit")));
    let (status, body) = s.get("/v1/agreements?party=nope", None).await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_address")));
    let (status, body) = s.get("/v1/agreements?bogus=1", None).await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let (status, body) = s.get(&format!("/v1/agreements/{}", B256::repeat_byte(7)), None).await?;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_found")));

    assert_eq!(s.count("drafts").await?, drafts_before, "refused requests stored nothing");
    assert_eq!(s.count("draft_versions").await?, drafts_before);
    assert_eq!(s.count("offchain_log").await?, drafts_before);
    Ok(())
}
