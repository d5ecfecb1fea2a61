//! The shared device-session fixtures (tests/fixtures/device-session/,
//! format in its README) replayed through rcctl's [`Core`]: the web UI's
//! core replays the same files under node, so both devices keep to one
//! protocol.

use super::core::{Core, Fault};
use rcd_proto::relay::DeviceFrame;
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use serde_json::{Value, json};
use std::path::PathBuf;

/// What only the web page models; a fixture that needs it is skipped.
const NOT_MODELLED: &[&str] = &["stale-inputs"];

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/device-session");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// One step through the core: what it sends, and its fault if any.
fn step(core: &mut Core, s: &Value) -> (Vec<DeviceMsg>, Option<&'static str>) {
    let react = |r: Result<super::core::Reaction, Fault>| match r {
        Ok(r) => (r.send, None),
        Err(Fault::Reconnect(_)) => (Vec::new(), Some("reconnect")),
        Err(Fault::Fatal(_)) => (Vec::new(), Some("fatal")),
    };
    if let Some(m) = s.get("daemon") {
        let msg: DaemonMsg = serde_json::from_value(m.clone()).expect("a DaemonMsg");
        return react(core.on_daemon(msg));
    }
    if let Some(f) = s.get("relay") {
        return match serde_json::from_value::<DeviceFrame>(f.clone()).expect("a DeviceFrame") {
            DeviceFrame::Link { up: true } => (vec![core.connected()], None),
            DeviceFrame::Link { up: false } => {
                core.disconnected();
                (Vec::new(), None)
            }
            other => panic!("a relay step the fixtures do not use: {other:?}"),
        };
    }
    let what = s["do"].as_str().expect("a step has daemon, relay or do");
    match what {
        "connect" => (vec![core.connected()], None),
        "disconnect" => {
            core.disconnected();
            (Vec::new(), None)
        }
        "type" => {
            core.input(s["text"].as_str().expect("text").as_bytes());
            (core.outgoing(), None)
        }
        "resize" => {
            let n = |k: &str| u16::try_from(s[k].as_u64().expect(k)).expect(k);
            core.request_resize(n("rows"), n("cols"));
            (core.resize_now().into_iter().collect(), None)
        }
        "transcript" => {
            let from = s["from"].as_u64().expect("from");
            let max = u32::try_from(s["max_lines"].as_u64().expect("max_lines")).expect("max");
            core.request_transcript(from, max);
            (core.transcript_now().into_iter().collect(), None)
        }
        "wait" => (Vec::new(), None),
        other => panic!("unknown step {other:?}"),
    }
}

fn check(core: &Core, expect: &Value, sent: &[DeviceMsg], fault: Option<&str>, at: &str) {
    let sent: Vec<Value> = sent
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    assert_eq!(Value::Array(sent), expect["send"], "{at}: sent");
    assert_eq!(
        fault,
        expect.get("fault").and_then(Value::as_str),
        "{at}: fault"
    );
    if let Some(g) = expect.get("greeted") {
        assert_eq!(json!(core.greeted()), *g, "{at}: greeted");
    }
    if let Some(i) = expect.get("inputs") {
        if let Some(n) = i.get("unacked") {
            assert_eq!(json!(core.inputs.unacked()), *n, "{at}: unacked");
        }
        if let Some(n) = i.get("acked") {
            assert_eq!(json!(core.inputs.acked()), *n, "{at}: acked");
        }
    }
    if let Some(sc) = expect.get("screen") {
        let s = &core.screen;
        let text = s.text();
        let have = json!({
            "rows": text.rows,
            "version": s.version,
            "cols": s.cols,
            "cursor": [s.cursor.0, s.cursor.1],
            "cursor_visible": s.cursor_visible,
            "title": s.title,
        });
        for (k, v) in sc.as_object().expect("screen is an object") {
            assert_eq!(have[k], *v, "{at}: screen {k}");
        }
    }
    if let Some(code) = expect.get("exited") {
        assert_eq!(json!(core.exited), *code, "{at}: exited");
    }
}

#[test]
fn the_shared_fixtures_replay_through_the_core() {
    let files = fixtures();
    assert!(files.len() >= 5, "fixtures missing: {files:?}");
    let mut replayed = 0;
    for path in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let needs: Vec<&str> = case["needs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if needs.iter().any(|n| NOT_MODELLED.contains(n)) {
            eprintln!("{name}: skipped, needs {needs:?}");
            continue;
        }
        let mut core = Core::new(case["client_id"].as_str().expect("client_id").to_string());
        for (i, s) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let (sent, fault) = step(&mut core, s);
            check(
                &core,
                &s["expect"],
                &sent,
                fault,
                &format!("{name} step {i}"),
            );
        }
        replayed += 1;
    }
    assert!(replayed >= 5, "only {replayed} fixtures replayed");
}
