//! The session's size follows the device that types (docs/PROTOCOL.md,
//! "Who sets the size"), through the relay rcd embeds, with a real PTY:
//! each device's input resizes the terminal to that device's size first,
//! every device that said its size is told who set it, the `fixed` mode
//! keeps the size, and a device that says no size (an older one) neither
//! drives the size nor is sent the note.

use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{RELAY_PROTOCOL_VERSION, Secret};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Dims, SizeMode, SizeNote};
use rcd_tests::device::{encode, hello, pong, runtime};
use rcd_tests::{Daemon, Options, pair_with_embedded, remote, stdout_of, wait_for};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Ws = rcd_net::WebSocket;

/// A device: its socket, its next input's number, and the last size note
/// and screen size it was sent.
struct Dev {
    ws: Ws,
    seq: u64,
    note: Option<SizeNote>,
    screen: (u16, u16),
}

impl Dev {
    async fn open(url: &str, token: &str, env: &str, id: &str, size: Option<Dims>) -> Dev {
        let client = rcd_net::Relay::new(url, None).expect("client");
        let mut ws = client
            .attach(&Secret(token.into()), env, "s")
            .await
            .expect("attach");
        let msg = match size {
            Some(_) => encode(&DeviceMsg::Hello {
                protocol: RELAY_PROTOCOL_VERSION,
                client_id: id.into(),
                size,
                label: Some(format!("{id} device")),
            }),
            None => hello(id),
        };
        ws.send(msg).await.expect("hello");
        let mut d = Dev {
            ws,
            seq: 0,
            note: None,
            screen: (0, 0),
        };
        d.until("the hello", |m| matches!(m, DaemonMsg::Hello { .. }))
            .await;
        d
    }

    /// Reads (acknowledging frames) until `f` holds for a message.
    async fn until(&mut self, what: &str, mut f: impl FnMut(&DaemonMsg) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("waiting for {what}: note {:?}", self.note))
                .expect("open")
                .expect("read");
            if let Some(p) = pong(&m) {
                self.ws.send(p).await.expect("pong");
                continue;
            }
            let Message::Binary(b) = m else { continue };
            let msg: DaemonMsg = serde_json::from_slice(&b).expect("a session message");
            match &msg {
                DaemonMsg::Screen(f) => {
                    self.screen = (f.rows, f.cols);
                    self.ws
                        .send(encode(&DeviceMsg::Ack { version: f.version }))
                        .await
                        .expect("ack");
                }
                DaemonMsg::Size(n) => self.note = Some(n.clone()),
                _ => {}
            }
            if f(&msg) {
                return;
            }
        }
    }

    async fn send(&mut self, m: DeviceMsg) {
        self.ws.send(encode(&m)).await.expect("send");
    }

    async fn type_(&mut self, text: &str) {
        self.seq += 1;
        let m = DeviceMsg::Input {
            seq: self.seq,
            bytes: text.as_bytes().to_vec(),
        };
        self.send(m).await;
        let seq = self.seq;
        self.until(
            "the input's ack",
            |m| matches!(m, DaemonMsg::InputAck { seq: s } if *s >= seq),
        )
        .await;
    }

    /// Waits for a screen of `rows`×`cols`.
    async fn screen_of(&mut self, rows: u16, cols: u16) {
        let want = (rows, cols);
        if self.screen == want {
            return;
        }
        self.until(
            &format!("a {cols}×{rows} screen"),
            |m| matches!(m, DaemonMsg::Screen(f) if (f.rows, f.cols) == want),
        )
        .await;
    }

    async fn note_by(&mut self, by: &str, mode: SizeMode) {
        let ok = |n: &SizeNote| n.by == by && n.mode == mode;
        if self.note.as_ref().is_some_and(ok) {
            return;
        }
        self.until(
            &format!("a note of {by} ({mode:?})"),
            |m| matches!(m, DaemonMsg::Size(n) if ok(n)),
        )
        .await;
    }
}

