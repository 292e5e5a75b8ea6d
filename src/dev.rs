//! `pactum dev`: the whole stack on this machine in one process: anvil (from the project's npm
//! toolchain) with the escrow and a test stablecoin deployed, PostgreSQL (`DATABASE_URL`, or a
//! private throwaway cluster made with the machine's `initdb` and `pg_ctl`), the indexer and the
//! API. Ctrl-C or SIGTERM stops everything it started; so does a failure half-way, because each
//! piece is stopped by its guard's `Drop`.
//!
//! With `--state FILE` the chain outlives the process (anvil loads FILE at start and writes it back
//! when stopped), and with `--database-url` so does the ledger: a restarted `pactum dev` finds its
//! contracts already deployed and its indexer resumes from its checkpoint.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
};

use alloy::{
    eips::BlockNumberOrTag,
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use eyre::{bail, Context, Result};
use pactum_bindings::{MockStablecoin, PactumEscrow, PactumPerformance};
use tracing::{info, warn};

/// Flags of `pactum dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Port for anvil's JSON-RPC.
    #[arg(long, env = "ANVIL_PORT", default_value_t = 8545)]
    anvil_port: u16,
    /// Address for the API.
    #[arg(long, env = "PACTUM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PostgreSQL to use; without it, a private cluster in a temporary folder.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Keep the chain in this file across restarts (anvil's `--state`: loaded at start, written
    /// when the stack stops). Without it, every start is a fresh chain.
    #[arg(long, env = "PACTUM_DEV_STATE")]
    state: Option<PathBuf>,
    /// Sign-in requests one IP address may make per minute; 0 for no limit (as `pactum serve`).
    #[arg(long, env = "PACTUM_ANONYMOUS_RATE_LIMIT", default_value_t = 60)]
    anonymous_rate_limit: u32,
    /// Requests one signed-in account may make per minute; 0 for no limit (as `pactum serve`).
    #[arg(long, env = "PACTUM_ACCOUNT_RATE_LIMIT", default_value_t = 600)]
    account_rate_limit: u32,
    /// How many chains to run, 1 to 8: anvils on ports `--anvil-port` upwards with chain ids
    /// 31337 upwards, each with the escrow and pUSD, all indexed and served by the one stack.
    #[arg(long, env = "PACTUM_DEV_CHAINS", default_value_t = 1)]
    chains: u16,
}

/// What `pactum dev` deployed; written to `anvil/deployments.json` (the shape `scripts/run`'s
/// forge script writes) and, with `--state`, beside the state file to be found again on restart.
fn deployments_json(
    chain_id: u64,
    start_block: u64,
    keys: &[PrivateKeySigner],
    escrow: Address,
    usd: Address,
) -> serde_json::Value {
    serde_json::json!({
        "chainId": chain_id, "deploymentBlock": start_block, "deployer": keys[0].address(),
        "escrow": escrow, "stablecoin": usd, "mockStablecoin": true,
        "stablecoinDecimals": 6,
        "roles": { "brand": keys[1].address(), "creator": keys[2].address(), "arbiter": keys[3].address() },
    })
}

/// The sidecar of a state file: `<state>.deployments.json`.
fn sidecar(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".deployments.json");
    name.into()
}

/// Anvil, stopped with SIGTERM so that it writes its `--state` file (alloy's own drop kills it
/// outright, which would lose the chain).
struct Chain(AnvilInstance);

