//! A session's stream: one WebSocket per session to the relay, carrying
//! the session protocol with every device attached to it.
//!
//! [`manage`] keeps one stream per linked session; [`run`] reconnects it;
//! [`serve`] reads the link's frames and the session's changes and hands
//! each device's part to its [`Device`] core (`device.rs`), which decides
//! what to send. Input is applied through [`Session::apply_input`], which
//! only takes the next sequence number of that device's `client_id`, so a
//! device that resends after a reconnect never types twice.

use super::device::{self, Device};
use super::retry::Retry;
use super::{Shared, linkable};
use crate::pty::Size;
use crate::session::{Session, Status};
use futures_util::{SinkExt, StreamExt};
use rcd_net::WebSocket;
use rcd_proto::liveness::{self, Liveness};
use rcd_proto::relay::{CLIENT_PREFIX, LinkFrame, link_message, split_link_message};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Dims};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How often the link pings the relay; two missed pongs end it.
const PING_EVERY: Duration = Duration::from_secs(15);

/// Keeps one link task per linkable session, following the supervisor.
pub async fn manage(shared: Arc<Shared>) {
    let mut changes = shared.sup.subscribe();
    let mut links: HashMap<String, (Arc<Session>, JoinHandle<()>)> = HashMap::new();
    loop {
        let want = linkable(&shared.sup);
        links.retain(|name, (sess, task)| {
            let keep = want.get(name).is_some_and(|s| Arc::ptr_eq(s, sess)) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (name, sess) in want {
            links.entry(name).or_insert_with(|| {
                let task = tokio::spawn(run(shared.clone(), sess.clone()));
                (sess, task)
            });
        }
        if changes.changed().await.is_err() {
            break;
        }
    }
    for (_, (_, t)) in links {
        t.abort();
    }
}

/// Keeps the session's link up, reconnecting as [`super::retry`] says
/// (and at once on a new registration).
async fn run(shared: Arc<Shared>, session: Arc<Session>) {
    let name = session.name.to_string();
    let span = tracing::info_span!("link", session = %name);
    let mut backoff = Retry::new(Duration::from_millis(300), Duration::from_secs(15));
    let mut env_rx = shared.env.subscribe();
    loop {
        // Wait for a registration.
        let auth = loop {
            if let Some(a) = env_rx.borrow_and_update().clone() {
                break a;
            }
            if env_rx.changed().await.is_err() {
                return;
            }
        };
        let connect = async {
            let cred = shared
                .relay
                .session_credential(&auth.id, &name, &auth.credential)
                .await?;
            shared
                .relay
                .session_link(&auth.id, &name, &cred.token)
                .await
        };
        // A new registration while connecting (a wake from sleep, the
        // relay back after a restart): this attempt may wait on a dead
        // connection for its whole time limit; start again at once.
        let link = tokio::select! {
            r = connect => r,
            () = registered_again(&mut env_rx, auth.registration) => continue,
        };
        let delay = match link {
            Ok(ws) => {
                span.in_scope(|| tracing::debug!("session link up"));
                backoff.reset();
                let ended = tokio::select! {
                    r = serve(ws, &session) => r,
                    () = registered_again(&mut env_rx, auth.registration) => {
                        Err("registered again: a new link replaces this one".into())
                    }
                };
                if let Err(e) = ended {
                    span.in_scope(|| tracing::debug!("session link down: {e}"));
                }
                // It was up: try again soon (or at the next registration).
                backoff.after_answer()
            }
            Err(e) => {
                span.in_scope(|| tracing::debug!("session link down: {e}"));
                backoff.after(&e)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // A new registration: try at once.
            _ = env_rx.changed() => {}
        }
    }
}

/// Returns once the environment has registered again after registration
/// `current`: a link of an earlier registration may be half-open (a relay
/// that restarted on another machine, a wake from sleep, a partition),
/// and waiting for its pings to fail would leave devices without the
/// session for up to 45 s.
async fn registered_again(
    env: &mut tokio::sync::watch::Receiver<Option<super::EnvAuth>>,
    current: u64,
) {
    loop {
        if env
            .borrow_and_update()
            .as_ref()
            .is_some_and(|a| a.registration != current)
        {
            return;
        }
        if env.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Sends `msg` to `client`: a binary message, the client in front of the
/// message's JSON, encoded once. A message over the relay's limit would close the link (and the
/// next one, for ever): it is not sent, and the device is told why.
async fn send(ws: &mut WebSocket, client: u64, msg: &DaemonMsg) -> Result<(), String> {
    let mut buf = link_message(client, msg);
    if buf.len() - CLIENT_PREFIX > device::FRAME_BUDGET {
        tracing::warn!(
            client,
            len = buf.len(),
            "a session message over the relay's limit was not sent"
        );
        let message = format!("a message of {} bytes was too large to send", buf.len());
        buf = link_message(client, &DaemonMsg::Error { message });
    }
    ws.send(Message::binary(buf))
        .await
        .map_err(|e| e.to_string())
}

async fn send_all(
    ws: &mut WebSocket,
    client: u64,
    msgs: impl IntoIterator<Item = DaemonMsg>,
) -> Result<(), String> {
    for m in msgs {
        send(ws, client, &m).await?;
    }
    Ok(())
}

/// Serves one link until it breaks.
async fn serve(mut ws: WebSocket, session: &Session) -> Result<(), String> {
    let mut devices: HashMap<u64, Device> = HashMap::new();
    // The last input applied per device, not yet acknowledged: an
    // `input-ack` is cumulative, so a burst of inputs read together is
    // answered once, after the burst, not once per input (which filled
    // the device's queue at the relay and got it closed as too slow).
    let mut acks: HashMap<u64, u64> = HashMap::new();
    let mut screen = session.screen_changes();
    let mut sizes = session.size_changes();
    let mut ping = liveness::beat(PING_EVERY);
    let mut live = Liveness::new();
    let mut exited: Option<i32> = match session.status() {
        Status::Exited(c) => Some(c),
        Status::Running => None,
    };
    loop {
        tokio::select! {
            // The link first, the acknowledgements last: they wait while
            // more messages are ready to read.
            biased;
            msg = ws.next() => {
                let text = match msg {
                    None | Some(Ok(Message::Close(_))) => return Err("closed by the relay".into()),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(b))) => {
                        let Some((client, payload)) = split_link_message(&b) else {
                            tracing::warn!("garbage on the session link: a binary message names no client");
                            continue;
                        };
                        let device = devices.entry(client).or_default();
                        let msg: DeviceMsg = match serde_json::from_slice(payload) {
                            Ok(m) => m,
                            Err(e) => {
                                send(&mut ws, client, &DaemonMsg::Error { message: format!("cannot decode the message: {e}") }).await?;
                                continue;
                            }
                        };
                        device_message(&mut ws, client, device, msg, session, exited, &mut acks).await?;
                        continue;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                };
                let frame: LinkFrame = match serde_json::from_str(text.as_str()) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!("garbage on the session link: {e}");
                        continue;
                    }
                };
                match frame {
                    LinkFrame::Open { client, device } => {
                        tracing::debug!(client, device = %device, "device attached");
                        devices.insert(client, Device::new());
                    }
                    LinkFrame::Close { client } => {
                        devices.remove(&client);
                        acks.remove(&client);
                    }
                    LinkFrame::Ping { n } => {
                        let pong = serde_json::to_string(&LinkFrame::Pong { n }).map_err(|e| e.to_string())?;
                        ws.send(Message::text(pong)).await.map_err(|e| e.to_string())?;
                    }
                    LinkFrame::Pong { n } => live.pong(n),
                }
            }
            Ok(()) = screen.changed() => {
                for (id, device) in devices.iter_mut() {
                    send_all(&mut ws, *id, device.next_frame(|| session.styled())).await?;
                }
            }
            Ok(()) = sizes.changed() => {
                let sizing = sizes.borrow_and_update().clone();
                for (id, device) in devices.iter() {
                    send_all(&mut ws, *id, device.size_note(&sizing)).await?;
                }
            }
            code = session.wait(), if exited.is_none() => {
                exited = Some(code);
                for (id, device) in devices.iter_mut() {
                    send_all(&mut ws, *id, device.exited(code, || session.styled())).await?;
                }
            }
            _ = ping.tick() => {
                let Some(n) = live.next_ping() else {
                    return Err("the relay stopped answering pings".into());
                };
                let p = serde_json::to_string(&LinkFrame::Ping { n }).map_err(|e| e.to_string())?;
                ws.send(Message::text(p)).await.map_err(|e| e.to_string())?;
            }
            () = std::future::ready(()), if !acks.is_empty() => {
                for (id, seq) in std::mem::take(&mut acks) {
                    if devices.contains_key(&id) {
                        send(&mut ws, id, &DaemonMsg::InputAck { seq }).await?;
                    }
                }
            }
        }
    }
}

/// One message of a device: the core decides, this sends.
#[allow(clippy::too_many_arguments)]
async fn device_message(
    ws: &mut WebSocket,
    id: u64,
    device: &mut Device,
    msg: DeviceMsg,
    session: &Session,
    exited: Option<i32>,
    acks: &mut HashMap<u64, u64>,
) -> Result<(), String> {
    let now = || session.styled();
    match msg {
        DeviceMsg::Hello {
            protocol,
            client_id,
            size,
            label,
        } => {
            let input_seq = session.input_seq(&client_id).await;
            device.describe(size, label);
            let mut out = device.hello(protocol, client_id, input_seq, session.info(), exited, now);
            let sizing = session.size_changes().borrow().clone();
            out.extend(device.size_note(&sizing));
            send_all(ws, id, out).await
        }
        DeviceMsg::Input { seq, bytes } => {
            let answer = match device.client_id() {
                Ok(client_id) => {
                    // The size of whoever types (in the `latest` mode).
                    session.typed_by(client_id, device.label(), device.size());
                    device::input_answer(session.apply_input(client_id, seq, bytes).await)
                }
                Err(refusal) => refusal,
            };
            match answer {
                // Sent once the messages already here are read.
                DaemonMsg::InputAck { seq } => {
                    acks.insert(id, seq);
                    Ok(())
                }
                other => {
                    if let Some(seq) = acks.remove(&id) {
                        send(ws, id, &DaemonMsg::InputAck { seq }).await?;
                    }
                    send(ws, id, &other).await
                }
            }
        }
        DeviceMsg::Ack { version } => send_all(ws, id, device.ack(version, now)).await,
        DeviceMsg::Resize { rows, cols } => {
            let who = device.client_id().unwrap_or("");
            session.resize_by(who, device.label(), Size::clamped(rows, cols));
            Ok(())
        }
        DeviceMsg::Size { rows, cols } => {
            if let (Some(size), Ok(who)) = (device.moved(Dims { rows, cols }), device.client_id()) {
                session.client_moved(who, device.label(), size);
            }
            Ok(())
        }
        DeviceMsg::SizeMode { mode } => {
            session.set_size_mode(mode, device.label());
            Ok(())
        }
        DeviceMsg::Transcript { from, max_lines } => {
            let answer = device::transcript_answer(session.transcript(from, max_lines));
            send(ws, id, &answer).await
        }
        DeviceMsg::Ping { n } => send(ws, id, &DaemonMsg::Pong { n }).await,
    }
}
