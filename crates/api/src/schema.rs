//! Schemas, for the OpenAPI document only, of JSON the API passes on from alloy's serializers:
//! EIP-712 typed data (a wallet's `eth_signTypedData_v4` input) and decoded escrow events. The
//! handlers serialize alloy's own types, so these structs are never built; they exist so that a
//! client generated from `/openapi.json` gets types instead of maps. They cannot drift unnoticed:
//! the API tests validate every response they receive against the served document, and the
//! property-based run (`scripts/api-fuzz`) checks every response it provokes.
//!
//! alloy's shapes: `uint8`–`uint32` values are JSON numbers; wider ones (`uint40` deadlines,
//! `uint256` amounts) are `0x` hex quantities; addresses and hashes are `0x` hex strings.

#![allow(dead_code)] // Schema-only types: described, never constructed.

use serde::Serialize;
use utoipa::ToSchema;

/// A `0x` hex quantity, as alloy serializes `uint40` and wider integers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^0x[0-9a-fA-F]+$")]
pub struct HexQuantity(String);

/// A 20-byte address, `0x` hex.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{40}$")]
pub struct HexAddress(String);

/// A 32-byte value (hash, salt, id), `0x` hex.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{64}$")]
pub struct HexBytes32(String);

/// The EIP-712 domain: the escrow's (`Pactum`, version `1`) or, for a permit, the token's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eip712DomainDoc {
    /// The signing domain's name.
    name: String,
    /// Its version; some tokens' permit domains have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// The chain id.
    chain_id: HexQuantity,
    /// The contract that checks the signature.
    verifying_contract: HexAddress,
}

/// One milestone of a signed agreement.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneMessage {
    /// Its amount in the token's smallest unit (`uint256`).
    amount: HexQuantity,
    /// Unix time the deliverable is due (`uint40`).
    deadline: HexQuantity,
    /// Seconds the brand has to review a submission (`uint32`).
    review_window: u32,
}

/// The agreement both parties sign (the escrow's `Agreement` struct): the `message` of its typed
/// data, the signed agreement of a draft version, the `agreement` of an `AgreementCreated` event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgreementMessage {
    /// The brand, who funds.
    brand: HexAddress,
    /// The creator, who is paid.
    creator: HexAddress,
    /// The token (the zero address for ETH).
    token: HexAddress,
    /// The arbiter (the zero address for none).
    arbiter: HexAddress,
    /// The arbiter's fee in basis points (`uint16`).
    arbiter_fee_bps: u16,
    /// Seconds the arbiter has to rule (`uint32`).
    arbitration_window: u32,
    /// Seconds a termination can be contested (`uint32`).
    contest_window: u32,
    /// Revision rounds the brand may ask for per milestone (`uint8`).
    revision_rounds: u8,
    /// Unix time the signatures expire (`uint40`).
    deadline: HexQuantity,
    /// keccak256 of the terms document's canonical JSON.
    terms_hash: HexBytes32,
    /// Makes the id unique (`uint256`).
    salt: HexQuantity,
    /// The milestones, in order.
    milestones: Vec<MilestoneMessage>,
}

/// A settlement of one disputed milestone both parties sign.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettlementMessage {
    /// The agreement.
    agreement_id: HexBytes32,
    /// The milestone (`uint256`).
    milestone: HexQuantity,
    /// What the creator receives (`uint256`).
    creator_amount: HexQuantity,
    /// The agreement's state nonce (`uint32`).
    nonce: u32,
    /// Unix time the signatures expire (`uint40`).
    deadline: HexQuantity,
}

/// A mutual termination both parties sign.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutualTerminationMessage {
    /// The agreement.
    agreement_id: HexBytes32,
    /// What the creator receives of what is held (`uint256`).
    creator_amount: HexQuantity,
    /// The agreement's state nonce (`uint32`).
    nonce: u32,
    /// Unix time the signatures expire (`uint40`).
    deadline: HexQuantity,
}

/// An EIP-2612 permit the brand signs for the token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitMessage {
    /// The token holder (the brand).
    owner: HexAddress,
    /// The escrow.
    spender: HexAddress,
    /// The allowance (`uint256`).
    value: HexQuantity,
    /// The holder's permit nonce at the token (`uint256`).
    nonce: HexQuantity,
    /// Unix time the permit expires (`uint256`).
    deadline: HexQuantity,
}

/// One tier of a performance agreement's rate.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierMessage {
    /// Where the tier starts, in units within a period (`uint128`).
    from_units: HexQuantity,
    /// An amount per unit, or basis points of revenue (`uint128`).
    rate: HexQuantity,
}

/// The performance agreement brand and partner sign (`PactumPerformance`'s struct).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerformanceAgreementMessage {
    /// The brand.
    brand: HexAddress,
    /// The partner.
    partner: HexAddress,
    /// The attester.
    attester: HexAddress,
    /// The arbiter (zero for none).
    arbiter: HexAddress,
    /// The token.
    token: HexAddress,
    /// keccak256 of the terms document.
    terms_hash: HexBytes32,
    /// 0 conversions, 1 qualified leads, 2 revenue (`uint8`).
    metric: u8,
    /// The arbiter's fee in basis points (`uint16`).
    arbiter_fee_bps: u16,
    /// Unix time period 0 starts (`uint40`).
    start: HexQuantity,
    /// Seconds per period (`uint32`).
    period: u32,
    /// How many periods (`uint32`).
    periods: u32,
    /// Seconds to report a period after its end (`uint32`).
    report_window: u32,
    /// Seconds a report's pay stays locked (`uint32`).
    lock_window: u32,
    /// Seconds the arbiter has to rule (`uint32`).
    arbitration_window: u32,
    /// Unix time the signatures expire (`uint40`).
    deadline: HexQuantity,
    /// Makes the id unique (`uint256`).
    salt: HexQuantity,
    /// The rate's tiers.
    tiers: Vec<TierMessage>,
}

/// The attester's report of one period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportMessage {
    /// The agreement.
    agreement_id: HexBytes32,
    /// The period (`uint32`).
    period: u32,
    /// The version (`uint32`).
    version: u32,
    /// Units (`uint128`).
    units: HexQuantity,
    /// Revenue (`uint128`).
    revenue: HexQuantity,
    /// The Merkle root of the period's records.
    detail_root: HexBytes32,
}

/// The values a typed-data document signs; which one, `primaryType` says (each message type has
/// exactly its struct's fields, so exactly one matches).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Eip712Message {
    /// `primaryType` `Agreement`.
    Agreement(AgreementMessage),
    /// `primaryType` `Settlement`.
    Settlement(SettlementMessage),
    /// `primaryType` `MutualTermination`.
    MutualTermination(MutualTerminationMessage),
    /// `primaryType` `Permit`.
    Permit(PermitMessage),
    /// `primaryType` `PerformanceAgreement`.
    PerformanceAgreement(PerformanceAgreementMessage),
    /// `primaryType` `Report`.
    Report(ReportMessage),
}

/// One decoded parameter of an escrow event: a hex string (address, hash, `uint40`+ quantity), a
/// number (`uint8`–`uint32`), text (a deliverable's URI), or the signed agreement
/// (`AgreementCreated`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventFieldValue {
    /// Hex or text.
    Text(String),
    /// A small unsigned integer.
    Number(u64),
    /// The agreement of `AgreementCreated`.
    Agreement(AgreementMessage),
}
