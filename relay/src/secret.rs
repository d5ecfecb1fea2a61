//! Secrets, their hashes, and the ids derived from them.
//!
//! Every secret is 256 random bits, base64url, behind a prefix that says
//! what it is (`rce_`, `rcenv_`, `rcsess_`, `rcdev_`, `rctkt_`). The relay
//! keeps only the SHA-256 of a secret ([`hash`]) and looks it up by that
//! hash, so it never compares secrets themselves and never stores or logs
//! one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcd_proto::relay::Secret;
use sha2::{Digest, Sha256};

pub use rcd_proto::token::{
    DEVICE_PREFIX, ENROLLMENT_PREFIX, ENV_CREDENTIAL_PREFIX, SESSION_CREDENTIAL_PREFIX,
    TICKET_PREFIX,
};

/// Pairing code alphabet: Crockford's base 32 (no I, L, O, U).
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new random secret with `prefix`.
pub fn generate(prefix: &str) -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Hex SHA-256 of a secret: what the store keeps.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A new public token id, e.g. `enr_3f9a0c1b2d4e`.
pub fn token_id(prefix: &str) -> String {
    let bytes: [u8; 6] = rand::random();
    format!("{prefix}{}", hex(&bytes))
}

/// A new work item id.
pub fn work_id() -> String {
    let bytes: [u8; 9] = rand::random();
    format!("w_{}", hex(&bytes))
}

/// A new pairing code, `XXXX-XXXX` (40 bits; it lives minutes and is used
/// once).
pub fn pairing_code() -> String {
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let n = rand::random_range(0..CODE_ALPHABET.len());
        code.push(char::from(CODE_ALPHABET[n]));
    }
    code
}

/// What a typed pairing code is looked up as: upper case, without dashes
/// or spaces, with the letters people confuse with digits read as those
/// digits. `None` when it cannot be a code.
pub fn normalize_code(code: &str) -> Option<String> {
    let mut out = String::with_capacity(8);
    for c in code.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && CODE_ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == 8).then_some(out)
}

/// The hash a pairing code is stored under (its own namespace, so no
/// other secret can be spent as a code).
pub fn code_hash(normalized: &str) -> String {
    hash(&format!("pair:{normalized}"))
}

/// The environment id of (enrollment token, machine, name): stable across
/// restarts of the daemon and of the relay.
pub fn environment_id(token_id: &str, machine: &str, name: &str) -> String {
    let mut h = Sha256::new();
    for part in [token_id, machine, name] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    format!("env_{}", &hex(&h.finalize())[..20])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = generate(DEVICE_PREFIX);
        let b = generate(DEVICE_PREFIX);
        assert_ne!(a, b);
        assert!(a.expose().starts_with("rcdev_"));
        assert_eq!(a.expose().len(), "rcdev_".len() + 43);
        assert_eq!(hash(a.expose()).len(), 64);
        assert_ne!(hash(a.expose()), hash(b.expose()));
    }

    #[test]
    fn codes_normalize_as_people_type_them() {
        let code = pairing_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        let n = normalize_code(&code).unwrap();
        assert_eq!(normalize_code(&code.to_lowercase()), Some(n.clone()));
        assert_eq!(normalize_code("k7qx m2pd").as_deref(), Some("K7QXM2PD"));
        assert_eq!(normalize_code("OIL0-0000").as_deref(), Some("01100000"));
        assert_eq!(normalize_code("K7QX-M2P"), None);
        assert_eq!(normalize_code("K7QX-M2PÜ"), None);
        assert_eq!(normalize_code("rcenv_abcdefgh"), None);
    }

    #[test]
    fn environment_ids_are_stable_and_unambiguous() {
        let a = environment_id("enr_1", "host", "laptop");
        assert_eq!(a, environment_id("enr_1", "host", "laptop"));
        assert_ne!(a, environment_id("enr_2", "host", "laptop"));
        assert_ne!(
            environment_id("enr_1", "ab", "c"),
            environment_id("enr_1", "a", "bc")
        );
        assert!(a.starts_with("env_") && a.len() == 24, "{a}");
    }
}
