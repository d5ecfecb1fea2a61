//! What went wrong with the relay's certificate, said so that a person can
//! fix it. rustls reports a refused certificate as, say,
//! `invalid peer certificate: UnknownIssuer`; [`find`] digs that error out
//! of the HTTP or WebSocket client's error chain, and [`CertProblem`]'s
//! message says what it means and what to do (trust the relay's
//! certificate with `--ca-cert`, make a server certificate with
//! `rc-relay cert create`, use a name the certificate has, renew it).

use std::error::Error as StdError;
use std::path::Path;

/// Why the relay's certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Issued by no authority this client trusts: a self-made certificate
    /// not given to `--ca-cert`, or another one than the file given.
    UnknownIssuer,
    /// Its signature does not verify with the key of the certificate it
    /// names as its issuer: with `--ca-cert`, most often a file of the
    /// same name as the relay's certificate but another key (the
    /// certificate was made again).
    BadSignature,
    /// A CA certificate (BasicConstraints CA:TRUE) served as the relay's
    /// own, as `openssl req -x509` makes by default.
    CaUsedAsEndEntity,
    /// Not made for the host name in the URL; `presented` are the names it
    /// has, when known.
    NotValidForName { presented: Vec<String> },
    /// Past its end (Unix seconds, when known).
    Expired { not_after: Option<u64> },
    /// Before its start (Unix seconds, when known).
    NotValidYet { not_before: Option<u64> },
    /// Not for TLS servers (its extended key usage lacks serverAuth).
    NotForServers,
    /// Anything else rustls refused, in its words.
    Other(String),
}

/// The rustls error somewhere in `err`'s chain. An `io::Error` carrying
/// one hides it from `source()` (which skips to the inner error's own
/// source), so each `io::Error` is opened with `get_ref`.
pub(crate) fn find<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = find(inner) {
                    return Some(tls);
                }
            }
        }
        next = e.source();
    }
    None
}

impl CertProblem {
    /// The problem behind a rustls error, when it is one with the peer's
    /// certificate.
    pub fn from_rustls(err: &rustls::Error) -> Option<CertProblem> {
        use rustls::CertificateError as C;
        let rustls::Error::InvalidCertificate(cert) = err else {
            return None;
        };
        Some(match cert {
            C::UnknownIssuer => CertProblem::UnknownIssuer,
            C::NotValidForName => CertProblem::NotValidForName { presented: vec![] },
            C::NotValidForNameContext { presented, .. } => CertProblem::NotValidForName {
                presented: presented.iter().map(|n| bare_name(n)).collect(),
            },
            C::Expired => CertProblem::Expired { not_after: None },
            C::ExpiredContext { not_after, .. } => CertProblem::Expired {
                not_after: Some(not_after.as_secs()),
            },
            C::NotValidYet => CertProblem::NotValidYet { not_before: None },
            C::NotValidYetContext { not_before, .. } => CertProblem::NotValidYet {
                not_before: Some(not_before.as_secs()),
            },
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => CertProblem::NotForServers,
            C::BadSignature | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                CertProblem::BadSignature
            }
            C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
                Some(webpki::Error::CaUsedAsEndEntity) => CertProblem::CaUsedAsEndEntity,
                _ => CertProblem::Other(err.to_string()),
            },
            _ => CertProblem::Other(err.to_string()),
        })
    }

    /// What is wrong and what to do, for the relay at `url`; `ca_cert` is
    /// the `--ca-cert` file in use, if any.
    pub fn message(&self, url: &str, ca_cert: Option<&Path>) -> String {
        let host = host_of(url);
        let make = format!("`rc-relay cert create --name {host}`");
        match self {
            CertProblem::UnknownIssuer | CertProblem::BadSignature => match ca_cert {
                None if *self == CertProblem::BadSignature => format!(
                    "the relay's certificate at {url} has a signature that does not verify: it \
                     is damaged, or something between you and the relay is posing as it"
                ),
                None => format!(
                    "the relay at {url} has a certificate that no authority this machine trusts \
                     has issued (a self-made one?). If it is your relay's own certificate, trust \
                     it here with --ca-cert FILE (or RCD_CA_CERT), FILE being a copy of the \
                     certificate the relay serves (its --tls-cert file; {make} on the relay \
                     makes one and prints the line). If you did not make it, do not trust it: \
                     something between you and the relay may be posing as it"
                ),
                Some(path) => format!(
                    "the relay at {url} has a certificate that --ca-cert {} does not vouch for: \
                     the relay serves another certificate than that file (made again? another \
                     relay?). Copy the certificate the relay serves (its --tls-cert file) here \
                     and give it to --ca-cert",
                    path.display()
                ),
            },
            CertProblem::CaUsedAsEndEntity => format!(
                "the relay at {url} serves a CA certificate (BasicConstraints CA:TRUE, which \
                 `openssl req -x509` makes by default), and TLS clients refuse a CA certificate \
                 as a server's. On the relay, make a server certificate with {make}, serve it \
                 with `rc-relay serve --tls-cert cert.pem --tls-key key.pem`, and give a copy of \
                 that cert.pem to --ca-cert here"
            ),
            CertProblem::NotValidForName { presented } if !presented.is_empty() => format!(
                "the relay's certificate at {url} is for {} but not for {host}: use one of \
                 those names in the relay URL, or make a certificate for {host} on the relay \
                 ({make}, with a --name for each name clients use)",
                presented.join(", ")
            ),
            CertProblem::NotValidForName { .. } => format!(
                "the relay's certificate at {url} is not for {host}: use a name the certificate \
                 has in the relay URL, or make a certificate for {host} on the relay ({make})"
            ),
            CertProblem::Expired { not_after } => format!(
                "the relay's certificate at {url} has expired{}: give the relay a new one \
                 ({make} --force, or renew it with its authority), restart rc-relay, and give \
                 the new certificate to --ca-cert here if you trust it that way. If it has not \
                 expired, this machine's clock is wrong",
                not_after
                    .map(|t| format!(" (on {})", date(t)))
                    .unwrap_or_default()
            ),
            CertProblem::NotValidYet { not_before } => format!(
                "the relay's certificate at {url} is not valid yet{}: this machine's clock, or \
                 the one where the certificate was made, is wrong",
                not_before
                    .map(|t| format!(" (not before {})", date(t)))
                    .unwrap_or_default()
            ),
            CertProblem::NotForServers => format!(
                "the relay's certificate at {url} is not made for TLS servers (its extended key \
                 usage lacks serverAuth): make one on the relay with {make}"
            ),
            CertProblem::Other(what) => format!(
                "TLS with the relay at {url} failed: {what}. A certificate made on the relay with \
                 {make}, and given to --ca-cert here, is accepted"
            ),
        }
    }
}

