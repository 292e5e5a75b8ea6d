//! The off-chain terms document and the hash the escrow stores for it.
//!
//! An agreement on chain carries only `termsHash`; what was agreed — the deliverables, usage
//! rights, exclusivity, disclosure duties and the morality clause, and optionally payment terms,
//! content approval, intellectual property, confidentiality, data privacy, AI use, governing law
//! and any other titled clause ([`clauses`]) — lives in a JSON document the parties submit. Field
//! names are `snake_case`; unknown fields are refused at every level (a clause the typed fields do
//! not cover goes in `additional_clauses`), and texts and lists have length bounds. This module is the one place that says what such a document may contain
//! ([`TermsDocument`], [`TermsDocument::validate`]) and how it is hashed ([`terms_hash`]), so the
//! API, the indexer and the tests cannot disagree on either.
//!
//! The hash is keccak-256 over the document's RFC 8785 (JSON Canonicalization Scheme) form, taken
//! from the JSON value the parties submitted rather than from [`TermsDocument`]: the same document
//! yields the same hash whatever its key order or whitespace, and a field this version of the code
//! does not model still counts. Canonicalization is done by the `serde_json_canonicalizer` crate,
//! not by hand. Two consequences of RFC 8785 worth knowing:
//!
//! - Numbers are IEEE 754 doubles: `4.50` and `4.5` hash alike, and integers above 2^53 are
//!   rounded. The document's own numbers are `u32`, far below that.
//! - Duplicate object keys cannot be represented: `serde_json` keeps the last one when it parses
//!   text into a [`serde_json::Value`], so a caller that hashes raw text should reject duplicates
//!   first if it must tell such documents apart.

use alloy::primitives::{keccak256, B256};
use serde::{Deserialize, Serialize};

pub mod clauses;

pub use clauses::{
    AdditionalClause, AiUse, Confidentiality, ContentApproval, ContentOwner, DataPrivacy,
    GeneratedContent, GoverningLaw, IntellectualProperty, PaymentTerms,
};
use clauses::{MAX_NAME_CHARS, MAX_TEXT_CHARS};

/// The most deliverables a document may list.
pub const MAX_DELIVERABLES: usize = 100;

/// The (region, rule) pairs [`TermsDocument::validate`] accepts: the advertising regulator of
/// each market Pactum serves. A new market is one more line here (and, if it has a regulator's
/// default labels, one more in [`crate::disclosure`]).
pub const KNOWN_DISCLOSURE_RULES: &[(&str, &str)] = &[("US", "FTC"), ("UK", "ASA"), ("AU", "ACCC")];

/// What the creator delivers, for how long the brand may use it, and on what conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TermsDocument {
    /// The posts, videos and other pieces the creator delivers; at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub deliverables: Vec<Deliverable>,
    /// What the brand may do with the deliverables afterwards.
    pub usage_rights: UsageRights,
    /// A category the creator may not promote for competitors, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusivity: Option<Exclusivity>,
    /// The advertising disclosure each market requires; at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub disclosure: Vec<DisclosureRule>,
    /// The conduct clause under which the brand may end the agreement; never empty.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub morality_clause: String,
    /// How the fee is described and paid, in words (the amounts on chain are what is paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<PaymentTerms>,
    /// How content is approved before publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_approval: Option<ContentApproval>,
    /// Who owns the content and what licence the brand gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intellectual_property: Option<IntellectualProperty>,
    /// What the parties keep confidential, and for how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidentiality: Option<Confidentiality>,
    /// Duties towards personal data, and the laws they follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_privacy: Option<DataPrivacy>,
    /// Whether AI-generated content is allowed and must be disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_use: Option<AiUse>,
    /// The governing law, venue and dispute resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governing_law: Option<GoverningLaw>,
    /// Any other clause, by title and text (at most [`clauses::MAX_ADDITIONAL_CLAUSES`]).
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_clauses: Vec<AdditionalClause>,
}

/// One piece of content, tied to the milestone whose payment it earns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Deliverable {
    /// Where it is published, lowercase: `"instagram"`, `"youtube"`, `"tiktok"`, `"linkedin"`,
    /// `"x"`, `"webinar"`, …
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub platform: String,
    /// What kind of piece it is: `"reel"`, `"video"`, `"post"`, `"story"`, …
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub format: String,
    /// What it shows or says.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub description: String,
    /// The index, in the agreement's milestones, of the milestone it belongs to.
    #[cfg_attr(feature = "openapi", schema(maximum = 31))]
    pub milestone: u32,
}

