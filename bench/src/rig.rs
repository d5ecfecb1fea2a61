//! What every scenario needs: the release binaries, an rcd of its own in a
//! temporary directory, its control socket, a program on a bare PTY (the
//! floor), tmux (the peer), and a process's CPU time.

use anyhow::{Context, Result, anyhow, bail};
use rcd_proto::frame::tokio_io::{read_frame, write_frame};
use rcd_proto::{ClientHello, Request, Response, ServerHello, SessionInfo};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::UnixStream;

/// A program that echoes every byte at once: the terminal in raw mode,
/// no echo of its own, `cat` writing back what it reads.
pub const ECHO: &str = "sh -c 'stty raw -echo; exec cat'";

/// Where the workspace's release binaries are.
#[path = "../../tests/src/redis.rs"]
mod redis;
pub use redis::RedisServer;

pub fn release_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release")
}

/// Builds the release binaries (a no-op when they are current).
pub fn build() -> Result<()> {
    eprintln!("bench: building the release binaries");
    let ok = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "rcd",
            "-p",
            "rcctl",
            "-p",
            "rc-relay",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .context("cannot run cargo")?
        .success();
    if !ok {
        bail!("building the release binaries failed");
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An rcd in a temporary directory; killed (and its sessions with it) on
/// drop.
#[derive(Debug)]
pub struct Rcd {
    /// Removed, with everything in it, on drop.
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub child: Child,
    pub log: PathBuf,
}

impl Rcd {
    /// Starts rcd with `args` (its command, relay, capacity…) in a fresh
    /// state directory (and, unless `args` name a `--dir`, working
    /// directory) and waits for its socket.
    pub fn start(args: &[&str]) -> Result<Rcd> {
        let dir = tempfile::Builder::new().prefix("rcd-bench").tempdir()?;
        let socket = dir.path().join("rcd.sock");
        let log = dir.path().join("rcd.log");
        let mut cmd = Command::new(release_dir().join("rcd"));
        if !args.contains(&"--dir") {
            cmd.arg("--dir").arg(dir.path());
        }
        let child = cmd
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start rcd (build the release binaries)")?;
        let rcd = Rcd {
            _dir: dir,
            socket,
            child,
            log,
        };
        wait("rcd's socket", Duration::from_secs(20), || {
            rcd.socket.exists()
        })?;
        Ok(rcd)
    }

    /// What rcd logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A control connection, past the hello.
    pub async fn connect(&self) -> Result<UnixStream> {
        let mut s = UnixStream::connect(&self.socket).await?;
        write_frame(&mut s, &ClientHello::current()).await?;
        let _: ServerHello = read_frame(&mut s).await?;
        Ok(s)
    }

    /// One request on its own connection.
    pub async fn call(&self, req: &Request) -> Result<Response> {
        let mut s = self.connect().await?;
        write_frame(&mut s, req).await?;
        Ok(read_frame(&mut s).await?)
    }

    /// Starts a session by name.
    pub async fn new_session(&self, name: &str) -> Result<SessionInfo> {
        match self
            .call(&Request::New {
                name: Some(name.into()),
                spawn: None,
                sandbox: None,
                program: None,
                command: None,
            })
            .await?
        {
            Response::Session(s) => Ok(s),
            other => Err(anyhow!("new {name}: {other:?}")),
        }
    }

    /// The pid of the keeper rcd started (the process that holds the
    /// sessions' programs and terminals): its socket is
    /// `keeper/k<pid>.sock` in the state directory.
    pub fn keeper_pid(&self) -> Option<u32> {
        std::fs::read_dir(self._dir.path().join("state/keeper"))
            .ok()?
            .flatten()
            .find_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix('k')?.strip_suffix(".sock")?.parse().ok()
            })
    }

    /// Resident memory of rcd and its keeper together (KiB): what the
    /// sessions cost, whichever of the two holds it.
    pub fn rss_kib(&self) -> Result<u64> {
        let keeper = match self.keeper_pid() {
            Some(k) => rss_kib(k)?,
            None => 0,
        };
        Ok(rss_kib(self.pid())? + keeper)
    }

    /// The pid, for CPU figures.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Rcd {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(15));
    }
}

/// SIGINT (rcd then stops its sessions; SIGTERM would leave them to
/// its keeper), then SIGKILL once `grace` has passed.
fn terminate(child: &mut std::process::Child, grace: Duration) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `cond` until it holds or `limit` passes.
pub fn wait(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!("timed out waiting for {what}")
}

/// CPU time (user + system) a process has used so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let ticks: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Ok(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// A program on a bare PTY, the floor of every terminal path: the bench
/// holds the master and reads and writes it directly.
#[derive(Debug)]
pub struct BarePty {
    pub master: std::fs::File,
    pub child: Child,
}

