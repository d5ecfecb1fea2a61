//! rcd under load: a burst of create requests far beyond capacity, and
//! every session of a large daemon printing as fast as it can to a slow
//! device. Bounded in count and time; the figures are printed for
//! docs/RELIABILITY.md, and only what must hold whatever the machine's
//! speed is asserted.

use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::Secret;
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row};
use rcd_tests::device::{encode, hello, pong};
use rcd_tests::{Daemon, Options, bin, remote, rss_kib, stdout_of, wait_for};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[test]
fn a_thousand_concurrent_creates_at_capacity_32_give_exactly_32_sessions() {
    const REQUESTS: usize = 1000;
    let d = Daemon::start(Options {
        command: "sh -c 'exec sleep 600'".into(),
        ..Options::with_args(false, &["--capacity", "32"])
    });
    let started = Instant::now();
    let clients: Vec<_> = (0..REQUESTS)
        .map(|i| {
            Command::new(bin("rcctl"))
                .arg("--socket")
                .arg(&d.socket)
                .args(["new", "--name", &format!("c{i}")])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("rcctl starts")
        })
        .collect();
    let mut created = Vec::new();
    let mut at_capacity = 0;
    let mut other = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let out = c.wait_with_output().expect("rcctl ends");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            created.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
        } else if err.contains("at capacity (32/32)") {
            at_capacity += 1;
        } else {
            other.push(format!("c{i}: {err}"));
        }
    }
    let took = started.elapsed();
    println!(
        "{REQUESTS} concurrent creates at capacity 32: {} created, {at_capacity} refused at \
         capacity, {} otherwise, in {took:.1?}",
        created.len(),
        other.len()
    );
    assert!(
        other.is_empty(),
        "every refusal is the capacity error: {other:#?}"
    );
    assert_eq!(created.len(), 32, "exactly the capacity: {created:?}");
    assert_eq!(at_capacity, REQUESTS - 32);
    let listed = d.list();
    assert_eq!(listed.len(), 32, "rcd holds exactly 32 sessions");
    assert!(
        listed.iter().all(|s| s["state"] == "running"),
        "every one runs: {listed:#?}"
    );
    let mut names: Vec<String> = listed
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    created.sort();
    assert_eq!(names, created, "the ones created are the ones listed");
}

/// Sessions printing as fast as they can for this long.
const FLOOD: Duration = Duration::from_secs(20);
const FLOODERS: usize = 256;
const QUIET: usize = 4;
/// How long a slow device takes over each message before it reads the
/// next one (and acknowledges a screen).
const SLOW: Duration = Duration::from_millis(250);

