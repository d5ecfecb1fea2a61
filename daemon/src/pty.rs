//! Pseudo-terminals and the processes that run in them.
//!
//! This module and `sandbox` are the only ones of the daemon with `unsafe`
//! code; here: the `pre_exec` hook that makes the child a session leader
//! with the PTY as its controlling terminal (and, for a sandboxed session,
//! confines it), and the `TIOCSWINSZ` ioctl. Each block says why it is
//! sound.
#![allow(unsafe_code)]

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::pty::{Winsize, openpty};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use tokio::io::unix::AsyncFd;

/// Terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

impl Size {
    /// The size a session gets before anyone attaches.
    pub const DEFAULT: Size = Size { rows: 24, cols: 80 };

    /// Clamps to the largest screen rcd serves (`MAX_FRAME_ROWS` ×
    /// `MAX_FRAME_COLS`, 200 × 500), so that every screen frame fits a
    /// few messages.
    pub fn clamped(rows: u16, cols: u16) -> Size {
        Size {
            rows: rows.clamp(1, rcd_proto::stream::MAX_FRAME_ROWS),
            cols: cols.clamp(1, rcd_proto::stream::MAX_FRAME_COLS),
        }
    }

    fn winsize(self) -> Winsize {
        Winsize {
            ws_row: self.rows,
            ws_col: self.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Spawn<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    /// The complete environment of the child; nothing is inherited.
    pub env: &'a [(String, String)],
    pub size: Size,
    /// Confine the program (`--sandbox`), prepared by `sandbox::prepare`.
    pub sandbox: Option<&'a crate::sandbox::Confinement>,
}

/// The master side of a PTY, non-blocking, registered with tokio.
#[derive(Debug)]
pub struct Master {
    fd: AsyncFd<OwnedFd>,
}

/// A program running in its own PTY, session and process group.
#[derive(Debug)]
pub struct PtyProcess {
    pub master: Master,
    pub child: tokio::process::Child,
    /// Process id, also the id of its session and process group.
    pub pid: u32,
}

nix::ioctl_write_ptr_bad!(set_winsize, nix::libc::TIOCSWINSZ, Winsize);
nix::ioctl_read_bad!(get_winsize, nix::libc::TIOCGWINSZ, Winsize);

/// The size of the terminal on `fd` as (columns, rows), if it is one
/// and says.
pub fn size_of(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u16, u16)> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one Winsize into `size`, which outlives
    // the call; a descriptor that is not a terminal only makes it fail.
    unsafe { get_winsize(fd.as_raw_fd(), &mut size) }.ok()?;
    (size.ws_col > 0).then_some((size.ws_col, size.ws_row))
}

/// Starts `spec.argv` in a new PTY.
pub fn spawn(spec: &Spawn<'_>) -> io::Result<PtyProcess> {
    // macOS: the sandbox is `sandbox-exec` with the session's profile,
    // wrapped around the command.
    #[cfg(target_os = "macos")]
    let wrapped = spec.sandbox.map(|c| c.wrap(spec.argv));
    #[cfg(target_os = "macos")]
    let argv: &[String] = wrapped.as_deref().unwrap_or(spec.argv);
    #[cfg(not(target_os = "macos"))]
    let argv: &[String] = spec.argv;
    // Linux: plain values for the child, made before the fork.
    #[cfg(target_os = "linux")]
    let confine = spec.sandbox.map(crate::sandbox::Confinement::child);
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    if spec.sandbox.is_some() {
        return Err(io::Error::other("no sandbox on this system"));
    }
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let pty = openpty(&spec.size.winsize(), None).map_err(io::Error::from)?;
    // A sandboxed session may use its own terminal, and no other.
    #[cfg(target_os = "linux")]
    if let Some(c) = spec.sandbox {
        let slave = nix::unistd::ttyname(&pty.slave).map_err(io::Error::from)?;
        c.allow_terminal(&slave)?;
    }
    // The master must not leak into the child (nor into later children):
    // a child holding the master would never see its terminal hang up.
    fcntl(&pty.master, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
    fcntl(&pty.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(io::Error::from)?;

    let stdin = pty.slave.try_clone()?;
    let stdout = pty.slave.try_clone()?;
    let stderr = pty.slave;

    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr));
    // SAFETY: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (setsid, ioctl, and for a sandboxed
    // session the raw system calls of `sandbox::enter_in_child` on plain
    // values copied in before the fork). It allocates nothing and touches
    // no locks. fd 0 is the PTY slave, set up by Command before the hook
    // runs. The Landlock ruleset descriptor it uses stays open in the
    // parent (`spec.sandbox`) until `spawn` below has returned.
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            if let Some(c) = &confine {
                crate::sandbox::enter_in_child(c)?;
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        let what = if spec.sandbox.is_some() {
            "cannot start the sandboxed program"
        } else {
            "cannot start"
        };
        io::Error::new(
            e.kind(),
            format!("{what} {program:?} in {}: {e}", spec.cwd.display()),
        )
    })?;
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("child exited before its pid was read"))?;
    // `cmd` holds the slave descriptors; drop it so that only the child
    // has them and the master reads EOF/EIO once the child is gone.
    drop(cmd);
    // SAFETY: an OwnedFd is a valid open descriptor that stays open, and
    // returns the same number from as_raw_fd, until the AsyncFd (which
    // owns it) is dropped.
    let fd = unsafe { AsyncFd::register(pty.master) }.map_err(io::Error::from)?;
    Ok(PtyProcess {
        master: Master { fd },
        child,
        pid,
    })
}