impl BarePty {
    /// Runs `sh -c script` with the slave as its standard streams.
    pub fn spawn(script: &str) -> Result<BarePty> {
        let pty = nix::pty::openpty(
            Some(&nix::pty::Winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            }),
            None,
        )?;
        let slave = std::fs::File::from(pty.slave);
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(slave.try_clone()?)
            .stdout(slave.try_clone()?)
            .stderr(slave)
            .spawn()?;
        Ok(BarePty {
            master: std::fs::File::from(pty.master),
            child,
        })
    }
}

impl Drop for BarePty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmux server of its own (its own socket), killed on drop.
#[derive(Debug)]
pub struct Tmux {
    /// Removed, with everything in it, on drop.
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Tmux {
    /// A server with one detached 80×24 session running `command`.
    pub fn start(command: &str) -> Result<Tmux> {
        which("tmux")?;
        let dir = tempfile::Builder::new()
            .prefix("rcd-bench-tmux")
            .tempdir()?;
        let t = Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        t.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            command,
        ])?;
        t.run(&["set-option", "-g", "remain-on-exit", "on"])?;
        Ok(t)
    }

    /// `tmux -S SOCKET args…`, which must succeed.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.command(args).output()?;
        if !out.status.success() {
            bail!(
                "tmux {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The command, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(args);
        c
    }

    /// The server's socket, for a client of the bench's own.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// The server's pid.
    pub fn server_pid(&self) -> Result<u32> {
        self.run(&["display-message", "-p", "#{pid}"])?
            .trim()
            .parse()
            .context("tmux's pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).output();
    }
}

/// Fails with a clear message when a peer is not installed.
pub fn which(program: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        bail!(
            "{program} is not installed: it is the peer of this scenario (apt-get install {program})"
        )
    }
}

/// A named pipe in `dir` that the programs of a scenario write a line to
/// when they run.
pub fn fifo(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600))?;
    Ok(p)
}

/// A standalone `rc-relay serve` on 127.0.0.1 (on a free port it picks
/// itself), with a data directory of its own holding one enrollment
/// token; stopped on drop (SIGINT, then SIGKILL) and its directory
/// removed.
#[derive(Debug)]
pub struct RelayServer {
    /// Removed, with everything in it, on drop.
    _dir: tempfile::TempDir,
    child: Child,
    /// Held open: the relay announces its address on it.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The enrollment token its daemons register with.
    pub token: rcd_proto::relay::Secret,
    pub log: PathBuf,
}

impl RelayServer {
    /// Makes the enrollment token, starts the relay and waits for the
    /// address it listens on.
    pub fn start() -> Result<RelayServer> {
        RelayServer::start_with(None, None)
    }

    /// A relay keeping its state in the Redis at `redis`, if given, and
    /// taking `token` as its daemons' token (made when `None`).
    pub fn start_with(
        redis: Option<&str>,
        token: Option<rcd_proto::relay::Secret>,
    ) -> Result<RelayServer> {
        use std::io::BufRead;
        let dir = tempfile::Builder::new()
            .prefix("rcd-bench-relay")
            .tempdir()?;
        let data = dir.path().join("data");
        let log = dir.path().join("relay.log");
        let relay = release_dir().join("rc-relay");
        let store: Vec<String> = match redis {
            Some(url) => vec!["--redis".into(), url.into()],
            None => vec!["--data-dir".into(), data.display().to_string()],
        };
        let token = match token {
            Some(t) => t,
            None => {
                let out = Command::new(&relay)
                    .args(&store)
                    .args(["token", "create", "--label", "bench"])
                    .env("HOME", dir.path())
                    .stdin(Stdio::null())
                    .output()
                    .context("cannot run rc-relay (build the release binaries)")?;
                if !out.status.success() {
                    bail!(
                        "rc-relay token create: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                rcd_proto::relay::Secret(String::from_utf8(out.stdout)?.trim().to_string())
            }
        };
        let mut child = Command::new(&relay)
            .args(&store)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("HOME", dir.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start rc-relay")?;
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        // The relay's first line says where it listens; EOF means it ended.
        let read = stdout.read_line(&mut line);
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string);
        let server = RelayServer {
            _dir: dir,
            child,
            _stdout: stdout,
            url: url.clone().unwrap_or_default(),
            token,
            log,
        };
        match (read, url) {
            (Ok(_), Some(_)) => Ok(server),
            _ => bail!(
                "rc-relay did not start: {}",
                std::fs::read_to_string(&server.log)
                    .unwrap_or_default()
                    .trim()
            ),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(10));
    }
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// Resident memory of `pid` in KiB, split: anonymous (what its heap,
/// stacks and buffers hold) and file-backed (its code and libraries, paged
/// in as they are first run).
pub fn rss_parts_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("no {name}"))
    };
    Ok((field("RssAnon:")?, field("RssFile:")?))
}

/// Raises this process's soft limit of open files to its hard limit
/// (children inherit it) and returns the limit now in force.
pub fn raise_open_files() -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(getrlimit(Resource::RLIMIT_NOFILE)?.0)
}
