//! A device of the bench: paired with an rcd's embedded relay, attached to
//! one session's socket, speaking the session protocol as a phone does
//! (it acknowledges every frame and answers the relay's pings). Session
//! messages are binary messages, envelopes text, as on any attach socket.

use crate::rig::{self, Rcd};
use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{CreateSession, DeviceFrame, PairRequest, RELAY_PROTOCOL_VERSION};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A device on rcd's embedded relay, speaking the session protocol.
pub struct Device {
    ws: rcd_net::WebSocket,
    rows: Vec<Row>,
    version: u64,
    cursor_row: usize,
    /// Screen frames received, and the bytes of every message.
    pub frames: u64,
    pub bytes: u64,
}

impl Device {
    /// Sends a session message: its JSON as one binary message.
    pub async fn send(&mut self, msg: &DeviceMsg) -> Result<()> {
        self.ws
            .send(Message::binary(serde_json::to_vec(msg)?))
            .await?;
        Ok(())
    }

    /// The next message of the daemon; answers the relay's pings and
    /// acknowledges screen frames on the way, as a device must.
    pub async fn next(&mut self) -> Result<DaemonMsg> {
        loop {
            let msg = self
                .ws
                .next()
                .await
                .ok_or_else(|| anyhow!("the relay closed the socket"))??;
            let text = match msg {
                Message::Binary(payload) => {
                    self.bytes += payload.len() as u64;
                    let m: DaemonMsg = serde_json::from_slice(&payload)?;
                    if let DaemonMsg::Screen(f) = &m {
                        if !rcd_proto::stream::apply(&mut self.rows, self.version, f) {
                            bail!("a screen frame on a base the device lacks");
                        }
                        self.version = f.version;
                        self.frames += 1;
                        self.cursor_row = usize::from(f.cursor.0);
                        self.send(&DeviceMsg::Ack { version: f.version }).await?;
                    }
                    return Ok(m);
                }
                Message::Text(text) => text,
                _ => continue,
            };
            self.bytes += text.len() as u64;
            match serde_json::from_str::<DeviceFrame>(text.as_str())? {
                DeviceFrame::Ping { n } => {
                    let pong = serde_json::to_string(&DeviceFrame::Pong { n })?;
                    self.ws.send(Message::text(pong)).await?;
                }
                // The daemon's link came (back) up: it knows nothing of
                // this device, which says hello again, as every device does.
                DeviceFrame::Link { up: true } => self.hello().await?,
                DeviceFrame::Pong { .. }
                | DeviceFrame::Link { .. }
                | DeviceFrame::LegacyData { .. } => {}
            }
        }
    }

    pub fn shows(&self, c: u8) -> bool {
        self.rows
            .get(self.cursor_row)
            .is_some_and(|r| r.text().as_bytes().first() == Some(&c))
    }
}

impl Device {
    async fn hello(&mut self) -> Result<()> {
        self.send(&DeviceMsg::Hello {
            protocol: RELAY_PROTOCOL_VERSION,
            client_id: "bench-device".into(),
        })
        .await
    }

    /// Pairs with the relay rcd embeds on `listen` (the code rcd printed),
    /// starts session `name` through it, attaches and says hello.
    pub async fn attach(rcd: &Rcd, listen: &str, name: &str) -> Result<Device> {
        let mut code = String::new();
        rig::wait("rcd's pairing code", Duration::from_secs(20), || {
            let log = rcd.log_text();
            if let Some((_, rest)) = log.rsplit_once(" pair ") {
                code = rest.split_whitespace().next().unwrap_or_default().into();
            }
            !code.is_empty()
        })?;
        let relay = rcd_net::Relay::new(&format!("http://{listen}"), None)?;
        let token = relay
            .pair(&PairRequest {
                code,
                label: Some("bench".into()),
            })
            .await?
            .token;
        let env = relay
            .environments(&token)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no environment on the relay"))?
            .id;
        relay
            .create_session(
                &token,
                &env,
                &CreateSession {
                    name: Some(name.into()),
                    spawn: None,
                    sandbox: None,
                },
            )
            .await?;
        let ws = relay.attach(&token, &env, name).await?;
        let mut d = Device {
            ws,
            rows: Vec::new(),
            version: 0,
            cursor_row: 0,
            frames: 0,
            bytes: 0,
        };
        d.hello().await?;
        tokio::time::timeout(Duration::from_secs(20), async {
            while !matches!(d.next().await?, DaemonMsg::Hello { .. }) {}
            Ok::<_, anyhow::Error>(())
        })
        .await
        .context("the daemon's hello")??;
        Ok(d)
    }
}
