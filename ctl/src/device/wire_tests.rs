//! The client against a fake relay (and daemon) on loopback: the socket
//! side of reconnection, resend and link changes.

use super::*;
use crate::backend::relay::{Options, Remote};
use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{DeviceFrame, RELAY_PROTOCOL_VERSION, Secret};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row, Run, ScreenFrame};
use rcd_proto::{SessionInfo, SessionState, SpawnMode, TranscriptPage};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the fake daemon got, and how it misbehaves.
#[derive(Debug, Default)]
struct Fake {
    /// Bytes applied, in order.
    typed: Vec<u8>,
    last_seq: u64,
    connections: u32,
    /// On the first connection: close the socket right after applying
    /// this seq, without acknowledging it.
    drop_after: Option<u64>,
    /// On the first input of the first connection: the link goes down
    /// (the input is lost) and comes back as a new link that needs a
    /// new hello.
    flap_link: bool,
    hellos: u32,
    /// Behave as a relay of protocol 1: a binary message closes the
    /// socket with 1003.
    protocol_1: bool,
}

fn session_info() -> SessionInfo {
    SessionInfo {
        id: "s1".into(),
        name: "web".into(),
        state: SessionState::Running,
        dir: "/w".into(),
        spawn: SpawnMode::SameDir,
        branch: None,
        pid: Some(9),
        created_at: "2026-01-01T00:00:00Z".into(),
        command: vec![],
        program: None,
        exit_code: None,
        worktree: None,
        sandboxed: false,
        attention: None,
        change: None,
        last_activity: None,
    }
}

fn screen_of(typed: &[u8], version: u64) -> ScreenFrame {
    ScreenFrame {
        version,
        base: 0,
        rows: 2,
        cols: 20,
        changed: vec![(
            0,
            Row {
                runs: vec![Run {
                    text: String::from_utf8_lossy(typed).into_owned(),
                    ..Run::default()
                }],
            },
        )],
        cursor: (0, typed.len() as u16),
        cursor_visible: true,
        title: String::new(),
        app_cursor: false,
        bracketed_paste: false,
        partial: false,
    }
}

/// The relay's admission: the device token in the header, the route.
#[allow(clippy::result_large_err)] // the handshake callback's signature
fn check(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some("Bearer rcdev_good") {
        let body = r#"{"kind":"unauthorized","message":"no"}"#.to_string();
        return Err(tokio_tungstenite::tungstenite::http::Response::builder()
            .status(401)
            .body(Some(body))
            .unwrap());
    }
    assert_eq!(
        req.uri().path(),
        "/api/v1/environments/e1/sessions/web/attach"
    );
    Ok(resp)
}

async fn serve_fake(listener: TcpListener, fake: Arc<Mutex<Fake>>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let fake = fake.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await else {
                return;
            };
            let first = {
                let mut f = fake.lock().unwrap();
                f.connections += 1;
                f.connections == 1
            };
            let mut greeted = false;
            let mut flapped = false;
            let mut version = 1;
            let send = |msg: &DaemonMsg| Message::binary(serde_json::to_vec(msg).unwrap());
            let protocol_1 = fake.lock().unwrap().protocol_1;
            while let Some(Ok(m)) = ws.next().await {
                let payload = match m {
                    Message::Binary(b) => b,
                    Message::Text(t) => {
                        // Envelopes only: the device pings the relay.
                        let _: DeviceFrame = serde_json::from_str(t.as_str()).unwrap();
                        continue;
                    }
                    Message::Close(_) => break,
                    _ => continue,
                };
                if protocol_1 {
                    let close = CloseFrame {
                        code: CloseCode::Unsupported,
                        reason: "binary messages are not accepted".into(),
                    };
                    let _ = ws.close(Some(close)).await;
                    return;
                }
                let msg: DeviceMsg = serde_json::from_slice(&payload).unwrap();
                match msg {
                    DeviceMsg::Hello { client_id, .. } => {
                        assert!(client_id.starts_with("rcctl-"));
                        greeted = true;
                        let (seq, typed) = {
                            let mut f = fake.lock().unwrap();
                            f.hellos += 1;
                            (f.last_seq, f.typed.clone())
                        };
                        version += 1;
                        let hello = DaemonMsg::Hello {
                            protocol: RELAY_PROTOCOL_VERSION,
                            session: Box::new(session_info()),
                            input_seq: seq,
                        };
                        ws.send(send(&hello)).await.unwrap();
                        let screen = DaemonMsg::Screen(screen_of(&typed, version));
                        ws.send(send(&screen)).await.unwrap();
                    }
                    DeviceMsg::Input { seq, bytes } => {
                        let flap = first && !flapped && fake.lock().unwrap().flap_link;
                        if flap {
                            // Lost with the link; the new link does not
                            // know this device.
                            flapped = true;
                            greeted = false;
                            for up in [false, true] {
                                let f = serde_json::to_string(&DeviceFrame::Link { up });
                                ws.send(Message::text(f.unwrap())).await.unwrap();
                            }
                            continue;
                        }
                        if !greeted {
                            let e = DaemonMsg::Error {
                                message: "say hello first".into(),
                            };
                            ws.send(send(&e)).await.unwrap();
                            continue;
                        }
                        let (last, drop_now) = {
                            let mut f = fake.lock().unwrap();
                            if seq == f.last_seq + 1 {
                                f.typed.extend_from_slice(&bytes);
                                f.last_seq = seq;
                            }
                            (f.last_seq, first && f.drop_after == Some(seq))
                        };
                        if drop_now {
                            return; // the socket just goes away
                        }
                        ws.send(send(&DaemonMsg::InputAck { seq: last }))
                            .await
                            .unwrap();
                    }
                    DeviceMsg::Transcript { from, max_lines } => {
                        let all: Vec<String> = (1..=5).map(|i| format!("line {i}")).collect();
                        let start = (from.max(1) - 1) as usize;
                        let lines: Vec<String> = all
                            .iter()
                            .skip(start)
                            .take(max_lines as usize)
                            .cloned()
                            .collect();
                        let page = DaemonMsg::Transcript(TranscriptPage {
                            from: from.max(1),
                            lines,
                            total: all.len() as u64,
                        });
                        ws.send(send(&page)).await.unwrap();
                    }
                    _ => {}
                }
            }
        });
    }
}

