//! `GET /`: a small page that says what this is and how to pair (the
//! browser UI will live in `relay/web/`), and `GET /healthz`.

use axum::http::header;
use axum::response::IntoResponse;

/// The page: no external resources; a few lines of inline script fill in
/// this relay's address and the code of a `/#pair=CODE` link.
const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rc-relay</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
code, pre { font-family: ui-monospace, monospace; background: #f2f2f2; border-radius: 4px; }
pre { padding: .75rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>rc-relay</h1>
<p>This is a relay of <strong>rcd</strong>: machines running <code>rcd</code> dial out to it, and
your devices reach their terminal sessions through it. It only routes; the sessions run on the
machines.</p>
<h2>Pair a device</h2>
<p>Every <code>rcd</code> shows a one-time pairing code (press the space bar in its terminal for a
QR code). On the device, run:</p>
<pre id="cmd">rcctl --relay <span id="url">https://this-relay</span> pair <span id="code">CODE</span></pre>
<p>It prints a device token. Then:</p>
<pre>export RCD_RELAY=<span id="url2">https://this-relay</span> RCD_TOKEN=rcdev_…
rcctl list</pre>
<p>A browser interface will come here later.</p>
<script>
(function () {
  var origin = window.location.origin;
  document.getElementById("url").textContent = origin;
  document.getElementById("url2").textContent = origin;
  var m = /[#&]pair=([A-Za-z0-9-]{1,16})/.exec(window.location.hash);
  if (m) { document.getElementById("code").textContent = m[1]; }
})();
</script>
</body>
</html>
"#;

pub(crate) async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
}

pub(crate) async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok")
}
