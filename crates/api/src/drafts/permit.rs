//! Funding in one transaction with an EIP-2612 permit: the permit the brand signs off chain, and
//! the `createAndFundWithPermit` call that spends it, simulated before it is handed out.

use alloy::{
    primitives::{Address, Bytes, U256},
    sol_types::SolCall,
};
use axum::extract::{Path, State};
use pactum_bindings::PactumEscrow;
use pactum_core::total_amount;
use serde::{Deserialize, Serialize};

use super::{
    funding::{signed, FundingTransactions, Signed, TxRequest},
    view::Eip712TypedData,
};
use crate::{
    auth::SignedIn,
    error::{ApiError, BodyErrors, ErrorBody, Json, SessionErrors},
    AppState,
};

/// EIP-2612 permits: the brand signs one off chain instead of sending an `approve`, and the
/// escrow spends it in `createAndFundWithPermit`, so funding is one transaction.
mod eip2612 {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        #[sol(rpc)]
        interface IERC20Permit {
            function nonces(address owner) external view returns (uint256);
            function eip712Domain() external view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions);
        }

        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        struct Permit {
            address owner;
            address spender;
            uint256 value;
            uint256 nonce;
            uint256 deadline;
        }
    }
}

/// How long a permit the API prepares stays valid: an hour of the chain's time (the token compares
/// the deadline with `block.timestamp`).
const PERMIT_LIFETIME: i64 = 3600;

/// The permit of a signed draft's total, as the token's EIP-712 domain and the brand's nonce
/// make it.
pub(super) async fn permit_of(
    state: &AppState,
    s: &Signed,
    deadline: i64,
) -> Result<(eip2612::Permit, alloy::sol_types::Eip712Domain), ApiError> {
    if s.agreement.token.is_zero() {
        return Err(ApiError::conflict(
            "no_permit_for_eth",
            "this agreement is paid in ETH: it is funded with the value of one transaction, no permit",
        ));
    }
    let chain = super::view::draft_chain(state, &s.draft)?;
    let token = eip2612::IERC20Permit::new(s.agreement.token, chain.provider.clone());
    let d = token.eip712Domain().call().await.map_err(|e| {
        ApiError::conflict(
            "permit_unsupported",
            format!(
                "token {} does not publish its EIP-712 domain (EIP-5267), so no permit: {e}",
                s.agreement.token
            ),
        )
    })?;
    let nonce = token.nonces(s.draft.brand).call().await.map_err(ApiError::upstream)?;
    let domain = alloy::sol_types::Eip712Domain::new(
        Some(d.name.into()),
        Some(d.version.into()),
        Some(d.chainId),
        Some(d.verifyingContract),
        None,
    );
    let permit = eip2612::Permit {
        owner: s.draft.brand,
        spender: s.draft.escrow,
        value: total_amount(&s.agreement),
        nonce,
        deadline: U256::from(u64::try_from(deadline).unwrap_or(0)),
    };
    Ok((permit, domain))
}

#[utoipa::path(
    get,
    path = "/v1/drafts/{id}/permit",
    tag = "drafts",
    summary = "The EIP-2612 permit the brand signs to fund in one transaction (ERC-20 tokens with permit)",
    params(("id" = String, Path, description = "The draft id")),
    responses(
        (status = 200, description = "The permit to sign", body = PermitToSign),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        (status = 409, description = "On chain already (`already_on_chain`), a draft of a chain no longer served (`chain_not_served`), a signature missing (`not_signed`), an ETH agreement (`no_permit_for_eth`), or a token without EIP-5267 (`permit_unsupported`)", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn permit(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<PermitToSign>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    let deadline = super::view::draft_chain(&state, &s.draft)?.now().await? + PERMIT_LIFETIME;
    let (permit, domain) = permit_of(&state, &s, deadline).await?;
    let typed = alloy::dyn_abi::TypedData::from_struct(&permit, Some(domain));
    Ok(Json(PermitToSign {
        token: s.agreement.token,
        value: permit.value.to_string(),
        deadline,
        typed_data: typed,
    }))
}

/// The permit the brand signs (EIP-2612), for the draft's total.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermitToSign {
    /// The token.
    #[schema(value_type = String)]
    pub token: Address,
    /// The amount the escrow may take (the draft's total), decimal.
    pub value: String,
    /// Unix time the permit expires (send it back with the signature).
    pub deadline: i64,
    /// The typed data (`eth_signTypedData_v4`).
    #[schema(value_type = Eip712TypedData)]
    pub typed_data: alloy::dyn_abi::TypedData,
}

/// The brand's signed permit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitInput {
    /// The deadline of the permit signed (as `GET /v1/drafts/{id}/permit` gave it).
    pub deadline: i64,
    /// The `eth_signTypedData_v4` signature of the permit (hex).
    #[schema(value_type = String)]
    pub signature: Bytes,
}

