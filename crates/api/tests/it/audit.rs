//! The audit bundle against a hostile exporter: every forgery and omission the review tried is
//! refused by the check that names it, and honest bundles (drafted here, created directly on
//! chain, signed by a contract wallet, with a deferred payout) verify. Each tampered bundle is
//! checked twice: as tampered (the exporter's signature breaks too) and with the signature
//! stripped, as a forger would send it, so that the content check alone is shown to catch it.

use alloy::{
    primitives::{Address, Bytes, B256, U256},
    providers::Provider,
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::SolEventInterface,
};
use eyre::Result;
use pactum_audit::{Outcome, Report, Status};
use pactum_bindings::{MockERC1271Wallet, PactumEscrow};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{now, siwe_text, stack, Stack, AUDITOR_KEY},
    termination::{act, create},
};

/// Exports a bundle and checks it against the published JSON schema (docs/), the document a
/// verifier in another language is written from.
async fn export(s: &Stack, id: B256) -> Result<Value> {
    let (status, bundle) =
        s.get(&format!("/v1/agreements/{id}/audit-bundle"), Some(AUDITOR_KEY)).await?;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let schema = schema()?;
    let errors: Vec<String> = schema.iter_errors(&bundle).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "the bundle breaks its schema: {errors:#?}");
    Ok(bundle)
}

fn schema() -> Result<jsonschema::Validator> {
    let text = include_str!("../../../../docs/audit-bundle.schema.json");
    jsonschema::validator_for(&serde_json::from_str(text)?).map_err(|e| eyre::eyre!("{e}"))
}

/// Asserts `check` fails on the tampered bundle, signed as exported and with its signature
/// stripped.
async fn refused(s: &Stack, what: &str, tampered: &Value, check: &str) -> Report {
    let report = s.verify(tampered).await;
    assert_eq!(report.outcome, Outcome::Failed, "{what}: {report:#?}");
    assert!(report.has(check, Status::Fail), "{what}: {check} should fail: {report:#?}");
    let mut unsigned = tampered.clone();
    if let Some(o) = unsigned.as_object_mut() {
        o.remove("exporter");
    }
    let trust_any = pactum_audit::Trust {
        escrow: s.escrow,
        chain_id: Some(s.chain_id()),
        exporter: None,
        historical: false,
    };
    let report = pactum_audit::verify(&unsigned, &s.provider, &trust_any).await;
    assert!(report.has(check, Status::Fail), "{what} (unsigned): {check} should fail: {report:#?}");
    report
}

fn events(b: &mut Value) -> &mut Vec<Value> {
    b["events"].as_array_mut().expect("events")
}

