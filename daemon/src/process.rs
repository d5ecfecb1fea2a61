//! The processes of a session, found and ended by its session id (the
//! leader's pid: every program starts as a session leader, see `pty`).
//!
//! [`hang_up_then_kill`] is the one way a session's processes end, on
//! every path: a stop, the program's own exit (its background jobs), a
//! shutdown, and an orphan left by an earlier rcd.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io;
use std::time::Duration;

/// How long to wait for a session's processes after SIGKILL.
pub const KILL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the processes are looked for while waiting.
const POLL: Duration = Duration::from_millis(50);

/// Ends every process of session `sid`: SIGHUP (and SIGCONT, since a
/// stopped job would not see the hangup until continued), up to `grace`
/// for them to go, then SIGKILL and up to [`KILL_TIMEOUT`]. Returns
/// whether anything of the session is still alive after that.
///
/// `leader`: whether the leader itself may still run. Once rcd has reaped
/// it, its pid may belong to another process by now, so only the
/// session's members (found by session id in `/proc`) are looked for and
/// signalled.
pub async fn hang_up_then_kill(sid: u32, grace: Duration, leader: Leader) -> bool {
    let left = || match leader {
        Leader::MayRun => alive(sid),
        Leader::Reaped => !session_members(sid).is_empty(),
    };
    let signal = |s| match leader {
        Leader::MayRun => {
            let _ = signal_session(sid, s);
        }
        Leader::Reaped => signal_members(sid, s),
    };
    if !left() {
        return false;
    }
    tracing::debug!(sid, "sending SIGHUP to the session");
    signal(Signal::SIGHUP);
    signal(Signal::SIGCONT);
    if gone_within(grace, left).await {
        return false;
    }
    tracing::info!(
        sid,
        ?grace,
        "the session did not end after SIGHUP, sending SIGKILL"
    );
    signal(Signal::SIGKILL);
    !gone_within(KILL_TIMEOUT, left).await
}

/// Whether a session's leader may still run (see [`hang_up_then_kill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leader {
    /// Not reaped by this rcd (running, or an orphan of an earlier one).
    MayRun,
    /// Reaped: its pid is no longer the session's.
    Reaped,
}

impl Leader {
    /// As a session's record says: reaped or not.
    pub fn of(reaped: bool) -> Self {
        if reaped {
            Leader::Reaped
        } else {
            Leader::MayRun
        }
    }
}

/// Signals the processes whose session id is `sid`, and no one else.
fn signal_members(sid: u32, signal: Signal) {
    for pid in session_members(sid) {
        if let Ok(p) = i32::try_from(pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(p), signal);
        }
    }
}

/// Whether any process of session `sid` is left (its leader included).
pub fn alive(sid: u32) -> bool {
    group_alive(sid) || !session_members(sid).is_empty()
}

async fn gone_within(limit: Duration, left: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if !left() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Sends `signal` to the whole process group `pgid`. A group that is
/// already gone is not an error.
pub fn signal_group(pgid: u32, signal: Signal) -> io::Result<()> {
    let pid = i32::try_from(pgid).map_err(|_| io::Error::other("pid out of range"))?;
    match killpg(Pid::from_raw(pid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Sends `signal` to every process of session `sid` (the session leader's
/// pid): the leader's group and any job groups a shell made inside it.
/// On systems without `/proc` only the leader's group is signalled.
pub fn signal_session(sid: u32, signal: Signal) -> io::Result<()> {
    signal_group(sid, signal)?;
    for pid in session_members(sid) {
        if let Ok(p) = i32::try_from(pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(p), signal);
        }
    }
    Ok(())
}

/// Processes whose session id is `sid`, read from `/proc` (Linux).
pub fn session_members(sid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state ppid pgrp session.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(3)
            .and_then(|s| s.parse::<u32>().ok())
            == Some(sid)
        {
            out.push(pid);
        }
    }
    out
}

/// Whether a process with this id exists and leads its own process group
/// (as every session leader started here does).
pub fn group_alive(pgid: u32) -> bool {
    let Ok(pid) = i32::try_from(pgid) else {
        return false;
    };
    let leads =
        matches!(nix::unistd::getpgid(Some(Pid::from_raw(pid))), Ok(g) if g.as_raw() == pid);
    // A zombie waiting for a parent that will never reap it is not alive.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false);
    leads && !zombie
}

/// Exit code of a finished process: its status, or 128 + the signal.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// A process that leads a group of its own but is no member of the
    /// session `pid` names: what a reused pid of a reaped leader looks like.
    fn stranger() -> std::process::Child {
        std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn a_reaped_leader_s_pid_is_left_alone() {
        let mut s = stranger();
        let pid = s.id();
        assert!(
            !hang_up_then_kill(pid, Duration::from_millis(100), Leader::Reaped).await,
            "nothing of that session runs"
        );
        assert!(s.try_wait().unwrap().is_none(), "the stranger still runs");
        // The same pid taken for a live leader is ended.
        assert!(!hang_up_then_kill(pid, Duration::from_secs(2), Leader::MayRun).await);
        assert!(s.wait().is_ok());
    }
}