impl Drop for Chain {
    fn drop(&mut self) {
        let pid = self.0.child().id().to_string();
        if let Err(e) = Command::new("kill").args(["-TERM", &pid]).status() {
            warn!(error = %e, "stopping anvil");
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if matches!(self.0.child_mut().try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        warn!("anvil did not stop within 15 s; killing it (its state file may be stale)");
    }
}

/// The anvil binary: `PACTUM_ANVIL`, else `node_modules/.bin/anvil` in this folder or above it
/// (where `scripts/setup` puts it), else `anvil` on `PATH`.
fn anvil_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PACTUM_ANVIL") {
        return p.into();
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let candidate = d.join("node_modules/.bin/anvil");
        if candidate.exists() {
            return candidate;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    "anvil".into()
}

/// A PostgreSQL binary: on `PATH`, else in Debian's `/usr/lib/postgresql/<version>/bin`.
fn pg_binary(name: &str) -> Result<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|r| {
            r.flatten().map(|e| e.path().join("bin").join(name)).filter(|p| p.is_file()).collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().ok_or_else(|| {
        eyre::eyre!(
            "PostgreSQL's {name} was not found (PATH, /usr/lib/postgresql/*/bin): install it \
             (Debian: apt-get install postgresql) or give --database-url"
        )
    })
}

/// True when this process runs as root.
fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A throwaway cluster; stopped and deleted on drop.
struct PrivateCluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    as_postgres: bool,
    url: String,
}

impl PrivateCluster {
    fn start() -> Result<Self> {
        let initdb = pg_binary("initdb")?;
        let pg_ctl = pg_binary("pg_ctl")?;
        Self::reap_orphans(&pg_ctl);
        let dir = std::env::temp_dir().join(format!("pactum-dev-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // PostgreSQL refuses to run as root: run its tools as the `postgres` account then.
        let as_postgres = running_as_root();
        let mut cluster = Self { dir, pg_ctl, as_postgres, url: String::new() };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()?;
            if !ok.success() {
                bail!("could not hand {} to the postgres account", cluster.dir.display());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let data = cluster.dir.join("data");
        cluster.run(
            &initdb,
            &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        )?;
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", cluster.dir.display());
        let log = cluster.dir.join("log");
        cluster.run(
            &cluster.pg_ctl.clone(),
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        )?;
        cluster.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        Ok(cluster)
    }

    /// Stops and deletes the clusters of earlier `pactum dev` processes that are gone without
    /// cleaning up (killed with SIGKILL, say): their PostgreSQL would otherwise run forever.
    fn reap_orphans(pg_ctl: &Path) {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("pactum-dev-pg-") else { continue };
            if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
                continue;
            }
            let dir = entry.path();
            let orphan = Self {
                dir: dir.clone(),
                pg_ctl: pg_ctl.to_path_buf(),
                as_postgres: running_as_root(),
                url: String::new(),
            };
            info!(dir = %dir.display(), "removing the cluster of a pactum dev that did not clean up");
            // Dropping it stops its server (if running) and deletes the folder.
            drop(orphan);
        }
    }

    fn run(&self, bin: &Path, args: &[&str]) -> Result<()> {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        let out = cmd.args(args).output().wrap_err_with(|| format!("running {}", bin.display()))?;
        if !out.status.success() {
            bail!("{} failed: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            if let Err(e) = self.run(
                &self.pg_ctl.clone(),
                &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
            ) {
                warn!(error = %e, "stopping the private PostgreSQL cluster");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What start-up made; each piece is stopped when this is dropped.
struct Started {
    listener: tokio::net::TcpListener,
    app: axum::Router,
    /// One indexer per chain.
    indexing: Vec<tokio::task::JoinHandle<Result<(), pactum_indexer::Error>>>,
    stop_indexer: tokio_util::sync::CancellationToken,
    dispatching: tokio::task::JoinHandle<Result<(), pactum_notify::Error>>,
    pool: pactum_db::Pool,
    cluster: Option<PrivateCluster>,
    anvils: Vec<Chain>,
}

/// Runs the stack until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DevArgs) -> Result<()> {
    // Signals are watched from the start: one that arrives during start-up drops what has
    // started so far (each piece's guard stops it) instead of ending the process outright, which
    // would leave anvil and PostgreSQL running.
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            crate::settings::shutdown_signal().await;
            stop.cancel();
        })
    };
    tokio::task::yield_now().await;
    let started = tokio::select! {
        s = start(&args) => s?,
        () = stop.cancelled() => {
            info!("stopped during start-up");
            return Ok(());
        }
    };
    let Started { listener, app, indexing, stop_indexer, dispatching, pool, cluster, anvils } =
        started;
    let stopping = stop_indexer.clone();
    // With each peer's address, so the per-IP limits apply per client as under `pactum serve`.
    let served =
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                stop.cancelled().await;
                stopping.cancel();
            })
            .await;
    watcher.abort();
    stop_indexer.cancel();
    for task in indexing {
        match task.await {
            Ok(Err(e)) => warn!(error = %e, "indexer stopped with an error"),
            Err(e) => warn!(error = %e, "indexer task failed"),
            Ok(Ok(())) => {}
        }
    }
    // The dispatcher stops on the same token.
    match dispatching.await {
        Ok(Err(e)) => warn!(error = %e, "webhook dispatcher stopped with an error"),
        Err(e) => warn!(error = %e, "webhook dispatcher task failed"),
        Ok(Ok(())) => {}
    }
    pool.close().await;
    drop(cluster);
    drop(anvils);
    served.wrap_err("API server")?;
    Ok(())
}