fn text(row: &Row) -> String {
    row.runs.iter().map(|r| r.text.as_str()).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A slow device on a flooding session: it reads a message, takes
/// [`SLOW`] over it, acknowledges screens, until `end`. Returns the
/// screens it got.
async fn slow_device(ws: rcd_net::WebSocket, id: String, end: Instant) -> Result<u64, String> {
    let (mut tx, mut rx) = ws.split();
    tx.send(hello(&id)).await.map_err(|e| e.to_string())?;
    let mut frames = 0;
    while Instant::now() < end {
        let msg = match tokio::time::timeout_at(end.into(), rx.next()).await {
            Ok(Some(Ok(m))) => m,
            Err(_) => break,
            other => return Err(format!("{id} after {frames} frames: {other:?}")),
        };
        if let Some(p) = pong(&msg) {
            tx.send(p).await.map_err(|e| format!("{id}: {e}"))?;
        } else if let Message::Binary(b) = msg
            && let Ok(DaemonMsg::Screen(f)) = serde_json::from_slice::<DaemonMsg>(&b)
        {
            frames += 1;
            tokio::time::sleep(SLOW).await;
            tx.send(encode(&DeviceMsg::Ack { version: f.version }))
                .await
                .map_err(|e| format!("{id}: {e}"))?;
        }
    }
    Ok(frames)
}

/// Types `keys` letters into a quiet session (`cat` in raw mode) one at a
/// time, each after the echo of the one before: the time from each input
/// to the screen frame that shows it. As a real device does, it reads (and
/// acknowledges screens) all the time, not only while it waits.
async fn typist(ws: rcd_net::WebSocket, id: String, keys: usize) -> Result<Vec<Duration>, String> {
    let (tx, mut rx) = ws.split();
    let tx = std::sync::Arc::new(tokio::sync::Mutex::new(tx));
    tx.lock()
        .await
        .send(hello(&id))
        .await
        .map_err(|e| e.to_string())?;
    let (shown_tx, mut shown) = tokio::sync::watch::channel(0usize);
    let acks = tx.clone();
    let reader = tokio::spawn(async move {
        while let Some(msg) = rx.next().await {
            let msg = msg.map_err(|e| e.to_string())?;
            if let Some(p) = pong(&msg) {
                acks.lock().await.send(p).await.map_err(|e| e.to_string())?;
            } else if let Message::Binary(b) = msg
                && let Ok(DaemonMsg::Screen(f)) = serde_json::from_slice::<DaemonMsg>(&b)
            {
                if let Some((_, r)) = f.changed.iter().find(|(i, _)| *i == 0) {
                    shown_tx.send_replace(text(r).len());
                }
                let ack = encode(&DeviceMsg::Ack { version: f.version });
                acks.lock()
                    .await
                    .send(ack)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Err::<(), String>("the socket ended".into())
    });
    let mut times = Vec::with_capacity(keys);
    for k in 1..=keys {
        let sent = Instant::now();
        let key = encode(&DeviceMsg::Input {
            seq: k as u64,
            bytes: vec![b'a' + (k % 26) as u8],
        });
        tx.lock().await.send(key).await.map_err(|e| e.to_string())?;
        let echoed = tokio::time::timeout(Duration::from_secs(30), shown.wait_for(|n| *n >= k))
            .await
            .map(|r| r.is_ok());
        match echoed {
            Ok(true) => times.push(sent.elapsed()),
            Ok(false) => {
                let why = reader.await.map_err(|e| e.to_string())?.err();
                return Err(format!("{id}, key {k}: {why:?}"));
            }
            Err(_) => return Err(format!("{id}, key {k}: no echo in 30 s")),
        }
    }
    reader.abort();
    Ok(times)
}

#[test]
fn every_session_printing_to_a_slow_device_keeps_memory_bounded_and_quiet_sessions_answering() {
    let program = "sh -c 'stty raw -echo; case \"$RCD_SESSION\" in q*) exec cat;; esac; \
                   read go < go; exec yes \"$RCD_SESSION prints as fast as it can 0123456789\"'";
    let mut d = Daemon::start(Options {
        command: program.into(),
        env: vec![("RUST_LOG".into(), "rcd=debug,rc_relay=info".into())],
        ..Options::with_args(
            false,
            &[
                "--capacity",
                &(FLOODERS + QUIET).to_string(),
                "--listen",
                "127.0.0.1:0",
                "--name",
                "home",
            ],
        )
    });
    // The pairing line comes once the link is up: wait for it first.
    let (url, token) = rcd_tests::pair_with_embedded(&d);
    for q in 0..QUIET {
        d.ok(&["new", "--name", &format!("q{q}")]);
    }
    // Before the flood: the quiet sessions' round trip on an idle daemon.
    let mut env = String::new();
    wait_for("the sessions on the relay", Duration::from_secs(20), || {
        let list: serde_json::Value = serde_json::from_str(&stdout_of(
            &remote(&url, &token, None, &["list", "--json"]),
            "list",
        ))
        .expect("list --json");
        env = list[0]["env_id"].as_str().unwrap_or_default().to_string();
        !env.is_empty()
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let relay = rcd_net::Relay::new(&url, None).expect("client");
    let device = Secret(token.clone());
    let attach = |name: String| {
        let relay = relay.clone();
        let device = device.clone();
        let env = env.clone();
        async move {
            relay
                .attach(&device, &env, &name)
                .await
                .map_err(|e| format!("attach {name}: {e}"))
        }
    };
    let idle: Vec<Duration> = rt.block_on(async {
        let ws = attach("q0".into()).await.expect("attach q0");
        let mut t = typist(ws, "idle-typist".into(), 50).await.expect("typing");
        t.sort();
        t
    });

    // Every flooder waits on the pipe `go` in the shared directory.
    let go = d.work.join("go");
    nix::unistd::mkfifo(&go, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    for f in 0..FLOODERS {
        d.ok(&["new", "--name", &format!("f{f}")]);
    }
    let pid = d.pid();
    let base = rss_kib(pid);
    let started = Instant::now();
    let end = started + FLOOD;
    let (frames, loaded, samples) = rt.block_on(async {
        let mut devices = Vec::new();
        for f in 0..FLOODERS {
            let ws = attach(format!("f{f}")).await.expect("attach a flooder");
            devices.push(tokio::spawn(slow_device(ws, format!("slow-{f}"), end)));
        }
        // Go: opening the pipe for writing and closing it ends every
        // flooder's `read`.
        // (Without blocking: no reader is an error, not a hang.)
        let wrote = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&go);
        drop(wrote.expect("every flooder waits on go"));
        // Memory, sampled through the flood.
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < end {
                samples.push((started.elapsed(), rss_kib(pid)));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            samples
        });
        // The quiet sessions keep answering while every other one prints.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut typists = Vec::new();
        for q in 1..QUIET {
            let ws = attach(format!("q{q}")).await.expect("attach a quiet one");
            typists.push(tokio::spawn(typist(ws, format!("typist-{q}"), 20)));
        }
        let mut loaded = Vec::new();
        for t in typists {
            match t.await.expect("typist") {
                Ok(times) => loaded.extend(times),
                Err(e) => {
                    let log = d.log_text();
                    let notable: Vec<&str> = log
                        .lines()
                        .filter(|l| !l.contains("DEBUG") || l.contains("q1") || l.contains("link"))
                        .collect();
                    panic!("{}\na key was not echoed: {e}", notable.join("\n"));
                }
            }
        }
        loaded.sort();
        let mut frames = Vec::new();
        for dev in devices {
            match dev.await.expect("device") {
                Ok(n) => frames.push(n),
                Err(e) => {
                    let log = d.log_text();
                    let tail: Vec<&str> = log.lines().rev().take(60).collect();
                    panic!("{}\nslow device not served: {e}", tail.join("\n"));
                }
            }
        }
        (frames, loaded, sampler.await.expect("sampler"))
    });
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let (first_half, second_half): (Vec<&(Duration, u64)>, Vec<_>) = samples
        .iter()
        .filter(|s| s.0 > Duration::from_secs(4))
        .partition(|s| s.0 < Duration::from_secs(14));
    let early = first_half.iter().map(|s| s.1).max().unwrap_or(0);
    let late = second_half.iter().map(|s| s.1).max().unwrap_or(0);
    let frames_min = frames.iter().min().copied().unwrap_or(0);
    println!(
        "{FLOODERS} sessions printing for {FLOOD:?}, a device reading one message per {SLOW:?} \
         on each: rcd (with its relay) {base} KiB before, peak {peak} KiB (+{} KiB), \
         {early} KiB in 4–14 s, {late} KiB after; every slow device got at least \
         {frames_min} screens; quiet sessions' key round trip p50 {:?} p99 {:?} idle, \
         p50 {:?} p99 {:?} during the flood",
        peak.saturating_sub(base),
        percentile(&idle, 0.5),
        percentile(&idle, 0.99),
        percentile(&loaded, 0.5),
        percentile(&loaded, 0.99),
    );
    // Nothing piles up for a device that cannot keep up: what rcd holds
    // per session is a screen and bounded buffers, not what it printed
    // (each session prints hundreds of megabytes here).
    assert!(
        peak.saturating_sub(base) < 64 * 1024,
        "rcd grew by {} KiB",
        peak.saturating_sub(base)
    );
    // An index or buffer that grew with each line printed would show here:
    // every session prints thousands of lines a second.
    assert!(
        late < early + 16 * 1024,
        "memory keeps growing through the flood: {early} KiB, then {late} KiB"
    );
    assert!(frames_min > 0, "every slow device was served");
    // Every flooder printed, and the daemon is still whole.
    assert!(d.screen("f0").contains("f0 prints as fast as it can"));
    let listed = d.list();
    assert_eq!(listed.len(), FLOODERS + QUIET);
    assert!(listed.iter().all(|s| s["state"] == "running"));
    let status = d.signal_and_wait(nix::sys::signal::Signal::SIGINT);
    assert!(
        status.success(),
        "rcd stops every session and exits: {status}"
    );
}
