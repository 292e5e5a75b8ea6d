//! What the long-running subcommands (`index`, `serve`, `dev`) share: the `--config` TOML file,
//! settings that must come from somewhere, and the signals that stop them.
//!
//! Precedence, for every setting: flag, then environment variable (clap reads both), then the
//! file, then the default. Each command keeps its own file struct because serde's
//! `deny_unknown_fields` (a misspelt key is an error) does not combine with flattening.

use std::path::Path;

use eyre::{eyre, Context, Result};
use serde::de::DeserializeOwned;

/// A setting's names, for the message when it is missing: what it is, its flag, its variable.
pub(crate) struct Setting {
    what: &'static str,
    flag: &'static str,
    env: &'static str,
}

pub(crate) const RPC_URL: Setting =
    Setting { what: "the RPC URL", flag: "rpc-url", env: "PACTUM_RPC_URL" };
pub(crate) const DATABASE_URL: Setting =
    Setting { what: "the database URL", flag: "database-url", env: "DATABASE_URL" };
pub(crate) const CHAIN_ID: Setting =
    Setting { what: "the chain id", flag: "chain-id", env: "PACTUM_CHAIN_ID" };
pub(crate) const ESCROW: Setting =
    Setting { what: "the escrow address", flag: "escrow", env: "PACTUM_ESCROW" };

/// The TOML file `--config` names, or every setting unset without one.
pub(crate) fn read_config_file<T: DeserializeOwned + Default>(path: Option<&Path>) -> Result<T> {
    let Some(path) = path else { return Ok(T::default()) };
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).wrap_err_with(|| format!("config file {}", path.display()))
}

/// A setting without a default: its value, or an error naming the three places it can come from.
pub(crate) fn required<T>(value: Option<T>, s: Setting) -> Result<T> {
    value.ok_or_else(|| {
        eyre!(
            "{} is required: --{}, {}, or `{}` in the config file",
            s.what,
            s.flag,
            s.env,
            s.flag.replace('-', "_")
        )
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
