//! Start-up recovery: what a daemon that was killed left behind.
//!
//! The state file of the previous daemon names its sessions. Processes
//! still alive are reported and left alone (they may hold work; the report
//! says how to end them). Worktrees whose process is gone go through the
//! worktree rule, like any other removal path. Worktrees under the
//! daemon's root that the state file does not name (a crash between
//! creating one and writing the file) get the same treatment.

use crate::state::{self, State};
use crate::worktree::{self, Worktree};
use std::collections::HashSet;
use std::path::Path;

/// One thing found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A session process of the previous daemon is still running.
    Process { name: String, pid: u32 },
    /// A worktree was checked after the previous daemon's death.
    Worktree {
        name: String,
        path: String,
        kept: Option<String>,
    },
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::Process { name, pid } => write!(
                f,
                "session {name} (pid {pid}) of a previous rcd is still running; it is listed \
                 as orphaned: `rcctl stop {name}` ends it"
            ),
            Leftover::Worktree {
                name,
                path,
                kept: Some(reason),
            } => write!(
                f,
                "worktree of session {name} at {path} was kept ({reason}); see `rcctl worktrees`"
            ),
            Leftover::Worktree {
                name,
                path,
                kept: None,
            } => write!(f, "clean worktree of session {name} at {path} was removed"),
        }
    }
}

/// What start-up found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// For the log.
    pub report: Vec<Leftover>,
    /// Sessions of earlier daemons still running; the new daemon keeps
    /// them listed (state `orphaned`) and in its state file.
    pub orphans: Vec<state::SessionRecord>,
}

/// Reads what the last daemon left and applies the worktree rule to
/// worktrees nobody runs in. `repo` is the repository root, when there is
/// one.
/// `adopted`: the ids of sessions the keeper still holds (or recorded as
/// ended): the new rcd lists them itself, so they are neither orphans nor
/// leftovers, and their worktrees are in use.
pub fn recover(
    state_dir: &Path,
    repo: Option<&Path>,
    worktree_root: &Path,
    adopted: &[crate::session::Meta],
) -> Recovered {
    let previous = match state::load(state_dir) {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            tracing::warn!("ignoring the previous state file: {e}");
            State::default()
        }
    };
    let mut found = Vec::new();
    let mut orphans = Vec::new();
    let mut busy = HashSet::new();
    let mut worktrees: Vec<Worktree> = Vec::new();
    for m in adopted {
        busy.insert(m.name.to_string());
    }
    for s in previous.sessions.iter().chain(&previous.orphans) {
        if busy.contains(&s.name) {
            continue;
        }
        if s.alive() {
            found.push(Leftover::Process {
                name: s.name.clone(),
                pid: s.pid,
            });
            busy.insert(s.name.clone());
            orphans.push(s.clone());
        }
        if let Some(w) = &s.worktree {
            worktrees.push(w.clone());
        }
    }
    if let Some(repo) = repo {
        if let Ok(listed) = worktree::list(repo, worktree_root) {
            for w in listed {
                if !worktrees.iter().any(|k| k.name == w.name) {
                    worktrees.push(w);
                }
            }
        }
        for w in worktrees.iter().filter(|w| !busy.contains(&w.name)) {
            let kept = match worktree::remove_if_clean(repo, w) {
                Ok(worktree::Outcome::Kept { inspection }) => Some(
                    inspection
                        .reason()
                        .unwrap_or_else(|| "it holds work".into()),
                ),
                Ok(_) => None,
                Err(e) => Some(format!("could not be checked: {e}")),
            };
            found.push(Leftover::Worktree {
                name: w.name.clone(),
                path: w.path.display().to_string(),
                kept,
            });
        }
    }
    Recovered {
        report: found,
        orphans,
    }
}
