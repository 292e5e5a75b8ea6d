//! Pactum's web app, served by `pactum serve` (and `pactum dev`) at `/`, on the API's origin.
//!
//! Creators do not sign with curl: this is the page a creator opens from a brand's link, the
//! brand's drafting and funding screens, the parties' dashboard and the auditor's in-browser
//! verifier. It is a TypeScript single-page app (in `app/`, built by Vite into `dist/` by
//! `scripts/web-setup`); `build.rs` embeds every built file with memory-serve, so the binary
//! serves exactly what was built.
//!
//! memory-serve answers for the built files: media type, a SHA-256 ETag (`If-None-Match` gives
//! 304), brotli or gzip when the client accepts it, `Cache-Control`. What is ours is the
//! single-page app around it: any other GET path without an extension is `index.html`, so the
//! app's own routes (`/drafts/…`, `/agreements/…`, `/audit`) work on reload and from shared links,
//! while a missing file (`/assets/gone-1234.js`) is a 404, not the page; and the security headers
//! (Content-Security-Policy on the page, `nosniff` and `no-referrer` on everything).

use std::{convert::Infallible, sync::LazyLock};

use axum::{
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use memory_serve::{Asset, CacheControl, MemoryServe};
use tower::ServiceExt;

/// Every file of the built app, embedded by `build.rs`.
static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// What the page may load and talk to: its own origin (the API is same-origin; wallets inject
/// their provider from an extension, which the policy does not restrict), plus the JSON-RPC node
/// an auditor may type on the audit page to check a bundle against (any HTTPS node, or a node on
/// this machine); scripts, styles and images still come from the page's own origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Vite names every file under `assets/` by a hash of its content, so a new build never reuses a
/// name: those are cached for a year.
const HASHED: &str = "/assets/";

/// The built files, one route each (`/` is `index.html`). Built once: memory-serve leaks the
/// decompressed and compressed bodies it keeps for the process's lifetime, so a second copy (the
/// API's tests build many routers) would only cost memory.
static FILES: LazyLock<Router> = LazyLock::new(|| {
    MemoryServe::new(ASSETS)
        .index_file(Some("/index.html"))
        // A new build must be picked up on the next load: the page is always revalidated (the
        // ETag makes that a 304 while it is unchanged).
        .html_cache_control(CacheControl::NoCache)
        // Every other built file is under `assets/`; [`headers`] revalidates any that is not.
        .cache_control(CacheControl::Long)
        // memory-serve only enables these in release builds by default; the debug binary
        // (`pactum dev`, the tests) serves the same bytes the same way.
        .enable_brotli(true)
        .enable_gzip(true)
        .into_router()
});

/// The app, with its security headers.
static APP: LazyLock<Router> =
    LazyLock::new(|| FILES.clone().fallback(app_route).layer(middleware::from_fn(headers)));

/// The web app as a router: the built files, and `index.html` for the app's own routes.
pub fn router() -> Router {
    APP.clone()
}

/// Answers one request as [`router`] would (for a caller that has already decided the path is
/// not its own, such as the API's fallback).
pub async fn serve(req: Request) -> Response {
    APP.clone().oneshot(req).await.unwrap_or_else(|never: Infallible| match never {})
}

/// Any path that is not a built file: the app routes itself, so its page is `index.html`, served
/// by memory-serve as if `/index.html` had been asked for (same ETag and compression). A path
/// whose last segment has an extension names a file, and there is none: 404.
async fn app_route(req: Request) -> Response {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let last = req.uri().path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let (mut parts, body) = req.into_parts();
    parts.uri = Uri::from_static("/index.html");
    FILES
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
        .unwrap_or_else(|never: Infallible| match never {})
}

/// The headers memory-serve does not set: the page's Content-Security-Policy, `nosniff` and
/// `no-referrer`. And the one it cannot know: it caches every non-HTML file for a year, which is
/// right only for Vite's content-hashed `assets/`; a file outside it (one from Vite's `public/`)
/// keeps its name across builds, so it is revalidated instead.
async fn headers(req: Request, next: Next) -> Response {
    let hashed = req.uri().path().starts_with(HASHED);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    if !hashed && h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    res
}

#[cfg(test)]
mod tests {
    use std::{io::Read, path::Path};

    use super::*;
    use axum::body::{to_bytes, Body};

    /// The built file under `dist/`, as Vite wrote it.
    fn built(route: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist").join(&route[1..]);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The built script the page loads (the largest file, so compression matters for it).
    fn script() -> &'static str {
        ASSETS
            .iter()
            .filter(|a| a.route.starts_with(HASHED) && a.route.ends_with(".js"))
            .max_by_key(|a| built(a.route).len())
            .expect("the build has a script")
            .route
    }

    async fn send(method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        router().oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible")
    }

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        send(Method::GET, path, headers).await
    }

    async fn body(res: Response) -> Vec<u8> {
        to_bytes(res.into_body(), usize::MAX).await.expect("body").to_vec()
    }

    fn header(res: &Response, name: header::HeaderName) -> &str {
        res.headers()
            .get(&name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .expect("text header")
    }

    #[tokio::test]
    async fn serves_every_built_file_byte_for_byte() {
        let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
        let mut files = Vec::new();
        let mut dirs = vec![dist.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("dist") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let rel = path.strip_prefix(&dist).expect("under dist");
                    files.push(format!("/{}", rel.to_string_lossy().replace('\\', "/")));
                }
            }
        }
        assert!(files.len() >= 3, "{files:?}");
        for route in files {
            let res = get(&route, &[]).await;
            assert_eq!(res.status(), StatusCode::OK, "{route}");
            assert!(res.headers().get(header::CONTENT_ENCODING).is_none(), "{route}");
            assert!(body(res).await == built(&route), "{route} differs from the build");
        }
    }

    #[tokio::test]
    async fn serves_index_for_app_routes() {
        let index = built("/index.html");
        for path in ["/", "/drafts/d_123", "/drafts/new", "/agreements/0xabc", "/audit"] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(header(&res, header::CONTENT_TYPE).starts_with("text/html"), "{path}");
            assert_eq!(header(&res, header::CONTENT_SECURITY_POLICY), CSP, "{path}");
            assert_eq!(header(&res, header::CACHE_CONTROL), "no-cache", "{path}");
            assert_eq!(header(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
            assert_eq!(header(&res, header::REFERRER_POLICY), "no-referrer", "{path}");
            assert!(body(res).await == index, "{path}");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_without_the_page_policy() {
        let res = get(script(), &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, header::CONTENT_TYPE), "text/javascript");
        assert_eq!(header(&res, header::CACHE_CONTROL), "max-age=31536000, immutable");
        assert_eq!(header(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(res.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    }

    #[tokio::test]
    async fn missing_files_are_404_not_the_page() {
        for path in ["/assets/missing-0000.js", "/favicon.ico", "/drafts/d_1/terms.json"] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(res.headers().get(header::CONTENT_SECURITY_POLICY).is_none(), "{path}");
        }
    }

    #[tokio::test]
    async fn etag_round_trip_is_304() {
        for path in [script(), "/", "/drafts/d_123"] {
            let res = get(path, &[]).await;
            let etag = header(&res, header::ETAG).to_owned();
            assert!(etag.starts_with('"') && etag.len() > 40, "{path}: {etag}");

            let res = get(path, &[("if-none-match", &etag)]).await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(header(&res, header::ETAG), etag, "{path}");
            assert!(body(res).await.is_empty(), "{path}");

            // Another version's tag is not a match: the client gets the file.
            let res = get(path, &[("if-none-match", "\"0000\"")]).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(!body(res).await.is_empty(), "{path}");
        }
        // The app routes are the page, so they share its tag.
        let page = get("/", &[]).await;
        let route = get("/agreements/0xabc", &[]).await;
        assert_eq!(header(&page, header::ETAG), header(&route, header::ETAG));
    }

    #[tokio::test]
    async fn compresses_for_clients_that_accept_it() {
        for path in [script(), "/drafts/d_123"] {
            let file = if path.starts_with(HASHED) { built(path) } else { built("/index.html") };

            let res = get(path, &[("accept-encoding", "gzip, deflate, br")]).await;
            assert_eq!(header(&res, header::CONTENT_ENCODING), "br", "{path}");
            assert_eq!(header(&res, header::VARY), "accept-encoding", "{path}");
            let br = body(res).await;
            assert!(br.len() < file.len(), "{path}: not smaller");
            let mut plain = Vec::new();
            brotli::Decompressor::new(br.as_slice(), 4096).read_to_end(&mut plain).expect("brotli");
            assert!(plain == file, "{path}: brotli body is not the built file");

            let res = get(path, &[("accept-encoding", "gzip")]).await;
            assert_eq!(header(&res, header::CONTENT_ENCODING), "gzip", "{path}");
            let gz = body(res).await;
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut plain).expect("gzip");
            assert!(plain == file, "{path}: gzip body is not the built file");

            let res = get(path, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
            assert!(res.headers().get(header::CONTENT_ENCODING).is_none(), "{path}");
            assert!(body(res).await == file, "{path}");
        }
    }

    #[tokio::test]
    async fn head_has_headers_and_no_body() {
        for path in ["/", "/audit", script()] {
            let res = send(Method::HEAD, path, &[]).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(res.headers().contains_key(header::ETAG), "{path}");
            assert!(body(res).await.is_empty(), "{path}");
        }
    }

    #[tokio::test]
    async fn refuses_writes() {
        for path in ["/", "/drafts/d_123", script()] {
            let res = send(Method::POST, path, &[]).await;
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert!(header(&res, header::ALLOW).contains("GET"), "{path}");
        }
    }

    /// The hostile move against a file server: a path that climbs out of the built app. Nothing
    /// outside `dist/` is embedded, so each gets a 404 or the app's page, never a source file.
    #[tokio::test]
    async fn paths_climbing_out_of_the_app_reach_nothing_else() {
        let index = body(get("/index.html", &[]).await).await;
        for path in [
            "/../Cargo.toml",
            "/assets/../../Cargo.toml",
            "/%2e%2e/%2e%2e/Cargo.toml",
            "/assets/..%2f..%2fbuild.rs",
            "/..%5c..%5cbuild.rs",
            "/./src/lib.rs",
        ] {
            let res = get(path, &[]).await;
            let status = res.status();
            let served = body(res).await;
            assert!(
                status == StatusCode::NOT_FOUND || (status == StatusCode::OK && served == index),
                "{path}: {status}"
            );
            let text = String::from_utf8_lossy(&served);
            assert!(!text.contains("[package]") && !text.contains("fn main"), "{path}");
        }
    }
}
