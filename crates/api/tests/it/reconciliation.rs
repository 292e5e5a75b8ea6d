//! `GET /v1/reconciliation` over the reconciliation scenario (every exit in ETH and pUSD, deferred
//! payments, a stray transfer): the mirror matches the chain to the unit once indexed, and a
//! tampered mirror (a payout edited, a withdrawal deleted, a deposit deleted) is reported agreement
//! by agreement and credit by credit.

use alloy::primitives::U256;
use eyre::{ensure, Result};
use pactum_api::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    helpers::{fresh_db, serve},
    scenario::{deploy, Scenario, ETHER, USD},
};

async fn get(base: &str, path: &str) -> Result<(StatusCode, Value)> {
    let res = reqwest::get(format!("{base}{path}")).await?;
    let status = res.status();
    Ok((status, serde_json::from_str(&res.text().await?).unwrap_or(Value::Null)))
}

async fn index(s: &Scenario, pool: &PgPool) -> Result<()> {
    let cfg = pactum_indexer::Config::new(s.anvil.chain_id(), s.address(), s.start_block);
    pactum_indexer::Indexer::new(cfg, s.anvil.endpoint_url(), pool.clone()).sync_to_head().await?;
    Ok(())
}

fn token(figures: &Value, t: alloy::primitives::Address) -> &Value {
    figures["tokens"]
        .as_array()
        .and_then(|ts| {
            ts.iter().find(|x| {
                x["token"].as_str().map(str::to_lowercase) == Some(t.to_string().to_lowercase())
            })
        })
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn the_mirror_matches_the_chain_to_the_unit_and_tampering_is_listed() -> Result<()> {
    let mut s = deploy().await?;
    s.play().await?;
    let pool = fresh_db().await?;
    let mut cfg = Config::new(s.anvil.chain_id(), s.address());
    cfg.tokens.push(s.usd_address());
    let base = serve(cfg, pool.clone(), s.anvil.endpoint_url()).await?;
    let (eth, usd) = (alloy::primitives::Address::ZERO, s.usd_address());

    // Nothing mirrored yet: nothing to compare.
    let (status, body) = get(&base, "/v1/reconciliation").await?;
    ensure!(
        status == StatusCode::CONFLICT && body["error"]["code"] == "not_indexed",
        "{status} {body}"
    );

    index(&s, &pool).await?;
    let (status, r) = get(&base, "/v1/reconciliation").await?;
    ensure!(status == StatusCode::OK, "{status} {r}");
    assert_eq!(r["matches"], true, "{r}");
    assert_eq!(r["block"]["number"], r["indexedBlock"]);
    let e = token(&r["chain"], eth);
    assert_eq!(
        (&e["balance"], &e["held"], &e["credits"], &e["surplus"], &e["shortfall"]),
        (
            &json!((9 * ETHER / 10).to_string()),
            &json!((ETHER / 5).to_string()),
            &json!((7 * ETHER / 10).to_string()),
            &json!("0"),
            &json!(false)
        ),
        "{r}"
    );
    let u = token(&r["chain"], usd);
    assert_eq!(
        (&u["balance"], &u["held"], &u["credits"], &u["surplus"]),
        (
            &json!((470 * USD).to_string()),
            &json!((470 * USD).to_string()),
            &json!("0"),
            &json!("0")
        ),
        "{r}"
    );
    let de = token(&r["database"], eth);
    assert_eq!((&de["held"], &de["credits"]), (&e["held"], &e["credits"]), "{r}");
    let du = token(&r["database"], usd);
    assert_eq!((&du["held"], &du["credits"]), (&u["held"], &json!("0")), "{r}");
    assert_eq!(r["chain"]["agreements"], "8");
    assert_eq!(r["database"]["agreements"], "8");
    assert_eq!(r["differences"], json!({ "blockHash": false, "agreements": [], "credits": [] }));
    assert_eq!(r["database"]["blockHash"], r["block"]["hash"]);
    let indexed: u64 = r["indexedBlock"].as_str().unwrap_or_default().parse()?;

    // A stray transfer: the mirror's block does not have it yet; once indexed, it is surplus,
    // exactly, and still a match (nobody is owed it).
    let stray = U256::from(12_345_678u64);
    s.stray(stray).await?;
    let (_, r) = get(&base, "/v1/reconciliation").await?;
    assert_eq!(token(&r["chain"], usd)["surplus"], "0", "read at the indexed block: {r}");
    index(&s, &pool).await?;
    let (_, r) = get(&base, "/v1/reconciliation").await?;
    assert_eq!(token(&r["chain"], usd)["surplus"], "12345678", "{r}");
    assert_eq!(token(&r["chain"], usd)["balance"], (470 * USD + 12_345_678).to_string());
    assert_eq!(r["matches"], true, "{r}");
    // The earlier block on request; a block the mirror has not reached is refused.
    let (_, r) = get(&base, &format!("/v1/reconciliation?block={indexed}")).await?;
    assert_eq!(
        (&r["block"]["number"], &token(&r["chain"], usd)["surplus"]),
        (&json!(indexed.to_string()), &json!("0")),
        "{r}"
    );
    let (status, body) = get(&base, "/v1/reconciliation?block=999999").await?;
    ensure!(
        status == StatusCode::CONFLICT && body["error"]["code"] == "not_indexed",
        "{status} {body}"
    );
    let (status, body) = get(&base, "/v1/reconciliation?block=latest").await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body["error"]["code"] == "invalid_query",
        "{status} {body}"
    );

    // Tampering, each listed where it was done. A brand refund shaved by one unit:
    sqlx::query(
        "UPDATE payouts SET amount = amount - 1 WHERE agreement_id = $1 AND role = 'brand'",
    )
    .bind(s.ids.mutual.as_slice())
    .execute(&pool)
    .await?;
    // the withdrawal of the deferred payment dropped:
    sqlx::query("DELETE FROM deferred_payments WHERE withdrawn_to IS NOT NULL")
        .execute(&pool)
        .await?;
    // the funding of the agreement still holding ETH dropped:
    sqlx::query("DELETE FROM deposits WHERE agreement_id = $1 AND first_milestone = 1")
        .bind(s.ids.deferred_kept.as_slice())
        .execute(&pool)
        .await?;
    let (status, r) = get(&base, "/v1/reconciliation").await?;
    ensure!(status == StatusCode::OK, "{status} {r}");
    assert_eq!(r["matches"], false, "{r}");
    let mut agreements = r["differences"]["agreements"].as_array().cloned().unwrap_or_default();
    agreements.sort_by_key(|d| d["id"].as_str().map(str::to_owned));
    let mut want = vec![
        json!({ "id": s.ids.mutual, "chainToken": eth, "databaseToken": eth, "chain": "0", "database": "1" }),
        json!({ "id": s.ids.deferred_kept, "chainToken": eth, "databaseToken": eth, "chain": (ETHER / 5).to_string(), "database": "0" }),
    ];
    want.sort_by_key(|d| d["id"].as_str().map(str::to_owned));
    assert_eq!(agreements, want, "{r}");
    assert_eq!(
        r["differences"]["credits"],
        json!([{ "token": eth, "account": s.refusing[0].address(), "chain": "0", "database": (3 * ETHER / 10).to_string() }]),
        "{r}"
    );
    // The chain's own figures do not move with the mirror.
    assert_eq!(token(&r["chain"], eth)["held"], (ETHER / 5).to_string());
    Ok(())
}

