//! The API read benchmark: N real agreements (default 10,000) created on a throwaway anvil and
//! indexed into a fresh database, then a closed-loop load of `GET /v1/agreements/{id}` and of
//! `GET /v1/agreements/{id}/history` for random ids; prints requests per second, latency
//! percentiles and errors for each.
//!
//! `scripts/bench-api` builds and runs it (release). The API runs in this process on its own
//! runtime threads; the load generator runs on others; PostgreSQL and anvil are separate
//! processes, all on the same machine.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    node_bindings::Anvil,
    primitives::{keccak256, Address, Uint, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::SolCall,
};
use eyre::{bail, eyre, Result};
use pactum_api::{router, AppState, Config};
use pactum_bindings::PactumEscrow;
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use sqlx::{Connection, PgConnection};

struct Args {
    agreements: u64,
    seconds: u64,
    concurrency: usize,
    admin_url: String,
}

fn main() -> Result<()> {
    let mut args: VecDeque<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        agreements: 10_000,
        seconds: 10,
        concurrency: 32,
        admin_url: std::env::var("PACTUM_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    };
    while let Some(arg) = args.pop_front() {
        let mut value = || args.pop_front().ok_or_else(|| eyre!("{arg} needs a value"));
        match arg.as_str() {
            "--agreements" => a.agreements = value()?.parse()?,
            "--seconds" => a.seconds = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--db" => a.admin_url = value()?,
            other => bail!("unknown argument {other}"),
        }
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(a))
}

async fn run(a: Args) -> Result<()> {
    // Blocks of 500 transactions, mined on request: automining one block per transaction makes
    // anvil's in-memory history (a state per block) grow quadratically with N.
    let anvil = Anvil::new().args(["--gas-limit", "1000000000", "--prune-history"]).try_spawn()?;
    let chain_id = anvil.chain_id();
    let deployer: PrivateKeySigner = anvil.keys()[0].clone().into();
    let brand: PrivateKeySigner = anvil.keys()[1].clone().into();
    let creator: PrivateKeySigner = anvil.keys()[2].clone().into();
    let mut wallet = EthereumWallet::from(deployer);
    wallet.register_signer(brand.clone());
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url());
    let escrow = *PactumEscrow::deploy(&provider).await?.address();
    let start_block = provider.get_block_number().await?;
    let d = domain(chain_id, escrow);
    let _: serde_json::Value = provider.raw_request("evm_setAutomine".into(), (false,)).await?;

    // N agreements, created and fully funded by real transactions (nonce and gas set here, so
    // the provider signs locally without asking the node).
    eprintln!("creating {} agreements on anvil…", a.agreements);
    let t = Instant::now();
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or(0);
    let mut nonce = provider.get_transaction_count(brand.address()).await?;
    let mut ids = Vec::with_capacity(a.agreements as usize);
    let mut pending = Vec::new();
    for i in 0..a.agreements {
        let agreement = Agreement {
            brand: brand.address(),
            creator: creator.address(),
            arbiter: Address::ZERO,
            token: Address::ZERO,
            termsHash: keccak256(i.to_be_bytes()),
            arbiterFeeBps: 0,
            contestWindow: 86_400,
            arbitrationWindow: 0,
            revisionRounds: 2,
            deadline: Uint::from(now + 86_400),
            salt: U256::from(i),
            milestones: (0..3)
                .map(|m| Milestone {
                    amount: U256::from(1_000 + m),
                    deadline: Uint::from(now + 7 * 86_400),
                    reviewWindow: 3_600,
                })
                .collect(),
        };
        let id = agreement_id(&agreement, &d);
        let call = PactumEscrow::createAndFundCall {
            agreement,
            brandSignature: brand.sign_hash_sync(&id)?.as_bytes().to_vec().into(),
            creatorSignature: creator.sign_hash_sync(&id)?.as_bytes().to_vec().into(),
            fundCount: U256::from(3),
        };
        let tx = TransactionRequest::default()
            .with_from(brand.address())
            .with_to(escrow)
            .with_input(call.abi_encode())
            .with_value(U256::from(3_003))
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(400_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        nonce += 1;
        pending.push(provider.send_transaction(tx).await?);
        ids.push(id);
        if pending.len() % 500 == 0 {
            let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
        }
    }
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
    let last = pending.pop().ok_or_else(|| eyre!("no agreements"))?;
    if !last.get_receipt().await?.status() {
        bail!("the last createAndFund reverted");
    }
    eprintln!("created in {:.1} s", t.elapsed().as_secs_f64());

    // A fresh database, indexed to the head (its name is ours: a prefix and digits, so it may be
    // formatted into the statement).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let name = format!("pactum_bench_api_{}_{nanos}", std::process::id());
    let mut admin = PgConnection::connect(&a.admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
    let Some((base, _)) = a.admin_url.rsplit_once('/') else {
        bail!("no database in the admin URL")
    };
    let pool = pactum_db::connect(&format!("{base}/{name}"), 16).await?;
    let t = Instant::now();
    pactum_indexer::Indexer::new(
        pactum_indexer::Config::new(chain_id, escrow, start_block),
        anvil.endpoint_url(),
        pool.clone(),
    )
    .sync_to_head()
    .await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM agreements").fetch_one(&pool).await?;
    eprintln!("indexed {n} agreements in {:.1} s", t.elapsed().as_secs_f64());

    // The API on a port of its own.
    let app =
        router(AppState::new(Config::new(chain_id, escrow), pool.clone(), anvil.endpoint_url()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ids = Arc::new(ids);
    println!("| endpoint | requests | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (label, suffix) in
        [("GET /v1/agreements/{id}", ""), ("GET /v1/agreements/{id}/history", "/history")]
    {
        // Warm up (connections, prepared statements, caches), then measure.
        load(&base_url, &ids, suffix, a.concurrency, Duration::from_secs(1)).await?;
        let r =
            load(&base_url, &ids, suffix, a.concurrency, Duration::from_secs(a.seconds)).await?;
        println!(
            "| {label} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.latencies.len(),
            r.latencies.len() as f64 / r.elapsed.as_secs_f64(),
            r.percentile(0.50),
            r.percentile(0.90),
            r.percentile(0.99),
            r.percentile(1.0),
            r.errors
        );
    }
    println!(
        "\n{} agreements indexed, {} concurrent connections, {} s per endpoint, {} cores",
        n,
        a.concurrency,
        a.seconds,
        std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0)
    );
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await?;
    Ok(())
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
}

impl Outcome {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// `concurrency` closed-loop clients, each on its own keep-alive connection, for `length`.
async fn load(
    base: &str,
    ids: &Arc<Vec<B256>>,
    suffix: &str,
    concurrency: usize,
    length: Duration,
) -> Result<Outcome> {
    let started = Instant::now();
    let until = started + length;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
        let ids = ids.clone();
        let base = base.to_owned();
        let suffix = suffix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut k = worker as u64 * 7919;
            while Instant::now() < until {
                k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let id = ids[(k >> 33) as usize % ids.len()];
                let t = Instant::now();
                match client.get(format!("{base}/v1/agreements/{id}{suffix}")).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    Ok(Outcome { latencies, errors, elapsed: started.elapsed() })
}