async fn start(fake: Fake) -> (Remote, Arc<Mutex<Fake>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(Mutex::new(fake));
    tokio::spawn(serve_fake(listener, fake.clone()));
    let remote = Remote::new(Options {
        url,
        token: Some("rcdev_good".into()),
        token_from: crate::backend::relay::TokenFrom::Flag,
        device: None,
        ca_cert: None,
    })
    .unwrap();
    (remote, fake)
}

fn target(remote: &Remote) -> Target {
    Target {
        relay: remote.relay.clone(),
        token: remote.token().unwrap().clone(),
        env_id: "e1".into(),
        session: "web".into(),
    }
}

/// Events until every input is acknowledged (bounded).
async fn until_acked(client: &mut SessionClient) -> Vec<Event> {
    let mut seen = Vec::new();
    let wait = async {
        while client.unacked() > 0 {
            seen.push(client.next_event().await.unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("all inputs acknowledged in time");
    seen
}

#[tokio::test]
async fn a_dropped_socket_resumes_without_losing_or_doubling_input() {
    let (remote, fake) = start(Fake {
        drop_after: Some(2),
        ..Fake::default()
    })
    .await;
    let mut client = SessionClient::connect(target(&remote), new_client_id())
        .await
        .unwrap();
    for key in ["a", "b", "c", "d"] {
        client.input(key.as_bytes());
    }
    let events = until_acked(&mut client).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Reconnecting { .. })),
        "{events:?}"
    );
    let resumed = events.iter().rev().find_map(|e| match e {
        Event::Ready { input_seq, .. } => Some(*input_seq),
        _ => None,
    });
    assert_eq!(resumed, Some(2), "the daemon had applied two: {events:?}");
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.typed, b"abcd");
        assert_eq!(f.connections, 2);
    }
    // The reconnected socket is in use: a new key goes through it.
    client.input(b"e");
    until_acked(&mut client).await;
    assert_eq!(fake.lock().unwrap().typed, b"abcde");
    // The full frame after the reconnection applied.
    assert!(client.screen().version > 0);
    client.close().await;
}

#[tokio::test]
async fn a_new_link_is_greeted_again_and_gets_the_lost_input() {
    let (remote, fake) = start(Fake {
        flap_link: true,
        ..Fake::default()
    })
    .await;
    let mut client = SessionClient::connect(target(&remote), new_client_id())
        .await
        .unwrap();
    // Wait for the first hello, so the input goes out on this link.
    let ready = async {
        loop {
            if let Event::Ready { .. } = client.next_event().await.unwrap() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap();
    client.input(b"ls\r");
    let events = until_acked(&mut client).await;
    assert!(events.contains(&Event::Link { up: false }), "{events:?}");
    assert!(events.contains(&Event::Link { up: true }), "{events:?}");
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.typed, b"ls\r");
        assert_eq!((f.connections, f.hellos), (1, 2));
    }
    client.close().await;
}

#[tokio::test]
async fn the_first_screen_and_transcript_pages() {
    let (remote, fake) = start(Fake::default()).await;
    fake.lock().unwrap().typed = b"$ echo hi".to_vec();
    let mut client = SessionClient::connect(target(&remote), new_client_id())
        .await
        .unwrap();
    let screen = async {
        loop {
            if let Event::Screen = client.next_event().await.unwrap() {
                break client.screen();
            }
        }
    };
    let screen = tokio::time::timeout(Duration::from_secs(10), screen)
        .await
        .unwrap();
    assert_eq!(screen.text().rows, ["$ echo hi", ""]);
    assert_eq!(screen.text().cursor, (0, 9));
    let mut out = Vec::new();
    let mut next = 2;
    let all = async {
        loop {
            client.transcript(next, 2);
            let page = loop {
                if let Event::Transcript(p) = client.next_event().await.unwrap() {
                    break p;
                }
            };
            match crate::cmd::transcript::print_page(&mut out, &page, true).unwrap() {
                Some(n) => next = n,
                None => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), all)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "     2  line 2\n     3  line 3\n     4  line 4\n     5  line 5\n"
    );
    client.close().await;
}

#[tokio::test]
async fn a_refused_token_is_reported_at_once() {
    let (mut remote, _fake) = start(Fake::default()).await;
    remote.token = Some(Secret("rcdev_bad".into()));
    let err = SessionClient::connect(target(&remote), new_client_id())
        .await
        .map_err(|e| remote.error(e, Some("web")))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the relay refused --token (revoked, or from another relay?)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_relay_of_protocol_1_is_named_and_not_retried() {
    let (remote, fake) = start(Fake {
        protocol_1: true,
        ..Fake::default()
    })
    .await;
    let mut client = SessionClient::connect(target(&remote), new_client_id())
        .await
        .unwrap();
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Err(gone) = client.next_event().await {
                break gone;
            }
        }
    })
    .await
    .expect("the client gives up in time");
    let Gone::Protocol(message) = gone else {
        panic!("{gone:?}");
    };
    assert!(
        message.contains("relay protocol 1")
            && message.contains(&format!("speaks {RELAY_PROTOCOL_VERSION}")),
        "{message}"
    );
    assert_eq!(fake.lock().unwrap().connections, 1, "not retried");
}
