//! The clauses of a terms document beyond deliverables, usage rights, exclusivity, disclosure and
//! the morality clause: payment terms, content approval, intellectual property, confidentiality,
//! data privacy, AI use, governing law, and any number of titled additional clauses.
//!
//! Real partnership contracts carry these, and a brand must not have to drop one to use Pactum.
//! The common ones are typed (so the web app can say them in plain words and a client can fill
//! them from a form); anything else goes in [`AdditionalClause`]s. All of them are optional and
//! mostly text: the escrow enforces only what is on chain (amounts, token, deadlines, review
//! windows, revision rounds); these clauses are what the parties agreed besides, committed to by
//! the same `termsHash`.
//!
//! Every text has a length bound and every list a count bound ([`MAX_TEXT_CHARS`],
//! [`MAX_NAME_CHARS`], [`MAX_LIST_ITEMS`], [`MAX_ADDITIONAL_CLAUSES`]), so a document stays a
//! contract and not a storage service; the API's request body limit bounds the whole.

use serde::{Deserialize, Serialize};

use super::TermsError;

/// The longest a clause's text may be, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// The longest a short name may be (a title, a territory, a jurisdiction, a regulation, a label).
pub const MAX_NAME_CHARS: usize = 200;
/// The most items a list of names (territories, regulations, labels) may hold.
pub const MAX_LIST_ITEMS: usize = 50;
/// The most [`AdditionalClause`]s a document may carry.
pub const MAX_ADDITIONAL_CLAUSES: usize = 50;
/// The most rounds of pre-publication feedback [`ContentApproval::rounds`] may name.
pub const MAX_APPROVAL_ROUNDS: u32 = 20;
/// The longest a duration in days may be (100 years).
pub const MAX_DAYS: u32 = 36_525;

/// How the fee is described and paid, in words. The amounts, the token and when each milestone
/// pays are on chain in the agreement and are what the escrow pays; this clause only describes
/// them (and anything paid outside the escrow), it cannot change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentTerms {
    /// The fee or compensation, described, e.g. `"USD 400.50 in total, paid per milestone"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
    /// A note on currency, e.g. `"paid in pUSD, a USD stablecoin"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// When payments are made, e.g. `"each milestone on approval, through the escrow"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// What happens when a payment outside the escrow is late.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_payment: Option<String>,
}

/// How content is approved before it is published. The escrow's own review of delivered work
/// (review windows, revision rounds) is on chain and is what the escrow enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContentApproval {
    /// Rounds of feedback on drafts before publication (0 to [`MAX_APPROVAL_ROUNDS`]).
    #[cfg_attr(feature = "openapi", schema(maximum = 20))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Days the brand has to give feedback on a draft (1 to [`MAX_DAYS`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 36525))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnaround_days: Option<u32>,
    /// The approval process, in words.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// Who owns the content once made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContentOwner {
    /// The creator keeps ownership and licenses the brand.
    Creator,
    /// Ownership passes to the brand.
    Brand,
    /// Both own it jointly.
    Joint,
}

/// Ownership of the content and the licence granted over it (beyond [`super::UsageRights`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntellectualProperty {
    /// Who owns the content.
    pub owner: ContentOwner,
    /// What the licence allows, e.g. `"edit and re-cut for paid ads"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_scope: Option<String>,
    /// How long the licence lasts, in words, e.g. `"2 years from publication"`, `"perpetual"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_term: Option<String>,
    /// Where the licence applies; empty or absent: not stated.
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<String>,
    /// Whether the licence is exclusive; absent: not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<bool>,
}

/// What the parties keep confidential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Confidentiality {
    /// What is confidential, e.g. `"the fee and unreleased products"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub scope: String,
    /// For how many days (1 to [`MAX_DAYS`]); absent: no end stated.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 36525))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<u32>,
}

/// Duties towards personal data (the audience's, the parties').
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DataPrivacy {
    /// The duties, in words.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub duties: String,
    /// The laws they follow, e.g. `["GDPR", "CCPA"]`.
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regulations: Vec<String>,
}

/// Whether the deliverables may contain AI-generated content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GeneratedContent {
    /// No AI-generated content.
    NotAllowed,
    /// Allowed, and it must be disclosed as such.
    AllowedWithDisclosure,
    /// Allowed without a special label.
    Allowed,
}

/// The AI-use clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AiUse {
    /// Whether AI-generated content is allowed, and disclosed.
    pub generated_content: GeneratedContent,
    /// Anything more, e.g. which tools, or that voices and faces may not be synthesised.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Which law governs the agreement and where disputes go (the escrow's arbiter, if named, rules
/// on the escrowed money either way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoverningLaw {
    /// The governing law, e.g. `"State of New York, USA"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub jurisdiction: String,
    /// The courts or seat, e.g. `"courts of New York County"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// How disputes are resolved, in words, e.g. `"mediation, then arbitration under …"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_resolution: Option<String>,
}

