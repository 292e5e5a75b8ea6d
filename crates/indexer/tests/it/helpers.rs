//! Shared test set-up: a chain with the escrow and stablecoin deployed, keyed parties, agreement
//! builders, and fresh databases.

use alloy::transports::http::reqwest;
use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{keccak256, Address, Bytes, Uint, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::Result;
use pactum_bindings::{MockStablecoin, PactumEscrow};
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use pactum_indexer::{Config, Indexer};
use sqlx::PgPool;

pub(crate) struct Chain {
    pub(crate) anvil: AnvilInstance,
    pub(crate) provider: DynProvider,
    pub(crate) escrow: PactumEscrow::PactumEscrowInstance<DynProvider>,
    pub(crate) usd: MockStablecoin::MockStablecoinInstance<DynProvider>,
    pub(crate) brand: PrivateKeySigner,
    pub(crate) creator: PrivateKeySigner,
    pub(crate) arbiter: PrivateKeySigner,
    pub(crate) start_block: u64,
}

pub(crate) async fn chain() -> Result<Chain> {
    let anvil = Anvil::new().try_spawn()?;
    let keys: Vec<PrivateKeySigner> = anvil.keys()[..4].iter().cloned().map(Into::into).collect();
    let mut wallet = EthereumWallet::from(keys[0].clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let provider =
        ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
    let escrow = PactumEscrow::deploy(provider.clone()).await?;
    let start_block = provider.get_block_number().await?;
    let usd = MockStablecoin::deploy(provider.clone()).await?;
    let (brand, creator, arbiter) = (keys[1].clone(), keys[2].clone(), keys[3].clone());
    usd.mint(brand.address(), U256::from(1_000_000_000_000u64)).send().await?.get_receipt().await?;
    usd.approve(*escrow.address(), U256::MAX)
        .from(brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(Chain { anvil, provider, escrow, usd, brand, creator, arbiter, start_block })
}

impl Chain {
    pub(crate) fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    pub(crate) async fn now(&self) -> Result<u64> {
        let block = self.provider.get_block_by_number(Default::default()).await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or_default())
    }

    /// An agreement of `amounts.len()` milestones, due 1, 2, 3… weeks from now.
    pub(crate) async fn agreement(
        &self,
        token: Address,
        amounts: &[u64],
        arbiter: bool,
        salt: u64,
    ) -> Result<Agreement> {
        let now = self.now().await?;
        Ok(Agreement {
            brand: self.brand.address(),
            creator: self.creator.address(),
            arbiter: if arbiter { self.arbiter.address() } else { Address::ZERO },
            token,
            termsHash: keccak256(format!("terms {salt}")),
            // Without an arbiter the escrow refuses any fee.
            arbiterFeeBps: if arbiter { 250 } else { 0 },
            contestWindow: 2 * 86_400,
            arbitrationWindow: if arbiter { 7 * 86_400 } else { 0 },
            revisionRounds: 2,
            deadline: Uint::from(now + 86_400),
            salt: U256::from(salt),
            milestones: amounts
                .iter()
                .enumerate()
                .map(|(i, a)| Milestone {
                    amount: U256::from(*a),
                    deadline: Uint::from(now + (i as u64 + 1) * 7 * 86_400),
                    reviewWindow: 3 * 86_400,
                })
                .collect(),
        })
    }

    pub(crate) fn id(&self, a: &Agreement) -> B256 {
        agreement_id(a, &domain(self.chain_id(), *self.escrow.address()))
    }

    pub(crate) fn sign(&self, key: &PrivateKeySigner, digest: B256) -> Result<Bytes> {
        Ok(key.sign_hash_sync(&digest)?.as_bytes().to_vec().into())
    }

    /// Creates `a` and funds its first `count` milestones from the brand.
    pub(crate) async fn create_and_fund(&self, a: &Agreement, count: u64) -> Result<B256> {
        let id = self.id(a);
        let value: U256 = if a.token == Address::ZERO {
            a.milestones.iter().take(count as usize).map(|m| m.amount).sum()
        } else {
            U256::ZERO
        };
        self.escrow
            .createAndFund(
                a.clone(),
                self.sign(&self.brand, id)?,
                self.sign(&self.creator, id)?,
                U256::from(count),
            )
            .value(value)
            .from(self.brand.address())
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(id)
    }

    /// Moves anvil's clock forward and mines a block.
    pub(crate) async fn warp(&self, seconds: u64) -> Result<()> {
        let _: serde_json::Value =
            self.provider.raw_request("evm_increaseTime".into(), (seconds,)).await?;
        let _: serde_json::Value = self.provider.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    pub(crate) fn config(&self) -> Config {
        let mut cfg = Config::new(self.chain_id(), *self.escrow.address(), self.start_block);
        cfg.poll_interval = std::time::Duration::from_millis(50);
        cfg
    }

    pub(crate) fn indexer(&self, cfg: Config, pool: PgPool) -> Indexer {
        Indexer::new(cfg, self.anvil.endpoint_url(), pool)
    }
}

/// A new, migrated database of its own.
pub(crate) async fn fresh_db() -> Result<PgPool> {
    let url = pactum_db::scratch::create(&pactum_db::scratch::admin_url(), "pactum_test").await?;
    Ok(pactum_db::connect(&url, 8).await?)
}

/// Every mirrored table as text, in a stable order: equal dumps mean equal mirrors, row for row.
pub(crate) async fn dump(pool: &PgPool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, order) in [
        ("escrow_events", "chain_id, block_number, log_index"),
        ("agreements", "chain_id, id"),
        ("milestones", "chain_id, agreement_id, index"),
        ("deposits", "chain_id, block_number, log_index"),
        ("payouts", "chain_id, block_number, log_index, role"),
        ("disputes", "chain_id, block_number, log_index"),
        ("terminations", "chain_id, block_number, log_index"),
        ("deferred_payments", "chain_id, block_number, log_index"),
        ("performance_events", "chain_id, block_number, log_index"),
        ("performance_agreements", "chain_id, id"),
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM {table} t ORDER BY {order}"
        )))
        .fetch_all(pool)
        .await?;
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    // The live notifications and who hears them, without what a rerun may number differently
    // (ids: a killed transaction spends sequence values) or time (created_at).
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s %s %s %s %s %s %s %s %s %s %s', n.type, n.chain_id, n.agreement_id, \
         n.milestone, n.block_number, n.block_hash, n.tx_hash, n.log_index, n.occurred_at, n.data, \
         (SELECT string_agg(encode(a.account, 'hex') || ':' || a.role, ',' ORDER BY a.account) \
          FROM notification_audience a WHERE a.notification_id = n.id)) \
         FROM notifications n WHERE NOT n.retracted AND n.type <> 'notification.retracted' \
         ORDER BY n.block_number, n.log_index",
    )
    .fetch_all(pool)
    .await?;
    out.extend(rows.into_iter().map(|r| format!("notifications: {r}")));
    // No foreign key holds audience rows to their notification (migration 0007): a clean run has
    // none without one, so any here makes the snapshot differ from it.
    let orphans: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s %s %s', encode(a.account, 'hex'), a.notification_id, a.role) \
         FROM notification_audience a \
         WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = a.notification_id) \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    out.extend(orphans.into_iter().map(|r| format!("audience without its notification: {r}")));
    Ok(out)
}

