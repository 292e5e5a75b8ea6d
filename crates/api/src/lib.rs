//! Pactum's HTTP API (axum), over the PostgreSQL the indexer writes.
//!
//! Brands draft agreements, both parties sign them with their wallets, and everyone reads the
//! ledger. The API never holds a key: it prepares what a wallet signs or sends and verifies what
//! comes back (ECDSA recovery with k256 through alloy, EIP-1271 through `eth_call`). Routes:
//!
//! * `auth`: Sign-In with Ethereum (nonce, login, logout) and who the caller is.
//! * `drafts`: off-chain drafts, versions, typed data, signatures, the transactions to send, and
//!   the hash-chained log of every off-chain step.
//! * `reads`: agreements, their milestones and history (JSON or CSV), and sync status.
//! * `actions`: the transaction for every escrow action, simulated against the current state first.
//! * `chain_time`: the chain's time, which every deadline is measured by.
//! * `config`: the chain, escrow and tokens a client needs before it can talk to the rest.
//! * `reconciliation`: the escrow's money from the chain alone, compared with the mirror.
//! * `webhooks`: a party's webhook endpoints (delivered by `pactum-notify`).
//! * `events`: a party's notifications, the live stream (SSE) and the catalogue of types.
//!
//! Every other GET path is the web app (`pactum-web`), so the app shares the API's origin; an
//! unknown `/v1/…` path is still a JSON 404.
//!
//! Every error has one JSON shape ([`error::ApiError`]).

pub mod actions;
pub mod auth;
pub mod chain_time;
pub mod config;
pub mod drafts;
pub mod error;
pub mod etag;
pub mod events;
pub mod export;
pub mod housekeeping;
pub mod limits;
pub mod metrics;
pub mod performance;
pub mod reads;
pub mod reconciliation;
pub mod reminders;
pub mod replica;
pub mod schema;
mod time;
pub mod webhooks;

use export::AuditBundleSchema;
use std::{
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
};
use axum::{extract::DefaultBodyLimit, http::HeaderValue, routing::get, Router};
use sqlx::PgPool;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::router::OpenApiRouter;

/// How the API runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The chain it serves.
    pub chain_id: u64,
    /// The escrow it serves.
    pub escrow: Address,
    /// The performance-pay contract beside it, if any.
    pub performance: Option<Address>,
    /// The SIWE domain sign-in messages must name (the host users see, e.g. `app.pactum.xyz`).
    pub siwe_domain: String,
    /// The SIWE URI sign-in messages must name.
    pub siwe_uri: String,
    /// Accounts that sign in as auditors: they read everything, write nothing.
    pub auditors: Vec<Address>,
    /// API keys that act as auditors (`Authorization: Bearer <key>`), for tools without a wallet.
    pub auditor_api_keys: Vec<String>,
    /// Tokens agreements may use (the zero address: native ETH).
    pub tokens: Vec<Address>,
    /// How long a session lasts at most.
    pub session_ttl: Duration,
    /// `/readyz` fails while the indexer is more than this many blocks behind the head.
    pub ready_max_lag: u64,
    /// Origins allowed by CORS (empty: same-origin only).
    pub cors_origins: Vec<String>,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Sign-in requests (`nonce`, `login`) one IP address may make per minute (0: no limit).
    pub anonymous_rate_per_minute: u32,
    /// Requests one signed-in account may make per minute (0: no limit).
    pub account_rate_per_minute: u32,
    /// The key that signs exported audit bundles; its address is published at `GET /v1/config`.
    pub export_key: alloy::signers::local::PrivateKeySigner,
    /// Let webhook endpoints be loopback or private addresses (development and tests only: it
    /// lets users aim the server at its own network).
    pub webhooks_allow_private: bool,
    /// Live streams (`GET /v1/events/stream`) one account may hold open at once.
    pub streams_per_account: usize,
    /// How often an idle stream reads anyway, should a wake-up have been lost.
    pub stream_poll: Duration,
    /// How often an idle stream sends a keep-alive comment.
    pub stream_keep_alive: Duration,
    /// The chains served beside the primary one (`chain_id`, `escrow`, `tokens` above).
    pub more_chains: Vec<ChainConfig>,
}

/// Another chain a deployment serves: its own escrow, node and tokens (a token's address differs
/// from chain to chain). Agreements on it are read, acted on and exported like the primary
/// chain's; drafts name it by `chainId`.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Its chain id.
    pub chain_id: u64,
    /// Its escrow.
    pub escrow: Address,
    /// Its performance-pay contract, if any.
    pub performance: Option<Address>,
    /// Tokens agreements on it may use besides ETH.
    pub tokens: Vec<Address>,
    /// Its node.
    pub rpc_url: alloy::transports::http::reqwest::Url,
}

