//! A running stack for one test: anvil with the contracts, a fresh database, the API on a free
//! port, the indexer on demand, and wallets that sign in and sign as users' wallets would.

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::{bail, Result};
use pactum_api::{router, AppState, Config};
use pactum_bindings::{MockStablecoin, PactumEscrow, PactumPerformance};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

pub(crate) struct Stack {
    /// The API's configuration.
    pub(crate) cfg: Config,
    pub(crate) anvil: AnvilInstance,
    pub(crate) provider: DynProvider,
    pub(crate) escrow: Address,
    pub(crate) usd: Address,
    pub(crate) pool: PgPool,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) start_block: u64,
    pub(crate) brand: PrivateKeySigner,
    pub(crate) creator: PrivateKeySigner,
    pub(crate) arbiter: PrivateKeySigner,
    pub(crate) auditor: PrivateKeySigner,
    pub(crate) stranger: PrivateKeySigner,
}

pub(crate) const AUDITOR_KEY: &str = "audit-key-0123456789abcdefghij";

pub(crate) async fn stack() -> Result<Stack> {
    stack_with(|_| {}).await
}

/// A stack whose API configuration `tweak` adjusts first.
pub(crate) async fn stack_with(tweak: impl FnOnce(&mut Config)) -> Result<Stack> {
    stack_on(fresh_db().await?, tweak, |s| s).await
}

/// A stack over `pool` (migrated), whose configuration `tweak` adjusts and whose API state
/// `state` finishes (a read replica, say).
pub(crate) async fn stack_on(
    pool: PgPool,
    tweak: impl FnOnce(&mut Config),
    state: impl FnOnce(AppState) -> AppState,
) -> Result<Stack> {
    let anvil = Anvil::new().try_spawn()?;
    let keys: Vec<PrivateKeySigner> = anvil.keys()[..6].iter().cloned().map(Into::into).collect();
    let mut wallet = EthereumWallet::from(keys[0].clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let provider =
        ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
    let escrow = PactumEscrow::deploy(provider.clone()).await?;
    let start_block = provider.get_block_number().await?;
    let usd = MockStablecoin::deploy(provider.clone()).await?;
    let brand = keys[1].clone();
    usd.mint(brand.address(), U256::from(1_000_000_000_000u64)).send().await?.get_receipt().await?;
    // Last, so that the escrow and the stablecoin keep their addresses.
    let performance = PactumPerformance::deploy(provider.clone()).await?;

    let mut cfg = Config::new(anvil.chain_id(), *escrow.address());
    cfg.siwe_domain = "pactum.test".to_owned();
    cfg.siwe_uri = "https://pactum.test".to_owned();
    cfg.auditors = vec![keys[4].address()];
    cfg.auditor_api_keys = vec![AUDITOR_KEY.to_owned()];
    cfg.tokens.push(*usd.address());
    cfg.performance = Some(*performance.address());
    tweak(&mut cfg);
    let base =
        serve_state(state(AppState::new(cfg.clone(), pool.clone(), anvil.endpoint_url()))).await?;
    Ok(Stack {
        cfg,
        escrow: *escrow.address(),
        usd: *usd.address(),
        anvil,
        provider,
        pool,
        base,
        http: reqwest::Client::new(),
        start_block,
        brand,
        creator: keys[2].clone(),
        arbiter: keys[3].clone(),
        auditor: keys[4].clone(),
        stranger: keys[5].clone(),
    })
}

/// The API for `cfg` on a free port, over `pool` and the node at `rpc_url`, as `pactum serve`
/// runs it (with peer addresses, for the per-IP limits); returns its base URL.
pub(crate) async fn serve(
    cfg: Config,
    pool: PgPool,
    rpc_url: alloy::transports::http::reqwest::Url,
) -> Result<String> {
    serve_state(AppState::new(cfg, pool, rpc_url)).await
}

/// [`serve`] for a finished state.
pub(crate) async fn serve_state(state: AppState) -> Result<String> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// A new, migrated database of its own.
pub(crate) async fn fresh_db() -> Result<PgPool> {
    let url =
        pactum_db::scratch::create(&pactum_db::scratch::admin_url(), "pactum_api_test").await?;
    Ok(pactum_db::connect(&url, 8).await?)
}

/// Unix seconds as RFC 3339 UTC (what SIWE timestamps are).
pub(crate) fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// An EIP-4361 message, written out by hand (an independent check of the server's parser).
pub(crate) fn siwe_text(
    domain: &str,
    uri: &str,
    address: Address,
    chain_id: u64,
    nonce: &str,
    issued: i64,
    expires: i64,
) -> String {
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{}\n\nSign in to Pactum.\n\n\
         URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {}\n\
         Expiration Time: {}",
        address.to_checksum(None),
        rfc3339(issued),
        rfc3339(expires),
    )
}

