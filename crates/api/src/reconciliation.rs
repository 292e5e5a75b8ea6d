//! `GET /v1/reconciliation`: the escrow's money from the chain alone, set against the indexer's
//! mirror, agreement by agreement.
//!
//! The chain's figures come from [`pactum_audit::reconcile`] (the escrow's logs folded through the
//! ledger, its balances and `claimable` at one pinned block); the mirror's from the rows the
//! indexer wrote up to that block ([`pactum_db::reconcile`]). The block is the indexer's indexed
//! block, or an earlier one the caller names: the mirror cannot speak for blocks it has not read.
//!
//! Who may call it: anyone, as the public reads. It shows amounts per agreement id and credits per
//! account, all of which the chain shows anyone, and no terms. Unlike those reads it costs the
//! node a scan of the escrow's whole history, so each call spends the caller's per-IP budget
//! (refused with 429 before any work), as the sign-in routes do.
//!
//! The escrow's deployment block (where its logs start) is the committed deployments file's when
//! it lists this escrow, else found by bisecting `eth_getCode` (about log2(head) calls); either
//! way the node must keep old state.

use alloy::primitives::{Address, B256};
use axum::extract::State;
use pactum_audit::reconcile::{self as audit, SignedAmount};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{ApiError, Json, Query},
    limits::PerIp,
    AppState,
};

/// The route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reconciliation))
}

/// `?block=N`: reconcile at an earlier block than the indexer's.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationQuery {
    /// A block at or below the indexer's indexed block [default: the indexed block].
    pub block: Option<u64>,
    /// The chain whose escrow to reconcile (default: the primary one; `GET /v1/config` lists them).
    #[param(minimum = 1)]
    pub chain: Option<u64>,
}

/// The answer: both sides' figures and every difference. Integers are decimal strings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// True when the chain reconciles (no shortfall, every credit as `claimable` says) and the
    /// mirror states the same figures at the same block. A surplus alone does not make it false.
    pub matches: bool,
    /// The chain.
    pub chain_id: String,
    /// The escrow.
    #[schema(value_type = String)]
    pub escrow: Address,
    /// The block both sides are read at.
    pub block: BlockView,
    /// The indexer's indexed block (the block, unless an earlier one was asked for).
    pub indexed_block: String,
    /// The chain's figures.
    pub chain: ChainFigures,
    /// The mirror's figures.
    pub database: DatabaseFigures,
    /// What differs.
    pub differences: Differences,
}

/// A block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    /// Number.
    pub number: String,
    /// Hash, as the node gives it.
    #[schema(value_type = String)]
    pub hash: B256,
}

/// The chain's figures at the block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainFigures {
    /// The first block whose logs were read (the escrow's deployment).
    pub from_block: String,
    /// Escrow events folded.
    pub events: String,
    /// Agreements created by the block.
    pub agreements: String,
    /// Per token: ETH (the zero address) and every token an agreement or a credit names.
    pub tokens: Vec<TokenView>,
    /// Every account ever credited, with what the contract's `claimable` says.
    pub credits: Vec<CreditView>,
}

/// One token's money on chain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// The token (zero: ETH).
    #[schema(value_type = String)]
    pub token: Address,
    /// The escrow's balance.
    pub balance: String,
    /// Held by agreements (funded minus paid out).
    pub held: String,
    /// Unwithdrawn credits.
    pub credits: String,
    /// `balance − (held + credits)`: positive, money nobody is owed (e.g. sent straight to the
    /// escrow); negative, a shortfall.
    pub surplus: String,
    /// Whether the escrow holds less than it owes.
    pub shortfall: bool,
}

/// A credit on chain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditView {
    /// The token.
    #[schema(value_type = String)]
    pub token: Address,
    /// The account.
    #[schema(value_type = String)]
    pub account: Address,
    /// Deferred minus withdrawn, from the events.
    pub amount: String,
    /// The contract's `claimable(token, account)` at the block.
    pub claimable: String,
}

/// The mirror's figures at the block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseFigures {
    /// Agreements created by the block.
    pub agreements: String,
    /// The mirror's stored hash of the block, when it still keeps it (its reorg window).
    #[schema(value_type = Option<String>)]
    pub block_hash: Option<B256>,
    /// Per token.
    pub tokens: Vec<DatabaseTokenView>,
}

/// One token's money in the mirror.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseTokenView {
    /// The token.
    #[schema(value_type = String)]
    pub token: Address,
    /// Held by agreements (deposits minus payouts).
    pub held: String,
    /// Unwithdrawn credits.
    pub credits: String,
}