/// A configuration the API refuses to start with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A CORS origin that is not `scheme://host[:port]`.
    #[error("CORS origin {0:?} is not an origin like https://app.example.com (scheme, host, optional port, nothing else)")]
    CorsOrigin(String),
    /// Listening on every interface with no SIWE domain: the default (the listen address) would
    /// be `0.0.0.0:…`, a domain no wallet's page is ever on, so every sign-in would fail.
    #[error("listening on {0} needs the domain users reach the API at: set --siwe-domain (PACTUM_SIWE_DOMAIN, `siwe_domain` in the config file), and --siwe-uri if it is not http://<domain>")]
    SiweDomainNeeded(SocketAddr),
    /// The node serves another chain than the one configured.
    #[error("the RPC node is on chain {node}, but the configured chain id is {configured}; point --rpc-url at a node of chain {configured} or fix --chain-id")]
    WrongChain {
        /// What the node says.
        node: u64,
        /// What was configured.
        configured: u64,
    },
    /// The node did not answer `eth_chainId` (its URL is left out: it may hold an API key).
    #[error("the RPC node did not answer eth_chainId; check --rpc-url")]
    NodeUnreachable,
}

impl Config {
    /// Defaults for a chain and escrow: SIWE for `localhost`, ETH only, 24 h sessions, 64 KiB
    /// bodies, 10 s requests.
    pub fn new(chain_id: u64, escrow: Address) -> Self {
        Self {
            chain_id,
            escrow,
            siwe_domain: "localhost".to_owned(),
            siwe_uri: "http://localhost".to_owned(),
            auditors: Vec::new(),
            auditor_api_keys: Vec::new(),
            tokens: vec![Address::ZERO],
            session_ttl: Duration::from_secs(24 * 3600),
            ready_max_lag: 5,
            cors_origins: Vec::new(),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            anonymous_rate_per_minute: 60,
            account_rate_per_minute: 600,
            export_key: alloy::signers::local::PrivateKeySigner::random(),
            webhooks_allow_private: false,
            streams_per_account: 5,
            stream_poll: Duration::from_secs(10),
            stream_keep_alive: Duration::from_secs(15),
            more_chains: Vec::new(),
            performance: None,
        }
    }

    /// Checks what can be checked without the network: every CORS origin is an origin.
    pub fn validate(&self) -> Result<(), ConfigError> {
        cors_origins(&self.cors_origins).map(drop)
    }

    /// The SIWE domain and URI for a listener: the ones given, or the listen address and
    /// `http://<domain>`, except on an unspecified address (`0.0.0.0`, `[::]`), where the address
    /// says nothing about where users find the API (typically behind a proxy), so a domain must
    /// be given.
    pub fn siwe_for_listener(
        listen: SocketAddr,
        domain: Option<String>,
        uri: Option<String>,
    ) -> Result<(String, String), ConfigError> {
        let domain = match domain {
            Some(d) => d,
            None if listen.ip().is_unspecified() => {
                return Err(ConfigError::SiweDomainNeeded(listen))
            }
            None => listen.to_string(),
        };
        let uri = uri.unwrap_or_else(|| format!("http://{domain}"));
        Ok((domain, uri))
    }
}

/// The configured CORS origins as header values; an entry that is not exactly an origin is an
/// error rather than silently dropped (a typo would otherwise turn into "CORS refused").
fn cors_origins(origins: &[String]) -> Result<Vec<HeaderValue>, ConfigError> {
    origins
        .iter()
        .map(|o| {
            let bad = || ConfigError::CorsOrigin(o.clone());
            let uri: axum::http::Uri = o.parse().map_err(|_| bad())?;
            let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
            // An origin has no path (not even `/`), query or user info.
            let exact = uri.authority().is_some_and(|a| !a.as_str().contains('@'))
                && matches!(uri.path(), "" | "/")
                && uri.query().is_none()
                // `Uri` reads `https://host` and `https://host/` alike; only the first is an origin.
                && !o.ends_with('/');
            if !scheme_ok || !exact {
                return Err(bad());
            }
            HeaderValue::from_str(o).map_err(|_| bad())
        })
        .collect()
}