/// One chain of the stack: anvil with the escrow and pUSD deployed (or found again in its state).
struct DevChain {
    anvil: Chain,
    chain_id: u64,
    escrow: Address,
    /// The performance-pay contract (absent on a chain resumed from an older state file).
    performance: Option<Address>,
    usd: Address,
    start_block: u64,
    /// Loaded from a state file that already held the contracts.
    resumed: bool,
    /// Its state file, if any.
    state: Option<PathBuf>,
}

/// Starts chain `n` (0: the primary) on port `anvil_port + n` with chain id `31337 + n`; its state
/// file is `--state` for the primary and `<state>.<chain id>` for the others.
async fn start_chain(args: &DevArgs, n: u16) -> Result<DevChain> {
    let chain_id = 31_337 + u64::from(n);
    let port =
        args.anvil_port.checked_add(n).ok_or_else(|| eyre::eyre!("anvil port out of range"))?;
    let state = args.state.as_ref().map(|s| {
        if n == 0 {
            s.clone()
        } else {
            let mut name = s.as_os_str().to_owned();
            name.push(format!(".{chain_id}"));
            PathBuf::from(name)
        }
    });
    let mut anvil = Anvil::at(anvil_binary()).port(port).chain_id(chain_id);
    if let Some(state) = &state {
        anvil = anvil.arg("--state").arg(state);
    }
    let anvil = Chain(
        anvil.try_spawn().wrap_err("starting anvil (run scripts/setup, or set PACTUM_ANVIL)")?,
    );
    let keys = dev_keys(&anvil);
    let mut wallet = EthereumWallet::from(keys[0].clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.0.endpoint_url());
    // Account 0's transactions `n` and `n + 1`: the same addresses on every fresh start, and
    // different ones on each chain (as separate deployments have), so that nothing can pass by
    // using one chain's escrow or token for another's.
    let nonce = u64::from(n);
    let (escrow, usd) = (keys[0].address().create(nonce), keys[0].address().create(nonce + 1));
    // Then two mints, then the performance contract.
    let performance = keys[0].address().create(nonce + 4);
    let resumed = !provider.get_code_at(escrow).await?.is_empty();
    let deployments = if resumed {
        let state = state.as_deref().unwrap_or(Path::new("(none)"));
        let file = sidecar(state);
        let text = std::fs::read_to_string(&file).wrap_err_with(|| {
            format!(
                "the chain loaded from {} already holds the escrow, but {} (what was deployed \
                 there, from which block) cannot be read: delete the state file to start afresh",
                state.display(),
                file.display()
            )
        })?;
        // The offset `evm_increaseTime` added is not part of the state file: without this, the
        // next block would be stamped earlier than the last one.
        let latest = provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| eyre::eyre!("the loaded chain has no latest block"))?;
        let next = latest.header.timestamp + 1;
        if next > time::OffsetDateTime::now_utc().unix_timestamp().try_into().unwrap_or(0) {
            let _: serde_json::Value =
                provider.raw_request("evm_setNextBlockTimestamp".into(), (next,)).await?;
        }
        serde_json::from_str::<serde_json::Value>(&text)
            .wrap_err_with(|| format!("reading {}", file.display()))?
    } else {
        for _ in 0..n {
            let burn = alloy::rpc::types::TransactionRequest::default()
                .from(keys[0].address())
                .to(keys[0].address());
            provider.send_transaction(burn).await?.get_receipt().await?;
        }
        let deployed = PactumEscrow::deploy(&provider).await.wrap_err("deploying the escrow")?;
        let start_block = provider.get_block_number().await?;
        let coin = MockStablecoin::deploy(&provider).await.wrap_err("deploying the stablecoin")?;
        if (*deployed.address(), *coin.address()) != (escrow, usd) {
            bail!("account 0 had sent transactions before the deployment: addresses differ");
        }
        for k in &keys[1..3] {
            coin.mint(k.address(), U256::from(1_000_000_000_000u64))
                .send()
                .await?
                .get_receipt()
                .await?;
        }
        // After the mints, so that the escrow and pUSD keep the addresses they always had.
        let perf = PactumPerformance::deploy(&provider)
            .await
            .wrap_err("deploying the performance contract")?;
        if *perf.address() != performance {
            bail!("account 0 sent unexpected transactions during the deployment: addresses differ");
        }
        let mut d = deployments_json(chain_id, start_block, &keys, escrow, usd);
        d["performance"] = serde_json::json!(performance);
        if let Some(state) = &state {
            std::fs::write(sidecar(state), serde_json::to_string_pretty(&d)?)
                .wrap_err("writing the state file's deployments")?;
        }
        d
    };
    let start_block = deployments["deploymentBlock"]
        .as_u64()
        .ok_or_else(|| eyre::eyre!("deployments without a deploymentBlock"))?;
    // The primary chain's, where `scripts/run` and the web app's tests look for them.
    if n == 0 && Path::new("anvil").is_dir() {
        std::fs::write("anvil/deployments.json", serde_json::to_string_pretty(&deployments)?)?;
    }
    // A state file from before the performance contract has none.
    let performance = (!provider.get_code_at(performance).await?.is_empty()).then_some(performance);
    Ok(DevChain { anvil, chain_id, escrow, performance, usd, start_block, resumed, state })
}