/// Any other clause, carried as its title and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdditionalClause {
    /// The clause's title, e.g. `"Travel and expenses"`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// The clause.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub text: String,
}

/// A non-blank text of at most `max` characters.
pub(super) fn text(
    field: impl FnOnce() -> String,
    value: &str,
    max: usize,
) -> Result<(), TermsError> {
    if value.trim().is_empty() {
        return Err(TermsError::EmptyText { field: field() });
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(TermsError::TextTooLong { field: field(), max, chars });
    }
    Ok(())
}

/// An optional text: absent, or non-blank and at most [`MAX_TEXT_CHARS`].
fn opt_text(field: &str, value: Option<&String>) -> Result<(), TermsError> {
    value.map_or(Ok(()), |v| text(|| field.to_owned(), v, MAX_TEXT_CHARS))
}

/// A list of at most [`MAX_LIST_ITEMS`] non-blank names.
pub(super) fn names(field: &str, values: &[String]) -> Result<(), TermsError> {
    count(field, values.len(), MAX_LIST_ITEMS)?;
    for (i, v) in values.iter().enumerate() {
        text(|| format!("{field}[{i}]"), v, MAX_NAME_CHARS)?;
    }
    Ok(())
}

/// At most `max` items.
pub(super) fn count(field: &str, count: usize, max: usize) -> Result<(), TermsError> {
    if count > max {
        return Err(TermsError::TooManyItems { field: field.to_owned(), max, count });
    }
    Ok(())
}

/// A number in `min..=max`.
fn range(field: &str, value: u32, min: u32, max: u32) -> Result<(), TermsError> {
    if !(min..=max).contains(&value) {
        return Err(TermsError::OutOfRange { field: field.to_owned(), value, min, max });
    }
    Ok(())
}

fn not_empty(clause: &'static str, fields: &'static str, any: bool) -> Result<(), TermsError> {
    if any {
        Ok(())
    } else {
        Err(TermsError::EmptyClause { clause, fields })
    }
}

impl PaymentTerms {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        let all = [&self.fee, &self.currency, &self.schedule, &self.late_payment];
        not_empty(
            "payment_terms",
            "fee, currency, schedule, late_payment",
            all.iter().any(|f| f.is_some()),
        )?;
        opt_text("payment_terms.fee", self.fee.as_ref())?;
        opt_text("payment_terms.currency", self.currency.as_ref())?;
        opt_text("payment_terms.schedule", self.schedule.as_ref())?;
        opt_text("payment_terms.late_payment", self.late_payment.as_ref())
    }
}

impl ContentApproval {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        not_empty(
            "content_approval",
            "rounds, turnaround_days, process",
            self.rounds.is_some() || self.turnaround_days.is_some() || self.process.is_some(),
        )?;
        if let Some(r) = self.rounds {
            range("content_approval.rounds", r, 0, MAX_APPROVAL_ROUNDS)?;
        }
        if let Some(d) = self.turnaround_days {
            range("content_approval.turnaround_days", d, 1, MAX_DAYS)?;
        }
        opt_text("content_approval.process", self.process.as_ref())
    }
}

impl IntellectualProperty {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        opt_text("intellectual_property.license_scope", self.license_scope.as_ref())?;
        opt_text("intellectual_property.license_term", self.license_term.as_ref())?;
        names("intellectual_property.territories", &self.territories)
    }
}

impl Confidentiality {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        text(|| "confidentiality.scope".to_owned(), &self.scope, MAX_TEXT_CHARS)?;
        if let Some(d) = self.duration_days {
            range("confidentiality.duration_days", d, 1, MAX_DAYS)?;
        }
        Ok(())
    }
}

impl DataPrivacy {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        text(|| "data_privacy.duties".to_owned(), &self.duties, MAX_TEXT_CHARS)?;
        names("data_privacy.regulations", &self.regulations)
    }
}

impl AiUse {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        opt_text("ai_use.details", self.details.as_ref())
    }
}

impl GoverningLaw {
    pub(super) fn validate(&self) -> Result<(), TermsError> {
        text(|| "governing_law.jurisdiction".to_owned(), &self.jurisdiction, MAX_NAME_CHARS)?;
        opt_text("governing_law.venue", self.venue.as_ref())?;
        opt_text("governing_law.dispute_resolution", self.dispute_resolution.as_ref())
    }
}

/// Checks the additional clauses: at most [`MAX_ADDITIONAL_CLAUSES`], each with a title and a
/// text.
pub(super) fn validate_additional(clauses: &[AdditionalClause]) -> Result<(), TermsError> {
    count("additional_clauses", clauses.len(), MAX_ADDITIONAL_CLAUSES)?;
    for (i, c) in clauses.iter().enumerate() {
        text(|| format!("additional_clauses[{i}].title"), &c.title, MAX_NAME_CHARS)?;
        text(|| format!("additional_clauses[{i}].text"), &c.text, MAX_TEXT_CHARS)?;
    }
    Ok(())
}