/// A name as rustls presents it (`DnsName("relay.example.com")`,
/// `IpAddress(192.0.2.7)`) without its kind.
fn bare_name(presented: &str) -> String {
    let inner = presented
        .split_once('(')
        .and_then(|(kind, rest)| {
            let plain = kind.bytes().all(|b| b.is_ascii_alphanumeric());
            rest.strip_suffix(')').filter(|_| plain)
        })
        .unwrap_or(presented);
    inner.trim_matches('"').to_string()
}

/// The host of `url`, or the URL itself.
fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
fn date(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let full = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} UTC", full[..16].replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fix() {
        let url = "https://relay.example.com:8443";
        let m = CertProblem::UnknownIssuer.message(url, None);
        assert!(m.contains("--ca-cert FILE"), "{m}");
        let m = CertProblem::UnknownIssuer.message(url, Some(Path::new("/x/cert.pem")));
        assert!(m.contains("--ca-cert /x/cert.pem does not vouch"), "{m}");
        let m = CertProblem::BadSignature.message(url, Some(Path::new("/x/cert.pem")));
        assert!(m.contains("--ca-cert /x/cert.pem does not vouch"), "{m}");
        let m = CertProblem::CaUsedAsEndEntity.message(url, None);
        assert!(
            m.contains("rc-relay cert create --name relay.example.com"),
            "{m}"
        );
        let m = CertProblem::NotValidForName {
            presented: vec!["localhost".into()],
        }
        .message(url, None);
        assert!(
            m.contains("is for localhost but not for relay.example.com"),
            "{m}"
        );
        let m = CertProblem::Expired {
            not_after: Some(951_782_400),
        }
        .message(url, None);
        assert!(m.contains("expired (on 2000-02-29 00:00 UTC)"), "{m}");
        assert_eq!(host_of("https://[::1]:9"), "::1");
        assert_eq!(
            bare_name("DnsName(\"relay.example.com\")"),
            "relay.example.com"
        );
        assert_eq!(bare_name("IpAddress(192.0.2.7)"), "192.0.2.7");
        assert_eq!(bare_name("plain.example"), "plain.example");
    }
}
