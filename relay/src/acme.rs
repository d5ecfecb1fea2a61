//! `rc-relay serve --acme HOST…`: the relay obtains its certificate from an
//! ACME certificate authority (RFC 8555; Let's Encrypt by default) and
//! renews it by itself. The `rustls-acme` crate runs the protocol: it
//! keeps the account key and the certificate in `<data dir>/acme/`, loads
//! them at start (so a restart reuses both and orders nothing), orders a
//! certificate when there is none, and renews it once two thirds of its
//! life have passed. The challenge is TLS-ALPN-01 (RFC 8737) on the
//! relay's own TLS port: the CA connects there offering only the ALPN
//! protocol `acme-tls/1`, is shown a certificate made for the challenge,
//! and the connection is closed after the handshake (`listen.rs`); every
//! other connection gets the certificate obtained.

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_acme::caches::DirCache;
use rustls_acme::{AcmeConfig, EventOk};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// Let's Encrypt's production directory, the default of `--acme-directory`.
pub const LETS_ENCRYPT: &str = rustls_acme::acme::LETS_ENCRYPT_PRODUCTION_DIRECTORY;

/// The ALPN protocol of TLS-ALPN-01 validation connections.
pub const ACME_TLS_ALPN: &[u8] = rustls_acme::acme::ACME_TLS_ALPN_NAME;

/// The folder of the data directory that holds the ACME account and the
/// certificates.
pub const ACME_DIR: &str = "acme";

/// What `--acme…` asked for.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The names the certificate is for (DNS names that resolve to this
    /// relay).
    pub domains: Vec<String>,
    /// The account's contact address (without `mailto:`).
    pub email: String,
    /// The ACME directory URL.
    pub directory: String,
    /// A PEM certificate to trust, beyond the public roots, when talking
    /// to the ACME server (a test server's own certificate).
    pub ca_cert: Option<PathBuf>,
    /// Where the account and certificates are kept.
    pub cache_dir: PathBuf,
}

/// Whether the relay has a certificate to serve yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertState {
    /// Loading the kept one, or ordering one.
    Waiting,
    /// A certificate is served.
    Ready,
}

/// The running ACME client: the TLS configuration to serve with (its
/// certificate changes under it on renewal) and whether a certificate is
/// there yet.
#[derive(Debug)]
pub struct Acme {
    pub tls: Arc<rustls::ServerConfig>,
    pub state: watch::Receiver<CertState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Acme {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks the settings and starts the ACME client on the current tokio
/// runtime. Errors here are the operator's (a bad name, an unreadable
/// `--acme-ca-cert`); failures to reach the CA are logged and retried
/// with a growing delay by the client itself.
pub fn start(settings: AcmeSettings) -> Result<Acme> {
    for d in &settings.domains {
        check_domain(d)?;
    }
    if settings.email.is_empty() || !settings.email.contains('@') {
        bail!(
            "--acme-email {:?}: give an e-mail address; the CA writes there about the \
             certificate",
            settings.email
        );
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&settings.cache_dir)
        .with_context(|| format!("cannot make {}", settings.cache_dir.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = client_config(settings.ca_cert.as_deref(), provider.clone())?;
    let mut acme_state = AcmeConfig::new_with_client_config(&settings.domains, client)
        .contact_push(format!("mailto:{}", settings.email))
        .directory(&settings.directory)
        .cache(DirCache::new(settings.cache_dir.clone()))
        .state();
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_no_client_auth()
        .with_cert_resolver(acme_state.resolver());
    tls.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    let (state_tx, state_rx) = watch::channel(CertState::Waiting);
    let names = settings.domains.join(", ");
    let directory = settings.directory.clone();
    tracing::info!(
        domains = %names,
        directory = %directory,
        dir = %settings.cache_dir.display(),
        "ACME: loading the kept certificate, or ordering one"
    );
    let task = tokio::spawn(async move {
        while let Some(event) = acme_state.next().await {
            match event {
                Ok(EventOk::DeployedCachedCert) => {
                    tracing::info!(domains = %names, "ACME: serving the certificate kept from before");
                    state_tx.send_replace(CertState::Ready);
                }
                Ok(EventOk::DeployedNewCert) => {
                    tracing::info!(domains = %names, "ACME: obtained a new certificate; serving it");
                    state_tx.send_replace(CertState::Ready);
                }
                Ok(EventOk::CertCacheStore) => {
                    tracing::debug!("ACME: certificate kept in the data directory")
                }
                Ok(EventOk::AccountCacheStore) => {
                    tracing::debug!("ACME: account kept in the data directory")
                }
                Err(e) => tracing::warn!(
                    domains = %names,
                    directory = %directory,
                    "ACME: {e}; trying again later"
                ),
            }
        }
    });
    Ok(Acme {
        tls: Arc::new(tls),
        state: state_rx,
        task,
    })
}

/// The TLS client configuration for talking to the ACME server: the public
/// roots, plus `ca_cert`'s certificates.
fn client_config(
    ca_cert: Option<&Path>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --acme-ca-cert {}", path.display()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow::anyhow!(
                    "--acme-ca-cert {}: not a PEM certificate ({e})",
                    path.display()
                )
            })?;
        if certs.is_empty() {
            bail!(
                "--acme-ca-cert {}: no certificate in the file (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
        for cert in certs {
            roots.add(cert).with_context(|| {
                format!("--acme-ca-cert {}: unusable certificate", path.display())
            })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A name an ACME CA can validate over TLS-ALPN-01: a DNS name (no IP
/// address, no wildcard: those need other challenges).
fn check_domain(name: &str) -> Result<()> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        bail!(
            "--acme {name}: an IP address; ACME certificates here are for DNS names. Give the \
             name that resolves to this relay, or make a certificate of your own with \
             `rc-relay cert create --name {name}`"
        );
    }
    if name.starts_with("*.") {
        bail!("--acme {name}: a wildcard needs the DNS-01 challenge; give each name");
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        bail!("--acme {name:?}: not a DNS name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_domain;

    #[test]
    fn only_dns_names_are_ordered() {
        for ok in ["relay.example.com", "localhost", "a-b.example"] {
            assert!(check_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "::1",
            "*.example.com",
            "",
            "a..b",
            "-a.example",
            "a_b.example",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
