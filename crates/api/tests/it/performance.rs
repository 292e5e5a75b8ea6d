//! A performance agreement from draft to end through the API, against anvil, PostgreSQL and the
//! indexer, with the hostile moves each rule must stop: a forged signature, a partner attesting
//! itself, customer data in records, a conflicting re-send, a report before the period is over, a
//! replayed or raised report, a release before the lock ends, a dispute by the wrong party, and a
//! stranger reading proofs. The pay, the proofs (checked against the root on chain, and the root
//! recomputed from the records an auditor pages through) and the KPIs are checked to the unit.

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use eyre::{ensure, Result};
use pactum_bindings::{MockStablecoin, PactumPerformance};
use pactum_core::merkle::{self, Record, Tree};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{stack, Stack};

const DAY: u64 = 86_400;
const UNIT: u64 = 1_000_000; // pUSD has 6 decimals

/// A decimal string, as the API writes amounts.
fn dec(v: u64) -> Value {
    Value::String(v.to_string())
}

fn b256(v: &Value) -> Result<B256> {
    Ok(serde_json::from_value(v.clone())?)
}

async fn balance(s: &Stack, who: Address) -> Result<U256> {
    Ok(MockStablecoin::new(s.usd, s.provider.clone()).balanceOf(who).call().await?)
}

