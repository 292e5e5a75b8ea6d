//! `pactum serve`: the HTTP API over the database the indexer writes.
//!
//! Configuration precedence, as for `pactum index`: flag, then environment variable, then the TOML
//! file given by `--config`, then the default; layered in [`crate::settings`]. Auditor API keys are
//! secrets: environment or file only, never a flag that would land in shell history, and never
//! printed by `--print-config`. The export key is never a setting either: only the path of the file
//! that holds it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::primitives::Address;
use clap::Args;
use eyre::{bail, Context, Result};
use pactum_api::{router, AppState, Config};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::settings::{
    command_line, distinct_chains, hide_password, hide_rpc_secrets, resolve, shown_chains,
    shutdown_signal, ChainSpec, EnvVar, CHAIN_ID, DATABASE_URL, ESCROW, RPC_URL,
};

/// Flags of `pactum serve`; each also reads the environment variable named in its help. Unset
/// ones are left out of the command-line layer so that the file and the defaults show through.
#[derive(Debug, Args, Serialize)]
pub(crate) struct ServeArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_` for `-`), and
    /// `auditor_api_keys`.
    #[arg(long, env = "PACTUM_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Check the settings (nothing is connected to) and print them as JSON, secrets and URL
    /// passwords hidden, instead of serving.
    #[arg(long)]
    #[serde(skip)]
    print_config: bool,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PACTUM_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// JSON-RPC URL of the chain's node.
    #[arg(long, env = "PACTUM_RPC_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc_url: Option<String>,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// PostgreSQL URL of a streaming replica for ledger reads (agreements, history,
    /// reconciliation) while it keeps up; everything else stays on the primary [default: none].
    #[arg(long, env = "PACTUM_DATABASE_READ_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_read_url: Option<String>,
    /// Milliseconds a replica may trail the primary before ledger reads go back to the primary
    /// [default: 1000].
    #[arg(long, env = "PACTUM_REPLICA_MAX_LAG_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    replica_max_lag_ms: Option<u64>,
    /// Chain id.
    #[arg(long, env = "PACTUM_CHAIN_ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_id: Option<u64>,
    /// The escrow's address.
    #[arg(long, env = "PACTUM_ESCROW")]
    #[serde(skip_serializing_if = "Option::is_none")]
    escrow: Option<Address>,
    /// The performance-pay contract's address [default: none].
    #[arg(long, env = "PACTUM_PERFORMANCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    performance: Option<Address>,
    /// The domain SIWE messages must name [default: the listen address].
    #[arg(long, env = "PACTUM_SIWE_DOMAIN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    siwe_domain: Option<String>,
    /// The URI SIWE messages must name [default: http://<domain>].
    #[arg(long, env = "PACTUM_SIWE_URI")]
    #[serde(skip_serializing_if = "Option::is_none")]
    siwe_uri: Option<String>,
    /// Auditor accounts (comma-separated).
    #[arg(long, env = "PACTUM_AUDITORS", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    auditors: Option<Vec<Address>>,
    /// Tokens agreements may use besides ETH (comma-separated).
    #[arg(long, env = "PACTUM_TOKENS", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<Vec<Address>>,
    /// Origins allowed by CORS (comma-separated) [default: none].
    #[arg(long, env = "PACTUM_CORS_ORIGINS", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    cors_origins: Option<Vec<String>>,
    /// Sign-in requests (nonce, login) one IP address may make per minute; 0 for no limit
    /// [default: 60].
    #[arg(long, env = "PACTUM_ANONYMOUS_RATE_LIMIT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous_rate_limit: Option<u32>,
    /// Requests one signed-in account may make per minute; 0 for no limit [default: 600].
    #[arg(long, env = "PACTUM_ACCOUNT_RATE_LIMIT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    account_rate_limit: Option<u32>,
    /// Seconds between sweeps of expired nonces and sessions [default: 300].
    #[arg(long, env = "PACTUM_PRUNE_INTERVAL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    prune_interval: Option<u64>,
    /// Seconds between passes of the deadline-reminder planner [default: 10].
    #[arg(long, env = "PACTUM_REMINDER_INTERVAL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    reminder_interval: Option<u64>,
    /// A file holding the hex private key that signs exported audit bundles (its address is
    /// published at `GET /v1/config`). Without one, a fresh key is made at each start, so bundles
    /// can still be checked but not attributed across restarts.
    #[arg(long, env = "PACTUM_EXPORT_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    export_key_file: Option<PathBuf>,
    /// Run the webhook dispatcher in this process (`--webhooks false` where another process runs
    /// it) [default: true].
    #[arg(long, env = "PACTUM_WEBHOOKS", num_args = 0..=1, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks: Option<bool>,
    /// Webhook deliveries in flight at once [default: 32].
    #[arg(long, env = "PACTUM_WEBHOOKS_CONCURRENCY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks_concurrency: Option<usize>,
    /// Seconds a webhook receiver has to answer [default: 10].
    #[arg(long, env = "PACTUM_WEBHOOKS_TIMEOUT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks_timeout: Option<u64>,
    /// Seconds of continuous failure after which a webhook endpoint is disabled [default: 432000,
    /// 5 days].
    #[arg(long, env = "PACTUM_WEBHOOKS_DISABLE_AFTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks_disable_after: Option<u64>,
    /// Let webhook endpoints be loopback or private addresses (development only: it lets users
    /// aim this server at its own network) [default: false].
    #[arg(long, env = "PACTUM_WEBHOOKS_ALLOW_PRIVATE", num_args = 0..=1, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks_allow_private: Option<bool>,
    /// More chains to serve beside the one above:
    /// `chain_id=…,rpc_url=…,escrow=…[,tokens=0xa|0xb]`, chains separated by `;` (in the file:
    /// `[[chains]]` tables) [default: none].
    #[arg(long, env = "PACTUM_CHAINS", value_delimiter = ';')]
    #[serde(skip)]
    chains: Option<Vec<String>>,
}

/// The settings of `pactum serve` once layered; also what the config file may hold (any subset).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ServeSettings {
    listen: SocketAddr,
    rpc_url: String,
    database_url: String,
    database_read_url: Option<String>,
    replica_max_lag_ms: u64,
    chain_id: u64,
    escrow: Address,
    #[serde(default)]
    performance: Option<Address>,
    siwe_domain: Option<String>,
    siwe_uri: Option<String>,
    auditors: Vec<Address>,
    /// A secret: from `PACTUM_AUDITOR_API_KEYS` or the file, never a flag; never printed.
    #[serde(serialize_with = "crate::settings::redacted_list")]
    auditor_api_keys: Vec<String>,
    tokens: Vec<Address>,
    cors_origins: Vec<String>,
    anonymous_rate_limit: u32,
    account_rate_limit: u32,
    prune_interval: u64,
    reminder_interval: u64,
    export_key_file: Option<PathBuf>,
    webhooks: bool,
    webhooks_concurrency: usize,
    webhooks_timeout: u64,
    webhooks_disable_after: u64,
    webhooks_allow_private: bool,
    chains: Vec<ChainSpec>,
}

/// The settings that come from the environment only.
const SECRETS: &[EnvVar] =
    &[EnvVar { name: "PACTUM_AUDITOR_API_KEYS", key: "auditor_api_keys", list: true }];

impl ServeArgs {
    /// Layers the settings (see [`crate::settings`]) and builds the API's configuration, checking
    /// all that can be checked without the network.
    fn resolve(&self) -> Result<(ServeSettings, Config)> {
        // The API's own defaults, so that they are stated once.
        let api = Config::new(0, Address::ZERO);
        let hooks = pactum_notify::Config::new(0);
        let defaults = serde_json::json!({
            "listen": "127.0.0.1:8080",
            "auditors": [],
            "auditor_api_keys": [],
            "tokens": [],
            "cors_origins": [],
            "anonymous_rate_limit": api.anonymous_rate_per_minute,
            "account_rate_limit": api.account_rate_per_minute,
            "prune_interval": 300,
            "reminder_interval": 10,
            "replica_max_lag_ms": 1000,
            "webhooks": true,
            "webhooks_concurrency": hooks.concurrency,
            "webhooks_timeout": hooks.timeout.as_secs(),
            "webhooks_disable_after": hooks.disable_after.as_secs(),
            "webhooks_allow_private": hooks.allow_private,
            "chains": [],
        });
        let s: ServeSettings = resolve(
            defaults,
            self.config.as_deref(),
            SECRETS,
            command_line(self, self.chains.as_deref())?,
            &[RPC_URL, DATABASE_URL, CHAIN_ID, ESCROW],
        )?;
        let mut cfg = Config::new(s.chain_id, s.escrow);
        cfg.performance = s.performance;
        (cfg.siwe_domain, cfg.siwe_uri) =
            Config::siwe_for_listener(s.listen, s.siwe_domain.clone(), s.siwe_uri.clone())?;
        cfg.auditors.clone_from(&s.auditors);
        cfg.auditor_api_keys.clone_from(&s.auditor_api_keys);
        if cfg.auditor_api_keys.iter().any(|k| k.len() < 24) {
            bail!("auditor API keys must be at least 24 characters long");
        }
        cfg.tokens.extend(&s.tokens);
        cfg.cors_origins.clone_from(&s.cors_origins);
        cfg.anonymous_rate_per_minute = s.anonymous_rate_limit;
        cfg.account_rate_per_minute = s.account_rate_limit;
        if s.prune_interval == 0 {
            bail!("the prune interval must be at least 1 second");
        }
        if s.reminder_interval == 0 {
            bail!("the reminder interval must be at least 1 second");
        }
        if let Some(path) = &s.export_key_file {
            let text = std::fs::read_to_string(path)
                .wrap_err_with(|| format!("reading the export key {}", path.display()))?;
            cfg.export_key = text.trim().parse().wrap_err_with(|| {
                format!("{} does not hold a hex secp256k1 private key", path.display())
            })?;
        }
        if s.webhooks_concurrency == 0 || s.webhooks_timeout == 0 || s.webhooks_disable_after == 0 {
            bail!("the webhook concurrency, timeout and disable-after must be at least 1");
        }
        cfg.webhooks_allow_private = s.webhooks_allow_private;
        distinct_chains(s.chain_id, &s.chains)?;
        for c in &s.chains {
            cfg.more_chains.push(pactum_api::ChainConfig {
                chain_id: c.chain_id,
                escrow: c.escrow,
                performance: c.performance,
                tokens: c.tokens.clone(),
                rpc_url: c
                    .rpc_url
                    .parse()
                    .wrap_err_with(|| format!("the RPC URL of chain {}", c.chain_id))?,
            });
        }
        cfg.validate()?;
        Ok((s, cfg))
    }
}

/// Runs the API until Ctrl-C or SIGTERM (in-flight requests finish first).
pub(crate) async fn run(args: ServeArgs) -> Result<()> {
    let (settings, cfg) = args.resolve()?;
    if args.print_config {
        let mut shown = settings;
        shown.rpc_url = hide_rpc_secrets(&shown.rpc_url);
        shown.database_url = hide_password(&shown.database_url);
        shown.database_read_url = shown.database_read_url.as_deref().map(hide_password);
        shown.chains = shown_chains(&shown.chains);
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(());
    }
    if settings.export_key_file.is_none() {
        tracing::warn!(
            signer = %cfg.export_key.address(),
            "no --export-key-file: audit bundles are signed with a key made for this run only"
        );
    }
    let hooks = settings.webhooks.then(|| {
        let mut h = pactum_notify::Config::new(settings.chain_id);
        h.concurrency = settings.webhooks_concurrency;
        h.timeout = Duration::from_secs(settings.webhooks_timeout);
        h.lease = h.timeout * 3 + Duration::from_secs(30);
        h.disable_after = Duration::from_secs(settings.webhooks_disable_after);
        h.allow_private = settings.webhooks_allow_private;
        h
    });
    let ServeSettings {
        listen,
        rpc_url,
        database_url,
        chain_id,
        escrow,
        prune_interval,
        reminder_interval,
        database_read_url,
        replica_max_lag_ms,
        ..
    } = settings;

    let pool = pactum_db::connect(&database_url, 16)
        .await
        .wrap_err("connecting to PostgreSQL and applying migrations")?;
    let url = rpc_url.parse().wrap_err_with(|| format!("RPC URL {rpc_url:?}"))?;
    let mut state = AppState::new(cfg, pool, url);
    if let Some(read_url) = &database_read_url {
        let replica = pactum_db::connect_replica(read_url, 16)
            .await
            .wrap_err("connecting to the read replica")?;
        state = state.with_read_replica(replica, Duration::from_millis(replica_max_lag_ms));
    }
    let monitoring = tokio::spawn(state.reads.clone().monitor(Duration::from_millis(250)));
    // A node of another chain would make every signature check and simulation wrong.
    state.check_chain().await?;
    let pruning = tokio::spawn(pactum_api::housekeeping::run(
        state.clone(),
        Duration::from_secs(prune_interval),
    ));
    let reminding = tokio::spawn(pactum_api::reminders::run(
        state.clone(),
        Duration::from_secs(reminder_interval),
    ));
    // Webhooks go out from here unless another process sends them; stopped after the server.
    let stop_hooks = tokio_util::sync::CancellationToken::new();
    let dispatching = match hooks {
        Some(h) => {
            let d = pactum_notify::Dispatcher::new(h, state.pool.clone())?;
            Some(tokio::spawn(d.run(stop_hooks.clone())))
        }
        None => None,
    };
    let streams_stop = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("binding {listen}"))?;
    info!(%listen, chain_id, %escrow, "serving the API");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Live streams never end by themselves: end them, or the shutdown waits for them.
            streams_stop.cancel();
        })
        .await
        .wrap_err("API server")?;
    pruning.abort();
    reminding.abort();
    monitoring.abort();
    stop_hooks.cancel();
    if let Some(d) = dispatching {
        // Deliveries in flight finish (each bounded by the timeout); what is left stays queued.
        match d.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "webhook dispatcher stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "webhook dispatcher task failed"),
            Ok(Ok(())) => {}
        }
    }
    Ok(())
}
