//! A terms document carrying every clause (`fixtures/terms/every-clause.json`: payment terms,
//! content approval, intellectual property, confidentiality, data privacy, AI use, governing
//! law, additional clauses, with non-ASCII text, quotes and a newline) is a valid document, and
//! its hash is the same three ways: this crate's, a fixed value computed once with Python's
//! sorted-key JSON and Foundry's `cast keccak`, and the web app's (`canonicalize` + viem, run by
//! node through `crates/web/e2e/terms-hash.mjs`, the same calls as `termsHash` in
//! `crates/web/app/verify.ts`).

use std::{path::Path, process::Command};

use alloy::primitives::{b256, B256};
use eyre::{ensure, Result, WrapErr};
use pactum_core::terms::{
    canonical_json, terms_hash, ContentOwner, GeneratedContent, TermsDocument,
};
use serde_json::Value;

/// The fixture's hash, computed once outside this crate (see the module docs) and written down:
/// if it changes, canonicalization changed.
const EVERY_CLAUSE_HASH: B256 =
    b256!("0x26b9085010b2e2dee7d9a42c4d310504858d0451711e509d2e11e03f668fc489");

fn fixture() -> Result<(String, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terms/every-clause.json");
    let text = std::fs::read_to_string(&path).wrap_err_with(|| path.display().to_string())?;
    let value = serde_json::from_str(&text)?;
    Ok((path.display().to_string(), value))
}

#[test]
fn every_clause_document_is_valid_and_typed() -> Result<()> {
    let (_, value) = fixture()?;
    let doc = TermsDocument::from_json_value(&value)?;
    doc.validate(2)?;
    assert!(doc.payment_terms.as_ref().and_then(|p| p.late_payment.as_ref()).is_some());
    assert_eq!(doc.content_approval.as_ref().and_then(|c| c.turnaround_days), Some(3));
    let ip = doc.intellectual_property.as_ref().expect("intellectual_property");
    assert_eq!(
        (ip.owner, ip.exclusive, ip.territories.len()),
        (ContentOwner::Creator, Some(false), 3)
    );
    assert_eq!(doc.confidentiality.as_ref().and_then(|c| c.duration_days), Some(365));
    assert_eq!(
        doc.data_privacy.as_ref().map(|d| d.regulations.clone()),
        Some(vec!["GDPR".into(), "CCPA".into()])
    );
    assert_eq!(
        doc.ai_use.as_ref().map(|a| a.generated_content),
        Some(GeneratedContent::AllowedWithDisclosure)
    );
    assert!(doc.governing_law.as_ref().is_some_and(|g| g.venue.is_some()));
    assert_eq!(doc.additional_clauses.len(), 2);
    assert_eq!(doc.additional_clauses[1].title, "Force majeure — Höhere Gewalt");
    // The typed document serializes back to the same JSON: nothing submitted is dropped.
    assert_eq!(serde_json::to_value(&doc)?, value);
    Ok(())
}

#[test]
fn every_clause_hash_is_fixed() -> Result<()> {
    let (_, value) = fixture()?;
    assert_eq!(terms_hash(&value)?, EVERY_CLAUSE_HASH);
    // Any one clause's text changed changes it.
    let mut edited = value.clone();
    edited["additional_clauses"][0]["text"] = "The creator pays their own travel.".into();
    assert_ne!(terms_hash(&edited)?, EVERY_CLAUSE_HASH);
    Ok(())
}

#[test]
fn the_web_app_hashes_every_clause_document_identically() -> Result<()> {
    let (path, value) = fixture()?;
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    ensure!(
        web.join("node_modules/canonicalize").is_dir(),
        "{} has no node_modules: run scripts/web-setup (npm ci in crates/web)",
        web.display()
    );
    let out = Command::new("node")
        .current_dir(&web)
        .args(["e2e/terms-hash.mjs", &path])
        .output()
        .wrap_err("running node (Node.js is needed for the web app)")?;
    ensure!(
        out.status.success(),
        "terms-hash.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(js["canonical"].as_str(), Some(canonical_json(&value)?.as_str()));
    let js_hash: B256 = serde_json::from_value(js["hash"].clone())?;
    assert_eq!(js_hash, terms_hash(&value)?);
    assert_eq!(js_hash, EVERY_CLAUSE_HASH);
    Ok(())
}
