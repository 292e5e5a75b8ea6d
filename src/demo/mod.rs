//! `pactum demo`: one agreement's whole life, played through the HTTP API of a running dev stack
//! (`pactum dev`) with the dev accounts' keys, printed step by step as a user would read it.
//!
//! The brand drafts a four-milestone deal, both parties sign, the brand funds it; the creator
//! delivers, the brand approves the first milestone; the brand stays silent on the second and the
//! creator claims it after the review window; the creator delivers the third, and the brand ends
//! the deal for cause (morality clause). Uncontested, the termination returns only the unearned
//! escrow (the fourth milestone, never delivered); the delivered third stays the creator's, who
//! claims it once its review window has passed in silence. Then the audit bundle is exported and
//! verified against the node. Then a performance agreement plays out ([`performance`]). Time is
//! moved forward on anvil (`evm_increaseTime`), which is why
//! this runs against a dev chain only.
//!
//! The demo outlives a restart of the stack under it (`pactum dev --state … --database-url …`
//! stopped and started again): a request that could not reach the stack is retried until it is
//! back (up to [`STACK_BACK_WITHIN`]). A refused connection is always retried (nothing was acted
//! on); a connection closed before any response only for requests that change nothing (reads,
//! and the API's transaction preparation), and for JSON-RPC, whose retried calls are reads, signed
//! transactions (sent twice, mined once) and time travel (a second warp only adds time).
//! Each request opens its own connection, so none is caught on a pooled one the server closes.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{client::ClientBuilder, types::TransactionRequest},
    signers::{local::PrivateKeySigner, SignerSync},
    transports::{
        http::reqwest,
        layers::{OrRetryPolicyFn, RateLimitRetryPolicy, RetryBackoffLayer},
        RpcError, TransportErrorKind,
    },
};
use clap::Args;
use eyre::{bail, eyre, Context, Result};
use pactum_core::siwe::SiweMessage;
use serde_json::{json, Value};

mod performance;

/// Anvil's well-known dev keys (accounts 1 to 3: brand, creator, arbiter; account 5: the
/// attester of the performance agreement, since `pactum dev` makes account 4 an auditor).
const DEV_KEYS: [&str; 4] = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
];

/// How long the demo waits for a stack that stopped answering to come back.
const STACK_BACK_WITHIN: Duration = Duration::from_secs(120);
/// How long a sent transaction may take to be mined (anvil mines at once).
const RECEIPT_WITHIN: Duration = Duration::from_secs(15);
/// Pause between attempts while it waits.
const RETRY_EVERY: Duration = Duration::from_millis(250);

/// True when `e` (from reqwest, possibly wrapped) is a failed connection or, with `unanswered`, a
/// request that got no response at all.
fn unreached(e: &(dyn std::error::Error + 'static), unanswered: bool) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<reqwest::Error>() {
            return r.is_connect() || (unanswered && r.is_request());
        }
        cur = err.source();
    }
    false
}

/// Flags of `pactum demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The API of a running `pactum dev`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// Its chain's RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Where to write the audit bundle.
    #[arg(long, default_value = "pactum-demo-bundle.json")]
    bundle: std::path::PathBuf,
}

struct Demo {
    api: String,
    http: reqwest::Client,
    provider: DynProvider,
}

