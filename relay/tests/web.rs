//! The device UI as the relay serves it: the page, its versioned assets,
//! content types, cache headers, the Content-Security-Policy, and 404s.

mod common;

use common::{TestRelay, fast};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

fn header(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(&name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .expect("ASCII header")
}

/// The page and the asset URLs it names.
async fn page(relay: &TestRelay) -> (HeaderMap, String, Vec<String>) {
    let resp = reqwest::get(format!("{}/", relay.url)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    let mut assets: Vec<String> = body
        .match_indices("\"/app/")
        .map(|(i, _)| {
            let rest = &body[i + 1..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assets.sort();
    assets.dedup();
    (headers, body, assets)
}

fn check_policy(h: &HeaderMap, host: &str) {
    let csp = header(h, header::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "worker-src 'self'",
    ] {
        assert!(csp.contains(part), "{part:?} in {csp}");
    }
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{host} wss://{host}")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert!(!csp.contains('*'), "no wildcard: {csp}");
    assert_eq!(header(h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(h, header::REFERRER_POLICY), "no-referrer");
}

#[tokio::test]
async fn the_page_is_revalidated_and_locked_down() {
    let relay = TestRelay::start(fast()).await;
    let host = relay.url.trim_start_matches("http://").to_string();
    let (h, body, assets) = page(&relay).await;
    assert!(header(&h, header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&h, header::CACHE_CONTROL), "no-cache");
    check_policy(&h, &host);
    assert!(body.contains("Pair this browser"));
    assert!(
        body.contains("rcctl --relay"),
        "says how to pair from a shell"
    );
    assert!(!body.contains("http://") && !body.contains("https://"));
    assert!(!body.contains("{{V}}"));

    // Same page again with its ETag: 304 and no body.
    let etag = header(&h, header::ETAG).to_string();
    let resp = reqwest::Client::new()
        .get(format!("{}/", relay.url))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(resp.headers(), header::ETAG), etag);
    assert!(resp.text().await.unwrap().is_empty());

    // HEAD works too.
    let resp = reqwest::Client::new()
        .head(format!("{}/", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(assets.len() >= 4, "{assets:?}");
}

#[tokio::test]
async fn assets_are_versioned_typed_and_cached_for_good() {
    let relay = TestRelay::start(fast()).await;
    let host = relay.url.trim_start_matches("http://").to_string();
    let (_, _, assets) = page(&relay).await;
    let want = [
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("icon.svg", "image/svg+xml"),
        ("manifest.webmanifest", "application/manifest+json"),
    ];
    let version = assets[0].split('/').nth(2).unwrap().to_string();
    assert_eq!(version.len(), 12, "{assets:?}");
    for (file, ctype) in want {
        let path = format!("/app/{version}/{file}");
        assert!(assets.contains(&path), "the page links {path}");
        let resp = reqwest::get(format!("{}{path}", relay.url)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers().clone();
        assert!(
            header(&h, header::CONTENT_TYPE).starts_with(ctype),
            "{path}: {}",
            header(&h, header::CONTENT_TYPE)
        );
        assert_eq!(
            header(&h, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        check_policy(&h, &host);
        assert!(!resp.bytes().await.unwrap().is_empty());
    }

    // A page from before an upgrade asks for another version: it gets the
    // file, but not cached for a year.
    let resp = reqwest::get(format!("{}/app/000000000000/app.js", relay.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), header::CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn the_service_worker_is_served_at_the_root_and_revalidated() {
    let relay = TestRelay::start(fast()).await;
    let host = relay.url.trim_start_matches("http://").to_string();
    let resp = reqwest::get(format!("{}/sw.js", relay.url)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert!(header(&h, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert_eq!(header(&h, header::CACHE_CONTROL), "no-cache");
    check_policy(&h, &host);
    let body = resp.text().await.unwrap();
    for handler in ["'push'", "'notificationclick'"] {
        assert!(body.contains(handler), "handles {handler}");
    }
}

#[tokio::test]
async fn unknown_files_are_404() {
    let relay = TestRelay::start(fast()).await;
    let (_, _, assets) = page(&relay).await;
    let version = assets[0].split('/').nth(2).unwrap().to_string();
    for path in [
        format!("/app/{version}/nope.js"),
        format!("/app/{version}/..%2Fsrc%2Flib.rs"),
        "/app/app.js".to_string(),
        "/index.html".to_string(),
        "/favicon.ico".to_string(),
    ] {
        let resp = reqwest::get(format!("{}{path}", relay.url)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_ne!(
            resp.headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("public, max-age=31536000, immutable"),
            "{path}: a 404 is never cached for good"
        );
    }
}
