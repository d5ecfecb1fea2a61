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
pub async fn hang_up_then_kill(sid: u32, grace: Duration) -> bool {
    if !alive(sid) {
        return false;
    }
    tracing::debug!(sid, "sending SIGHUP to the session");
    let _ = signal_session(sid, Signal::SIGHUP);
    let _ = signal_session(sid, Signal::SIGCONT);
    if gone_within(sid, grace).await {
        return false;
    }
    tracing::info!(
        sid,
        ?grace,
        "the session did not end after SIGHUP, sending SIGKILL"
    );
    let _ = signal_session(sid, Signal::SIGKILL);
    !gone_within(sid, KILL_TIMEOUT).await
}

/// Whether any process of session `sid` is left (its leader included).
pub fn alive(sid: u32) -> bool {
    group_alive(sid) || !session_members(sid).is_empty()
}

async fn gone_within(sid: u32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if !alive(sid) {
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
