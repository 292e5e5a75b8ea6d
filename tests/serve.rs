//! `pactum serve`, `pactum index` and `pactum verify` run as a user runs them: two processes over
//! one database, an agreement drafted, signed and funded over HTTP, its audit bundle exported and
//! verified against the node, and a bundle with one changed byte refused; the server's webhook
//! dispatcher delivers the agreement's notifications to a registered endpoint.

mod common;
#[path = "../crates/notify/tests/common/receiver.rs"]
mod receiver;
use common::{free_port, fresh_database};

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Bytes, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::{local::PrivateKeySigner, SignerSync},
    transports::http::reqwest,
};
use eyre::{bail, Result};
use pactum_bindings::PactumEscrow;
use serde_json::{json, Value};

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url),
        };
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn login(&self, key: &PrivateKeySigner, chain_id: u64, domain: &str) -> Result<String> {
        let (_, n) = self.call("POST", "/v1/auth/nonce", None, Some(json!({}))).await?;
        let nonce = n["nonce"].as_str().unwrap_or_default();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let fmt = |t: u64| {
            time::OffsetDateTime::from_unix_timestamp(t as i64)
                .ok()
                .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default()
        };
        let message = format!(
            "{domain} wants you to sign in with your Ethereum account:\n{}\n\n\nURI: http://{domain}\n\
             Version: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {}\nExpiration Time: {}",
            key.address().to_checksum(None),
            fmt(now),
            fmt(now + 600)
        );
        let signature = Bytes::from(key.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
        let (status, body) = self
            .call(
                "POST",
                "/v1/auth/login",
                None,
                Some(json!({ "message": message, "signature": signature })),
            )
            .await?;
        if status != 200 {
            bail!("login {status}: {body}");
        }
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_index_and_verify_as_a_user_does() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let keys: Vec<PrivateKeySigner> = anvil.keys()[..3].iter().cloned().map(Into::into).collect();
    let (brand, creator) = (keys[1].clone(), keys[2].clone());
    let mut wallet = EthereumWallet::from(keys[0].clone());
    wallet.register_signer(brand.clone());
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url());
    let escrow = PactumEscrow::deploy(&provider).await?;
    let start = provider.get_block_number().await?;
    let database_url = fresh_database("pactum_serve").await?;
    let port = free_port()?;
    let domain = format!("127.0.0.1:{port}");
    let common = |cmd: &mut Command| {
        cmd.env("PACTUM_RPC_URL", anvil.endpoint())
            .env("DATABASE_URL", &database_url)
            .env("PACTUM_CHAIN_ID", anvil.chain_id().to_string())
            .env("PACTUM_ESCROW", escrow.address().to_string())
            .env_remove("PACTUM_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut index = Command::new(env!("CARGO_BIN_EXE_pactum"));
    index.args([
        "index",
        "--start-block",
        &start.to_string(),
        "--poll-ms",
        "50",
        "--metrics-addr",
        "off",
    ]);
    common(&mut index);
    let _index = Running(index.spawn()?);
    // The export key: a file, as an operator keeps it; its address is published.
    let export_key = PrivateKeySigner::random();
    let key_file = std::env::temp_dir().join(format!("pactum-export-key-{}", std::process::id()));
    std::fs::write(&key_file, format!("{}\n", alloy::hex::encode_prefixed(export_key.to_bytes())))?;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_pactum"));
    serve
        .args(["serve", "--listen", &domain, "--webhooks-allow-private"])
        .arg("--export-key-file")
        .arg(&key_file);
    common(&mut serve);
    let _serve = Running(serve.spawn()?);

    let http = Http { base: format!("http://{domain}"), client: reqwest::Client::new() };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.call("GET", "/healthz", None, None).await.is_err() {
        assert!(Instant::now() < deadline, "pactum serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Draft, sign, fund (ETH).
    let brand_token = http.login(&brand, anvil.chain_id(), &domain).await?;
    let creator_token = http.login(&creator, anvil.chain_id(), &domain).await?;
    // The brand's endpoint, a local receiver (allowed by --webhooks-allow-private).
    let rx = receiver::Receiver::start().await?;
    let (status, hook) = http
        .call("POST", "/v1/webhooks", Some(&brand_token), Some(json!({ "url": rx.url })))
        .await?;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let draft = json!({
        "creator": creator.address(), "token": Address::ZERO, "contestWindow": 3600,
        "milestones": [{ "amount": "1000000000000000", "deadline": now + 86_400, "reviewWindow": 3600 }],
        "terms": {
            "deliverables": [{ "platform": "youtube", "format": "video", "description": "review", "milestone": 0 }],
            "usage_rights": { "scope": "organic", "duration_days": 30, "territories": ["US"] },
            "disclosure": [{ "region": "US", "rule": "FTC", "required_labels": ["#ad"] }],
            "morality_clause": "For cause.",
        },
    });
    let (status, d) = http.call("POST", "/v1/drafts", Some(&brand_token), Some(draft)).await?;
    assert_eq!(status, 201, "{d}");
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    let digest: B256 = serde_json::from_value(d["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand_token, &brand), (&creator_token, &creator)] {
        let sig = Bytes::from(key.sign_hash_sync(&digest)?.as_bytes().to_vec());
        let (status, body) = http
            .call(
                "POST",
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                Some(json!({ "version": 1, "signature": sig })),
            )
            .await?;
        assert_eq!(status, 200, "{body}");
    }
    let (status, txs) = http
        .call("GET", &format!("/v1/drafts/{id}/transactions"), Some(&brand_token), None)
        .await?;
    assert_eq!(status, 200, "{txs}");
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        let req = TransactionRequest::default()
            .from(serde_json::from_value(tx["from"].clone())?)
            .to(serde_json::from_value(tx["to"].clone())?)
            .input(serde_json::from_value::<Bytes>(tx["data"].clone())?.into())
            .value(U256::from_str_radix(tx["value"].as_str().unwrap_or("0"), 10)?);
        assert!(provider.send_transaction(req).await?.get_receipt().await?.status());
    }

    // The indexer process mirrors it; the API process serves it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, one) =
            http.call("GET", &format!("/v1/agreements/{digest}"), None, None).await?;
        if status == 200 && one["agreement"]["funded"] == "1000000000000000" {
            break;
        }
        assert!(Instant::now() < deadline, "the agreement never appeared: {one}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The serving process's dispatcher delivered what the indexing process published, signed.
    let got =
        rx.wait_for(Duration::from_secs(30), |g| g.iter().filter(|x| x.acked).count() >= 2).await?;
    let mut types = Vec::new();
    for g in &got {
        standardwebhooks::Webhook::new(&secret)?.verify(&g.body, &g.headers)?;
        let body: Value = serde_json::from_slice(&g.body)?;
        types.push(body["type"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(types, ["agreement.created", "milestones.funded"]);

    let (_, config) = http.call("GET", "/v1/config", None, None).await?;
    assert_eq!(config["exportSigner"], json!(export_key.address()), "{config}");

    // Export the bundle; `pactum verify` accepts it, and refuses it with one byte changed.
    let (status, bundle) = http
        .call("GET", &format!("/v1/agreements/{digest}/audit-bundle"), Some(&brand_token), None)
        .await?;
    assert_eq!(status, 200, "{bundle}");
    let dir = std::env::temp_dir().join(format!("pactum-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let good = dir.join("bundle.json");
    let text = serde_json::to_string_pretty(&bundle)?;
    std::fs::write(&good, &text)?;
    let verify = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["verify"])
            .arg(file)
            .args(["--rpc-url", anvil.endpoint().as_str()])
            .args(["--escrow", &escrow.address().to_string()])
            .args(["--exporter", &export_key.address().to_string()])
            .output()
    };
    let out = verify(&good)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Verified: 20 checks, 20 passed, 0 failed"), "{stdout}");

    // One byte of the AgreementCreated event's data.
    let data = bundle["events"][0]["data"].as_str().unwrap_or_default().to_owned();
    let last = data.chars().last().unwrap_or('0');
    let flipped = format!("{}{}", &data[..data.len() - 1], if last == '0' { '1' } else { '0' });
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, text.replacen(&data, &flipped, 1))?;
    let out = verify(&bad)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL exporter-signature"), "{stdout}");
    assert!(stdout.contains("FAIL events-complete"), "{stdout}");
    Ok(())
}
