//! The cryptography of Web Push, with `ring`: the relay's VAPID key and
//! the `Authorization` header it signs (RFC 8292), and the `aes128gcm`
//! encryption of a payload for one browser (RFC 8291, RFC 8188).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use ring::{aead, agreement, hkdf};
use std::fmt;

/// Record size announced in the header: one record holds any payload
/// the relay sends.
const RECORD_SIZE: u32 = 4096;
/// Salt (16), record size (4), key id length (1), key id (65).
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
/// AES-GCM's tag.
const TAG_LEN: usize = 16;
/// Largest body push services must accept (RFC 8030 section 7.2).
pub const MAX_PUSH_BODY: usize = 4096;
/// Largest plaintext that fits it: the header, the padding delimiter and
/// the tag take the rest.
pub const MAX_PLAINTEXT: usize = MAX_PUSH_BODY - HEADER_LEN - 1 - TAG_LEN;
/// How long a VAPID token is valid (RFC 8292 allows at most 24 h).
pub const VAPID_VALIDITY_SECS: u64 = 12 * 3600;

/// Why a push could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the push key is not a P-256 key in PKCS#8")]
    BadKey,
    #[error("the browser's public key is not a P-256 point")]
    BadPeer,
    #[error("the payload is {0} bytes, over the {MAX_PLAINTEXT} a push holds")]
    TooLarge(usize),
    #[error("the system's random source failed")]
    Random,
}

/// The relay's VAPID key pair.
pub struct VapidKey {
    pair: EcdsaKeyPair,
    public: String,
}

impl fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A new key, as PKCS#8 (what the store keeps).
    pub fn generate() -> Result<Vec<u8>, CryptoError> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| CryptoError::Random)
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<VapidKey, CryptoError> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| CryptoError::BadKey)?;
        let public = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Ok(VapidKey { pair, public })
    }

    /// The public key: the uncompressed point, base64url.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// `Authorization: vapid t=JWT, k=KEY` for a push service at `origin`
    /// (`https://host[:port]`), valid until `now + VAPID_VALIDITY_SECS`.
    pub fn authorization(&self, origin: &str, contact: &str) -> Result<String, CryptoError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": origin,
            "exp": now + VAPID_VALIDITY_SECS,
            "sub": contact,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let sig = self
            .pair
            .sign(&SystemRandom::new(), signed.as_bytes())
            .map_err(|_| CryptoError::Random)?;
        Ok(format!(
            "vapid t={signed}.{}, k={}",
            URL_SAFE_NO_PAD.encode(sig.as_ref()),
            self.public
        ))
    }
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF-SHA256 gives up to 8160 bytes");
}

/// `plaintext` encrypted for the browser whose subscription keys are
/// `ua_public` (65 bytes) and `auth` (16 bytes): the body of one push,
/// `Content-Encoding: aes128gcm`, in a single record. A new ephemeral key
/// and salt each time.
pub fn encrypt(ua_public: &[u8], auth: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(CryptoError::TooLarge(plaintext.len()));
    }
    let rng = SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| CryptoError::Random)?;
    let as_public = private
        .compute_public_key()
        .map_err(|_| CryptoError::Random)?;
    let as_public = as_public.as_ref();
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    // RFC 8291 section 3.3: the input keying material from the shared
    // secret, the authentication secret and both public keys.
    let ikm = agreement::agree_ephemeral(private, &peer, |shared| {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(shared);
        let mut ikm = [0u8; 32];
        expand(&prk, &[b"WebPush: info\0", ua_public, as_public], &mut ikm);
        ikm
    })
    .map_err(|_| CryptoError::BadPeer)?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| CryptoError::Random)?;
    // RFC 8188 section 2.2 and 2.3: the content key and the nonce.
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
    let mut cek = [0u8; 16];
    expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek);
    let mut nonce = [0u8; 12];
    expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce);

    let mut body = Vec::with_capacity(HEADER_LEN + plaintext.len() + 1 + TAG_LEN);
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.len() as u8);
    body.extend_from_slice(as_public);
    let mut record = Vec::with_capacity(plaintext.len() + 1 + TAG_LEN);
    record.extend_from_slice(plaintext);
    // The delimiter of the last (and only) record, no padding.
    record.push(2);
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).expect("a 16-byte key"),
    );
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::empty(),
        &mut record,
    )
    .map_err(|_| CryptoError::TooLarge(plaintext.len()))?;
    body.extend_from_slice(&record);
    Ok(body)
}

/// Whether `key` is a P-256 public key a push can be encrypted for: one
/// throwaway agreement with it.
pub fn is_p256_point(key: &[u8]) -> bool {
    let Ok(private) =
        agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &SystemRandom::new())
    else {
        return false;
    };
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, key);
    agreement::agree_ephemeral(private, &peer, |_| ()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn the_vapid_header_is_a_signed_token_with_its_key() {
        let key = VapidKey::from_pkcs8(&VapidKey::generate().unwrap()).unwrap();
        let auth = key
            .authorization("https://push.example", "mailto:a@b.example")
            .unwrap();
        let rest = auth.strip_prefix("vapid t=").unwrap();
        let (jwt, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, key.public());
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let public = URL_SAFE_NO_PAD.decode(k).unwrap();
        assert_eq!(public.len(), 65);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("the signature verifies");
        let claims = signed.split_once('.').unwrap().1;
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["sub"], "mailto:a@b.example");
    }

    /// The browser's side of RFC 8291, once.
    fn decrypt(
        ua: agreement::EphemeralPrivateKey,
        ua_public: &[u8],
        auth: &[u8],
        body: &[u8],
    ) -> Vec<u8> {
        let salt = &body[..16];
        assert_eq!(
            u32::from_be_bytes(body[16..20].try_into().unwrap()),
            RECORD_SIZE
        );
        let idlen = body[20] as usize;
        let as_public = &body[21..21 + idlen];
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, as_public);
        let ikm = agreement::agree_ephemeral(ua, &peer, |shared| {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(shared);
            let mut ikm = [0u8; 32];
            expand(&prk, &[b"WebPush: info\0", ua_public, as_public], &mut ikm);
            ikm
        })
        .unwrap();
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
        let mut cek = [0u8; 16];
        expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek);
        let mut nonce = [0u8; 12];
        expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce);
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).unwrap());
        let mut record = body[21 + idlen..].to_vec();
        let plain = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                &mut record,
            )
            .unwrap();
        assert_eq!(plain.last(), Some(&2), "the last record's delimiter");
        plain[..plain.len() - 1].to_vec()
    }

    #[test]
    fn a_payload_round_trips_and_the_largest_fits_a_push() {
        let rng = SystemRandom::new();
        for len in [0, 17, MAX_PLAINTEXT] {
            let ua = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
            let ua_public = ua.compute_public_key().unwrap().as_ref().to_vec();
            assert!(is_p256_point(&ua_public));
            let auth = [7u8; 16];
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let body = encrypt(&ua_public, &auth, &plain).unwrap();
            assert!(body.len() <= MAX_PUSH_BODY, "{len}: {}", body.len());
            assert_eq!(decrypt(ua, &ua_public, &auth, &body), plain);
        }
        let ua_public = [4u8; 65];
        assert!(!is_p256_point(&ua_public), "not on the curve");
        assert!(matches!(
            encrypt(&ua_public, &[0; 16], b"x"),
            Err(CryptoError::BadPeer)
        ));
        assert!(matches!(
            encrypt(&[4; 65], &[0; 16], &vec![0; MAX_PLAINTEXT + 1]),
            Err(CryptoError::TooLarge(_))
        ));
    }
}
