//! Pactum's web app, served by `pactum serve` (and `pactum dev`) at `/`, on the API's origin.
//!
//! Creators do not sign with curl: this is the page a creator opens from a brand's link, the
//! brand's drafting and funding screens, the parties' dashboard and the auditor's in-browser
//! verifier. It is a TypeScript single-page app (in `app/`, built by Vite into `dist/` by
//! `scripts/web-setup`); `build.rs` embeds every built file, so the binary serves exactly what was
//! built. [`router`] answers any GET path: a built file if there is one, else `index.html`, so the
//! app's own routes (`/drafts/…`, `/agreements/…`, `/audit`) work on reload and from shared links.

use axum::{
    http::{header, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// What the page may load and talk to: its own origin (the API is same-origin; wallets inject
/// their provider from an extension, which the policy does not restrict), plus the JSON-RPC node
/// an auditor may type on the audit page to check a bundle against (any HTTPS node, or a node on
/// this machine); scripts, styles and images still come from the page's own origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The built file at `path` (relative to `dist/`, no leading slash) and its media type.
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(p, bytes)| (*bytes, media_type(p)))
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves the app for one request: the file `uri` names, else `index.html` (the app routes
/// itself). Hashed files under `assets/` are cached for a year; `index.html` never, so a new
/// build is picked up on the next load. A missing file with an extension is a 404, not the page.
pub fn respond(method: &Method, uri: &Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let (bytes, media, cache, status) = match asset(path) {
        Some((b, m)) if !path.is_empty() => {
            let cache = if path.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (b, m, cache, StatusCode::OK)
        }
        _ => {
            let last = path.rsplit('/').next().unwrap_or_default();
            if last.contains('.') {
                return (StatusCode::NOT_FOUND, "not found").into_response();
            }
            match asset("index.html") {
                Some((b, m)) => (b, m, "no-cache", StatusCode::OK),
                None => return (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    };
    let mut res = (status, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if media.starts_with("text/html") {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    res
}

/// The app as a router: every path falls back to [`respond`].
pub fn router() -> Router {
    Router::new().fallback(|method: Method, uri: Uri| async move { respond(&method, &uri) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn get(path: &str) -> Response {
        let req = axum::http::Request::get(path).body(Body::empty()).expect("request");
        router().oneshot(req).await.expect("infallible")
    }

    #[tokio::test]
    async fn serves_index_for_app_routes() {
        for path in ["/", "/drafts/d_123", "/agreements/0xabc/audit"] {
            let res = get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let ct = res.headers().get(header::CONTENT_TYPE).expect("content type");
            assert!(ct.to_str().expect("text").starts_with("text/html"), "{path}");
            assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        }
    }

    #[tokio::test]
    async fn serves_built_assets_and_404s_missing_files() {
        let (js, _) = ASSETS
            .iter()
            .find(|(p, _)| p.starts_with("assets/") && p.ends_with(".js"))
            .expect("the build has a script");
        let res = get(&format!("/{js}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).expect("content type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(get("/assets/missing-0000.js").await.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn refuses_writes() {
        let res = respond(&Method::POST, &Uri::from_static("/"));
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
