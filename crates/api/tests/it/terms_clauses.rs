//! Terms documents with the clauses real contracts carry (payment terms, content approval,
//! intellectual property, confidentiality, data privacy, AI use, governing law, titled additional
//! clauses): a draft with every one is accepted, comes back as submitted, and its canonical form
//! is what the agreement on chain and the audit bundle commit to; a malformed or over-long clause
//! is refused before anything is stored, with a message naming the field.

use alloy::primitives::{b256, keccak256, B256};
use eyre::Result;
use pactum_core::terms::canonical_json;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{stack, AUDITOR_KEY};

/// The document with every clause, shared with pactum-core's tests (where its hash is checked
/// against the web app's), and that hash.
fn every_clause() -> Result<Value> {
    Ok(serde_json::from_str(include_str!("../../../core/tests/fixtures/terms/every-clause.json"))?)
}
const EVERY_CLAUSE_HASH: B256 =
    b256!("0x26b9085010b2e2dee7d9a42c4d310504858d0451711e509d2e11e03f668fc489");

#[tokio::test(flavor = "multi_thread")]
async fn every_clause_is_accepted_and_committed_to_on_chain() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let doc = every_clause()?;
    let canonical = canonical_json(&doc)?;
    assert_eq!(keccak256(canonical.as_bytes()), EVERY_CLAUSE_HASH);

    let mut body = s.draft_body(["1000000", "2000000"]);
    body["terms"] = doc.clone();
    let (status, d) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(d["version"]["termsHash"], json!(EVERY_CLAUSE_HASH));
    assert_eq!(d["version"]["agreement"]["termsHash"], json!(EVERY_CLAUSE_HASH));

    // Read back by the creator: the document as submitted, every clause in it.
    let (status, shown) = s.get(&format!("/v1/drafts/{id}"), Some(&creator)).await?;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["version"]["terms"], doc);
    assert_eq!(canonical_json(&shown["version"]["terms"])?, canonical);
    assert_eq!(shown["version"]["termsHash"], json!(EVERY_CLAUSE_HASH));
    let (_, td) = s.get(&format!("/v1/drafts/{id}/typed-data"), Some(&creator)).await?;
    assert_eq!(td["typedData"]["message"]["termsHash"], json!(EVERY_CLAUSE_HASH));

    // Both sign, the brand funds: the escrow's agreement commits to the same hash.
    let agreement: B256 = serde_json::from_value(d["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&creator, &s.creator)] {
        let sig = s.sign_digest(key, agreement)?;
        let (status, b) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": sig }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
    let (_, txs) = s.get(&format!("/v1/drafts/{id}/transactions"), Some(&brand)).await?;
    for tx in txs["transactions"].as_array().cloned().unwrap_or_default() {
        s.send(&tx).await?;
    }
    s.index().await?;
    let (status, one) = s.get(&format!("/v1/agreements/{agreement}"), Some(&creator)).await?;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["agreement"]["termsHash"], json!(EVERY_CLAUSE_HASH));
    assert_eq!(one["terms"]["document"], doc);

    // The audit bundle carries the canonical text byte for byte, and it verifies.
    let (status, bundle) =
        s.get(&format!("/v1/agreements/{agreement}/audit-bundle"), Some(AUDITOR_KEY)).await?;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["terms"]["canonical"].as_str(), Some(canonical.as_str()));
    assert_eq!(bundle["terms"]["hash"], json!(EVERY_CLAUSE_HASH));
    let report = s.verify(&bundle).await;
    assert_eq!(report.outcome, pactum_audit::Outcome::Verified, "{report:#?}");

    // The disclosure check still reads the stored document (it has the new clauses).
    let (status, check) = s
        .post(
            &format!("/v1/agreements/{agreement}/caption-check"),
            Some(&creator),
            json!({ "milestone": 0, "caption": "#ad Launch day!" }),
        )
        .await?;
    assert_eq!((status, &check["ok"]), (StatusCode::OK, &json!(true)), "{check}");
    Ok(())
}

