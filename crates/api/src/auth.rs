//! Sign-In with Ethereum (EIP-4361) and who a request comes from.
//!
//! `POST /v1/auth/nonce` hands out a single-use nonce; the wallet signs a SIWE message naming it;
//! `POST /v1/auth/login` checks the message (domain, URI, chain id, issued-at, expiry), spends the
//! nonce, checks the signature of the exact text received (ECDSA, or EIP-1271 for contract
//! wallets) and returns a bearer token; `POST /v1/auth/logout` revokes it. Only the token's
//! keccak256 is stored. Auditors are configured accounts (signing in as above) or API keys.
//!
//! A session lasts [`crate::Config::session_ttl`], or less if the message expires sooner; a message
//! need not have an `Expiration Time` (EIP-4361 makes it optional).

use alloy::{
    primitives::{keccak256, Address, Bytes, B256},
    providers::Provider,
    sol,
};
use axum::{
    extract::{FromRequestParts, State},
    http::{header::AUTHORIZATION, request::Parts, StatusCode},
};
use pactum_core::siwe::{SiweError, SiweExpectations, SiweText};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{ApiError, Json},
    limits::PerIp,
    now, AppState,
};

sol! {
    #[sol(rpc)]
    interface IERC1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4);
    }
}

/// EIP-1271's "valid" answer.
const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];
/// How long a nonce may wait for its sign-in.
const NONCE_TTL_SECS: i64 = 600;
/// Expired rows a sign-in request deletes on its way (one short indexed DELETE).
const OPPORTUNISTIC_PRUNE: i64 = 16;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: sees what is public on chain.
    Anonymous,
    /// A signed-in account: acts on its own drafts and agreements.
    Party(Address),
    /// An auditor: reads everything, changes nothing (`None`: an API key, not an account).
    Auditor(Option<Address>),
}

impl Caller {
    /// The signed-in party, or 401/403.
    pub fn party(self) -> Result<Address, ApiError> {
        match self {
            Self::Party(a) => Ok(a),
            Self::Auditor(_) => {
                Err(ApiError::forbidden("auditors read; they cannot change anything"))
            }
            Self::Anonymous => Err(ApiError::unauthorized("sign in first (POST /v1/auth/login)")),
        }
    }

    /// Whether the caller may read what `parties` may read (parties themselves and auditors).
    pub fn may_read(self, parties: &[Address]) -> bool {
        match self {
            Self::Auditor(_) => true,
            Self::Party(a) => parties.contains(&a),
            Self::Anonymous => false,
        }
    }
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else { return Ok(None) };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    let token = bearer_token(value)
        .ok_or_else(|| ApiError::unauthorized("use `Authorization: Bearer <token>`"))?;
    Ok(Some(token))
}

/// The token of a `Bearer` credential. The scheme is case-insensitive (RFC 9110 §11.1), so
/// `bearer x` and `BEARER x` are the same credential as `Bearer x`.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts)? else { return Ok(Self::Anonymous) };
        if state
            .cfg
            .auditor_api_keys
            .iter()
            .any(|k| constant_time_eq(k.as_bytes(), token.as_bytes()))
        {
            return Ok(Self::Auditor(None));
        }
        let mut conn = state.pool.acquire().await?;
        let session = pactum_db::api::session(&mut conn, keccak256(token.as_bytes()), now())
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("the session is unknown, expired or logged out")
            })?;
        drop(conn);
        // The account's budget, whichever of its sessions the request uses.
        state.limits.check_account(session.address)?;
        Ok(if session.role == "auditor" {
            Self::Auditor(Some(session.address))
        } else {
            Self::Party(session.address)
        })
    }
}

/// A caller with credentials (a session or an auditor key): routes that never serve anonymous
/// callers take it, so a request without a token is refused with 401 before anything in it is
/// read or validated (an unauthenticated client learns nothing about what a valid request is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn(pub Caller);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Anonymous => Err(ApiError::unauthorized("sign in first (POST /v1/auth/login)")),
            caller => Ok(Self(caller)),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a signature was found valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// The signer's key (low-s ECDSA).
    Ecdsa,
    /// The signer's contract said yes (`isValidSignature`).
    Eip1271,
}

impl SignatureMethod {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecdsa => "ecdsa",
            Self::Eip1271 => "eip1271",
        }
    }
}

/// Checks that `signer` signed `digest`, as the escrow does: the key first (so EIP-7702 accounts
/// sign with their key), then EIP-1271 if the account has code.
pub async fn verify_signature(
    chain: &crate::Chain,
    signer: Address,
    digest: B256,
    signature: &[u8],
) -> Result<SignatureMethod, ApiError> {
    match pactum_core::recover_signer(digest, signature) {
        Ok(a) if a == signer => return Ok(SignatureMethod::Ecdsa),
        Err(pactum_core::Error::HighS) => {
            return Err(ApiError::bad_request(
                "malleable_signature",
                "the signature has a high s value; wallets produce low-s signatures only",
            ))
        }
        _ => {}
    }
    if contract_accepts(chain, signer, digest, signature).await? == Some(true) {
        return Ok(SignatureMethod::Eip1271);
    }
    Err(ApiError::bad_request(
        "invalid_signature",
        format!("the signature is not {signer}'s (neither its key nor its contract wallet)"),
    ))
}

