//! Several chains in one deployment, as a user meets it: `pactum dev --chains 2` runs two anvils
//! (chain ids 31337 and 31338, the escrow at the same address on both), one indexer per chain and
//! one API. A brand and a creator put one agreement on each chain through the API, sign in on
//! either chain, and read, act on and export each on its own chain; an auditor checks the second
//! chain's bundle with `pactum verify` against that chain's node, and the same bundle fails against
//! the other chain's. The hostile moves: naming the wrong chain for an agreement, a chain the
//! deployment does not serve (for a draft, a list, a sign-in), and a reorg on one chain, which
//! must take back that chain's agreement and leave the other chain's untouched.

mod common;
use common::{dev_banner, free_port, StopOnDrop};

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    dyn_abi::TypedData,
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::{local::PrivateKeySigner, SignerSync},
    transports::http::reqwest::{self, StatusCode},
};
use eyre::{bail, ensure, Result};
use pactum_bindings::MockERC1271Wallet;
use serde_json::{json, Value};

/// The accounts `pactum dev` names brand and creator on every chain: anvil's default keys 1 and 2.
const BRAND_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CREATOR_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/// Anvil's key 5, which `pactum dev` leaves unused: it deploys the test's contract wallets.
const DEPLOYER_KEY: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";

struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<(StatusCode, Value)> {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Result<(StatusCode, Value)> {
        self.call(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    /// A SIWE message naming `chain_id` (with a fresh nonce), signed by `key`; the login's answer.
    async fn login_on(&self, key: &PrivateKeySigner, chain_id: u64) -> Result<(StatusCode, Value)> {
        self.login_as(key.address(), key, chain_id).await
    }

    /// A SIWE message for `account` (a contract wallet, say) naming `chain_id`, signed by `key`.
    async fn login_as(
        &self,
        account: Address,
        key: &PrivateKeySigner,
        chain_id: u64,
    ) -> Result<(StatusCode, Value)> {
        let (_, n) =
            self.call(reqwest::Method::POST, "/v1/auth/nonce", None, Some(json!({}))).await?;
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        };
        let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
        let message = format!(
            "{} wants you to sign in with your Ethereum account:\n{}\n\n\nURI: {}\nVersion: 1\n\
             Chain ID: {chain_id}\nNonce: {}\nIssued At: {}\nExpiration Time: {}",
            n["domain"].as_str().unwrap_or_default(),
            account.to_checksum(None),
            n["uri"].as_str().unwrap_or_default(),
            n["nonce"].as_str().unwrap_or_default(),
            fmt(now),
            fmt(now + Duration::from_secs(3600)),
        );
        let signature = Bytes::from(key.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
        self.call(
            reqwest::Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({ "message": message, "signature": signature })),
        )
        .await
    }

    async fn login(&self, key: &PrivateKeySigner, chain_id: u64) -> Result<String> {
        let (status, body) = self.login_on(key, chain_id).await?;
        ensure!(status == StatusCode::OK, "login on chain {chain_id}: {status} {body}");
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

/// One of the stack's chains, as a wallet reaches it.
struct Node {
    chain_id: u64,
    url: String,
    escrow: Address,
    usd: Address,
}

impl Node {
    /// Sends a prepared transaction from its `from` (brand or creator); checks it is for this
    /// chain first, as a wallet asked to switch networks would.
    async fn send(&self, keys: &[PrivateKeySigner], tx: &Value) -> Result<u64> {
        ensure!(tx["chainId"] == self.chain_id, "a transaction for another chain: {tx}");
        // Only this chain's contracts: its escrow, or its token for an approval.
        let to: Address = serde_json::from_value(tx["to"].clone())?;
        ensure!(
            to == self.escrow || to == self.usd,
            "a transaction to another chain's contract: {tx}"
        );
        let from: Address = serde_json::from_value(tx["from"].clone())?;
        let key = keys.iter().find(|k| k.address() == from).ok_or_else(|| eyre::eyre!("no key"))?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(key.clone()))
            .connect_http(self.url.parse()?);
        let data: Bytes = serde_json::from_value(tx["data"].clone())?;
        let value = U256::from_str_radix(tx["value"].as_str().unwrap_or("0"), 10)?;
        let req = TransactionRequest::default().with_to(to).with_input(data).with_value(value);
        let receipt = provider.send_transaction(req).await?.get_receipt().await?;
        ensure!(receipt.status(), "reverted on chain {}: {tx}", self.chain_id);
        Ok(receipt.block_number.unwrap_or_default())
    }

    async fn rpc(&self, method: &'static str, params: Value) -> Result<Value> {
        let provider = ProviderBuilder::new().connect_http(self.url.parse()?);
        Ok(provider.raw_request(method.into(), params).await?)
    }
}

/// A draft of two pUSD milestones on `node`'s chain, with `creator`.
fn draft_body(node: &Node, creator: Address) -> Value {
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "chainId": node.chain_id,
        "creator": creator,
        "token": node.usd,
        "milestones": [
            { "amount": "1000000", "deadline": t + 7 * 86_400, "reviewWindow": 3 * 86_400 },
            { "amount": "2000000", "deadline": t + 14 * 86_400, "reviewWindow": 3 * 86_400 },
        ],
        "contestWindow": 2 * 86_400,
        "terms": {
            "deliverables": [
                { "platform": "instagram", "format": "reel", "description": "reel", "milestone": 0 },
                { "platform": "youtube", "format": "video", "description": "review", "milestone": 1 },
            ],
            "usage_rights": { "scope": "organic social", "duration_days": 90, "territories": ["US"] },
            "disclosure": [{ "region": "US", "rule": "FTC", "required_labels": ["#ad"] }],
            "morality_clause": "Either party may end the agreement for conduct that brings the other into disrepute.",
        },
    })
}

