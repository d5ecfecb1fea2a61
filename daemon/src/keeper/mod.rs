//! The keeper: the process that keeps sessions running while no rcd does.
//!
//! A terminal's program gets SIGHUP once the last descriptor of its PTY's
//! master closes, and a process's exit code goes to its parent. So rcd
//! does not start programs itself: one small keeper process per state
//! directory (the rcd binary again, `rcd --keeper DIR`, started from
//! `/proc/self/exe` so a binary replaced on disk does not matter) is the
//! parent of every session's program and holds a descriptor of every
//! master. rcd asks it to start a program ([`Request::Spawn`]), gets the
//! master's descriptor back over the socket (`SCM_RIGHTS`) and reads and
//! writes the PTY directly, as before: no byte of the data path passes
//! through the keeper.
//!
//! When rcd goes away (`kill -9`, an out-of-memory kill, a service
//! restart, an upgrade), its connection closes and the keeper takes over
//! what rcd did for the programs: it reads their output into a gap file
//! each ([`GAP_MAX`] at most; past that the program waits, as on a
//! terminal nobody reads), and reaps those that end, writing their exit
//! code to an ended record. The next rcd connects, is told every session
//! the keeper holds ([`Reply::Welcome`]), adopts each ([`Request::Adopt`]:
//! the master again, and the gap file to replay first), and reads the
//! ended records. A keeper with no session and no rcd exits by itself,
//! so none is ever left that no rcd can see.
//!
//! Versions: the keeper that started a program keeps it until it ends,
//! across any number of rcd upgrades. Every keeper says its
//! [`PROTOCOL`] in its welcome, whose shape (and that of [`Held`]) never
//! changes; an rcd adopts from keepers of the protocols it speaks, starts
//! a keeper of its own version for new sessions when the running one is
//! of another, and lists what it cannot adopt in its log, leaving it
//! running.
//!
//! Files, all in `<state>/keeper/` (0700): `k<pid>.sock` (each keeper's
//! socket), `gap/<id>` (output read while no rcd ran), `ended/<id>.json`
//! (a program that ended while no rcd ran), `keeper.log`.

pub mod client;
pub mod serve;
pub mod wire;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use client::{Adoptable, Ended, Keeper, Keepers};

/// The keeper protocol this rcd speaks.
pub const PROTOCOL: u32 = 1;
/// Most output kept per session while no rcd runs.
pub const GAP_MAX: u64 = 64 * 1024 * 1024;

/// The keeper's directory inside a state directory.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("keeper")
}

/// Makes the keeper's directory and its `gap/` and `ended/` (0700).
pub fn make_dirs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    for sub in ["", "gap", "ended"] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join(sub))
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", dir.join(sub).display()),
                )
            })?;
    }
    Ok(())
}

/// What rcd asks of a keeper.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// The first message: answered by [`Reply::Welcome`].
    Hello { protocol: u32, version: String },
    /// Start a program; with a sandbox, its ruleset's descriptor comes
    /// along (Linux). Answered by [`Reply::Spawned`] with the master.
    Spawn(Box<SpawnRequest>),
    /// The master of a held session again, and its gap file.
    Adopt { id: String },
    /// rcd is done with a session that ended: close its master, forget it.
    Release { id: String },
}

/// A program to start in a new PTY.
#[derive(Debug, Serialize, Deserialize)]
pub struct SpawnRequest {
    pub id: String,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub rows: u16,
    pub cols: u16,
    pub sandbox: Option<crate::sandbox::ConfinementWire>,
    /// rcd's record of the session, given back at adoption.
    pub meta: serde_json::Value,
}

/// What a keeper answers, and tells unasked ([`Reply::Exited`]).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    Welcome {
        protocol: u32,
        version: String,
        pid: u32,
        sessions: Vec<Held>,
    },
    Spawned {
        id: String,
        pid: u32,
    },
    Adopted {
        id: String,
        /// Output read while no rcd ran, to replay before the master's.
        gap: Option<PathBuf>,
    },
    Released {
        id: String,
    },
    /// A program ended (reaped by the keeper).
    Exited {
        id: String,
        code: i32,
    },
    Refused {
        message: String,
    },
}

/// A session a keeper holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    pub id: String,
    pub pid: u32,
    pub meta: serde_json::Value,
    /// Its exit code once it ended.
    pub exit: Option<i32>,
}

/// A program that ended while no rcd ran, as its keeper recorded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndedRecord {
    pub id: String,
    pub pid: u32,
    pub meta: serde_json::Value,
    pub code: i32,
    pub gap: Option<PathBuf>,
}