/// The first five of anvil's accounts: the same on every chain (one mnemonic), so the brand and
/// the creator are the same accounts everywhere.
fn dev_keys(anvil: &Chain) -> Vec<PrivateKeySigner> {
    anvil.0.keys()[..5].iter().cloned().map(Into::into).collect()
}

/// Starts every piece and prints where it is.
async fn start(args: &DevArgs) -> Result<Started> {
    if !(1..=8).contains(&args.chains) {
        bail!("--chains is 1 to 8, not {}", args.chains);
    }
    let mut chains = Vec::with_capacity(usize::from(args.chains));
    for n in 0..args.chains {
        chains.push(start_chain(args, n).await?);
    }
    let keys = dev_keys(&chains[0].anvil);
    let primary = &chains[0];
    let (chain_id, escrow, usd) = (primary.chain_id, primary.escrow, primary.usd);

    let cluster = match &args.database_url {
        Some(_) => None,
        None => Some(PrivateCluster::start().wrap_err("starting a private PostgreSQL cluster")?),
    };
    let database_url = args
        .database_url
        .clone()
        .or_else(|| cluster.as_ref().map(|c| c.url.clone()))
        .unwrap_or_default();
    let pool = pactum_db::connect(&database_url, 16)
        .await
        .wrap_err("connecting to PostgreSQL and applying migrations")?;

    // One indexer per chain, all stopped by one token.
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut indexing = Vec::with_capacity(chains.len());
    for c in &chains {
        let mut cfg = pactum_indexer::Config::new(c.chain_id, c.escrow, c.start_block);
        cfg.performance = c.performance;
        cfg.poll_interval = std::time::Duration::from_millis(250);
        let mut indexer = pactum_indexer::Indexer::new(cfg, c.anvil.0.endpoint_url(), pool.clone())
            .stopped_by(cancel.clone());
        indexing.push(tokio::spawn(async move { indexer.run().await }));
    }

    let mut api = pactum_api::Config::new(chain_id, escrow);
    api.performance = chains[0].performance;
    api.more_chains = chains[1..]
        .iter()
        .map(|c| pactum_api::ChainConfig {
            chain_id: c.chain_id,
            escrow: c.escrow,
            performance: c.performance,
            tokens: vec![c.usd],
            rpc_url: c.anvil.0.endpoint_url(),
        })
        .collect();
    api.siwe_domain = args.listen.to_string();
    api.siwe_uri = format!("http://{}", args.listen);
    api.tokens.push(usd);
    api.auditors = vec![keys[4].address()];
    api.anonymous_rate_per_minute = args.anonymous_rate_limit;
    api.account_rate_per_minute = args.account_rate_limit;
    // Local receivers (a test server on 127.0.0.1) are what development points webhooks at.
    api.webhooks_allow_private = true;
    let mut hooks = pactum_notify::Config::new(chain_id);
    hooks.allow_private = true;
    let dispatcher = pactum_notify::Dispatcher::new(hooks, pool.clone())?;
    let dispatching = tokio::spawn(dispatcher.run(cancel.clone()));
    // Live streams end with the indexer's stop token, which the shutdown cancels first.
    let state = pactum_api::AppState::new(api, pool.clone(), chains[0].anvil.0.endpoint_url())
        .with_shutdown(cancel.clone());
    // Expired nonces and sessions are swept as under `pactum serve`; the task ends with the process.
    tokio::spawn(pactum_api::housekeeping::run(state.clone(), std::time::Duration::from_secs(300)));
    // Deadline reminders, planned as under `pactum serve`.
    tokio::spawn(pactum_api::reminders::run(state.clone(), std::time::Duration::from_secs(5)));
    let app = pactum_api::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .wrap_err_with(|| format!("binding {}", args.listen))?;

    let role = ["deployer", "brand", "creator", "arbiter", "auditor"];
    println!("Pactum dev stack");
    println!("  API:        http://{}  (OpenAPI: /openapi.json)", args.listen);
    for c in &chains {
        println!("  RPC:        {}  (chain {})", c.anvil.0.endpoint(), c.chain_id);
        println!("  escrow:     {} (from block {})", c.escrow, c.start_block);
        println!("  stablecoin: {} (pUSD, 6 decimals, permit)", c.usd);
        if let Some(p) = c.performance {
            println!("  performance: {p} (performance-based pay)");
        }
        if let Some(state) = &c.state {
            let how = if c.resumed { "resumed from" } else { "kept in" };
            println!("  chain:      {how} {}", state.display());
        }
    }
    println!(
        "  PostgreSQL: {database_url}{}",
        if cluster.is_some() { "  (private, deleted on exit)" } else { "" }
    );
    for (k, r) in keys.iter().zip(role) {
        println!("  {r:<9} {}  key {}", k.address(), alloy::hex::encode_prefixed(k.to_bytes()));
    }
    println!("Ctrl-C stops everything.");
    info!(addr = %args.listen, "dev stack up");

    let anvils = chains.into_iter().map(|c| c.anvil).collect();
    Ok(Started {
        listener,
        app,
        indexing,
        stop_indexer: cancel,
        dispatching,
        pool,
        cluster,
        anvils,
    })
}
