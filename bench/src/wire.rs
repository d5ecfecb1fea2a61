//! How the bench puts session messages on the wire, in one place: the
//! envelopes of a session link (the simulated daemon's side, `LinkFrame`)
//! and of an attach socket (the device's side, `DeviceFrame`), and the
//! session messages inside their `data`. Everything else in the bench
//! speaks in `DaemonMsg`, `DeviceMsg` and the envelope enums.

use anyhow::Result;
use rcd_proto::relay::{DeviceFrame, LinkFrame};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use tokio_tungstenite::tungstenite::Message;

/// A link envelope without a payload (`open`, `close`, `ping`, `pong`).
pub fn link_frame(frame: &LinkFrame) -> Result<Message> {
    Ok(Message::text(serde_json::to_string(frame)?))
}

/// The daemon's message for one device, in its link envelope.
pub fn link_data(client: u64, msg: &DaemonMsg) -> Result<Message> {
    let data = serde_json::to_string(msg)?;
    link_frame(&LinkFrame::Data { client, data })
}

/// A link envelope read by the daemon; `None` for what is not one
/// (a WebSocket ping, a close).
pub fn read_link(msg: &Message) -> Result<Option<LinkFrame>> {
    match msg {
        Message::Text(t) => Ok(Some(serde_json::from_str(t.as_str())?)),
        _ => Ok(None),
    }
}

/// The device's message inside a link envelope's `data`.
pub fn device_msg(data: &str) -> Result<DeviceMsg> {
    Ok(serde_json::from_str(data)?)
}

/// An attach envelope without a payload (`ping`, `pong`).
pub fn device_frame(frame: &DeviceFrame) -> Result<Message> {
    Ok(Message::text(serde_json::to_string(frame)?))
}

/// The device's message for the daemon, in its attach envelope.
pub fn device_data(msg: &DeviceMsg) -> Result<Message> {
    let data = serde_json::to_string(msg)?;
    device_frame(&DeviceFrame::Data { data })
}

/// An attach envelope read by the device, and its size in bytes; `None`
/// for what is not one.
pub fn read_device(msg: &Message) -> Result<Option<(DeviceFrame, usize)>> {
    match msg {
        Message::Text(t) => Ok(Some((serde_json::from_str(t.as_str())?, t.len()))),
        _ => Ok(None),
    }
}

/// The daemon's message inside an attach envelope's `data`.
pub fn daemon_msg(data: &str) -> Result<DaemonMsg> {
    Ok(serde_json::from_str(data)?)
}
