//! A superseded version's signatures are void in the API only: on chain they stay valid until the
//! version's deadline. The party who signed it is offered the escrow's `revoke`, which voids it
//! there too.

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use eyre::Result;
use pactum_bindings::PactumEscrow;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{stack, Stack};

/// Brand and creator sign version 1, then the creator proposes version 2. Returns the draft id,
/// version 1's id and both parties' tokens.
async fn signed_then_superseded(s: &Stack) -> Result<(String, B256, String, String)> {
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(draft["revocable"], json!([]));
    let v1: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (key, token) in [(&s.brand, &brand), (&s.creator, &creator)] {
        let (status, out) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": s.sign_digest(key, v1)? }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{out}");
    }
    let (status, v2) = s
        .call(
            Method::PUT,
            &format!("/v1/drafts/{id}"),
            Some(&creator),
            Some(s.draft_body(["1000000", "1500000"])),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"]["number"], 2);
    Ok((id, v1, brand, creator))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_superseded_signature_is_offered_for_revoking_and_revoke_voids_it_on_chain() -> Result<()>
{
    let s = stack().await?;
    let (id, v1, brand, _creator) = signed_then_superseded(&s).await?;

    // The brand's view offers revoking version 1, from the brand, to the escrow.
    let (status, view) = s.get(&format!("/v1/drafts/{id}"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    let offers = view["revocable"].as_array().cloned().unwrap_or_default();
    assert_eq!(offers.len(), 1, "{view}");
    let offer = &offers[0];
    assert_eq!(offer["version"], 1);
    assert_eq!(offer["agreementId"], json!(v1));
    assert!(offer["deadline"].as_i64().unwrap_or(0) > crate::helpers::now());
    assert_eq!(offer["transaction"]["from"], json!(s.brand.address()));
    assert_eq!(offer["transaction"]["to"], json!(s.escrow));

    // An auditor and a stranger are offered nothing (the stranger does not see the draft).
    let auditor = s.login(&s.auditor).await?;
    let (_, audited) = s.get(&format!("/v1/drafts/{id}"), Some(&auditor)).await?;
    assert_eq!(audited["revocable"], json!([]));

    // Sending it voids version 1 on chain: AgreementRevoked, and the agreement reads as revoked.
    s.send(&offer["transaction"]).await?;
    s.index().await?;
    let (status, one) = s.get(&format!("/v1/agreements/{v1}"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["agreement"]["status"], "revoked");

    // So the old signatures can no longer create it.
    let version1 = old_version(&s, &id).await?;
    let escrow = PactumEscrow::new(s.escrow, s.provider.clone());
    let create =
        escrow.create(version1.0, version1.1, version1.2).from(s.brand.address()).send().await;
    assert!(create.is_err(), "version 1 was created after its revoke");

    // And once revoked it is offered no more.
    let (_, after) = s.get(&format!("/v1/drafts/{id}"), Some(&brand)).await?;
    assert_eq!(after["revocable"], json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_revoke_a_superseded_version_can_still_be_created_on_chain() -> Result<()> {
    let s = stack().await?;
    let (id, v1, _brand, creator) = signed_then_superseded(&s).await?;
    // The creator signed version 1 too: it is offered the revoke as well.
    let (_, view) = s.get(&format!("/v1/drafts/{id}"), Some(&creator)).await?;
    assert_eq!(view["revocable"][0]["version"], 1, "{view}");
    assert_eq!(view["revocable"][0]["transaction"]["from"], json!(s.creator.address()));

    // The attack the offer exists for: nobody revoked, so the API's voided signatures still
    // create version 1 on chain.
    let (agreement, brand_sig, creator_sig) = old_version(&s, &id).await?;
    let escrow = PactumEscrow::new(s.escrow, s.provider.clone());
    let receipt = escrow
        .create(agreement, brand_sig, creator_sig)
        .from(s.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    s.index().await?;
    let (status, _) = s.get(&format!("/v1/agreements/{v1}"), Some(&creator)).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

/// What `who` is offered to revoke: (version, from) pairs. The list (`GET /v1/drafts`, built in
/// two statements for all drafts) shows the draft exactly as the draft's own route does.
async fn offers(s: &Stack, id: &str, token: &str) -> Result<Vec<(i64, Value)>> {
    let (status, view) = s.get(&format!("/v1/drafts/{id}"), Some(token)).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (status, list) = s.get("/v1/drafts", Some(token)).await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["items"].as_array().into_iter().flatten().find(|d| d["id"] == id);
    assert_eq!(listed, Some(&view), "{list}");
    Ok(view["revocable"]
        .as_array()
        .ok_or_else(|| eyre::eyre!("no revocable list: {view}"))?
        .iter()
        .map(|r| (r["version"].as_i64().unwrap_or(-1), r["transaction"]["from"].clone()))
        .collect())
}

/// Posts `key`'s signature of `version` (digest `digest`).
async fn sign(
    s: &Stack,
    id: &str,
    key: &PrivateKeySigner,
    token: &str,
    version: i32,
    digest: B256,
) -> Result<()> {
    let body = json!({ "version": version, "signature": s.sign_digest(key, digest)? });
    let (status, out) = s.post(&format!("/v1/drafts/{id}/signatures"), Some(token), body).await?;
    assert_eq!(status, StatusCode::OK, "{out}");
    Ok(())
}

/// Proposes a new version with milestone 1 at `amount`; returns its agreement id.
async fn propose(s: &Stack, id: &str, token: &str, amount: &str) -> Result<B256> {
    let body = s.draft_body(["1000000", amount]);
    let (status, v) =
        s.call(Method::PUT, &format!("/v1/drafts/{id}"), Some(token), Some(body)).await?;
    assert_eq!(status, StatusCode::OK, "{v}");
    Ok(serde_json::from_value(v["version"]["agreementId"].clone())?)
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_party_who_signed_a_superseded_version_is_offered_its_revoke() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let (status, draft) =
        s.post("/v1/drafts", Some(&brand), s.draft_body(["1000000", "2000000"])).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    // Version 1: only the creator signs; the brand proposes version 2 instead.
    let v1: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    sign(&s, &id, &s.creator, &creator, 1, v1).await?;
    let v2 = propose(&s, &id, &brand, "1500000").await?;
    // The creator's signature of version 1 is still good on chain (the brand could sign v1 and
    // create it): the creator is offered its revoke. The brand signed nothing it could revoke.
    assert_eq!(offers(&s, &id, &creator).await?, vec![(1, json!(s.creator.address()))]);
    assert_eq!(offers(&s, &id, &brand).await?, vec![]);

    // Version 2: only the brand signs; the creator proposes version 3. Each is offered exactly
    // the version it signed, from its own account.
    sign(&s, &id, &s.brand, &brand, 2, v2).await?;
    propose(&s, &id, &creator, "1750000").await?;
    assert_eq!(offers(&s, &id, &creator).await?, vec![(1, json!(s.creator.address()))]);
    assert_eq!(offers(&s, &id, &brand).await?, vec![(2, json!(s.brand.address()))]);

    // An auditor is offered nothing; a stranger does not even learn the draft exists.
    let auditor = s.login(&s.auditor).await?;
    assert_eq!(offers(&s, &id, &auditor).await?, vec![]);
    let stranger = s.login(&s.stranger).await?;
    let (status, res) = s.get(&format!("/v1/drafts/{id}"), Some(&stranger)).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    let (_, list) = s.get("/v1/drafts", Some(&stranger)).await?;
    assert_eq!(list["items"], json!([]), "{list}");

    // The creator's offer works on chain: version 1 is revoked by the one party who signed it.
    let (_, view) = s.get(&format!("/v1/drafts/{id}"), Some(&creator)).await?;
    s.send(&view["revocable"][0]["transaction"]).await?;
    s.index().await?;
    let (_, one) = s.get(&format!("/v1/agreements/{v1}"), Some(&creator)).await?;
    assert_eq!(one["agreement"]["status"], "revoked", "{one}");
    assert_eq!(offers(&s, &id, &creator).await?, vec![]);
    Ok(())
}

/// Version 1's agreement and both stored signatures of it, read back from the database.
async fn old_version(
    s: &Stack,
    id: &str,
) -> Result<(pactum_core::Agreement, alloy::primitives::Bytes, alloy::primitives::Bytes)> {
    let mut conn = s.pool.acquire().await?;
    let v = pactum_db::api::version(&mut conn, id, 1).await?.ok_or_else(|| eyre::eyre!("no v1"))?;
    let agreement: pactum_core::Agreement = serde_json::from_value(v.agreement)?;
    let sigs = pactum_db::api::signatures(&mut conn, id, 1).await?;
    let sig = |role: &str| {
        sigs.iter()
            .find(|x| x.role == role)
            .map(|x| alloy::primitives::Bytes::from(x.signature.clone()))
            .ok_or_else(|| eyre::eyre!("no {role} signature"))
    };
    Ok((agreement, sig("brand")?, sig("creator")?))
}
