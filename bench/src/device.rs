//! A device of the bench: paired with a relay (rcd's embedded one, or a
//! standalone `rc-relay`), attached to one session's socket, speaking the
//! session protocol as a phone does (it acknowledges every frame and
//! answers the relay's pings). Session messages are binary messages,
//! envelopes text, as on any attach socket.

use crate::rig::{self, Rcd};
use crate::wire;
use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{CreateSession, DeviceFrame, PairRequest, RELAY_PROTOCOL_VERSION, Secret};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row};
use std::time::Duration;

/// A device on a relay, speaking the session protocol.
pub struct Device {
    ws: rcd_net::WebSocket,
    /// Stable across its reconnects, as a phone's tab is.
    client_id: String,
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
        self.ws.send(wire::device_data(msg)?).await?;
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
            let Some((inbound, len)) = wire::read_device(&msg)? else {
                continue;
            };
            self.bytes += len as u64;
            match inbound {
                wire::DeviceIn::Data(data) => {
                    let m = wire::daemon_msg(&data)?;
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
                wire::DeviceIn::Frame(DeviceFrame::Ping { n }) => {
                    self.ws
                        .send(wire::device_frame(&DeviceFrame::Pong { n })?)
                        .await?;
                }
                // The daemon's link came (back) up: it knows nothing of
                // this device, which says hello again, as every device does.
                wire::DeviceIn::Frame(DeviceFrame::Link { up: true }) => self.hello().await?,
                wire::DeviceIn::Frame(
                    DeviceFrame::Pong { .. }
                    | DeviceFrame::Link { .. }
                    | DeviceFrame::LegacyData { .. },
                ) => {}
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
            client_id: self.client_id.clone(),
            size: None,
            label: None,
        })
        .await
    }

    /// A device on an attach socket already open: says hello and waits
    /// for the daemon's.
    pub async fn on(ws: rcd_net::WebSocket, client_id: &str) -> Result<Device> {
        let mut d = Device {
            ws,
            client_id: client_id.into(),
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

    /// Pairs with the relay at `relay` using a code a daemon asked for.
    pub async fn pair(relay: &rcd_net::Relay, code: String) -> Result<Secret> {
        Ok(relay
            .pair(&PairRequest {
                code,
                label: Some("bench".into()),
            })
            .await?
            .token)
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
        let token = Device::pair(&relay, code).await?;
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
                    program: None,
                    command: None,
                },
            )
            .await?;
        let ws = relay.attach(&token, &env, name).await?;
        Device::on(ws, "bench-device").await
    }
}
