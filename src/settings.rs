//! What the long-running subcommands share: how the settings of `index` and `serve` are layered,
//! settings that must come from somewhere, and the signals that stop them (and `dev`, whose few
//! settings are flags with defaults, without a file: clap alone layers them).
//!
//! Precedence, for every setting: flag, then environment variable, then the `--config` TOML file,
//! then the default. [`resolve`] is the one place that layers them, with `figment` rather than by
//! hand (`flag.or(file).unwrap_or(default)` per setting, a file struct per command beside the
//! flags, each copy a chance to forget a setting). Each command has its flags (clap's struct,
//! serialized as the top layer) and its settings: the struct extracted from the layers, which is
//! also the file's schema. serde's `deny_unknown_fields` on it makes a misspelt key in the file an
//! error, and figment's errors name the key and the file of a value of the wrong type. A flag
//! whose key is not a setting would be refused the same way, so the two structs cannot drift
//! apart unnoticed (`tests/config.rs` sets every flag).
//!
//! The layers, lowest first:
//! 1. the command's defaults (`Serialized`);
//! 2. the file (`Toml::file_exact`: only the path given, no search up the directory tree);
//! 3. secrets, from environment variables only ([`EnvVars`]);
//! 4. flags and their environment variables, as clap parsed them (`Serialized`, unset ones left
//!    out so that they do not hide the file).
//!
//! Flags and their environment variables are still read by clap, not by figment's `Env`
//! provider: clap gives each setting the type of its flag and the same parser for both (so
//! `PACTUM_TOKENS=0xa,0xb` is split as `--tokens` is), lists each variable in `--help`, and takes
//! names without a common prefix (`DATABASE_URL`). figment's `Env` guesses a value's type from
//! its text instead (a quoted value loses its quotes, digits become a number, a comma ends a
//! value), which would also alter a secret; hence [`EnvVars`], which hands values over verbatim.

use std::path::Path;

use eyre::{eyre, Context, Result};
use figment::{
    error::Kind,
    providers::{Format, Serialized, Toml},
    value::{Dict, Map, Value},
    Figment, Metadata, Profile, Provider, Source,
};
use serde::{de::DeserializeOwned, Serialize};

/// A setting's names, for the message when it is missing: what it is, its flag, its variable,
/// and its key in the file (the struct field).
pub(crate) struct Setting {
    what: &'static str,
    flag: &'static str,
    env: &'static str,
    key: &'static str,
}

pub(crate) const RPC_URL: Setting =
    Setting { what: "the RPC URL", flag: "rpc-url", env: "PACTUM_RPC_URL", key: "rpc_url" };
pub(crate) const DATABASE_URL: Setting = Setting {
    what: "the database URL",
    flag: "database-url",
    env: "DATABASE_URL",
    key: "database_url",
};
pub(crate) const CHAIN_ID: Setting =
    Setting { what: "the chain id", flag: "chain-id", env: "PACTUM_CHAIN_ID", key: "chain_id" };
pub(crate) const ESCROW: Setting =
    Setting { what: "the escrow address", flag: "escrow", env: "PACTUM_ESCROW", key: "escrow" };
pub(crate) const START_BLOCK: Setting = Setting {
    what: "the escrow's deployment block",
    flag: "start-block",
    env: "PACTUM_START_BLOCK",
    key: "start_block",
};

impl Setting {
    /// The error for this setting being set nowhere.
    pub(crate) fn missing(&self) -> eyre::Report {
        eyre!(
            "{} is required: --{}, {}, or `{}` in the config file",
            self.what,
            self.flag,
            self.env,
            self.key
        )
    }

    /// The error for this setting being set nowhere, for a command without a config file.
    pub(crate) fn missing_flag_or_env(&self) -> eyre::Report {
        eyre!("{} is required: --{} or {}", self.what, self.flag, self.env)
    }
}

/// An environment variable read into a setting that has no flag (a secret: a flag's value lands
/// in shell history and in every process listing).
pub(crate) struct EnvVar {
    /// The variable.
    pub(crate) name: &'static str,
    /// The setting's key.
    pub(crate) key: &'static str,
    /// Whether the value is a comma-separated list (empty items dropped, items trimmed).
    pub(crate) list: bool,
}