/// Sends every transaction of a `transactions` answer.
async fn send_all(s: &Stack, body: &Value) -> Result<()> {
    for tx in body["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    Ok(())
}

/// Asks for an action's transactions as `token`; returns status and body.
async fn act(s: &Stack, id: &str, token: &str, action: Value) -> Result<(StatusCode, Value)> {
    s.post(&format!("/v1/performance/agreements/{id}/transactions"), Some(token), action).await
}

/// The attester's report of `period`: asks the API for it, signs it, submits it; returns it.
async fn report(
    s: &Stack,
    id: &str,
    attester: &PrivateKeySigner,
    tok: &str,
    period: u32,
) -> Result<Value> {
    let (st, r) = s
        .post(
            &format!("/v1/performance/agreements/{id}/periods/{period}/report"),
            Some(tok),
            json!({}),
        )
        .await?;
    ensure!(st == StatusCode::OK, "report of {period}: {st} {r}");
    let sig = s.sign_digest(attester, b256(&r["digest"])?)?;
    let (st, tx) = act(
        s,
        id,
        tok,
        json!({"action": "submit-report", "period": period, "version": r["version"], "units": r["units"],
               "revenue": r["revenue"], "detailRoot": r["detailRoot"], "signature": sig}),
    )
    .await?;
    ensure!(st == StatusCode::OK, "submit-report {period}: {st} {tx}");
    send_all(s, &tx).await?;
    s.index().await?;
    Ok(r)
}

fn records(ids: &[&str], at: u64) -> Value {
    json!({"records": ids.iter().map(|i| json!({"conversionId": i, "occurredAt": at, "revenue": "25000000"})).collect::<Vec<_>>()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_performance_agreement_runs_from_draft_to_end_and_each_hostile_move_fails() -> Result<()>
{
    let s = stack().await?;
    let contract = s.cfg.performance.ok_or_else(|| eyre::eyre!("no performance contract"))?;
    let (brand, partner, arbiter) = (&s.brand, &s.creator, &s.arbiter);
    let attester = &s.stranger;
    let outsider = PrivateKeySigner::random();
    let [bt, pt, at, art, ot] = [
        s.login(brand).await?,
        s.login(partner).await?,
        s.login(attester).await?,
        s.login(arbiter).await?,
        s.login(&outsider).await?,
    ];
    let start = u64::try_from(s.chain_time().await?)?;
    // 10 pUSD a conversion for the first 3 of a period, 15 above; 3 daily periods.
    let mut terms = json!({
        "brand": brand.address(), "partner": partner.address(), "attester": attester.address(),
        "arbiter": arbiter.address(), "token": s.usd, "metric": "conversions", "arbiterFeeBps": 500,
        "start": start, "period": DAY, "periods": 3, "reportWindow": DAY, "lockWindow": 2 * DAY,
        "arbitrationWindow": DAY, "deadline": start + 3600,
        "tiers": [{"fromUnits": 0, "rate": (10 * UNIT).to_string()}, {"fromUnits": 3, "rate": (15 * UNIT).to_string()}],
    });

    // The partner may not attest its own conversions; a stranger may not draft for others.
    let mut own = terms.clone();
    own["attester"] = json!(partner.address());
    let (st, e) = s.post("/v1/performance/agreements/typed-data", Some(&bt), own).await?;
    ensure!(st == StatusCode::BAD_REQUEST && e["error"]["code"] == "invalid_parties", "{st} {e}");
    let (st, _) = s.post("/v1/performance/agreements/typed-data", Some(&ot), terms.clone()).await?;
    ensure!(st == StatusCode::FORBIDDEN, "a stranger drafted: {st}");

    let (st, signed) =
        s.post("/v1/performance/agreements/typed-data", Some(&bt), terms.clone()).await?;
    ensure!(st == StatusCode::OK, "typed-data: {st} {signed}");
    let id_hash = b256(&signed["agreementId"])?;
    ensure!(signed["contract"] == json!(contract), "{signed}");
    // The id is the contract's own digest of the terms.
    terms = signed["agreement"].clone();
    let brand_sig = s.sign_digest(brand, id_hash)?;
    let partner_sig = s.sign_digest(partner, id_hash)?;
    let forged = s.sign_digest(&outsider, id_hash)?;
    let create = |psig: &alloy::primitives::Bytes| json!({"agreement": terms, "brandSignature": brand_sig, "partnerSignature": psig, "budget": (100 * UNIT).to_string()});
    let (st, e) =
        s.post("/v1/performance/agreements/transactions", Some(&bt), create(&forged)).await?;
    ensure!(
        st == StatusCode::BAD_REQUEST && e["error"]["code"] == "invalid_signature",
        "forged: {st} {e}"
    );
    let (st, txs) =
        s.post("/v1/performance/agreements/transactions", Some(&bt), create(&partner_sig)).await?;
    ensure!(st == StatusCode::OK, "create: {st} {txs}");
    ensure!(
        txs["transactions"].as_array().map(Vec::len) == Some(2),
        "approve + createAndFund: {txs}"
    );
    let brand_before = balance(&s, brand.address()).await?;
    send_all(&s, &txs).await?;
    s.index().await?;
    let perf = PactumPerformance::new(contract, s.provider.clone());
    let id = format!("{id_hash}");
    let (st, view) = s.get(&format!("/v1/performance/agreements/{id}"), Some(&pt)).await?;
    ensure!(st == StatusCode::OK && view["status"] == "active", "{st} {view}");
    ensure!(view["budget"] == dec(100 * UNIT), "{view}");
    let (st, _) = s.get(&format!("/v1/performance/agreements/{id}"), Some(&ot)).await?;
    ensure!(st == StatusCode::NOT_FOUND, "a stranger read the agreement: {st}");

    // Records: customer data, names as ids, and conflicting re-sends are refused, nothing written.
    let t0 = start + 600;
    let (st, e) = s
        .post(&format!("/v1/performance/agreements/{id}/records"), Some(&at),
              json!({"records": [{"conversionId": "ord-1", "occurredAt": t0, "revenue": "1", "email": "jane@example.com"}]}))
        .await?;
    ensure!(
        st == StatusCode::BAD_REQUEST && e["error"]["code"] == "personal_data_refused",
        "{st} {e}"
    );
    let (st, e) = s
        .post(
            &format!("/v1/performance/agreements/{id}/records"),
            Some(&at),
            records(&["ord-1", "john.smith"], t0),
        )
        .await?;
    ensure!(st == StatusCode::BAD_REQUEST && e["error"]["code"] == "invalid_records", "{st} {e}");
    let (st, e) = s
        .post(
            &format!("/v1/performance/agreements/{id}/records"),
            Some(&pt),
            records(&["ord-1"], t0),
        )
        .await?;
    ensure!(st == StatusCode::FORBIDDEN, "the partner uploaded records: {st} {e}");
    // A record from outside the agreement's periods (before its start) is foreign to it.
    let (st, e) = s
        .post(
            &format!("/v1/performance/agreements/{id}/records"),
            Some(&at),
            records(&["ord-1", "ord-0"], start - 1),
        )
        .await?;
    ensure!(
        st == StatusCode::BAD_REQUEST && e["error"]["code"] == "record_outside_term",
        "{st} {e}"
    );
    ensure!(s.count("conversion_records").await? == 0, "a refused upload wrote rows");
    let five = ["ord-1", "ord-2", "ord-3", "ord-4", "ord-5"];
    let (st, up) = s
        .post(&format!("/v1/performance/agreements/{id}/records"), Some(&at), records(&five, t0))
        .await?;
    ensure!(st == StatusCode::OK && up["inserted"] == 5, "{st} {up}");
    let (st, up) = s
        .post(&format!("/v1/performance/agreements/{id}/records"), Some(&at), records(&five, t0))
        .await?;
    ensure!(
        st == StatusCode::OK && up["inserted"] == 0 && up["unchanged"] == 5,
        "re-send: {st} {up}"
    );
    let mut clash = records(&["ord-6", "ord-1"], t0);
    clash["records"][1]["revenue"] = json!("99");
    let (st, e) =
        s.post(&format!("/v1/performance/agreements/{id}/records"), Some(&at), clash).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "conflicting_records", "{st} {e}");
    ensure!(s.count("conversion_records").await? == 5, "a conflicting upload wrote rows");

    // No report before the period is over.
    let (st, e) = s
        .post(&format!("/v1/performance/agreements/{id}/periods/0/report"), Some(&at), json!({}))
        .await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "period_not_over", "{st} {e}");
    s.warp(DAY + 60).await?;

    // A report signed by the brand is not the attester's.
    let (_, r0) = s
        .post(&format!("/v1/performance/agreements/{id}/periods/0/report"), Some(&at), json!({}))
        .await?;
    ensure!(r0["units"] == "5" && r0["pay"] == dec(60 * UNIT), "3×10 + 2×15: {r0}");
    let by_brand = s.sign_digest(brand, b256(&r0["digest"])?)?;
    let (st, e) = act(&s, &id, &bt, json!({"action": "submit-report", "period": 0, "version": 1, "units": "5", "revenue": r0["revenue"], "detailRoot": r0["detailRoot"], "signature": by_brand})).await?;
    ensure!(st == StatusCode::BAD_REQUEST && e["error"]["code"] == "invalid_signature", "{st} {e}");
    let r0 = report(&s, &id, attester, &at, 0).await?;
    let root0 = b256(&r0["detailRoot"])?;
    let p0 = perf.getPeriod(id_hash, U256::ZERO).call().await?;
    ensure!(p0.pay == 60 * u128::from(UNIT) && p0.version == 1, "on chain: {:?}", p0.pay);
    // Replaying version 1 is stale.
    let sig = s.sign_digest(attester, b256(&r0["digest"])?)?;
    let (st, e) = act(&s, &id, &at, json!({"action": "submit-report", "period": 0, "version": 1, "units": "5", "revenue": r0["revenue"], "detailRoot": root0, "signature": sig})).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "stale_report", "{st} {e}");

    // The partner proves ord-3 was counted, against the root on chain; a stranger cannot.
    let (st, pr) = s
        .get(
            &format!("/v1/performance/agreements/{id}/periods/0/proof?conversionId=ord-3"),
            Some(&pt),
        )
        .await?;
    ensure!(st == StatusCode::OK && pr["onChain"] == true, "{st} {pr}");
    let proof: Vec<B256> = serde_json::from_value(pr["proof"].clone())?;
    let leaf = merkle::leaf_hash("ord-3", t0, U256::from(25 * UNIT));
    ensure!(
        b256(&pr["leaf"])? == leaf && merkle::verify(root0, leaf, &proof),
        "the proof does not verify"
    );
    let (st, _) = s
        .get(
            &format!("/v1/performance/agreements/{id}/periods/0/proof?conversionId=ord-3"),
            Some(&ot),
        )
        .await?;
    ensure!(st == StatusCode::NOT_FOUND, "a stranger got a proof: {st}");
    let (st, e) = s
        .get(
            &format!("/v1/performance/agreements/{id}/periods/0/proof?conversionId=ord-99"),
            Some(&pt),
        )
        .await?;
    ensure!(st == StatusCode::NOT_FOUND && e["error"]["code"] == "not_in_tree", "{st} {e}");
    let (st, e) = s
        .get(
            &format!("/v1/performance/agreements/{id}/periods/1/proof?conversionId=ord-1"),
            Some(&pt),
        )
        .await?;
    ensure!(st == StatusCode::NOT_FOUND && e["error"]["code"] == "not_reported", "{st} {e}");
    let (st, rows) = s.get("/v1/performance/agreements?role=arbiter", Some(&art)).await?;
    ensure!(
        st == StatusCode::OK && rows.as_array().map(Vec::len) == Some(1),
        "the arbiter's list: {st} {rows}"
    );

    // A reversal: the correction lowers units and pay; the difference returns to the budget.
    let (st, rv) = s
        .post(
            &format!("/v1/performance/agreements/{id}/records/reversals"),
            Some(&at),
            json!({"conversionIds": ["ord-5", "nope"]}),
        )
        .await?;
    ensure!(
        st == StatusCode::OK && rv["reversed"] == 1 && rv["unknown"] == json!(["nope"]),
        "{st} {rv}"
    );
    let r0b = report(&s, &id, attester, &at, 0).await?;
    ensure!(r0b["version"] == 2 && r0b["units"] == "4" && r0b["pay"] == dec(45 * UNIT), "{r0b}");
    let (_, view) = s.get(&format!("/v1/performance/agreements/{id}"), Some(&bt)).await?;
    ensure!(
        view["periods"][0]["pay"] == dec(45 * UNIT) && view["periods"][0]["firstUnits"] == "5",
        "{view}"
    );
    ensure!(view["budget"] == dec(55 * UNIT), "the reversed pay went back to the budget: {view}");
    // A "correction" that raises is refused by the contract, even signed by the attester.
    let raised = pactum_core::performance::Report {
        agreementId: id_hash,
        period: 0,
        version: 3,
        units: 9,
        revenue: 0,
        detailRoot: root0,
    };
    let d = pactum_core::performance::domain(s.chain_id(), contract);
    let sig = s.sign_digest(attester, pactum_core::performance::report_digest(&raised, &d))?;
    let (st, e) = act(&s, &id, &at, json!({"action": "submit-report", "period": 0, "version": 3, "units": "9", "revenue": "0", "detailRoot": root0, "signature": sig})).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "correction_raises", "{st} {e}");

    // Locked pay never leaves early.
    let (st, e) = act(&s, &id, &pt, json!({"action": "release", "period": 0})).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "locked", "{st} {e}");

    // Period 1: two conversions, disputed by the brand (not by the partner), split by the arbiter.
    let t1 = start + DAY + 120;
    s.post(
        &format!("/v1/performance/agreements/{id}/records"),
        Some(&at),
        records(&["ord-7", "ord-8"], t1),
    )
    .await?;
    s.warp(DAY).await?;
    report(&s, &id, attester, &at, 1).await?;
    // A root of another period proves nothing about this one, even if an attester signed it into
    // this period's report too.
    let (st, e) = s
        .get(
            &format!(
                "/v1/performance/agreements/{id}/periods/1/proof?conversionId=ord-1&root={root0}"
            ),
            Some(&pt),
        )
        .await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "root_not_for_period", "{st} {e}");
    let (st, e) =
        act(&s, &id, &pt, json!({"action": "dispute", "period": 1, "reason": "no"})).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "not_your_action", "{st} {e}");
    let (st, tx) =
        act(&s, &id, &bt, json!({"action": "dispute", "period": 1, "reason": "bot traffic"}))
            .await?;
    ensure!(st == StatusCode::OK, "{st} {tx}");
    send_all(&s, &tx).await?;
    let (st, tx) =
        act(&s, &id, &art, json!({"action": "resolve", "period": 1, "partnerBps": 5000})).await?;
    ensure!(st == StatusCode::OK, "{st} {tx}");
    send_all(&s, &tx).await?;

    // The brand ends the deal for cause during period 2; what happened before still counts.
    let t2 = u64::try_from(s.chain_time().await?)? + 60;
    s.post(&format!("/v1/performance/agreements/{id}/records"), Some(&at), records(&["ord-9"], t2))
        .await?;
    s.warp(120).await?;
    let (st, tx) =
        act(&s, &id, &bt, json!({"action": "terminate", "reason": "brand safety"})).await?;
    ensure!(st == StatusCode::OK, "{st} {tx}");
    send_all(&s, &tx).await?;
    s.index().await?;
    let r2 = report(&s, &id, attester, &at, 2).await?;
    ensure!(r2["units"] == "1", "{r2}");
    // Every reportable period is reported: anyone may close (here the partner), returning the
    // unreserved budget to the brand.
    let (st, tx) = act(&s, &id, &pt, json!({"action": "close"})).await?;
    ensure!(st == StatusCode::OK, "{st} {tx}");
    send_all(&s, &tx).await?;
    s.warp(2 * DAY).await?;
    for period in [0, 2] {
        let (st, tx) = act(&s, &id, &pt, json!({"action": "release", "period": period})).await?;
        ensure!(st == StatusCode::OK, "release {period}: {st} {tx}");
        send_all(&s, &tx).await?;
    }
    s.index().await?;
    let (_, view) = s
        .get(&format!("/v1/performance/agreements/{id}"), Some(&s.login(&s.auditor).await?))
        .await?;
    ensure!(view["status"] == "ended", "{view}");
    // Period 1: pay 2×10 = 20; fee 5% = 1; half of 19 = 9.5 to the partner.
    let partner_got = 45 * UNIT + 9_500_000 + 10 * UNIT;
    ensure!(view["partnerPaid"] == dec(partner_got), "{view}");
    ensure!(
        balance(&s, partner.address()).await? == U256::from(partner_got),
        "the partner's balance"
    );
    ensure!(balance(&s, arbiter.address()).await? == U256::from(UNIT), "the arbiter's fee");
    let spent = U256::from(partner_got + UNIT);
    ensure!(
        balance(&s, brand.address()).await? == brand_before - spent,
        "the brand paid exactly what was earned"
    );
    ensure!(balance(&s, contract).await?.is_zero(), "nothing left in the contract");
    // Ended never changes: no top-up is even handed out.
    let (st, e) = act(&s, &id, &bt, json!({"action": "fund", "amount": "1"})).await?;
    ensure!(st == StatusCode::CONFLICT && e["error"]["code"] == "wrong_status", "{st} {e}");

    // An auditor pages through period 0's tree and recomputes the root on chain.
    let ak = s.login(&s.auditor).await?;
    let (st, page) = s
        .get(&format!("/v1/performance/agreements/{id}/periods/0/records?limit=2"), Some(&ak))
        .await?;
    ensure!(st == StatusCode::OK && page["leaves"] == 4 && page["next"].is_string(), "{st} {page}");
    let mut all: Vec<Record> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map_or_else(String::new, |a| format!("&after={a}"));
        let (_, page) = s
            .get(
                &format!("/v1/performance/agreements/{id}/periods/0/records?limit=3{q}"),
                Some(&ak),
            )
            .await?;
        for r in page["records"].as_array().into_iter().flatten() {
            all.push(Record {
                conversion_id: r["conversionId"].as_str().unwrap_or_default().to_owned(),
                occurred_at: r["occurredAt"].as_u64().unwrap_or_default(),
                revenue: r["revenue"].as_str().unwrap_or("0").parse()?,
            });
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    let onchain = perf.getPeriod(id_hash, U256::ZERO).call().await?;
    ensure!(onchain.version == 2, "the correction is on chain");
    let detail = b256(&r0b["detailRoot"])?;
    ensure!(Tree::from_records(&all)?.root() == detail, "the auditor's recomputed root");
    ensure!(
        all.len() == 4 && !all.iter().any(|r| r.conversion_id == "ord-5"),
        "the reversed record is not in the corrected tree"
    );

    // KPIs: units 4 + 2 + 1, first reported 5 + 2 + 1; pay 45 + 20 + 10.
    let (st, k) = s.get(&format!("/v1/performance/agreements/{id}/kpis"), Some(&bt)).await?;
    ensure!(st == StatusCode::OK, "{st} {k}");
    ensure!(k["total"]["units"] == "7" && k["total"]["firstUnits"] == "8", "{k}");
    ensure!(k["total"]["pay"] == dec(75 * UNIT), "{k}");
    ensure!(k["total"]["reversalRate"] == "0.125000", "{k}");
    ensure!(k["total"]["costPerUnit"] == "10714285.714285", "75e6 / 7: {k}");
    let res = s
        .http
        .get(format!("{}/v1/performance/kpis?role=brand&format=csv", s.base))
        .bearer_auth(&bt)
        .send()
        .await?;
    ensure!(res.headers()["content-type"].to_str()?.starts_with("text/csv"), "csv");
    let text = res.text().await?;
    ensure!(
        text.starts_with("agreement_id,period,") && text.lines().count() == 1 + 3 + 1 + 1,
        "{text}"
    );
    Ok(())
}
