//! What a client asks for: one escrow action, as a tagged enum. Each variant carries exactly the
//! fields its action needs, so a missing one is a parse error that names it, a field of another
//! action is refused (not silently ignored), and the API reference lists each action's fields as
//! one schema of a `oneOf` with a discriminator on `action`.
//!
//! The wire format is one flat object: `{"action": "approve", "milestone": 0}`. What the types
//! cannot say (a milestone index within the escrow's limit, a non-blank reason) is checked by
//! [`ActionRequest::check`] before the database or the node is asked anything.

use std::borrow::Cow;

use alloy::primitives::{Address, Bytes, B256};
use serde::Deserialize;
use utoipa::openapi::{
    schema::{AdditionalProperties, Discriminator, OneOf, Schema},
    Ref, RefOr,
};

use crate::{drafts::MAX_MILESTONES, error::ApiError};

/// The most basis points a ruling gives the creator (all of it).
pub const MAX_BPS: u16 = 10_000;

/// An escrow action, named by `action`; each carries the fields it needs and no others.
/// Milestone indices count from 0 and stay below the escrow's 32 milestones (0 to 31).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ActionRequest {
    /// Funds the next `count` unfunded milestones (the escrow funds from the next unfunded one).
    Fund {
        /// Milestones to fund (1 to 32).
        #[schema(minimum = 1, maximum = 32)]
        count: u64,
    },
    /// Delivers a milestone; a caption is checked for the disclosure the terms require and
    /// recorded in the draft's off-chain log.
    #[serde(rename_all = "camelCase")]
    Submit {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
        /// The deliverable's content hash (32 bytes, hex).
        #[schema(value_type = String)]
        content_hash: B256,
        /// Where the deliverable is.
        uri: String,
        /// The deliverable's caption, checked for the required disclosure.
        #[serde(default)]
        caption: Option<String>,
        /// The platform the caption is for (default: the milestone's deliverable's platform).
        #[serde(default)]
        platform: Option<String>,
    },
    /// The brand approves a delivered milestone; it is paid.
    Approve {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
    },
    /// The brand asks for a revision of a delivered milestone (within its revision rounds).
    RequestRevision {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
        /// Why: hashed on chain, kept off chain; not blank.
        reason: String,
    },
    /// The creator claims a milestone the brand left unreviewed past its review window.
    Claim {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
    },
    /// The brand takes back a milestone not delivered by its deadline.
    Reclaim {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
    },
    /// Either party takes a milestone to the arbiter.
    Dispute {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
        /// Why: hashed on chain, kept off chain; not blank.
        reason: String,
    },
    /// The arbiter rules on a disputed milestone.
    #[serde(rename_all = "camelCase")]
    Resolve {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
        /// The creator's share in basis points (0 to 10000).
        #[schema(maximum = 10000)]
        creator_bps: u16,
    },
    /// Either party splits a dispute evenly once the arbiter's window closed.
    ResolveTimeout {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
    },
    /// Both parties split a milestone: without both signatures the answer is the typed data to
    /// sign; with them, the transaction.
    #[serde(rename_all = "camelCase")]
    Settle {
        /// Milestone index (0 to 31).
        #[schema(maximum = 31)]
        milestone: u64,
        /// The creator's amount in the token's smallest unit, decimal.
        creator_amount: String,
        /// Unix time the signatures expire, by the chain's clock (asking for the typed data:
        /// default an hour after the chain's time; with the signatures: the deadline they signed,
        /// required).
        #[serde(default)]
        deadline: Option<i64>,
        /// The state nonce the signatures name (default: the agreement's current nonce). Send
        /// back the nonce of the typed data that was signed.
        #[serde(default)]
        nonce: Option<u32>,
        /// The brand's signature of the split (hex).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        brand_signature: Option<Bytes>,
        /// The creator's signature of the split (hex).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        creator_signature: Option<Bytes>,
    },
    /// Voids every split the caller signed for the current state.
    CancelSignatures {},
    /// Ends the agreement for cause (the morality clause); the other party may contest.
    Terminate {
        /// Why: hashed on chain, kept off chain; not blank.
        reason: String,
    },
    /// The other party contests a termination (it goes to the arbiter).
    Contest {},
    /// Finalizes an uncontested termination after the contest window.
    FinalizeTermination {},
    /// The arbiter rules on a contested termination.
    #[serde(rename_all = "camelCase")]
    ResolveTermination {
        /// The creator's share in basis points (0 to 10000).
        #[schema(maximum = 10000)]
        creator_bps: u16,
    },
    /// Either party splits a contested termination evenly once the arbiter's window closed.
    ResolveTerminationTimeout {},
    /// Both parties end the agreement and split the unearned escrow: without both signatures
    /// the answer is the typed data to sign; with them, the transaction.
    #[serde(rename_all = "camelCase")]
    TerminateMutually {
        /// The creator's amount in the token's smallest unit, decimal.
        creator_amount: String,
        /// Unix time the signatures expire, by the chain's clock (asking for the typed data:
        /// default an hour after the chain's time; with the signatures: the deadline they signed,
        /// required).
        #[serde(default)]
        deadline: Option<i64>,
        /// The state nonce the signatures name (default: the agreement's current nonce).
        #[serde(default)]
        nonce: Option<u32>,
        /// The brand's signature of the split (hex).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        brand_signature: Option<Bytes>,
        /// The creator's signature of the split (hex).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        creator_signature: Option<Bytes>,
    },
    /// Withdraws the caller's credit in the agreement's token (payouts a transfer could not
    /// deliver).
    Withdraw {
        /// Withdraw to this address (default: the caller).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        to: Option<Address>,
    },
}

