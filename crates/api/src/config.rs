//! `GET /v1/config`: what a client must know before it can talk to this deployment — the chain
//! (so a wallet on another network can be asked to switch), the escrow, the SIWE domain, and the
//! tokens agreements may use with their symbols and decimals (so amounts can be shown and typed
//! in token units rather than in the smallest unit). The web app reads it first; it is public,
//! since all of it is on chain or in every sign-in message anyway.
//!
//! A token's symbol and decimals are read from the token once per process and kept: they do not
//! change, and a public route that made two `eth_call`s per token per request would let anyone
//! spend the node's quota.

use alloy::{primitives::Address, sol};
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{ApiError, Json},
    AppState,
};

sol! {
    #[sol(rpc)]
    interface IERC20Metadata {
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
    }
}

/// Routes of the client configuration.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(config))
}

/// A token agreements may use.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Its address (the zero address: native ETH).
    #[schema(value_type = String)]
    pub address: Address,
    /// Its symbol, as the token reports it (`None` if it does not answer).
    pub symbol: Option<String>,
    /// Its decimals, as the token reports them (`None` if it does not answer).
    pub decimals: Option<u8>,
}

/// The deployment a client talks to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// The chain id wallets must be on.
    pub chain_id: u64,
    /// The escrow contract (the EIP-712 verifying contract).
    #[schema(value_type = String)]
    pub escrow: Address,
    /// The domain SIWE messages must name.
    pub siwe_domain: String,
    /// The URI SIWE messages must name.
    pub siwe_uri: String,
    /// The tokens agreements may use.
    pub tokens: Vec<TokenInfo>,
    /// The address that signs this server's audit bundles (their `exporter` member).
    #[schema(value_type = String)]
    pub export_signer: Address,
    /// Every chain served, the primary one (above) first, each with its escrow and tokens.
    pub chains: Vec<ChainInfo>,
}

/// One chain a deployment serves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    /// Its chain id.
    pub chain_id: u64,
    /// Its escrow (the EIP-712 verifying contract of agreements on it).
    #[schema(value_type = String)]
    pub escrow: Address,
    /// Its performance-pay contract (the EIP-712 verifying contract of performance agreements on
    /// it), if it has one.
    #[schema(value_type = Option<String>)]
    pub performance: Option<Address>,
    /// The tokens agreements on it may use.
    pub tokens: Vec<TokenInfo>,
}

#[utoipa::path(get, path = "/v1/config", tag = "operations", summary = "The chain, escrow, SIWE domain and tokens of this deployment", responses((status = 200, description = "This deployment's settings", body = ClientConfig)), security(()))]
async fn config(State(state): State<AppState>) -> Result<Json<ClientConfig>, ApiError> {
    // Every chain's tokens at once: a slow node delays the answer by its own calls only.
    let chains = futures::future::join_all(state.chains.iter().map(|chain| {
        let state = &state;
        async move {
            let tokens =
                futures::future::join_all(chain.tokens.iter().map(|&address| async move {
                    if address.is_zero() {
                        TokenInfo { address, symbol: Some("ETH".to_owned()), decimals: Some(18) }
                    } else {
                        token_info(state, chain, address).await
                    }
                }))
                .await;
            ChainInfo {
                chain_id: chain.id,
                escrow: chain.escrow,
                performance: chain.performance,
                tokens,
            }
        }
    }))
    .await;
    let primary = &chains[0];
    Ok(Json(ClientConfig {
        chain_id: primary.chain_id,
        escrow: primary.escrow,
        siwe_domain: state.cfg.siwe_domain.clone(),
        siwe_uri: state.cfg.siwe_uri.clone(),
        tokens: primary.tokens.clone(),
        export_signer: state.cfg.export_key.address(),
        chains,
    }))
}

/// A token's symbol and decimals: from the cache, or read and cached when both answer (a token
/// that does not answer now is asked again next time).
async fn token_info(state: &AppState, chain: &crate::Chain, address: Address) -> TokenInfo {
    let cached = state.token_meta.read().ok().and_then(|m| m.get(&(chain.id, address)).cloned());
    if let Some((symbol, decimals)) = cached {
        return TokenInfo { address, symbol: Some(symbol), decimals: Some(decimals) };
    }
    let erc20 = IERC20Metadata::new(address, chain.provider.clone());
    // A token that does not answer is shown without symbol and decimals (the page still works);
    // why goes to the log, never to the client (it may name the node's URL).
    let symbol = erc20
        .symbol()
        .call()
        .await
        .map_err(|e| tracing::warn!(%address, error = %e, "token symbol unavailable"))
        .ok();
    let decimals = erc20
        .decimals()
        .call()
        .await
        .map_err(|e| tracing::warn!(%address, error = %e, "token decimals unavailable"))
        .ok();
    if let (Some(s), Some(d), Ok(mut m)) = (&symbol, decimals, state.token_meta.write()) {
        m.insert((chain.id, address), (s.clone(), d));
    }
    TokenInfo { address, symbol, decimals }
}