/// What differs between chain and mirror.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Differences {
    /// The mirror keeps another hash for the block: it is on another branch.
    pub block_hash: bool,
    /// Agreements whose held amount or token differs, by id.
    pub agreements: Vec<AgreementDifferenceView>,
    /// Credits that differ, by token and account.
    pub credits: Vec<CreditDifferenceView>,
}

/// One agreement that differs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementDifferenceView {
    /// The agreement.
    #[schema(value_type = String)]
    pub id: B256,
    /// Its token on chain (absent: not on chain).
    #[schema(value_type = Option<String>)]
    pub chain_token: Option<Address>,
    /// Its token in the mirror (absent: not in the mirror).
    #[schema(value_type = Option<String>)]
    pub database_token: Option<Address>,
    /// Held, on chain.
    pub chain: String,
    /// Held, in the mirror.
    pub database: String,
}

/// One credit that differs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditDifferenceView {
    /// The token.
    #[schema(value_type = String)]
    pub token: Address,
    /// The account.
    #[schema(value_type = String)]
    pub account: Address,
    /// On chain.
    pub chain: String,
    /// In the mirror.
    pub database: String,
}

fn corrupt(what: &str, e: audit::NotDecimal) -> ApiError {
    ApiError::internal(format!("the mirror's {what} sum is not a decimal: {e}"))
}

fn before_deployment(block: u64, from: u64) -> ApiError {
    ApiError::bad_request(
        "block_before_deployment",
        format!(
            "block {block} is before the escrow was deployed (block {from}); ask for a later one"
        ),
    )
}

/// The mirror's figures at `block`, in the shape [`audit::compare`] takes.
async fn mirror(state: &AppState, chain: u64, block: u64) -> Result<audit::Mirror, ApiError> {
    let mut conn = state.reads.pool().acquire().await?;
    let held = pactum_db::reconcile::held_at(&mut conn, chain, block).await?;
    let credits = pactum_db::reconcile::credits_at(&mut conn, chain, block).await?;
    Ok(audit::Mirror {
        agreements: held
            .into_iter()
            .map(|r| {
                Ok(audit::MirrorAgreement {
                    id: r.id,
                    token: r.token,
                    held: r.held.parse().map_err(|e| corrupt("held", e))?,
                })
            })
            .collect::<Result<_, ApiError>>()?,
        credits: credits
            .into_iter()
            .map(|r| {
                Ok(audit::MirrorCredit {
                    token: r.token,
                    account: r.account,
                    amount: r.amount.parse().map_err(|e| corrupt("credit", e))?,
                })
            })
            .collect::<Result<_, ApiError>>()?,
    })
}

/// Sums per token (a mirror's amounts may be negative).
fn per_token(
    items: impl Iterator<Item = (Address, SignedAmount)>,
) -> std::collections::BTreeMap<Address, SignedAmount> {
    let mut out = std::collections::BTreeMap::<Address, SignedAmount>::new();
    for (token, amount) in items {
        let sum = out.entry(token).or_default();
        *sum = add(*sum, amount);
    }
    out
}

fn add(a: SignedAmount, b: SignedAmount) -> SignedAmount {
    match (a.is_negative(), b.is_negative()) {
        (false, false) => SignedAmount::positive(a.magnitude.saturating_add(b.magnitude)),
        (true, true) => {
            SignedAmount { negative: true, magnitude: a.magnitude.saturating_add(b.magnitude) }
        }
        (false, true) => SignedAmount::difference(a.magnitude, b.magnitude),
        (true, false) => SignedAmount::difference(b.magnitude, a.magnitude),
    }
}

