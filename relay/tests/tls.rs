//! HTTPS and WSS with a certificate the test makes (rcgen), trusted by the
//! clients explicitly.

mod common;

use common::{Api, fast, next_json, route};
use rc_relay::{MemoryStore, Relay};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Tls {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
}

fn self_signed() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_pem = made.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Tls {
        _dir: dir,
        cert,
        key,
        cert_pem,
    }
}

#[tokio::test]
async fn the_relay_serves_https_and_wss() {
    let tls = self_signed();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let relay = Relay::new(fast(), Arc::new(MemoryStore::new()));
    let token = relay.create_enrollment_token(None).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay.clone().serve_tls(
        listener,
        tls.cert.clone(),
        tls.key.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));

    let base = format!("https://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(
        resp.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000"),
        "HSTS over TLS"
    );
    assert_eq!(resp.text().await.unwrap(), "ok");

    // The whole API works over it.
    let api = Api {
        base: base.clone(),
        http,
    };
    let daemon = api.register(&token, "laptop").await;
    let (_, device) = daemon.pair("phone").await;
    assert_eq!(api.get("/environments", Some(&device)).await.0, 200);

    // And so do WebSockets (wss://), with the same trust.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(tls.cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let url = format!(
        "wss://127.0.0.1:{port}/api/v1{}",
        route::attach(&daemon.env, "a")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {device}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        req,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(config))),
    )
    .await
    .expect("wss connects");
    assert_eq!(next_json(&mut ws).await["t"], "link");

    // A client that does not trust the certificate is refused.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );

    let _ = stop_tx.send(());
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("stops");
    r.unwrap().unwrap();
}

#[tokio::test]
async fn a_bad_certificate_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let err = rc_relay::tls_config(&cert, &dir.path().join("missing.pem")).unwrap_err();
    assert!(err.to_string().contains("cert.pem"), "{err}");
    let tls = self_signed();
    let err = rc_relay::tls_config(&tls.cert, &dir.path().join("missing.pem")).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