#[test]
fn the_size_follows_the_device_that_types_unless_fixed() {
    let (daemon, url, token, env) = with_session();
    let phone = Dims { rows: 40, cols: 52 };
    let desk = Dims {
        rows: 35,
        cols: 150,
    };
    runtime().block_on(async {
        let mut p = Dev::open(&url, &token, &env, "phone", Some(phone)).await;
        let mut d = Dev::open(&url, &token, &env, "desk", Some(desk)).await;
        let mut old = Dev::open(&url, &token, &env, "old", None).await;
        p.note_by("the default", SizeMode::Latest).await;
        d.screen_of(24, 80).await;

        // Watching changes nothing; typing takes the typist's size.
        p.type_("stty size\r").await;
        p.screen_of(40, 52).await;
        d.screen_of(40, 52).await;
        d.note_by("phone device", SizeMode::Latest).await;
        p.note_by("phone device", SizeMode::Latest).await;
        assert!(p.note.as_ref().is_some_and(|n| n.yours), "the phone set it");
        assert!(
            d.note.as_ref().is_some_and(|n| !n.yours),
            "the desktop did not"
        );
        d.type_("stty size\r").await;
        p.screen_of(35, 150).await;
        p.note_by("desk device", SizeMode::Latest).await;

        // The program sees it too.
        let out = daemon.work.join("size.txt");
        p.type_(&format!("stty size > {}\r", out.display())).await;
        rcd_tests::wait_for("stty's answer", Duration::from_secs(10), || {
            std::fs::read_to_string(&out).is_ok_and(|s| s.trim() == "40 52")
        });

        // The driver's own window changes follow at once; another's wait.
        d.send(DeviceMsg::Size {
            rows: 30,
            cols: 140,
        })
        .await;
        p.send(DeviceMsg::Size { rows: 44, cols: 52 }).await;
        p.screen_of(44, 52).await;

        // An older device types: nothing changes, and it is told nothing.
        old.type_("true\r").await;
        assert!(
            old.note.is_none(),
            "a device without a size got {:?}",
            old.note
        );
        assert_eq!(p.screen, (44, 52));

        // Fixed: the desktop's input keeps the phone's size.
        d.send(DeviceMsg::SizeMode {
            mode: SizeMode::Fixed,
        })
        .await;
        p.note_by("desk device", SizeMode::Fixed).await;
        d.type_("true\r").await;
        d.screen_of(44, 52).await;
        // An explicit resize still goes, and stays.
        d.send(DeviceMsg::Resize { rows: 20, cols: 60 }).await;
        p.screen_of(20, 60).await;
        p.type_("true\r").await;
        d.type_("true\r").await;
        assert_eq!(p.note.as_ref().map(|n| (n.rows, n.cols)), Some((20, 60)));
        assert_eq!(p.note.as_ref().map(|n| n.why.as_str()), Some("resized"));

        // Following again: the next typist takes it.
        p.send(DeviceMsg::SizeMode {
            mode: SizeMode::Latest,
        })
        .await;
        // Two sockets: the desktop types once the switch was taken.
        d.note_by("desk device", SizeMode::Latest).await;
        d.type_("true\r").await;
        p.screen_of(30, 140).await;
    });
}

/// A daemon with its embedded relay, a paired device (the relay's URL
/// and its token) and the session `s` made through the relay, in the
/// environment whose id comes last.
fn with_session() -> (Daemon, String, String, String) {
    let daemon = Daemon::start(Options::with_args(
        false,
        &["--listen", "127.0.0.1:0", "--name", "home"],
    ));
    let (url, token) = pair_with_embedded(&daemon);
    stdout_of(
        &remote(&url, &token, None, &["new", "--env", "home", "--name", "s"]),
        "new",
    );
    let env = env_of(&url, &token);
    (daemon, url, token, env)
}

/// The environment id of the daemon the relay lists (once it lists `s`).
fn env_of(url: &str, token: &str) -> String {
    let mut env = String::new();
    wait_for(
        "the relay to list the session",
        Duration::from_secs(20),
        || {
            let out = remote(url, token, None, &["list", "--json"]);
            let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            match list[0]["env_id"].as_str() {
                Some(e) if list[0]["name"] == "s" => {
                    env = e.to_string();
                    true
                }
                _ => false,
            }
        },
    );
    env
}

#[test]
fn a_kept_size_stays_kept_when_rcd_is_killed_and_comes_back() {
    let (mut daemon, url, token, env) = with_session();
    let desk = Dims {
        rows: 35,
        cols: 150,
    };
    runtime().block_on(async {
        let mut d = Dev::open(&url, &token, &env, "desk", Some(desk)).await;
        d.note_by("the default", SizeMode::Latest).await;
        d.send(DeviceMsg::SizeMode {
            mode: SizeMode::Fixed,
        })
        .await;
        d.note_by("desk device", SizeMode::Fixed).await;
    });
    daemon.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
    daemon.spawn();
    daemon.wait_ready();
    // The embedded relay is new: pair again.
    let (url, token) = pair_with_embedded(&daemon);
    let env = env_of(&url, &token);
    let phone = Dims { rows: 40, cols: 52 };
    runtime().block_on(async {
        let mut p = Dev::open(&url, &token, &env, "phone", Some(phone)).await;
        p.note_by("kept from before", SizeMode::Fixed).await;
        p.type_("true\r").await;
        p.screen_of(24, 80).await;
    });
}