/// The brand's licence to reuse the deliverables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageRights {
    /// What the brand may do, e.g. `"organic and paid social"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub scope: String,
    /// For how many days after publication.
    pub duration_days: u32,
    /// Where, e.g. `["US", "UK"]` or `["worldwide"]`; at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub territories: Vec<String>,
}

/// A product category the creator may not promote for anyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Exclusivity {
    /// The category, e.g. `"running shoes"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub category: String,
    /// For how many days; at least one.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub duration_days: u32,
}

/// One market's advertising-disclosure duty: the captions of the deliverables must carry one of
/// `required_labels` (see [`crate::disclosure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DisclosureRule {
    /// The market, uppercase: `"US"`, `"UK"`, `"AU"`.
    pub region: String,
    /// The regulator whose guidance applies: `"FTC"`, `"ASA"`, `"ACCC"`.
    pub rule: String,
    /// Labels any one of which discloses the partnership, e.g. `["#ad", "#sponsored"]`. When
    /// empty (or absent), the regulator's defaults apply (see [`crate::disclosure`]).
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    #[serde(default)]
    pub required_labels: Vec<String>,
}

/// Why a terms document was refused or could not be hashed. [`TermsError::code`] is stable and
/// meant for machines; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// The JSON is not a terms document: a field is missing, unknown or of the wrong type.
    #[error("not a terms document: {0}")]
    Malformed(String),
    /// The document lists no deliverable.
    #[error("the terms list no deliverables; at least one is required")]
    NoDeliverables,
    /// A deliverable's platform is empty, or not lowercase and trimmed.
    #[error(
        "deliverable {index}: platform {platform:?} must be non-empty, lowercase and without \
         surrounding spaces"
    )]
    BadPlatform {
        /// The deliverable's position in `deliverables`.
        index: usize,
        /// The platform as given.
        platform: String,
    },
    /// A deliverable's format or description is empty.
    #[error("deliverable {index}: {field} must not be empty")]
    EmptyDeliverableField {
        /// The deliverable's position in `deliverables`.
        index: usize,
        /// `"format"` or `"description"`.
        field: &'static str,
    },
    /// A deliverable names a milestone the agreement does not have.
    #[error(
        "deliverable {index}: milestone {milestone} is out of range; the agreement has \
         {milestone_count} milestone(s)"
    )]
    MilestoneOutOfRange {
        /// The deliverable's position in `deliverables`.
        index: usize,
        /// The milestone index it names.
        milestone: u32,
        /// How many milestones the agreement has.
        milestone_count: usize,
    },
    /// The usage rights have an empty scope.
    #[error("usage_rights.scope must not be empty")]
    EmptyUsageScope,
    /// The usage rights name no territory, or an empty one.
    #[error("usage_rights.territories must list at least one non-empty territory")]
    BadTerritories,
    /// The exclusivity has an empty category.
    #[error("exclusivity.category must not be empty")]
    EmptyExclusivityCategory,
    /// The exclusivity lasts zero days; leave it out instead.
    #[error("exclusivity.duration_days must be at least 1 (omit exclusivity for none)")]
    ZeroExclusivityDuration,
    /// The document lists no disclosure rule.
    #[error("the terms list no disclosure rules; at least one market's rule is required")]
    NoDisclosure,
    /// A disclosure rule's (region, rule) pair is not one of [`KNOWN_DISCLOSURE_RULES`].
    #[error(
        "disclosure {index}: unknown region/rule pair {region:?}/{rule:?}; known pairs are \
         US/FTC, UK/ASA and AU/ACCC"
    )]
    UnknownDisclosureRule {
        /// The rule's position in `disclosure`.
        index: usize,
        /// The region as given.
        region: String,
        /// The rule as given.
        rule: String,
    },
    /// The same (region, rule) pair is listed twice.
    #[error("disclosure {index}: {region}/{rule} is listed more than once")]
    DuplicateDisclosureRule {
        /// The position of the second occurrence in `disclosure`.
        index: usize,
        /// The region.
        region: String,
        /// The rule.
        rule: String,
    },
    /// A disclosure label is empty or has surrounding whitespace.
    #[error(
        "disclosure {index}: label {label:?} must be non-empty and without surrounding spaces"
    )]
    BadLabel {
        /// The rule's position in `disclosure`.
        index: usize,
        /// The label as given.
        label: String,
    },
    /// The morality clause is empty or only whitespace.
    #[error("morality_clause must not be empty")]
    EmptyMoralityClause,
    /// A clause is present but states nothing.
    #[error("{clause} states nothing: give at least one of {fields}, or leave {clause} out")]
    EmptyClause {
        /// The clause, e.g. `"payment_terms"`.
        clause: &'static str,
        /// Its optional fields.
        fields: &'static str,
    },
    /// A text is empty or only whitespace.
    #[error("{field} must not be empty (leave an optional field out instead)")]
    EmptyText {
        /// Where, e.g. `"additional_clauses[2].title"`.
        field: String,
    },
    /// A text is longer than its bound.
    #[error("{field} is {chars} characters long; at most {max} are allowed")]
    TextTooLong {
        /// Where, e.g. `"governing_law.venue"`.
        field: String,
        /// The bound.
        max: usize,
        /// The text's length in characters.
        chars: usize,
    },
    /// A list has more items than its bound.
    #[error("{field} has {count} items; at most {max} are allowed")]
    TooManyItems {
        /// Where, e.g. `"additional_clauses"`.
        field: String,
        /// The bound.
        max: usize,
        /// How many were given.
        count: usize,
    },
    /// A number is outside its range.
    #[error("{field} is {value}; it must be between {min} and {max}")]
    OutOfRange {
        /// Where, e.g. `"confidentiality.duration_days"`.
        field: String,
        /// The number given.
        value: u32,
        /// The least allowed.
        min: u32,
        /// The most allowed.
        max: u32,
    },
    /// The JSON value cannot be put in RFC 8785 form.
    #[error("the document cannot be canonicalized (RFC 8785): {0}")]
    Canonicalization(String),
}

