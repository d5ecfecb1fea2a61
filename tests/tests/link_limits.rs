//! The session link under a device that pushes its limits, through the
//! relay rcd embeds: the largest screen, full of colour, reaches the
//! device whole without the link dropping; a burst of input is slowed
//! down, not dropped; a device that stops reading is closed.

use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::Secret;
use rcd_proto::stream::{self, DaemonMsg, DeviceMsg, MAX_FRAME_COLS, MAX_FRAME_ROWS, Row};
use rcd_tests::device::{encode, hello, runtime};
use rcd_tests::{Daemon, Options, remote, stdout_of, wait_for};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A daemon with its embedded relay, a paired device token, and the
/// session `name` created through the relay.
struct World {
    daemon: Daemon,
    url: String,
    token: String,
    env: String,
}

fn world(name: &str) -> World {
    let daemon = Daemon::start(Options::with_args(
        false,
        &["--listen", "127.0.0.1:0", "--name", "home"],
    ));
    let (url, token) = rcd_tests::pair_with_embedded(&daemon);
    stdout_of(
        &remote(
            &url,
            &token,
            None,
            &["new", "--env", "home", "--name", name],
        ),
        "new",
    );
    let list: serde_json::Value = serde_json::from_str(&stdout_of(
        &remote(&url, &token, None, &["list", "--json"]),
        "list",
    ))
    .expect("list --json");
    let env = list[0]["env_id"].as_str().expect("env_id").to_string();
    World {
        daemon,
        url,
        token,
        env,
    }
}

impl World {
    /// How many times the session's link has connected.
    fn links_up(&self) -> usize {
        self.daemon.log_text().matches("session link up").count()
    }

    async fn attach(&self, name: &str) -> rcd_net::WebSocket {
        let client = rcd_net::Relay::new(&self.url, None).expect("client");
        client
            .attach(&Secret(self.token.clone()), &self.env, name)
            .await
            .expect("attach")
    }
}

/// The text of row `r` that the colour program below prints.
fn colour_row(r: u32) -> String {
    (0..u32::from(MAX_FRAME_COLS))
        .map(|c| char::from(b'!' + ((r * 7 + c) % 90) as u8))
        .collect()
}

/// A program filling the screen's first rows with `colour_row`, every
/// character in 24-bit colours of its own, then waiting.
fn colour_program(rows: u32) -> String {
    format!(
        "awk 'BEGIN {{ for (r = 0; r < {rows}; r++) {{ s = \"\"; for (c = 0; c < {cols}; c++) \
         s = s sprintf(\"\\033[38;2;%d;%d;%dm\\033[48;2;%d;%d;%dm%c\", (r*7+c)%256, (c*13)%256, (r*c)%256, \
         (c*5)%256, (r*3)%256, (r+c)%256, 33+(r*7+c)%90); printf \"\\033[%d;1H%s\\033[0m\", r+1, s }} \
         printf \"\\033[%d;1H\", {rows}+1; system(\"sleep 600\") }}'\r",
        cols = MAX_FRAME_COLS,
    )
}

#[test]
fn the_largest_screen_in_colour_reaches_a_device_without_the_link_dropping() {
    let w = world("big");
    wait_for("the session link", Duration::from_secs(20), || {
        w.links_up() >= 1
    });
    let rows = u32::from(MAX_FRAME_ROWS) - 2;
    let rt = runtime();
    rt.block_on(async {
        let mut ws = w.attach("big").await;
        ws.send(hello("big-device")).await.expect("hello");
        // Larger than rcd serves: clamped to the maximum.
        ws.send(encode(&DeviceMsg::Resize {
            rows: 1000,
            cols: 1000,
        }))
        .await
        .expect("resize");
        ws.send(encode(&DeviceMsg::Input {
            seq: 1,
            bytes: colour_program(rows).into_bytes(),
        }))
        .await
        .expect("input");
        let mut copy: Vec<Row> = Vec::new();
        let mut have = 0;
        let mut parts = 0;
        let mut largest = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        let whole = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = tokio::time::timeout(left, ws.next())
                .await
                .expect("the whole screen within 60 s")
                .expect("the socket stays open")
                .expect("no socket error");
            let frame = match msg {
                Message::Binary(b) => {
                    largest = largest.max(b.len());
                    match serde_json::from_slice::<DaemonMsg>(&b).expect("a DaemonMsg") {
                        DaemonMsg::Screen(f) => f,
                        DaemonMsg::Error { message } => panic!("the daemon said: {message}"),
                        _ => continue,
                    }
                }
                Message::Text(t) => {
                    assert!(!t.contains("\"up\":false"), "the link dropped: {t}");
                    continue;
                }
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            };
            assert!(
                stream::apply(&mut copy, have, &frame),
                "frame {} on base {}, the device has {have}",
                frame.version,
                frame.base
            );
            have = frame.version;
            ws.send(encode(&DeviceMsg::Ack { version: have }))
                .await
                .expect("ack");
            if frame.partial {
                parts += 1;
                continue;
            }
            let done = frame.rows == MAX_FRAME_ROWS
                && frame.cols == MAX_FRAME_COLS
                && (0..rows).all(|r| copy[r as usize].text() == colour_row(r));
            if done {
                break frame;
            }
        };
        assert!(parts >= 2, "a screen this large comes in parts ({parts})");
        assert!(largest <= rcd_net::MAX_WS_MESSAGE, "{largest} bytes");
        // In colour, as the program wrote it.
        let run = &copy[5].runs[10];
        let (r, c) = (5u32, 10u32);
        let fg = format!(
            "#{:02x}{:02x}{:02x}",
            (r * 7 + c) % 256,
            (c * 13) % 256,
            (r * c) % 256
        );
        assert_eq!(run.fg.as_deref(), Some(fg.as_str()), "{run:?}");
        assert!(whole.cursor.0 >= rows as u16);
        // The link stays up: nothing reconnects in the next seconds.
        let quiet = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) if t.contains("\"up\":false") => {
                        return t.to_string();
                    }
                    Some(Ok(Message::Close(c))) => return format!("closed: {c:?}"),
                    None | Some(Err(_)) => return "the socket ended".into(),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        if let Ok(what) = quiet {
            panic!("after the screen: {what}");
        }
    });
    assert_eq!(
        w.links_up(),
        1,
        "the link connected once:\n{}",
        w.daemon.log_text()
    );
    // rcctl's device gets the whole screen too.
    let screen = stdout_of(
        &remote(&w.url, &w.token, None, &["screen", "big"]),
        "screen",
    );
    assert!(screen.contains(&colour_row(7)), "{screen}");
}

