//! `pactum serve`: the HTTP API over the database the indexer writes.
//!
//! Configuration precedence, as for `pactum index`: flag, then environment variable, then the TOML
//! file given by `--config`, then the default. Auditor API keys are secrets: environment or file
//! only, never a flag that would land in shell history.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::primitives::Address;
use clap::Args;
use eyre::{bail, Context, Result};
use pactum_api::{router, AppState, Config};
use serde::Deserialize;
use tracing::info;

use crate::settings::{
    read_config_file, required, shutdown_signal, CHAIN_ID, DATABASE_URL, ESCROW, RPC_URL,
};

/// Flags of `pactum serve`; each also reads the environment variable named in its help.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML file with any of the settings below (keys as the long flags, with `_` for `-`).
    #[arg(long, env = "PACTUM_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PACTUM_LISTEN")]
    listen: Option<SocketAddr>,
    /// JSON-RPC URL of the chain's node.
    #[arg(long, env = "PACTUM_RPC_URL")]
    rpc_url: Option<String>,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Chain id.
    #[arg(long, env = "PACTUM_CHAIN_ID")]
    chain_id: Option<u64>,
    /// The escrow's address.
    #[arg(long, env = "PACTUM_ESCROW")]
    escrow: Option<Address>,
    /// The domain SIWE messages must name [default: the listen address].
    #[arg(long, env = "PACTUM_SIWE_DOMAIN")]
    siwe_domain: Option<String>,
    /// The URI SIWE messages must name [default: http://<domain>].
    #[arg(long, env = "PACTUM_SIWE_URI")]
    siwe_uri: Option<String>,
    /// Auditor accounts (comma-separated).
    #[arg(long, env = "PACTUM_AUDITORS", value_delimiter = ',')]
    auditors: Option<Vec<Address>>,
    /// Tokens agreements may use besides ETH (comma-separated).
    #[arg(long, env = "PACTUM_TOKENS", value_delimiter = ',')]
    tokens: Option<Vec<Address>>,
    /// Origins allowed by CORS (comma-separated) [default: none].
    #[arg(long, env = "PACTUM_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Option<Vec<String>>,
    /// Sign-in requests (nonce, login) one IP address may make per minute; 0 for no limit
    /// [default: 60].
    #[arg(long, env = "PACTUM_ANONYMOUS_RATE_LIMIT")]
    anonymous_rate_limit: Option<u32>,
    /// Requests one signed-in account may make per minute; 0 for no limit [default: 600].
    #[arg(long, env = "PACTUM_ACCOUNT_RATE_LIMIT")]
    account_rate_limit: Option<u32>,
    /// Seconds between sweeps of expired nonces and sessions [default: 300].
    #[arg(long, env = "PACTUM_PRUNE_INTERVAL")]
    prune_interval: Option<u64>,
    /// A file holding the hex private key that signs exported audit bundles (its address is
    /// published at `GET /v1/config`). Without one, a fresh key is made at each start, so bundles
    /// can still be checked but not attributed across restarts.
    #[arg(long, env = "PACTUM_EXPORT_KEY_FILE")]
    export_key_file: Option<PathBuf>,
}

/// The same settings as read from the file, plus the secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    rpc_url: Option<String>,
    database_url: Option<String>,
    chain_id: Option<u64>,
    escrow: Option<Address>,
    siwe_domain: Option<String>,
    siwe_uri: Option<String>,
    auditors: Option<Vec<Address>>,
    auditor_api_keys: Option<Vec<String>>,
    tokens: Option<Vec<Address>>,
    cors_origins: Option<Vec<String>>,
    anonymous_rate_limit: Option<u32>,
    account_rate_limit: Option<u32>,
    prune_interval: Option<u64>,
    export_key_file: Option<PathBuf>,
}

/// Runs the API until Ctrl-C or SIGTERM (in-flight requests finish first).
pub(crate) async fn run(args: ServeArgs) -> Result<()> {
    let file: FileConfig = read_config_file(args.config.as_deref())?;
    let rpc_url = required(args.rpc_url.or(file.rpc_url), RPC_URL)?;
    let database_url = required(args.database_url.or(file.database_url), DATABASE_URL)?;
    let chain_id = required(args.chain_id.or(file.chain_id), CHAIN_ID)?;
    let escrow = required(args.escrow.or(file.escrow), ESCROW)?;
    let listen = args.listen.or(file.listen).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut cfg = Config::new(chain_id, escrow);
    (cfg.siwe_domain, cfg.siwe_uri) = Config::siwe_for_listener(
        listen,
        args.siwe_domain.or(file.siwe_domain),
        args.siwe_uri.or(file.siwe_uri),
    )?;
    cfg.auditors = args.auditors.or(file.auditors).unwrap_or_default();
    cfg.auditor_api_keys = match std::env::var("PACTUM_AUDITOR_API_KEYS") {
        Ok(v) => v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect(),
        Err(_) => file.auditor_api_keys.unwrap_or_default(),
    };
    if cfg.auditor_api_keys.iter().any(|k| k.len() < 24) {
        bail!("auditor API keys must be at least 24 characters long");
    }
    cfg.tokens.extend(args.tokens.or(file.tokens).unwrap_or_default());
    cfg.cors_origins = args.cors_origins.or(file.cors_origins).unwrap_or_default();
    if let Some(n) = args.anonymous_rate_limit.or(file.anonymous_rate_limit) {
        cfg.anonymous_rate_per_minute = n;
    }
    if let Some(n) = args.account_rate_limit.or(file.account_rate_limit) {
        cfg.account_rate_per_minute = n;
    }
    let prune_every = args.prune_interval.or(file.prune_interval).unwrap_or(300);
    if prune_every == 0 {
        bail!("the prune interval must be at least 1 second");
    }
    match args.export_key_file.or(file.export_key_file) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .wrap_err_with(|| format!("reading the export key {}", path.display()))?;
            cfg.export_key = text.trim().parse().wrap_err_with(|| {
                format!("{} does not hold a hex secp256k1 private key", path.display())
            })?;
        }
        None => tracing::warn!(
            signer = %cfg.export_key.address(),
            "no --export-key-file: audit bundles are signed with a key made for this run only"
        ),
    }
    cfg.validate()?;

    let pool = pactum_db::connect(&database_url, 16)
        .await
        .wrap_err("connecting to PostgreSQL and applying migrations")?;
    let url = rpc_url.parse().wrap_err_with(|| format!("RPC URL {rpc_url:?}"))?;
    let state = AppState::new(cfg, pool, url);
    // A node of another chain would make every signature check and simulation wrong.
    state.check_chain().await?;
    let pruning = tokio::spawn(pactum_api::housekeeping::run(
        state.clone(),
        Duration::from_secs(prune_every),
    ));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("binding {listen}"))?;
    info!(%listen, chain_id, %escrow, "serving the API");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .wrap_err("API server")?;
    pruning.abort();
    Ok(())
}
