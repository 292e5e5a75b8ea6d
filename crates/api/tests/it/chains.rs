//! A second chain served beside the primary one, through the API with every response checked
//! against the OpenAPI document: a draft on the second chain names its chain, escrow and token in
//! its typed data and transactions; once indexed, its agreement is found by id on its chain only
//! and reconciles there; unserved chains are refused with the documented codes; and a server that
//! no longer serves the draft's chain still shows the draft but refuses to sign, change or fund it.

use alloy::{
    dyn_abi::TypedData,
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use eyre::{ensure, Result};
use pactum_api::{ChainConfig, Config};
use pactum_bindings::{MockStablecoin, PactumEscrow};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{serve, stack_with};

/// The second chain: its anvil, node, escrow and token (at other addresses than the primary's).
struct Second {
    anvil: AnvilInstance,
    provider: DynProvider,
    escrow: Address,
    usd: Address,
    start_block: u64,
}

async fn second_chain() -> Result<Second> {
    let anvil = Anvil::new().chain_id(31_338).try_spawn()?;
    let keys: Vec<alloy::signers::local::PrivateKeySigner> =
        anvil.keys()[..3].iter().cloned().map(Into::into).collect();
    let mut wallet = EthereumWallet::from(keys[0].clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let provider =
        ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
    // One transaction first, so the contracts land at other addresses than on the primary chain.
    let burn = TransactionRequest::default().from(keys[0].address()).to(keys[0].address());
    provider.send_transaction(burn).await?.get_receipt().await?;
    let escrow = PactumEscrow::deploy(provider.clone()).await?;
    let start_block = provider.get_block_number().await?;
    let usd = MockStablecoin::deploy(provider.clone()).await?;
    usd.mint(keys[1].address(), U256::from(1_000_000_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(Second { escrow: *escrow.address(), usd: *usd.address(), anvil, provider, start_block })
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

/// A request to another server of the same stack, checked against the document all the same.
async fn call_at(
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value)> {
    let mut req =
        reqwest::Client::new().request(method.clone(), format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status();
    let value: Value = serde_json::from_str(&res.text().await?).unwrap_or(Value::Null);
    crate::conformance::check(&method, path, status, Some(&value))?;
    Ok((status, value))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_chain_is_served_apart_and_documented() -> Result<()> {
    let two = second_chain().await?;
    let more = ChainConfig {
        performance: None,
        chain_id: 31_338,
        escrow: two.escrow,
        tokens: vec![two.usd],
        rpc_url: two.anvil.endpoint_url(),
    };
    let s = stack_with(|cfg: &mut Config| cfg.more_chains = vec![more]).await?;
    ensure!(s.escrow != two.escrow && s.usd != two.usd, "the test needs distinct addresses");
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;

    let (_, cfg) = s.get("/v1/config", None).await?;
    ensure!(cfg["chains"][1]["chainId"] == 31_338, "{cfg}");
    ensure!(cfg["chains"][1]["escrow"] == json!(two.escrow), "{cfg}");
    ensure!(cfg["chains"][1]["tokens"][1]["address"] == json!(two.usd), "{cfg}");
    let (_, status) = s.get("/v1/status", None).await?;
    ensure!(status["chains"].as_array().map(Vec::len) == Some(2), "{status}");

    // Unserved chains, each with its documented code.
    for path in ["/v1/agreements?chain=999", "/v1/reconciliation?chain=999"] {
        let (status, res) = s.get(path, None).await?;
        ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "unknown_chain"), "{path}: {res}");
    }
    let (status, res) = s.get("/v1/drafts?chain=999", Some(&brand)).await?;
    ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "unknown_chain"), "{res}");
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["chainId"] = json!(999);
    let (status, res) = s.post("/v1/drafts", Some(&brand), body).await?;
    ensure!((status, code(&res)) == (StatusCode::BAD_REQUEST, "unknown_chain"), "{res}");
    // The primary chain's token is not the second chain's.
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["chainId"] = json!(31_338);
    let (status, res) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
    ensure!((status, code(&res)) == (StatusCode::BAD_REQUEST, "unknown_token"), "{res}");

    // A draft on the second chain: its chain, escrow and token throughout.
    body["token"] = json!(two.usd);
    let (status, draft) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
    ensure!(status == StatusCode::CREATED, "{draft}");
    ensure!(draft["chainId"] == 31_338 && draft["escrow"] == json!(two.escrow), "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let (_, typed) = s.get(&format!("/v1/drafts/{id}/typed-data"), Some(&brand)).await?;
    let data: TypedData = serde_json::from_value(typed["typedData"].clone())?;
    ensure!(data.domain.chain_id == Some(U256::from(31_338)), "{typed}");
    ensure!(data.domain.verifying_contract == Some(two.escrow), "{typed}");
    let agreement: B256 = serde_json::from_value(typed["agreementId"].clone())?;
    ensure!(data.eip712_signing_hash()? == agreement, "{typed}");
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let signature = s.sign_digest(key, agreement)?;
        let (status, res) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": signature }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{res}");
    }
    let (status, txs) = s.get(&format!("/v1/drafts/{id}/transactions"), Some(&brand)).await?;
    ensure!(status == StatusCode::OK, "{txs}");
    let txs = txs["transactions"].as_array().cloned().unwrap_or_default();
    ensure!(txs.len() == 2, "approve, then createAndFund: {txs:?}");
    ensure!(txs[0]["to"] == json!(two.usd) && txs[1]["to"] == json!(two.escrow), "{txs:?}");

    // A server that no longer serves the second chain (say it was removed from the config)
    // still shows the draft, and refuses to sign, change or fund it, naming why.
    let mut primary_only = s.cfg.clone();
    primary_only.more_chains.clear();
    let other = serve(primary_only, s.pool.clone(), s.anvil.endpoint_url()).await?;
    let (status, shown) =
        call_at(&other, Method::GET, &format!("/v1/drafts/{id}"), &brand, None).await?;
    ensure!(status == StatusCode::OK && shown["chainId"] == 31_338, "{shown}");
    let refusals = [
        call_at(&other, Method::GET, &format!("/v1/drafts/{id}/transactions"), &brand, None)
            .await?,
        call_at(&other, Method::PUT, &format!("/v1/drafts/{id}"), &brand, Some(body.clone()))
            .await?,
        call_at(
            &other,
            Method::POST,
            &format!("/v1/drafts/{id}/signatures"),
            &creator,
            Some(json!({ "version": 1, "signature": s.sign_digest(&s.creator, agreement)? })),
        )
        .await?,
    ];
    for (status, res) in refusals {
        ensure!(
            (status, code(&res)) == (StatusCode::CONFLICT, "chain_not_served"),
            "{status} {res}"
        );
    }

    // Funded on the second chain and indexed there: found by id, on its chain only; it
    // reconciles on its chain.
    for tx in &txs {
        ensure!(tx["chainId"] == 31_338, "{tx}");
        let req = TransactionRequest::default()
            .from(serde_json::from_value(tx["from"].clone())?)
            .to(serde_json::from_value(tx["to"].clone())?)
            .input(serde_json::from_value::<Bytes>(tx["data"].clone())?.into())
            .value(U256::from_str_radix(tx["value"].as_str().unwrap_or("0"), 10)?);
        ensure!(two.provider.send_transaction(req).await?.get_receipt().await?.status(), "{tx}");
    }
    let cfg = pactum_indexer::Config::new(31_338, two.escrow, two.start_block);
    pactum_indexer::Indexer::new(cfg, two.anvil.endpoint_url(), s.pool.clone())
        .sync_to_head()
        .await?;
    s.index().await?;
    let (status, read) = s.get(&format!("/v1/agreements/{agreement}"), None).await?;
    ensure!(status == StatusCode::OK && read["agreement"]["chainId"] == 31_338, "{read}");
    let (status, read) = s.get(&format!("/v1/agreements/31338:{agreement}"), None).await?;
    ensure!(status == StatusCode::OK && read["agreement"]["funded"] == "3000000", "{read}");
    let (status, res) =
        s.get(&format!("/v1/agreements/{}:{agreement}", s.chain_id()), None).await?;
    ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "not_found"), "{res}");
    let (status, res) = s.get(&format!("/v1/agreements/999:{agreement}"), None).await?;
    ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "unknown_chain"), "{res}");
    let (_, page) = s.get("/v1/agreements?chain=31338", None).await?;
    ensure!(page["items"][0]["id"] == json!(agreement), "{page}");
    let (_, page) = s.get("/v1/agreements", None).await?;
    ensure!(page["items"].as_array().is_some_and(Vec::is_empty), "the primary list: {page}");
    let (status, rec) = s.get("/v1/reconciliation?chain=31338", None).await?;
    ensure!(status == StatusCode::OK && rec["matches"] == true, "{rec}");
    ensure!(rec["chainId"] == "31338" && rec["escrow"] == json!(two.escrow), "{rec}");

    // A record of a chain this server does not serve (another deployment's indexer on the same
    // database, say) never reaches a party's feed; a served chain's does.
    let mut tx = s.pool.begin().await?;
    let note = |chain_id: u64, reason: &str| pactum_db::notifications::NewNotification {
        kind: "endpoint.disabled".to_owned(),
        chain_id,
        agreement_id: None,
        milestone: None,
        source: None,
        occurred_at: 0,
        data: json!({ "endpoint_id": 1, "url": "https://hooks.example", "reason": reason }),
        audience: vec![pactum_db::notifications::Recipient {
            account: s.brand.address(),
            role: "account",
        }],
    };
    pactum_db::notifications::publish(&mut tx, &[note(999, "foreign"), note(31_338, "served")])
        .await?;
    tx.commit().await?;
    let (_, feed) = s.get("/v1/notifications?limit=100", Some(&brand)).await?;
    let reasons: Vec<&str> = feed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["data"]["reason"].as_str())
        .collect();
    ensure!(reasons == ["served"], "the feed's notices: {reasons:?}");
    Ok(())
}
