//! The device web UI (`relay/web/`), built into the binary, and
//! `GET /healthz`.
//!
//! - `GET /` is the app's one HTML page: `Cache-Control: no-cache` with an
//!   ETag, so a browser revalidates it on every load and gets a 304 when
//!   nothing changed.
//! - `GET /app/{version}/{file}` are its assets: the ES modules of the
//!   script (`app.js` and what it imports), the style sheet, the icon and
//!   the manifest. `version` is a hash of every asset, computed once at
//!   start, so their URLs change with their contents and they can be
//!   cached for a year (`immutable`). A request
//!   with another version (a page from before an upgrade) still gets the
//!   current file, but uncached.
//! - `GET /sw.js` is the service worker that shows pushes as
//!   notifications (`relay/web/sw.js`). It is served at the root so that
//!   its scope can be the whole app, unversioned and `no-cache`, because
//!   a service worker's URL must stay the same across upgrades.
//! - Every answer carries a Content-Security-Policy that allows nothing
//!   outside the relay: scripts, styles and images from the relay only, no
//!   inline script or style, workers from the relay only, and connections
//!   (`fetch`, WebSocket) only to the relay itself.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One file of the UI.
#[derive(Debug)]
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The type of every script: browsers run a module (`<script
/// type="module">` and what it imports) only when served as JavaScript.
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// One ES module of the UI, `relay/web/NAME`.
macro_rules! module {
    ($name:literal) => {
        Asset {
            name: $name,
            content_type: JAVASCRIPT,
            body: include_bytes!(concat!("../web/", $name)),
        }
    };
}

/// The assets, served under `/app/{version}/`. `app.js` is the entry the
/// page loads; the other modules are what it imports (relative imports,
/// so they resolve under the same version), each also named by a
/// `modulepreload` link of the page so that the browser asks for them all
/// at once.
const ASSETS: &[Asset] = &[
    module!("app.js"),
    module!("api.js"),
    module!("backoff.js"),
    module!("cells.js"),
    module!("core.js"),
    module!("dialogs.js"),
    module!("diff.js"),
    module!("dom.js"),
    module!("font.js"),
    module!("inputqueue.js"),
    module!("keys.js"),
    module!("list.js"),
    module!("liveness.js"),
    module!("machines.js"),
    module!("notify.js"),
    module!("pairing.js"),
    module!("render.js"),
    module!("screen.js"),
    module!("session.js"),
    module!("tabs.js"),
    module!("term.js"),
    module!("transcript.js"),
    module!("typing.js"),
    module!("wire.js"),
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../web/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../web/icon.svg"),
    },
    Asset {
        name: "manifest.webmanifest",
        content_type: "application/manifest+json",
        body: include_bytes!("../web/manifest.webmanifest"),
    },
];

/// The service worker, served at `/sw.js`.
const SERVICE_WORKER: &[u8] = include_bytes!("../web/sw.js");

/// The page; `{{V}}` stands for the assets' version.
const INDEX_TEMPLATE: &str = include_str!("../web/index.html");

/// Assets live a year in caches: their URL changes with their contents.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page and its version, made once.
#[derive(Debug)]
struct Built {
    version: String,
    index: String,
    etag: String,
}

static BUILT: LazyLock<Built> = LazyLock::new(|| {
    let version = version(ASSETS.iter().map(|a| (a.name, a.body)));
    let index = INDEX_TEMPLATE.replace("{{V}}", &version);
    let etag = format!("\"{}\"", hex(&Sha256::digest(index.as_bytes())[..8]));
    Built {
        version,
        index,
        etag,
    }
});

/// The assets' version: a hash of every asset's name and contents.
fn version<'a>(assets: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = Sha256::new();
    for (name, body) in assets {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(body);
    }
    hex(&h.finalize()[..6])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `Host` header that can go into the policy as a source: a host name
/// or address and an optional port, nothing else.
fn clean_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then_some(host)
}

/// The Content-Security-Policy of every answer. `connect-src 'self'`
/// covers same-origin WebSockets in browsers that follow CSP 3; the
/// explicit `ws://HOST wss://HOST` is for those that do not.
pub(crate) fn content_security_policy(headers: &HeaderMap) -> String {
    let connect = match clean_host(headers) {
        Some(h) => format!("'self' ws://{h} wss://{h}"),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; manifest-src 'self'; worker-src 'self'; connect-src {connect}; \
         base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// Headers common to everything the UI serves.
fn common(headers: &HeaderMap, content_type: &'static str, cache: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(headers)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h
}

/// Whether `If-None-Match` names `etag`.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// `GET /`: the app.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    let built = &*BUILT;
    let mut h = common(&headers, "text/html; charset=utf-8", "no-cache");
    if let Ok(v) = HeaderValue::from_str(&built.etag) {
        h.insert(header::ETAG, v);
    }
    if matches_etag(&headers, &built.etag) {
        h.remove(header::CONTENT_TYPE);
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    (h, built.index.clone()).into_response()
}

/// `GET /app/{version}/{file}`.
pub(crate) async fn asset(
    headers: HeaderMap,
    Path((version, file)): Path<(String, String)>,
) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == file) else {
        return not_found(&headers);
    };
    let cache = if version == BUILT.version {
        IMMUTABLE
    } else {
        "no-cache"
    };
    (common(&headers, a.content_type, cache), a.body).into_response()
}

