//! The performance agreement's audit bundle: exported through the API after a run with records,
//! a report, a reversal corrected, a second period and a release, it verifies against anvil
//! trusting only the performance contract; each forgery fails with the check that catches it, even
//! when the forger re-signs the bundle with the exporter's own key (an exporter that lies).

use alloy::primitives::{Address, B256};
use eyre::{ensure, Result};
use pactum_audit::{
    performance::{verify_performance, PerformanceTrust},
    verify::{Outcome, Status},
    Report,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{stack, Stack};

const DAY: u64 = 86_400;
const UNIT: u64 = 1_000_000;

fn b256(v: &Value) -> Result<B256> {
    Ok(serde_json::from_value(v.clone())?)
}

async fn send_all(s: &Stack, body: &Value) -> Result<()> {
    for tx in body["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    Ok(())
}

async fn act(s: &Stack, id: &str, token: &str, action: Value) -> Result<()> {
    let (st, tx) = s
        .post(&format!("/v1/performance/agreements/{id}/transactions"), Some(token), action)
        .await?;
    ensure!(st == StatusCode::OK, "{st} {tx}");
    send_all(s, &tx).await?;
    s.index().await
}

async fn report(
    s: &Stack,
    id: &str,
    attester: &alloy::signers::local::PrivateKeySigner,
    tok: &str,
    period: u32,
) -> Result<()> {
    let (st, r) = s
        .post(
            &format!("/v1/performance/agreements/{id}/periods/{period}/report"),
            Some(tok),
            json!({}),
        )
        .await?;
    ensure!(st == StatusCode::OK, "report of {period}: {st} {r}");
    let sig = s.sign_digest(attester, b256(&r["digest"])?)?;
    act(
        s,
        id,
        tok,
        json!({"action": "submit-report", "period": period, "version": r["version"], "units": r["units"],
               "revenue": r["revenue"], "detailRoot": r["detailRoot"], "signature": sig}),
    )
    .await
}

async fn upload(s: &Stack, id: &str, tok: &str, ids: &[&str], at: u64, revenue: u64) -> Result<()> {
    let body = json!({"records": ids.iter().map(|i| json!({"conversionId": i, "occurredAt": at, "revenue": revenue.to_string()})).collect::<Vec<_>>()});
    let (st, up) =
        s.post(&format!("/v1/performance/agreements/{id}/records"), Some(tok), body).await?;
    ensure!(st == StatusCode::OK, "{st} {up}");
    Ok(())
}

fn trust(s: &Stack, contract: Address) -> PerformanceTrust {
    PerformanceTrust {
        contract,
        chain_id: Some(s.chain_id()),
        exporter: Some(s.cfg.export_key.address()),
        historical: false,
    }
}

/// Signs `doc` again with the server's export key, as an exporter that lies would.
fn resign(s: &Stack, mut doc: Value) -> Result<Value> {
    if let Some(m) = doc.as_object_mut() {
        m.remove("exporter");
    }
    let sig = pactum_audit::verify::exporter_signature(&doc, &s.cfg.export_key)
        .map_err(|e| eyre::eyre!(e))?;
    doc["exporter"] = serde_json::to_value(sig)?;
    Ok(doc)
}

fn summary(r: &Report) -> String {
    r.checks
        .iter()
        .map(|c| format!("{} {:?}: {}", c.id, c.status, c.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The report failed, and `check` is among the failures.
fn fails_with(r: &Report, check: &str, what: &str) -> Result<()> {
    ensure!(
        r.outcome == Outcome::Failed && r.has(check, Status::Fail),
        "{what}: expected {check} to fail\n{}",
        summary(r)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_performance_bundle_verifies_and_every_forgery_fails_by_name() -> Result<()> {
    let s = stack().await?;
    let contract = s.cfg.performance.ok_or_else(|| eyre::eyre!("no performance contract"))?;
    let (brand, partner, arbiter, attester) = (&s.brand, &s.creator, &s.arbiter, &s.stranger);
    let outsider = alloy::signers::local::PrivateKeySigner::random();
    let [bt, pt, at, ot, ak] = [
        s.login(brand).await?,
        s.login(partner).await?,
        s.login(attester).await?,
        s.login(&outsider).await?,
        s.login(&s.auditor).await?,
    ];
    let start = u64::try_from(s.chain_time().await?)?;
    let terms = json!({
        "brand": brand.address(), "partner": partner.address(), "attester": attester.address(),
        "arbiter": arbiter.address(), "token": s.usd, "metric": "conversions", "arbiterFeeBps": 500,
        "start": start, "period": DAY, "periods": 3, "reportWindow": DAY, "lockWindow": 2 * DAY,
        "arbitrationWindow": DAY, "deadline": start + 3600,
        "tiers": [{"fromUnits": 0, "rate": (10 * UNIT).to_string()}, {"fromUnits": 3, "rate": (15 * UNIT).to_string()}],
    });
    let (st, signed) =
        s.post("/v1/performance/agreements/typed-data", Some(&bt), terms.clone()).await?;
    ensure!(st == StatusCode::OK, "typed-data: {st} {signed}");
    let id_hash = b256(&signed["agreementId"])?;
    let create = json!({"agreement": signed["agreement"], "brandSignature": s.sign_digest(brand, id_hash)?,
        "partnerSignature": s.sign_digest(partner, id_hash)?, "budget": (100 * UNIT).to_string()});
    let (st, txs) = s.post("/v1/performance/agreements/transactions", Some(&bt), create).await?;
    ensure!(st == StatusCode::OK, "create: {st} {txs}");
    send_all(&s, &txs).await?;
    s.index().await?;
    let id = format!("{id_hash}");

    // Period 0: five conversions, reported; one reversed and the report corrected (version 2).
    upload(&s, &id, &at, &["ord-1", "ord-2", "ord-3", "ord-4", "ord-5"], start + 600, 25 * UNIT)
        .await?;
    s.warp(DAY + 60).await?;
    report(&s, &id, attester, &at, 0).await?;
    let (st, rv) = s
        .post(
            &format!("/v1/performance/agreements/{id}/records/reversals"),
            Some(&at),
            json!({"conversionIds": ["ord-5"]}),
        )
        .await?;
    ensure!(st == StatusCode::OK && rv["reversed"] == 1, "{st} {rv}");
    report(&s, &id, attester, &at, 0).await?;
    // Period 1: two conversions of another revenue, reported.
    upload(&s, &id, &at, &["ord-7", "ord-8"], start + DAY + 120, 40 * UNIT).await?;
    s.warp(DAY).await?;
    report(&s, &id, attester, &at, 1).await?;
    // Period 0's lock ends: released to the partner.
    s.warp(DAY + 60).await?;
    act(&s, &id, &pt, json!({"action": "release", "period": 0})).await?;

    // The export: parties and auditors; a stranger gets the same 404 as for no agreement.
    let path = format!("/v1/performance/agreements/{id}/audit-bundle");
    let (st, _) = s.get(&path, Some(&ot)).await?;
    ensure!(st == StatusCode::NOT_FOUND, "a stranger exported the bundle: {st}");
    let (st, by_partner) = s.get(&path, Some(&pt)).await?;
    ensure!(st == StatusCode::OK, "{st} {by_partner}");
    let (st, bundle) = s.get(&path, Some(&ak)).await?;
    ensure!(st == StatusCode::OK, "{st} {bundle}");
    ensure!(bundle["format"] == "pactum-performance-bundle/1", "{bundle}");
    let names: Vec<&str> = bundle["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    ensure!(
        names
            == [
                "PerformanceAgreementCreated",
                "BudgetFunded",
                "ReportAccepted",
                "ReportAccepted",
                "ReportAccepted",
                "PeriodPaid"
            ],
        "{names:?}"
    );
    ensure!(
        bundle["periods"][0]["records"].as_array().map(Vec::len) == Some(4)
            && bundle["periods"][1]["records"].as_array().map(Vec::len) == Some(2),
        "the latest trees: {}",
        bundle["periods"]
    );
    ensure!(bundle["agreement"]["tiers"][1]["rate"] == json!((15 * UNIT).to_string()), "{bundle}");

    let t = trust(&s, contract);
    let ok = verify_performance(&bundle, &s.provider, &t).await;
    ensure!(ok.outcome == Outcome::Verified, "the honest bundle:\n{}", summary(&ok));
    for check in [
        "format",
        "exporter-signature",
        "pinned-contract",
        "node-chain",
        "as-of-block",
        "agreement-id",
        "creation",
        "events-complete",
        "event-names",
        "later-events",
        "replay",
        "state",
        "records",
        "pay",
    ] {
        ensure!(ok.has(check, Status::Pass), "{check} did not pass:\n{}", summary(&ok));
    }

    // An event dropped (the correction): the node has it.
    let mut f = bundle.clone();
    if let Some(events) = f["events"].as_array_mut() {
        events.remove(3);
    }
    let r = verify_performance(&resign(&s, f)?, &s.provider, &t).await;
    fails_with(&r, "events-complete", "a dropped event")?;
    // An event added (a duplicate) and two swapped are caught the same way.
    let mut f = bundle.clone();
    let dup = f["events"][2].clone();
    if let Some(events) = f["events"].as_array_mut() {
        events.push(dup);
    }
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "events-complete",
        "an added event",
    )?;
    let mut f = bundle.clone();
    if let Some(events) = f["events"].as_array_mut() {
        events.swap(3, 4);
    }
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "events-complete",
        "reordered events",
    )?;

    // A record added to period 0 (as if it had counted).
    let mut f = bundle.clone();
    if let Some(recs) = f["periods"][0]["records"].as_array_mut() {
        recs.push(json!({"conversionId": "ord-99", "occurredAt": (start + 700).to_string(), "revenue": "25000000"}));
    }
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "records",
        "an added record",
    )?;
    // A record dropped.
    let mut f = bundle.clone();
    if let Some(recs) = f["periods"][1]["records"].as_array_mut() {
        recs.pop();
    }
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "records",
        "a dropped record",
    )?;
    // A record's revenue altered.
    let mut f = bundle.clone();
    f["periods"][0]["records"][0]["revenue"] = json!("26000000");
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "records",
        "an altered revenue",
    )?;
    // Period 0's root swapped for period 1's, records and all.
    let mut f = bundle.clone();
    f["periods"][0]["root"] = bundle["periods"][1]["root"].clone();
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "records",
        "a swapped root",
    )?;
    let mut f = bundle.clone();
    f["periods"][0] = bundle["periods"][1].clone();
    f["periods"][0]["period"] = json!("0");
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "records",
        "period 1's tree as period 0's",
    )?;

    // Another contract trusted (the escrow): the bundle's own claim is not taken.
    let r = verify_performance(&bundle, &s.provider, &trust(&s, s.escrow)).await;
    fails_with(&r, "pinned-contract", "another trusted contract")?;
    fails_with(&r, "agreement-id", "another trusted contract's domain")?;
    // The bundle claiming another contract while the auditor trusts the real one.
    let mut f = bundle.clone();
    f["contract"] = json!(s.escrow);
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "pinned-contract",
        "a claimed contract",
    )?;

    // A tier rate altered in the agreement.
    let mut f = bundle.clone();
    f["agreement"]["tiers"][1]["rate"] = json!((20 * UNIT).to_string());
    fails_with(
        &verify_performance(&resign(&s, f)?, &s.provider, &t).await,
        "agreement-id",
        "an altered tier rate",
    )?;

    // Tampered after signing (even a member no check reads): the exporter's signature fails, and
    // only it.
    let mut f = bundle.clone();
    f["exportedAt"] = json!("1");
    let r = verify_performance(&f, &s.provider, &t).await;
    fails_with(&r, "exporter-signature", "tampered after signing")?;
    ensure!(r.with_status(Status::Fail).count() == 1, "{}", summary(&r));
    // Unsigned, while the auditor requires the exporter.
    let mut f = bundle.clone();
    if let Some(m) = f.as_object_mut() {
        m.remove("exporter");
    }
    fails_with(&verify_performance(&f, &s.provider, &t).await, "exporter-signature", "unsigned")?;

    // A later event (period 1 released) makes the bundle historical: refused unless accepted.
    s.warp(DAY).await?;
    act(&s, &id, &pt, json!({"action": "release", "period": 1})).await?;
    let r = verify_performance(&bundle, &s.provider, &t).await;
    fails_with(&r, "later-events", "a bundle exported before later events")?;
    let hist = PerformanceTrust { historical: true, ..t };
    let r = verify_performance(&bundle, &s.provider, &hist).await;
    ensure!(
        r.outcome == Outcome::Verified && r.has("later-events", Status::Skipped),
        "historical:\n{}",
        summary(&r)
    );
    let (st, now) = s.get(&path, Some(&ak)).await?;
    ensure!(st == StatusCode::OK, "{st} {now}");
    let r = verify_performance(&now, &s.provider, &t).await;
    ensure!(r.outcome == Outcome::Verified, "the new export:\n{}", summary(&r));
    Ok(())
}