/// One refused edit: what it is, the edit to the every-clause document, the code, and words the
/// message must contain.
type Refusal = (&'static str, Box<dyn Fn(&mut Value)>, &'static str, &'static str);

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_oversized_clauses_are_refused_naming_the_field() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let versions_before = s.count("draft_versions").await?;
    let long = "x".repeat(4_001);
    let cases: Vec<Refusal> = vec![
        (
            "an unknown top-level clause",
            Box::new(|t| t["indemnity"] = json!("The creator indemnifies the brand.")),
            "terms_malformed",
            "unknown field `indemnity`",
        ),
        (
            "an additional clause without text",
            Box::new(|t| t["additional_clauses"][1] = json!({ "title": "Expenses" })),
            "terms_malformed",
            "additional_clauses[1]: missing field `text`",
        ),
        (
            "an AI-use value that is not one of the three",
            Box::new(|t| t["ai_use"]["generated_content"] = json!(true)),
            "terms_malformed",
            "ai_use.generated_content: invalid type: boolean `true`",
        ),
        (
            "an over-long governing-law venue",
            Box::new(move |t| t["governing_law"]["venue"] = json!(long.clone())),
            "terms_text_too_long",
            "governing_law.venue is 4001 characters long; at most 4000 are allowed",
        ),
        (
            "a blank additional clause title",
            Box::new(|t| t["additional_clauses"][0]["title"] = json!(" ")),
            "terms_empty_text",
            "additional_clauses[0].title must not be empty",
        ),
        (
            "51 additional clauses",
            Box::new(|t| {
                t["additional_clauses"] = json!(vec![json!({ "title": "T", "text": "x" }); 51])
            }),
            "terms_too_many_items",
            "additional_clauses has 51 items; at most 50 are allowed",
        ),
        (
            "a payment-terms clause that says nothing",
            Box::new(|t| t["payment_terms"] = json!({})),
            "terms_empty_clause",
            "payment_terms states nothing",
        ),
        (
            "a zero-day confidentiality",
            Box::new(|t| t["confidentiality"]["duration_days"] = json!(0)),
            "terms_out_of_range",
            "confidentiality.duration_days is 0; it must be between 1 and 36525",
        ),
    ];
    for (what, edit, code, message) in cases {
        let mut body = s.draft_body(["1000000", "2000000"]);
        body["terms"] = every_clause()?;
        edit(&mut body["terms"]);
        let (status, err) = s.post("/v1/drafts", Some(&brand), body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        assert_eq!(err["error"]["code"], code, "{what}: {err}");
        let text = err["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{what}: {text:?} does not say {message:?}");
    }
    assert_eq!(s.count("draft_versions").await?, versions_before, "nothing refused was stored");

    // A new version is held to the same rules.
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["terms"] = every_clause()?;
    let (status, d) = s.post("/v1/drafts", Some(&brand), body.clone()).await?;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    body["terms"]["intellectual_property"]["territories"] = json!(["US", ""]);
    let id = d["id"].as_str().unwrap_or_default();
    let (status, err) =
        s.call(reqwest::Method::PUT, &format!("/v1/drafts/{id}"), Some(&brand), Some(body)).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "terms_empty_text");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("intellectual_property.territories[1] must not be empty")),
        "{err}"
    );

    // The whole document is bounded by the request body limit (64 KiB by default): clauses
    // each within their own bounds still cannot make a document of any size.
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["terms"] = every_clause()?;
    body["terms"]["additional_clauses"] =
        json!(vec![json!({ "title": "Clause", "text": "y".repeat(4_000) }); 20]);
    let (status, err) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["code"], "body_too_large");
    Ok(())
}