/// `GET /sw.js`: the service worker.
pub(crate) async fn service_worker(headers: HeaderMap) -> Response {
    (common(&headers, JAVASCRIPT, "no-cache"), SERVICE_WORKER).into_response()
}

/// A file the UI does not have.
fn not_found(headers: &HeaderMap) -> Response {
    (
        StatusCode::NOT_FOUND,
        common(headers, "text/plain; charset=utf-8", "no-cache"),
        "not found\n",
    )
        .into_response()
}

/// `GET /healthz`.
pub(crate) async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_version() {
        let b = &*BUILT;
        assert_eq!(b.version.len(), 12);
        assert!(!b.index.contains("{{V}}"));
        for name in ASSETS.iter().map(|a| a.name) {
            let url = format!("/app/{}/{name}", b.version);
            assert!(b.index.contains(&url), "the page links {url}");
        }
        let entry = format!("<script type=\"module\" src=\"/app/{}/app.js\">", b.version);
        assert!(b.index.contains(&entry), "app.js is loaded as a module");
    }

    /// The relative imports of a module: `from './x.js'` and `import './x.js'`.
    fn imports(source: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for quote in ['\'', '"'] {
            for lead in ["from ", "import "] {
                let pat = format!("{lead}{quote}./");
                for (i, _) in source.match_indices(&pat) {
                    let rest = &source[i + pat.len()..];
                    if let Some(end) = rest.find(quote) {
                        out.push(&rest[..end]);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_module_is_served_as_javascript_and_imported() {
        let js: Vec<&Asset> = ASSETS.iter().filter(|a| a.name.ends_with(".js")).collect();
        assert!(js.len() > 10, "the script is split into modules");
        for a in &js {
            assert_eq!(a.content_type, JAVASCRIPT, "{}", a.name);
        }
        // Every import names a served module, and every module but the
        // entry is imported by another: none is missing, none is dead.
        let mut imported = std::collections::BTreeSet::new();
        for a in &js {
            let source = std::str::from_utf8(a.body).expect("UTF-8");
            for name in imports(source) {
                assert!(
                    js.iter().any(|m| m.name == name),
                    "{} imports {name}, which is not an asset",
                    a.name
                );
                imported.insert(name);
            }
        }
        for a in &js {
            assert!(
                a.name == "app.js" || imported.contains(a.name),
                "nothing imports {}",
                a.name
            );
        }
    }

    #[test]
    fn the_version_covers_every_asset() {
        assert_eq!(
            version(ASSETS.iter().map(|a| (a.name, a.body))),
            BUILT.version
        );
        for changed in ASSETS {
            let other: Vec<u8> = changed.body.iter().copied().chain([b'\n']).collect();
            let v = version(ASSETS.iter().map(|a| {
                if a.name == changed.name {
                    (a.name, other.as_slice())
                } else {
                    (a.name, a.body)
                }
            }));
            assert_ne!(v, BUILT.version, "a change to {} changes it", changed.name);
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = INDEX_TEMPLATE;
        assert!(!page.contains("<style"), "no <style> element");
        assert!(!page.contains("style="), "no style attribute");
        for (i, _) in page.match_indices("<script") {
            let tag = &page[i..page[i..].find('>').map_or(page.len(), |e| i + e)];
            assert!(tag.contains(" src="), "a script with a src only: {tag}");
        }
        let lower = page.to_ascii_lowercase();
        for (i, _) in lower.match_indices(" on") {
            let word: String = lower[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let after = &lower[i + 1 + word.len()..];
            assert!(
                !(word.len() > 2 && after.starts_with('=')),
                "no inline event handler ({word})"
            );
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn the_policy_names_only_a_clean_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("relay.example:8443"));
        let p = content_security_policy(&h);
        assert!(p.contains("connect-src 'self' ws://relay.example:8443 wss://relay.example:8443;"));
        h.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        let p = content_security_policy(&h);
        assert!(p.contains("connect-src 'self';"), "{p}");
        assert!(!p.contains('*'));
    }

    #[test]
    fn etags_match_with_lists_and_weak_prefixes() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(matches_etag(&h, "\"abc\""));
        assert!(!matches_etag(&h, "\"abd\""));
    }
}
