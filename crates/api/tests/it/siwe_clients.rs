//! Sign-in with messages from SIWE clients Pactum did not write: the `siwe` package's
//! `prepareMessage()` (signed with ethers) and viem's `createSiweMessage` (signed with a viem
//! account), committed as fixtures by `tools/siwe-fixtures` (crates/core/tests/fixtures/siwe).
//!
//! Test setup, stated plainly: `POST /v1/auth/nonce` hands out random nonces, and a fixture was
//! signed once with a fixed nonce, so each test stores the fixture's nonce through the db layer's
//! own `insert_nonce` (what the nonce route does) as a nonce the server issued. Everything else is
//! the server as it runs: its domain and URI are the fixtures' (`pactum.test`,
//! `https://pactum.test`), the chain is anvil's (31337, the fixtures' chain id), and `Issued At`
//! is only refused in the future, so the fixtures' past `Issued At` is fine; their expirations,
//! when they have one, are in 2098 and 2099.
//!
//! The contract wallet of the EIP-1271 fixtures is `MockERC1271Wallet` owned by anvil's account 1,
//! deployed as the first transaction of anvil's account 9: its address is the fixtures' address.

use std::{path::Path, time::Duration};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{ensure, Result};
use pactum_api::{router, AppState, Config};
use pactum_bindings::MockERC1271Wallet;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::now;

const DAY: Duration = Duration::from_secs(86_400);
/// Longer than any fixture's expiration is away (2099): there the message's expiry is sooner.
const CENTURIES: Duration = Duration::from_secs(200 * 365 * 86_400);
/// `Expiration Time: 2099-12-31T23:59:59.999Z` of the `expiration` fixtures, in whole seconds.
const EXPIRATION_FIXTURE_ENDS: i64 = 4_102_444_799;

fn fixture(name: &str) -> Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/siwe")
        .join(format!("{name}.json"));
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn address(v: &Value) -> Option<Address> {
    serde_json::from_value(v.clone()).ok()
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

/// Anvil and a fresh, migrated database.
async fn chain_and_db() -> Result<(AnvilInstance, PgPool)> {
    let anvil = Anvil::new().try_spawn()?;
    let url =
        pactum_db::scratch::create(&pactum_db::scratch::admin_url(), "pactum_api_test").await?;
    Ok((anvil, pactum_db::connect(&url, 8).await?))
}

/// Deploys the fixtures' contract wallet where they expect it: account 9's first contract, owned
/// by account 1.
async fn deploy_fixture_wallet(anvil: &AnvilInstance) -> Result<Address> {
    let deployer: PrivateKeySigner = anvil.keys()[9].clone().into();
    let owner: PrivateKeySigner = anvil.keys()[1].clone().into();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer.clone()))
        .connect_http(anvil.endpoint_url());
    ensure!(
        provider.get_transaction_count(deployer.address()).await? == 0,
        "account 9 has sent transactions already; the wallet would land elsewhere"
    );
    let wallet = MockERC1271Wallet::deploy(provider, owner.address()).await?;
    let expected = address(&fixture("viem-eip1271")?["address"]).unwrap_or_default();
    ensure!(
        *wallet.address() == expected,
        "wallet at {}, fixtures name {expected}",
        wallet.address()
    );
    Ok(expected)
}

/// An API over `pool` for the fixtures' domain, with `cfg` changed as given; its base URL.
async fn serve(
    pool: &PgPool,
    rpc: &str,
    chain_id: u64,
    change: impl FnOnce(&mut Config),
) -> Result<String> {
    // Sign-in does not touch the escrow.
    let mut cfg = Config::new(chain_id, Address::ZERO);
    cfg.siwe_domain = "pactum.test".to_owned();
    cfg.siwe_uri = "https://pactum.test".to_owned();
    change(&mut cfg);
    let app = router(AppState::new(cfg, pool.clone(), rpc.parse()?));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Stores the fixture's nonce as one the server issued (see the module's comment).
async fn issue(pool: &PgPool, f: &Value, expires_at: i64) -> Result<()> {
    let mut conn = pool.acquire().await?;
    pactum_db::api::insert_nonce(&mut conn, f["nonce"].as_str().unwrap_or_default(), expires_at)
        .await?;
    Ok(())
}

async fn login(base: &str, message: &Value, signature: &Value) -> Result<(StatusCode, Value)> {
    let res = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "message": message, "signature": signature }))
        .send()
        .await?;
    let status = res.status();
    Ok((status, serde_json::from_str(&res.text().await?).unwrap_or(Value::Null)))
}