/// A figment provider of environment variables taken verbatim (see the module's doc for why not
/// figment's `Env`); errors name the variable.
struct EnvVars(&'static [EnvVar]);

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        let vars = self.0;
        Metadata::named(ENVIRONMENT).interpolater(move |_, path| {
            let key = path.join(".");
            vars.iter().find(|v| v.key == key).map_or(key, |v| v.name.to_owned())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for var in self.0 {
            let text = match std::env::var(var.name) {
                Ok(text) => text,
                Err(std::env::VarError::NotPresent) => continue,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("{} is not valid UTF-8", var.name).into())
                }
            };
            let value = if var.list {
                let items = text.split(',').map(str::trim).filter(|s| !s.is_empty());
                Value::from(items.map(Value::from).collect::<Vec<_>>())
            } else {
                Value::from(text)
            };
            dict.insert(var.key.to_owned(), value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// A provider under another name, for error messages ("Serialized" says nothing to a user).
struct Named<P>(&'static str, P);

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.0)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.1.data()
    }
}

/// What [`EnvVars`] is called in errors (which then name the variable).
const ENVIRONMENT: &str = "environment";

/// A command's settings, layered as the module's doc says and extracted as `T`.
///
/// `defaults` and `command_line` serialize to maps keyed as `T`'s fields (leave unset flags out
/// with `skip_serializing_if`); `secrets` are read from the environment; `required` names the
/// settings `T` has no default for, so that their absence is explained.
pub(crate) fn resolve<T: DeserializeOwned>(
    defaults: impl Serialize,
    file: Option<&Path>,
    secrets: &'static [EnvVar],
    command_line: impl Serialize,
    required: &[Setting],
) -> Result<T> {
    let mut figment = Figment::from(Named("the defaults", Serialized::defaults(defaults)));
    if let Some(path) = file {
        // figment reads the file lazily and reports a missing one without its path.
        std::fs::File::open(path)
            .wrap_err_with(|| format!("reading config file {}", path.display()))?;
        figment = figment.merge(Toml::file_exact(path));
    }
    figment
        .merge(EnvVars(secrets))
        .merge(Named("the command line or environment", Serialized::defaults(command_line)))
        .extract()
        .map_err(|e| explain(e, required))
}

/// Each error figment found, with the key and where its value came from (the file, the
/// variable); a missing required setting as its three names.
fn explain(errors: figment::Error, required: &[Setting]) -> eyre::Report {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            if let Kind::MissingField(field) = &e.kind {
                if let Some(s) = required.iter().find(|s| s.key == field) {
                    return s.missing().to_string();
                }
            }
            let key = e.path.join(".");
            match &e.metadata {
                Some(md) => match &md.source {
                    Some(Source::File(path)) => {
                        format!("config file {}: `{key}`: {}", path.display(), e.kind)
                    }
                    _ if md.name == ENVIRONMENT => {
                        let path: Vec<&str> = e.path.iter().map(String::as_str).collect();
                        let var = md.interpolate(&Profile::Default, &path);
                        format!("environment variable {var}: {}", e.kind)
                    }
                    _ => format!("{}: `{key}`: {}", md.name, e.kind),
                },
                None if key.is_empty() => e.kind.to_string(),
                None => format!("`{key}`: {}", e.kind),
            }
        })
        .collect();
    eyre!("{}", lines.join("\n"))
}

