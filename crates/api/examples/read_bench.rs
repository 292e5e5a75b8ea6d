//! The API read benchmark: closed-loop load on the reads people make (one agreement, its
//! history, a party's list at its first page and deep in it, the list by status; anonymous and
//! signed in) against one or several data sets, printed side by side.
//!
//! Data sets:
//!
//! * `--agreements N` (default 10,000 when no `--database` is given): N real agreements created
//!   and funded by `createAndFund` transactions on a throwaway anvil and indexed into a fresh
//!   database (one brand, one creator).
//! * `--database NAME` (repeatable): a database kept by `scripts/bench-index --mix scale
//!   --keep-db` (skewed parties, every event kind, some agreements in progress); `scripts/bench-scale`
//!   makes them at two sizes and runs this on both. Sessions (one per two agreements) are added
//!   to it first, so the session lookup reads a table of realistic size.
//!
//! The API runs on a runtime of its own (two worker threads, its own database pool); the load
//! generator on another (`--load-threads`, default 2). PostgreSQL and anvil are separate
//! processes, all on the same machine. `scripts/bench-api` builds and runs it (release).

use std::{
    collections::VecDeque,
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
use eyre::{bail, eyre, Result, WrapErr};
use pactum_api::{router, AppState, Config};
use pactum_bindings::PactumEscrow;
use pactum_core::{agreement_id, domain, Agreement, Milestone};
use sqlx::{Connection, PgConnection, Row};

struct Args {
    agreements: Option<u64>,
    databases: Vec<String>,
    seconds: u64,
    concurrency: usize,
    load_threads: usize,
    admin_url: String,
}

fn main() -> Result<()> {
    let mut args: VecDeque<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        agreements: None,
        databases: Vec::new(),
        seconds: 10,
        concurrency: 32,
        load_threads: 2,
        admin_url: std::env::var("PACTUM_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    };
    while let Some(arg) = args.pop_front() {
        let mut value = || args.pop_front().ok_or_else(|| eyre!("{arg} needs a value"));
        match arg.as_str() {
            "--agreements" => a.agreements = Some(value()?.parse()?),
            "--database" => a.databases.push(value()?),
            "--seconds" => a.seconds = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--load-threads" => a.load_threads = value()?.parse()?,
            "--db" => a.admin_url = value()?,
            "-h" | "--help" => {
                println!(
                    "usage: read_bench [--agreements N] [--database NAME]... [--seconds S (10)] \
                     [--concurrency C (32)] [--load-threads T (2)] [--db ADMIN_URL]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    if a.agreements.is_none() && a.databases.is_empty() {
        a.agreements = Some(10_000);
    }
    // The API's runtime: built here, outside any async context, so it can be dropped here too.
    let api = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("api")
        .enable_all()
        .build()?;
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.load_threads.max(1))
        .thread_name("load")
        .enable_all()
        .build()?;
    let result = load.block_on(run(a, api.handle().clone()));
    api.shutdown_timeout(Duration::from_secs(5));
    result
}

/// One data set under load: where its API listens and what the requests pick from.
struct Dataset {
    label: String,
    base_url: String,
    agreements: i64,
    events: i64,
    database_size: String,
    /// Random agreement ids (any party).
    ids: Vec<B256>,
    /// The party with the most agreements (as brand), its agreement count, some of its ids,
    /// a bearer token of a session of its, and a cursor 90% of the way down its list.
    heavy: Address,
    heavy_count: i64,
    heavy_ids: Vec<B256>,
    heavy_token: String,
    deep_cursor: String,
    /// The status the list-by-status request asks for, and how many agreements have it.
    status: String,
    status_count: i64,
}

/// One kind of request: its label and how the k-th request of a worker is made.
#[derive(Clone, Copy)]
enum Shape {
    One,
    OneSignedIn,
    History,
    PartyFirst,
    PartyDeep,
    Status,
    Drafts,
}

impl Shape {
    const ALL: [Shape; 7] = [
        Shape::One,
        Shape::OneSignedIn,
        Shape::History,
        Shape::PartyFirst,
        Shape::PartyDeep,
        Shape::Status,
        Shape::Drafts,
    ];

    fn label(self) -> &'static str {
        match self {
            Shape::One => "GET /v1/agreements/{id}",
            Shape::OneSignedIn => "GET /v1/agreements/{id}, signed in as its brand",
            Shape::History => "GET /v1/agreements/{id}/history",
            Shape::PartyFirst => "GET /v1/agreements?party=P&role=brand (first page)",
            Shape::PartyDeep => "GET /v1/agreements?party=P&role=brand&cursor=… (90% deep)",
            Shape::Status => "GET /v1/agreements?status=S (first page)",
            Shape::Drafts => "GET /v1/drafts, signed in as the heaviest brand (first page)",
        }
    }

    /// The path (and bearer token) of request `k` against `d`.
    fn request(self, d: &Dataset, k: u64) -> (String, Option<&str>) {
        let pick = |ids: &[B256]| ids[(k >> 33) as usize % ids.len()];
        match self {
            Shape::One => (format!("/v1/agreements/{}", pick(&d.ids)), None),
            Shape::OneSignedIn => {
                (format!("/v1/agreements/{}", pick(&d.heavy_ids)), Some(d.heavy_token.as_str()))
            }
            Shape::History => (format!("/v1/agreements/{}/history", pick(&d.ids)), None),
            Shape::PartyFirst => (format!("/v1/agreements?party={}&role=brand", d.heavy), None),
            Shape::PartyDeep => (
                format!("/v1/agreements?party={}&role=brand&cursor={}", d.heavy, d.deep_cursor),
                None,
            ),
            Shape::Status => (format!("/v1/agreements?status={}", d.status), None),
            Shape::Drafts => ("/v1/drafts".to_owned(), Some(d.heavy_token.as_str())),
        }
    }
}

/// The API on its own runtime, on a port of its own, over its own pool of `url`.
async fn serve(
    api: &tokio::runtime::Handle,
    cfg: Config,
    url: String,
    rpc: String,
) -> Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    api.spawn(async move {
        let started = async {
            let pool = pactum_db::connect(&url, 16).await?;
            let app = router(AppState::new(cfg, pool, rpc.parse()?));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            Ok::<_, eyre::Report>((listener, app, addr))
        }
        .await;
        match started {
            Ok((listener, app, addr)) => {
                let _ = tx.send(Ok(format!("http://{addr}")));
                let _ = axum::serve(listener, app).await;
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    rx.await.map_err(|_| eyre!("the API runtime stopped"))?
}

async fn run(a: Args, api: tokio::runtime::Handle) -> Result<()> {
    let Some((base, _)) = a.admin_url.rsplit_once('/') else {
        bail!("no database in the admin URL")
    };
    let base = base.to_owned();
    // A node for the API's provider (reads never call it; sign-in and actions would).
    let anvil = Anvil::new().args(["--gas-limit", "1000000000", "--prune-history"]).try_spawn()?;
    let mut sets = Vec::new();
    let mut made = Vec::new();
    if let Some(n) = a.agreements {
        let name = real_agreements(&a, &anvil, n).await?;
        sets.push(prepare(&api, &base, &name, &format!("{n} real"), &anvil.endpoint()).await?);
        made.push(name);
    }
    for name in &a.databases {
        sets.push(prepare(&api, &base, name, name, &anvil.endpoint()).await?);
    }
    for d in &sets {
        eprintln!(
            "{}: {} agreements, {} events, {}; heaviest brand {} ({} agreements), {} with status {}",
            d.label,
            d.agreements,
            d.events,
            d.database_size,
            d.heavy,
            d.heavy_count,
            d.status_count,
            d.status
        );
    }

    let mut results = Vec::new();
    for shape in Shape::ALL {
        let mut row = Vec::new();
        for d in &sets {
            // Warm up (connections, caches), then measure.
            load(d, shape, a.concurrency, Duration::from_secs(1)).await?;
            row.push(load(d, shape, a.concurrency, Duration::from_secs(a.seconds)).await?);
        }
        results.push((shape, row));
    }

    println!();
    let mut header = "| endpoint |".to_owned();
    let mut rule = "| --- |".to_owned();
    for d in &sets {
        header += &format!(" {} agreements: requests/s | p50 ms | p99 ms | errors |", d.agreements);
        rule += " ---: | ---: | ---: | ---: |";
    }
    if sets.len() > 1 {
        header += " last vs first (requests/s) |";
        rule += " ---: |";
    }
    println!("{header}\n{rule}");
    for (shape, row) in &results {
        let mut line = format!("| {} |", shape.label());
        for r in row {
            line += &format!(
                " {:.0} | {:.2} | {:.2} | {} |",
                r.rate(),
                r.percentile(0.50),
                r.percentile(0.99),
                r.errors
            );
        }
        if let (Some(first), Some(last)) = (row.first(), row.last()) {
            if row.len() > 1 {
                line += &format!(" {:+.1}% |", (last.rate() / first.rate() - 1.0) * 100.0);
            }
        }
        println!("{line}");
    }
    println!(
        "\n{} concurrent keep-alive connections, {} s per endpoint, API on 2 runtime threads, load on {}, {} cores",
        a.concurrency,
        a.seconds,
        a.load_threads,
        std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0)
    );
    let mut admin = PgConnection::connect(&a.admin_url).await?;
    for name in made {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
    }
    Ok(())
}

/// Reads what the requests need from data set `name`, adds its sessions, and starts its API.
async fn prepare(
    api: &tokio::runtime::Handle,
    base: &str,
    name: &str,
    label: &str,
    rpc: &str,
) -> Result<Dataset> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("{name:?} is not a database name this benchmark made");
    }
    let url = format!("{base}/{name}");
    let mut c =
        PgConnection::connect(&url).await.wrap_err_with(|| format!("connecting to {url}"))?;
    let row = sqlx::query("SELECT chain_id, escrow FROM indexer_checkpoints LIMIT 1")
        .fetch_one(&mut c)
        .await
        .wrap_err_with(|| format!("{name} holds no indexed chain"))?;
    let chain_id = u64::try_from(row.try_get::<i64, _>("chain_id")?)?;
    let escrow = Address::try_from(row.try_get::<Vec<u8>, _>("escrow")?.as_slice())?;
    let agreements: i64 =
        sqlx::query_scalar("SELECT count(*) FROM agreements").fetch_one(&mut c).await?;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM escrow_events").fetch_one(&mut c).await?;
    let database_size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&mut c)
            .await?;
    let ids = sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT id FROM agreements TABLESAMPLE BERNOULLI (10) LIMIT 100000",
    )
    .fetch_all(&mut c)
    .await
    .map(ids_of)??;
    let row = sqlx::query(
        "SELECT brand, count(*) AS n FROM agreements GROUP BY brand ORDER BY n DESC LIMIT 1",
    )
    .fetch_one(&mut c)
    .await?;
    let heavy = Address::try_from(row.try_get::<Vec<u8>, _>("brand")?.as_slice())?;
    let heavy_count: i64 = row.try_get("n")?;
    let heavy_ids = sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT id FROM agreements WHERE chain_id = $1 AND brand = $2 LIMIT 100000",
    )
    .bind(i64::try_from(chain_id)?)
    .bind(heavy.as_slice())
    .fetch_all(&mut c)
    .await
    .map(ids_of)??;
    let row = sqlx::query(
        "SELECT created_block, created_log_index FROM agreements WHERE chain_id = $1 AND brand = $2 \
         ORDER BY created_block, created_log_index OFFSET $3 LIMIT 1",
    )
    .bind(i64::try_from(chain_id)?)
    .bind(heavy.as_slice())
    .bind(heavy_count * 9 / 10)
    .fetch_one(&mut c)
    .await?;
    let deep_cursor = format!(
        "{}.{}",
        row.try_get::<i64, _>("created_block")?,
        row.try_get::<i32, _>("created_log_index")?
    );
    // The list by status asks for agreements in progress when there are any.
    let row = sqlx::query(
        "SELECT status, count(*) AS n FROM agreements GROUP BY status \
         ORDER BY (status = 'active') DESC, n DESC LIMIT 1",
    )
    .fetch_one(&mut c)
    .await?;
    let status: String = row.try_get("status")?;
    let status_count: i64 = row.try_get("n")?;

    // Sessions: one per two agreements already there (made once per data set), plus the heavy
    // brand's, which the signed-in requests present.
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
    )?;
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&mut c).await?;
    if sessions < agreements / 2 {
        let t = Instant::now();
        sqlx::query(
            "INSERT INTO sessions (token_hash, address, role, created_at, expires_at) \
             SELECT sha256(('session ' || i)::text::bytea), \
                    substr(sha256(('account ' || (i % 50000))::text::bytea), 1, 20), \
                    'party', $2, $2 + 86400 * 365 \
             FROM generate_series($1, $3) AS i ON CONFLICT DO NOTHING",
        )
        .bind(sessions)
        .bind(now)
        .bind(agreements / 2)
        .execute(&mut c)
        .await?;
        sqlx::query("ANALYZE sessions").execute(&mut c).await?;
        eprintln!(
            "{label}: {} sessions added in {:.1} s",
            agreements / 2 - sessions,
            t.elapsed().as_secs_f64()
        );
    }
    add_drafts(&mut c, chain_id, escrow, heavy, agreements / 10, now, label).await?;
    let heavy_token = format!("pct_bench{}", now);
    pactum_db::api::insert_session(
        &mut c,
        keccak256(heavy_token.as_bytes()),
        heavy,
        "party",
        now,
        now + 86_400,
    )
    .await?;
    drop(c);

    let mut cfg = Config::new(chain_id, escrow);
    cfg.tokens.push(Address::new([0x55; 20]));
    // One account makes every signed-in request here: its per-account limit would be the figure.
    cfg.account_rate_per_minute = u32::MAX;
    let base_url = serve(api, cfg, url, rpc.to_owned()).await?;
    Ok(Dataset {
        label: label.to_owned(),
        base_url,
        agreements,
        events,
        database_size,
        ids,
        heavy,
        heavy_count,
        heavy_ids,
        heavy_token,
        deep_cursor,
        status,
        status_count,
    })
}