async fn me(base: &str, token: &str) -> Result<Value> {
    let res =
        reqwest::Client::new().get(format!("{base}/v1/auth/me")).bearer_auth(token).send().await?;
    Ok(res.json().await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn library_messages_sign_in_as_accounts_and_as_contract_wallets() -> Result<()> {
    let (anvil, pool) = chain_and_db().await?;
    let wallet = deploy_fixture_wallet(&anvil).await?;
    let rpc = anvil.endpoint_url().to_string();
    let day = serve(&pool, &rpc, anvil.chain_id(), |c| c.session_ttl = DAY).await?;
    let centuries = serve(&pool, &rpc, anvil.chain_id(), |c| c.session_ttl = CENTURIES).await?;

    for library in ["siwe", "viem"] {
        // default, statement, scheme: no Expiration Time, so the session lasts the server's day.
        // eip1271: the same, as the contract wallet. full: its expiry (2098) is later than a day
        // from now, so the server's day wins again.
        for variant in ["default", "statement", "scheme", "eip1271", "full"] {
            let name = format!("{library}-{variant}");
            let f = fixture(&name)?;
            issue(&pool, &f, now() + 600).await?;
            let before = now();
            let (status, body) = login(&day, &f["message"], &f["signature"]).await?;
            let after = now();
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            assert_eq!(address(&body["address"]), address(&f["address"]), "{name}");
            assert_eq!(body["role"], "party", "{name}");
            let ends = body["expiresAt"].as_i64().unwrap_or_default();
            assert!(
                (before + 86_400..=after + 86_400).contains(&ends),
                "{name}: the session ends at {ends}, not a day after {before}..{after}"
            );
            let who = me(&day, body["token"].as_str().unwrap_or_default()).await?;
            assert_eq!(who["role"], "party", "{name}");
            assert_eq!(address(&who["address"]), address(&f["address"]), "{name}");

            // The same signed message again: its nonce is spent.
            let (status, body) = login(&day, &f["message"], &f["signature"]).await?;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
                "{name} replayed: {body}"
            );
        }

        // An Expiration Time sooner than the server's lifetime ends the session then.
        let name = format!("{library}-expiration");
        let f = fixture(&name)?;
        issue(&pool, &f, now() + 600).await?;
        let (status, body) = login(&centuries, &f["message"], &f["signature"]).await?;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(body["expiresAt"], json!(EXPIRATION_FIXTURE_ENDS), "{name}: {body}");
        let (status, body) = login(&centuries, &f["message"], &f["signature"]).await?;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")));
    }
    let wallet_sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE address = $1")
            .bind(wallet.as_slice())
            .fetch_one(&pool)
            .await?;
    assert_eq!(wallet_sessions, 2, "one session per library for the contract wallet");
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await?;
    assert_eq!(sessions, 12);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nonce_is_spent_before_the_signature_is_checked() -> Result<()> {
    let (anvil, pool) = chain_and_db().await?;
    let rpc = anvil.endpoint_url().to_string();
    let chain_id = anvil.chain_id();
    let server = serve(&pool, &rpc, chain_id, |_| {}).await?;

    // A nonce never issued is refused without looking at the signature: a server whose node is
    // down answers `siwe_nonce_invalid`, not `rpc_unavailable`, for a contract wallet's message
    // (whose key does not recover to the wallet, so checking the signature would ask the node).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("http://{}", l.local_addr()?)
    };
    let no_node = serve(&pool, &closed, chain_id, |_| {}).await?;
    let f = fixture("viem-eip1271")?;
    let (status, body) = login(&no_node, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );
    // The same with the nonce issued does go to the node (and finds it down): the nonce is spent.
    issue(&pool, &f, now() + 600).await?;
    let (status, body) = login(&no_node, &f["message"], &f["signature"]).await?;
    assert_eq!((status, code(&body)), (StatusCode::BAD_GATEWAY, Some("rpc_unavailable")), "{body}");
    let (status, body) = login(&no_node, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );

    // Fields are checked before the nonce is spent: refused for another domain, the nonce still
    // signs in where the message belongs.
    let elsewhere =
        serve(&pool, &rpc, chain_id, |c| c.siwe_domain = "other.test".to_owned()).await?;
    let f = fixture("viem-default")?;
    issue(&pool, &f, now() + 600).await?;
    let (status, body) = login(&elsewhere, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_domain_mismatch")),
        "{body}"
    );
    let (status, body) = login(&server, &f["message"], &f["signature"]).await?;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A wrong signature (the same key's, over another message) consumes the nonce: the right one
    // cannot follow for free.
    let f = fixture("siwe-default")?;
    let other = fixture("siwe-statement")?;
    issue(&pool, &f, now() + 600).await?;
    let (status, body) = login(&server, &f["message"], &other["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_signature")),
        "{body}"
    );
    let (status, body) = login(&server, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );

    // The same for a contract wallet, whose wrong signature costs an `eth_call`.
    deploy_fixture_wallet(&anvil).await?;
    let f = fixture("siwe-eip1271")?;
    let other = fixture("viem-eip1271")?;
    issue(&pool, &f, now() + 600).await?;
    let (status, body) = login(&server, &f["message"], &other["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_signature")),
        "{body}"
    );
    let (status, body) = login(&server, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );

    // An expired nonce is refused, however good the signature.
    let f = fixture("viem-statement")?;
    issue(&pool, &f, now() - 1).await?;
    let (status, body) = login(&server, &f["message"], &f["signature"]).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, Some("siwe_nonce_invalid")),
        "{body}"
    );

    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await?;
    assert_eq!(sessions, 1, "only the message signed in where it belongs got a session");
    Ok(())
}