/// `GET /openapi.json` as a JSON Schema (2020-12, which OpenAPI 3.1 schemas are) validating the
/// named component.
fn component_validator(doc: &Value, name: &str) -> Result<jsonschema::Validator> {
    let mut root = doc.clone();
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::validator_for(&root).map_err(|e| eyre::eyre!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_types_the_terms_document_as_the_server_parses_it() -> Result<()> {
    use pactum_core::terms::clauses::{MAX_ADDITIONAL_CLAUSES, MAX_NAME_CHARS, MAX_TEXT_CHARS};

    let s = stack().await?;
    let (status, doc) = s.get("/openapi.json", None).await?;
    assert_eq!(status, StatusCode::OK);
    let schemas = &doc["components"]["schemas"];
    let terms_ref = json!("#/components/schemas/TermsDocument");

    // Where a terms document goes in or comes out, it is the typed document, not a bare object.
    assert_eq!(schemas["DraftInput"]["properties"]["terms"]["$ref"], terms_ref, "request");
    assert_eq!(schemas["VersionView"]["properties"]["terms"]["$ref"], terms_ref, "draft view");
    assert_eq!(schemas["TermsOut"]["properties"]["document"]["$ref"], terms_ref, "agreement");

    // Every clause the server knows, and nothing else.
    let terms = &schemas["TermsDocument"];
    let mut fields: Vec<&str> = terms["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "additional_clauses",
            "ai_use",
            "confidentiality",
            "content_approval",
            "data_privacy",
            "deliverables",
            "disclosure",
            "exclusivity",
            "governing_law",
            "intellectual_property",
            "morality_clause",
            "payment_terms",
            "usage_rights",
        ],
        "{terms}"
    );
    let mut required: Vec<&str> = terms["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    required.sort_unstable();
    assert_eq!(required, ["deliverables", "disclosure", "morality_clause", "usage_rights"]);
    assert_eq!(terms["additionalProperties"], json!(false), "unknown fields are refused");
    // The bounds the server enforces are stated, and are the server's own.
    assert_eq!(terms["properties"]["additional_clauses"]["maxItems"], MAX_ADDITIONAL_CLAUSES);
    let clause = &schemas["AdditionalClause"]["properties"];
    assert_eq!(clause["title"]["maxLength"], MAX_NAME_CHARS, "{clause}");
    assert_eq!(clause["text"]["maxLength"], MAX_TEXT_CHARS, "{clause}");
    let ai = serde_json::to_string(&schemas["GeneratedContent"])?;
    for variant in ["not_allowed", "allowed_with_disclosure", "allowed"] {
        assert!(ai.contains(&format!("\"{variant}\"")), "{ai}");
    }

    // A document built from the schema's own fields (each taken from the every-clause document,
    // which has every one) validates against it, and the server takes it.
    let every = every_clause()?;
    let mut built = serde_json::Map::new();
    for field in &fields {
        let value = every.get(*field).ok_or_else(|| eyre::eyre!("no {field} in the fixture"))?;
        built.insert((*field).to_owned(), value.clone());
    }
    let built = Value::Object(built);
    let validator = component_validator(&doc, "TermsDocument")?;
    let errors: Vec<String> = validator.iter_errors(&built).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(validator.is_valid(&crate::helpers::terms()), "the helpers' minimal document");
    let brand = s.login(&s.brand).await?;
    let mut body = s.draft_body(["1000000", "2000000"]);
    body["terms"] = built.clone();
    let (status, d) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    // What comes back conforms too.
    assert!(validator.is_valid(&d["version"]["terms"]), "{d}");
    assert!(component_validator(&doc, "DraftView")?.is_valid(&d), "{d}");

    // What the schema rules out, the server refuses: an unknown clause field, a missing required
    // clause, an unknown enum value.
    let mut unknown = built.clone();
    unknown["governing_law"]["court"] = json!("Supreme Court");
    let mut missing = built.clone();
    missing.as_object_mut().map(|m| m.remove("morality_clause"));
    let mut bad_enum = built.clone();
    bad_enum["ai_use"]["generated_content"] = json!("sometimes");
    for wrong in [unknown, missing, bad_enum] {
        assert!(!validator.is_valid(&wrong), "the schema accepts {wrong}");
        let mut body = s.draft_body(["1000000", "2000000"]);
        body["terms"] = wrong.clone();
        let (status, res) = s.post("/v1/drafts", Some(&brand), body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_eq!(res["error"]["code"], "terms_malformed", "{res}");
    }
    Ok(())
}