/// Agreement ids as read from the database.
fn ids_of(rows: Vec<Vec<u8>>) -> Result<Vec<B256>> {
    rows.iter().map(|v| B256::try_from(v.as_slice()).map_err(|e| eyre!("an id: {e}"))).collect()
}

/// Drafts up to `want` (a tenth of them the heavy brand's), each with its first version and
/// half of them signed by the brand: the tables `GET /v1/drafts` and the draft pages read. The
/// rows are copies of one well-formed draft (its agreement and terms as the API stores them),
/// made by `generate_series` in three statements.
async fn add_drafts(
    c: &mut PgConnection,
    chain_id: u64,
    escrow: Address,
    heavy: Address,
    want: i64,
    now: i64,
    label: &str,
) -> Result<()> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM drafts").fetch_one(&mut *c).await?;
    if have >= want {
        return Ok(());
    }
    let t = Instant::now();
    let terms = serde_json::json!({
        "deliverables": [
            { "platform": "instagram", "format": "reel", "description": "30 s product reel", "milestone": 0 },
        ],
        "usage_rights": { "scope": "organic social", "duration_days": 90, "territories": ["US"] },
        "disclosure": [ { "region": "US", "rule": "FTC", "required_labels": ["#ad"] } ],
    });
    let canonical = pactum_core::terms::canonical_json(&terms)?;
    let terms_hash = pactum_core::terms::terms_hash(&terms)?;
    let agreement = Agreement {
        brand: heavy,
        creator: Address::new([0xc1; 20]),
        arbiter: Address::ZERO,
        token: Address::ZERO,
        termsHash: terms_hash,
        arbiterFeeBps: 0,
        contestWindow: 86_400,
        arbitrationWindow: 0,
        revisionRounds: 2,
        deadline: Uint::from(1_900_000_000u64),
        salt: U256::from(1),
        milestones: vec![Milestone {
            amount: U256::from(1_000_000),
            deadline: Uint::from(1_900_000_000u64),
            reviewWindow: 86_400,
        }],
    };
    let mut tx = c.begin().await?;
    // Draft i: the heavy brand's when i is a multiple of 10, else one of 5,000 brands.
    sqlx::query(
        "INSERT INTO drafts (id, chain_id, escrow, brand, creator, salt, current_version, created_at) \
         SELECT 'd_bench' || i, $1, $2, \
                CASE WHEN i % 10 = 0 THEN $3 ELSE substr(sha256(('brand ' || (i % 5000))::bytea), 1, 20) END, \
                substr(sha256(('creator ' || i)::bytea), 1, 20), i, 1, $4 - i \
         FROM generate_series($5::int8, $6::int8) AS i",
    )
    .bind(i64::try_from(chain_id)?)
    .bind(escrow.as_slice())
    .bind(heavy.as_slice())
    .bind(now)
    .bind(have + 1)
    .bind(want)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO draft_versions (draft_id, version, proposed_by, agreement, agreement_id, \
           terms, terms_canonical, terms_hash, created_at) \
         SELECT d.id, 1, d.brand, $1, sha256(d.id::bytea), $2, $3, $4, d.created_at \
         FROM drafts d WHERE d.id LIKE 'd\\_bench%' AND d.salt BETWEEN $5 AND $6",
    )
    .bind(serde_json::to_value(&agreement)?)
    .bind(&terms)
    .bind(&canonical)
    .bind(terms_hash.as_slice())
    .bind(have + 1)
    .bind(want)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO draft_signatures (draft_id, version, role, signer, digest, signature, method, \
           verified_at) \
         SELECT v.draft_id, 1, 'brand', v.proposed_by, v.agreement_id, \
                sha256(v.draft_id::bytea) || sha256(v.agreement_id) || '\\x1b'::bytea, 'ecdsa', v.created_at \
         FROM draft_versions v JOIN drafts d ON d.id = v.draft_id \
         WHERE d.id LIKE 'd\\_bench%' AND d.salt BETWEEN $1 AND $2 AND d.salt % 2 = 0",
    )
    .bind(have + 1)
    .bind(want)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE drafts, draft_versions, draft_signatures").execute(&mut *c).await?;
    eprintln!("{label}: {} drafts added in {:.1} s", want - have, t.elapsed().as_secs_f64());
    Ok(())
}

