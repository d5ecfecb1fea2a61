//! Harness for the black-box tests: starts the real `rcd` binary on a
//! temporary socket and state directory, runs the real `rcctl` against
//! it, and tears everything down on drop.
//!
//! The binaries are found next to the test executable's directory
//! (`target/<profile>/`); `scripts/test` builds them before the tests run.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub mod balancer;
pub mod device;
pub mod redis;

/// Default patience of [`wait_for`].
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Path of a binary of this workspace.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (scripts/test does: cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// Polls `cond` until it holds or `timeout` passes; panics with `what`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut pause = Duration::from_millis(10);
    while start.elapsed() < timeout {
        if cond() {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// The stdout of a finished command; panics with `what` and its stderr
/// when it failed.
pub fn stdout_of(out: &Output, what: impl Display) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temporary directory with a short path under /tmp: a Unix socket path
/// must fit in 107 bytes.
pub fn short_tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("tempdir")
}

/// Runs `git` in `dir`, panicking on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .expect("git runs");
    stdout_of(&out, format_args!("git {args:?} failed"))
}

/// Makes a git repository with one commit at `dir`.
pub fn make_repo(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir repo");
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "hello\n").expect("write");
    std::fs::write(dir.join(".gitignore"), "*.log\ntarget/\n").expect("write");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
}

/// How to start a daemon.
#[derive(Debug, Clone)]
pub struct Options {
    pub repo: bool,
    pub args: Vec<String>,
    pub command: String,
    /// Extra environment of the rcd process.
    pub env: Vec<(String, String)>,
}

impl Options {
    /// The defaults with `args` on the command line (and a repository at
    /// the shared directory when `repo`).
    pub fn with_args(repo: bool, args: &[&str]) -> Options {
        Options {
            repo,
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Options::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            repo: false,
            args: Vec::new(),
            command: "bash --norc --noprofile".into(),
            env: Vec::new(),
        }
    }
}

/// A running `rcd` with its own temporary world.
#[derive(Debug)]
pub struct Daemon {
    pub root: tempfile::TempDir,
    /// The shared directory (`--dir`).
    pub work: PathBuf,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub child: Option<Child>,
    pub log: PathBuf,
    pub opts: Options,
}

impl Daemon {
    /// Starts `rcd` in a fresh temporary directory and waits until its
    /// socket answers.
    pub fn start(opts: Options) -> Daemon {
        let mut d = Daemon::new(opts);
        d.spawn();
        d.wait_ready();
        d
    }

    /// Makes the temporary world of a daemon without starting it: the
    /// caller spawns `command()` its own way.
    pub fn new(opts: Options) -> Daemon {
        let root = short_tempdir("rcdt");
        let work = root.path().join("work");
        if opts.repo {
            make_repo(&work);
        } else {
            std::fs::create_dir_all(&work).expect("mkdir work");
        }
        Daemon {
            socket: root.path().join("rcd.sock"),
            state_dir: root.path().join("state"),
            log: root.path().join("rcd.log"),
            work,
            root,
            child: None,
            opts,
        }
    }

    /// The command line of this daemon.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("rcd"));
        cmd.arg("--dir")
            .arg(&self.work)
            .arg("--socket")
            .arg(&self.socket)
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--command")
            .arg(&self.opts.command)
            .arg("--stop-grace")
            .arg("2")
            .args(&self.opts.args)
            .args(
                (!self
                    .opts
                    .args
                    .iter()
                    .any(|a| a == "--relay" || a == "--listen"))
                .then_some("--no-relay"),
            )
            .env("RUST_LOG", "rcd=debug")
            .env("HOME", self.root.path())
            .env_remove("RCD_SOCKET")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Starts (or restarts) the process; the log is appended to.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = self
            .command()
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("rcd starts");
        self.child = Some(child);
    }

    /// Waits until `rcctl status` answers.
    pub fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("rcd exited early with {status}:\n{}", self.log_text());
            }
            if self.rcctl(&["status"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rcd did not become ready:\n{}", self.log_text());
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs rcctl against this daemon.
    pub fn rcctl(&self, args: &[&str]) -> Output {
        rcctl_at(&self.socket, args)
    }

    /// Runs rcctl and returns stdout; panics (with stderr) on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.rcctl(args);
        assert!(
            out.status.success(),
            "rcctl {args:?} failed ({}): {}\n--- rcd log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs rcctl expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.rcctl(args);
        assert!(
            !out.status.success(),
            "rcctl {args:?} should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "errors are one line: {err:?}"
        );
        err
    }

    /// `rcctl list --json`, parsed.
    pub fn list(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json is JSON")
    }

    /// The current screen of a session.
    pub fn screen(&self, name: &str) -> String {
        self.ok(&["screen", name])
    }

    /// Waits until the screen of `name` contains `needle`.
    pub fn wait_screen(&self, name: &str, needle: &str) {
        let mut last = String::new();
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            last = self.screen(name);
            if last.contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("screen of {name} never showed {needle:?}; it shows:\n{last}");
    }

    /// The pid of the daemon.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    /// Sends a signal to the daemon and waits for it to exit.
    pub fn signal_and_wait(&mut self, sig: nix::sys::signal::Signal) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.pid());
        nix::sys::signal::kill(pid, sig).expect("signal");
        self.wait_exit()
    }

    /// Waits for the daemon process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("rcd did not exit:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
        // A test that killed rcd and did not start it again leaves its
        // sessions to the keeper: end them too.
        end_keepers(&self.state_dir);
    }
}