/// Whether `signer`'s code on `chain` accepts `signature` of `digest` (EIP-1271); `None` when it
/// has no code there.
async fn contract_accepts(
    chain: &crate::Chain,
    signer: Address,
    digest: B256,
    signature: &[u8],
) -> Result<Option<bool>, ApiError> {
    let code = chain.provider.get_code_at(signer).await.map_err(ApiError::upstream)?;
    if code.is_empty() {
        return Ok(None);
    }
    let wallet = IERC1271::new(signer, chain.provider.clone());
    let answer = wallet.isValidSignature(digest, Bytes::copy_from_slice(signature)).call().await;
    Ok(Some(matches!(answer, Ok(magic) if magic.0 == ERC1271_MAGIC)))
}

/// A session is good on every served chain, but a contract wallet is only what its code on one
/// chain says: the same address may be someone else's contract on another chain (a factory replayed
/// there, a counterfactual account deployed by another). So a contract wallet's sign-in must be
/// accepted by the account's code on every served chain where it has code; a key's signature
/// (ECDSA, EIP-7702 accounts included) holds everywhere by itself.
async fn same_wallet_everywhere(
    state: &AppState,
    checked: &crate::Chain,
    signer: Address,
    digest: B256,
    signature: &[u8],
) -> Result<(), ApiError> {
    for other in state.chains.iter().filter(|c| c.id != checked.id) {
        if contract_accepts(other, signer, digest, signature).await? == Some(false) {
            return Err(ApiError::bad_request(
                "invalid_signature",
                format!(
                    "{signer} is also a contract on chain {}, and it does not accept this \
                     signature there; a session is good on every chain this deployment serves, \
                     so a contract wallet must accept the sign-in on each chain where it exists",
                    other.id
                ),
            ));
        }
    }
    Ok(())
}

/// Routes under `/v1/auth`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(nonce))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// A fresh nonce.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonceResponse {
    /// Put it in the SIWE message.
    pub nonce: String,
    /// Unix time it stops being accepted.
    pub expires_at: i64,
    /// The domain the message must name.
    pub domain: String,
    /// The URI the message must name.
    pub uri: String,
    /// The chain id the message must name: the primary chain's (any of `chainIds` is taken too).
    pub chain_id: u64,
    /// Every chain a message may name (the served chains); a contract wallet is checked on the
    /// one the message names.
    pub chain_ids: Vec<u64>,
}

#[utoipa::path(post, path = "/v1/auth/nonce", tag = "auth", summary = "A single-use SIWE nonce", responses((status = 200, description = "The nonce and the fields the message must name", body = NonceResponse), (status = 429, description = "Too many requests from this address", body = crate::error::ErrorBody)), security(()))]
async fn nonce(_: PerIp, State(state): State<AppState>) -> Result<Json<NonceResponse>, ApiError> {
    let nonce = Alphanumeric.sample_string(&mut rand::rng(), 17);
    let t = now();
    let expires_at = t + NONCE_TTL_SECS;
    let mut conn = state.pool.acquire().await?;
    pactum_db::api::insert_nonce(&mut conn, &nonce, expires_at).await?;
    // Every nonce handed out clears a few expired ones, so the table stays about as large as the
    // nonces live right now even between the periodic sweeps (`crate::housekeeping`).
    pactum_db::api::prune_expired_nonces(&mut conn, t, OPPORTUNISTIC_PRUNE).await?;
    Ok(Json(NonceResponse {
        nonce,
        expires_at,
        domain: state.cfg.siwe_domain.clone(),
        uri: state.cfg.siwe_uri.clone(),
        chain_id: state.primary().id,
        chain_ids: state.chains.iter().map(|c| c.id).collect(),
    }))
}

/// A signed SIWE message.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The EIP-4361 message text, exactly as signed.
    pub message: String,
    /// The `personal_sign` signature (hex).
    #[schema(value_type = String)]
    pub signature: Bytes,
}

/// A session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// `Authorization: Bearer <token>`.
    pub token: String,
    /// The account signed in.
    #[schema(value_type = String)]
    pub address: Address,
    /// `party` or `auditor`.
    pub role: &'static str,
    /// Unix time the session ends.
    pub expires_at: i64,
}

fn siwe_refusal(e: SiweError) -> ApiError {
    ApiError::bad_request(e.code(), e.to_string())
}