/// Drafts, signs and funds an agreement on `node`'s chain through the API; returns its id once
/// the API shows it.
async fn agreement_on(
    c: &Client,
    node: &Node,
    brand: &str,
    creator: &str,
    keys: &[PrivateKeySigner],
) -> Result<B256> {
    let (status, draft) = c.post("/v1/drafts", brand, draft_body(node, keys[1].address())).await?;

    ensure!(status == StatusCode::CREATED, "draft: {status} {draft}");
    ensure!(draft["chainId"] == node.chain_id, "the draft is on another chain: {draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();

    // The typed data names this chain and its escrow, and hashes to the id the API gives.
    let (_, typed) = c.get(&format!("/v1/drafts/{id}/typed-data"), Some(brand)).await?;
    let data: TypedData = serde_json::from_value(typed["typedData"].clone())?;
    ensure!(data.domain.chain_id == Some(U256::from(node.chain_id)), "domain: {typed}");
    ensure!(data.domain.verifying_contract == Some(node.escrow), "domain: {typed}");
    let digest = data.eip712_signing_hash()?;
    let agreement: B256 = serde_json::from_value(typed["agreementId"].clone())?;
    ensure!(digest == agreement, "the typed data does not hash to the agreement id");

    for (token, key) in [(brand, &keys[0]), (creator, &keys[1])] {
        let signature = Bytes::from(key.sign_hash_sync(&digest)?.as_bytes().to_vec());
        let (status, res) = c
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                token,
                json!({ "version": 1, "signature": signature }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "sign: {status} {res}");
    }
    let (status, txs) = c.get(&format!("/v1/drafts/{id}/transactions"), Some(brand)).await?;
    ensure!(status == StatusCode::OK, "transactions: {status} {txs}");
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        node.send(keys, tx).await?;
    }
    wait_for(c, &format!("/v1/agreements/{agreement}"), StatusCode::OK).await?;
    Ok(agreement)
}

