use super::*;
use rcd_proto::stream::{Run, apply};
use rcd_proto::{SessionState, SpawnMode};

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
        bracketed_paste: false,
    }
}

fn info() -> SessionInfo {
    SessionInfo {
        id: "0000abcd".into(),
        name: "web".into(),
        state: SessionState::Running,
        dir: "/tmp".into(),
        spawn: SpawnMode::SameDir,
        branch: None,
        pid: Some(1),
        created_at: String::new(),
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

fn version_of(m: &DaemonMsg) -> (u64, u64) {
    match m {
        DaemonMsg::Screen(f) => (f.base, f.version),
        other => panic!("not a screen frame: {other:?}"),
    }
}

fn hello(d: &mut Device, now: StyledScreen, exited: Option<i32>) -> Vec<DaemonMsg> {
    d.hello(
        RELAY_PROTOCOL_VERSION,
        "phone".into(),
        7,
        info(),
        exited,
        || now,
    )
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

#[test]
fn nothing_goes_to_a_device_before_its_hello() {
    let mut d = Device::new();
    assert!(d.next_frame(|| screen(1, &["x"])).is_none());
    assert!(d.exited(0, || screen(1, &["x"])).is_empty());
    assert_eq!(
        d.client_id(),
        Err(DaemonMsg::Error {
            message: "say hello first".into()
        })
    );
}

#[test]
fn a_hello_is_answered_with_the_input_count_and_a_full_frame() {
    let mut d = Device::new();
    let out = hello(&mut d, screen(4, &["a", "b"]), None);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(matches!(out[0], DaemonMsg::Hello { input_seq: 7, .. }));
    assert_eq!(version_of(&out[1]), (0, 4));
    assert_eq!(d.client_id(), Ok("phone"));
}

#[test]
fn another_protocol_version_is_refused_and_changes_nothing() {
    let mut d = Device::new();
    let out = d.hello(
        RELAY_PROTOCOL_VERSION + 1,
        "phone".into(),
        0,
        info(),
        None,
        || screen(1, &["x"]),
    );
    assert!(
        matches!(&out[..], [DaemonMsg::Error { message }] if message.contains("update the older one")),
        "{out:?}"
    );
    assert!(d.client_id().is_err());
}

#[test]
fn frames_wait_for_the_acknowledgement_of_the_one_in_flight() {
    let mut d = Device::new();
    hello(&mut d, screen(4, &["a", "b"]), None);
    // The screen changes many times while frame 4 is in flight: nothing.
    for v in 5..50 {
        assert!(d.next_frame(|| screen(v, &["a", "c"])).is_none());
    }
    // An acknowledgement of anything else is not the one in flight.
    assert!(d.ack(3, || screen(49, &["a", "c"])).is_none());
    // The right one brings one frame, the difference to the latest screen.
    let next = d.ack(4, || screen(49, &["a", "c"])).expect("a frame");
    assert_eq!(version_of(&next), (4, 49));
    if let DaemonMsg::Screen(f) = &next {
        assert_eq!(f.changed.len(), 1);
    }
    // Acknowledged and unchanged: nothing more to send.
    assert!(d.ack(49, || screen(49, &["a", "c"])).is_none());
    assert!(d.next_frame(|| screen(49, &["a", "c"])).is_none());
}

#[test]
fn a_second_hello_starts_over_with_a_full_frame() {
    let mut d = Device::new();
    hello(&mut d, screen(4, &["a"]), None);
    d.ack(4, || screen(4, &["a"]));
    let out = hello(&mut d, screen(5, &["b"]), None);
    assert_eq!(
        version_of(&out[1]),
        (0, 5),
        "the device may have lost its copy"
    );
}

#[test]
fn the_exit_is_sent_once_and_again_after_a_new_hello() {
    let mut d = Device::new();
    hello(&mut d, screen(4, &["a"]), None);
    let out = d.exited(2, || screen(4, &["a"]));
    assert_eq!(out, vec![DaemonMsg::Exited { code: 2 }]);
    assert!(d.exited(2, || screen(4, &["a"])).is_empty());
    let out = hello(&mut d, screen(4, &["a"]), Some(2));
    assert_eq!(out.last(), Some(&DaemonMsg::Exited { code: 2 }));
}

#[test]
fn inputs_and_pages_are_answered_in_the_protocol_s_terms() {
    assert_eq!(input_answer(Ok(3)), DaemonMsg::InputAck { seq: 3 });
    assert!(matches!(
        input_answer(Err(SessionGone)),
        DaemonMsg::Error { message } if message.contains("input refused")
    ));
    let e = transcript_answer(Err(std::io::Error::other("disk")));
    assert!(matches!(e, DaemonMsg::Error { message } if message.contains("disk")));
}

/// The largest screen a device can ask for, every cell in colours of its
/// own: far more than one message holds.
fn colourful(version: u64, seed: u32) -> StyledScreen {
    let rows = (0..rcd_proto::stream::MAX_FRAME_ROWS as u32)
        .map(|r| Row {
            runs: (0..rcd_proto::stream::MAX_FRAME_COLS as u32)
                .map(|c| {
                    let n = r * 7919 + c * 31 + seed;
                    Run {
                        text: char::from(b'!' + (n % 90) as u8).to_string(),
                        fg: Some(format!("#{:06x}", n.wrapping_mul(2654435761) & 0xff_ffff)),
                        bg: Some(format!("#{:06x}", n.wrapping_mul(40503) & 0xff_ffff)),
                        bold: n % 2 == 0,
                        underline: n % 3 == 0,
                        ..Run::default()
                    }
                })
                .collect(),
        })
        .collect();
    StyledScreen {
        version,
        rows,
        cols: rcd_proto::stream::MAX_FRAME_COLS,
        cursor: (3, 4),
        cursor_visible: true,
        title: "colours".into(),
        app_cursor: false,
        bracketed_paste: false,
    }
}

/// Acknowledges every frame in turn until none is left, as a device does;
/// returns the device's copy, the frames, and the largest message.
fn follow(
    d: &mut Device,
    first: DaemonMsg,
    now: &StyledScreen,
    mut copy: Vec<Row>,
) -> (Vec<Row>, Vec<ScreenFrame>, usize) {
    let mut have = match &first {
        DaemonMsg::Screen(f) => f.base,
        _ => 0,
    };
    let mut frames = Vec::new();
    let mut largest = 0;
    let mut next = Some(first);
    while let Some(DaemonMsg::Screen(f)) = next {
        largest = largest.max(
            serde_json::to_vec(&DaemonMsg::Screen(f.clone()))
                .unwrap()
                .len(),
        );
        assert!(
            apply(&mut copy, have, &f),
            "each part applies on the one before"
        );
        have = f.version;
        next = d.ack(f.version, || now.clone());
        frames.push(f);
        assert!(frames.len() < 100, "the parts end");
    }
    (copy, frames, largest)
}

#[test]
fn a_frame_too_large_for_one_message_goes_in_parts_that_each_fit() {
    let now = colourful(9, 0);
    let whole = serde_json::to_vec(&DaemonMsg::Screen(frame(None, &now)))
        .unwrap()
        .len();
    assert!(
        whole > 4 * FRAME_BUDGET,
        "the screen is large: {whole} bytes"
    );
    let mut d = Device::new();
    let mut out = hello(&mut d, now.clone(), None);
    let first = out.remove(1);
    let (copy, frames, largest) = follow(&mut d, first, &now, Vec::new());
    assert!(largest <= FRAME_BUDGET, "{largest} bytes in one message");
    assert!(frames.len() >= 5, "{} parts", frames.len());
    assert_eq!(copy, now.rows, "the device has the whole screen");
    let (last, parts) = frames.split_last().unwrap();
    assert!(
        parts
            .iter()
            .all(|f| f.partial && f.version >= PART_VERSIONS)
    );
    assert_eq!((last.partial, last.version), (false, 9));
    assert_eq!(frames[0].base, 0);
    // The whole screen changes: the difference goes in parts too.
    let later = colourful(10, 1);
    let first = d.next_frame(|| later.clone()).expect("a frame");
    assert_eq!(version_of(&first).0, 9);
    let (copy, frames, largest) = follow(&mut d, first, &later, copy);
    assert!(largest <= FRAME_BUDGET && frames.len() >= 5);
    assert!(
        frames.iter().all(|f| f.base != 0),
        "differences, not full frames"
    );
    assert_eq!(copy, later.rows);
    assert_eq!(
        frames.last().map(|f| (f.partial, f.version)),
        Some((false, 10))
    );
}
