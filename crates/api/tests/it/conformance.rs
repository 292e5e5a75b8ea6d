//! Every response the API tests receive is checked against the served OpenAPI document: its status
//! must be documented for the route and method, and a JSON body must validate against the
//! documented schema. So the document cannot drift from what the server sends, even where a schema
//! only describes JSON produced by alloy's serializers (`pactum_api::schema`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use eyre::{bail, eyre, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The document, as `/openapi.json` serves it.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(pactum_api::openapi()).unwrap_or(Value::Null))
}

/// The documented path template `path` (no query) falls under: the one with the most literal
/// segments among those that match, so `/v1/auth/me` is not taken for `/v1/auth/{x}`.
fn template(path: &str) -> Option<&'static str> {
    let paths = document()["paths"].as_object()?;
    let segs: Vec<&str> = path.split('/').collect();
    paths
        .keys()
        .filter_map(|t| {
            let tsegs: Vec<&str> = t.split('/').collect();
            if tsegs.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in tsegs.iter().zip(&segs) {
                if a.starts_with('{') && a.ends_with('}') {
                    continue;
                }
                if a != b {
                    return None;
                }
                literal += 1;
            }
            Some((literal, t.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, t)| t)
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

/// A validator for the schema at `pointer` in the document (compiled once per process).
fn validator(pointer: &str) -> Result<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().map_err(|_| eyre!("poisoned"))?.get(pointer) {
        return Ok(v.clone());
    }
    let mut root = document().clone();
    // A JSON pointer inside a URI fragment: path templates' braces must be percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = json!(format!("#{fragment}"));
    let v = Arc::new(jsonschema::validator_for(&root).map_err(|e| eyre!("{pointer}: {e}"))?);
    cache.lock().map_err(|_| eyre!("poisoned"))?.insert(pointer.to_owned(), v.clone());
    Ok(v)
}

/// Fails unless the response (`status`, JSON `body` or `None` for another content type) to
/// `method path` is one the document describes. Routes outside the document (the web app,
/// `/metrics`) are not checked.
pub(crate) fn check(
    method: &Method,
    path: &str,
    status: StatusCode,
    body: Option<&Value>,
) -> Result<()> {
    let path = path.split('?').next().unwrap_or(path);
    let Some(t) = template(path) else { return Ok(()) };
    let m = method.as_str().to_ascii_lowercase();
    let op = &document()["paths"][t][&m];
    if !op.is_object() {
        // An undocumented method on a documented path: the router answers 405 by itself.
        return Ok(());
    }
    let code = status.as_str();
    if !op["responses"][code].is_object() {
        bail!("{method} {path} answered {status}, which the document does not list for {t}");
    }
    let Some(body) = body else { return Ok(()) };
    let escaped = t.replace('~', "~0").replace('/', "~1");
    let pointer = format!("/paths/{escaped}/{m}/responses/{code}/content/application~1json/schema");
    if document().pointer(&pointer).is_none() {
        bail!("{method} {path} answered {status} with JSON, which the document does not describe");
    }
    let v = validator(&pointer)?;
    let errors: Vec<String> =
        v.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if !errors.is_empty() {
        bail!("{method} {path} {status}: the body breaks its documented schema: {errors:#?}");
    }
    Ok(())
}

/// Fails unless `value` is valid against the document's component schema `name` (for what is
/// not a JSON response body: the items of an event stream).
pub(crate) fn check_component(name: &str, value: &Value) -> Result<()> {
    let pointer = format!("/components/schemas/{name}");
    if document().pointer(&pointer).is_none() {
        bail!("the document has no component {name}");
    }
    let v = validator(&pointer)?;
    let errors: Vec<String> =
        v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if !errors.is_empty() {
        bail!("{value} breaks {name}: {errors:#?}");
    }
    Ok(())
}