impl TermsError {
    /// A stable, machine-readable code for the error, e.g. `"terms_no_deliverables"`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "terms_malformed",
            Self::NoDeliverables => "terms_no_deliverables",
            Self::BadPlatform { .. } => "terms_bad_platform",
            Self::EmptyDeliverableField { .. } => "terms_empty_deliverable_field",
            Self::MilestoneOutOfRange { .. } => "terms_milestone_out_of_range",
            Self::EmptyUsageScope => "terms_empty_usage_scope",
            Self::BadTerritories => "terms_bad_territories",
            Self::EmptyExclusivityCategory => "terms_empty_exclusivity_category",
            Self::ZeroExclusivityDuration => "terms_zero_exclusivity_duration",
            Self::NoDisclosure => "terms_no_disclosure",
            Self::UnknownDisclosureRule { .. } => "terms_unknown_disclosure_rule",
            Self::DuplicateDisclosureRule { .. } => "terms_duplicate_disclosure_rule",
            Self::BadLabel { .. } => "terms_bad_label",
            Self::EmptyMoralityClause => "terms_empty_morality_clause",
            Self::EmptyClause { .. } => "terms_empty_clause",
            Self::EmptyText { .. } => "terms_empty_text",
            Self::TextTooLong { .. } => "terms_text_too_long",
            Self::TooManyItems { .. } => "terms_too_many_items",
            Self::OutOfRange { .. } => "terms_out_of_range",
            Self::Canonicalization(_) => "terms_not_canonicalizable",
        }
    }
}