/// A URL as `--print-config` shows it: the password (in the user info or a `password` query
/// parameter, as PostgreSQL takes it) replaced by `***`. Anything else is shown as given.
pub(crate) fn hide_password(url: &str) -> String {
    let Ok(mut parsed) = alloy::transports::http::reqwest::Url::parse(url) else {
        return url.to_owned();
    };
    if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
        return "***".to_owned();
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// A node's URL as `--print-config` shows it: providers put the API key in the path
/// (`/v3/<key>`) or the query (`?apikey=<key>`), so beyond the password both are replaced by
/// `***`; the scheme, host and port stay, which is what tells one node from another.
pub(crate) fn hide_rpc_secrets(url: &str) -> String {
    let Ok(mut parsed) = alloy::transports::http::reqwest::Url::parse(&hide_password(url)) else {
        return url.to_owned();
    };
    if !matches!(parsed.path(), "" | "/") {
        parsed.set_path("/***");
    }
    if parsed.query().is_some() {
        let keys: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        parsed.query_pairs_mut().clear().extend_pairs(keys.iter().map(|k| (k.as_str(), "***")));
    }
    parsed.to_string()
}

/// Serializes a list of secrets as as many `***`: how many are set shows, not what they are.
pub(crate) fn redacted_list<S: serde::Serializer>(
    items: &[String],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(items.iter().map(|_| "***"))
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

/// One more chain a deployment indexes and serves beside the primary one (whose settings are the
/// top-level `chain_id`, `rpc_url`, `escrow`, `start_block`, `tokens`). In the file, an array of
/// tables (`[[chains]]`); as the `--chains` flag or `PACTUM_CHAINS`, `key=value` pairs separated
/// by commas, chains separated by `;`:
/// `chain_id=8453,rpc_url=https://…,escrow=0x…,start_block=123,tokens=0xa|0xb`.
///
/// `confirmations` and `finality_depth` default to the top-level ones: an L2 and an L1 reorg
/// differently, so each chain may set its own. `pactum index` ignores `tokens`; `pactum serve`
/// ignores the start block, confirmations and finality depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainSpec {
    pub(crate) chain_id: u64,
    pub(crate) rpc_url: String,
    pub(crate) escrow: alloy::primitives::Address,
    #[serde(default)]
    pub(crate) performance: Option<alloy::primitives::Address>,
    #[serde(default)]
    pub(crate) start_block: Option<u64>,
    #[serde(default)]
    pub(crate) confirmations: Option<u64>,
    #[serde(default)]
    pub(crate) finality_depth: Option<u64>,
    #[serde(default)]
    pub(crate) tokens: Vec<alloy::primitives::Address>,
}

impl std::str::FromStr for ChainSpec {
    type Err = String;

    // Errors name keys, never the values: the spec holds an RPC URL, which may hold an API key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = serde_json::Map::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                "a chain is key=value pairs separated by commas (chain_id=…,rpc_url=…,escrow=…); \
                 one item has no `=`"
                    .to_owned()
            })?;
            let value = match key {
                "chain_id" | "start_block" | "confirmations" | "finality_depth" => {
                    serde_json::Value::from(
                        value
                            .parse::<u64>()
                            .map_err(|_| format!("{key}: {value:?} is not a number"))?,
                    )
                }
                "tokens" => value.split('|').filter(|t| !t.is_empty()).collect(),
                _ => serde_json::Value::from(value),
            };
            if map.insert(key.to_owned(), value).is_some() {
                return Err(format!("{key} is given twice in one chain"));
            }
        }
        let chain =
            map.get("chain_id").map_or_else(|| "a chain".to_owned(), |c| format!("chain {c}"));
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
            format!(
                "{chain}: {e} (keys: chain_id, rpc_url, escrow, performance, start_block, \
                 confirmations, finality_depth, tokens)"
            )
        })
    }
}

/// The command line's layer: the flags as clap parsed them, with `--chains` / `PACTUM_CHAINS` read
/// here rather than by clap, whose error would quote the value (an RPC URL, which may hold a key).
pub(crate) fn command_line(
    flags: &impl Serialize,
    chains: Option<&[String]>,
) -> Result<serde_json::Value> {
    let mut line = serde_json::to_value(flags)?;
    if let (Some(specs), Some(map)) = (chains, line.as_object_mut()) {
        let parsed = specs
            .iter()
            .map(|s| s.parse::<ChainSpec>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| eyre!("--chains / PACTUM_CHAINS: {e}"))?;
        map.insert("chains".to_owned(), serde_json::to_value(parsed)?);
    }
    Ok(line)
}

/// Refuses a chain listed twice (the primary one included): two indexers would fight over one
/// checkpoint, and an agreement could not be told apart by its chain.
pub(crate) fn distinct_chains(primary: u64, more: &[ChainSpec]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::from([primary]);
    for c in more {
        if !seen.insert(c.chain_id) {
            eyre::bail!(
                "chain {} is configured twice (`chain_id` and `chains` must name different chains)",
                c.chain_id
            );
        }
    }
    Ok(())
}

/// A chain's settings as `--print-config` shows them (the node's keys hidden).
pub(crate) fn shown_chains(chains: &[ChainSpec]) -> Vec<ChainSpec> {
    chains
        .iter()
        .map(|c| ChainSpec { rpc_url: hide_rpc_secrets(&c.rpc_url), ..c.clone() })
        .collect()
}
