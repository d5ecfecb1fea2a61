//! The state file: which sessions this daemon runs, with their process
//! ids and worktrees, rewritten atomically on every change. A daemon that
//! is killed leaves it behind, and the next start reads it to report (and
//! clean up after) what was left.

use crate::worktree::Worktree;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// File name inside the state directory.
pub const STATE_FILE: &str = "state.json";

/// What is on disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub daemon_pid: u32,
    pub socket: PathBuf,
    pub dir: PathBuf,
    pub sessions: Vec<SessionRecord>,
    /// Sessions of earlier daemons that were still running at the last
    /// start; checked again at every start until they are gone.
    #[serde(default)]
    pub orphans: Vec<SessionRecord>,
}

/// One session of the daemon that wrote the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    pub name: String,
    pub pid: u32,
    pub dir: PathBuf,
    pub worktree: Option<Worktree>,
    /// The leader was reaped and processes of the session outlived
    /// SIGKILL: `pid` is only its session id now (another process may
    /// have it), so it is found and ended by session id alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reaped: bool,
}

impl SessionRecord {
    /// Whether anything of the session still runs.
    pub fn alive(&self) -> bool {
        if self.reaped {
            !crate::process::session_members(self.pid).is_empty()
        } else {
            crate::process::group_alive(self.pid)
        }
    }
}

/// Reads the state file; `Ok(None)` when there is none.
pub fn load(state_dir: &Path) -> io::Result<Option<State>> {
    let path = state_dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a state file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the state file atomically: a temporary file, fsync, rename,
/// fsync of the directory. A failure (a full disk, a read-only directory)
/// leaves the previous file as it was and removes the partial temporary
/// one, so it takes no space.
pub fn store(state_dir: &Path, state: &State) -> io::Result<()> {
    use std::io::Write;
    let path = state_dir.join(STATE_FILE);
    let tmp = state_dir.join(format!("{STATE_FILE}.tmp"));
    let bytes = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the directory.
    std::fs::File::open(state_dir).and_then(|d| d.sync_all())
}

/// Removes the state file after a clean shutdown.
pub fn clear(state_dir: &Path) -> io::Result<()> {
    match std::fs::remove_file(state_dir.join(STATE_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_clear() {
        let d = tempfile::tempdir().unwrap();
        assert!(load(d.path()).unwrap().is_none());
        let s = State {
            daemon_pid: 7,
            socket: "/tmp/s".into(),
            dir: "/tmp".into(),
            sessions: vec![SessionRecord {
                id: "abc".into(),
                name: "n".into(),
                pid: 9,
                dir: "/tmp".into(),
                worktree: None,
                reaped: false,
            }],
            orphans: Vec::new(),
        };
        store(d.path(), &s).unwrap();
        assert_eq!(load(d.path()).unwrap(), Some(s));
        clear(d.path()).unwrap();
        assert!(load(d.path()).unwrap().is_none());
        std::fs::write(d.path().join(STATE_FILE), b"garbage").unwrap();
        assert!(load(d.path()).is_err());
    }
}