/// Token symbols and decimals by chain id and token address.
pub type TokenMeta = std::collections::HashMap<(u64, Address), (String, u8)>;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration.
    pub cfg: Arc<Config>,
    /// The database (migrated).
    pub pool: PgPool,
    /// The chains served, the primary one first: each one's escrow, node and clock.
    pub chains: Arc<[Chain]>,
    /// Request counters and latencies (the process's: see [`metrics`]).
    pub metrics: metrics::Metrics,
    /// Per-IP and per-account request budgets.
    pub limits: Arc<limits::RateLimits>,
    /// Token symbols and decimals by chain and address, once read (they never change; one
    /// address may be another token, or none, on another chain).
    pub token_meta: Arc<RwLock<TokenMeta>>,
    /// Where ledger reads go: the primary, or a replica while it keeps up ([`replica`]).
    pub reads: Arc<replica::Reads>,
    /// Cancelled when the server stops: live streams end then, so a graceful shutdown (which
    /// waits for every open response) does not wait for them forever.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Live streams open per account.
    pub streams: Arc<events::Streams>,
    /// The shared `LISTEN` connection that wakes live streams (started by the first).
    pub wakeup: Arc<events::Wakeup>,
}

impl AppState {
    /// State for a pool (migrated) and an RPC URL.
    pub fn new(cfg: Config, pool: PgPool, rpc_url: alloy::transports::http::reqwest::Url) -> Self {
        let connect =
            |url| ProviderBuilder::new().disable_recommended_fillers().connect_http(url).erased();
        let primary = Chain {
            id: cfg.chain_id,
            escrow: cfg.escrow,
            performance: cfg.performance,
            tokens: cfg.tokens.clone(),
            provider: connect(rpc_url),
            clock: Arc::default(),
        };
        let more = cfg.more_chains.iter().map(|c| Chain {
            id: c.chain_id,
            escrow: c.escrow,
            performance: c.performance,
            // ETH is allowed everywhere, as on the primary chain.
            tokens: std::iter::once(Address::ZERO).chain(c.tokens.iter().copied()).collect(),
            provider: connect(c.rpc_url.clone()),
            clock: Arc::default(),
        });
        let chains: Arc<[Chain]> = std::iter::once(primary).chain(more).collect();
        let metrics = metrics::Metrics::shared();
        let limits = Arc::new(limits::RateLimits::new(
            cfg.anonymous_rate_per_minute,
            cfg.account_rate_per_minute,
        ));
        Self {
            cfg: Arc::new(cfg),
            chains,
            metrics,
            limits,
            token_meta: Arc::default(),
            reads: Arc::new(replica::Reads::primary_only(pool.clone())),
            shutdown: tokio_util::sync::CancellationToken::new(),
            pool,
            streams: Arc::default(),
            wakeup: Arc::default(),
        }
    }

    /// Ends live streams when `token` is cancelled (the server's stop).
    pub fn with_shutdown(mut self, token: tokio_util::sync::CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// Sends ledger reads to `replica` while it is at most `max_lag` behind the primary; the
    /// caller runs [`replica::Reads::monitor`] on [`AppState::reads`].
    pub fn with_read_replica(mut self, replica: PgPool, max_lag: Duration) -> Self {
        self.reads = Arc::new(replica::Reads::with_replica(self.pool.clone(), replica, max_lag));
        self
    }

    /// The primary chain: the one `GET /v1/config` names first, drafts default to, and sign-in
    /// messages name unless they name another served chain.
    pub fn primary(&self) -> &Chain {
        // `AppState::new` always puts the primary chain first.
        &self.chains[0]
    }

    /// A served chain, else a 404 `unknown_chain` (for a path or a query that names one).
    pub fn chain(&self, id: u64) -> Result<&Chain, error::ApiError> {
        self.chains.iter().find(|c| c.id == id).ok_or_else(|| {
            error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_chain",
                format!("this deployment serves no chain {id} (GET /v1/config lists its chains)"),
            )
        })
    }

    /// The chain a query names (`?chain=`), else the primary one; an unserved one is a 404.
    pub fn chain_or_primary(&self, id: Option<u64>) -> Result<&Chain, error::ApiError> {
        id.map_or(Ok(self.primary()), |id| self.chain(id))
    }

    /// The ids of the served chains, as the database stores them.
    pub fn chain_ids(&self) -> Vec<i64> {
        self.chains.iter().map(|c| i64::try_from(c.id).unwrap_or(i64::MAX)).collect()
    }

    /// Refuses a node that serves another chain than the one configured for it (a start-up check).
    pub async fn check_chain(&self) -> Result<(), ConfigError> {
        for chain in self.chains.iter() {
            let node = chain.provider.get_chain_id().await.map_err(|e| {
                tracing::warn!(chain = chain.id, error = %e, "eth_chainId failed");
                ConfigError::NodeUnreachable
            })?;
            if node != chain.id {
                return Err(ConfigError::WrongChain { node, configured: chain.id });
            }
        }
        Ok(())
    }
}

