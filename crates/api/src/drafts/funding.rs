//! Funding a draft both parties signed: the transactions the brand sends (an ERC-20 `approve` when
//! the allowance falls short, then `createAndFund`).

use alloy::{
    primitives::{Address, Bytes, B256, U256},
    sol,
    sol_types::SolCall,
};
use axum::extract::{Path, State};
use pactum_bindings::PactumEscrow;
use pactum_core::{total_amount, Agreement};
use pactum_db::api::{Draft, DraftVersion};
use serde::Serialize;

use super::view::{agreement_of, current_version, load};
use crate::{
    auth::{Caller, SignedIn},
    error::{ApiError, ErrorBody, Json, SessionErrors},
    AppState,
};

sol! {
    /// The two ERC-20 calls funding needs (the escrow's drafts and performance budgets).
    #[sol(rpc)]
    interface IERC20Allowance {
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// A transaction for a wallet to send.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxRequest {
    /// What it does.
    pub description: String,
    /// The chain to send it on (a wallet on another network must switch first).
    pub chain_id: u64,
    /// Who must send it.
    #[schema(value_type = String)]
    pub from: Address,
    /// The contract.
    #[schema(value_type = String)]
    pub to: Address,
    /// Calldata (hex).
    #[schema(value_type = String)]
    pub data: Bytes,
    /// Wei to attach (decimal).
    pub value: String,
}

/// The transactions that put a signed draft on chain, in the order to send them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FundingTransactions {
    /// The agreement's id once created (the EIP-712 digest both signed).
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// What the brand's wallet sends.
    pub transactions: Vec<TxRequest>,
}

/// A draft both parties signed and that is not on chain yet, with what funding it needs.
pub(super) struct Signed {
    pub(super) draft: Draft,
    pub(super) version: DraftVersion,
    pub(super) agreement: Agreement,
    pub(super) brand_sig: Bytes,
    pub(super) creator_sig: Bytes,
}

pub(super) async fn signed(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    caller: Caller,
    id: &str,
) -> Result<Signed, ApiError> {
    let draft = load(conn, id, caller, false).await?;
    let version = current_version(conn, &draft).await?;
    if pactum_db::api::agreement(conn, draft.chain_id, version.agreement_id).await?.is_some() {
        return Err(ApiError::conflict(
            "already_on_chain",
            format!("the agreement is on chain: GET /v1/agreements/{}", version.agreement_id),
        ));
    }
    super::view::draft_chain(state, &draft)?;
    let sigs = pactum_db::api::signatures(conn, id, draft.current_version).await?;
    let sig =
        |role: &str| sigs.iter().find(|s| s.role == role).map(|s| Bytes::from(s.signature.clone()));
    let (Some(brand_sig), Some(creator_sig)) = (sig("brand"), sig("creator")) else {
        let missing: Vec<&str> =
            ["brand", "creator"].into_iter().filter(|r| sig(r).is_none()).collect();
        return Err(ApiError::conflict(
            "not_signed",
            format!(
                "version {} still needs the signature of: {}",
                draft.current_version,
                missing.join(", ")
            ),
        ));
    };
    let agreement = agreement_of(&version)?;
    Ok(Signed { draft, version, agreement, brand_sig, creator_sig })
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}/transactions",
    tag = "drafts",
    summary = "The transactions the brand sends once both signed",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "An ERC-20 approve when the allowance falls short, then createAndFund", body = FundingTransactions),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        (status = 409, description = "On chain already (`already_on_chain`), a signature missing (`not_signed`), or a draft of a chain or escrow this deployment no longer serves (`chain_not_served`)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn transactions(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<FundingTransactions>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let Signed { draft, version: v, agreement, brand_sig, creator_sig } =
        signed(&state, &mut conn, caller, &id).await?;
    let chain = super::view::draft_chain(&state, &draft)?;
    let total = total_amount(&agreement);
    let mut out = Vec::new();
    if !agreement.token.is_zero() {
        let token = IERC20Allowance::new(agreement.token, chain.provider.clone());
        let allowance =
            token.allowance(draft.brand, draft.escrow).call().await.map_err(ApiError::upstream)?;
        if allowance < total {
            out.push(TxRequest {
                description: format!(
                    "approve the escrow to take {total} of token {}",
                    agreement.token
                ),
                chain_id: chain.id,
                from: draft.brand,
                to: agreement.token,
                data: IERC20Allowance::approveCall { spender: draft.escrow, amount: total }
                    .abi_encode()
                    .into(),
                value: "0".to_owned(),
            });
        }
    }
    let n = agreement.milestones.len();
    let call = PactumEscrow::createAndFundCall {
        agreement,
        brandSignature: brand_sig,
        creatorSignature: creator_sig,
        fundCount: U256::from(n),
    };
    out.push(TxRequest {
        description: format!("create the agreement and fund all {n} milestones"),
        chain_id: chain.id,
        from: draft.brand,
        to: draft.escrow,
        data: call.abi_encode().into(),
        value: if call.agreement.token.is_zero() { total.to_string() } else { "0".to_owned() },
    });
    Ok(Json(FundingTransactions { agreement_id: v.agreement_id, transactions: out }))
}