/// The pids of the keepers of a state directory (from their sockets'
/// names, `keeper/k<pid>.sock`), alive or not.
pub fn keepers(state_dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("keeper")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix('k')?.strip_suffix(".sock")?.parse().ok()
        })
        .collect()
}

/// Ends the keepers of a state directory, and so their sessions (a
/// keeper hangs up every session on SIGTERM).
pub fn end_keepers(state_dir: &Path) {
    for pid in keepers(state_dir) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// Stops rcd with SIGINT (which stops its sessions too; SIGTERM would
/// leave them running), or with SIGKILL after 10 s.
fn terminate(mut child: Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs rcctl with an explicit socket.
pub fn rcctl_at(socket: &Path, args: &[&str]) -> Output {
    Command::new(bin("rcctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rcctl runs")
}

/// A bare `rcd` for tests of its own start-up (configuration files,
/// readiness, upgrades), where the defaults of [`Daemon`] would be in the
/// way. Dropped while still running, it is stopped with SIGINT (SIGKILL
/// after 10 s).
#[derive(Debug)]
pub struct RcdProc {
    pub socket: PathBuf,
    child: Option<Child>,
}

impl RcdProc {
    /// The command line: `program` (`bin("rcd")` or a copy of it) with
    /// HOME at `home`, none of the caller's configuration from the
    /// environment, stdin and stderr null; with `socket`, also `--socket
    /// SOCKET --state-dir HOME/state`. Arguments and environment follow.
    pub fn command(program: &Path, home: &Path, socket: Option<&Path>) -> Command {
        let mut cmd = Command::new(program);
        if let Some(socket) = socket {
            cmd.arg("--socket")
                .arg(socket)
                .arg("--state-dir")
                .arg(home.join("state"));
        }
        cmd.env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("RCD_CAPACITY")
            .env_remove("RCD_SPAWN")
            .env_remove("RCD_SANDBOX")
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Spawns `cmd`, whose control socket is `socket`, without waiting.
    pub fn spawn(cmd: &mut Command, socket: &Path) -> RcdProc {
        RcdProc {
            socket: socket.to_path_buf(),
            child: Some(cmd.spawn().expect("rcd starts")),
        }
    }

    /// Spawns `cmd` and waits until `rcctl status` answers on `socket`.
    pub fn start(cmd: &mut Command, socket: &Path) -> RcdProc {
        let rcd = RcdProc::spawn(cmd, socket);
        wait_for("rcd to answer on its socket", PATIENCE, || {
            rcd.rcctl(&["status"]).status.success()
        });
        rcd
    }

    /// Runs rcctl against this rcd.
    pub fn rcctl(&self, args: &[&str]) -> Output {
        rcctl_at(&self.socket, args)
    }

    /// `rcctl status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_slice(&self.rcctl(&["status", "--json"]).stdout).expect("json")
    }

    /// Sends a signal to rcd and waits for it to exit.
    pub fn signal_and_wait(&mut self, sig: nix::sys::signal::Signal) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("signal");
        child.wait().expect("rcd exits")
    }

    /// `rcctl shutdown`, which must succeed; returns how rcd exited.
    pub fn shutdown(mut self) -> ExitStatus {
        assert!(self.rcctl(&["shutdown"]).status.success(), "rcctl shutdown");
        self.child
            .take()
            .expect("running")
            .wait()
            .expect("rcd exits")
    }
}

impl Drop for RcdProc {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
    }
}

/// Whether a process exists.
pub fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
}

