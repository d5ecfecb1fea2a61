//! One WebSocket per session to the relay, and the devices behind it.
//!
//! For each device the link keeps the screen version it acknowledged and
//! the one in flight. A new frame goes out only when nothing is in flight,
//! as the rows that differ from the acknowledged version (or every row for
//! a device that has none). Input is applied through
//! [`Session::apply_input`], which only takes the next sequence number of
//! that device's `client_id`, so a device that resends after a reconnect
//! never types twice.

use super::{Shared, linkable};
use crate::pty::Size;
use crate::session::{Session, Status};
use crate::term::StyledScreen;
use futures_util::{SinkExt, StreamExt};
use rcd_net::Backoff;
use rcd_net::WebSocket;
use rcd_proto::TranscriptPage;
use rcd_proto::liveness::Liveness;
use rcd_proto::relay::{Credential, LinkFrame, RELAY_PROTOCOL_VERSION};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, ScreenFrame};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Most bytes of lines in one transcript page on the link, well under
/// the 1 MiB message limit once escaped and wrapped.
const MAX_PAGE_BYTES: usize = 256 * 1024;

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

/// Keeps the session's link up, reconnecting with backoff.
async fn run(shared: Arc<Shared>, session: Arc<Session>) {
    let name = session.name.to_string();
    let span = tracing::info_span!("link", session = %name);
    let mut backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(15));
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
        let cred: Result<Credential, _> = shared
            .relay
            .post(
                &format!("/environments/{}/sessions/{name}/credential", auth.id),
                Some(&auth.credential),
                &(),
            )
            .await;
        let result = match cred {
            Ok(cred) => {
                let path = format!("/environments/{}/sessions/{name}/link", auth.id);
                match shared.relay.websocket(&path, &cred.token).await {
                    Ok(ws) => {
                        span.in_scope(|| tracing::debug!("session link up"));
                        backoff.reset();
                        serve(ws, &session).await
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            span.in_scope(|| tracing::debug!("session link down: {e}"));
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // A new registration: try at once.
            _ = env_rx.changed() => {}
        }
    }
}

/// What the link knows about one attached device.
#[derive(Debug, Default)]
struct Client {
    client_id: Option<String>,
    acked: Option<StyledScreen>,
    inflight: Option<StyledScreen>,
    exited_sent: bool,
}

async fn send(ws: &mut WebSocket, client: u64, msg: &DaemonMsg) -> Result<(), String> {
    let data = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    let frame =
        serde_json::to_string(&LinkFrame::Data { client, data }).map_err(|e| e.to_string())?;
    ws.send(Message::text(frame))
        .await
        .map_err(|e| e.to_string())
}

fn frame(acked: Option<&StyledScreen>, now: &StyledScreen) -> ScreenFrame {
    let rows = u16::try_from(now.rows.len()).unwrap_or(u16::MAX);
    let changed: Vec<(u16, rcd_proto::stream::Row)>;
    let base = match acked {
        Some(a) if a.rows.len() == now.rows.len() && a.cols == now.cols => {
            changed = now
                .rows
                .iter()
                .enumerate()
                .filter(|(i, r)| a.rows.get(*i) != Some(*r))
                .map(|(i, r)| (i as u16, r.clone()))
                .collect();
            a.version
        }
        _ => {
            changed = now
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i as u16, r.clone()))
                .collect();
            0
        }
    };
    ScreenFrame {
        version: now.version,
        base,
        rows,
        cols: now.cols,
        changed,
        cursor: now.cursor,
        cursor_visible: now.cursor_visible,
        title: now.title.clone(),
        app_cursor: now.app_cursor,
    }
}

/// Sends the next screen frame to a device if it has none in flight and
/// the screen moved on from what it acknowledged.
async fn push_screen(
    ws: &mut WebSocket,
    id: u64,
    c: &mut Client,
    session: &Session,
) -> Result<(), String> {
    if c.client_id.is_none() || c.inflight.is_some() {
        return Ok(());
    }
    let now = session.styled();
    if c.acked.as_ref().is_some_and(|a| a.version == now.version) {
        return Ok(());
    }
    let f = frame(c.acked.as_ref(), &now);
    send(ws, id, &DaemonMsg::Screen(f)).await?;
    c.inflight = Some(now);
    Ok(())
}

/// Serves one link until it breaks.
async fn serve(mut ws: WebSocket, session: &Session) -> Result<(), String> {
    let mut clients: HashMap<u64, Client> = HashMap::new();
    let mut screen = session.screen_changes();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut live = Liveness::new();
    let mut exited: Option<i32> = match session.status() {
        Status::Exited(c) => Some(c),
        Status::Running => None,
    };
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    None | Some(Ok(Message::Close(_))) => return Err("closed by the relay".into()),
                    Some(Ok(Message::Text(t))) => t,
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
                        clients.insert(client, Client::default());
                    }
                    LinkFrame::Close { client } => {
                        clients.remove(&client);
                    }
                    LinkFrame::Ping { n } => {
                        let pong = serde_json::to_string(&LinkFrame::Pong { n }).map_err(|e| e.to_string())?;
                        ws.send(Message::text(pong)).await.map_err(|e| e.to_string())?;
                    }
                    LinkFrame::Pong { n } => live.pong(n),
                    LinkFrame::Data { client, data } => {
                        let c = clients.entry(client).or_default();
                        let msg: DeviceMsg = match serde_json::from_str(&data) {
                            Ok(m) => m,
                            Err(e) => {
                                send(&mut ws, client, &DaemonMsg::Error { message: format!("cannot decode the message: {e}") }).await?;
                                continue;
                            }
                        };
                        device_message(&mut ws, client, c, msg, session, exited).await?;
                    }
                }
            }
            Ok(()) = screen.changed() => {
                for (id, c) in clients.iter_mut() {
                    push_screen(&mut ws, *id, c, session).await?;
                }
            }
            code = session.wait(), if exited.is_none() => {
                exited = Some(code);
                for (id, c) in clients.iter_mut() {
                    push_screen(&mut ws, *id, c, session).await?;
                    if c.client_id.is_some() && !c.exited_sent {
                        send(&mut ws, *id, &DaemonMsg::Exited { code }).await?;
                        c.exited_sent = true;
                    }
                }
            }
            _ = ping.tick() => {
                let Some(n) = live.next_ping() else {
                    return Err("the relay stopped answering pings".into());
                };
                let p = serde_json::to_string(&LinkFrame::Ping { n }).map_err(|e| e.to_string())?;
                ws.send(Message::text(p)).await.map_err(|e| e.to_string())?;
            }
        }
    }
}

