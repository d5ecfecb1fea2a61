//! How the bench puts session messages on the wire, in one place: the
//! text envelopes of a session link (the simulated daemon's side,
//! `LinkFrame`) and of an attach socket (the device's side, `DeviceFrame`),
//! and the session messages, which travel as binary messages (on a link
//! with the client's number in front). Everything else in the bench speaks
//! in `DaemonMsg`, `DeviceMsg` and the envelope enums.

use anyhow::{Result, anyhow};
use rcd_proto::relay::{DeviceFrame, LinkFrame, link_message, split_link_message};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use tokio_tungstenite::tungstenite::Message;

/// What a session link carries to the daemon.
pub enum LinkIn {
    /// A text envelope (`open`, `close`, `ping`, `pong`).
    Frame(LinkFrame),
    /// A device's session message, still encoded.
    Data { client: u64, data: Vec<u8> },
}

/// What an attach socket carries to the device.
pub enum DeviceIn {
    /// A text envelope (`link`, `ping`, `pong`).
    Frame(DeviceFrame),
    /// The daemon's session message, still encoded.
    Data(Vec<u8>),
}

/// A link envelope (`open`, `close`, `ping`, `pong`).
pub fn link_frame(frame: &LinkFrame) -> Result<Message> {
    Ok(Message::text(serde_json::to_string(frame)?))
}

/// The daemon's message for one device.
pub fn link_data(client: u64, msg: &DaemonMsg) -> Result<Message> {
    Ok(Message::binary(link_message(client, msg)))
}

/// A message read by the daemon; `None` for what is neither (a WebSocket
/// ping, a close).
pub fn read_link(msg: &Message) -> Result<Option<LinkIn>> {
    match msg {
        Message::Text(t) => Ok(Some(LinkIn::Frame(serde_json::from_str(t.as_str())?))),
        Message::Binary(b) => {
            let (client, data) =
                split_link_message(b).ok_or_else(|| anyhow!("a link message without a client"))?;
            Ok(Some(LinkIn::Data {
                client,
                data: data.to_vec(),
            }))
        }
        _ => Ok(None),
    }
}

/// A device's session message.
pub fn device_msg(data: &[u8]) -> Result<DeviceMsg> {
    Ok(serde_json::from_slice(data)?)
}

/// An attach envelope (`ping`, `pong`).
pub fn device_frame(frame: &DeviceFrame) -> Result<Message> {
    Ok(Message::text(serde_json::to_string(frame)?))
}

/// The device's message for the daemon.
pub fn device_data(msg: &DeviceMsg) -> Result<Message> {
    Ok(Message::binary(serde_json::to_vec(msg)?))
}

/// A message read by the device, and its size in bytes; `None` for what
/// is neither.
pub fn read_device(msg: &Message) -> Result<Option<(DeviceIn, usize)>> {
    match msg {
        Message::Text(t) => Ok(Some((
            DeviceIn::Frame(serde_json::from_str(t.as_str())?),
            t.len(),
        ))),
        Message::Binary(b) => Ok(Some((DeviceIn::Data(b.to_vec()), b.len()))),
        _ => Ok(None),
    }
}

/// The daemon's session message.
pub fn daemon_msg(data: &[u8]) -> Result<DaemonMsg> {
    Ok(serde_json::from_slice(data)?)
}
