//! Termination under the escrow's "what a party has earned stays earned" rule, through the API:
//! signed splits name the state nonce (a stale one is refused in words), either party can void
//! them, revision rounds are bounded, and a termination while a milestone is under review takes
//! only the unearned escrow: the delivered milestone stays the creator's to claim.

use alloy::{dyn_abi::TypedData, primitives::B256};
use eyre::Result;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{stack, Stack, AUDITOR_KEY};

/// Drafts `body` as the brand, has both parties sign, sends the brand's transactions and indexes;
/// returns the agreement id.
pub(crate) async fn create(s: &Stack, brand: &str, creator: &str, body: Value) -> Result<B256> {
    let (status, draft) = s.post("/v1/drafts", Some(brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let draft_id = draft["id"].as_str().unwrap_or_default().to_owned();
    let id: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (token, key) in [(brand, &s.brand), (creator, &s.creator)] {
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
    Ok(id)
}

/// Posts an action; on success sends its transaction. Returns the response.
pub(crate) async fn act(
    s: &Stack,
    id: B256,
    token: &str,
    body: Value,
) -> Result<(StatusCode, Value)> {
    let (status, res) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(token), body).await?;
    if status == StatusCode::OK {
        if let Some(tx) = res["transactions"].get(0) {
            s.send(tx).await?;
        }
    }
    Ok((status, res))
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_splits_cancelled_signatures_revision_rounds_and_termination() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["revisionRounds"] = json!(1);
    let id = create(&s, &brand, &creator, body).await?;
    let (_, one) = s.get(&format!("/v1/agreements/{id}"), None).await?;
    assert_eq!(one["agreement"]["revisionRounds"], 1, "{one}");
    assert_eq!(one["agreement"]["nonce"], 1, "funding moved the nonce: {one}");

    // The creator delivers milestone 0.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1),
        "uri": "ipfs://reel-v1",
    });
    let (status, res) = act(&s, id, &creator, submit.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{res}");

    // Both sign a settlement of milestone 1 for the current state (nonce 2), with the short
    // default deadline; the typed data says when the signatures are void.
    let split = json!({ "action": "settle", "milestone": 1, "creatorAmount": "500000" });
    let (status, typed) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(&brand), split.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{typed}");
    assert_eq!(typed["nonce"], 2, "{typed}");
    assert_eq!(typed["typedData"]["message"]["nonce"], 2, "{typed}");
    let deadline = typed["deadline"].as_i64().unwrap_or_default();
    let ttl = deadline - crate::helpers::now();
    assert!((3_500..=3_600).contains(&ttl), "an hour by default, not {ttl} s");
    assert!(typed["note"].as_str().is_some_and(|n| n.contains("void")), "{typed}");
    let digest: B256 = serde_json::from_value(typed["digest"].clone())?;
    let td: TypedData = serde_json::from_value(typed["typedData"].clone())?;
    assert_eq!(td.eip712_signing_hash()?, digest);
    let mut signed = split.clone();
    signed["deadline"] = json!(deadline);
    signed["nonce"] = json!(2);
    signed["brandSignature"] = json!(s.sign_digest(&s.brand, digest)?);
    signed["creatorSignature"] = json!(s.sign_digest(&s.creator, digest)?);
    // The signatures name the deadline they signed: sending them without it is refused.
    let mut no_deadline = signed.clone();
    no_deadline.as_object_mut().map(|o| o.remove("deadline"));
    let (status, res) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(&brand), no_deadline).await?;
    assert_eq!((status, code(&res)), (StatusCode::BAD_REQUEST, Some("missing_field")), "{res}");

    // The creator thinks better of it and voids them; a stranger cannot.
    let stranger = s.login(&s.stranger).await?;
    let (status, res) = act(&s, id, &stranger, json!({ "action": "cancel-signatures" })).await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("not_your_action")), "{res}");
    let (status, res) = act(&s, id, &creator, json!({ "action": "cancel-signatures" })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(&brand), signed.clone()).await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("stale_nonce")), "{res}");
    let message = res["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the agreement changed since this was signed (nonce 2, now 3)"),
        "{message}"
    );
    s.index().await?;
    let (_, h) = s.get(&format!("/v1/agreements/{id}/history"), None).await?;
    let names: Vec<&str> =
        h["events"].as_array().into_iter().flatten().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        names,
        ["AgreementCreated", "MilestonesFunded", "DeliverableSubmitted", "SignaturesCancelled"]
    );

    // A mutual termination splits only the unearned escrow (milestone 1, never delivered): an
    // amount above it is refused before anyone signs.
    let (status, res) = s
        .post(
            &format!("/v1/agreements/{id}/transactions"),
            Some(&brand),
            json!({ "action": "terminate-mutually", "creatorAmount": "2000001" }),
        )
        .await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("split_too_large")), "{res}");
    assert!(
        res["error"]["message"].as_str().is_some_and(|m| m.contains("the 2000000 at stake")),
        "{res}"
    );
    let (status, res) = s
        .post(
            &format!("/v1/agreements/{id}/transactions"),
            Some(&brand),
            json!({ "action": "terminate-mutually", "creatorAmount": "2000000" }),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["typedData"]["primaryType"], "MutualTermination", "{res}");

    // One revision round: the second request is refused in words.
    let revise = json!({ "action": "request-revision", "milestone": 0, "reason": "shorter" });
    let (status, res) = act(&s, id, &brand, revise.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let mut again = submit.clone();
    again["uri"] = json!("ipfs://reel-v2");
    let (status, res) = act(&s, id, &creator, again).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) = act(&s, id, &brand, revise).await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("no_revisions_left")), "{res}");
    assert!(
        res["error"]["message"].as_str().is_some_and(|m| m.contains("no revision rounds left")),
        "{res}"
    );

    // The brand terminates while milestone 0 is under review; nobody contests; finalized, the
    // termination returns milestone 1 (never submitted) to the brand and leaves milestone 0
    // running: the agreement is closing.
    let (status, res) =
        act(&s, id, &brand, json!({ "action": "terminate", "reason": "brand safety" })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    s.warp(2 * 86_400 + 1).await?;
    let (status, res) = act(&s, id, &brand, json!({ "action": "finalize-termination" })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    s.index().await?;
    let (_, one) = s.get(&format!("/v1/agreements/{id}"), None).await?;
    assert_eq!(one["agreement"]["status"], "closing", "{one}");
    assert_eq!(one["milestones"][0]["status"], "submitted", "{one}");
    assert_eq!(one["milestones"][0]["revisions"], 1, "{one}");
    assert_eq!(one["milestones"][1]["status"], "cancelled", "{one}");
    assert_eq!(one["agreement"]["refundedToBrand"], "2000000", "{one}");
    assert_eq!(one["agreement"]["paidToCreator"], "0", "{one}");
    let (_, list) = s.get("/v1/agreements?status=closing", None).await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");

    // The creator's delivered work stays claimable: during the review window the claim is
    // refused with its end; after it, the claim pays and ends the agreement as terminated.
    let claim = json!({ "action": "claim", "milestone": 0 });
    let (status, res) = act(&s, id, &creator, claim.clone()).await?;
    assert_eq!((status, code(&res)), (StatusCode::CONFLICT, Some("review_window_open")), "{res}");
    s.warp(86_400).await?;
    let (status, res) = act(&s, id, &creator, claim).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    s.index().await?;
    let (_, one) = s.get(&format!("/v1/agreements/{id}"), None).await?;
    assert_eq!(one["agreement"]["status"], "terminated", "{one}");
    assert_eq!(one["milestones"][0]["status"], "claimed", "{one}");
    assert_eq!(one["agreement"]["paidToCreator"], "1000000", "{one}");

    // The audit bundle replays every event, the new ones included, to the escrow's own state.
    let (status, bundle) =
        s.get(&format!("/v1/agreements/{id}/audit-bundle"), Some(AUDITOR_KEY)).await?;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["agreement"]["revisionRounds"], "1");
    let report = s.verify(&bundle).await;
    assert_eq!(report.outcome, pactum_audit::Outcome::Verified, "{report:#?}");
    assert_eq!(bundle["summary"]["status"], "terminated", "{bundle}");
    // Dropping the cancellation leaves the bundle incomplete: the node has it.
    let mut tampered = bundle.clone();
    if let Some(events) = tampered["events"].as_array_mut() {
        events.retain(|e| e["name"] != "SignaturesCancelled");
    }
    let report = s.verify(&tampered).await;
    assert!(report.has("events-complete", pactum_audit::Status::Fail), "{report:#?}");
    Ok(())
}