/// Polls `path` (anonymous) until it answers `want` (the indexers poll every 250 ms).
async fn wait_for(c: &Client, path: &str, want: StatusCode) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = c.get(path, None).await?;
        if status == want {
            return Ok(body);
        }
        if Instant::now() > deadline {
            bail!("{path}: still {status} {body}, not {want}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_chains_in_one_stack_keep_their_agreements_apart() -> Result<()> {
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    // The second anvil takes the next port: make sure nobody has it.
    ensure!(std::net::TcpListener::bind(("127.0.0.1", anvil_port + 1)).is_ok(), "port taken");
    let listen = format!("127.0.0.1:{api_port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args([
            "dev",
            "--chains",
            "2",
            "--anvil-port",
            &anvil_port.to_string(),
            "--listen",
            &listen,
        ])
        .env_remove("DATABASE_URL")
        .env_remove("PACTUM_LISTEN")
        .env_remove("ANVIL_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| eyre::eyre!("no stdout"))?;
    let _stack = StopOnDrop(child);
    let printed = dev_banner(stdout).await?;
    ensure!(printed.contains("(chain 31337)") && printed.contains("(chain 31338)"), "{printed}");
    let api = format!("http://{listen}");
    common::wait_ready(&api).await?;
    let c = Client { http: reqwest::Client::new(), api };
    let keys: Vec<PrivateKeySigner> =
        [BRAND_KEY, CREATOR_KEY].iter().map(|k| k.parse()).collect::<Result<_, _>>()?;

    // What a client learns first: both chains, each with its escrow and tokens.
    let (_, cfg) = c.get("/v1/config", None).await?;
    let chains = cfg["chains"].as_array().cloned().unwrap_or_default();
    ensure!(chains.len() == 2, "{cfg}");
    let nodes: Vec<Node> = chains
        .iter()
        .enumerate()
        .map(|(n, ch)| {
            Ok(Node {
                chain_id: ch["chainId"].as_u64().unwrap_or_default(),
                url: format!("http://127.0.0.1:{}", anvil_port + u16::try_from(n)?),
                escrow: serde_json::from_value(ch["escrow"].clone())?,
                usd: serde_json::from_value(ch["tokens"][1]["address"].clone())?,
            })
        })
        .collect::<Result<_>>()?;
    ensure!((nodes[0].chain_id, nodes[1].chain_id) == (31_337, 31_338), "{cfg}");
    ensure!(cfg["chainId"] == 31_337, "the primary chain comes first: {cfg}");
    // Separate deployments: the second chain's escrow and pUSD are at other addresses, so using
    // the primary chain's anywhere would show (a transaction's `to`, a spender, a domain).
    ensure!(nodes[0].escrow != nodes[1].escrow && nodes[0].usd != nodes[1].usd, "{cfg}");

    // Sign-in works naming either chain; a chain the deployment does not serve is refused.
    let brand = c.login(&keys[0], 31_338).await?;
    let creator = c.login(&keys[1], 31_337).await?;
    let (status, res) = c.login_on(&keys[0], 5).await?;
    ensure!(
        (status, code(&res)) == (StatusCode::BAD_REQUEST, "siwe_chain_mismatch"),
        "sign-in naming chain 5: {status} {res}"
    );

    // One address, a contract wallet on both chains, owned by different keys (a factory replayed
    // on another chain, say): its owner on the second chain must not get a session that also
    // reads what the address holds on the first. Refused, whoever signs; a wallet that exists on
    // one chain only signs in there.
    let deployer: PrivateKeySigner = DEPLOYER_KEY.parse()?;
    let mut twins = Vec::new();
    for (node, owner) in nodes.iter().zip([&keys[1], &keys[0]]) {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(deployer.clone()))
            .connect_http(node.url.parse()?);
        twins.push(*MockERC1271Wallet::deploy(provider, owner.address()).await?.address());
    }
    ensure!(twins[0] == twins[1], "same deployer and nonce, same address: {twins:?}");
    for (signer, chain) in [(&keys[0], 31_338), (&keys[1], 31_337)] {
        let (status, res) = c.login_as(twins[0], signer, chain).await?;
        ensure!(
            (status, code(&res)) == (StatusCode::BAD_REQUEST, "invalid_signature"),
            "a twin wallet signed in naming chain {chain}: {status} {res}"
        );
    }
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer.clone()))
        .connect_http(nodes[1].url.parse()?);
    let lone = *MockERC1271Wallet::deploy(provider, keys[0].address()).await?.address();
    let (status, res) = c.login_as(lone, &keys[0], 31_338).await?;
    ensure!(status == StatusCode::OK, "a wallet on one chain only: {status} {res}");

    // A draft for a chain not served is refused before anything is stored.
    let (status, res) = c
        .post(
            "/v1/drafts",
            &brand,
            json!({ "chainId": 5, "creator": keys[1].address(),
            "token": Address::ZERO, "milestones": [], "contestWindow": 86_400, "terms": {} }),
        )
        .await?;
    ensure!((status, code(&res)) == (StatusCode::BAD_REQUEST, "unknown_chain"), "{status} {res}");

    let first = agreement_on(&c, &nodes[0], &brand, &creator, &keys).await?;
    let second = agreement_on(&c, &nodes[1], &brand, &creator, &keys).await?;

    // Each agreement reads as its own chain's, by id alone or by chain and id; the wrong chain
    // and an unserved one are a 404, never the other chain's agreement.
    for (id, chain) in [(first, 31_337u64), (second, 31_338)] {
        for path in [format!("/v1/agreements/{id}"), format!("/v1/agreements/{chain}:{id}")] {
            let (status, a) = c.get(&path, None).await?;
            ensure!(
                status == StatusCode::OK && a["agreement"]["chainId"] == chain,
                "{path}: {status} {a}"
            );
        }
        let other = if chain == 31_337 { 31_338 } else { 31_337 };
        let wrong = format!("/v1/agreements/{other}:{id}");
        for (status, res) in [
            c.get(&wrong, None).await?,
            c.get(&format!("{wrong}/history"), None).await?,
            c.get(&format!("{wrong}/audit-bundle"), Some(&brand)).await?,
            c.post(
                &format!("{wrong}/transactions"),
                &brand,
                json!({ "action": "approve", "milestone": 0 }),
            )
            .await?,
            c.post(
                &format!("{wrong}/caption-check"),
                &creator,
                json!({ "milestone": 0, "caption": "#ad new reel" }),
            )
            .await?,
        ] {
            ensure!(
                (status, code(&res)) == (StatusCode::NOT_FOUND, "not_found"),
                "{wrong}: {status} {res}"
            );
        }
        let (_, history) = c.get(&format!("/v1/agreements/{id}/history"), None).await?;
        ensure!(history["chainId"] == chain, "{history}");
    }
    let (status, res) = c.get(&format!("/v1/agreements/5:{second}"), None).await?;
    ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "unknown_chain"), "{status} {res}");

    // Lists are per chain: the brand's default list is the primary chain's.
    let party = keys[0].address();
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().into_iter().flatten().map(|r| r["id"].to_string()).collect()
    };
    let (_, primary) = c.get(&format!("/v1/agreements?party={party}"), None).await?;
    let (_, on_second) = c.get(&format!("/v1/agreements?party={party}&chain=31338"), None).await?;
    ensure!(ids(&primary) == vec![format!("\"{first}\"")], "{primary}");
    ensure!(ids(&on_second) == vec![format!("\"{second}\"")], "{on_second}");
    let (status, res) = c.get("/v1/agreements?chain=5", None).await?;
    ensure!((status, code(&res)) == (StatusCode::NOT_FOUND, "unknown_chain"), "{status} {res}");
    let (_, drafts) = c.get("/v1/drafts?chain=31338", Some(&brand)).await?;
    ensure!(drafts["items"].as_array().map(Vec::len) == Some(1), "{drafts}");
    ensure!(drafts["items"][0]["chainId"] == 31_338, "{drafts}");

    // An action on the second chain's agreement is a transaction for that chain and its escrow,
    // simulated there (the creator submits; the brand approves).
    let submit = json!({ "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(7),
        "uri": "ipfs://second" });
    let (status, prepared) =
        c.post(&format!("/v1/agreements/{second}/transactions"), &creator, submit).await?;
    ensure!(status == StatusCode::OK, "{status} {prepared}");
    let tx = &prepared["transactions"][0];
    ensure!(tx["chainId"] == 31_338, "{tx}");
    nodes[1].send(&keys, tx).await?;
    let (status, prepared) = c
        .post(
            &format!("/v1/agreements/{second}/transactions"),
            &brand,
            json!({ "action": "approve", "milestone": 0 }),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {prepared}");
    nodes[1].send(&keys, &prepared["transactions"][0]).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, a) = c.get(&format!("/v1/agreements/{second}"), None).await?;
        if a["agreement"]["paidToCreator"] == "1000000" {
            break;
        }
        ensure!(Instant::now() < deadline, "the approval never showed: {a}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A new version of a draft cannot move it to another chain (its signatures, typed data and
    // funding all name the first).
    let (status, draft) =
        c.post("/v1/drafts", &brand, draft_body(&nodes[1], keys[1].address())).await?;
    ensure!(status == StatusCode::CREATED, "{status} {draft}");
    let mut moved = draft_body(&nodes[0], keys[1].address());
    moved["chainId"] = json!(31_337);
    let (status, res) = c
        .call(
            reqwest::Method::PUT,
            &format!("/v1/drafts/{}", draft["id"].as_str().unwrap_or_default()),
            Some(&brand),
            Some(moved),
        )
        .await?;
    ensure!((status, code(&res)) == (StatusCode::BAD_REQUEST, "chain_mismatch"), "{status} {res}");

    // The auditor's check: the second chain's bundle (fetched by a party) names its chain, verifies against that chain's node,
    // and fails against the first chain's (whose escrow has the same address).
    let (status, bundle) =
        c.get(&format!("/v1/agreements/{second}/audit-bundle"), Some(&brand)).await?;
    // Bundles write integers as decimal strings.
    ensure!(status == StatusCode::OK && bundle["chainId"] == "31338", "{status} {bundle}");
    let dir = std::env::temp_dir().join(format!("pactum-chains-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("second.json");
    std::fs::write(&file, serde_json::to_vec(&bundle)?)?;
    let verify = |node: &Node| {
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["verify", "--rpc-url", &node.url, "--escrow", &node.escrow.to_string()])
            .arg(&file)
            .env_remove("PACTUM_RPC_URL")
            .output()
    };
    let right = verify(&nodes[1])?;
    ensure!(right.status.code() == Some(0), "{}", String::from_utf8_lossy(&right.stdout));
    let wrong = verify(&nodes[0])?;
    ensure!(wrong.status.code() == Some(1), "{}", String::from_utf8_lossy(&wrong.stdout));

    // Both chains' events reach the parties in one feed, each naming its chain.
    let (_, feed) = c.get("/v1/notifications?limit=100", Some(&creator)).await?;
    let chains_heard: std::collections::BTreeSet<u64> = feed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["data"]["chain_id"].as_u64())
        .collect();
    ensure!(chains_heard == [31_337, 31_338].into(), "{feed}");

    // A reorg on the second chain that drops every block since the agreement was funded: the
    // second chain's agreement goes, the first chain's stays exactly as it was.
    let (_, before) = c.get(&format!("/v1/agreements/{first}"), None).await?;
    let (_, status_before) = c.get("/v1/status", None).await?;
    let head = nodes[1].rpc("eth_blockNumber", json!([])).await?;
    let head = u64::from_str_radix(head.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
    let created: u64 = bundle["created"]["blockNumber"].as_str().unwrap_or("0").parse()?;
    ensure!(created > 0 && head >= created, "{bundle}");
    let depth = head - created + 1;
    nodes[1].rpc("anvil_reorg", json!([depth, []])).await?;
    nodes[1].rpc("anvil_mine", json!([2])).await?;
    wait_for(&c, &format!("/v1/agreements/{second}"), StatusCode::NOT_FOUND).await?;
    let (_, after) = c.get(&format!("/v1/agreements/{first}"), None).await?;
    ensure!(before == after, "the other chain's agreement changed:\n{before}\n{after}");
    let (_, status_after) = c.get("/v1/status", None).await?;
    // The first chain's mirror never stepped back for the other chain's reorg.
    let indexed = |s: &Value| s["chains"][0]["indexed"].as_u64().unwrap_or_default();
    ensure!(indexed(&status_after) >= indexed(&status_before), "{status_before}\n{status_after}");
    let (_, on_second) = c.get(&format!("/v1/agreements?party={party}&chain=31338"), None).await?;
    ensure!(ids(&on_second).is_empty(), "{on_second}");
    let (_, primary) = c.get(&format!("/v1/agreements?party={party}"), None).await?;
    ensure!(ids(&primary) == vec![format!("\"{first}\"")], "{primary}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
