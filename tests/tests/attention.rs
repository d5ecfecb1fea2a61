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

/// A local listener that answers the first `fail` requests 500 and the
/// rest 200, and hands every request (head and body) to the test.
fn listener(fail: usize) -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", l.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut n = 0;
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len: usize = header(&head, "content-length").parse().unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            n += 1;
            let status = if n <= fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let mut w = conn;
            let _ = write!(
                w,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tx.send((head, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (url, rx)
}

/// The value of header `name` in an HTTP request's head ("" when absent).
fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

fn status(d: &Daemon) -> Value {
    serde_json::from_str(&d.ok(&["status", "--json"])).expect("status --json")
}

#[test]
fn notify_url_gets_one_post_per_episode_as_json_or_ntfy_and_failures_are_counted() {
    // JSON, the first try refused: delivered on the second.
    let (url, rx) = listener(1);
    let d = Daemon::start(Options::with_args(
        false,
        &["--notify-url", &url, "--name", "box"],
    ));
    d.ok(&["new", "--name", "j"]);
    d.ok(&[
        "send",
        "j",
        "sleep 3.5; printf '\\033]9;tests passed\\007'; printf '\\a'",
    ]);
    let mut posts = Vec::new();
    for _ in 0..2 {
        posts.push(rx.recv_timeout(Duration::from_secs(10)).expect("a post"));
    }
    let (head, body) = &posts[1];
    assert!(head.starts_with("POST /hook "), "{head}");
    let v: Value = serde_json::from_str(body).expect("json body");
    assert_eq!(v["env"], "box");
    assert_eq!(v["session"], "j");
    assert_eq!(v["kind"], "notification");
    assert_eq!(v["message"], "tests passed");
    assert!(v["machine"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    // The bell right after is the same episode: no second post.
    assert!(
        rx.recv_timeout(Duration::from_secs(2)).is_err(),
        "one per episode"
    );
    wait_for("the delivery counted", Duration::from_secs(5), || {
        status(&d)["notify"]["delivered"] == 1
    });
    assert_eq!(status(&d)["notify"]["failed"], 0);
    // Typing ends the episode; the next alert is a new one.
    d.ok(&["send", "j", "sleep 3.5; exit 4"]);
    let (_, body) = rx.recv_timeout(Duration::from_secs(10)).expect("a post");
    let v: Value = serde_json::from_str(&body).expect("json body");
    assert_eq!(
        (v["kind"].as_str(), v["message"].as_str()),
        (Some("exited"), Some("exited with code 4"))
    );

    // ntfy's format.
    let (url, rx) = listener(0);
    let d = Daemon::start(Options::with_args(
        false,
        &["--notify-url", &url, "--notify-format", "ntfy"],
    ));
    d.ok(&["new", "--name", "n"]);
    d.ok(&[
        "send",
        "n",
        "sleep 3.5; printf '\\033]777;notify;Agent;needs a decision\\033\\\\'",
    ]);
    let (head, body) = rx.recv_timeout(Duration::from_secs(10)).expect("a post");
    assert_eq!(body, "Agent: needs a decision");
    assert!(header(&head, "title").starts_with("n on "), "{head}");
    assert_eq!(header(&head, "tags"), "notification");
    // None while someone types: a bell right after the keys is shown,
    // marked quiet, and not posted.
    d.ok(&["send", "n", "printf '\\a'"]);
    wait_for("the bell", Duration::from_secs(10), || {
        attention(&d, "n")["kind"] == "bell"
    });
    assert_eq!(attention(&d, "n")["quiet"], true);
    assert!(
        rx.recv_timeout(Duration::from_secs(2)).is_err(),
        "nothing while typing"
    );

    // Never answered well: given up after its tries, said in the status.
    let (url, rx) = listener(usize::MAX);
    let d = Daemon::start(Options::with_args(false, &["--notify-url", &url]));
    d.ok(&["new", "--name", "f"]);
    d.ok(&["send", "f", "sleep 3.5; printf '\\a'"]);
    wait_for("the failure counted", Duration::from_secs(15), || {
        status(&d)["notify"]["failed"] == 1
    });
    let st = status(&d);
    assert!(
        st["notify"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{st}"
    );
    assert_eq!(rx.try_iter().count(), 3, "three tries");
    assert!(
        d.log_text()
            .contains("could not be delivered after 3 tries")
    );
    let text = d.ok(&["status"]);
    assert!(text.contains("1 failed"), "{text}");
}

#[test]
fn a_notify_url_that_is_not_http_is_refused() {
    let out = std::process::Command::new(rcd_tests::bin("rcd"))
        .args(["--no-relay", "--notify-url", "ftp://example.com/x"])
        .output()
        .expect("rcd runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--notify-url") && err.contains("http"),
        "{err}"
    );
}
