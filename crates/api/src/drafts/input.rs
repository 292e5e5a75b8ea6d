//! What a draft is made of, as clients send it, and the checks that turn it into the agreement
//! both parties sign: the escrow's creation bounds are checked here, so nobody signs what the
//! escrow would refuse.

use std::str::FromStr;

use alloy::primitives::{aliases::U40, Address, Bytes, B256, U256};
use pactum_core::{terms, Agreement, Milestone};
use serde::Deserialize;

use crate::error::ApiError;

/// The escrow's limit on milestones per agreement.
pub const MAX_MILESTONES: usize = 32;
/// The escrow's highest arbiter fee, in basis points (`MAX_FEE_BPS`).
pub const MAX_FEE_BPS: u16 = 2_000;
/// The escrow's shortest review, contest (with an arbiter) and arbitration window (`MIN_WINDOW`).
pub const MIN_WINDOW: u32 = 3_600;
/// The escrow's longest window (`MAX_WINDOW`): 90 days.
pub const MAX_WINDOW: u32 = 90 * 86_400;
/// The escrow's most revision rounds per milestone (`MAX_REVISION_ROUNDS`).
pub const MAX_REVISION_ROUNDS: u32 = 10;
/// How far past creation a milestone deadline may lie (`MAX_TERM`): five years of 365 days.
pub const MAX_TERM: i64 = 5 * 365 * 86_400;
/// Revision rounds per milestone when the draft names none.
pub const DEFAULT_REVISION_ROUNDS: u32 = 2;
/// Default life of the parties' signatures when the draft names none: 24 hours of chain time.
///
/// Proposing a new version voids the previous version's signatures in the API only: on chain they
/// stay valid until this deadline, so whoever holds both could still create the superseded
/// version. A short default bounds that window; until it closes, the party whose signature was
/// voided is offered the escrow's `revoke` of the old version (`revocable` in the draft view).
/// The escrow compares the deadline with `block.timestamp`, so it is counted from the chain's
/// time ([`crate::chain_time`]), not this server's clock. A draft that needs longer names its
/// own `signatureDeadline`; one that ran out is proposed again and signed again.
pub const DEFAULT_SIGNATURE_LIFETIME: i64 = 24 * 3600;

/// One milestone as drafted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneInput {
    /// Amount in the token's smallest unit, as a decimal string.
    pub amount: String,
    /// Delivery deadline, Unix seconds: after the chain's time (the escrow compares it with
    /// `block.timestamp`; on a test chain moved forward that is ahead of the wall clock) and at
    /// most five years (365-day years) past it.
    pub deadline: i64,
    /// The brand's review window after a submission, seconds.
    pub review_window: u32,
}

/// A draft's content, as the brand creates it or either party changes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftInput {
    /// The creator's address.
    pub creator: String,
    /// The arbiter's address, if any.
    pub arbiter: Option<String>,
    /// The token's address; the zero address for ETH.
    pub token: String,
    /// 1 to 32 milestones.
    pub milestones: Vec<MilestoneInput>,
    /// The arbiter's fee in basis points of what it rules on.
    #[serde(default)]
    pub arbiter_fee_bps: u16,
    /// Seconds the other party has to contest a termination.
    pub contest_window: u32,
    /// Seconds the arbiter has to rule before the timeout split applies.
    #[serde(default)]
    pub arbitration_window: u32,
    /// How many times the brand may ask for a revision of each milestone (0 to 10; default 2).
    #[serde(default = "default_revision_rounds")]
    pub revision_rounds: u32,
    /// Unix time after which the escrow refuses the signatures (it compares `block.timestamp`).
    /// Default: 24 hours after the chain's time (the latest block's timestamp, or the server's
    /// clock if that is later). Kept short because a newer version voids the signatures in the API
    /// only; on chain they last until this deadline unless revoked.
    pub signature_deadline: Option<i64>,
    /// The terms document (hashed as sent, in RFC 8785 form: the agreement's `termsHash`).
    #[schema(value_type = pactum_core::terms::TermsDocument)]
    pub terms: serde_json::Value,
    /// The chain to put it on (default: the primary chain; `GET /v1/config` lists them). A new
    /// version stays on the draft's chain: naming another is refused (`chain_mismatch`).
    #[schema(minimum = 1)]
    pub chain_id: Option<u64>,
}

fn default_revision_rounds() -> u32 {
    DEFAULT_REVISION_ROUNDS
}

/// A window the escrow requires in [`MIN_WINDOW`, `MAX_WINDOW`].
fn window(field: &str, seconds: u32) -> Result<(), ApiError> {
    if (MIN_WINDOW..=MAX_WINDOW).contains(&seconds) {
        return Ok(());
    }
    Err(ApiError::unprocessable(
        "invalid_window",
        format!(
            "{field}: {seconds} seconds is outside what the escrow accepts: one hour ({MIN_WINDOW} \
             s) to 90 days ({MAX_WINDOW} s)"
        ),
    ))
}

