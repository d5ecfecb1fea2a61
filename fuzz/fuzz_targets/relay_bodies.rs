//! The JSON bodies of the relay's HTTP API, as `rc_relay::body` decodes
//! and checks them for the handlers (a push subscription and an answer
//! to a permission request among them). The first byte picks the body; an
//! accepted body must satisfy what its check promises and round-trip,
//! a refused one is a 4xx. The answers the daemon decodes from the relay
//! (its registration and its work items) are read here too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rc_relay::body::{
    self, AUTH_LEN, MAX_ANSWER_MESSAGE, MAX_DEVICE_LABEL, MAX_DIR, MAX_ENDPOINT, MAX_LABEL,
    P256DH_LEN,
};
use rc_relay::{ApiErr, secret};
use rcd_fuzz::roundtrip;
use rcd_proto::SessionName;
use rcd_proto::name::printable;
use rcd_proto::relay::{RELAY_PROTOCOL_VERSION, RegisterResponse, WorkItem};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 9 {
        0 => {
            if let Some(req) = accepted(body::register(body)) {
                assert_eq!(req.protocol, RELAY_PROTOCOL_VERSION);
                for (text, max, may_be_empty) in [
                    (&req.name, MAX_LABEL, false),
                    (&req.machine, MAX_LABEL, false),
                    (&req.version, MAX_LABEL, true),
                    (&req.dir, MAX_DIR, true),
                ] {
                    assert!(
                        text.len() <= max && (may_be_empty || !text.is_empty()),
                        "{text:?}"
                    );
                    assert!(printable(text), "{text:?}");
                }
                roundtrip(&req);
            }
        }
        1 => {
            if let Some(beat) = accepted(body::heartbeat(body)) {
                roundtrip(&beat);
            }
        }
        2 => {
            if let Some(result) = accepted(body::work_result(body)) {
                roundtrip(&result);
            }
        }
        3 => {
            if let Some((req, code)) = accepted(body::pair(body)) {
                if let Some(label) = &req.label {
                    assert!(
                        label.len() <= MAX_DEVICE_LABEL && printable(label),
                        "{label:?}"
                    );
                }
                if let Some(code) = code {
                    assert_eq!(code.len(), 8, "{code:?}");
                    assert!(
                        code.bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    );
                    assert_eq!(
                        secret::normalize_code(&code).as_ref(),
                        Some(&code),
                        "idempotent"
                    );
                }
                roundtrip(&req);
            }
        }
        4 => {
            if let Some(req) = accepted(body::create_session(body)) {
                if let Some(name) = &req.name {
                    assert!(SessionName::new(name).is_ok(), "{name:?}");
                }
                roundtrip(&req);
            }
        }
        6 => {
            if let Some(req) = accepted(body::push_subscription(body)) {
                let e = &req.endpoint;
                assert!(e.len() <= MAX_ENDPOINT, "{e:?}");
                assert!(
                    e.starts_with("https://") || e.starts_with("http://"),
                    "{e:?}"
                );
                assert_eq!(b64url_len(&req.keys.p256dh), Some(P256DH_LEN));
                assert_eq!(b64url_len(&req.keys.auth), Some(AUTH_LEN));
                // What it hands back is accepted again as it is.
                let again = serde_json::to_vec(&req).unwrap();
                assert_eq!(body::push_subscription(&again).ok().as_ref(), Some(&req));
                roundtrip(&req);
            }
        }
        7 => {
            if let Some(req) = accepted(body::answer(body)) {
                assert!(req.message.as_ref().is_none_or(|m| m.len() <= MAX_ANSWER_MESSAGE));
                assert!(req.id.as_ref().is_none_or(|id| id.len() <= MAX_LABEL));
                roundtrip(&req);
            }
        }
        5 => {
            if let Ok(item) = serde_json::from_slice::<WorkItem>(body) {
                roundtrip(&item);
                // The daemon answers it as the control request it names.
                let _ = rcd_proto::Request::try_from(item.work);
            }
        }
        _ => {
            if let Ok(resp) = serde_json::from_slice::<RegisterResponse>(body) {
                roundtrip(&resp);
            }
        }
    }
});

/// The decoded length of unpadded base64url text.
fn b64url_len(text: &str) -> Option<usize> {
    let ok = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| text.len() * 3 / 4)
}

/// The body, when accepted; a refusal must be a client error.
fn accepted<T>(r: Result<T, ApiErr>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(e.status.is_client_error(), "{e:?}");
            None
        }
    }
}