#[utoipa::path(get, path = "/v1/reconciliation", tag = "reads", summary = "The escrow's money per token from the chain alone (balance = held + credits + surplus), compared with the indexer's mirror agreement by agreement", params(ReconciliationQuery), responses((status = 200, description = "The figures; `matches` is false on any difference or shortfall", body = Reconciliation), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "A chain this deployment does not serve (`unknown_chain`)", body = crate::error::ErrorBody), (status = 409, description = "The block is not indexed yet", body = crate::error::ErrorBody), (status = 429, description = "Too many requests from this address", body = crate::error::ErrorBody), (status = 502, description = "The node failed", body = crate::error::ErrorBody)), security(()))]
/// Reconciles the escrow at the indexed block (or `block`), chain against mirror.
async fn reconciliation(
    _: PerIp,
    State(state): State<AppState>,
    Query(q): Query<ReconciliationQuery>,
) -> Result<Json<Reconciliation>, ApiError> {
    let chain = state.chain_or_primary(q.chain)?;
    let checkpoint = {
        let mut conn = state.reads.pool().acquire().await?;
        pactum_db::checkpoint(&mut conn, chain.id).await?
    };
    let Some(checkpoint) = checkpoint else {
        return Err(ApiError::conflict(
            "not_indexed",
            "the indexer has not mirrored any block yet; try again once it has",
        ));
    };
    let indexed = checkpoint.block_number;
    let block = q.block.unwrap_or(indexed);
    if block > indexed {
        return Err(ApiError::conflict(
            "not_indexed",
            format!("the mirror is at block {indexed}; ask for block {indexed} or an earlier one"),
        ));
    }
    let mirror = mirror(&state, chain.id, block).await?;
    let mirror_hash = if block == indexed {
        Some(checkpoint.block_hash)
    } else {
        let mut conn = state.reads.pool().acquire().await?;
        pactum_db::block_hash(&mut conn, chain.id, block).await?
    };

    let opts = audit::Options {
        from_block: audit::known_deployment_block(chain.id, chain.escrow),
        block: Some(block),
        ..audit::Options::default()
    };
    // Before the escrow existed there is nothing to reconcile: a caller's mistake, refused
    // without asking the node when the deployment block is known.
    if let Some(from) = opts.from_block.filter(|&from| block < from) {
        return Err(before_deployment(block, from));
    }
    let report = audit::reconcile(&chain.provider, chain.escrow, &opts).await.map_err(|e| {
        if let audit::Error::BadRange { from, to } = e {
            before_deployment(to, from)
        } else if e.is_node() {
            ApiError::upstream(e)
        } else {
            ApiError::internal(format!("reconciling the escrow from the chain: {e}"))
        }
    })?;
    let comparison = audit::compare(&report, &mirror);
    let hash_differs = mirror_hash.is_some_and(|h| h != report.block.hash);

    let db_held = per_token(mirror.agreements.iter().map(|a| (a.token, a.held)));
    let db_credits = per_token(mirror.credits.iter().map(|c| (c.token, c.amount)));
    let tokens: std::collections::BTreeSet<Address> =
        db_held.keys().chain(db_credits.keys()).copied().chain([Address::ZERO]).collect();
    Ok(Json(Reconciliation {
        matches: report.reconciles() && comparison.matches() && !hash_differs,
        chain_id: chain.id.to_string(),
        escrow: chain.escrow,
        block: BlockView { number: report.block.number.to_string(), hash: report.block.hash },
        indexed_block: indexed.to_string(),
        chain: ChainFigures {
            from_block: report.from_block.to_string(),
            events: report.events.to_string(),
            agreements: report.agreements.len().to_string(),
            tokens: report
                .tokens
                .iter()
                .map(|t| TokenView {
                    token: t.token,
                    balance: t.balance.to_string(),
                    held: t.held.to_string(),
                    credits: t.credits.to_string(),
                    surplus: t.surplus.to_string(),
                    shortfall: t.shortfall(),
                })
                .collect(),
            credits: report
                .credits
                .iter()
                .map(|c| CreditView {
                    token: c.token,
                    account: c.account,
                    amount: c.amount.to_string(),
                    claimable: c.claimable.to_string(),
                })
                .collect(),
        },
        database: DatabaseFigures {
            agreements: mirror.agreements.len().to_string(),
            block_hash: mirror_hash,
            tokens: tokens
                .into_iter()
                .map(|token| DatabaseTokenView {
                    token,
                    held: db_held.get(&token).copied().unwrap_or_default().to_string(),
                    credits: db_credits.get(&token).copied().unwrap_or_default().to_string(),
                })
                .collect(),
        },
        differences: Differences {
            block_hash: hash_differs,
            agreements: comparison
                .agreements
                .into_iter()
                .map(|d| AgreementDifferenceView {
                    id: d.id,
                    chain_token: d.chain_token,
                    database_token: d.database_token,
                    chain: d.chain.to_string(),
                    database: d.database.to_string(),
                })
                .collect(),
            credits: comparison
                .credits
                .into_iter()
                .map(|d| CreditDifferenceView {
                    token: d.token,
                    account: d.account,
                    chain: d.chain.to_string(),
                    database: d.database.to_string(),
                })
                .collect(),
        },
    }))
}