impl TermsDocument {
    /// Reads a terms document out of the JSON the parties submitted. Unknown fields are refused;
    /// the error names where the problem is (`ai_use.generated_content: unknown variant …`).
    /// This checks the shape only; call [`TermsDocument::validate`] for the content.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self, TermsError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            TermsError::Malformed(if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            })
        })
    }

    /// Checks the content for an agreement with `milestone_count` milestones, returning the first
    /// problem found.
    pub fn validate(&self, milestone_count: usize) -> Result<(), TermsError> {
        if self.deliverables.is_empty() {
            return Err(TermsError::NoDeliverables);
        }
        clauses::count("deliverables", self.deliverables.len(), MAX_DELIVERABLES)?;
        for (index, d) in self.deliverables.iter().enumerate() {
            let platform = &d.platform;
            if platform.is_empty()
                || platform.trim() != platform
                || platform.to_lowercase() != *platform
            {
                return Err(TermsError::BadPlatform { index, platform: platform.clone() });
            }
            if d.format.trim().is_empty() {
                return Err(TermsError::EmptyDeliverableField { index, field: "format" });
            }
            if d.description.trim().is_empty() {
                return Err(TermsError::EmptyDeliverableField { index, field: "description" });
            }
            if usize::try_from(d.milestone).map_or(true, |m| m >= milestone_count) {
                return Err(TermsError::MilestoneOutOfRange {
                    index,
                    milestone: d.milestone,
                    milestone_count,
                });
            }
            let at = |f: &str| format!("deliverables[{index}].{f}");
            clauses::text(|| at("platform"), platform, MAX_NAME_CHARS)?;
            clauses::text(|| at("format"), &d.format, MAX_NAME_CHARS)?;
            clauses::text(|| at("description"), &d.description, MAX_TEXT_CHARS)?;
        }

        if self.usage_rights.scope.trim().is_empty() {
            return Err(TermsError::EmptyUsageScope);
        }
        if self.usage_rights.territories.is_empty()
            || self.usage_rights.territories.iter().any(|t| t.trim().is_empty())
        {
            return Err(TermsError::BadTerritories);
        }
        clauses::text(
            || "usage_rights.scope".to_owned(),
            &self.usage_rights.scope,
            MAX_TEXT_CHARS,
        )?;
        clauses::names("usage_rights.territories", &self.usage_rights.territories)?;

        if let Some(ex) = &self.exclusivity {
            if ex.category.trim().is_empty() {
                return Err(TermsError::EmptyExclusivityCategory);
            }
            if ex.duration_days == 0 {
                return Err(TermsError::ZeroExclusivityDuration);
            }
            clauses::text(|| "exclusivity.category".to_owned(), &ex.category, MAX_NAME_CHARS)?;
        }

        if self.disclosure.is_empty() {
            return Err(TermsError::NoDisclosure);
        }
        for (index, rule) in self.disclosure.iter().enumerate() {
            let pair = (rule.region.as_str(), rule.rule.as_str());
            if !KNOWN_DISCLOSURE_RULES.contains(&pair) {
                return Err(TermsError::UnknownDisclosureRule {
                    index,
                    region: rule.region.clone(),
                    rule: rule.rule.clone(),
                });
            }
            if self.disclosure[..index]
                .iter()
                .any(|r| r.region == rule.region && r.rule == rule.rule)
            {
                return Err(TermsError::DuplicateDisclosureRule {
                    index,
                    region: rule.region.clone(),
                    rule: rule.rule.clone(),
                });
            }
            if let Some(label) =
                rule.required_labels.iter().find(|l| l.is_empty() || l.trim() != l.as_str())
            {
                return Err(TermsError::BadLabel { index, label: label.clone() });
            }
            clauses::names(&format!("disclosure[{index}].required_labels"), &rule.required_labels)?;
        }

        if self.morality_clause.trim().is_empty() {
            return Err(TermsError::EmptyMoralityClause);
        }
        clauses::text(|| "morality_clause".to_owned(), &self.morality_clause, MAX_TEXT_CHARS)?;

        if let Some(c) = &self.payment_terms {
            c.validate()?;
        }
        if let Some(c) = &self.content_approval {
            c.validate()?;
        }
        if let Some(c) = &self.intellectual_property {
            c.validate()?;
        }
        if let Some(c) = &self.confidentiality {
            c.validate()?;
        }
        if let Some(c) = &self.data_privacy {
            c.validate()?;
        }
        if let Some(c) = &self.ai_use {
            c.validate()?;
        }
        if let Some(c) = &self.governing_law {
            c.validate()?;
        }
        clauses::validate_additional(&self.additional_clauses)
    }
}

/// The RFC 8785 (JSON Canonicalization Scheme) form of `value`: object keys sorted by UTF-16 code
/// units, no whitespace, numbers in ECMAScript form, minimal string escaping.
pub fn canonical_json(value: &serde_json::Value) -> Result<String, TermsError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| TermsError::Canonicalization(e.to_string()))
}