/// A real `rc-relay serve` process on 127.0.0.1.
#[derive(Debug)]
pub struct RelayProc {
    pub data_dir: PathBuf,
    pub url: String,
    pub port: u16,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub extra: Vec<String>,
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl RelayProc {
    /// Starts a relay with its data in `dir`; `tls` is (cert, key).
    pub fn start(dir: &Path, tls: Option<(PathBuf, PathBuf)>, extra: &[&str]) -> RelayProc {
        let mut r = RelayProc {
            data_dir: dir.join("relay-data"),
            url: String::new(),
            port: 0,
            tls,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            log: dir.join("relay.log"),
        };
        r.spawn();
        r
    }

    /// (Re)starts the process, on the same port once it has one.
    pub fn spawn(&mut self) {
        use std::io::BufRead;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("relay log");
        let mut cmd = Command::new(bin("rc-relay"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra)
            .env("RUST_LOG", "rc_relay=debug,info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some((cert, key)) = &self.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let start = Instant::now();
        loop {
            let mut child = cmd.spawn().expect("rc-relay starts");
            let stdout = child.stdout.take().expect("stdout");
            let mut first = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut first);
            if let Some(url) = first.trim().strip_prefix("listening on ") {
                self.url = url.to_string();
                self.port = url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port in the URL");
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            // The old process may still hold the port for a moment.
            assert!(
                start.elapsed() < PATIENCE,
                "rc-relay did not start: {first:?}\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the process with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `rc-relay ARGS --data-dir DIR` and returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin("rc-relay"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .expect("rc-relay runs");
        stdout_of(&out, format_args!("rc-relay {args:?}"))
    }

    /// A new enrollment token written to `file`.
    pub fn token_file(&self, file: &Path) -> PathBuf {
        let token = self.cli(&["token", "create", "--label", "test"]);
        let token = token
            .split_whitespace()
            .find(|w| w.starts_with("rce_"))
            .expect("an rce_ token in the output")
            .to_string();
        std::fs::write(file, token).expect("token file");
        file.to_path_buf()
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs rcctl in remote mode.
pub fn remote(relay: &str, token: &str, ca: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin("rcctl"));
    cmd.arg("--relay").arg(relay);
    if !token.is_empty() {
        cmd.arg("--token").arg(token);
    }
    if let Some(ca) = ca {
        cmd.arg("--ca-cert").arg(ca);
    }
    cmd.args(args)
        .env_remove("RCD_RELAY")
        .env_remove("RCD_TOKEN")
        .env_remove("RCD_SOCKET")
        // No kept device token of the person running the tests is read:
        // the configuration directory is one that does not exist.
        .env("XDG_CONFIG_HOME", no_config_dir())
        .stdin(Stdio::null())
        .output()
        .expect("rcctl runs")
}

/// A configuration directory that does not exist, for rcctl runs that
/// must find no kept device token.
pub fn no_config_dir() -> PathBuf {
    std::env::temp_dir().join(format!("rcd-tests-no-config-{}", std::process::id()))
}

/// The pairing code rcd printed (the last one in its log).
/// The URL of the embedded relay, from the last pairing line rcd printed
/// (`rcctl --relay URL pair CODE`); call after [`pairing_code`].
pub fn embedded_relay_url(d: &Daemon) -> String {
    d.log_text()
        .rsplit_once("rcctl --relay ")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the relay URL in the pairing line")
        .to_string()
}

/// Pairs a device with the embedded relay of `d` (started with
/// `--listen`): the relay's URL and the device token.
pub fn pair_with_embedded(d: &Daemon) -> (String, String) {
    let code = pairing_code(d);
    let url = embedded_relay_url(d);
    let token = stdout_of(
        &remote(&url, "", None, &["pair", "--print-token", &code]),
        "pair",
    )
    .trim()
    .to_string();
    (url, token)
}

pub fn pairing_code(d: &Daemon) -> String {
    let mut code = String::new();
    wait_for("rcd to print a pairing code", PATIENCE, || {
        let log = d.log_text();
        match log.rsplit_once(" pair ") {
            Some((_, rest)) => {
                code = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                !code.is_empty()
            }
            None => false,
        }
    });
    code
}

/// A process's resident memory in KiB (0 once it is gone).
pub fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
