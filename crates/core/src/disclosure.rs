//! Does a deliverable's caption carry the disclosure its terms require?
//!
//! Each rule of the terms (a region and its regulator) is met when the caption contains one of the
//! rule's labels as a whole token, case-insensitively (`#ad` is not found in `#adventure`), or the
//! platform's own paid-partnership label. When a rule lists no labels, its regulator's defaults
//! apply:
//!
//! | regulator | default labels |
//! | --- | --- |
//! | FTC (US) | `#ad`, `#sponsored`, `#paidpartnership` |
//! | ASA (UK) | `#ad`, `ad:` |
//! | ACCC (AU) | `#ad`, `#sponsored`, `#advertisement` |
//!
//! On Instagram the disclosure must be seen before "more" (the FTC and ASA ask for it up front):
//! a label found only after the first [`INSTAGRAM_FOLD`] characters passes with a warning.

use serde::Serialize;

use crate::terms::DisclosureRule;

/// Characters of an Instagram caption shown before "more".
pub const INSTAGRAM_FOLD: usize = 125;

/// The platform's built-in paid-partnership label, as it appears in caption text.
fn platform_label(platform: &str) -> Option<&'static str> {
    match platform.to_ascii_lowercase().as_str() {
        "instagram" | "facebook" | "threads" => Some("paid partnership"),
        "youtube" => Some("includes paid promotion"),
        "tiktok" => Some("paid partnership"),
        _ => None,
    }
}

fn default_labels(rule: &str) -> &'static [&'static str] {
    match rule.to_ascii_uppercase().as_str() {
        "FTC" => &["#ad", "#sponsored", "#paidpartnership"],
        "ASA" => &["#ad", "ad:"],
        "ACCC" => &["#ad", "#sponsored", "#advertisement"],
        _ => &["#ad"],
    }
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleResult {
    /// The region.
    pub region: String,
    /// The regulator.
    pub rule: String,
    /// Whether the caption meets it.
    pub ok: bool,
    /// The label found, if any.
    pub found: Option<String>,
    /// The labels any one of which would meet it.
    pub accepted: Vec<String>,
}

/// The outcome for a caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosureReport {
    /// Whether every rule is met.
    pub ok: bool,
    /// Per rule.
    pub rules: Vec<RuleResult>,
    /// Warnings that do not fail the check (e.g. a disclosure below Instagram's fold).
    pub warnings: Vec<String>,
}

impl DisclosureReport {
    /// One line for people: what is missing.
    pub fn summary(&self) -> String {
        let missing: Vec<String> = self
            .rules
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{} ({}) needs one of {}", r.region, r.rule, r.accepted.join(", ")))
            .collect();
        if missing.is_empty() {
            "every disclosure rule is met".to_owned()
        } else {
            missing.join("; ")
        }
    }
}

/// Where `label` occurs in `caption` as a whole token (case-insensitive), by character offset.
fn find_token(caption: &str, label: &str) -> Option<usize> {
    let hay = caption.to_lowercase();
    let needle = label.to_lowercase();
    if needle.is_empty() {
        return None;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        // A token boundary on each side, where the label itself is a word character there.
        let left_ok = !needle.starts_with(is_word) || before.is_none_or(|c| !is_word(c));
        let left_ok = left_ok && before != Some('#');
        let right_ok = !needle.ends_with(is_word) || after.is_none_or(|c| !is_word(c));
        if left_ok && right_ok {
            return Some(hay[..start].chars().count());
        }
        from = start + needle.len().max(1);
    }
    None
}

/// Checks `caption` (for `platform`) against the terms' disclosure rules.
pub fn check_caption(caption: &str, platform: &str, rules: &[DisclosureRule]) -> DisclosureReport {
    let native = platform_label(platform);
    let instagram = platform.eq_ignore_ascii_case("instagram");
    let mut warnings = Vec::new();
    let results: Vec<RuleResult> = rules
        .iter()
        .map(|r| {
            let mut accepted: Vec<String> = if r.required_labels.is_empty() {
                default_labels(&r.rule).iter().map(|s| (*s).to_owned()).collect()
            } else {
                r.required_labels.clone()
            };
            if let Some(n) = native {
                accepted.push(n.to_owned());
            }
            let hit = accepted.iter().filter_map(|l| find_token(caption, l).map(|at| (at, l))).min();
            if let Some((at, label)) = hit {
                if instagram && at >= INSTAGRAM_FOLD {
                    warnings.push(format!(
                        "{label:?} appears after character {INSTAGRAM_FOLD}, below Instagram's fold; put it up front"
                    ));
                }
            }
            RuleResult {
                region: r.region.clone(),
                rule: r.rule.clone(),
                ok: hit.is_some(),
                found: hit.map(|(_, l)| l.clone()),
                accepted,
            }
        })
        .collect();
    warnings.dedup();
    DisclosureReport { ok: results.iter().all(|r| r.ok), rules: results, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(region: &str, rule: &str, labels: &[&str]) -> DisclosureRule {
        DisclosureRule {
            region: region.into(),
            rule: rule.into(),
            required_labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_required_label_passes_and_its_absence_fails() {
        let rules = [rule("US", "FTC", &["#ad", "#sponsored"])];
        assert!(check_caption("New shoes! #ad", "tiktok", &rules).ok);
        assert!(check_caption("#Sponsored by Acme", "x", &rules).ok, "case-insensitive");
        let r = check_caption("New shoes, love them", "x", &rules);
        assert!(!r.ok);
        assert!(r.summary().contains("US (FTC) needs one of #ad, #sponsored"));
    }

    #[test]
    fn labels_match_whole_tokens_only() {
        let rules = [rule("US", "FTC", &["#ad"])];
        for caption in ["#adventure time", "so #bad", "##adx", "#ads"] {
            assert!(!check_caption(caption, "x", &rules).ok, "{caption}");
        }
        for caption in ["#ad", "(#ad)", "great run #ad.", "#AD #fit"] {
            assert!(check_caption(caption, "x", &rules).ok, "{caption}");
        }
    }

    #[test]
    fn the_platform_label_counts() {
        let rules = [rule("US", "FTC", &["#ad"])];
        assert!(check_caption("Paid partnership with Acme", "instagram", &rules).ok);
        assert!(check_caption("Includes paid promotion", "youtube", &rules).ok);
        assert!(!check_caption("Includes paid promotion", "x", &rules).ok);
    }

    #[test]
    fn every_region_must_be_met_and_defaults_apply() {
        let rules = [rule("US", "FTC", &["#sponsored"]), rule("UK", "ASA", &[])];
        let r = check_caption("#sponsored trail run", "x", &rules);
        assert!(!r.ok);
        assert!(r.rules[0].ok && !r.rules[1].ok);
        assert_eq!(r.rules[1].accepted, ["#ad", "ad:"]);
        assert!(check_caption("#sponsored Ad: trail run", "x", &rules).ok);
        assert!(check_caption("#sponsored trail run #ad", "x", &rules).ok);
    }

    #[test]
    fn below_the_instagram_fold_warns() {
        let rules = [rule("US", "FTC", &["#ad"])];
        let late = format!("{} #ad", "a".repeat(130));
        let r = check_caption(&late, "instagram", &rules);
        assert!(r.ok);
        assert_eq!(r.warnings.len(), 1);
        assert!(check_caption(&format!("#ad {}", "a".repeat(130)), "instagram", &rules)
            .warnings
            .is_empty());
        assert!(check_caption(&late, "youtube", &rules).warnings.is_empty());
    }
}