/// The session's end: the server's lifetime from `now`, or the message's expiration if sooner.
fn session_expiry(message_expiry: Option<i64>, now: i64, ttl: std::time::Duration) -> i64 {
    let longest = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    message_expiry.map_or(longest, |e| e.min(longest))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", summary = "Exchange a signed SIWE message for a session", request_body = LoginRequest, responses((status = 200, description = "The session", body = LoginResponse), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 401, description = "The signature does not verify for the message's account", body = crate::error::ErrorBody), (status = 429, description = "Too many requests from this address", body = crate::error::ErrorBody), (status = 500, description = "Our fault", body = crate::error::ErrorBody), crate::error::BodyErrors), security(()))]
async fn login(
    _: PerIp,
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // Cheap refusals first: the text, then its fields.
    let text = SiweText::parse(&req.message).map_err(siwe_refusal)?;
    let msg = text.message();
    let t = now();
    // A message may name any served chain; one naming another is refused as naming the primary.
    let chain = state.chain(msg.chain_id).unwrap_or_else(|_| state.primary());
    let expect = SiweExpectations {
        domain: state.cfg.siwe_domain.clone(),
        uri: state.cfg.siwe_uri.clone(),
        chain_id: chain.id,
    };
    text.verify_fields(&expect, t).map_err(siwe_refusal)?;
    // Then the nonce is spent, for good, before the signature is looked at (which for a contract
    // wallet costs RPC calls): one nonce buys one signature check, right or wrong, and a replay
    // or a made-up nonce costs the server a single UPDATE. The UPDATE is atomic: two sign-ins
    // racing with one nonce cannot both spend it.
    let mut conn = state.pool.acquire().await?;
    if !pactum_db::api::consume_nonce(&mut conn, &msg.nonce, t).await? {
        return Err(ApiError::bad_request(
            "siwe_nonce_invalid",
            "the nonce is unknown, expired or already used; ask for a new one",
        ));
    }
    drop(conn);
    // The signature is of the text as received (EIP-191), not of a re-formatting of its fields.
    let method = verify_signature(chain, msg.address, text.eip191_hash(), &req.signature).await?;
    if method == SignatureMethod::Eip1271 {
        same_wallet_everywhere(&state, chain, msg.address, text.eip191_hash(), &req.signature)
            .await?;
    }

    let role = if state.cfg.auditors.contains(&msg.address) { "auditor" } else { "party" };
    let expires_at = session_expiry(msg.expiration_unix(), t, state.cfg.session_ttl);
    let token = format!("pct_{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let mut conn = state.pool.acquire().await?;
    pactum_db::api::insert_session(
        &mut conn,
        keccak256(token.as_bytes()),
        msg.address,
        role,
        t,
        expires_at,
    )
    .await?;
    pactum_db::api::prune_expired_sessions(&mut conn, t, OPPORTUNISTIC_PRUNE).await?;
    Ok(Json(LoginResponse { token, address: msg.address, role, expires_at }))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", summary = "Revoke the session", responses((status = 204, description = "Logged out"), (status = 401, description = "No valid session", body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    parts: axum::http::HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = parts
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::unauthorized("no session to log out of"))?;
    let mut conn = state.pool.acquire().await?;
    if pactum_db::api::revoke_session(&mut conn, keccak256(token.as_bytes()), now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::unauthorized("the session is unknown or already logged out"))
    }
}

/// Who the caller is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `anonymous`, `party` or `auditor`.
    pub role: &'static str,
    /// The account, if signed in with one.
    #[schema(value_type = Option<String>)]
    pub address: Option<Address>,
}

#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", summary = "Who the caller is", responses((status = 200, description = "The caller's role and account", body = Me), (status = 401, description = "No valid session", body = crate::error::ErrorBody)), security((), ("bearer" = [])))]
async fn me(caller: Caller) -> Json<Me> {
    Json(match caller {
        Caller::Anonymous => Me { role: "anonymous", address: None },
        Caller::Party(a) => Me { role: "party", address: Some(a) },
        Caller::Auditor(a) => Me { role: "auditor", address: a },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::session_expiry;

    #[test]
    fn a_session_ends_at_the_servers_lifetime_or_the_messages_expiry_if_sooner() {
        let day = Duration::from_secs(86_400);
        // No expiration in the message: the server's lifetime.
        assert_eq!(session_expiry(None, 1_000, day), 87_400);
        // A sooner expiration is honoured; a later one is cut to the server's lifetime.
        assert_eq!(session_expiry(Some(5_000), 1_000, day), 5_000);
        assert_eq!(session_expiry(Some(10_000_000), 1_000, day), 87_400);
        // A lifetime too large for the clock does not overflow.
        assert_eq!(session_expiry(None, 1_000, Duration::MAX), i64::MAX);
        assert_eq!(session_expiry(Some(5_000), 1_000, Duration::MAX), 5_000);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        use super::bearer_token;
        for v in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(bearer_token(v), Some("abc"), "{v}");
        }
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer  "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