async fn device_message(
    ws: &mut WebSocket,
    id: u64,
    c: &mut Client,
    msg: DeviceMsg,
    session: &Session,
    exited: Option<i32>,
) -> Result<(), String> {
    match msg {
        DeviceMsg::Hello {
            protocol,
            client_id,
        } => {
            if protocol != RELAY_PROTOCOL_VERSION {
                let message = format!(
                    "this device speaks session protocol {protocol}, rcd {} speaks {}: \
                     update the older one",
                    rcd_proto::PACKAGE_VERSION,
                    RELAY_PROTOCOL_VERSION
                );
                return send(ws, id, &DaemonMsg::Error { message }).await;
            }
            let input_seq = session.input_seq(&client_id).await;
            c.client_id = Some(client_id);
            c.acked = None;
            c.inflight = None;
            send(
                ws,
                id,
                &DaemonMsg::Hello {
                    protocol: RELAY_PROTOCOL_VERSION,
                    session: Box::new(crate::supervisor::info(session)),
                    input_seq,
                },
            )
            .await?;
            push_screen(ws, id, c, session).await?;
            if let Some(code) = exited {
                send(ws, id, &DaemonMsg::Exited { code }).await?;
                c.exited_sent = true;
            }
        }
        DeviceMsg::Input { seq, bytes } => {
            let Some(client_id) = c.client_id.clone() else {
                return send(
                    ws,
                    id,
                    &DaemonMsg::Error {
                        message: "say hello first".into(),
                    },
                )
                .await;
            };
            match session.apply_input(&client_id, seq, bytes).await {
                Ok(last) => send(ws, id, &DaemonMsg::InputAck { seq: last }).await?,
                Err(_) => {
                    let message = "the session's program has exited; input refused".to_string();
                    send(ws, id, &DaemonMsg::Error { message }).await?;
                }
            }
        }
        DeviceMsg::Ack { version } => {
            if c.inflight.as_ref().is_some_and(|f| f.version == version) {
                c.acked = c.inflight.take();
                push_screen(ws, id, c, session).await?;
            }
        }
        DeviceMsg::Resize { rows, cols } => {
            session.resize(Size::clamped(rows, cols));
        }
        DeviceMsg::Transcript { from, max_lines } => {
            let msg = match session.transcript(from, max_lines) {
                Ok((mut lines, total)) => {
                    // A page must fit in one WebSocket message.
                    let mut size = 0usize;
                    let fit = lines
                        .iter()
                        .position(|l| {
                            size += l.len() + 8;
                            size > MAX_PAGE_BYTES
                        })
                        .unwrap_or(lines.len())
                        .max(1);
                    lines.truncate(fit);
                    DaemonMsg::Transcript(TranscriptPage {
                        from: from.max(1),
                        lines,
                        total,
                    })
                }
                Err(e) => DaemonMsg::Error {
                    message: format!("cannot read the transcript: {e}"),
                },
            };
            send(ws, id, &msg).await?;
        }
        DeviceMsg::Ping { n } => send(ws, id, &DaemonMsg::Pong { n }).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::stream::{Row, Run, apply};

    fn screen(version: u64, rows: &[&str]) -> StyledScreen {
        StyledScreen {
            version,
            rows: rows
                .iter()
                .map(|t| Row {
                    runs: vec![Run {
                        text: t.to_string(),
                        ..Run::default()
                    }],
                })
                .collect(),
            cols: 10,
            cursor: (0, 0),
            cursor_visible: true,
            title: String::new(),
            app_cursor: false,
        }
    }

    #[test]
    fn frames_are_full_then_differences_from_the_acknowledged_version() {
        let a = screen(3, &["a", "b", "c"]);
        let f = frame(None, &a);
        assert_eq!((f.base, f.changed.len()), (0, 3));
        let b = screen(7, &["a", "B", "c"]);
        let d = frame(Some(&a), &b);
        assert_eq!(d.base, 3);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].0, 1);
        // A device applying both ends with the daemon's screen.
        let mut copy = Vec::new();
        assert!(apply(&mut copy, 0, &f));
        assert!(apply(&mut copy, 3, &d));
        assert_eq!(copy, b.rows);
        // A resize makes the next frame full.
        let c = screen(8, &["a", "B"]);
        assert_eq!(frame(Some(&b), &c).base, 0);
    }
}
