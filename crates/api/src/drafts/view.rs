//! A draft as the API shows it (its current version and the signatures collected), and the
//! access rule every draft route shares: only its parties and auditors learn it exists.

use alloy::{
    primitives::{Address, Bytes, B256},
    sol_types::SolCall,
};
use pactum_bindings::PactumEscrow;
use pactum_core::Agreement;
use std::collections::HashMap;

use pactum_db::api::{Draft, DraftSignature, DraftVersion, ListedDraft, VersionSignature};
use serde::Serialize;

use super::funding::TxRequest;
use crate::{auth::Caller, error::ApiError, AppState};

/// EIP-712 typed data, as a wallet's `eth_signTypedData_v4` takes it (documentation only: the API
/// serializes alloy's `TypedData`, which has this shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eip712TypedData {
    /// Every struct type involved, `EIP712Domain` included: its name and its fields in order.
    pub types: std::collections::BTreeMap<String, Vec<Eip712Field>>,
    /// The type of `message`.
    pub primary_type: String,
    /// The domain (name, version, chainId, verifyingContract).
    pub domain: crate::schema::Eip712DomainDoc,
    /// The values signed, of the type `primaryType` names.
    pub message: crate::schema::Eip712Message,
}

/// One field of an EIP-712 struct type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Eip712Field {
    /// Its name.
    pub name: String,
    /// Its Solidity type (`address`, `uint256`, another struct's name, …).
    #[serde(rename = "type")]
    pub r#type: String,
}

/// A stored version's agreement, as it was built.
pub(super) fn agreement_of(v: &DraftVersion) -> Result<Agreement, ApiError> {
    serde_json::from_value(v.agreement.clone()).map_err(ApiError::internal)
}

/// A draft as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    /// Its id.
    pub id: String,
    /// Chain.
    pub chain_id: u64,
    /// Escrow.
    #[schema(value_type = String)]
    pub escrow: Address,
    /// Paying party.
    #[schema(value_type = String)]
    pub brand: Address,
    /// Paid party.
    #[schema(value_type = String)]
    pub creator: Address,
    /// `awaiting_signatures`, `ready` (both signed) or `created` (on chain).
    #[schema(value_type = String, pattern = "^(awaiting_signatures|ready|created)$")]
    pub status: &'static str,
    /// Once created: where the agreement is read (`/v1/agreements/{id}`).
    pub agreement: Option<String>,
    /// The current version.
    pub version: VersionView,
    /// Superseded versions the caller signed whose signatures are still valid on chain: a new
    /// version voids them in the API only, so until their deadline whoever holds both signatures
    /// could still create the old agreement. Each comes with the escrow's `revoke`, which the
    /// caller sends to void it on chain for good. Empty for an auditor and for the other party.
    pub revocable: Vec<RevocableVersion>,
}

/// A superseded version whose signature by the caller the escrow would still accept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevocableVersion {
    /// The version's number.
    pub version: i32,
    /// Its agreement id (the digest signed).
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// Unix time until which the escrow would create it (its signature deadline).
    pub deadline: i64,
    /// The escrow's `revoke(agreement)`, from the caller.
    pub transaction: TxRequest,
}

/// One version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// Its number.
    pub number: i32,
    /// Who proposed it.
    #[schema(value_type = String)]
    pub proposed_by: Address,
    /// The agreement id (EIP-712 digest) both parties sign.
    #[schema(value_type = String)]
    pub agreement_id: B256,
    /// The agreement as signed.
    #[schema(value_type = crate::schema::AgreementMessage)]
    pub agreement: serde_json::Value,
    /// The terms document, as submitted.
    #[schema(value_type = pactum_core::terms::TermsDocument)]
    pub terms: serde_json::Value,
    /// keccak256 of its canonical JSON (RFC 8785): the on-chain `termsHash`.
    #[schema(value_type = String)]
    pub terms_hash: B256,
    /// Unix time proposed.
    pub created_at: i64,
    /// Signatures collected for this version.
    pub signatures: Vec<SignatureView>,
}

/// A verified signature.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureView {
    /// `brand` or `creator`.
    pub role: String,
    /// Who signed.
    #[schema(value_type = String)]
    pub signer: Address,
    /// The signature.
    #[schema(value_type = String)]
    pub signature: Bytes,
    /// `ecdsa` or `eip1271`.
    pub method: String,
    /// Unix time verified.
    pub verified_at: i64,
}

pub(super) async fn load(
    conn: &mut sqlx::PgConnection,
    id: &str,
    caller: Caller,
    lock: bool,
) -> Result<Draft, ApiError> {
    let draft =
        pactum_db::api::draft(conn, id, lock).await?.ok_or_else(|| ApiError::not_found("draft"))?;
    if !caller.may_read(&[draft.brand, draft.creator]) {
        // Not a party: the draft's existence is not theirs to learn.
        return Err(ApiError::not_found("draft"));
    }
    Ok(draft)
}

/// The version in force of a draft.
pub(super) async fn current_version(
    conn: &mut sqlx::PgConnection,
    d: &Draft,
) -> Result<DraftVersion, ApiError> {
    pactum_db::api::version(conn, &d.id, d.current_version).await?.ok_or_else(|| {
        ApiError::internal(format!("draft {} has no version {}", d.id, d.current_version))
    })
}