/// One served chain: its escrow, the tokens agreements on it may use, its node (for EIP-1271
/// checks, allowances, simulations and the head) and its clock.
#[derive(Debug)]
pub struct Chain {
    /// Its chain id.
    pub id: u64,
    /// Its escrow (the EIP-712 verifying contract).
    pub escrow: Address,
    /// Its performance-pay contract, if any (the verifying contract of performance agreements).
    pub performance: Option<Address>,
    /// Tokens agreements on it may use (the zero address: native ETH).
    pub tokens: Vec<Address>,
    /// Its node.
    pub provider: DynProvider,
    /// Its time, which deadlines are measured by (the latest block, cached briefly).
    pub clock: Arc<chain_time::ChainClock>,
}

impl Chain {
    /// Unix seconds as the escrow will measure deadlines: the larger of the latest block's
    /// timestamp and this server's clock ([`chain_time`]). One RPC call per burst of concurrent
    /// callers; ask only once every cheaper check has passed.
    pub async fn now(&self) -> Result<i64, error::ApiError> {
        self.clock.now(&self.provider).await
    }

    /// The node's head block, for status and readiness.
    pub async fn head(&self) -> Result<u64, error::ApiError> {
        self.provider.get_block_number().await.map_err(error::ApiError::upstream)
    }

    /// Its EIP-712 domain.
    pub fn domain(&self) -> alloy::sol_types::Eip712Domain {
        pactum_core::domain(self.id, self.escrow)
    }
}

/// The API reference's frame; the paths come from the routes themselves.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pactum API",
        description = "Escrowed brand–creator agreements: wallet sign-in, drafts and signatures, \
                       settlement transactions, and a verifiable audit history. Errors are \
                       `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerAuth, &AuditBundleSchema),
    tags(
        (name = "auth", description = "Sign-In with Ethereum (EIP-4361)"),
        (name = "drafts", description = "Agreements before they go on chain"),
        (name = "settlement", description = "Transactions for escrow actions"),
        (name = "reads", description = "The ledger, from the indexer's tables"),
        (name = "notifications", description = "What a party hears: its notifications, the live stream, the catalogue"),
        (name = "operations", description = "Health and readiness"),
        (name = "webhooks", description = "Your webhook endpoints (Standard Webhooks)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(drafts::routes())
        .merge(reads::routes())
        .merge(actions::routes())
        .merge(config::routes())
        .merge(reconciliation::routes())
        .merge(webhooks::routes())
        .merge(events::routes())
        .merge(performance::routes())
}

/// The OpenAPI 3 document of every route (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    // `pactum serve` refuses bad origins at start-up ([`Config::validate`]); a caller that skips
    // that check gets same-origin only rather than a partial list.
    let origins = cors_origins(&state.cfg.cors_origins).unwrap_or_else(|e| {
        tracing::error!(error = %e, "CORS disabled");
        Vec::new()
    });
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(tower_http::cors::Any)
        .allow_headers(tower_http::cors::Any);
    let timeout = state.cfg.request_timeout;
    let body_limit = state.cfg.body_limit;
    let (api, doc) = routes().split_for_parts();
    let doc = Arc::new(doc);
    let metrics = state.metrics.clone();
    let layer = metrics.layer();
    api.route("/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/metrics", get(move || async move { metrics.render() }))
        // A route layer runs after routing, so it sees the matched route pattern.
        .route_layer(layer)
        // ETag and 304 for reads, on the uncompressed body (the compression wraps it).
        .route_layer(axum::middleware::from_fn(etag::layer))
        // The API's answers (JSON, the CSV history, audit bundles) in gzip or brotli when the
        // client accepts it. A route layer, so not for the fallback: the web app compresses its
        // own files ahead of time, and an unknown path's error is a few bytes.
        .route_layer(CompressionLayer::new())
        .fallback(fallback)
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
}

/// Anything no route matched: the web app for pages, the JSON error shape for the API's paths.
async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    let api = ["/v1/", "/openapi.json", "/metrics", "/healthz", "/readyz"];
    if path == "/v1" || api.iter().any(|p| path.starts_with(p)) {
        let method = req.method();
        return error::ApiError::not_found(&format!("route {method} {path}")).into_response();
    }
    pactum_web::serve(req).await
}

/// Unix time now, in seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    /// OpenAPI 3.1 requires a description on every response; utoipa 6 leaves an empty one out of
    /// the document, so each must be written in the route's `responses(...)`.
    #[test]
    fn every_response_has_a_description() {
        let doc = serde_json::to_value(super::openapi()).expect("the document serialises");
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                    if resp["description"].as_str().is_none_or(str::is_empty) {
                        missing.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "responses without a description: {missing:?}");
    }
}
