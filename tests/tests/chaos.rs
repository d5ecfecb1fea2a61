//! Chaos: rcd's promises under faults, with the real rc-relay and rcd
//! processes, real PTYs and real sockets.
//!
//! - nothing typed is lost or applied twice while the relay is killed and
//!   restarted again and again, and every device ends on the daemon's
//!   screen;
//! - a relay that stops answering (SIGSTOP), or that a network partition
//!   cuts off (a namespace whose link goes down), is noticed, and the link
//!   comes back by itself when it answers again, with nothing typed lost;
//! - a partition longer than `--outage-timeout` ends rcd with status 75,
//!   every session stopped and the worktree rule applied;
//! - rcd killed at random points leaves nothing running that the next rcd
//!   does not list, worktrees intact and a state file that parses;
//! - after a relay restart every session is reachable again within 2 s of
//!   the relay answering;
//! - a full or read-only state directory is reported and corrupts nothing;
//! - three relay instances on one Redis behind a round-robin, one killed
//!   and then another under typing: nothing lost or doubled, no ghost.
//!
//! Each test prints its figures on lines starting with `chaos:`
//! (docs/RELIABILITY.md). The tests take turns ([`serial`]): they measure
//! time, and the machine has few cores.

use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{DeviceFrame, RELAY_PROTOCOL_VERSION, Secret};
use rcd_proto::stream::{self, DaemonMsg, DeviceMsg, Row};
use rcd_tests::device::runtime;
use rcd_tests::{
    Daemon, Options, RelayProc, alive, pairing_code, remote, short_tempdir, stdout_of, wait_for,
};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// One chaos test at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A small, seedable random source (xorshift), so a failing run can be
/// repeated with `RCD_CHAOS_SEED`.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("RCD_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("chaos: {test}: seed {seed} (RCD_CHAOS_SEED={seed} repeats it)");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A duration in [lo, hi) milliseconds.
    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo).max(1))
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A session program that records every byte it reads in `rec.PID` of
/// its directory (PID: the session's own, as `rcctl list` shows it) and
/// echoes it to the screen.
const RECORDER: &str = "sh -c 'stty raw -echo; exec tee rec.$$'";

/// Waits until every [`RECORDER`] of `sessions` has set its terminal raw:
/// its recording exists only after `stty raw -echo`. Typed earlier, a CR
/// would reach it as LF (the terminal's default ICRNL).
fn recorders_ready(d: &Daemon, sessions: &[(String, u32)]) {
    wait_for("the recorders ready", Duration::from_secs(20), || {
        sessions
            .iter()
            .all(|(_, pid)| d.work.join(format!("rec.{pid}")).exists())
    });
}

/// Creates `n` [`RECORDER`] sessions named `{prefix}{i}` on `d`; their
/// names and pids, once every recorder is ready.
fn recorder_sessions(d: &Daemon, prefix: &str, n: usize) -> Vec<(String, u32)> {
    let made: Vec<(String, u32)> = (0..n)
        .map(|i| {
            let name = format!("{prefix}{i}");
            let s: Value = serde_json::from_str(&d.ok(&["new", "--name", &name, "--json"]))
                .expect("new --json");
            (name, s["pid"].as_u64().expect("pid") as u32)
        })
        .collect();
    recorders_ready(d, &made);
    made
}

/// A device of each of `sessions`, client `{prefix}-{i}`, as `like` but
/// for the session.
fn devices_like(like: &DeviceSpec, sessions: &[(String, u32)], prefix: &str) -> Vec<DeviceSpec> {
    sessions
        .iter()
        .enumerate()
        .map(|(i, (name, _))| DeviceSpec {
            session: name.clone(),
            client_id: format!("{prefix}-{i}"),
            ..like.clone()
        })
        .collect()
}

/// A standalone relay with a file store, and an rcd linked to it with a
/// paired device.
struct Linked {
    _root: tempfile::TempDir,
    relay: RelayProc,
    daemon: Daemon,
    device_token: String,
    env: String,
}

fn linked(name: &str, command: &str, extra: &[&str]) -> Linked {
    linked_with(name, command, &[], extra)
}

/// [`linked`], with `relay_args` on the relay's command line.
fn linked_with(name: &str, command: &str, relay_args: &[&str], extra: &[&str]) -> Linked {
    let root = short_tempdir("rcdx");
    let relay = RelayProc::start(root.path(), None, relay_args);
    let token_file = relay.token_file(&root.path().join("d.token"));
    let mut args: Vec<String> = vec![
        "--relay".into(),
        relay.url.clone(),
        "--token-file".into(),
        token_file.display().to_string(),
        "--name".into(),
        name.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let daemon = Daemon::start(Options {
        command: command.into(),
        args,
        ..Options::default()
    });
    let code = pairing_code(&daemon);
    let device_token = stdout_of(
        &remote(&relay.url, "", None, &["pair", "--print-token", &code]),
        "pair",
    )
    .split_whitespace()
    .find(|w| w.starts_with("rcdev_"))
    .expect("a device token")
    .to_string();
    let env = environment_id(&relay.url, &device_token);
    Linked {
        _root: root,
        relay,
        daemon,
        device_token,
        env,
    }
}

/// The id of the (one) environment a device of `url` sees, once online.
fn environment_id(url: &str, device: &str) -> String {
    environment_id_with(url, device, None)
}

fn environment_id_with(url: &str, device: &str, ca: Option<&Path>) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = rcd_net::Relay::new(url, ca).expect("client");
    let token = Secret(device.to_string());
    let mut env = String::new();
    wait_for("the environment online", Duration::from_secs(20), || {
        let envs = rt.block_on(client.environments(&token)).unwrap_or_default();
        match envs.iter().find(|e| e.online) {
            Some(e) => {
                env = e.id.clone();
                true
            }
            None => false,
        }
    });
    env
}

impl Linked {
    /// Creates `n` sessions locally; their names and pids.
    fn sessions(&self, n: usize) -> Vec<(String, u32)> {
        recorder_sessions(&self.daemon, "s", n)
    }

    /// A typing device on each of `sessions`, client `PREFIX-i`, once all
    /// have said hello (see [`start_greeted`]).
    fn typists(
        &self,
        rt: &tokio::runtime::Runtime,
        sessions: &[(String, u32)],
        prefix: &str,
        every: Duration,
        patience: Duration,
    ) -> Vec<Running> {
        let specs = sessions
            .iter()
            .enumerate()
            .map(|(i, (name, _))| self.device(name, &format!("{prefix}-{i}")))
            .collect();
        start_greeted(rt, specs, every, patience)
    }

    fn device(&self, session: &str, client_id: &str) -> DeviceSpec {
        DeviceSpec {
            url: self.relay.url.clone(),
            ca: None,
            token: self.device_token.clone(),
            env: self.env.clone(),
            session: session.into(),
            client_id: client_id.into(),
        }
    }

