//! What a test device says on an attach socket, in the relay's forms
//! (docs/PROTOCOL.md): session messages as binary JSON, envelopes as text.

use rcd_proto::relay::{DeviceFrame, RELAY_PROTOCOL_VERSION};
use rcd_proto::stream::DeviceMsg;
use tokio_tungstenite::tungstenite::Message;

/// A runtime for the devices of a test: two threads, as on the machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A session message as the binary message that carries it.
pub fn encode(m: &DeviceMsg) -> Message {
    Message::binary(serde_json::to_vec(m).expect("encodes"))
}

/// The `hello` a device says first on every connection.
pub fn hello(id: &str) -> Message {
    encode(&DeviceMsg::Hello {
        protocol: RELAY_PROTOCOL_VERSION,
        client_id: id.into(),
        size: None,
        label: None,
    })
}

/// The answer a device owes the relay's ping, if `msg` is one.
pub fn pong(msg: &Message) -> Option<Message> {
    let Message::Text(t) = msg else { return None };
    match serde_json::from_str::<DeviceFrame>(t) {
        Ok(DeviceFrame::Ping { n }) => Some(Message::text(
            serde_json::to_string(&DeviceFrame::Pong { n }).expect("encodes"),
        )),
        _ => None,
    }
}
