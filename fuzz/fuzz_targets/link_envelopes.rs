//! The relay's WebSocket messages, both ways. The first byte picks what
//! the rest is:
//!
//! 0. a text message on a session link (`LinkFrame`), as the relay reads
//!    the daemon's (`relay/src/ws.rs::read`) and the daemon the relay's
//!    (`daemon/src/link/stream.rs::serve`);
//! 1. a text message on an attach socket (`DeviceFrame`), as the relay
//!    reads a device's; a protocol-1 `data` frame gets the
//!    `legacy_version_error` answer, which must read back as an error;
//! 2. a binary message on a session link, relay → daemon: the client in
//!    front (`split_link_message`), then the device's session message as
//!    the daemon decodes it;
//! 3. a binary message from a device on an attach socket, which the relay
//!    forwards with the client in front (`link_payload`) when it fits
//!    `MAX_BODY`; the daemon must take the same client and payload off it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcd_fuzz::roundtrip;
use rcd_proto::relay::{
    CLIENT_PREFIX, DeviceFrame, LinkFrame, legacy_version_error, link_payload, split_link_message,
};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            text::<LinkFrame>(rest);
        }
        1 => {
            if let Some(DeviceFrame::LegacyData { .. }) = text::<DeviceFrame>(rest) {
                let answer: DeviceFrame = serde_json::from_str(&legacy_version_error())
                    .expect("the legacy answer is an envelope");
                let DeviceFrame::LegacyData { data } = answer else {
                    panic!("the legacy answer is a data frame");
                };
                let msg: DaemonMsg = serde_json::from_str(&data).expect("its data is a message");
                assert!(matches!(msg, DaemonMsg::Error { .. }));
            }
        }
        2 => {
            let split = split_link_message(rest);
            if rest.len() < CLIENT_PREFIX {
                assert!(split.is_none(), "a message too short to name a client");
                return;
            }
            let (client, payload) = split.expect("a client in front");
            assert_eq!(link_payload(client, payload), rest);
            if let Ok(msg) = serde_json::from_slice::<DeviceMsg>(payload) {
                roundtrip(&msg);
            }
        }
        _ => {
            let Some((client, payload)) = split_link_message(rest) else {
                return;
            };
            if CLIENT_PREFIX + payload.len() > rc_relay::MAX_BODY {
                return;
            }
            let forwarded = link_payload(client, payload);
            assert_eq!(split_link_message(&forwarded), Some((client, payload)));
        }
    }
});

/// A text message: WebSockets deliver only UTF-8 as text.
fn text<T>(bytes: &[u8]) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = std::str::from_utf8(bytes).ok()?;
    let frame: T = serde_json::from_str(text).ok()?;
    roundtrip(&frame);
    Some(frame)
}