    fn link_state(&self) -> String {
        serde_json::from_str::<Value>(&self.daemon.ok(&["status", "--json"]))
            .ok()
            .and_then(|v| v["link"]["state"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Where a device connects.
#[derive(Debug, Clone)]
struct DeviceSpec {
    url: String,
    /// The relay's certificate, when it is its own.
    ca: Option<PathBuf>,
    token: String,
    env: String,
    session: String,
    client_id: String,
}

/// What a running device shows the test.
#[derive(Debug, Default, Clone)]
struct DeviceView {
    /// Inputs queued so far (the last `seq`).
    typed: u64,
    /// Bytes queued so far, in order.
    bytes: Vec<u8>,
    /// The last input the daemon acknowledged.
    acked: u64,
    /// The screen's rows, trailing blanks trimmed, once a whole frame
    /// (not a part) is applied.
    screen: Vec<String>,
    /// The daemon's hello arrived on the current connection.
    greeted: bool,
    /// Daemon hellos received (one per connection or link up).
    hellos: u64,
    /// When the first hello after [`DeviceView::since`] came.
    greeted_at: Option<Instant>,
    /// Attach sockets opened.
    connections: u64,
    /// Inputs sent again after a hello.
    resent: u64,
    /// Anything the protocol forbids (an acknowledgement of an input never
    /// sent, an acknowledgement going back): the test fails on it.
    faults: Vec<String>,
    /// The device saw [`Control::stop_typing`]: `typed` is final.
    typing_stopped: bool,
}

/// Controls of a running device.
#[derive(Debug, Default)]
struct Control {
    /// Stop typing (the queue is still delivered).
    stop_typing: bool,
    /// End the device.
    stop: bool,
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A device as the web page and rcctl are: it numbers its inputs, keeps
/// every one until the daemon acknowledges it, says hello on every
/// connection and every `link up`, and then resends what the hello's
/// `input_seq` says was not applied. It types `line(n)` every `every`
/// until told to stop, keeps reconnecting whatever happens, and
/// acknowledges every screen frame.
async fn run_device(
    spec: DeviceSpec,
    every: Duration,
    line: impl Fn(u64) -> Vec<u8> + Send + 'static,
    view: Shared<DeviceView>,
    control: Shared<Control>,
) {
    let relay = rcd_net::Relay::new(&spec.url, spec.ca.as_deref()).expect("relay client");
    let token = Secret(spec.token.clone());
    let mut queue: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
    let mut next_seq = 1u64;
    let mut acked = 0u64;
    let mut screen: Vec<Row> = Vec::new();
    let mut version = 0u64;
    let mut ws: Option<rcd_net::WebSocket> = None;
    let mut greeted = false;
    let mut retry_at = tokio::time::Instant::now();
    let mut typing = tokio::time::interval(every);
    typing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let hello = || {
        Message::binary(
            serde_json::to_vec(&DeviceMsg::Hello {
                protocol: RELAY_PROTOCOL_VERSION,
                client_id: spec.client_id.clone(),
                size: None,
                label: None,
            })
            .expect("encode"),
        )
    };
    let input = |seq: u64, bytes: &[u8]| {
        Message::binary(
            serde_json::to_vec(&DeviceMsg::Input {
                seq,
                bytes: bytes.to_vec(),
            })
            .expect("encode"),
        )
    };
    loop {
        let (stop, stop_typing) = {
            let c = lock(&control);
            (c.stop, c.stop_typing)
        };
        if stop {
            return;
        }
        if stop_typing {
            // From here on nothing more is typed.
            lock(&view).typing_stopped = true;
        }
        if ws.is_none() && tokio::time::Instant::now() >= retry_at {
            let attach = relay.attach(&token, &spec.env, &spec.session);
            match tokio::time::timeout(Duration::from_secs(3), attach).await {
                Ok(Ok(mut s)) => {
                    lock(&view).connections += 1;
                    // If the session's link is up the hello goes through;
                    // if not, the relay says `link up:false` first and the
                    // hello is sent again on `link up:true`.
                    if s.send(hello()).await.is_ok() {
                        ws = Some(s);
                    }
                }
                _ => retry_at = tokio::time::Instant::now() + Duration::from_millis(100),
            }
            greeted = false;
            lock(&view).greeted = false;
        }
        let next = async {
            match ws.as_mut() {
                Some(s) => s.next().await,
                None => std::future::pending().await,
            }
        };
        let mut out: Vec<Message> = Vec::new();
        let mut broken = false;
        tokio::select! {
            _ = typing.tick(), if !stop_typing => {
                let bytes = line(next_seq);
                let seq = next_seq;
                next_seq += 1;
                queue.push_back((seq, bytes.clone()));
                {
                    let mut v = lock(&view);
                    v.typed = seq;
                    v.bytes.extend_from_slice(&bytes);
                }
                if greeted {
                    out.push(input(seq, &bytes));
                }
            }
            msg = next => match msg {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<DeviceFrame>(t.as_str()) {
                    Ok(DeviceFrame::Link { up: true }) => {
                        greeted = false;
                        out.push(hello());
                    }
                    Ok(DeviceFrame::Link { up: false }) => greeted = false,
                    Ok(DeviceFrame::Ping { n }) => {
                        out.push(Message::text(serde_json::to_string(&DeviceFrame::Pong { n }).expect("encode")));
                    }
                    _ => {}
                },
                Some(Ok(Message::Binary(b))) => match serde_json::from_slice::<DaemonMsg>(&b) {
                    Ok(DaemonMsg::Hello { input_seq, .. }) => {
                        greeted = true;
                        if input_seq >= next_seq {
                            lock(&view).faults.push(format!("hello says input {input_seq} was applied; the last sent is {}", next_seq - 1));
                        }
                        acked = acked.max(input_seq);
                        queue.retain(|(s, _)| *s > acked);
                        for (s, bytes) in &queue {
                            out.push(input(*s, bytes));
                        }
                        let mut v = lock(&view);
                        v.greeted = true;
                        v.hellos += 1;
                        v.acked = acked;
                        v.resent += queue.len() as u64;
                        if v.greeted_at.is_none() {
                            v.greeted_at = Some(Instant::now());
                        }
                    }
                    Ok(DaemonMsg::Screen(frame)) => {
                        if stream::apply(&mut screen, version, &frame) {
                            version = frame.version;
                            out.push(Message::binary(serde_json::to_vec(&DeviceMsg::Ack { version }).expect("encode")));
                            if !frame.partial {
                                lock(&view).screen = screen.iter().map(|r| r.text().trim_end().to_string()).collect();
                            }
                        } else {
                            // A difference from a version we do not have: start over.
                            broken = true;
                        }
                    }
                    Ok(DaemonMsg::InputAck { seq }) => {
                        let mut v = lock(&view);
                        if seq >= next_seq {
                            v.faults.push(format!("input {seq} acknowledged; the last sent is {}", next_seq - 1));
                        }
                        if seq < acked {
                            v.faults.push(format!("acknowledgement went back from {acked} to {seq}"));
                        }
                        acked = acked.max(seq);
                        queue.retain(|(s, _)| *s > acked);
                        v.acked = acked;
                    }
                    _ => {}
                },
                Some(Ok(_)) => {}
                _ => broken = true,
            },
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        if let Some(s) = ws.as_mut() {
            for m in out {
                if s.feed(m).await.is_err() {
                    broken = true;
                    break;
                }
            }
            if !broken && s.flush().await.is_err() {
                broken = true;
            }
        }
        if broken {
            ws = None;
            greeted = false;
            version = 0;
            lock(&view).greeted = false;
            retry_at = tokio::time::Instant::now() + Duration::from_millis(50);
        }
    }
}

/// A device running on `rt`.
struct Running {
    view: Shared<DeviceView>,
    control: Shared<Control>,
}

fn start_device(
    rt: &tokio::runtime::Runtime,
    spec: DeviceSpec,
    every: Duration,
    line: impl Fn(u64) -> Vec<u8> + Send + 'static,
) -> Running {
    let view: Shared<DeviceView> = Arc::default();
    let control: Shared<Control> = Arc::default();
    rt.spawn(run_device(spec, every, line, view.clone(), control.clone()));
    Running { view, control }
}

/// A typing device on each of `specs` (device `i` types [`numbered`]
/// lines `i`, one per `every`), once every one of them has said hello.
fn start_greeted(
    rt: &tokio::runtime::Runtime,
    specs: Vec<DeviceSpec>,
    every: Duration,
    patience: Duration,
) -> Vec<Running> {
    let devices: Vec<Running> = specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| start_device(rt, spec, every, numbered(i)))
        .collect();
    wait_for("every device greeted", patience, || {
        devices.iter().all(|d| d.view().greeted)
    });
    devices
}

impl Running {
    fn view(&self) -> DeviceView {
        lock(&self.view).clone()
    }
}

/// `rcctl screen NAME --json`'s rows.
fn daemon_screen(d: &Daemon, name: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(&d.ok(&["screen", name, "--json"])).expect("screen --json");
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_str().unwrap_or_default().to_string())
        .collect()
}

/// What a device typed: numbered lines, CR LF, so the recorder's echo
/// makes one screen row of each.
fn numbered(device: usize) -> impl Fn(u64) -> Vec<u8> + Send + 'static {
    move |n| format!("d{device}-{n:06}\r\n").into_bytes()
}

/// A linked world with `n` [`RECORDER`] sessions and a device typing a
/// line every 40 ms on each, all greeted.
fn typing(
    name: &str,
    n: usize,
) -> (
    Linked,
    Vec<(String, u32)>,
    tokio::runtime::Runtime,
    Vec<Running>,
) {
    let capacity = (2 * n).to_string();
    let w = linked(name, RECORDER, &["--capacity", &capacity]);
    let sessions = w.sessions(n);
    let rt = runtime();
    let devices = w.typists(
        &rt,
        &sessions,
        "device",
        Duration::from_millis(40),
        Duration::from_secs(20),
    );
    (w, sessions, rt, devices)
}

/// The relay SIGKILLed and restarted 50 times while 8 devices type and
/// the sessions echo: every byte reaches its session exactly once, in
/// order, and every device ends on the daemon's screen.
#[test]
fn relay_killed_50_times_loses_and_doubles_nothing() {
    let _turn = serial();
    let started = Instant::now();
    let mut rng = Rng::new("relay kills");
    const SESSIONS: usize = 8;
    const KILLS: usize = 50;
    let (mut w, sessions, rt, devices) = typing("chaos", SESSIONS);
    for _ in 0..KILLS {
        std::thread::sleep(rng.ms(150, 700));
        w.relay.kill();
        std::thread::sleep(rng.ms(0, 300));
        w.relay.spawn();
    }
    let (settle, checked) = typed_exactly_once(&w.daemon, &devices, &sessions);
    let views: Vec<DeviceView> = devices.iter().map(Running::view).collect();
    for d in &devices {
        lock(&d.control).stop = true;
    }
    let typed: usize = views.iter().map(|v| v.bytes.len()).sum();
    println!(
        "chaos: relay kills: {KILLS} SIGKILLs of the relay, {SESSIONS} sessions, {} inputs \
         ({typed} bytes) typed, {checked} bytes read back and compared, {} bytes lost or doubled, \
         {} device connections, {} hellos, {} inputs resent, settled {:.1} s after typing \
         stopped, {:.0} s in all",
        views.iter().map(|v| v.typed).sum::<u64>(),
        typed.abs_diff(checked),
        views.iter().map(|v| v.connections).sum::<u64>(),
        views.iter().map(|v| v.hellos).sum::<u64>(),
        views.iter().map(|v| v.resent).sum::<u64>(),
        settle.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    drop(rt);
}

/// rcd SIGKILLed and started again 6 times while 4 devices type through
/// the relay: the sessions run on under the keeper, every device
/// reconnects by itself (no new pairing), every byte reaches its session
/// exactly once, in order, and every device ends on the daemon's screen.
#[test]
fn rcd_killed_under_typing_devices_types_every_key_once() {
    let _turn = serial();
    let started = Instant::now();
    let mut rng = Rng::new("rcd kills under typing");
    const SESSIONS: usize = 4;
    const KILLS: usize = 6;
    let (mut w, sessions, rt, devices) = typing("typed", SESSIONS);
    let mut gaps = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(rng.ms(300, 1200));
        w.daemon.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
        let down = Instant::now();
        std::thread::sleep(rng.ms(0, 500));
        w.daemon.spawn();
        w.daemon.wait_ready();
        gaps.push(down.elapsed());
    }
    let listed = w.daemon.list();
    for (name, pid) in &sessions {
        let s = listed
            .iter()
            .find(|s| s["name"] == name.as_str())
            .expect("listed");
        assert_eq!(s["state"], "running", "{s}");
        assert_eq!(s["pid"], *pid, "{name} is the same process: {s}");
    }
    let (settle, checked) = typed_exactly_once(&w.daemon, &devices, &sessions);
    let views: Vec<DeviceView> = devices.iter().map(Running::view).collect();
    for d in &devices {
        lock(&d.control).stop = true;
    }
    let typed: usize = views.iter().map(|v| v.bytes.len()).sum();
    println!(
        "chaos: rcd kills under typing: {KILLS} SIGKILLs of rcd (down {:.1}–{:.1} s), \
         {SESSIONS} sessions kept with their pids, {} inputs ({typed} bytes) typed, {checked} \
         bytes read back and compared, {} bytes lost or doubled, {} device connections, {} \
         inputs resent, settled {:.1} s after typing stopped, {:.0} s in all",
        gaps.iter().min().map_or(0.0, Duration::as_secs_f64),
        gaps.iter().max().map_or(0.0, Duration::as_secs_f64),
        views.iter().map(|v| v.typed).sum::<u64>(),
        typed.abs_diff(checked),
        views.iter().map(|v| v.connections).sum::<u64>(),
        views.iter().map(|v| v.resent).sum::<u64>(),
        settle.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    drop(rt);
}

/// Three rc-relay instances on one Redis behind a TCP round-robin, the
/// daemon's calls and link and the devices spread over them by it. One
/// instance is SIGKILLed during steady typing and echo, then started
/// again, then another is: every byte reaches its session exactly once,
/// in order, every device ends on the daemon's screen, and the relay
/// shows the one machine, online, no ghost of it.
#[test]
fn three_relays_on_redis_one_killed_under_typing_loses_and_doubles_nothing() {
    let Some(redis) = rcd_tests::redis::RedisServer::start() else {
        return;
    };
    let _turn = serial();
    let started = Instant::now();
    let mut rng = Rng::new("relay instances");
    const SESSIONS: usize = 4;
    let root = short_tempdir("rcdm");
    let mut relays: Vec<RelayProc> = (0..3)
        .map(|i| {
            let dir = root.path().join(format!("r{i}"));
            std::fs::create_dir_all(&dir).expect("dir");
            RelayProc::start(&dir, None, &["--redis", &redis.url()])
        })
        .collect();
    let lb = rcd_tests::balancer::Balancer::start(
        relays
            .iter()
            .map(|r| format!("127.0.0.1:{}", r.port))
            .collect(),
    );
    let made = relays[0].cli(&["--redis", &redis.url(), "token", "create", "--label", "t"]);
    let token = made
        .split_whitespace()
        .find(|w| w.starts_with("rce_"))
        .expect("an rce_ token in the output");
    let token_file = root.path().join("d.token");
    std::fs::write(&token_file, token).expect("token file");
    let capacity = (2 * SESSIONS).to_string();
    let daemon = Daemon::start(Options {
        command: RECORDER.into(),
        args: [
            "--relay",
            &lb.url,
            "--token-file",
            &token_file.display().to_string(),
            "--name",
            "spread",
            "--capacity",
            &capacity,
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    });
    let code = pairing_code(&daemon);
    let device_token = stdout_of(
        &remote(&lb.url, "", None, &["pair", "--print-token", &code]),
        "pair",
    )
    .split_whitespace()
    .find(|w| w.starts_with("rcdev_"))
    .expect("a device token")
    .to_string();
    let env = environment_id(&lb.url, &device_token);
    let sessions = recorder_sessions(&daemon, "s", SESSIONS);
    let rt = runtime();
    let like = DeviceSpec {
        url: lb.url.clone(),
        ca: None,
        token: device_token.clone(),
        env: env.clone(),
        session: String::new(),
        client_id: String::new(),
    };
    let specs = devices_like(&like, &sessions, "spread");
    let devices = start_greeted(
        &rt,
        specs,
        Duration::from_millis(40),
        Duration::from_secs(30),
    );
    // Kill one, start it again, kill another.
    let first = rng.below(3) as usize;
    let second = (first + 1 + rng.below(2) as usize) % 3;
    std::thread::sleep(rng.ms(1000, 2500));
    relays[first].kill();
    let killed = Instant::now();
    std::thread::sleep(rng.ms(2000, 3000));
    relays[first].spawn();
    std::thread::sleep(rng.ms(1000, 2000));
    relays[second].kill();
    std::thread::sleep(rng.ms(2000, 3000));
    let (settle, checked) = typed_exactly_once(&daemon, &devices, &sessions);
    let views: Vec<DeviceView> = devices.iter().map(Running::view).collect();
    for d in &devices {
        lock(&d.control).stop = true;
    }
    // One machine, online: the killed instances left nothing behind.
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = rcd_net::Relay::new(&lb.url, None).expect("client");
    let envs = rt1
        .block_on(client.environments(&Secret(device_token.clone())))
        .expect("environments");
    assert_eq!(envs.len(), 1, "{envs:?}");
    assert!(envs[0].online, "{envs:?}");
    let typed: usize = views.iter().map(|v| v.bytes.len()).sum();
    let taken: Vec<usize> = lb
        .taken
        .iter()
        .map(|t| t.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    println!(
        "chaos: relay instances: 3 instances on one Redis behind a round-robin \
         (connections taken {taken:?}), instance {first} SIGKILLed and restarted, then \
         instance {second} SIGKILLed, {SESSIONS} sessions, {} inputs ({typed} bytes) typed, \
         {checked} bytes read back and compared, {} bytes lost or doubled, {} device \
         connections, {} inputs resent, settled {:.1} s after typing stopped, {:.0} s after \
         the first kill, {:.0} s in all",
        views.iter().map(|v| v.typed).sum::<u64>(),
        typed.abs_diff(checked),
        views.iter().map(|v| v.connections).sum::<u64>(),
        views.iter().map(|v| v.resent).sum::<u64>(),
        settle.as_secs_f64(),
        killed.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    drop(rt);
}

/// Stops the typing and checks what the devices typed on `sessions`:
/// every input acknowledged, every byte read by its session exactly once
/// and in order (the [`RECORDER`]'s file), and each device's screen the
/// daemon's. Returns how long after the typing stopped it settled, and
/// the bytes compared.
fn typed_exactly_once(
    daemon: &Daemon,
    devices: &[Running],
    sessions: &[(String, u32)],
) -> (Duration, usize) {
    for d in devices {
        lock(&d.control).stop_typing = true;
    }
    let typing_ended = Instant::now();
    wait_for("every input acknowledged", Duration::from_secs(60), || {
        devices.iter().all(|d| {
            let v = d.view();
            v.typing_stopped && v.acked == v.typed
        })
    });
    let settle = typing_ended.elapsed();
    // Exactly once, in order: what each session read is what its device typed.
    let mut checked = 0usize;
    for (d, (name, pid)) in devices.iter().zip(sessions) {
        let v = d.view();
        assert!(v.faults.is_empty(), "{name}: {:?}", v.faults);
        let rec = daemon.work.join(format!("rec.{pid}"));
        wait_for(
            &format!("{name} to read all it was sent"),
            Duration::from_secs(10),
            || std::fs::metadata(&rec).is_ok_and(|m| m.len() >= v.bytes.len() as u64),
        );
        std::thread::sleep(Duration::from_millis(100));
        let got = std::fs::read(&rec).expect("recording");
        let at = got
            .iter()
            .zip(&v.bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(v.bytes.len()));
        let near = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(24)..(at + 24).min(b.len())]).into_owned()
        };
        assert!(
            got == v.bytes,
            "{name}: {} bytes typed, {} read; they differ from byte {at}: typed {:?}, read {:?}",
            v.bytes.len(),
            got.len(),
            near(&v.bytes),
            near(&got)
        );
        checked += got.len();
    }
    // The device's screen is the daemon's.
    for (d, (name, _)) in devices.iter().zip(sessions) {
        let mut last = (Vec::new(), Vec::new());
        let same = (0..100).any(|_| {
            last = (d.view().screen, daemon_screen(daemon, name));
            if last.0 == last.1 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
            false
        });
        assert!(
            same,
            "{name}: the device shows\n{:#?}\nthe daemon\n{:#?}",
            last.0, last.1
        );
    }
    (settle, checked)
}

/// User and system CPU time of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, r)| r.split_whitespace().collect());
    // utime and stime are fields 14 and 15; after the command, 12 and 13.
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Duration::from_millis(ticks * 1000 / hz.max(1))
}

fn relay_pid(r: &RelayProc) -> u32 {
    r.child.as_ref().expect("relay running").id()
}

/// The relay killed, down for several seconds (long enough for an
/// exponential backoff to have grown past them), and restarted: every
/// session is reachable from a device within 2 s of the relay answering,
/// all links and devices coming back at once. Also what that reconnect
/// storm costs the relay.
#[test]
fn every_session_is_reachable_within_2s_of_the_relay_answering() {
    let _turn = serial();
    const SESSIONS: usize = 24;
    const DOWN: Duration = Duration::from_secs(7);
    let mut w = linked("storm", RECORDER, &["--capacity", "32"]);
    let sessions = w.sessions(SESSIONS);
    let rt = runtime();
    let devices = w.typists(
        &rt,
        &sessions,
        "storm",
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    let mut worst = Duration::ZERO;
    for round in 0..2 {
        w.relay.kill();
        std::thread::sleep(DOWN);
        for d in &devices {
            lock(&d.view).greeted_at = None;
        }
        w.relay.spawn();
        // `spawn` returns once the relay printed that it listens.
        let answering = Instant::now();
        let cpu0 = cpu_time(relay_pid(&w.relay));
        wait_for(
            "every device greeted again",
            Duration::from_secs(60),
            || devices.iter().all(|d| d.view().greeted_at.is_some()),
        );
        let back: Vec<Duration> = devices
            .iter()
            .map(|d| {
                d.view()
                    .greeted_at
                    .expect("greeted")
                    .saturating_duration_since(answering)
            })
            .collect();
        let last = back.iter().max().copied().unwrap_or_default();
        // Let the storm end before the relay's CPU time is read.
        std::thread::sleep(Duration::from_millis(500));
        let cpu = cpu_time(relay_pid(&w.relay)).saturating_sub(cpu0);
        println!(
            "chaos: reconnect storm {round}: relay down {DOWN:?}; {SESSIONS} session links and \
             {SESSIONS} devices back {:.2} s (median {:.2} s) after the relay answered; the \
             relay spent {} ms of CPU on it",
            last.as_secs_f64(),
            {
                let mut b = back.clone();
                b.sort();
                b[b.len() / 2].as_secs_f64()
            },
            cpu.as_millis()
        );
        worst = worst.max(last);
    }
    for d in &devices {
        lock(&d.control).stop = true;
    }
    assert!(
        worst <= Duration::from_secs(2),
        "a session was unreachable for {worst:?} after the relay answered"
    );
}

/// The relay stopped (SIGSTOP) for longer than a heartbeat can go
/// unanswered, then continued: rcd noticed (the link is not `connected`
/// while the relay is frozen) and everything recovers by itself; input
/// typed meanwhile arrives exactly once.
#[test]
fn a_frozen_relay_is_detected_by_heartbeat_and_recovers() {
    let _turn = serial();
    let w = linked_with("frozen", RECORDER, &["--heartbeat-interval", "2"], &[]);
    let sessions = w.sessions(2);
    let rt = runtime();
    let devices = w.typists(
        &rt,
        &sessions,
        "frozen",
        Duration::from_millis(100),
        Duration::from_secs(20),
    );
    let pid = nix::unistd::Pid::from_raw(relay_pid(&w.relay) as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let frozen = Instant::now();
    // Heartbeats every 2 s, each allowed 5 s: noticed within about 7 s.
    let mut detected = None;
    while frozen.elapsed() < Duration::from_secs(20) {
        if w.link_state() != "connected" {
            detected = Some(frozen.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    let thawed = Instant::now();
    let detected = detected.expect("the frozen relay was noticed within 20 s");
    wait_for("the link connected again", Duration::from_secs(40), || {
        w.link_state() == "connected"
    });
    let relinked = thawed.elapsed();
    for d in &devices {
        lock(&d.control).stop_typing = true;
    }
    wait_for("every input acknowledged", Duration::from_secs(60), || {
        devices.iter().all(|d| {
            let v = d.view();
            v.acked == v.typed
        })
    });
    let recovered = thawed.elapsed();
    for (d, (name, pid)) in devices.iter().zip(&sessions) {
        let v = d.view();
        assert!(v.faults.is_empty(), "{name}: {:?}", v.faults);
        let rec = w.daemon.work.join(format!("rec.{pid}"));
        wait_for("the recording", Duration::from_secs(10), || {
            std::fs::read(&rec).is_ok_and(|got| got == v.bytes)
        });
        lock(&d.control).stop = true;
    }
    println!(
        "chaos: frozen relay: noticed {:.1} s after SIGSTOP (heartbeat interval 2 s), link \
         connected {:.1} s and every input acknowledged {:.1} s after SIGCONT",
        detected.as_secs_f64(),
        relinked.as_secs_f64(),
        recovered.as_secs_f64()
    );
}

/// A partition longer than `--outage-timeout`: the relay frozen, so
/// connections are accepted and never answered (nothing is refused to
/// tell rcd the relay is gone). rcd exits with 75 on time, after stopping
/// every session and applying the worktree rule: the worktree with a
/// change is kept, the clean one removed with its branch.
#[test]
fn a_partition_past_the_outage_timeout_ends_rcd_with_75_and_keeps_work() {
    let _turn = serial();
    let root = short_tempdir("rcdp");
    let relay = RelayProc::start(root.path(), None, &["--heartbeat-interval", "2"]);
    let token_file = relay.token_file(&root.path().join("d.token"));
    let mut d = Daemon::start(Options {
        repo: true,
        args: [
            "--relay",
            &relay.url,
            "--token-file",
            &token_file.display().to_string(),
            "--name",
            "cut",
            "--spawn",
            "worktree",
            "--outage-timeout",
            "4s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ..Options::default()
    });
    wait_for("link connected", Duration::from_secs(20), || {
        d.ok(&["status", "--json"]).contains("\"connected\"")
    });
    let new = |name: &str| -> (PathBuf, u32) {
        let s: Value =
            serde_json::from_str(&d.ok(&["new", "--name", name, "--json"])).expect("json");
        (
            PathBuf::from(s["dir"].as_str().expect("dir")),
            s["pid"].as_u64().expect("pid") as u32,
        )
    };
    let (dirty, dirty_pid) = new("dirty");
    let (clean, clean_pid) = new("clean");
    std::fs::write(dirty.join("wip.txt"), "work in progress\n").expect("write");
    let pid = nix::unistd::Pid::from_raw(relay_pid(&relay) as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let cut = Instant::now();
    let status = d.wait_exit();
    let took = cut.elapsed();
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
    let log = d.log_text();
    assert_eq!(status.code(), Some(75), "{log}");
    assert!(
        log.contains("unreachable for longer than --outage-timeout"),
        "{log}"
    );
    // Noticed within a heartbeat and its limit (2 s + 5 s), then 4 s.
    assert!(
        took < Duration::from_secs(16),
        "exited {took:?} after the cut"
    );
    for p in [dirty_pid, clean_pid] {
        assert!(!alive(p as i32), "session process {p} outlived rcd");
    }
    assert_eq!(
        std::fs::read_to_string(dirty.join("wip.txt")).expect("kept"),
        "work in progress\n"
    );
    assert!(!clean.exists(), "the clean worktree is removed");
    let branches = rcd_tests::git(&d.work, &["branch", "--list", "rcd/*"]);
    assert!(branches.contains("rcd/dirty"), "{branches}");
    assert!(!branches.contains("rcd/clean"), "{branches}");
    assert!(!d.state_dir.join("state.json").exists(), "a clean exit");
    println!(
        "chaos: partition past the outage timeout: rcd exited 75 {:.1} s after the relay froze \
         (--outage-timeout 4s), 2 sessions stopped, 1 changed worktree kept, 1 clean removed",
        took.as_secs_f64()
    );
}

/// Every file under `dir` (but `.git`) with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(
                    path.strip_prefix(base).expect("under base").to_path_buf(),
                    bytes,
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The session program of the kill test; its command line is the marker
/// by which its processes are found.
const MARKER: &str = "73911";

/// Pids of every process whose command line is `sleep MARKER`.
fn marked() -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmd == format!("sleep\0{MARKER}\0").as_bytes() && alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// rcd SIGKILLed 30 times at random points, mid-create and mid-stop among
/// them. After each, the state file parses, the next rcd starts, every
/// session that ran before the kill (and was not being stopped) runs on,
/// adopted with its pid, no process of a session runs that `rcctl list`
/// does not show, and every worktree that held work is byte for byte what
/// it was.
#[test]
fn rcd_killed_30_times_leaves_nothing_unlisted_and_work_intact() {
    let _turn = serial();
    let started = Instant::now();
    let mut rng = Rng::new("rcd kills");
    const KILLS: usize = 30;
    let mut d = Daemon::start(Options {
        repo: true,
        command: format!("sleep {MARKER}"),
        args: ["--spawn", "worktree", "--capacity", "128"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Options::default()
    });
    let mut work: Vec<(PathBuf, BTreeMap<PathBuf, Vec<u8>>)> = Vec::new();
    let mut actions = BTreeMap::<&str, usize>::new();
    let mut leftovers = 0usize;
    let mut adopted = 0usize;
    for i in 0..KILLS {
        // Two sessions, one with work in its worktree.
        for j in 0..2 {
            let name = format!("k{i}-{j}");
            let s: Value =
                serde_json::from_str(&d.ok(&["new", "--name", &name, "--json"])).expect("json");
            if j == 0 {
                let dir = PathBuf::from(s["dir"].as_str().expect("dir"));
                let body: String = (0..rng.below(2000)).map(|n| format!("{i}:{n}\n")).collect();
                std::fs::write(dir.join(format!("work-{i}.txt")), body).expect("write");
                work.push((dir.clone(), snapshot(&dir)));
            }
        }
        let socket = d.socket.clone();
        let (what, request): (&str, Option<Vec<String>>) = match rng.below(4) {
            0 => (
                "mid-create",
                Some(vec!["new".into(), "--name".into(), format!("k{i}-new")]),
            ),
            1 => ("mid-stop", Some(vec!["stop".into(), format!("k{i}-1")])),
            2 => (
                "mid-stop of a worktree with work",
                Some(vec!["stop".into(), format!("k{i}-0")]),
            ),
            _ => ("idle", None),
        };
        *actions.entry(what).or_default() += 1;
        let pending = request.map(|args| {
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                rcd_tests::rcctl_at(&socket, &args)
            })
        });
        std::thread::sleep(rng.ms(0, 250));
        // What runs now, and is not being stopped, must run on after the
        // kill, adopted by the next rcd.
        let stopping = match what {
            "mid-stop" => Some(format!("k{i}-1")),
            "mid-stop of a worktree with work" => Some(format!("k{i}-0")),
            _ => None,
        };
        let before: Vec<(String, i64)> = d
            .list()
            .iter()
            .filter(|s| s["state"] == "running" && s["name"].as_str() != stopping.as_deref())
            .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["pid"].as_i64()?)))
            .collect();
        d.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
        if let Some(p) = pending {
            let _ = p.join();
        }
        // The state file, if any, is whole.
        let state = d.state_dir.join("state.json");
        if let Ok(bytes) = std::fs::read(&state) {
            let v: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("kill {i} ({what}): state.json does not parse: {e}"));
            assert!(v["sessions"].is_array(), "kill {i}: {v}");
        }
        d.spawn();
        d.wait_ready();
        // Nothing runs that the new rcd does not list.
        let mut unlisted = Vec::new();
        let settled = (0..50).any(|_| {
            let listed: Vec<i64> = d.list().iter().filter_map(|s| s["pid"].as_i64()).collect();
            let running = marked();
            leftovers = leftovers.max(running.len());
            unlisted = running
                .into_iter()
                .filter(|p| !listed.contains(&i64::from(*p)))
                .collect();
            if unlisted.is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
            false
        });
        assert!(
            settled,
            "kill {i} ({what}): session processes {unlisted:?} run and rcctl list does not show \
             them:\n{}",
            d.ok(&["list"])
        );
        let after = d.list();
        for (name, pid) in &before {
            let now = after.iter().find(|s| s["name"] == name.as_str());
            assert!(
                now.is_some_and(|s| s["state"] == "running" && s["pid"].as_i64() == Some(*pid)),
                "kill {i} ({what}): session {name} (pid {pid}) ran before the kill and is not \
                 running with that pid after it: {now:?}"
            );
        }
        adopted += before.len();
        for (dir, before) in &work {
            assert!(
                snapshot(dir) == *before,
                "kill {i} ({what}): the worktree {} changed",
                dir.display()
            );
        }
    }
    let files: usize = work.iter().map(|(_, s)| s.len()).sum();
    let bytes: usize = work
        .iter()
        .flat_map(|(_, s)| s.values())
        .map(Vec::len)
        .sum();
    println!(
        "chaos: rcd kills: {KILLS} SIGKILLs of rcd ({actions:?}); state file parsed and rcd \
         restarted every time; {adopted} adoptions of a running session, each with its pid; at \
         most {leftovers} session processes found running after a kill, none unlisted; {} \
         worktrees with work ({files} files, {bytes} bytes) intact; {:.0} s",
        work.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
    fn run(args: &[&str], at: &Path) {
        let ok = std::process::Command::new(args[0])
            .args(&args[1..])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "{args:?} {}", at.display());
    }
    /// Read-only from now on: a read-only bind mount over it (the tmpfs
    /// itself cannot be remounted read-only while rcd has files open for
    /// writing; those stay writable, as on a disk that turned read-only
    /// under open files they would fail).
    fn read_only(&self) {
        std::process::Command::new("mount")
            .arg("--bind")
            .arg(&self.0)
            .arg(&self.0)
            .status()
            .expect("mount --bind");
        Tmpfs::run(&["mount", "-o", "remount,bind,ro"], &self.0);
    }
    /// Writable again: the read-only bind mount goes.
    fn writable(&self) {
        Tmpfs::run(&["umount"], &self.0);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The state directory on a small tmpfs, filled up, then read-only: rcd
/// says so (log, and the error to rcctl where a request fails), keeps
/// serving, and what it wrote stays whole: the state file parses and
/// names the sessions it had, the transcript holds every line it took.
#[test]
fn a_full_or_read_only_state_directory_is_reported_and_corrupts_nothing() {
    let _turn = serial();
    let root = short_tempdir("rcdd");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).expect("work");
    let state_dir = root.path().join("state");
    let Some(fs) = Tmpfs::mount(&state_dir, "2m") else {
        println!("chaos: full disk: skipped, mounting a tmpfs was refused (not root?)");
        return;
    };
    let mut d = Daemon {
        socket: root.path().join("rcd.sock"),
        state_dir: state_dir.clone(),
        log: root.path().join("rcd.log"),
        work,
        root,
        child: None,
        opts: Options::default(),
    };
    d.spawn();
    d.wait_ready();
    d.ok(&["new", "--name", "one"]);
    d.ok(&["send", "one", "seq -f before-%g 1 300"]);
    d.wait_screen("one", "before-300");
    let state = || -> Value {
        serde_json::from_slice(&std::fs::read(state_dir.join("state.json")).expect("state.json"))
            .expect("state.json parses")
    };
    assert_eq!(state()["sessions"].as_array().map(Vec::len), Some(1));

    // Full: a file takes every block left.
    let fill = state_dir.join("fill");
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", fill.display()))
        .stderr(std::process::Stdio::null())
        .status();
    let full_before = d.log_text().len();
    // A session still starts (its record cannot be written), output goes
    // on the screen, and rcd says what it cannot write.
    let made = d.rcctl(&["new", "--name", "two"]);
    let err = String::from_utf8_lossy(&made.stderr).to_string();
    assert!(
        made.status.success() || err.contains("No space left"),
        "a failure says why: {err}"
    );
    // Line by line, so the output comes in many chunks, each of which
    // meets the full disk.
    d.ok(&[
        "send",
        "one",
        "for i in $(seq 1 3000); do echo during-$i; done",
    ]);
    d.wait_screen("one", "during-3000");
    wait_for("the full disk reported", Duration::from_secs(10), || {
        d.log_text()[full_before..].contains("No space left")
    });
    let log = d.log_text()[full_before..].to_string();
    if made.status.success() {
        assert!(log.contains("cannot write the state file"), "{log}");
    }
    assert!(log.contains("writing the transcript"), "{log}");
    // Once per failing streak: a page with room left may still take a
    // short line, so a streak can end and start again a few times.
    let transcript_errors = log
        .lines()
        .filter(|l| l.contains("writing the transcript") && l.contains("failed"))
        .count();
    assert!(transcript_errors >= 1, "{log}");
    assert!(
        transcript_errors <= 10,
        "said once, not for every chunk: {transcript_errors} times\n{log}"
    );
    // What was written before is whole.
    let st = state();
    assert_eq!(
        st["sessions"][0]["name"], "one",
        "the previous state file: {st}"
    );
    assert!(
        !state_dir.join("state.json.tmp").exists(),
        "no partial file left"
    );

    // Space again: everything works and the state file catches up.
    std::fs::remove_file(&fill).expect("rm fill");
    d.ok(&["send", "one", "seq -f after-%g 1 50"]);
    d.wait_screen("one", "after-50");
    d.ok(&["new", "--name", "three"]);
    let names: Vec<String> = state()["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"three".to_string()), "{names:?}");
    let t = d.ok(&["transcript", "one"]);
    let lines: Vec<&str> = t.lines().collect();
    // Lines that scrolled off before the disk filled are all there (the
    // last screenful scrolled off while it was full, and is not).
    for n in 1..=250 {
        let want = format!("before-{n}");
        assert!(
            lines.contains(&want.as_str()),
            "{want} kept in the transcript"
        );
    }
    // Whatever was kept is whole: each kind of numbered line in order,
    // none doubled or cut.
    for kind in ["before-", "during-", "after-"] {
        let numbers: Vec<u64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix(kind))
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| panic!("a cut line: {kind}{n}"))
            })
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{kind} lines out of order or doubled"
        );
    }
    assert!(
        lines.iter().all(|l| !l.contains('\0')),
        "no hole or garbage in the transcript"
    );

    // Read-only: a new session cannot make its transcript and says so;
    // the state file cannot be replaced, and stays as it was.
    fs.read_only();
    let err = d.fails(&["new", "--name", "four"]);
    assert!(err.contains("Read-only file system"), "{err}");
    d.ok(&["send", "one", "echo still-served"]);
    d.wait_screen("one", "still-served");
    fs.writable();
    d.ok(&["new", "--name", "five"]);
    let st = state();
    assert!(
        st["sessions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "five")),
        "{st}"
    );
    println!(
        "chaos: full disk: state directory on a 2 MiB tmpfs filled, then read-only: reported \
         ({transcript_errors} transcript error lines, the state file error, the refusal to rcctl: \
         {}), state file and transcript whole, rcd served throughout",
        err.trim()
    );
    d.ok(&["shutdown"]);
    let _ = d.wait_exit();
}

/// A network namespace joined to this one by a veth pair; removed (with
/// everything in it) when dropped.
struct Netns {
    name: String,
    /// The address of its end of the pair.
    inside: String,
    /// Its end of the pair, whose link is cut to partition.
    dev: String,
}

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Netns {
    /// `None` when namespaces are refused here (not root, no support).
    fn new() -> Option<Netns> {
        let id = std::process::id() % 10_000;
        let name = format!("rcdchaos{id}");
        if !ip(&["netns", "add", &name]) {
            return None;
        }
        let (host, dev) = (format!("rcdh{id}"), format!("rcdn{id}"));
        let net = 1 + id % 250;
        let (outside, inside) = (format!("10.231.{net}.1"), format!("10.231.{net}.2"));
        let ns = Netns {
            name: name.clone(),
            inside: inside.clone(),
            dev: dev.clone(),
        };
        let ok = ip(&["link", "add", &host, "type", "veth", "peer", "name", &dev])
            && ip(&["link", "set", &dev, "netns", &name])
            && ip(&["addr", "add", &format!("{outside}/30"), "dev", &host])
            && ip(&["link", "set", &host, "up"])
            && ip(&[
                "-n",
                &name,
                "addr",
                "add",
                &format!("{inside}/30"),
                "dev",
                &dev,
            ])
            && ip(&["-n", &name, "link", "set", &dev, "up"])
            && ip(&["-n", &name, "link", "set", "lo", "up"]);
        ok.then_some(ns)
    }
    /// Cuts (false) or heals (true) the namespace's link: while cut,
    /// packets to it go nowhere and nothing answers.
    fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        assert!(
            ip(&["-n", &self.name, "link", "set", &self.dev, state]),
            "ip link set {state}"
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so both.
        ip(&["netns", "del", &self.name]);
    }
}

/// An rc-relay inside a namespace, over TLS (plain HTTP is for loopback
/// only), with its certificate for the namespace's address.
struct NsRelay {
    child: std::process::Child,
    url: String,
    data_dir: PathBuf,
    ca: PathBuf,
}

impl NsRelay {
    fn start(ns: &Netns, dir: &Path) -> NsRelay {
        use std::io::BufRead;
        let cert = rcgen::generate_simple_self_signed(vec![ns.inside.clone()]).expect("cert");
        let (ca, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&ca, cert.cert.pem()).expect("cert");
        std::fs::write(&key, cert.signing_key.serialize_pem()).expect("key");
        let data_dir = dir.join("relay-data");
        let log = std::fs::File::create(dir.join("relay.log")).expect("log");
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(rcd_tests::bin("rc-relay"))
            .args(["serve", "--listen", &format!("{}:0", ns.inside)])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--tls-cert")
            .arg(&ca)
            .arg("--tls-key")
            .arg(&key)
            .args(["--heartbeat-interval", "2"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("rc-relay in the namespace");
        let mut first = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first);
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("rc-relay did not start: {first:?}"))
            .to_string();
        NsRelay {
            child,
            url,
            data_dir,
            ca,
        }
    }
}

impl Drop for NsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rc-relay in a network namespace, rcd and the devices outside, and the
/// namespace's link cut for 10 s (packets dropped, nothing refused): rcd
/// notices, and when the link heals everything reconnects by itself and
/// the input typed meanwhile arrives exactly once.
#[test]
fn a_network_partition_heals_and_nothing_typed_is_lost() {
    let _turn = serial();
    let Some(ns) = Netns::new() else {
        println!(
            "chaos: partition: SKIPPED, `ip netns add` was refused here (needs root and \
             network namespaces)"
        );
        return;
    };
    let root = short_tempdir("rcdn");
    let relay = NsRelay::start(&ns, root.path());
    let token = stdout_of(
        &std::process::Command::new(rcd_tests::bin("rc-relay"))
            .args(["token", "create", "--label", "ns", "--data-dir"])
            .arg(&relay.data_dir)
            .output()
            .expect("token create"),
        "token create",
    );
    let token = token
        .split_whitespace()
        .find(|w| w.starts_with("rce_"))
        .expect("an enrollment token");
    let token_file = root.path().join("d.token");
    std::fs::write(&token_file, token).expect("token file");
    let ca = relay.ca.display().to_string();
    let daemon = Daemon::start(Options {
        command: RECORDER.into(),
        args: [
            "--relay",
            &relay.url,
            "--ca-cert",
            &ca,
            "--token-file",
            &token_file.display().to_string(),
            "--name",
            "apart",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ..Options::default()
    });
    let code = pairing_code(&daemon);
    let device_token = stdout_of(
        &remote(
            &relay.url,
            "",
            Some(&relay.ca),
            &["pair", "--print-token", &code],
        ),
        "pair",
    )
    .split_whitespace()
    .find(|w| w.starts_with("rcdev_"))
    .expect("a device token")
    .to_string();
    let env = environment_id_with(&relay.url, &device_token, Some(&relay.ca));
    let link_state = || -> String {
        serde_json::from_str::<Value>(&daemon.ok(&["status", "--json"]))
            .ok()
            .and_then(|v| v["link"]["state"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let sessions = recorder_sessions(&daemon, "p", 2);
    let rt = runtime();
    let like = DeviceSpec {
        url: relay.url.clone(),
        ca: Some(relay.ca.clone()),
        token: device_token.clone(),
        env: env.clone(),
        session: String::new(),
        client_id: String::new(),
    };
    let specs = devices_like(&like, &sessions, "apart");
    let devices = start_greeted(
        &rt,
        specs,
        Duration::from_millis(100),
        Duration::from_secs(20),
    );
    ns.link(false);
    let cut = Instant::now();
    let mut noticed = None;
    while cut.elapsed() < Duration::from_secs(10) {
        if noticed.is_none() && link_state() != "connected" {
            noticed = Some(cut.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let typed_while_cut: u64 = devices.iter().map(|d| d.view().typed).sum();
    ns.link(true);
    let healed = Instant::now();
    let noticed = noticed.expect("rcd noticed the partition within 10 s");
    wait_for("the link connected again", Duration::from_secs(40), || {
        link_state() == "connected"
    });
    let relinked = healed.elapsed();
    for d in &devices {
        lock(&d.control).stop_typing = true;
    }
    wait_for("every input acknowledged", Duration::from_secs(60), || {
        devices.iter().all(|d| {
            let v = d.view();
            v.acked == v.typed
        })
    });
    let recovered = healed.elapsed();
    let mut checked = 0;
    for (d, (name, pid)) in devices.iter().zip(&sessions) {
        let v = d.view();
        assert!(v.faults.is_empty(), "{name}: {:?}", v.faults);
        let rec = daemon.work.join(format!("rec.{pid}"));
        wait_for("the recording", Duration::from_secs(10), || {
            std::fs::read(&rec).is_ok_and(|got| got == v.bytes)
        });
        checked += v.bytes.len();
        lock(&d.control).stop = true;
    }
    println!(
        "chaos: partition: relay in a network namespace cut off for 10 s: noticed after {:.1} s; \
         after healing the link was connected in {:.1} s and all {} inputs ({typed_while_cut} \
         typed by the end of the cut) acknowledged in {:.1} s; {checked} bytes compared, none \
         lost or doubled",
        noticed.as_secs_f64(),
        relinked.as_secs_f64(),
        devices.iter().map(|d| d.view().typed).sum::<u64>(),
        recovered.as_secs_f64()
    );
}