impl Master {
    /// A master descriptor received from the keeper (non-blocking
    /// already: the flag belongs to the open file, which every process
    /// holding it shares).
    pub fn from_fd(fd: OwnedFd) -> io::Result<Master> {
        fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
        // SAFETY: as in `spawn`: the OwnedFd is a valid open descriptor
        // that stays open, with the same number, as long as the AsyncFd
        // that owns it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(Master { fd })
    }

    /// The descriptor, to send to another process.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Reads what the program wrote. `Ok(0)` means the terminal hung up
    /// (every slave descriptor closed).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(Ok(n)) => return Ok(n),
                // Linux reports a hung-up PTY as EIO.
                Ok(Err(e)) if e.raw_os_error() == Some(nix::libc::EIO) => return Ok(0),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes what the terminal takes of `data` now, without waiting:
    /// how much, or `WouldBlock` when it takes nothing.
    pub fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        nix::unistd::write(self.fd.get_ref(), data).map_err(io::Error::from)
    }

    /// Writes all of `data` to the program's terminal.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
            {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Tells the terminal (and so the program, by SIGWINCH) its new size.
    pub fn resize(&self, size: Size) -> io::Result<()> {
        let ws = size.winsize();
        // SAFETY: the descriptor is a valid open PTY master owned by self,
        // and `ws` is a properly initialised winsize that outlives the call.
        unsafe { set_winsize(self.fd.get_ref().as_fd().as_raw_fd(), &ws) }
            .map(|_| ())
            .map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `argv` in a PTY with exactly `env`; returns output and code.
    async fn run_to_end(argv: &[&str], env: &[(&str, &str)]) -> (String, u32, i32) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut p = spawn(&Spawn {
            argv: &argv,
            cwd: Path::new("/"),
            env: &env,
            size: Size::DEFAULT,
            sandbox: None,
        })
        .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = p.master.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        let code = crate::process::exit_code(p.child.wait().await.unwrap());
        (String::from_utf8_lossy(&out).into_owned(), p.pid, code)
    }

    #[tokio::test]
    async fn runs_in_its_own_session_with_a_tty() {
        let (text, pid, code) = run_to_end(
            &["/bin/sh", "-c", "tty; ps -o pid=,sid=,pgid= -p $$; exit 3"],
            &[("PATH", "/usr/bin:/bin")],
        )
        .await;
        assert_eq!(code, 3);
        assert!(text.contains("/dev/pts/"), "{text}");
        let ids: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if ids.len() == 3 {
            assert_eq!(ids[0], pid.to_string());
            assert_eq!(ids[0], ids[1], "own session: {text}");
            assert_eq!(ids[0], ids[2], "own group: {text}");
        }
    }

    #[tokio::test]
    async fn environment_is_explicit() {
        let (text, _, code) = run_to_end(&["/usr/bin/env"], &[("ONLY", "this")]).await;
        assert_eq!(code, 0);
        assert_eq!(text.trim(), "ONLY=this");
    }
}
