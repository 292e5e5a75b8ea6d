//! Validators for the API's reads: every successful JSON answer to a GET carries a strong ETag (a
//! hash of its body), and a client that already holds that answer (`If-None-Match`) gets `304 Not
//! Modified` with no body. A page revisited on a slow phone link then downloads nothing that did
//! not change. The tag is derived from the bytes, so it needs no knowledge of what a handler read
//! and cannot go stale; the server still does the work, the network does not.
//!
//! Answers are `Cache-Control: private, no-cache`: a browser may keep them but must revalidate
//! each time (they change with the chain), and no shared cache may keep one user's answer for
//! another (`Vary: Authorization`). Streams (the live stream, CSV exports of unknown length) and
//! bodies over 4 MiB pass through untagged.

use alloy::primitives::keccak256;
use axum::{
    body::{Body, HttpBody},
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Largest body tagged (it is held in memory to be hashed; larger answers pass through).
const MAX_TAGGED: u64 = 4 << 20;

/// The middleware (`axum::middleware::from_fn(etag::layer)`).
pub async fn layer(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let held = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.run(req).await;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let size = res.body().size_hint().exact();
    if res.status() != StatusCode::OK || !json || size.is_none_or(|n| n > MAX_TAGGED) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TAGGED as usize).await {
        Ok(b) => b,
        // An exact, bounded size that then fails to read: the handler's body broke.
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
    };
    let tag = format!("\"{}\"", &keccak256(&bytes).to_string()[2..34]);
    let Ok(value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    validators(&mut parts.headers, value.clone());
    if held.as_ref().is_some_and(|h| matches(h, &tag)) {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        validators(not_modified.headers_mut(), value);
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn validators(headers: &mut HeaderMap, tag: HeaderValue) {
    headers.insert(header::ETAG, tag);
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("private, no-cache"));
    headers.append(header::VARY, HeaderValue::from_static("Authorization"));
}

/// Whether `If-None-Match` names `tag` (a list, weak or strong: the weak comparison RFC 9110
/// prescribes for this header), or is `*`.
fn matches(header: &HeaderValue, tag: &str) -> bool {
    let Ok(list) = header.to_str() else { return false };
    list.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_weak_tags_and_star() {
        let tag = "\"abc\"";
        for yes in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(yes), tag), "{yes}");
        }
        for no in ["\"abcd\"", "abc", "\"ab\", W/\"c\"", ""] {
            assert!(!matches(&HeaderValue::from_static(no), tag), "{no}");
        }
    }
}
