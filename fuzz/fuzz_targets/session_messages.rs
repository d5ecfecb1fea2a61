//! Session messages, split at 0xff into one message each. First byte
//! even: device → daemon, decoded as `daemon/src/link/stream.rs::serve`
//! decodes a link's binary payload and handed to the daemon's per-device
//! core (`rcd::link::device::Device`) the way `device_message` does, with
//! a screen that changes after every message. The core must keep one
//! frame in flight at most, and every frame it sends must apply on the
//! screen a device that applied the earlier ones holds
//! (`rcd_proto::stream::apply`) and leave it equal to the daemon's.
//! Odd: daemon → device, decoded as rcctl (`ctl/src/device/socket.rs`)
//! and the bench (`bench/src/wire.rs`) decode them, screen frames applied
//! to a device's copy as rcctl's `Screen::apply` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcd::link::device::Device;
use rcd::pty::Size;
use rcd::sizing::Sizing;
use rcd::term::StyledScreen;
use rcd_fuzz::{messages, roundtrip};
use rcd_proto::relay::RELAY_PROTOCOL_VERSION;
use rcd_proto::stream::{
    self, DaemonMsg, DeviceMsg, Dims, MAX_FRAME_COLS, MAX_FRAME_ROWS, Row, Run,
};
use rcd_proto::{SessionInfo, SessionState, SpawnMode};

fuzz_target!(|data: &[u8]| {
    let Some((&side, rest)) = data.split_first() else {
        return;
    };
    if side % 2 == 0 {
        daemon_side(rest);
    } else {
        device_side(rest);
    }
});

fn info() -> SessionInfo {
    SessionInfo {
        id: "1".into(),
        name: "fuzz".into(),
        state: SessionState::Running,
        dir: "/".into(),
        spawn: SpawnMode::SameDir,
        branch: None,
        pid: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        command: vec!["sh".into()],
        program: None,
        exit_code: None,
        worktree: None,
        last_activity: None,
        sandboxed: false,
        attention: None,
        change: None,
    }
}

/// The session's screen: `step` changes one row.
fn screen(version: u64, size: Size, step: &[u8]) -> StyledScreen {
    let mut rows = vec![Row::default(); size.rows as usize];
    let at = step.len() % rows.len();
    rows[at] = Row {
        runs: vec![Run {
            text: String::from_utf8_lossy(&step[..step.len().min(size.cols as usize)]).into_owned(),
            bold: version.is_multiple_of(2),
            ..Run::default()
        }],
    };
    StyledScreen {
        version,
        rows,
        cols: size.cols,
        cursor: (0, 0),
        cursor_visible: true,
        title: String::new(),
        app_cursor: false,
        bracketed_paste: false,
    }
}

/// What a device that applies every frame holds.
#[derive(Default)]
struct Copy {
    version: u64,
    rows: Vec<Row>,
    inflight: Option<u64>,
}

impl Copy {
    fn take(&mut self, out: impl IntoIterator<Item = DaemonMsg>, now: &StyledScreen) {
        for msg in out {
            roundtrip(&msg);
            let DaemonMsg::Screen(f) = msg else { continue };
            assert!(self.inflight.is_none(), "a frame while one is in flight");
            assert!(
                stream::apply(&mut self.rows, self.version, &f),
                "a frame on a base the device lacks"
            );
            self.version = f.version;
            self.inflight = Some(f.version);
            if !f.partial {
                assert_eq!(
                    self.rows, now.rows,
                    "the last part leaves the daemon's screen"
                );
            }
        }
    }
}

fn daemon_side(data: &[u8]) {
    let mut device = Device::new();
    let mut copy = Copy::default();
    let mut size = Size::DEFAULT;
    let mut version = 1;
    let mut now = screen(version, size, b"");
    let mut sizing = Sizing::new(size);
    for payload in messages(data) {
        let Ok(msg) = serde_json::from_slice::<DeviceMsg>(payload) else {
            continue;
        };
        roundtrip(&msg);
        match msg {
            DeviceMsg::Hello {
                protocol,
                client_id,
                size: said,
                label,
            } => {
                device.describe(said, label);
                let ok = protocol == RELAY_PROTOCOL_VERSION;
                if ok {
                    // A hello starts over: the device has no screen.
                    copy.inflight = None;
                    copy.version = 0;
                }
                let out = device.hello(protocol, client_id, 0, info(), None, || now.clone());
                assert_eq!(matches!(out.first(), Some(DaemonMsg::Hello { .. })), ok);
                copy.take(out, &now);
            }
            DeviceMsg::Input { .. } => {
                // The typist's size, in the `latest` mode, as
                // `device_message` applies it before the input.
                if let Ok(who) = device.client_id() {
                    let o = sizing.typed(who, device.label(), device.size());
                    if let Some(s) = o.resize {
                        size = s;
                    }
                    assert_eq!(sizing.size(), size, "the terminal follows the sizing");
                }
            }
            DeviceMsg::Size { rows, cols } => {
                if let (Some(s), Ok(who)) = (device.moved(Dims { rows, cols }), device.client_id())
                {
                    if let Some(s) = sizing.moved(who, device.label(), s).resize {
                        size = s;
                    }
                }
            }
            DeviceMsg::SizeMode { mode } => {
                let o = sizing.set_mode(mode, device.label());
                assert!(o.resize.is_none(), "a mode never resizes by itself");
                assert_eq!(sizing.note().mode, mode);
            }
            DeviceMsg::Ack { version } => {
                if copy.inflight == Some(version) {
                    copy.inflight = None;
                }
                let out = device.ack(version, || now.clone());
                copy.take(out, &now);
            }
            DeviceMsg::Resize { rows, cols } => {
                size = Size::clamped(rows, cols);
                sizing.resized("", device.label(), size);
                assert!((1..=MAX_FRAME_ROWS).contains(&size.rows));
                assert!((1..=MAX_FRAME_COLS).contains(&size.cols));
            }
            DeviceMsg::Transcript { .. } | DeviceMsg::Ping { .. } => {}
        }
        // The screen moves on; the link offers the device a frame.
        version += 1;
        now = screen(version, size, payload);
        let out = device.next_frame(|| now.clone());
        copy.take(out, &now);
    }
    let first = device.exited(0, || now.clone());
    let exits = first
        .iter()
        .filter(|m| matches!(m, DaemonMsg::Exited { .. }))
        .count();
    assert!(exits <= 1);
    copy.take(
        first
            .into_iter()
            .filter(|m| !matches!(m, DaemonMsg::Exited { .. })),
        &now,
    );
    let again = device.exited(0, || now.clone());
    assert!(
        !again.iter().any(|m| matches!(m, DaemonMsg::Exited { .. })),
        "exit told twice"
    );
}

fn device_side(data: &[u8]) {
    let mut rows: Vec<Row> = Vec::new();
    let mut version = 0;
    for payload in messages(data) {
        let Ok(msg) = serde_json::from_slice::<DaemonMsg>(payload) else {
            continue;
        };
        roundtrip(&msg);
        if let DaemonMsg::Screen(f) = msg {
            let before = rows.clone();
            if stream::apply(&mut rows, version, &f) {
                version = f.version;
                assert_eq!(rows.len(), f.rows as usize);
            } else {
                assert_eq!(rows, before, "a refused frame changes nothing");
            }
        }
    }
}