impl ActionRequest {
    /// The action's name, as sent in `action`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fund { .. } => "fund",
            Self::Submit { .. } => "submit",
            Self::Approve { .. } => "approve",
            Self::RequestRevision { .. } => "request-revision",
            Self::Claim { .. } => "claim",
            Self::Reclaim { .. } => "reclaim",
            Self::Dispute { .. } => "dispute",
            Self::Resolve { .. } => "resolve",
            Self::ResolveTimeout { .. } => "resolve-timeout",
            Self::Settle { .. } => "settle",
            Self::CancelSignatures {} => "cancel-signatures",
            Self::Terminate { .. } => "terminate",
            Self::Contest {} => "contest",
            Self::FinalizeTermination {} => "finalize-termination",
            Self::ResolveTermination { .. } => "resolve-termination",
            Self::ResolveTerminationTimeout {} => "resolve-termination-timeout",
            Self::TerminateMutually { .. } => "terminate-mutually",
            Self::Withdraw { .. } => "withdraw",
        }
    }

    /// The milestone the action is about, if it is about one.
    pub fn milestone(&self) -> Option<u64> {
        match self {
            Self::Submit { milestone, .. }
            | Self::Approve { milestone }
            | Self::RequestRevision { milestone, .. }
            | Self::Claim { milestone }
            | Self::Reclaim { milestone }
            | Self::Dispute { milestone, .. }
            | Self::Resolve { milestone, .. }
            | Self::ResolveTimeout { milestone }
            | Self::Settle { milestone, .. } => Some(*milestone),
            _ => None,
        }
    }

    /// What the types cannot say, checked before anything is looked up: a milestone index the
    /// escrow can have, a fund count it can fund, a share within 100%, a reason that is not
    /// blank.
    pub fn check(&self) -> Result<(), ApiError> {
        if let Some(m) = self.milestone() {
            check_milestone(m)?;
        }
        match self {
            Self::Fund { count } if *count == 0 || *count > MAX_MILESTONES as u64 => {
                Err(ApiError::bad_request(
                    "invalid_fund_count",
                    format!("count: fund 1 to {MAX_MILESTONES} milestones, not {count}"),
                ))
            }
            Self::Resolve { creator_bps, .. } | Self::ResolveTermination { creator_bps }
                if *creator_bps > MAX_BPS =>
            {
                Err(ApiError::bad_request(
                    "invalid_bps",
                    format!("creatorBps: {creator_bps} basis points is above {MAX_BPS} (100%)"),
                ))
            }
            Self::RequestRevision { reason, .. }
            | Self::Dispute { reason, .. }
            | Self::Terminate { reason }
                if reason.trim().is_empty() =>
            {
                Err(ApiError::bad_request(
                    "missing_field",
                    format!("{} needs a reason", self.name()),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A milestone index the escrow can have: below `MAX_MILESTONES` (32), so 0 to 31.
pub fn check_milestone(m: u64) -> Result<(), ApiError> {
    if m < MAX_MILESTONES as u64 {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "invalid_milestone",
        format!(
            "milestone {m} does not exist: an agreement has at most {MAX_MILESTONES} milestones \
             (indices 0 to {})",
            MAX_MILESTONES - 1
        ),
    ))
}

/// [`ActionRequest`] as the API reference shows it: the derived `oneOf`, each action a named
/// schema (`ApproveAction`, …) and a discriminator on `action` mapping each name to its schema,
/// so a generated client gets one type per action.
pub struct ActionRequestSchema;

impl ActionRequestSchema {
    /// Each action's (name, schema name, schema), from the derived `oneOf`.
    fn variants() -> Vec<(String, String, RefOr<Schema>)> {
        let RefOr::T(Schema::OneOf(one_of)) = <ActionRequest as utoipa::PartialSchema>::schema()
        else {
            return Vec::new();
        };
        one_of
            .items
            .into_iter()
            .filter_map(|item| {
                let RefOr::T(Schema::Object(mut object)) = item else { return None };
                // As serde's deny_unknown_fields: a field of another action is refused.
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
                let RefOr::T(Schema::Object(tag)) = object.properties.get("action")? else {
                    return None;
                };
                let name = tag.enum_values.as_ref()?.first()?.as_str()?.to_owned();
                let pascal: String = name
                    .split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect();
                Some((name, format!("{pascal}Action"), RefOr::T(Schema::Object(object))))
            })
            .collect()
    }
}

impl utoipa::PartialSchema for ActionRequestSchema {
    fn schema() -> RefOr<Schema> {
        let variants = Self::variants();
        let mut one_of = OneOf::new();
        one_of.description = Some(
            "An escrow action, named by `action`; each action's schema lists the fields it needs \
             (required) and takes no others. Milestone indices are 0 to 31."
                .to_owned(),
        );
        one_of.items = variants
            .iter()
            .map(|(_, schema, _)| RefOr::Ref(Ref::from_schema_name(schema.as_str())))
            .collect();
        one_of.discriminator = Some(Discriminator::with_mapping(
            "action",
            variants
                .iter()
                .map(|(name, schema, _)| (name.clone(), format!("#/components/schemas/{schema}"))),
        ));
        RefOr::T(Schema::OneOf(one_of))
    }
}

impl utoipa::ToSchema for ActionRequestSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ActionRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(Self::variants().into_iter().map(|(_, name, schema)| (name, schema)));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn parse(v: Value) -> Result<ActionRequest, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_action_the_clients_send_parses() {
        for v in [
            json!({"action": "approve", "milestone": 0}),
            json!({"action": "settle", "milestone": 1, "creatorAmount": "500000",
                   "deadline": 1_900_000_000, "nonce": 2, "brandSignature": "0x01",
                   "creatorSignature": "0x02"}),
            json!({"action": "settle", "milestone": 1, "creatorAmount": "500000"}),
            json!({"action": "cancel-signatures"}),
            json!({"action": "withdraw", "to": Address::repeat_byte(1)}),
            json!({"action": "withdraw"}),
            json!({"action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1),
                   "uri": "ipfs://x", "caption": "#ad", "platform": "instagram"}),
            json!({"action": "resolve-termination-timeout"}),
            json!({"action": "terminate-mutually", "creatorAmount": "1"}),
            json!({"action": "resolve", "milestone": 1, "creatorBps": 6000}),
            json!({"action": "fund", "count": 1}),
        ] {
            let parsed = parse(v.clone());
            assert!(parsed.as_ref().is_ok_and(|a| a.name() == v["action"]), "{v}: {parsed:?}");
        }
    }

    #[test]
    fn a_field_of_another_action_or_a_missing_one_is_refused() {
        let e = parse(json!({"action": "approve", "milestone": 0, "creatorBps": 10000}));
        assert!(e.as_ref().is_err_and(|e| e.contains("unknown field `creatorBps`")), "{e:?}");
        // A variant without fields refuses fields too (a unit variant would ignore them).
        let e = parse(json!({"action": "contest", "milestone": 0}));
        assert!(e.as_ref().is_err_and(|e| e.contains("unknown field `milestone`")), "{e:?}");
        let e = parse(json!({"action": "approve"}));
        assert!(e.as_ref().is_err_and(|e| e.contains("missing field `milestone`")), "{e:?}");
        // Two actions in one body: refused, not the first or the last taken.
        let text = r#"{"action": "approve", "action": "claim", "milestone": 0}"#;
        let e = serde_json::from_str::<ActionRequest>(text).map_err(|e| e.to_string());
        assert!(e.as_ref().is_err_and(|e| e.contains("duplicate field `action`")), "{e:?}");
    }

    #[test]
    fn limits_are_checked_before_anything_is_looked_up() {
        let too_far = ActionRequest::Approve { milestone: MAX_MILESTONES as u64 };
        assert_eq!(too_far.check().map_err(|e| e.code), Err("invalid_milestone"));
        assert!(ActionRequest::Approve { milestone: MAX_MILESTONES as u64 - 1 }.check().is_ok());
        let bps = ActionRequest::ResolveTermination { creator_bps: 10_001 };
        assert_eq!(bps.check().map_err(|e| e.code), Err("invalid_bps"));
        let blank = ActionRequest::Terminate { reason: " ".to_owned() };
        assert_eq!(blank.check().map_err(|e| e.code), Err("missing_field"));
        assert_eq!(
            ActionRequest::Fund { count: 0 }.check().map_err(|e| e.code),
            Err("invalid_fund_count")
        );
    }

    #[test]
    fn the_schema_is_a_one_of_with_a_discriminator_naming_every_action() {
        let schema = serde_json::to_value(<ActionRequestSchema as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
        let mapping = schema["discriminator"]["mapping"].as_object().cloned().unwrap_or_default();
        assert_eq!(schema["discriminator"]["propertyName"], "action", "{schema}");
        assert_eq!(mapping.len(), 18, "{schema}");
        assert_eq!(schema["oneOf"].as_array().map(Vec::len), Some(18));
        assert_eq!(mapping["request-revision"], "#/components/schemas/RequestRevisionAction");
        let mut parts = Vec::new();
        <ActionRequestSchema as utoipa::ToSchema>::schemas(&mut parts);
        let approve = parts.iter().find(|(n, _)| n == "ApproveAction").map(|(_, s)| s);
        let approve = serde_json::to_value(approve).unwrap_or_default();
        assert_eq!(approve["required"], json!(["milestone", "action"]), "{approve}");
        assert_eq!(approve["properties"]["milestone"]["maximum"], MAX_MILESTONES - 1);
        assert_eq!(approve["additionalProperties"], false, "{approve}");
        for (name, _, _) in ActionRequestSchema::variants() {
            let minimal = parse(json!({ "action": name }));
            assert!(
                minimal.is_ok() || minimal.as_ref().is_err_and(|e| e.contains("missing field")),
                "{name} is an action: {minimal:?}"
            );
        }
    }
}
