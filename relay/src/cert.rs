//! `rc-relay cert create`: a self-signed certificate that rustls (and so
//! rcd and rcctl) accepts as a server's. The usual `openssl req -x509`
//! makes a CA certificate (BasicConstraints CA:TRUE), which webpki refuses
//! as an end entity (`CaUsedAsEndEntity`); this one is an end entity
//! (CA:FALSE), with the key usage (digitalSignature) and extended key usage
//! (serverAuth) of a TLS server and a subject alternative name for each
//! name given (IP addresses as IP SANs). A client trusts it by naming the
//! certificate itself with `--ca-cert`: webpki takes a trust anchor's
//! subject and key, so the self-signed end entity anchors its own chain.

use anyhow::{Context, Result, bail};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde::Serialize;
use sha2::Digest;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file names written into `--out`.
pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";

/// Default lifetime, in days.
pub const DEFAULT_DAYS: u32 = 365;

/// What `cert create` made.
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the certificate (DER), hex with colons.
    pub sha256: String,
}

/// Makes the certificate and key for `names` in `out`, valid for `days`.
/// Refuses to replace either file unless `force`.
pub fn create(names: &[String], out: &Path, days: u32, force: bool) -> Result<Made> {
    if names.is_empty() {
        bail!("give at least one --name: the host name (or IP address) clients use in the URL");
    }
    if days == 0 {
        bail!("--days must be at least 1");
    }
    for n in names {
        if n.contains("://")
            || n.contains('/')
            || n.contains(':') && n.parse::<std::net::IpAddr>().is_err()
        {
            bail!("--name {n:?}: give the bare host name or IP address, without scheme or port");
        }
    }
    let out = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot make {}", out.display()))?;
    let cert_path = out.join(CERT_FILE);
    let key_path = out.join(KEY_FILE);
    if !force {
        for p in [&cert_path, &key_path] {
            if p.exists() {
                bail!(
                    "{} exists; give --force to replace it (every rcd and rcctl that trusts the old \
                     certificate then needs the new one), or --out DIR for another place",
                    p.display()
                );
            }
        }
    }
    let mut params = CertificateParams::new(names.to_vec())
        .with_context(|| format!("not a host name: {}", names.join(", ")))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names[0].clone());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    // A little slack for clocks a bit behind this one.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    let key = KeyPair::generate().context("cannot make a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot make the certificate")?;
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    let digest = sha2::Sha256::digest(cert.der());
    let sha256 = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(Made {
        cert: cert_path,
        key: key_path,
        names: names.to_vec(),
        not_after: params.not_after.unix_timestamp(),
        sha256,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same
/// directory, created with `mode`, then renamed over it.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The mode above is under the umask; this one is not.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

/// The URL clients would use for `name` on port 443.
pub fn url_for(name: &str) -> String {
    match name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => format!("https://[{ip}]"),
        _ => format!("https://{name}"),
    }
}