/// Funding with a permit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FundWithPermit {
    /// The signed permit.
    pub permit: PermitInput,
}

#[utoipa::path(
    post,
    path = "/v1/drafts/{id}/transactions",
    tag = "drafts",
    summary = "With the brand's signed permit: the one transaction that creates and funds the agreement",
    params(("id" = String, Path, description = "The draft id")),
    request_body = FundWithPermit,
    responses(
        (status = 200, description = "createAndFundWithPermit, simulated", body = FundingTransactions),
        (status = 400, description = "Malformed request (`invalid_json`, `invalid_body`), an expired permit (`permit_expired`), or a permit not signed by the brand (`invalid_signature`)", body = ErrorBody),
        (status = 404, description = "No such draft, or not the caller's: only its parties and auditors see it (`not_found`)", body = ErrorBody),
        (status = 409, description = "On chain already (`already_on_chain`), a draft of a chain no longer served (`chain_not_served`), a signature missing (`not_signed`), no permit for this token (`no_permit_for_eth`, `permit_unsupported`), or the escrow would refuse the call, with its reason", body = ErrorBody),
        (status = 502, description = "The Ethereum node failed (`rpc_unavailable`)", body = ErrorBody),
        SessionErrors,
        BodyErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn transactions_with_permit(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Json(req): Json<FundWithPermit>,
) -> Result<Json<FundingTransactions>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    let chain = super::view::draft_chain(&state, &s.draft)?;
    if req.permit.deadline <= chain.now().await? {
        return Err(ApiError::bad_request(
            "permit_expired",
            "the permit's deadline has passed; sign a new one",
        ));
    }
    let (permit, domain) = permit_of(&state, &s, req.permit.deadline).await?;
    let digest = alloy::sol_types::SolStruct::eip712_signing_hash(&permit, &domain);
    match pactum_core::recover_signer(digest, &req.permit.signature) {
        Ok(a) if a == s.draft.brand => {}
        _ => {
            return Err(ApiError::bad_request(
                "invalid_signature",
                format!("the permit is not signed by the brand {}", s.draft.brand),
            ))
        }
    }
    let sig = alloy::primitives::Signature::try_from(req.permit.signature.as_ref())
        .map_err(|e| ApiError::bad_request("invalid_signature", e.to_string()))?;
    let n = s.agreement.milestones.len();
    let call = PactumEscrow::createAndFundWithPermitCall {
        agreement: s.agreement,
        brandSignature: s.brand_sig,
        creatorSignature: s.creator_sig,
        fundCount: U256::from(n),
        permit: PactumEscrow::Permit {
            deadline: permit.deadline,
            v: 27 + u8::from(sig.v()),
            r: sig.r().into(),
            s: sig.s().into(),
        },
    };
    let tx = TxRequest {
        description: format!("create the agreement and fund all {n} milestones (with the permit)"),
        chain_id: chain.id,
        from: s.draft.brand,
        to: s.draft.escrow,
        data: call.abi_encode().into(),
        value: "0".to_owned(),
    };
    crate::actions::simulate(chain, &tx).await?;
    Ok(Json(FundingTransactions { agreement_id: s.version.agreement_id, transactions: vec![tx] }))
}
