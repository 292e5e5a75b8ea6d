//! The action request from clients we did not write: each action takes exactly its own fields
//! (another action's field is refused, not ignored), a missing field is named, an unknown action
//! is refused, and a milestone the escrow cannot have is refused before the node is asked.

use alloy::primitives::B256;
use eyre::Result;
use pactum_bindings::PactumEscrow;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{serve, stack, AUDITOR_KEY},
    termination::{act, create},
};

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_takes_exactly_its_own_fields() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id = create(&s, &brand, &creator, s.draft_body(["1000000", "2000000"])).await?;
    let path = format!("/v1/agreements/{id}/transactions");
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://a",
    });
    let (status, res) = act(&s, id, &creator, submit).await?;
    assert_eq!(status, StatusCode::OK, "{res}");

    // An approval smuggling an arbiter's ruling field: refused, not silently dropped.
    let (status, res) = s
        .post(&path, Some(&brand), json!({ "action": "approve", "milestone": 0, "creatorBps": 0 }))
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{res}");
    assert!(message(&res).contains("unknown field `creatorBps`"), "{res}");
    assert!(message(&res).starts_with("approve:"), "{res}");
    // An action without fields takes none either.
    let (status, res) =
        s.post(&path, Some(&brand), json!({ "action": "contest", "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{res}");
    // A withdrawal to someone else's address is a field of `withdraw` only.
    let (status, res) = s
        .post(
            &path,
            Some(&brand),
            json!({ "action": "claim", "milestone": 0, "to": s.brand.address() }),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{res}");

    // A missing field is named, with the code the action route has always given.
    let (status, res) = s.post(&path, Some(&brand), json!({ "action": "approve" })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("missing_field")), "{res}");
    assert!(message(&res).starts_with("approve needs milestone"), "{res}");
    let (status, res) = s
        .post(
            &path,
            Some(&creator),
            json!({ "action": "submit", "milestone": 1, "contentHash": B256::repeat_byte(2) }),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("missing_field")), "{res}");
    assert!(message(&res).starts_with("submit needs uri"), "{res}");
    let (status, res) = s.post(&path, Some(&brand), json!({ "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("missing_field")), "{res}");
    // A blank reason is no reason.
    let (status, res) = s
        .post(&path, Some(&brand), json!({ "action": "dispute", "milestone": 0, "reason": "  " }))
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("missing_field")), "{res}");

    // An action that does not exist, and one that is not a string.
    let (status, res) =
        s.post(&path, Some(&brand), json!({ "action": "drain", "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("unknown_action")), "{res}");
    assert!(message(&res).contains("\"drain\"") && message(&res).contains("`approve`"), "{res}");
    let (status, res) = s.post(&path, Some(&brand), json!({ "action": 3 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{res}");

    // Two actions in one body (parsers that keep the first and the last would disagree), and
    // the array form serde would otherwise read an internally tagged enum from.
    for raw in [r#"{"action": "approve", "action": "claim", "milestone": 0}"#, r#"["approve", 0]"#]
    {
        let res = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(&brand)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, Some("invalid_body")),
            "{raw}: {body}"
        );
    }

    // Who asks comes before what is asked: no session, a bad one, an auditor.
    let (status, res) = s.post(&path, None, json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{res}");
    let (status, res) = s
        .post(&path, Some("not-a-session"), json!({ "action": "approve", "milestone": 0 }))
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{res}");
    let (status, res) =
        s.post(&path, Some(AUDITOR_KEY), json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::FORBIDDEN, Some("forbidden")), "{res}");

    // The exact bodies the clients send still work.
    let (status, res) = act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["action"], "approve", "{res}");
    assert_eq!(res["transactions"][0]["to"], json!(s.escrow), "{res}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_milestone_the_escrow_cannot_have_is_refused_before_the_node_is_asked() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id = create(&s, &brand, &creator, s.draft_body(["1000000", "2000000"])).await?;

    // The API's limit is the escrow's own.
    let escrow = PactumEscrow::new(s.escrow, s.provider.clone());
    let max = escrow.MAX_MILESTONES().call().await?;
    assert_eq!(max, alloy::primitives::U256::from(pactum_api::drafts::MAX_MILESTONES));

    // The same database behind an API whose node never answers: whatever reaches the node
    // fails with 502, so a 400 proves the refusal came first.
    let dead = serve(s.cfg.clone(), s.pool.clone(), "http://127.0.0.1:9".parse()?).await?;
    let post = |body: Value| {
        let http = s.http.clone();
        let url = format!("{dead}/v1/agreements/{id}/transactions");
        let token = brand.clone();
        async move {
            let res = http.post(url).bearer_auth(token).json(&body).send().await?;
            let status = res.status();
            Ok::<_, eyre::Report>((status, res.json::<Value>().await?))
        }
    };
    let (status, res) = post(json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_GATEWAY, Some("rpc_unavailable")), "{res}");
    for body in [
        json!({ "action": "approve", "milestone": 32 }),
        json!({ "action": "claim", "milestone": u64::MAX }),
        json!({ "action": "settle", "milestone": 40, "creatorAmount": "1" }),
    ] {
        let (status, res) = post(body.clone()).await?;
        assert_eq!(
            (status, code(&res)),
            (StatusCode::BAD_REQUEST, Some("invalid_milestone")),
            "{body}: {res}"
        );
        assert!(message(&res).contains("at most 32 milestones (indices 0 to 31)"), "{res}");
    }
    let (status, res) = post(json!({ "action": "fund", "count": 33 })).await?;
    assert_eq!(
        (status, code(&res)),
        (StatusCode::BAD_REQUEST, Some("invalid_fund_count")),
        "{res}"
    );
    let (status, res) =
        post(json!({ "action": "resolve-termination", "creatorBps": 10_001 })).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_bps")), "{res}");

    // Within the limit but not in this agreement: the escrow's own refusal, as before.
    let (status, res) = s
        .post(
            &format!("/v1/agreements/{id}/transactions"),
            Some(&brand),
            json!({ "action": "approve", "milestone": 31 }),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("invalid_milestone")), "{res}");
    // The caption check keeps the same limit.
    let (status, res) = s
        .post(
            &format!("/v1/agreements/{id}/caption-check"),
            Some(&creator),
            json!({ "milestone": 32, "caption": "#ad" }),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("invalid_milestone")), "{res}");
    Ok(())
}
