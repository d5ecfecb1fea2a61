//! A session that waits for a person: its terminal's bell and desktop
//! notifications, and its program's end, set its attention; typing
//! clears it; `rcctl list` shows it and `rcctl wait` returns on it.

use rcd_tests::{Daemon, Options, wait_for};
use serde_json::Value;
use std::time::{Duration, Instant};

fn attention(d: &Daemon, name: &str) -> Value {
    d.list()
        .into_iter()
        .find(|s| s["name"] == name)
        .map(|s| s["attention"].clone())
        .unwrap_or_else(|| panic!("no session {name}"))
}

fn wait_attention(d: &Daemon, name: &str, kind: &str) -> Value {
    let mut last = Value::Null;
    wait_for(
        &format!("{name} to need attention ({kind})"),
        Duration::from_secs(10),
        || {
            last = attention(d, name);
            last["kind"] == kind
        },
    );
    last
}

#[test]
fn bells_notifications_and_the_end_set_attention_and_typing_clears_it() {
    let d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "s"]);
    assert_eq!(attention(&d, "s"), Value::Null);

    d.ok(&["send", "s", "printf 'ding\\a\\n'"]);
    let a = wait_attention(&d, "s", "bell");
    assert_eq!(a["message"], "");
    assert!(a["since"].as_str().is_some_and(|t| t.ends_with('Z')), "{a}");
    let table = d.ok(&["list"]);
    assert!(table.contains("NEEDS") && table.contains("bell"), "{table}");

    // Typing clears it.
    d.ok(&["send", "s", "true"]);
    wait_for("typing to clear it", Duration::from_secs(5), || {
        attention(&d, "s").is_null()
    });

    // iTerm2's notification, with its text; a progress report is none.
    d.ok(&[
        "send",
        "s",
        "printf '\\033]9;4;1;50\\007'; printf '\\033]9;Build done\\007'",
    ]);
    let a = wait_attention(&d, "s", "notification");
    assert_eq!(a["message"], "Build done");
    d.ok(&[
        "send",
        "s",
        "printf '\\033]777;notify;Agent;Needs you\\033\\\\'",
    ]);
    wait_for("the newer message", Duration::from_secs(10), || {
        attention(&d, "s")["message"] == "Agent: Needs you"
    });

    // The program's end, with its code.
    d.ok(&["new", "--name", "ends"]);
    d.ok(&["send", "ends", "exit 3"]);
    let a = wait_attention(&d, "ends", "exited");
    assert_eq!(a["message"], "exited with code 3");
}

#[test]
fn rcctl_wait_returns_when_a_session_needs_you_and_fails_after_its_timeout() {
    let d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "w"]);
    let start = Instant::now();
    let out = d.rcctl(&["wait", "w", "--timeout", "1"]);
    assert!(!out.status.success(), "nothing to wait for");
    assert!(start.elapsed() >= Duration::from_secs(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not ask for attention within 1 s"),
        "{err}"
    );

    let socket = d.socket.clone();
    let waiter = std::thread::spawn(move || {
        rcd_tests::rcctl_at(&socket, &["wait", "w", "--timeout", "20", "--json"])
    });
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["send", "w", "sleep 0.5; printf '\\033]9;your turn\\007'"]);
    let out = waiter.join().expect("waiter");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(a["kind"], "notification");
    assert_eq!(a["message"], "your turn");

    let err = d.fails(&["wait", "nobody", "--timeout", "1"]);
    assert!(err.contains("no session named"), "{err}");
    let err = d.fails(&["wait", "w", "--timeout=-1"]);
    assert!(err.contains("--timeout"), "{err}");
}
