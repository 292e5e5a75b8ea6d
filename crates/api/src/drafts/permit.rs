//! Funding in one transaction with an EIP-2612 permit: the permit the brand signs off chain, and
//! the `createAndFundWithPermit` call that spends it, simulated before it is handed out.

use alloy::{
    primitives::{Bytes, U256},
    sol_types::SolCall,
};
use axum::extract::{Path, State};
use pactum_bindings::PactumEscrow;
use pactum_core::total_amount;
use serde::Deserialize;

use super::funding::{signed, Signed, TxRequest};
use crate::{
    auth::Caller,
    error::{ApiError, Json},
    now, AppState,
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

/// How long a permit the API prepares stays valid.
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
    let token = eip2612::IERC20Permit::new(s.agreement.token, state.provider.clone());
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

#[utoipa::path(get, path = "/v1/drafts/{id}/permit", tag = "drafts", summary = "The EIP-2612 permit the brand signs to fund in one transaction (ERC-20 tokens with permit)", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn permit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    let deadline = now() + PERMIT_LIFETIME;
    let (permit, domain) = permit_of(&state, &s, deadline).await?;
    let typed = alloy::dyn_abi::TypedData::from_struct(&permit, Some(domain));
    Ok(Json(serde_json::json!({
        "token": s.agreement.token,
        "value": permit.value.to_string(),
        "deadline": deadline,
        "typedData": typed,
    })))
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

#[utoipa::path(post, path = "/v1/drafts/{id}/transactions", tag = "drafts", summary = "With the brand's signed permit: the one transaction that creates and funds the agreement", params(("id" = String, Path)), request_body = FundWithPermit, responses((status = 200, body = Object), (status = 400, description = "Malformed request", body = crate::error::ErrorBody), (status = 404, description = "Not found (or not yours)", body = crate::error::ErrorBody), (status = 409, description = "Conflicts with the current state", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub(super) async fn transactions_with_permit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<FundWithPermit>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let s = signed(&state, &mut conn, caller, &id).await?;
    if req.permit.deadline <= now() {
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
        from: s.draft.brand,
        to: s.draft.escrow,
        data: call.abi_encode().into(),
        value: "0".to_owned(),
    };
    crate::actions::simulate(&state, &tx).await?;
    Ok(Json(serde_json::json!({ "agreementId": s.version.agreement_id, "transactions": [tx] })))
}
