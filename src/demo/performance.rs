//! The demo's second act: a performance agreement (affiliate pay per conversion) through the API.
//!
//! The brand drafts it (10 pUSD a conversion up to 3 a day, 15 above; two daily periods; an
//! attester and an arbiter), brand and partner sign, the brand escrows a 100 pUSD budget. The
//! attester uploads period 0's conversions and reports them; one is returned, so the attester
//! reverses it and corrects the report within the lock window. The partner proves a conversion was
//! counted, checked here against the root on chain. Period 1 is reported and the brand disputes
//! it; the arbiter splits it. After the lock, period 0 is paid, the agreement closes and the
//! unused budget goes back to the brand; the KPIs are printed.

use alloy::{
    primitives::{B256, U256},
    providers::Provider,
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::{bail, eyre, Result};
use pactum_core::merkle;
use serde_json::{json, Value};

use super::{step, Demo};

const DAY: u64 = 86_400;
const PUSD: u64 = 1_000_000;

impl Demo {
    async fn perf(&self, token: &str, id: B256, body: Value) -> Result<()> {
        let prepared = self
            .call(
                "POST",
                &format!("/v1/performance/agreements/{id}/transactions"),
                Some(token),
                Some(body),
            )
            .await?;
        self.send(&prepared).await
    }

    /// The attester's report of `period`: built by the API from the uploaded records, signed,
    /// submitted; returns the report.
    async fn report(
        &self,
        token: &str,
        key: &PrivateKeySigner,
        id: B256,
        period: u32,
    ) -> Result<Value> {
        let r = self
            .call(
                "POST",
                &format!("/v1/performance/agreements/{id}/periods/{period}/report"),
                Some(token),
                Some(json!({})),
            )
            .await?;
        let digest: B256 = serde_json::from_value(r["digest"].clone())?;
        let signature =
            alloy::primitives::Bytes::from(key.sign_hash_sync(&digest)?.as_bytes().to_vec());
        self.perf(
            token,
            id,
            json!({"action": "submit-report", "period": period, "version": r["version"],
                   "units": r["units"], "revenue": r["revenue"], "detailRoot": r["detailRoot"],
                   "signature": signature}),
        )
        .await?;
        self.synced().await?;
        Ok(r)
    }

    async fn upload(&self, token: &str, id: B256, ids: &[&str], at: u64) -> Result<Value> {
        let records: Vec<Value> = ids
            .iter()
            .map(|c| json!({"conversionId": c, "occurredAt": at, "revenue": (40 * PUSD).to_string()}))
            .collect();
        self.call(
            "POST",
            &format!("/v1/performance/agreements/{id}/records"),
            Some(token),
            Some(json!({ "records": records })),
        )
        .await
    }
}

fn pusd(v: &Value) -> String {
    let units: u64 = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    format!("{}.{:02} pUSD", units / PUSD, (units % PUSD) / 10_000)
}

/// Plays the performance agreement, numbering its steps from `first`.
pub(super) async fn play(d: &Demo, keys: &[PrivateKeySigner], first: u32) -> Result<()> {
    let (brand, partner, arbiter, attester) = (&keys[0], &keys[1], &keys[2], &keys[3]);
    let config = d.call("GET", "/v1/config", None, None).await?;
    let Some(chain) = config["chains"].as_array().and_then(|c| c.first()) else {
        bail!("/v1/config lists no chain")
    };
    if chain["performance"].is_null() {
        step(first, "this stack has no performance contract: the second act is skipped");
        return Ok(());
    }
    let token = chain["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["symbol"] == "pUSD")
        .map(|t| t["address"].clone())
        .ok_or_else(|| eyre!("no pUSD on the primary chain"))?;
    let (b, p, a, r) = (
        d.login(brand).await?,
        d.login(partner).await?,
        d.login(attester).await?,
        d.login(arbiter).await?,
    );
    let start = d
        .provider
        .get_block_by_number(Default::default())
        .await?
        .map(|x| x.header.timestamp)
        .unwrap_or(0);
    let signed = d
        .call("POST", "/v1/performance/agreements/typed-data", Some(&b), Some(json!({
            "brand": brand.address(), "partner": partner.address(), "attester": attester.address(),
            "arbiter": arbiter.address(), "token": token, "metric": "conversions",
            "arbiterFeeBps": 500, "start": start, "period": DAY, "periods": 2,
            "reportWindow": DAY, "lockWindow": 2 * DAY, "arbitrationWindow": DAY,
            "deadline": start + 3_600,
            "tiers": [{"fromUnits": 0, "rate": (10 * PUSD).to_string()},
                      {"fromUnits": 3, "rate": (15 * PUSD).to_string()}],
        })))
        .await?;
    let id: B256 = serde_json::from_value(signed["agreementId"].clone())?;
    let sig = |k: &PrivateKeySigner| -> Result<alloy::primitives::Bytes> {
        Ok(k.sign_hash_sync(&id)?.as_bytes().to_vec().into())
    };
    let txs = d
        .call(
            "POST",
            "/v1/performance/agreements/transactions",
            Some(&b),
            Some(json!({
                "agreement": signed["agreement"], "brandSignature": sig(brand)?,
                "partnerSignature": sig(partner)?, "budget": (100 * PUSD).to_string(),
            })),
        )
        .await?;
    d.send(&txs).await?;
    d.synced().await?;
    step(
        first,
        &format!(
            "performance agreement {id}: 10 pUSD a conversion (15 above 3 a day), two daily \
             periods; brand and partner signed, the brand escrowed a 100 pUSD budget"
        ),
    );

    let five = ["ord-1001", "ord-1002", "ord-1003", "ord-1004", "ord-1005"];
    let up = d.upload(&a, id, &five, start + 600).await?;
    d.warp(DAY + 60).await?;
    let r0 = d.report(&a, attester, id, 0).await?;
    step(
        first + 1,
        &format!(
            "the attester uploaded {} conversions and reported period 0: {} units, {} locked for \
             two days (root {})",
            up["inserted"],
            r0["units"].as_str().unwrap_or_default(),
            pusd(&r0["pay"]),
            r0["detailRoot"]
        ),
    );

    d.call(
        "POST",
        &format!("/v1/performance/agreements/{id}/records/reversals"),
        Some(&a),
        Some(json!({"conversionIds": ["ord-1005"]})),
    )
    .await?;
    let r0 = d.report(&a, attester, id, 0).await?;
    step(
        first + 2,
        &format!(
            "ord-1005 was returned: the attester reversed it and corrected the report (version {}): \
             {} units, {}; the difference went back to the budget",
            r0["version"],
            r0["units"].as_str().unwrap_or_default(),
            pusd(&r0["pay"])
        ),
    );

    let proof = d
        .call(
            "GET",
            &format!("/v1/performance/agreements/{id}/periods/0/proof?conversionId=ord-1003"),
            Some(&p),
            None,
        )
        .await?;
    let root: B256 = serde_json::from_value(proof["root"].clone())?;
    let path: Vec<B256> = serde_json::from_value(proof["proof"].clone())?;
    let leaf = merkle::leaf_hash("ord-1003", start + 600, U256::from(40 * PUSD));
    if !(merkle::verify(root, leaf, &path) && proof["onChain"] == true) {
        bail!("the proof of ord-1003 does not verify against the root on chain");
    }
    step(
        first + 3,
        "the partner proved ord-1003 was counted: its Merkle proof leads to the root on chain",
    );

    d.upload(&a, id, &["ord-2001", "ord-2002"], start + DAY + 600).await?;
    d.warp(DAY).await?;
    d.report(&a, attester, id, 1).await?;
    d.perf(&b, id, json!({"action": "dispute", "period": 1, "reason": "suspected bot traffic"}))
        .await?;
    d.perf(&r, id, json!({"action": "resolve", "period": 1, "partnerBps": 5000})).await?;
    d.synced().await?;
    step(
        first + 4,
        "the brand disputed period 1; the arbiter ruled: its 5% fee, then half to the partner",
    );

    d.warp(2 * DAY).await?;
    d.perf(&p, id, json!({"action": "release", "period": 0})).await?;
    d.perf(&p, id, json!({"action": "close"})).await?;
    d.synced().await?;
    let v = d.call("GET", &format!("/v1/performance/agreements/{id}"), Some(&b), None).await?;
    if v["status"] != "ended" {
        bail!("the performance agreement is {}, not ended", v["status"]);
    }
    step(
        first + 5,
        &format!(
            "after the lock period 0 was paid and the agreement closed: it is {}; paid to the \
             partner {}, to the arbiter {}, back to the brand {}",
            v["status"],
            pusd(&v["partnerPaid"]),
            pusd(&v["arbiterPaid"]),
            pusd(&v["brandReturned"])
        ),
    );
    let k = d.call("GET", &format!("/v1/performance/agreements/{id}/kpis"), Some(&b), None).await?;
    step(
        first + 6,
        &format!(
            "KPIs: {} units ({} first reported), cost per conversion {} (smallest units), reversal \
             rate {}",
            k["total"]["units"].as_str().unwrap_or_default(),
            k["total"]["firstUnits"].as_str().unwrap_or_default(),
            k["total"]["costPerUnit"].as_str().unwrap_or_default(),
            k["total"]["reversalRate"].as_str().unwrap_or_default()
        ),
    );
    Ok(())
}