#[test]
fn a_burst_of_input_is_slowed_down_not_dropped_and_a_device_that_stops_reading_is_closed() {
    let w = world("burst");
    let out = w.daemon.work.join("typed.txt");
    w.daemon.ok(&[
        "send",
        "burst",
        &format!("stty -echo; cat > {}", out.display()),
    ]);
    std::thread::sleep(Duration::from_millis(500));
    const INPUTS: u64 = 2000;
    let rt = runtime();
    rt.block_on(async {
        let ws = w.attach("burst").await;
        let (mut tx, mut rx) = ws.split();
        tx.send(hello("burst-device")).await.expect("hello");
        // The reader reads everything, from the start.
        let reader = tokio::spawn(async move {
            let mut acked = 0;
            let mut greeted = false;
            while acked < INPUTS {
                let msg = match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
                    Ok(Some(Ok(m))) => m,
                    other => return Err(format!("after ack {acked}: {other:?}")),
                };
                match msg {
                    Message::Binary(b) => match serde_json::from_slice::<DaemonMsg>(&b) {
                        Ok(DaemonMsg::Hello { .. }) => greeted = true,
                        Ok(DaemonMsg::InputAck { seq }) => {
                            assert!(seq >= acked, "acks only grow");
                            acked = seq;
                        }
                        _ => {}
                    },
                    Message::Close(c) => return Err(format!("closed after ack {acked}: {c:?}")),
                    _ => {}
                }
            }
            Ok(greeted)
        });
        // Every input at once, without waiting for anything.
        for seq in 1..=INPUTS {
            tx.feed(encode(&DeviceMsg::Input {
                seq,
                bytes: format!("{seq:05}\n").into_bytes(),
            }))
            .await
            .expect("input");
        }
        tx.flush().await.expect("flush");
        let greeted = reader
            .await
            .expect("reader")
            .expect("every input acknowledged");
        assert!(greeted);
    });
    let want: String = (1..=INPUTS).map(|s| format!("{s:05}\n")).collect();
    wait_for("every input in the file", Duration::from_secs(20), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.len() >= want.len())
    });
    assert_eq!(
        std::fs::read_to_string(&out).expect("typed.txt"),
        want,
        "every input exactly once, in order"
    );

    // A device that sends and never reads: its answers pile up until it is
    // closed as too slow (4001). Each hello is answered with a full frame.
    rt.block_on(async {
        let ws = w.attach("burst").await;
        let (mut tx, mut rx) = ws.split();
        let writer = tokio::spawn(async move {
            for _ in 0..50_000 {
                if tx.send(hello("deaf-device")).await.is_err() {
                    return;
                }
            }
        });
        // The relay reads it while the daemon keeps up, and closes it once
        // its queue is full or a write to it is stuck for 20 s
        // (DEVICE_WRITE_TIMEOUT); the writer then ends too.
        tokio::time::timeout(Duration::from_secs(60), writer)
            .await
            .expect("the writer ends")
            .expect("writer");
        // What came before is still there to read, then the end (a close
        // frame saying why, unless it did not fit the full buffers).
        // Not reading for longer than the relay lets one write wait.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let end = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match rx.next().await {
                    Some(Ok(Message::Close(c))) => return c.map(|c| c.code),
                    None | Some(Err(_)) => return None,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .expect("the socket ends");
        assert!(
            matches!(end, None | Some(CloseCode::Library(4001))),
            "closed as too slow: {end:?}"
        );
    });
    // The session is still served.
    w.daemon.ok(&["send", "burst", "after"]);
}