/// A dead node is `rpc_unavailable`, in the one error shape; the per-IP budget refuses before
/// any work; the route and its types are in the OpenAPI document.
#[tokio::test]
async fn a_dead_node_is_rpc_unavailable_and_calls_are_budgeted() -> Result<()> {
    let s = deploy().await?;
    let pool = fresh_db().await?;
    index(&s, &pool).await?;
    let mut cfg = Config::new(s.anvil.chain_id(), s.address());
    cfg.anonymous_rate_per_minute = 1;
    let base = serve(cfg, pool, "http://127.0.0.1:9".parse()?).await?;
    let (status, body) = get(&base, "/v1/reconciliation").await?;
    ensure!(
        status == StatusCode::BAD_GATEWAY && body["error"]["code"] == "rpc_unavailable",
        "{status} {body}"
    );
    ensure!(!body.to_string().contains("127.0.0.1:9"), "the node's URL leaked: {body}");
    let (status, body) = get(&base, "/v1/reconciliation").await?;
    ensure!(
        status == StatusCode::TOO_MANY_REQUESTS && body["error"]["code"] == "rate_limited",
        "{status} {body}"
    );

    let (_, doc) = get(&base, "/openapi.json").await?;
    ensure!(doc["paths"]["/v1/reconciliation"]["get"].is_object(), "route not documented");
    for schema in ["Reconciliation", "TokenView", "AgreementDifferenceView", "CreditDifferenceView"]
    {
        ensure!(doc["components"]["schemas"][schema].is_object(), "{schema} not documented");
    }
    Ok(())
}