/// N real agreements on `anvil`, indexed into a fresh database; returns the database's name.
async fn real_agreements(
    a: &Args,
    anvil: &alloy::node_bindings::AnvilInstance,
    agreements: u64,
) -> Result<String> {
    // Blocks of 500 transactions, mined on request: automining one block per transaction makes
    // anvil's in-memory history (a state per block) grow quadratically with N.
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
    eprintln!("creating {agreements} agreements on anvil…");
    let t = Instant::now();
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or(0);
    let mut nonce = provider.get_transaction_count(brand.address()).await?;
    let mut ids = Vec::with_capacity(agreements as usize);
    let mut pending = Vec::new();
    for i in 0..agreements {
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
    pool.close().await;
    Ok(name)
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// `concurrency` closed-loop clients, each on its own keep-alive connection, for `length`.
async fn load(d: &Dataset, shape: Shape, concurrency: usize, length: Duration) -> Result<Outcome> {
    let started = Instant::now();
    let until = started + length;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
        // The requests are made up front so the clock measures the server, not formatting.
        let mut k = worker as u64 * 7919 + 1;
        let requests: Vec<(String, Option<String>)> = (0..1024)
            .map(|_| {
                k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let (path, token) = shape.request(d, k);
                (format!("{}{path}", d.base_url), token.map(|t| format!("Bearer {t}")))
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0usize;
            while Instant::now() < until {
                let (url, auth) = &requests[i % requests.len()];
                i += 1;
                let mut req = client.get(url);
                if let Some(auth) = auth {
                    req = req.header("authorization", auth);
                }
                let t = Instant::now();
                match req.send().await {
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