/// The live notifications' ids in the order of the events they report: ids are drawn in commit
/// order, so they must rise with the chain.
pub(crate) async fn notification_ids_in_chain_order(pool: &PgPool) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM notifications WHERE NOT retracted AND block_number IS NOT NULL \
         ORDER BY block_number, log_index",
    )
    .fetch_all(pool)
    .await?)
}

/// When a [`proxy`] hook runs: before a request goes to the node, or after its answer came back
/// (and before the indexer gets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Before,
    After,
}

/// Runs around every request: (phase, JSON-RPC method). Whatever it awaits, the request waits.
pub(crate) type Hook =
    std::sync::Arc<dyn Fn(Phase, String) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// A JSON-RPC proxy in front of `upstream` that runs `hook` around each call, so a test can act
/// (reorganise the node, pause the caller) at an exact point of the indexer's step. Returns its URL.
pub(crate) async fn proxy(upstream: String, hook: Hook) -> Result<reqwest::Url> {
    use axum::{body::Bytes, extract::State, http::StatusCode, response::IntoResponse};
    #[derive(Clone)]
    struct P {
        upstream: String,
        client: reqwest::Client,
        hook: Hook,
    }
    async fn forward(State(p): State<P>, body: Bytes) -> axum::response::Response {
        let method = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("method").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        (p.hook)(Phase::Before, method.clone()).await;
        let res = p
            .client
            .post(&p.upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let resp = match res {
            Ok(r) => {
                let status =
                    StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let bytes = r.bytes().await.unwrap_or_default();
                (status, [("content-type", "application/json")], bytes).into_response()
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        };
        (p.hook)(Phase::After, method).await;
        resp
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url: reqwest::Url = format!("http://{}", listener.local_addr()?).parse()?;
    let app = axum::Router::new().route("/", axum::routing::post(forward)).with_state(P {
        upstream,
        client: reqwest::Client::new(),
        hook,
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The `pactum` binary, built (once per test run) with the cargo and target directory running
/// these tests: the crash test kills the real process, not a task.
pub(crate) fn pactum_binary() -> Result<std::path::PathBuf> {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    if let Some(p) = BUILT.get() {
        return Ok(p.clone());
    }
    // This test binary lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| eyre::eyre!("no target directory above {}", exe.display()))?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()));
    build.args(["build", "--locked", "--bin", "pactum"]).current_dir(&root);
    // Into the directory this test was built in, whatever the environment says: a binary built
    // elsewhere would leave a stale one here.
    if let Some(target) = profile_dir.parent() {
        build.arg("--target-dir").arg(target);
    }
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status()?;
    eyre::ensure!(status.success(), "cargo build --bin pactum failed: {status}");
    let bin = profile_dir.join("pactum");
    eyre::ensure!(bin.exists(), "{} was not built", bin.display());
    let _ = BUILT.set(bin.clone());
    Ok(bin)
}

/// The URL of `pool`'s database (for a second pool, or another process).
pub(crate) async fn pool_url(pool: &PgPool) -> Result<String> {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await?;
    let admin = std::env::var("PACTUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    Ok(format!("{}/{name}", admin.rsplit_once('/').map(|x| x.0).unwrap_or_default()))
}