fn parse_address(field: &str, s: &str) -> Result<Address, ApiError> {
    let hex = s.strip_prefix("0x").unwrap_or(s);
    let mixed =
        hex.chars().any(|c| c.is_ascii_uppercase()) && hex.chars().any(|c| c.is_ascii_lowercase());
    let parsed =
        if mixed { Address::parse_checksummed(s, None).ok() } else { Address::from_str(s).ok() };
    match parsed {
        Some(a) => Ok(a),
        None if mixed && Address::from_str(s).is_ok() => Err(ApiError::bad_request(
            "bad_checksum",
            format!("{field}: {s} fails its EIP-55 checksum (a typo?); send it all-lowercase or correctly checksummed"),
        )),
        None => Err(ApiError::bad_request(
            "invalid_address",
            format!("{field}: {s:?} is not an address (0x and 40 hex digits)"),
        )),
    }
}

fn parse_amount(i: usize, s: &str) -> Result<U256, ApiError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_amount",
            format!("milestones[{i}].amount: {s:?} is not a non-negative whole number in the token's smallest unit"),
        ));
    }
    let v = U256::from_str_radix(s, 10).map_err(|_| {
        ApiError::bad_request(
            "amount_overflow",
            format!("milestones[{i}].amount: {s} does not fit in 256 bits"),
        )
    })?;
    if v.is_zero() {
        return Err(ApiError::bad_request(
            "zero_amount",
            format!("milestones[{i}].amount must be above zero"),
        ));
    }
    Ok(v)
}

fn time40(field: &str, t: i64, now: i64) -> Result<U40, ApiError> {
    if t <= now {
        return Err(ApiError::bad_request(
            "deadline_in_past",
            format!(
                "{field}: {t} is not in the future (the chain's time is {now}, {})",
                rfc3339(now)
            ),
        ));
    }
    let t = u64::try_from(t).unwrap_or(u64::MAX);
    U40::try_from(t).map_err(|_| {
        ApiError::bad_request(
            "deadline_out_of_range",
            format!("{field}: {t} does not fit in 40 bits"),
        )
    })
}

/// A draft's content checked in everything that does not depend on the time: what is left for
/// [`Checked::at`] are the deadlines, measured from the chain's time (which costs an RPC call, so
/// it is asked for only once everything here has passed).
#[derive(Debug)]
pub(super) struct Checked {
    /// The agreement, its deadlines not set yet.
    agreement: Agreement,
    /// The milestones' deadlines as sent.
    milestone_deadlines: Vec<i64>,
    /// The signature deadline as sent, if any.
    signature_deadline: Option<i64>,
    canonical: String,
    terms_hash: B256,
}

/// An agreement both parties can sign: its terms' canonical JSON and their hash.
pub(super) struct Built {
    pub(super) agreement: Agreement,
    pub(super) canonical: String,
    pub(super) terms_hash: B256,
}