/// The terms hash the agreement commits to: keccak-256 of the UTF-8 bytes of
/// [`canonical_json`]`(value)`.
pub fn terms_hash(value: &serde_json::Value) -> Result<B256, TermsError> {
    canonical_json(value).map(|json| keccak256(json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::b256;
    use serde_json::{json, Value};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("test JSON parses")
    }

    fn canon(text: &str) -> String {
        canonical_json(&parse(text)).expect("canonicalizes")
    }

    #[test]
    fn rfc8785_section_3_2_2_example() {
        // RFC 8785 §3.2.2: the input, and the output of §3.2.3 ("Sorting of object properties"
        // aside, which this example also exercises).
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_number_formatting() {
        assert_eq!(
            canon(
                r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]}"#
            ),
            r#"{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}"#
        );
        // RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript form. The expected
        // strings were cross-checked with node's `JSON.stringify`.
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in cases {
            let n = serde_json::Number::from_f64(f64::from_bits(bits)).expect("finite");
            assert_eq!(canonical_json(&Value::Number(n)).expect("number"), expected, "{bits:#x}");
        }
        // Integers are doubles too.
        assert_eq!(canonical_json(&json!(u64::MAX)).expect("u64"), "18446744073709552000");
        assert_eq!(canon("[1.0, -0.0, 100, 1e2]"), "[1,0,100,100]");
    }

    #[test]
    fn rfc8785_string_escaping() {
        assert_eq!(
            canon(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#),
            r#""€$\u000f\nA'B\"\\\\\"/""#
        );
        // Control characters use the short escapes where JSON has them, \u00xx otherwise;
        // everything else (DEL, non-ASCII, U+2028) is written as is.
        assert_eq!(
            canon(r#""\b\f\n\r\t\u0000\u001f\u007f\u00e9\u2028""#),
            "\"\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}é\u{2028}\""
        );
    }

    #[test]
    fn rfc8785_key_order_is_utf16() {
        // RFC 8785 §3.2.3: sorting by UTF-16 code units puts U+1F600 (a surrogate pair starting
        // 0xD83D) before U+FB33, unlike sorting by code points or UTF-8 bytes.
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        assert_eq!(
            canon(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
             \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        // Nested objects are sorted too; arrays keep their order.
        assert_eq!(
            canon(r#"{"b":{"z":1,"a":[3,1,2]},"a":true}"#),
            r#"{"a":true,"b":{"a":[3,1,2],"z":1}}"#
        );
    }

    const SAMPLE: &str = r##"{
      "deliverables": [
        {"platform": "instagram", "format": "reel", "description": "30-second unboxing of the Trail 2 shoe", "milestone": 0},
        {"platform": "youtube", "format": "video", "description": "Long-form review, product shown for at least 2 minutes", "milestone": 1}
      ],
      "usage_rights": {"scope": "organic and paid social", "duration_days": 90, "territories": ["US", "UK"]},
      "exclusivity": {"category": "running shoes", "duration_days": 30},
      "disclosure": [
        {"region": "US", "rule": "FTC", "required_labels": ["#ad", "#sponsored"]},
        {"region": "UK", "rule": "ASA", "required_labels": []}
      ],
      "morality_clause": "Either party may terminate if the other brings it into public disrepute."
    }"##;

    /// The same document as [`SAMPLE`]: keys in another order, other whitespace, and `\u`
    /// escapes for some plain characters.
    const SAMPLE_REORDERED: &str = "{\"morality_clause\":\"Either party may terminate if the other \
        brings it into public disrepute.\",\"disclosure\":[{\"required_labels\":[\"#ad\",\
        \"#sponsored\"],\"rule\":\"FTC\",\"region\":\"US\"},{\"required_labels\":[],\"region\":\
        \"UK\",\"rule\":\"ASA\"}],\n\n\t\"exclusivity\" : {\"duration_days\":30,\"category\":\
        \"running sh\\u006fes\"},\"usage_rights\":{\"territories\":[\"US\",\"UK\"],\"duration_days\":\
        90,\"scope\":\"organic and paid social\"},\"deliverables\":[{\"milestone\":0,\
        \"description\":\"30-second unboxing of the Trail 2 shoe\",\"format\":\"reel\",\
        \"platform\":\"instagram\"},{\"milestone\":1,\"platform\":\"youtube\",\"format\":\
        \"video\",\"description\":\"Long-form review, product shown for at least 2 minutes\"}]}";

    /// The canonical form of [`SAMPLE`]; computed once, checked with an independent
    /// implementation (a JavaScript `JSON.stringify` with sorted keys), then written down.
    const SAMPLE_CANONICAL: &str = r##"{"deliverables":[{"description":"30-second unboxing of the Trail 2 shoe","format":"reel","milestone":0,"platform":"instagram"},{"description":"Long-form review, product shown for at least 2 minutes","format":"video","milestone":1,"platform":"youtube"}],"disclosure":[{"region":"US","required_labels":["#ad","#sponsored"],"rule":"FTC"},{"region":"UK","required_labels":[],"rule":"ASA"}],"exclusivity":{"category":"running shoes","duration_days":30},"morality_clause":"Either party may terminate if the other brings it into public disrepute.","usage_rights":{"duration_days":90,"scope":"organic and paid social","territories":["US","UK"]}}"##;

    /// keccak-256 of [`SAMPLE_CANONICAL`], checked with pycryptodome's keccak. If this test
    /// fails, canonicalization changed and every stored terms hash with it.
    const SAMPLE_HASH: B256 =
        b256!("0x3c941d0aba5ef72512c80a0c3d60df5971dd55f830cd852e5e8a2c1f51aedd66");

    #[test]
    fn sample_hash_is_fixed_and_order_independent() {
        let a = parse(SAMPLE);
        let b = parse(SAMPLE_REORDERED);
        assert_eq!(canonical_json(&a).expect("a"), SAMPLE_CANONICAL);
        assert_eq!(canonical_json(&b).expect("b"), SAMPLE_CANONICAL);
        assert_eq!(terms_hash(&a).expect("a"), SAMPLE_HASH);
        assert_eq!(terms_hash(&b).expect("b"), SAMPLE_HASH);
        assert_eq!(keccak256(SAMPLE_CANONICAL), SAMPLE_HASH);
        // RFC 8785 numbers are doubles: 9e1 and 90.0 are 90. (`TermsDocument` itself refuses
        // them for its u32 fields; the hash is over the JSON as submitted.)
        let mut n = parse(SAMPLE);
        n["usage_rights"]["duration_days"] = parse("9e1");
        n["exclusivity"]["duration_days"] = parse("30.0");
        assert_eq!(terms_hash(&n).expect("n"), SAMPLE_HASH);
        // A one-character change changes the hash.
        let mut c = a.clone();
        c["usage_rights"]["duration_days"] = json!(91);
        assert_ne!(terms_hash(&c).expect("c"), SAMPLE_HASH);
    }

    fn sample_doc() -> TermsDocument {
        TermsDocument::from_json_value(&parse(SAMPLE)).expect("sample is a terms document")
    }

    #[test]
    fn sample_is_valid_and_round_trips() {
        let doc = sample_doc();
        doc.validate(2).expect("valid with two milestones");
        assert_eq!(doc.deliverables.len(), 2);
        assert_eq!(doc.disclosure[1].required_labels, Vec::<String>::new());
        let back = serde_json::to_value(&doc).expect("serializes");
        assert_eq!(terms_hash(&back).expect("hash"), SAMPLE_HASH);
        let reordered =
            TermsDocument::from_json_value(&parse(SAMPLE_REORDERED)).expect("reordered parses");
        assert_eq!(reordered, doc);
    }

    #[test]
    fn shape_errors() {
        let mut v = parse(SAMPLE);
        v["surprise"] = json!(1);
        let err = TermsDocument::from_json_value(&v).expect_err("unknown top-level field");
        assert_eq!(err.code(), "terms_malformed");
        assert!(err.to_string().contains("surprise"), "{err}");

        let mut v = parse(SAMPLE);
        v["deliverables"][0]["colour"] = json!("red");
        assert_eq!(
            TermsDocument::from_json_value(&v).expect_err("nested").code(),
            "terms_malformed"
        );

        let mut v = parse(SAMPLE);
        v.as_object_mut().expect("object").remove("morality_clause");
        assert_eq!(
            TermsDocument::from_json_value(&v).expect_err("missing").code(),
            "terms_malformed"
        );

        let mut v = parse(SAMPLE);
        v["deliverables"][0]["milestone"] = json!(-1);
        assert_eq!(
            TermsDocument::from_json_value(&v).expect_err("negative").code(),
            "terms_malformed"
        );

        // Exclusivity may be absent or null; required_labels may be absent.
        let mut v = parse(SAMPLE);
        v["exclusivity"] = Value::Null;
        v["disclosure"][1].as_object_mut().expect("object").remove("required_labels");
        let doc = TermsDocument::from_json_value(&v).expect("optional fields");
        assert_eq!(doc.exclusivity, None);
        doc.validate(2).expect("still valid");
    }

    fn code_after(milestones: usize, edit: impl FnOnce(&mut TermsDocument)) -> &'static str {
        let mut doc = sample_doc();
        edit(&mut doc);
        doc.validate(milestones).expect_err("should be refused").code()
    }

    #[test]
    fn validation_errors_have_specific_codes() {
        assert_eq!(code_after(2, |d| d.deliverables.clear()), "terms_no_deliverables");
        assert_eq!(code_after(1, |_| {}), "terms_milestone_out_of_range");
        assert_eq!(code_after(0, |_| {}), "terms_milestone_out_of_range");
        assert_eq!(
            code_after(2, |d| d.deliverables[0].platform = "Instagram".into()),
            "terms_bad_platform"
        );
        assert_eq!(
            code_after(2, |d| d.deliverables[0].platform = " tiktok".into()),
            "terms_bad_platform"
        );
        assert_eq!(code_after(2, |d| d.deliverables[1].platform.clear()), "terms_bad_platform");
        assert_eq!(
            code_after(2, |d| d.deliverables[0].format = "  ".into()),
            "terms_empty_deliverable_field"
        );
        assert_eq!(
            code_after(2, |d| d.deliverables[0].description.clear()),
            "terms_empty_deliverable_field"
        );
        assert_eq!(code_after(2, |d| d.usage_rights.scope.clear()), "terms_empty_usage_scope");
        assert_eq!(code_after(2, |d| d.usage_rights.territories.clear()), "terms_bad_territories");
        assert_eq!(
            code_after(2, |d| d.usage_rights.territories.push(" ".into())),
            "terms_bad_territories"
        );
        assert_eq!(
            code_after(2, |d| {
                if let Some(ex) = d.exclusivity.as_mut() {
                    ex.category.clear();
                }
            }),
            "terms_empty_exclusivity_category"
        );
        assert_eq!(
            code_after(2, |d| {
                if let Some(ex) = d.exclusivity.as_mut() {
                    ex.duration_days = 0;
                }
            }),
            "terms_zero_exclusivity_duration"
        );
        assert_eq!(code_after(2, |d| d.disclosure.clear()), "terms_no_disclosure");
        assert_eq!(
            code_after(2, |d| d.disclosure[0].rule = "ASA".into()),
            "terms_unknown_disclosure_rule"
        );
        assert_eq!(
            code_after(2, |d| d.disclosure[0].region = "us".into()),
            "terms_unknown_disclosure_rule"
        );
        assert_eq!(
            code_after(2, |d| d.disclosure.push(d.disclosure[0].clone())),
            "terms_duplicate_disclosure_rule"
        );
        assert_eq!(
            code_after(2, |d| d.disclosure[0].required_labels.push("#ad ".into())),
            "terms_bad_label"
        );
        assert_eq!(
            code_after(2, |d| d.disclosure[0].required_labels.push(String::new())),
            "terms_bad_label"
        );
        assert_eq!(
            code_after(2, |d| d.morality_clause = " \n".into()),
            "terms_empty_morality_clause"
        );
    }

    /// [`SAMPLE`] with every clause beyond the original five.
    fn with_clauses() -> Value {
        let mut v = parse(SAMPLE);
        let clauses = json!({
            "payment_terms": {"fee": "USD 400 in total", "schedule": "per milestone"},
            "content_approval": {"rounds": 2, "turnaround_days": 3},
            "intellectual_property": {"owner": "brand", "territories": ["worldwide"]},
            "confidentiality": {"scope": "the fee"},
            "data_privacy": {"duties": "no audience data shared", "regulations": ["GDPR"]},
            "ai_use": {"generated_content": "not_allowed"},
            "governing_law": {"jurisdiction": "England and Wales"},
            "additional_clauses": [{"title": "Expenses", "text": "The brand pays travel."}]
        });
        for (k, c) in clauses.as_object().expect("object") {
            v[k] = c.clone();
        }
        v
    }

    /// The error `edit` of [`with_clauses`] gets, from reading or from validation.
    fn clause_error(edit: impl FnOnce(&mut Value)) -> TermsError {
        let mut v = with_clauses();
        edit(&mut v);
        match TermsDocument::from_json_value(&v) {
            Ok(doc) => doc.validate(2).expect_err("should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn clauses_are_optional_and_bounded() {
        let doc = TermsDocument::from_json_value(&with_clauses()).expect("parses");
        doc.validate(2).expect("valid");
        assert_eq!(doc.ai_use.map(|a| a.generated_content), Some(GeneratedContent::NotAllowed));
        // Null is the same as absent; an empty list of additional clauses is fine.
        let mut v = with_clauses();
        v["payment_terms"] = Value::Null;
        v["additional_clauses"] = json!([]);
        TermsDocument::from_json_value(&v).expect("null and empty").validate(2).expect("valid");

        let long = "x".repeat(clauses::MAX_TEXT_CHARS + 1);
        let cases: Vec<(TermsError, &str, &str)> = vec![
            (
                clause_error(|v| v["payment_terms"] = json!({})),
                "terms_empty_clause",
                "payment_terms states nothing: give at least one of fee, currency, schedule, \
                 late_payment, or leave payment_terms out",
            ),
            (
                clause_error(|v| v["content_approval"] = json!({})),
                "terms_empty_clause",
                "content_approval states nothing",
            ),
            (
                clause_error(|v| v["payment_terms"]["schedule"] = json!("  ")),
                "terms_empty_text",
                "payment_terms.schedule must not be empty",
            ),
            (
                clause_error(|v| v["governing_law"]["dispute_resolution"] = json!(long.clone())),
                "terms_text_too_long",
                "governing_law.dispute_resolution is 4001 characters long; at most 4000",
            ),
            (
                // Characters, not bytes: 4,000 two-byte characters fit.
                clause_error(|v| {
                    v["confidentiality"]["scope"] = json!("é".repeat(clauses::MAX_TEXT_CHARS));
                    v["additional_clauses"][0]["title"] = json!("t".repeat(201));
                }),
                "terms_text_too_long",
                "additional_clauses[0].title is 201 characters long; at most 200",
            ),
            (
                clause_error(|v| v["additional_clauses"][0]["text"] = json!("")),
                "terms_empty_text",
                "additional_clauses[0].text must not be empty",
            ),
            (
                clause_error(|v| {
                    v["additional_clauses"] = json!(vec![json!({"title": "t", "text": "x"}); 51])
                }),
                "terms_too_many_items",
                "additional_clauses has 51 items; at most 50 are allowed",
            ),
            (
                clause_error(|v| v["data_privacy"]["regulations"] = json!(vec!["GDPR"; 51])),
                "terms_too_many_items",
                "data_privacy.regulations has 51 items",
            ),
            (
                clause_error(|v| v["intellectual_property"]["territories"] = json!(["US", " "])),
                "terms_empty_text",
                "intellectual_property.territories[1] must not be empty",
            ),
            (
                clause_error(|v| v["content_approval"]["turnaround_days"] = json!(0)),
                "terms_out_of_range",
                "content_approval.turnaround_days is 0; it must be between 1 and 36525",
            ),
            (
                clause_error(|v| v["content_approval"]["rounds"] = json!(21)),
                "terms_out_of_range",
                "content_approval.rounds is 21; it must be between 0 and 20",
            ),
            (
                clause_error(|v| v["confidentiality"]["duration_days"] = json!(0)),
                "terms_out_of_range",
                "confidentiality.duration_days is 0",
            ),
            (
                clause_error(|v| v["morality_clause"] = json!(long.clone())),
                "terms_text_too_long",
                "morality_clause is 4001 characters long",
            ),
            (
                clause_error(|v| v["deliverables"][0]["description"] = json!(long.clone())),
                "terms_text_too_long",
                "deliverables[0].description is 4001 characters long",
            ),
            // Shape errors name the field too.
            (
                clause_error(|v| v["ai_use"]["generated_content"] = json!("sometimes")),
                "terms_malformed",
                "not a terms document: ai_use.generated_content: unknown variant `sometimes`",
            ),
            (
                clause_error(|v| v["intellectual_property"]["owner"] = json!("agency")),
                "terms_malformed",
                "intellectual_property.owner: unknown variant `agency`",
            ),
            (
                clause_error(|v| v["additional_clauses"][0]["body"] = json!("x")),
                "terms_malformed",
                "additional_clauses[0].body: unknown field `body`",
            ),
            (
                clause_error(|v| v["confidentiality"] = json!({"duration_days": 30})),
                "terms_malformed",
                "confidentiality: missing field `scope`",
            ),
            (
                clause_error(|v| v["governing_law"] = json!("New York")),
                "terms_malformed",
                "governing_law: invalid type: string",
            ),
            (
                clause_error(|v| v["fee"] = json!("USD 400")),
                "terms_malformed",
                "unknown field `fee`",
            ),
        ];
        for (err, code, message) in cases {
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().contains(message), "{err:?} does not say {message:?}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let mut doc = sample_doc();
        doc.deliverables[1].milestone = 7;
        let err = doc.validate(2).expect_err("out of range");
        assert_eq!(
            err.to_string(),
            "deliverable 1: milestone 7 is out of range; the agreement has 2 milestone(s)"
        );
        assert_eq!(
            err,
            TermsError::MilestoneOutOfRange { index: 1, milestone: 7, milestone_count: 2 }
        );
    }
}
