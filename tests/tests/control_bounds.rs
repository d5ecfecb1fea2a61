//! What one client of the control socket may hold: memory for a frame it
//! has not finished, a connection it does not use, a slot among the
//! connections. Measured on the real rcd process.

use rcd_tests::{Daemon, Options};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

const HELLO: &[u8] = br#"{"protocol":1,"version":"0.1.0"}"#;

/// A connection that has said hello, and the daemon's answer.
fn try_hello(d: &Daemon) -> (UnixStream, String) {
    let mut s = UnixStream::connect(&d.socket).expect("connect");
    s.write_all(&frame(HELLO)).expect("hello");
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("an answer");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("an answer");
    (s, String::from_utf8_lossy(&body).into_owned())
}

/// A connection that has said hello and read the daemon's.
fn hello(d: &Daemon) -> UnixStream {
    let (s, answer) = try_hello(d);
    assert!(answer.contains("max_frame"), "{answer}");
    s
}

/// Waits up to `limit` for the daemon to close `s`; how long it took.
fn closed_within(s: &mut UnixStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(start.elapsed());
            }
            Err(_) => return None,
        }
        if start.elapsed() > limit {
            return None;
        }
    }
}

#[test]
fn unfinished_frames_hold_little_memory_and_are_closed_after_a_deadline() {
    let d = Daemon::start(Options::default());
    let before = rcd_tests::rss_kib(d.pid());
    // 50 connections each announce a frame of 4 MiB - 1 and send all of it
    // but its last byte (those beyond the cap on connections are refused
    // at their hello, which is as good).
    let announced = 4 * 1024 * 1024 - 1;
    let writers: Vec<_> = (0..50)
        .map(|_| {
            let (mut s, _) = try_hello(&d);
            std::thread::spawn(move || {
                s.set_write_timeout(Some(Duration::from_secs(5))).ok();
                let mut bytes = (announced as u32).to_be_bytes().to_vec();
                bytes.resize(4 + announced - 1, b' ');
                // The daemon may close before all of it is written.
                let _ = s.write_all(&bytes);
                s
            })
        })
        .collect();
    let held: Vec<UnixStream> = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let after = rcd_tests::rss_kib(d.pid());
    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!("rcd's VmRSS: {before} KiB before, {after} KiB with 50 unfinished frames");
    assert!(
        grown_mib < 32,
        "rcd grew by {grown_mib} MiB ({before} KiB to {after} KiB) for 50 unfinished frames"
    );

    // Frames small enough to be read, left unfinished, are closed once
    // the deadline of a frame has passed.
    let mut slow: Vec<UnixStream> = (0..10)
        .map(|_| {
            let mut s = hello(&d);
            let mut bytes = 100_000u32.to_be_bytes().to_vec();
            bytes.resize(4 + 50_000, b' ');
            s.write_all(&bytes).expect("half a frame");
            s
        })
        .collect();
    for s in &mut slow {
        let took = closed_within(s, Duration::from_secs(20));
        assert!(
            took.is_some(),
            "an unfinished frame kept its connection open"
        );
    }
    for mut s in held {
        assert!(
            closed_within(&mut s, Duration::from_secs(20)).is_some(),
            "an unfinished large frame kept its connection open"
        );
    }
    // And everyone else is served.
    d.ok(&["status"]);
    let log = d.log_text();
    assert!(log.contains("closed a client connection"), "{log}");
}

#[test]
fn a_quiet_connection_is_closed_but_a_quiet_attach_is_not() {
    let d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "q"]);
    let mut attach = std::process::Command::new(rcd_tests::bin("rcctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["attach", "q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rcctl attach");
    let mut stdin = attach.stdin.take().expect("stdin");

    // A connection that says hello and then nothing.
    let mut quiet = hello(&d);
    let took = closed_within(&mut quiet, Duration::from_secs(30));
    let took = took.expect("a quiet connection stayed open for 30 s");
    // One that never says hello either.
    let mut mute = UnixStream::connect(&d.socket).expect("connect");
    assert!(
        closed_within(&mut mute, Duration::from_secs(30)).is_some(),
        "a connection without a hello stayed open"
    );

    // The attach has been quiet for longer than that and still works.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        attach.try_wait().expect("try_wait").is_none(),
        "the attach ended after {took:?} of quiet"
    );
    stdin
        .write_all(b"echo still-$((6*7))-attached\r")
        .expect("type");
    d.wait_screen("q", "still-42-attached");
    stdin.write_all(&[0x1d]).expect("detach");
    let status = attach.wait().expect("attach ends");
    let mut out = String::new();
    attach
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .ok();
    assert!(status.success(), "{out}");
    assert!(out.contains("still-42-attached"), "{out:?}");
    assert!(out.contains("detached from q"), "{out:?}");
}

#[test]
fn connections_beyond_the_cap_are_told_so() {
    let d = Daemon::start(Options::default());
    let mut open = Vec::new();
    let refused = (0..200).find_map(|_| {
        let (s, text) = try_hello(&d);
        open.push(s);
        text.contains("\"error\"").then_some(text)
    });
    let text = refused.expect("200 connections were all accepted");
    assert!(text.contains("connections"), "{text}");
    assert!(text.contains("\"kind\":\"busy\""), "{text}");
    assert!(open.len() < 200);
    // rcctl waits for a slot instead of failing: it is served once they
    // are gone.
    let mut status = std::process::Command::new(rcd_tests::bin("rcctl"))
        .arg("--socket")
        .arg(&d.socket)
        .arg("status")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rcctl");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        status.try_wait().expect("try_wait").is_none(),
        "rcctl waits while every slot is taken"
    );
    drop(open);
    let out = status.wait_with_output().expect("rcctl ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