/// Checks a draft's content the way the escrow will, except for the deadlines ([`Checked::at`]).
pub(super) fn check(
    chain: &crate::Chain,
    brand: Address,
    salt: U256,
    input: &DraftInput,
) -> Result<Checked, ApiError> {
    let creator = parse_address("creator", &input.creator)?;
    let arbiter = match &input.arbiter {
        Some(a) => parse_address("arbiter", a)?,
        None => Address::ZERO,
    };
    let token = parse_address("token", &input.token)?;
    if creator == Address::ZERO || creator == brand {
        return Err(ApiError::bad_request(
            "invalid_parties",
            "the creator must be an account other than the brand",
        ));
    }
    if arbiter == brand || arbiter == creator {
        return Err(ApiError::bad_request("invalid_parties", "the arbiter must be neither party"));
    }
    if !chain.tokens.contains(&token) {
        return Err(ApiError::bad_request(
            "unknown_token",
            format!(
                "token {token} is not one this deployment accepts on chain {} ({})",
                chain.id,
                list(&chain.tokens)
            ),
        ));
    }
    if input.milestones.is_empty() || input.milestones.len() > MAX_MILESTONES {
        return Err(ApiError::bad_request(
            "invalid_milestone_count",
            format!(
                "an agreement has 1 to {MAX_MILESTONES} milestones, not {}",
                input.milestones.len()
            ),
        ));
    }
    // The escrow's creation bounds, checked here so that nobody signs what it would refuse.
    if arbiter.is_zero() {
        if input.arbiter_fee_bps != 0 {
            return Err(ApiError::unprocessable(
                "invalid_fee",
                format!(
                    "arbiterFeeBps: {} without an arbiter; an agreement without one has no fee (0)",
                    input.arbiter_fee_bps
                ),
            ));
        }
        if input.contest_window > MAX_WINDOW {
            return Err(ApiError::unprocessable(
                "invalid_window",
                format!(
                    "contestWindow: {} seconds is more than 90 days ({MAX_WINDOW} s)",
                    input.contest_window
                ),
            ));
        }
    } else {
        if input.arbiter_fee_bps > MAX_FEE_BPS {
            return Err(ApiError::unprocessable(
                "invalid_fee",
                format!(
                    "arbiterFeeBps: {} is above the escrow's cap of {MAX_FEE_BPS} (20%)",
                    input.arbiter_fee_bps
                ),
            ));
        }
        window("contestWindow", input.contest_window)?;
        window("arbitrationWindow", input.arbitration_window)?;
    }
    if input.revision_rounds > MAX_REVISION_ROUNDS {
        return Err(ApiError::unprocessable(
            "too_many_revision_rounds",
            format!(
                "revisionRounds: {} is more than the escrow allows ({MAX_REVISION_ROUNDS})",
                input.revision_rounds
            ),
        ));
    }
    let mut milestones = Vec::with_capacity(input.milestones.len());
    let mut total = U256::ZERO;
    for (i, m) in input.milestones.iter().enumerate() {
        let amount = parse_amount(i, &m.amount)?;
        total = total.checked_add(amount).ok_or_else(|| {
            ApiError::bad_request(
                "amount_overflow",
                "the milestones' amounts add up to more than 256 bits",
            )
        })?;
        window(&format!("milestones[{i}].reviewWindow"), m.review_window)?;
        milestones.push(Milestone { amount, deadline: U40::ZERO, reviewWindow: m.review_window });
    }

    let doc = terms::TermsDocument::from_json_value(&input.terms)
        .map_err(|e| ApiError::bad_request(e.code(), format!("terms: {e}")))?;
    doc.validate(milestones.len()).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let canonical = terms::canonical_json(&input.terms)
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let terms_hash = alloy::primitives::keccak256(canonical.as_bytes());

    let agreement = Agreement {
        brand,
        creator,
        arbiter,
        token,
        termsHash: terms_hash,
        arbiterFeeBps: input.arbiter_fee_bps,
        contestWindow: input.contest_window,
        arbitrationWindow: input.arbitration_window,
        revisionRounds: u8::try_from(input.revision_rounds).map_err(ApiError::internal)?,
        deadline: U40::ZERO,
        salt,
        milestones,
    };
    Ok(Checked {
        agreement,
        milestone_deadlines: input.milestones.iter().map(|m| m.deadline).collect(),
        signature_deadline: input.signature_deadline,
        canonical,
        terms_hash,
    })
}

impl Checked {
    /// The creator named.
    pub(super) fn creator(&self) -> Address {
        self.agreement.creator
    }

    /// Checks the deadlines against `now`, the chain's time ([`AppState::chain_now`]), as the
    /// escrow will against `block.timestamp`, and sets them (the signature deadline by default
    /// [`DEFAULT_SIGNATURE_LIFETIME`] after `now`).
    pub(super) fn at(self, now: i64) -> Result<Built, ApiError> {
        let Self { mut agreement, milestone_deadlines, signature_deadline, canonical, terms_hash } =
            self;
        for (i, (m, &deadline)) in
            agreement.milestones.iter_mut().zip(&milestone_deadlines).enumerate()
        {
            let field = format!("milestones[{i}].deadline");
            if deadline <= now {
                return Err(ApiError::unprocessable(
                    "deadline_in_past",
                    format!(
                        "{field}: {deadline} is not in the future (the chain's time is {now}, {})",
                        rfc3339(now)
                    ),
                ));
            }
            if deadline > now.saturating_add(MAX_TERM) {
                return Err(ApiError::unprocessable(
                    "deadline_too_far",
                    format!(
                        "{field}: {deadline} is more than five years (365-day years) past the \
                         chain's time ({now}); the escrow refuses it"
                    ),
                ));
            }
            m.deadline = time40(&field, deadline, now)?;
        }
        let deadline =
            signature_deadline.unwrap_or_else(|| now.saturating_add(DEFAULT_SIGNATURE_LIFETIME));
        agreement.deadline = time40("signatureDeadline", deadline, now)?;
        Ok(Built { agreement, canonical, terms_hash })
    }
}

/// Unix seconds as RFC 3339, for messages.
fn rfc3339(t: i64) -> String {
    crate::time::rfc3339(u64::try_from(t).unwrap_or_default())
}

fn list(tokens: &[Address]) -> String {
    tokens
        .iter()
        .map(|t| if t.is_zero() { "ETH (0x0)".to_owned() } else { t.to_string() })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?version=N` (default: the current version).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Which version.
    pub version: Option<i32>,
}

/// A party's signature of a version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRequest {
    /// The version signed (must be the current one).
    pub version: i32,
    /// The `eth_signTypedData_v4` signature (hex).
    #[schema(value_type = String)]
    pub signature: Bytes,
}
