//! One connection of the attach socket, from the hello to its end:
//! daemon messages through the [`Core`], the user's commands out, and a
//! ping to the relay every [`PING_EVERY`] under the [`Liveness`] rule.

use super::client::{Cmd, Events, lock};
use super::core::{Core, Event, Fault};
use rcd_net::{Incoming, NetError, WebSocket};
use rcd_proto::liveness::Liveness;
use rcd_proto::relay::DeviceFrame;
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// A ping to the relay this often; [`rcd_proto::liveness::MISSED_PINGS`]
/// unanswered ones mean a dead socket.
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Longest a single write to the socket may take before it counts as dead.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// How a connection ended.
pub(super) enum End {
    /// The user left.
    Closed,
    Fatal(String),
    /// Try again; `greeted` says whether the daemon answered our hello.
    Dropped {
        reason: String,
        greeted: bool,
    },
}

/// A transient failure, short, for the status line.
pub(super) fn reason(e: &NetError) -> String {
    match e {
        NetError::Transport { reason, .. } => reason.clone(),
        NetError::Api { status: 404, .. } => "the session is not on the relay (yet)".into(),
        other => other.to_string(),
    }
}

async fn send(ws: &mut WebSocket, frame: &DeviceFrame) -> Result<(), Fault> {
    match tokio::time::timeout(SEND_TIMEOUT, rcd_net::send_json(ws, frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Fault::Reconnect(format!(
            "sending to the relay: {}",
            reason(&e)
        ))),
        Err(_) => Err(Fault::Reconnect("the relay stopped reading".into())),
    }
}

/// Sends session messages, each the JSON of one message in a binary
/// message.
async fn send_msgs(ws: &mut WebSocket, msgs: Vec<DeviceMsg>) -> Result<(), Fault> {
    for m in msgs {
        let payload = serde_json::to_vec(&m).map_err(|e| Fault::Reconnect(e.to_string()))?;
        match tokio::time::timeout(SEND_TIMEOUT, rcd_net::send_binary(ws, payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(Fault::Reconnect(format!(
                    "sending to the relay: {}",
                    reason(&e)
                )));
            }
            Err(_) => return Err(Fault::Reconnect("the relay stopped reading".into())),
        }
    }
    Ok(())
}

/// A relay of protocol 1 closes a socket that sends binary messages with
/// this code: it will not take this rcctl's session messages.
const OLDER_RELAY: u16 = 1003;

fn older_relay() -> Fault {
    Fault::Fatal(format!(
        "the relay refused this rcctl's messages: it speaks relay protocol 1, this rcctl {} \
         speaks {}: update rc-relay, or use an rcctl of the relay's version",
        rcd_proto::PACKAGE_VERSION,
        rcd_proto::relay::RELAY_PROTOCOL_VERSION
    ))
}

/// Serves one connection until it ends.
pub(super) async fn serve(
    mut ws: WebSocket,
    core: &Mutex<Core>,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
) -> End {
    let mut greeted = false;
    let result = serve_inner(&mut ws, core, cmds, events, &mut greeted).await;
    match result {
        Ok(()) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
            End::Closed
        }
        Err(Fault::Fatal(msg)) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
            End::Fatal(msg)
        }
        Err(Fault::Reconnect(reason)) => {
            let _ = tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
            End::Dropped { reason, greeted }
        }
    }
}

async fn serve_inner(
    ws: &mut WebSocket,
    core: &Mutex<Core>,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
    greeted: &mut bool,
) -> Result<(), Fault> {
    let hello = lock(core).connected();
    send_msgs(ws, vec![hello]).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut liveness = Liveness::new();
    loop {
        tokio::select! {
            frame = rcd_net::recv::<DeviceFrame>(ws) => {
                let frame = match frame {
                    Ok(Incoming::Frame(f)) => f,
                    Ok(Incoming::Payload(payload)) => {
                        let Ok(msg) = serde_json::from_slice::<DaemonMsg>(&payload) else {
                            continue;
                        };
                        let reaction = lock(core).on_daemon(msg)?;
                        if reaction.events.iter().any(|e| matches!(e, Event::Ready { .. })) {
                            *greeted = true;
                        }
                        send_msgs(ws, reaction.send).await?;
                        for ev in reaction.events {
                            let _ = events.send(Ok(ev));
                        }
                        continue;
                    }
                    Ok(Incoming::Closed(Some(OLDER_RELAY))) => return Err(older_relay()),
                    Ok(Incoming::Closed(_)) => return Err(Fault::Reconnect("the relay closed the connection".into())),
                    // Not a frame of this protocol: skip it.
                    Err(NetError::Decode(_)) => continue,
                    Err(e) => return Err(Fault::Reconnect(reason(&e))),
                };
                match frame {
                    DeviceFrame::Link { up } => {
                        let _ = events.send(Ok(Event::Link { up }));
                        if up {
                            // A new link of the daemon knows nothing of
                            // this device: greet it again.
                            let hello = lock(core).connected();
                            send_msgs(ws, vec![hello]).await?;
                        } else {
                            lock(core).disconnected();
                        }
                    }
                    DeviceFrame::Ping { n } => send(ws, &DeviceFrame::Pong { n }).await?,
                    DeviceFrame::Pong { n } => liveness.pong(n),
                    // Only a device of protocol 1 sends it; the relay
                    // never does.
                    DeviceFrame::LegacyData { .. } => {}
                }
            }
            cmd = cmds.recv() => match cmd {
                None | Some(Cmd::Close) => return Ok(()),
                Some(cmd) => {
                    let msgs: Vec<DeviceMsg> = {
                        let mut c = lock(core);
                        match cmd {
                            Cmd::Input => c.outgoing(),
                            Cmd::Transcript => c.transcript_now().into_iter().collect(),
                            Cmd::Resize => c.resize_now().into_iter().collect(),
                            Cmd::Drive => c.drive_now().into_iter().collect(),
                            Cmd::Close => Vec::new(),
                        }
                    };
                    send_msgs(ws, msgs).await?;
                }
            },
            _ = ping.tick() => {
                let Some(n) = liveness.next_ping() else {
                    return Err(Fault::Reconnect("the relay stopped answering pings".into()));
                };
                send(ws, &DeviceFrame::Ping { n }).await?;
            }
        }
    }
}