impl Demo {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.api);
        let mut req = if method == "GET" { self.http.get(url) } else { self.http.post(url) };
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let changes_nothing = method == "GET" || path.ends_with("/transactions");
        let deadline = tokio::time::Instant::now() + STACK_BACK_WITHIN;
        let res = loop {
            let attempt = req.try_clone().ok_or_else(|| eyre!("{method} {path}: unclonable"))?;
            match attempt.send().await {
                Err(e)
                    if unreached(&e, changes_nothing) && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                other => {
                    break other
                        .wrap_err_with(|| format!("{method} {path}: is `pactum dev` running?"))?
                }
            }
        };
        let status = res.status();
        let value: Value = serde_json::from_str(&res.text().await?).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path}: {status} {}", value["error"]);
        }
        Ok(value)
    }

    async fn login(&self, key: &PrivateKeySigner) -> Result<String> {
        let n = self.call("POST", "/v1/auth/nonce", None, Some(json!({}))).await?;
        let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
        let msg = SiweMessage {
            domain: n["domain"].as_str().unwrap_or_default().to_owned(),
            address: key.address(),
            statement: Some("Sign in to Pactum.".to_owned()),
            uri: n["uri"].as_str().unwrap_or_default().to_owned(),
            version: "1".to_owned(),
            chain_id: n["chainId"].as_u64().unwrap_or_default(),
            nonce: n["nonce"].as_str().unwrap_or_default().to_owned(),
            issued_at: now,
            expiration_time: Some(now + Duration::from_secs(3600)),
            not_before: None,
            request_id: None,
            resources: Vec::new(),
        };
        let text = msg.to_string();
        let signature = Bytes::from(key.sign_message_sync(text.as_bytes())?.as_bytes().to_vec());
        let s = self
            .call(
                "POST",
                "/v1/auth/login",
                None,
                Some(json!({ "message": text, "signature": signature })),
            )
            .await?;
        Ok(s["token"].as_str().unwrap_or_default().to_owned())
    }

    /// Sends each prepared transaction and waits for it.
    async fn send(&self, prepared: &Value) -> Result<()> {
        for tx in prepared["transactions"].as_array().into_iter().flatten() {
            let req = TransactionRequest::default()
                .from(serde_json::from_value::<Address>(tx["from"].clone())?)
                .to(serde_json::from_value::<Address>(tx["to"].clone())?)
                .input(serde_json::from_value::<Bytes>(tx["data"].clone())?.into())
                .value(U256::from_str_radix(tx["value"].as_str().unwrap_or("0"), 10)?);
            let mut resent = 0;
            let receipt = loop {
                let pending = self.provider.send_transaction(req.clone()).await?;
                let hash = *pending.tx_hash();
                match pending.with_timeout(Some(RECEIPT_WITHIN)).get_receipt().await {
                    Ok(r) => break r,
                    // A node stopped just after accepting a transaction can come back without
                    // it (anvil keeps what its state file holds): the same transaction again.
                    Err(_)
                        if resent < 3
                            && self.provider.get_transaction_by_hash(hash).await?.is_none() =>
                    {
                        resent += 1;
                    }
                    Err(e) => return Err(e).wrap_err_with(|| format!("waiting for {hash}")),
                }
            };
            if !receipt.status() {
                bail!("transaction {} reverted", receipt.transaction_hash);
            }
        }
        Ok(())
    }

    async fn act(&self, token: &str, id: B256, body: Value) -> Result<()> {
        let prepared = self
            .call("POST", &format!("/v1/agreements/{id}/transactions"), Some(token), Some(body))
            .await?;
        self.send(&prepared).await
    }

    /// Waits until the indexer has mirrored the chain's head.
    async fn synced(&self) -> Result<()> {
        for _ in 0..300 {
            let s = self.call("GET", "/v1/status", None, None).await?;
            if s["indexed"] == s["head"] {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the indexer did not catch up")
    }

    /// Waits (up to a minute: the planner runs every few seconds) until `token`'s notifications
    /// hold the reminder of milestone `milestone`'s window sent `lead` seconds ahead.
    async fn reminded(&self, token: &str, id: B256, milestone: u64, lead: u64) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let page = self.call("GET", "/v1/notifications?limit=20", Some(token), None).await?;
            let found = page["items"].as_array().into_iter().flatten().any(|n| {
                n["type"] == "reminder.due"
                    && n["agreement_id"] == json!(id)
                    && n["milestone"] == json!(milestone)
                    && n["data"]["leads"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|v| v.as_u64() == Some(lead)))
            });
            if found {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("no reminder {lead} s before milestone {milestone}'s window closes");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn warp(&self, seconds: u64) -> Result<()> {
        let _: Value = self.provider.raw_request("evm_increaseTime".into(), (seconds,)).await?;
        let _: Value = self.provider.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }
}

fn step(n: u32, text: &str) {
    println!("{n:>2}. {text}");
}

/// Plays the scenario; fails on the first step that does not go as a user expects.
pub(crate) async fn run(args: DemoArgs) -> Result<()> {
    let keys: Vec<PrivateKeySigner> =
        DEV_KEYS.iter().map(|k| k.parse()).collect::<Result<_, _>>()?;
    let (brand, creator, arbiter) = (&keys[0], &keys[1], &keys[2]);
    let mut wallet = EthereumWallet::from(brand.clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let url = args.rpc_url.parse().wrap_err_with(|| format!("RPC URL {:?}", args.rpc_url))?;
    // No pooled connections (see the module docs), for the API and the RPC alike.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let retry_refused = OrRetryPolicyFn::new(
        RateLimitRetryPolicy::default(),
        |e| matches!(e, RpcError::Transport(TransportErrorKind::Custom(c)) if unreached(c.as_ref(), true)),
    );
    let attempts = (STACK_BACK_WITHIN.as_millis() / RETRY_EVERY.as_millis()) as u32;
    let rpc = ClientBuilder::default()
        .layer(RetryBackoffLayer::new_with_policy(
            attempts,
            RETRY_EVERY.as_millis() as u64,
            u64::MAX,
            retry_refused,
        ))
        .http_with_client(http.clone(), url);
    let provider = ProviderBuilder::new().wallet(wallet).connect_client(rpc).erased();
    let d = Demo { api: args.api.trim_end_matches('/').to_owned(), http, provider };

    let b = d.login(brand).await?;
    let c = d.login(creator).await?;
    step(
        1,
        &format!(
            "brand {} and creator {} signed in with their wallets (SIWE)",
            brand.address(),
            creator.address()
        ),
    );

    let now = d
        .provider
        .get_block_by_number(Default::default())
        .await?
        .map(|x| x.header.timestamp)
        .unwrap_or(0);
    let eth = |milli: u64| (U256::from(milli) * U256::from(10u64.pow(15))).to_string();
    let draft = d
        .call("POST", "/v1/drafts", Some(&b), Some(json!({
            "creator": creator.address(), "arbiter": arbiter.address(), "token": Address::ZERO,
            "arbiterFeeBps": 200, "contestWindow": 86_400, "arbitrationWindow": 7 * 86_400,
            "revisionRounds": 2,
            "milestones": [
                { "amount": eth(100), "deadline": now + 14 * 86_400, "reviewWindow": 3 * 86_400 },
                { "amount": eth(200), "deadline": now + 28 * 86_400, "reviewWindow": 3 * 86_400 },
                { "amount": eth(300), "deadline": now + 42 * 86_400, "reviewWindow": 3 * 86_400 },
                { "amount": eth(400), "deadline": now + 56 * 86_400, "reviewWindow": 3 * 86_400 },
            ],
            "terms": {
                "deliverables": [
                    { "platform": "instagram", "format": "reel", "description": "launch reel", "milestone": 0 },
                    { "platform": "youtube", "format": "video", "description": "review video", "milestone": 1 },
                    { "platform": "tiktok", "format": "video", "description": "follow-up clip", "milestone": 2 },
                    { "platform": "instagram", "format": "story", "description": "wrap-up story", "milestone": 3 },
                ],
                "usage_rights": { "scope": "organic and paid social", "duration_days": 180, "territories": ["US", "UK"] },
                "disclosure": [
                    { "region": "US", "rule": "FTC", "required_labels": ["#ad", "#sponsored"] },
                    { "region": "UK", "rule": "ASA", "required_labels": ["#ad"] },
                ],
                "morality_clause": "Either party may end the agreement for conduct that brings the other into disrepute.",
            },
        })))
        .await?;
    let draft_id = draft["id"].as_str().unwrap_or_default().to_owned();
    let id: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    step(
        2,
        &format!(
            "brand drafted {draft_id}: 4 milestones (0.1, 0.2, 0.3, 0.4 ETH), 2 revision rounds \
             each, terms hash {}",
            draft["version"]["termsHash"]
        ),
    );

    for (token, key, who) in [(&b, brand, "brand"), (&c, creator, "creator")] {
        let sig = Bytes::from(key.sign_hash_sync(&id)?.as_bytes().to_vec());
        d.call(
            "POST",
            &format!("/v1/drafts/{draft_id}/signatures"),
            Some(token),
            Some(json!({ "version": 1, "signature": sig })),
        )
        .await?;
        step(3, &format!("{who} signed the EIP-712 agreement {id}"));
    }
    let txs = d.call("GET", &format!("/v1/drafts/{draft_id}/transactions"), Some(&b), None).await?;
    d.send(&txs).await?;
    d.synced().await?;
    step(4, "brand funded all four milestones (1.0 ETH held by the escrow)");

    d.act(&c, id, json!({ "action": "submit", "milestone": 0, "contentHash": keccak256("reel"), "uri": "https://instagram.com/p/demo", "caption": "#ad Launch day with the new runners!" })).await?;
    step(5, "creator delivered milestone 0 (caption carries #ad: FTC and ASA satisfied)");
    d.act(&b, id, json!({ "action": "approve", "milestone": 0 })).await?;
    step(6, "brand approved milestone 0: 0.1 ETH paid to the creator");

    d.act(&c, id, json!({ "action": "submit", "milestone": 1, "contentHash": keccak256("video"), "uri": "https://youtube.com/watch?v=demo", "caption": "#ad #sponsored My honest review" })).await?;
    d.synced().await?;
    match d.act(&c, id, json!({ "action": "claim", "milestone": 1 })).await {
        Err(e) => {
            step(7, &format!("creator delivered milestone 1; claiming at once is refused: {e}"))
        }
        Ok(()) => bail!("a claim inside the review window was accepted"),
    }
    // Time passes in the review window: the reminder planner warns both parties 48 and 24 hours
    // before silence pays the creator.
    for (warp, lead) in [(25 * 3_600, 48), (24 * 3_600, 24)] {
        d.warp(warp).await?;
        d.synced().await?;
        d.reminded(&b, id, 1, lead * 3_600).await?;
        println!(
            "    reminder: the review window of milestone 1 closes in under {lead} hours \
             (reminder.due to brand, creator and arbiter)"
        );
    }
    d.warp(3 * 86_400 + 60 - 49 * 3_600).await?;
    d.act(&c, id, json!({ "action": "claim", "milestone": 1 })).await?;
    step(8, "the brand stayed silent for 3 days: creator claimed milestone 1 (0.2 ETH)");

    d.act(&c, id, json!({ "action": "submit", "milestone": 2, "contentHash": keccak256("clip"), "uri": "https://tiktok.com/@demo/video/1", "caption": "#ad #sponsored Week two in the runners" })).await?;
    d.act(&b, id, json!({ "action": "terminate", "reason": "Creator's public conduct breached the morality clause." })).await?;
    step(
        9,
        "creator delivered milestone 2; brand then ended the agreement for cause (morality \
         clause); the creator has 1 day to contest",
    );
    d.warp(86_400 + 60).await?;
    d.act(&b, id, json!({ "action": "finalize-termination" })).await?;
    d.synced().await?;
    let a = d.call("GET", &format!("/v1/agreements/{id}"), Some(&b), None).await?;
    step(
        10,
        &format!(
            "uncontested: the agreement is {}; the termination returned only the unearned escrow \
             (milestone 3, never delivered: {}); milestone 2 is {} and stays the creator's to claim",
            a["agreement"]["status"],
            a["milestones"][3]["status"],
            a["milestones"][2]["status"]
        ),
    );
    d.warp(2 * 86_400).await?;
    d.act(&c, id, json!({ "action": "claim", "milestone": 2 })).await?;
    d.synced().await?;
    let a = d.call("GET", &format!("/v1/agreements/{id}"), Some(&b), None).await?;
    step(
        11,
        &format!(
            "the brand stayed silent: creator claimed delivered milestone 2; the agreement is {}; \
             paid to creator {} wei, refunded to brand {} wei",
            a["agreement"]["status"],
            a["agreement"]["paidToCreator"],
            a["agreement"]["refundedToBrand"]
        ),
    );

    let bundle =
        d.call("GET", &format!("/v1/agreements/{id}/audit-bundle"), Some(&b), None).await?;
    std::fs::write(&args.bundle, serde_json::to_string_pretty(&bundle)?)?;
    step(
        12,
        &format!(
            "audit bundle written to {} ({} events)",
            args.bundle.display(),
            bundle["events"].as_array().map_or(0, Vec::len)
        ),
    );
    // Checked as an auditor would: the escrow trusted is the committed deployments file's entry
    // for the chain (never the bundle's claim), the exporter the server's published signer.
    let config = d.call("GET", "/v1/config", None, None).await?;
    let chain = d.provider.get_chain_id().await?;
    let trusted = pactum_audit::deployments::Deployments::built_in()?
        .for_chain(chain)
        .map(|t| t.escrow)
        .ok_or_else(|| eyre!("no trusted escrow for chain {chain} in deployments/escrows.json"))?;
    let exporter = config["exportSigner"].as_str().and_then(|a| a.parse().ok());
    let trust =
        pactum_audit::Trust { escrow: trusted, chain_id: Some(chain), exporter, historical: false };
    let report = pactum_audit::verify(&bundle, &d.provider, &trust).await;
    let failed = report.with_status(pactum_audit::Status::Fail).count();
    for c in &report.checks {
        println!("      {:?} {}: {}", c.status, c.id, c.detail);
    }
    step(13, &format!("pactum verify: {} checks, {:?}", report.checks.len(), report.outcome));
    if report.outcome != pactum_audit::Outcome::Verified || failed > 0 {
        return Err(eyre!("the audit bundle did not verify"));
    }
    performance::play(&d, &keys, 14).await
}