/// The superseded versions `who` signed that are neither on chain (created or revoked) nor past
/// their signature deadline, each with its `revoke` transaction. `sigs` are the draft's
/// signatures of every version, by version.
fn revocable(
    state: &AppState,
    d: &Draft,
    sigs: &[VersionSignature],
    who: Address,
) -> Result<Vec<RevocableVersion>, ApiError> {
    // Without asking the node (a read must not wait on it): a time no later than the chain's, so
    // a version left out is past its deadline on chain too.
    // A draft of a chain no longer served is still shown; its revocations cannot be sent here.
    let Ok(chain) = draft_chain(state, d) else {
        return Ok(Vec::new());
    };
    let t = chain.clock.known();
    let mut out: Vec<RevocableVersion> = Vec::new();
    for s in sigs {
        let number = s.version;
        if number >= d.current_version
            || s.signature.signer != who
            || out.last().is_some_and(|r| r.version == number)
        {
            continue;
        }
        let agreement: Agreement =
            serde_json::from_value(s.agreement.clone()).map_err(ApiError::internal)?;
        let deadline = i64::try_from(agreement.deadline.to::<u64>()).unwrap_or(i64::MAX);
        // The escrow refuses creation after the deadline: `block.timestamp > deadline`.
        if deadline < t || s.on_chain {
            continue;
        }
        out.push(RevocableVersion {
            version: number,
            agreement_id: s.agreement_id,
            deadline,
            transaction: TxRequest {
                description: format!(
                    "revoke version {number}: void its signatures on chain for good"
                ),
                chain_id: d.chain_id,
                from: who,
                to: d.escrow,
                data: PactumEscrow::revokeCall { agreement }.abi_encode().into(),
                value: "0".to_owned(),
            },
        });
    }
    Ok(out)
}

/// The served chain a draft is on, else a 409 `chain_not_served`: a draft of a chain or escrow
/// this deployment no longer serves can be read but not signed, funded or changed.
pub(super) fn draft_chain<'s>(
    state: &'s AppState,
    d: &Draft,
) -> Result<&'s crate::Chain, ApiError> {
    state.chains.iter().find(|c| c.id == d.chain_id && c.escrow == d.escrow).ok_or_else(|| {
        ApiError::conflict(
            "chain_not_served",
            format!(
                "this draft is for escrow {} on chain {}, which this deployment no longer serves",
                d.escrow, d.chain_id
            ),
        )
    })
}

/// A draft as the API shows it: three statements (its current version, whether that is on
/// chain, every signature of every version).
pub(super) async fn view(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    d: &Draft,
    caller: Caller,
) -> Result<DraftView, ApiError> {
    let current = current_version(conn, d).await?;
    let on_chain =
        pactum_db::api::agreement(conn, d.chain_id, current.agreement_id).await?.is_some();
    let listed = vec![ListedDraft { draft: d.clone(), current, on_chain }];
    let mut out = views(state, conn, d.chain_id, listed, caller).await?;
    out.pop().ok_or_else(|| ApiError::internal("a draft without its view"))
}

/// Drafts as the API shows them, given each with its current version: one more statement for the
/// signatures of all of them, whatever their number. All of them are drafts on chain `chain_id`.
pub(super) async fn views(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    chain_id: u64,
    drafts: Vec<ListedDraft>,
    caller: Caller,
) -> Result<Vec<DraftView>, ApiError> {
    let ids: Vec<String> = drafts.iter().map(|l| l.draft.id.clone()).collect();
    let all = pactum_db::api::version_signatures(conn, chain_id, &ids).await?;
    let mut by_draft: HashMap<String, Vec<VersionSignature>> = HashMap::new();
    for s in all {
        by_draft.entry(s.draft_id.clone()).or_default().push(s);
    }
    drafts
        .into_iter()
        .map(|l| {
            let sigs = by_draft.remove(&l.draft.id).unwrap_or_default();
            assemble(state, l, &sigs, caller)
        })
        .collect()
}

fn assemble(
    state: &AppState,
    l: ListedDraft,
    sigs: &[VersionSignature],
    caller: Caller,
) -> Result<DraftView, ApiError> {
    let ListedDraft { draft: d, current: v, on_chain } = l;
    let revocable = match caller {
        Caller::Party(who) if who == d.brand || who == d.creator => {
            revocable(state, &d, sigs, who)?
        }
        _ => Vec::new(),
    };
    let current: Vec<&DraftSignature> =
        sigs.iter().filter(|s| s.version == d.current_version).map(|s| &s.signature).collect();
    let status = if on_chain {
        "created"
    } else if current.len() == 2 {
        "ready"
    } else {
        "awaiting_signatures"
    };
    Ok(DraftView {
        id: d.id.clone(),
        chain_id: d.chain_id,
        escrow: d.escrow,
        brand: d.brand,
        creator: d.creator,
        status,
        agreement: on_chain.then(|| format!("/v1/agreements/{}", v.agreement_id)),
        version: VersionView {
            number: v.version,
            proposed_by: v.proposed_by,
            agreement_id: v.agreement_id,
            agreement: v.agreement,
            terms: v.terms,
            terms_hash: v.terms_hash,
            created_at: v.created_at,
            signatures: current
                .into_iter()
                .map(|s| SignatureView {
                    role: s.role.clone(),
                    signer: s.signer,
                    signature: s.signature.clone().into(),
                    method: s.method.clone(),
                    verified_at: s.verified_at,
                })
                .collect(),
        },
        revocable,
    })
}
