//! The dashboard's one read: `GET /v1/agreements?party=…&include=milestones` gives every row what
//! the single-agreement read says of it (the agreement and its money, each milestone, the
//! termination under way), field by field, for agreements in different states; an account sees
//! only the rows it is party or arbiter to, never another's agreement or draft, and never the
//! private terms; a page's details are its own rows' (paged one by one, nothing leaks in from
//! the next page).

use std::collections::BTreeSet;

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use eyre::Result;
use reqwest::{
    header::{ETAG, IF_NONE_MATCH},
    StatusCode,
};
use serde_json::{json, Value};

use crate::{
    helpers::{stack, Stack},
    termination::act,
};

/// Drafts `body` as the brand, has the brand and `creator_key` (the body's creator) sign, funds
/// and indexes; returns the draft id and the agreement id.
async fn create(
    s: &Stack,
    brand: &str,
    creator: &str,
    creator_key: &PrivateKeySigner,
    body: Value,
) -> Result<(String, B256)> {
    let (status, draft) = s.post("/v1/drafts", Some(brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let draft_id = draft["id"].as_str().unwrap_or_default().to_owned();
    let id: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (token, key) in [(brand, &s.brand), (creator, creator_key)] {
        let (status, body) = s
            .post(
                &format!("/v1/drafts/{draft_id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": s.sign_digest(key, id)? }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, txs) = s.get(&format!("/v1/drafts/{draft_id}/transactions"), Some(brand)).await?;
    assert_eq!(status, StatusCode::OK, "{txs}");
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    s.index().await?;
    Ok((draft_id, id))
}

/// Sends an action that must succeed.
async fn must(s: &Stack, id: B256, token: &str, body: Value) -> Result<()> {
    let (status, res) = act(s, id, token, body.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{body}: {res}");
    Ok(())
}

fn submit(milestone: u8) -> Value {
    json!({
        "action": "submit", "milestone": milestone,
        "contentHash": B256::repeat_byte(milestone + 1), "uri": format!("ipfs://m{milestone}"),
    })
}

/// The dashboard's read for `party` (signed in as `token`): every row, oldest first.
async fn rows(s: &Stack, party: &str, token: &str) -> Result<Vec<Value>> {
    let (status, page) = s
        .get(&format!("/v1/agreements?party={party}&include=milestones&limit=200"), Some(token))
        .await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next"].is_null(), "one page: {page}");
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

fn ids(rows: &[Value]) -> BTreeSet<String> {
    rows.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect()
}

/// Fails unless `row` says exactly what `GET /v1/agreements/{id}` says: every field of the
/// agreement, each milestone, the termination; and nothing more (no terms).
async fn same_as_single_read(s: &Stack, row: &Value) -> Result<()> {
    let id = row["id"].as_str().unwrap_or_default();
    let (status, one) = s.get(&format!("/v1/agreements/{id}"), None).await?;
    assert_eq!(status, StatusCode::OK, "{one}");
    let mut agreement = row.as_object().cloned().unwrap_or_default();
    let milestones = agreement.remove("milestones");
    let termination = agreement.remove("termination");
    let expected = one["agreement"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        agreement.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the row's fields are the agreement's, no more (no terms): {row}"
    );
    for (field, value) in &expected {
        assert_eq!(&agreement[field], value, "{id}: {field}");
    }
    let milestones = milestones.unwrap_or(Value::Null);
    assert!(milestones.is_array(), "{id}: the row carries its milestones: {row}");
    assert_eq!(milestones, one["milestones"], "{id}: milestones");
    assert_eq!(termination.unwrap_or(Value::Null), one["termination"], "{id}: termination");
    Ok(())
}

/// The block time and decoded fields of the last `name` event in the history of `id`.
async fn last_event(s: &Stack, id: B256, name: &str) -> Result<(i64, Value)> {
    let (_, h) = s.get(&format!("/v1/agreements/{id}/history"), None).await?;
    let e = h["events"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|e| e["event"] == name)
        .cloned()
        .ok_or_else(|| eyre::eyre!("no {name} in {h}"))?;
    Ok((e["timestamp"].as_i64().unwrap_or_default(), e["fields"].clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_rows_are_the_single_reads_and_only_the_accounts_own() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let stranger = s.login(&s.stranger).await?;
    let arbiter = s.login(&s.arbiter).await?;
    let body = || s.draft_body(["1000000", "2000000"]);

    // A: active, milestone 0 delivered and in review.
    let (_, a) = create(&s, &brand, &creator, &s.creator, body()).await?;
    must(&s, a, &creator, submit(0)).await?;
    // B: milestone 0 in dispute; the brand ends the agreement, the creator contests.
    let (_, b) = create(&s, &brand, &creator, &s.creator, body()).await?;
    must(&s, b, &creator, submit(0)).await?;
    must(&s, b, &brand, json!({ "action": "dispute", "milestone": 0, "reason": "off brief" }))
        .await?;
    must(&s, b, &brand, json!({ "action": "terminate", "reason": "brand safety" })).await?;
    must(&s, b, &creator, json!({ "action": "contest" })).await?;
    // C: ended by the creator, not contested (yet).
    let (_, c) = create(&s, &brand, &creator, &s.creator, body()).await?;
    must(&s, c, &creator, json!({ "action": "terminate", "reason": "unpaid expenses" })).await?;
    // D: completed, both milestones approved.
    let (_, d) = create(&s, &brand, &creator, &s.creator, body()).await?;
    for m in 0..2 {
        must(&s, d, &creator, submit(m)).await?;
        must(&s, d, &brand, json!({ "action": "approve", "milestone": m })).await?;
    }
    // E: the same brand with another creator (the stranger), no arbiter: not the creator's.
    let mut other = body();
    other["creator"] = json!(s.stranger.address());
    other["arbiter"] = json!(alloy::primitives::Address::ZERO);
    other["arbiterFeeBps"] = json!(0);
    let (e_draft, e) = create(&s, &brand, &stranger, &s.stranger, other).await?;
    s.index().await?;
    let all = |list: &[B256]| list.iter().map(|id| id.to_string()).collect::<BTreeSet<_>>();

    // Each account's rows are exactly its agreements, whoever asks.
    let creator_rows = rows(&s, &s.creator.address().to_string(), &creator).await?;
    assert_eq!(ids(&creator_rows), all(&[a, b, c, d]), "the creator's rows: not E");
    let stranger_rows = rows(&s, &s.stranger.address().to_string(), &stranger).await?;
    assert_eq!(ids(&stranger_rows), all(&[e]), "the stranger's rows: only its own");
    let arbiter_rows = rows(&s, &s.arbiter.address().to_string(), &arbiter).await?;
    assert_eq!(ids(&arbiter_rows), all(&[a, b, c, d]), "the arbiter's rows: not E (no arbiter)");
    let brand_rows = rows(&s, &s.brand.address().to_string(), &brand).await?;
    assert_eq!(ids(&brand_rows), all(&[a, b, c, d, e]), "the brand's rows");
    // Asked by another account, the creator's rows carry no more: no terms in any row.
    assert_eq!(rows(&s, &s.creator.address().to_string(), &stranger).await?, creator_rows);

    // Every row says what the single read says, field by field, in every state.
    let statuses: Vec<&str> = brand_rows.iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["active", "terminating", "terminating", "completed", "active"]);
    for row in brand_rows.iter().chain(&creator_rows).chain(&stranger_rows).chain(&arbiter_rows) {
        same_as_single_read(&s, row).await?;
    }

    // And what the chain says: B's dispute and contested termination, C's contest deadline.
    let row = |id: B256| brand_rows.iter().find(|r| r["id"] == id.to_string()).cloned();
    let rb = row(b).unwrap_or_default();
    let (opened, _) = last_event(&s, b, "DisputeOpened").await?;
    assert_eq!(rb["milestones"][0]["status"], "disputed");
    assert_eq!(rb["milestones"][0]["since"], opened, "the dispute's start: {rb}");
    let (contested, _) = last_event(&s, b, "TerminationContested").await?;
    assert_eq!(
        rb["termination"],
        json!({
            "startedBy": "brand", "contested": true, "since": contested,
            "contestDeadline": null, "rulingDeadline": contested + 7 * 86_400,
        }),
        "{rb}"
    );
    let rc = row(c).unwrap_or_default();
    let (started, fields) = last_event(&s, c, "TerminationStarted").await?;
    let deadline = i64::from_str_radix(
        fields["contestDeadline"].as_str().unwrap_or_default().trim_start_matches("0x"),
        16,
    )?;
    assert_eq!(
        rc["termination"],
        json!({
            "startedBy": "creator", "contested": false, "since": started,
            "contestDeadline": deadline, "rulingDeadline": null,
        }),
        "{rc}"
    );
    let rd = row(d).unwrap_or_default();
    assert!(rd.get("termination").is_none(), "no termination under way: {rd}");
    assert_eq!(rd["milestones"][1]["status"], "approved", "{rd}");
    assert_eq!(rd["paidToCreator"], "3000000", "{rd}");

    // Paged one row at a time, each page's details are its own row's (nothing from the next).
    let mut cursor = String::new();
    let mut walked = Vec::new();
    loop {
        let (status, page) = s
            .get(
                &format!(
                    "/v1/agreements?party={}&include=milestones&limit=1{cursor}",
                    s.brand.address()
                ),
                Some(&brand),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        walked.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(walked, brand_rows, "paged one by one: the same rows, the same details");

    // Revalidated like every read: an ETag, and 304 for a client that holds it.
    let url = format!(
        "{}/v1/agreements?party={}&include=milestones&limit=200",
        s.base,
        s.brand.address()
    );
    let first = s.http.get(&url).bearer_auth(&brand).send().await?;
    let tag = first.headers().get(ETAG).cloned().ok_or_else(|| eyre::eyre!("no ETag"))?;
    let again = s.http.get(&url).bearer_auth(&brand).header(IF_NONE_MATCH, tag).send().await?;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Without the include, the list is as it was: no milestones, no termination.
    let (_, plain) = s.get(&format!("/v1/agreements?party={}", s.brand.address()), None).await?;
    for r in plain["items"].as_array().into_iter().flatten() {
        assert!(r.get("milestones").is_none() && r.get("termination").is_none(), "{r}");
    }
    // Only what the list offers may be included.
    let (status, res) = s.get("/v1/agreements?include=terms", None).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["error"]["code"], "invalid_query", "{res}");

    // The dashboard's other read, the drafts: nobody sees another account's draft.
    let draft_ids = |v: &Value| -> BTreeSet<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_str())
            .map(str::to_owned)
            .collect()
    };
    let (_, mine) = s.get("/v1/drafts", Some(&creator)).await?;
    assert!(!draft_ids(&mine).contains(&e_draft), "the creator does not see E's draft: {mine}");
    let (_, theirs) = s.get("/v1/drafts", Some(&stranger)).await?;
    assert_eq!(draft_ids(&theirs), BTreeSet::from([e_draft]), "the stranger sees only E's draft");
    Ok(())
}