impl Stack {
    pub(crate) fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    /// Any request; returns status and JSON body (Null when the body is not JSON).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let json = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let text = res.text().await?;
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Whatever a test asserts, the response must be one the document describes.
        crate::conformance::check(&method, path, status, json.then_some(&value))?;
        Ok((status, value))
    }

    /// The `/metrics` text.
    pub(crate) async fn scrape(&self) -> Result<String> {
        Ok(self.http.get(format!("{}/metrics", self.base)).send().await?.text().await?)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Result<(StatusCode, Value)> {
        self.call(Method::GET, path, token, None).await
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Result<(StatusCode, Value)> {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// A SIWE message for `key` with a fresh nonce from the API.
    pub(crate) async fn siwe_message(&self, key: &PrivateKeySigner) -> Result<String> {
        let (status, n) = self.post("/v1/auth/nonce", None, json!({})).await?;
        if status != StatusCode::OK {
            bail!("nonce: {status} {n}");
        }
        let nonce = n["nonce"].as_str().unwrap_or_default().to_owned();
        Ok(siwe_text(
            "pactum.test",
            "https://pactum.test",
            key.address(),
            self.chain_id(),
            &nonce,
            now() - 5,
            now() + 3600,
        ))
    }

    /// Signs in as `key`; returns the bearer token.
    pub(crate) async fn login(&self, key: &PrivateKeySigner) -> Result<String> {
        let message = self.siwe_message(key).await?;
        let signature = Bytes::from(key.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
        let (status, body) = self
            .post("/v1/auth/login", None, json!({ "message": message, "signature": signature }))
            .await?;
        if status != StatusCode::OK {
            bail!("login: {status} {body}");
        }
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }

    /// A valid draft body: two pUSD milestones, an arbiter, full terms.
    pub(crate) fn draft_body(&self, amounts: [&str; 2]) -> Value {
        self.draft_body_at(amounts, now())
    }

    /// [`Self::draft_body`] with milestone deadlines a week and two after `t`.
    pub(crate) fn draft_body_at(&self, amounts: [&str; 2], t: i64) -> Value {
        json!({
            "creator": self.creator.address(),
            "arbiter": self.arbiter.address(),
            "token": self.usd,
            "milestones": [
                { "amount": amounts[0], "deadline": t + 7 * 86_400, "reviewWindow": 3 * 86_400 },
                { "amount": amounts[1], "deadline": t + 14 * 86_400, "reviewWindow": 3 * 86_400 },
            ],
            "arbiterFeeBps": 250,
            "contestWindow": 2 * 86_400,
            "arbitrationWindow": 7 * 86_400,
            "terms": terms(),
        })
    }

    /// Signs a digest as the wallet's `eth_signTypedData_v4` would (the EIP-712 digest, signed).
    pub(crate) fn sign_digest(&self, key: &PrivateKeySigner, digest: B256) -> Result<Bytes> {
        Ok(key.sign_hash_sync(&digest)?.as_bytes().to_vec().into())
    }

    /// Sends a prepared transaction from its `from` account.
    pub(crate) async fn send(&self, tx: &Value) -> Result<()> {
        let from: Address = serde_json::from_value(tx["from"].clone())?;
        let to: Address = serde_json::from_value(tx["to"].clone())?;
        let data: Bytes = serde_json::from_value(tx["data"].clone())?;
        let value = U256::from_str_radix(tx["value"].as_str().unwrap_or("0"), 10)?;
        let req = TransactionRequest::default().from(from).to(to).input(data.into()).value(value);
        let receipt = self.provider.send_transaction(req).await?.get_receipt().await?;
        if !receipt.status() {
            bail!("transaction reverted: {tx}");
        }
        Ok(())
    }

    /// Moves the chain's time forward by `seconds` and mines a block stamped with it.
    pub(crate) async fn warp(&self, seconds: u64) -> Result<()> {
        let _: Value = self.provider.raw_request("evm_increaseTime".into(), (seconds,)).await?;
        let _: Value = self.provider.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    /// The latest block's timestamp.
    pub(crate) async fn chain_time(&self) -> Result<i64> {
        let block = self
            .provider
            .get_block_by_number(Default::default())
            .await?
            .ok_or_else(|| eyre::eyre!("no latest block"))?;
        Ok(i64::try_from(block.header.timestamp)?)
    }

    /// Runs the indexer until it has mirrored the head.
    pub(crate) async fn index(&self) -> Result<()> {
        let mut cfg = pactum_indexer::Config::new(self.chain_id(), self.escrow, self.start_block);
        cfg.performance = self.cfg.performance;
        pactum_indexer::Indexer::new(cfg, self.anvil.endpoint_url(), self.pool.clone())
            .sync_to_head()
            .await?;
        Ok(())
    }

    /// Verifies a bundle as an auditor would: trusting this stack's escrow, never the bundle's.
    pub(crate) async fn verify(&self, bundle: &Value) -> pactum_audit::Report {
        let trust = pactum_audit::Trust {
            escrow: self.escrow,
            chain_id: Some(self.chain_id()),
            exporter: Some(self.cfg.export_key.address()),
            historical: false,
        };
        pactum_audit::verify(bundle, &self.provider, &trust).await
    }

    pub(crate) async fn count(&self, table: &str) -> Result<i64> {
        // Test-only: `table` is a literal table name from the test itself.
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await?)
    }
}

/// A complete terms document.
pub(crate) fn terms() -> Value {
    json!({
        "deliverables": [
            { "platform": "instagram", "format": "reel", "description": "30 s product reel", "milestone": 0 },
            { "platform": "youtube", "format": "video", "description": "8 min review", "milestone": 1 },
        ],
        "usage_rights": { "scope": "organic and paid social", "duration_days": 180, "territories": ["US", "UK"] },
        "exclusivity": { "category": "running shoes", "duration_days": 90 },
        "disclosure": [
            { "region": "US", "rule": "FTC", "required_labels": ["#ad", "#sponsored"] },
            { "region": "UK", "rule": "ASA", "required_labels": ["#ad"] },
        ],
        "morality_clause": "Either party may end the agreement for conduct that brings the other into disrepute.",
    })
}