fn position(b: &Value, name: &str) -> usize {
    b["events"].as_array().and_then(|e| e.iter().position(|e| e["name"] == name)).expect(name)
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_incomplete_bundles_are_refused_by_the_check_that_names_them() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let arbiter = s.login(&s.arbiter).await?;
    let id = create(&s, &brand, &creator, s.draft_body(["1000000", "2000000"])).await?;
    let submit = |m: u64| json!({ "action": "submit", "milestone": m, "contentHash": B256::repeat_byte(7 + m as u8), "uri": format!("ipfs://m{m}") });
    assert_eq!(act(&s, id, &creator, submit(0)).await?.0, StatusCode::OK);
    assert_eq!(
        act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?.0,
        StatusCode::OK
    );
    assert_eq!(act(&s, id, &creator, submit(1)).await?.0, StatusCode::OK);
    let dispute = json!({ "action": "dispute", "milestone": 1, "reason": "not as briefed" });
    let (status, res) = act(&s, id, &brand, dispute).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let ruling = json!({ "action": "resolve", "milestone": 1, "creatorBps": 6000 });
    let (status, res) = act(&s, id, &arbiter, ruling).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    // A second agreement of the same parties, for a foreign event.
    let other = create(&s, &brand, &creator, s.draft_body(["3000000", "4000000"])).await?;
    s.index().await?;

    let honest = export(&s, id).await?;
    let report = s.verify(&honest).await;
    assert_eq!(report.outcome, Outcome::Verified, "{report:#?}");
    assert!(report.checks.iter().all(|c| c.status == Status::Pass), "{report:#?}");
    assert_eq!(honest["summary"]["paidToCreator"], "2170000", "{honest}");
    assert!(honest["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["name"] == "DisputeResolved")));

    // An omitted ruling.
    let mut b = honest.clone();
    let i = position(&b, "DisputeResolved");
    events(&mut b).remove(i);
    refused(&s, "dropped ruling", &b, "events-complete").await;

    // Another agreement's event slipped in.
    let foreign = export(&s, other).await?;
    let mut b = honest.clone();
    events(&mut b).push(foreign["events"][1].clone());
    refused(&s, "foreign event", &b, "events-complete").await;

    // The creator's payout relabelled as the brand's refund.
    let mut b = honest.clone();
    let i = position(&b, "MilestoneApproved");
    events(&mut b)[i]["name"] = json!("MilestoneReclaimed");
    refused(&s, "relabelled event", &b, "event-names").await;

    // Two events swapped, one listed twice.
    let mut b = honest.clone();
    events(&mut b).swap(1, 2);
    refused(&s, "swapped events", &b, "events-complete").await;
    let mut b = honest.clone();
    let dup = b["events"][2].clone();
    events(&mut b).insert(3, dup);
    refused(&s, "duplicated event", &b, "events-complete").await;

    // Edited amounts: in an event's data, and in the stated money.
    let mut b = honest.clone();
    let i = position(&b, "MilestoneApproved");
    let data = b["events"][i]["data"].as_str().unwrap_or_default().to_owned();
    b["events"][i]["data"] = json!(format!("{}ff", &data[..data.len() - 2]));
    refused(&s, "edited event amount", &b, "events-complete").await;
    let mut b = honest.clone();
    b["summary"]["paidToCreator"] = json!("1");
    refused(&s, "edited money summary", &b, "summary").await;

    // Edited terms.
    let mut b = honest.clone();
    let text = b["terms"]["canonical"].as_str().unwrap_or_default().replacen('1', "2", 1);
    b["terms"]["canonical"] = json!(text);
    refused(&s, "edited terms", &b, "terms").await;

    // A look-alike escrow named in the bundle.
    let mut b = honest.clone();
    b["escrow"] = json!(Address::repeat_byte(0x42));
    refused(&s, "another escrow", &b, "pinned-escrow").await;

    // The as-of block lowered to hide the dispute and its ruling: consistent block and hash,
    // events cut, money restated; the node still has the later events.
    let mut b = honest.clone();
    let cut = position(&b, "DisputeOpened");
    let before: u64 = b["events"][cut - 1]["blockNumber"].as_str().unwrap_or_default().parse()?;
    let block = s.provider.get_block_by_number(before.into()).await?.expect("block");
    b["asOf"] = json!({ "number": before.to_string(), "hash": block.header.hash });
    events(&mut b).truncate(cut);
    // A careful forger restates the money as it stood then (a replay of the cut events).
    let agreement = pactum_core::Agreement::try_from(&serde_json::from_value::<
        pactum_audit::bundle::AgreementDoc,
    >(b["agreement"].clone())?)?;
    let mut ledger = pactum_core::ledger::AgreementLedger::created(agreement);
    for e in b["events"].as_array().into_iter().flatten().skip(1) {
        let e: pactum_audit::bundle::Event = serde_json::from_value(e.clone())?;
        let ev = PactumEscrow::PactumEscrowEvents::decode_raw_log(&e.topics, &e.data)?;
        ledger.apply(&ev, 0)?;
    }
    b["summary"] = serde_json::to_value(pactum_audit::bundle::Summary::of(&ledger))?;
    let r = refused(&s, "lowered as-of block", &b, "later-events").await;
    assert!(r.has("events-complete", Status::Pass), "complete up to its block: {r:#?}");
    assert!(r.has("summary", Status::Pass), "its money restated as of its block: {r:#?}");

    // A forged exporter signature: another key's, under the server's address; and a genuine
    // signature by another exporter than the trusted one.
    let stranger = PrivateKeySigner::random();
    let mut b = honest.clone();
    let digest = pactum_audit::verify::exporter_digest(&b).map_err(|e| eyre::eyre!(e))?;
    let sig = stranger.sign_hash_sync(&alloy::primitives::eip191_hash_message(digest))?;
    b["exporter"]["signature"] = json!(Bytes::from(sig.as_bytes().to_vec()));
    let report = s.verify(&b).await;
    assert!(report.has("exporter-signature", Status::Fail), "{report:#?}");
    b["exporter"]["address"] = json!(stranger.address());
    let report = s.verify(&b).await;
    assert!(report.has("exporter-signature", Status::Fail), "{report:#?}");
    let unpinned = pactum_audit::verify(
        &b,
        &s.provider,
        &pactum_audit::Trust {
            escrow: s.escrow,
            chain_id: None,
            exporter: None,
            historical: false,
        },
    )
    .await;
    assert_eq!(
        unpinned.outcome,
        Outcome::Verified,
        "the stranger's own signature is genuine: {unpinned:#?}"
    );

    // An extension a later version adds is covered by the signature and ignored by the checks.
    let mut b = honest.clone();
    b["extensions"] = json!({ "x-note": "added after signing" });
    let report = s.verify(&b).await;
    assert!(report.has("exporter-signature", Status::Fail), "{report:#?}");

    // Numbers in one encoding only: a JSON number where a decimal string belongs is unreadable.
    let mut b = honest.clone();
    b["chainId"] = json!(s.chain_id());
    let report = s.verify(&b).await;
    assert_eq!(report.outcome, Outcome::Unreadable, "{report:#?}");
    assert_eq!(report.outcome.exit_code(), 2);
    assert!(!schema()?.is_valid(&b), "the schema allows a JSON number for chainId");
    let mut b = honest.clone();
    b["summary"]["held"] = json!("0x10");
    assert!(!schema()?.is_valid(&b), "the schema allows a hex amount");
    assert_eq!(s.verify(&b).await.outcome, Outcome::Unreadable);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agreement_created_directly_on_chain_verifies_what_is_on_chain() -> Result<()> {
    let s = stack().await?;
    let t = u64::try_from(now())?;
    let agreement = pactum_core::Agreement {
        brand: s.brand.address(),
        creator: s.creator.address(),
        arbiter: Address::ZERO,
        token: Address::ZERO,
        termsHash: B256::repeat_byte(0x11),
        arbiterFeeBps: 0,
        contestWindow: 0,
        arbitrationWindow: 3_600,
        revisionRounds: 1,
        deadline: alloy::primitives::Uint::from(t + 30 * 86_400),
        salt: U256::from(99),
        milestones: vec![pactum_core::Milestone {
            amount: U256::from(5_000u64),
            deadline: alloy::primitives::Uint::from(t + 20 * 86_400),
            reviewWindow: 86_400,
        }],
    };
    let id = pactum_core::agreement_id(&agreement, &pactum_core::domain(s.chain_id(), s.escrow));
    let escrow = PactumEscrow::new(s.escrow, s.provider.clone());
    escrow
        .createAndFund(
            agreement.clone(),
            s.sign_digest(&s.brand, id)?,
            s.sign_digest(&s.creator, id)?,
            U256::from(1),
        )
        .from(s.brand.address())
        .value(U256::from(5_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    s.index().await?;
    let bundle = export(&s, id).await?;
    let report = s.verify(&bundle).await;
    assert_eq!(report.outcome, Outcome::Verified, "{report:#?}");
    for absent in ["terms", "offchain-log", "offchain-log-anchored"] {
        assert!(report.has(absent, Status::Skipped), "{absent}: {report:#?}");
    }
    // The signatures come from the creation transaction itself, and are checked against it.
    assert!(report.has("signatures-submitted", Status::Pass), "{report:#?}");
    let mut b = bundle.clone();
    b["signatures"][0]["signature"] = b["signatures"][1]["signature"].clone();
    refused(&s, "swapped-in signature", &b, "signature-brand").await;
    // The same signature with v as 0/1: it recovers to the brand, but the escrow's check refuses
    // that encoding, so it is not what the brand's agreement rests on.
    let mut b = bundle.clone();
    let sig = b["signatures"][0]["signature"].as_str().unwrap_or_default().to_owned();
    let v = u8::from_str_radix(&sig[130..], 16)?;
    b["signatures"][0]["signature"] = json!(format!("{}{:02x}", &sig[..130], v - 27));
    let r = refused(&s, "v re-encoded", &b, "signature-brand").await;
    assert!(r.has("signatures-submitted", Status::Fail), "{r:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contract_wallet_creator_and_a_deferred_payout_verify_and_cannot_be_edited() -> Result<()>
{
    let s = stack().await?;
    let wallet = MockERC1271Wallet::deploy(s.provider.clone(), s.creator.address()).await?;
    let address = *wallet.address();
    // The wallet signs in with its owner's key (EIP-1271) and signs the agreement.
    let (_, n) = s.post("/v1/auth/nonce", None, json!({})).await?;
    let message = siwe_text(
        "pactum.test",
        "https://pactum.test",
        address,
        s.chain_id(),
        n["nonce"].as_str().unwrap_or_default(),
        now(),
        now() + 600,
    );
    let signature =
        Bytes::from(s.creator.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    let (status, body) = s
        .post("/v1/auth/login", None, json!({ "message": message, "signature": signature }))
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wallet_token = body["token"].as_str().unwrap_or_default().to_owned();
    let brand = s.login(&s.brand).await?;
    let mut body = s.draft_body(["1000", "2000"]);
    body["creator"] = json!(address);
    body["token"] = json!(Address::ZERO);
    let (status, draft) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let draft_id = draft["id"].as_str().unwrap_or_default().to_owned();
    let id: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&wallet_token, &s.creator)] {
        let (status, res) = s
            .post(
                &format!("/v1/drafts/{draft_id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": s.sign_digest(key, id)? }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{res}");
    }
    let (_, txs) = s.get(&format!("/v1/drafts/{draft_id}/transactions"), Some(&brand)).await?;
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    // The wallet delivers (through its owner), then stops accepting ETH: the approval's payout is
    // deferred to its credit.
    s.index().await?;
    let (status, res) = s
        .post(
            &format!("/v1/agreements/{id}/transactions"),
            Some(&wallet_token),
            json!({ "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(3), "uri": "ipfs://w" }),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let call: Bytes = serde_json::from_value(res["transactions"][0]["data"].clone())?;
    wallet
        .execute(s.escrow, U256::ZERO, call)
        .from(s.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let code = s.provider.get_code_at(address).await?;
    let _: Value =
        s.provider.raw_request("anvil_setCode".into(), (address, "0x60006000fd")).await?;
    let (status, res) = act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    s.warp(60).await?;
    s.index().await?;

    let bundle = export(&s, id).await?;
    let report = s.verify(&bundle).await;
    assert_eq!(report.outcome, Outcome::Verified, "{report:#?}");
    assert_eq!(bundle["summary"]["deferred"], "1000", "{bundle}");
    assert_eq!(bundle["signatures"][1]["method"], "eip1271", "{bundle}");
    assert!(bundle["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["name"] == "PaymentDeferred")));
    // The wallet's code is gone now; its signature is still judged where it was given: at the
    // creation block.
    assert!(report.has("signature-creator", Status::Pass), "{report:#?}");

    let credits =
        report.checks.iter().find(|c| c.id == "deferred-credits").map(|c| c.detail.clone());
    assert!(report.has("deferred-credits", Status::Pass), "{report:#?}");
    assert!(
        credits
            .as_deref()
            .is_some_and(|d| d.contains("withdrawn 0") && d.contains("credit now 1000")),
        "{credits:?}"
    );

    // The deferred payout left out.
    let mut b = bundle.clone();
    let i = position(&b, "PaymentDeferred");
    events(&mut b).remove(i);
    refused(&s, "dropped deferral", &b, "events-complete").await;
    // The wallet's signature replaced by other bytes.
    let mut b = bundle.clone();
    b["signatures"][1]["signature"] = json!(Bytes::from(vec![0x5a; 65]));
    let r = refused(&s, "replaced wallet signature", &b, "signature-creator").await;
    assert!(r.has("signatures-submitted", Status::Fail), "{r:#?}");

    // The wallet gets its code back and withdraws its credit: the withdrawal, which names no
    // agreement, is found and accounted to the deferral.
    let _: Value = s.provider.raw_request("anvil_setCode".into(), (address, code)).await?;
    let withdraw = PactumEscrow::withdrawCall { token: Address::ZERO, to: address };
    wallet
        .execute(s.escrow, U256::ZERO, alloy::sol_types::SolCall::abi_encode(&withdraw).into())
        .from(s.creator.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    s.index().await?;
    let bundle = export(&s, id).await?;
    let report = s.verify(&bundle).await;
    assert_eq!(report.outcome, Outcome::Verified, "{report:#?}");
    let credits =
        report.checks.iter().find(|c| c.id == "deferred-credits").map(|c| c.detail.clone());
    assert!(
        credits
            .as_deref()
            .is_some_and(|d| d.contains("withdrawn 1000") && d.contains("credit now 0")),
        "{credits:?}"
    );
    Ok(())
}

/// Review finding: the off-chain log's hash chain is keyless (keccak256(prev ‖ entry)) and its
/// `draft_signed` entries carry only public data (the parties' signatures are in the creation
/// transaction's calldata), so without a trusted exporter anyone can rewrite the session-made
/// entries, recompute the chain, keep the two anchoring entries, and the verifier still reports
/// `offchain-log` and `offchain-log-anchored` as passed and the bundle as verified.
#[tokio::test(flavor = "multi_thread")]
async fn a_rewritten_offchain_log_with_its_chain_recomputed_is_not_reported_as_verified(
) -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id = create(&s, &brand, &creator, s.draft_body(["1000000", "2000000"])).await?;
    s.index().await?;
    let honest = export(&s, id).await?;
    let mut b = honest.clone();
    b.as_object_mut().map(|o| o.remove("exporter"));
    // Rewrite every entry that is not a party's signature (here: its time and actor claims),
    // then recompute the chain from zero.
    let log = b["offchainLog"].as_array_mut().expect("a drafted agreement has a log");
    let mut prev = B256::ZERO;
    let mut rewritten = 0;
    for e in log.iter_mut() {
        let mut entry: Value = serde_json::from_str(e["entry"].as_str().unwrap_or_default())?;
        if entry["kind"] != "draft_signed" {
            entry["at"] = json!(1);
            rewritten += 1;
        }
        let text = pactum_core::terms::canonical_json(&entry)?;
        let mut buf = prev.to_vec();
        buf.extend_from_slice(text.as_bytes());
        let hash = alloy::primitives::keccak256(&buf);
        e["entry"] = json!(text);
        e["prevHash"] = json!(prev);
        e["hash"] = json!(hash);
        prev = hash;
    }
    assert!(rewritten > 0, "{honest}");
    let trust = pactum_audit::Trust {
        escrow: s.escrow,
        chain_id: Some(s.chain_id()),
        exporter: None,
        historical: false,
    };
    let report = pactum_audit::verify(&b, &s.provider, &trust).await;
    assert!(
        !(report.outcome == Outcome::Verified && report.has("offchain-log", Status::Pass)),
        "a rewritten off-chain log is vouched for: {report:#?}"
    );
    Ok(())
}
