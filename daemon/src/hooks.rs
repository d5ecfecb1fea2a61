//! rcd's side of the hook channel (`rcd_proto::hook`): each session's
//! hook directory, `<state>/hooks/<name>-<id>/` (0700, with the FIFO
//! `ring`), the task that reads what the session's hooks write there,
//! and the answers rcd writes back.
//!
//! The directory is the session's own (a sandboxed session may write to
//! it), so nothing in it is trusted: files are opened without following
//! links and read up to [`MAX_FILE`], names are checked, and answers are
//! written under a fresh name and renamed into place, which replaces
//! whatever was there instead of writing through it.

use crate::session::{Session, Status};
use rcd_proto::control::PermissionRequest;
use rcd_proto::hook::{ANSWER_SUFFIX, Answer, EVENT_SUFFIX, Event, MAX_FILE, RING, valid_id};
use rcd_proto::name::cut;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// Directory under the state directory holding the sessions' hook
/// directories.
const HOOKS_DIR: &str = "hooks";

/// `<state>/hooks/<name>-<id>`: a session's hook directory.
pub fn dir_of(state_dir: &Path, name: &str, id: &str) -> PathBuf {
    state_dir.join(HOOKS_DIR).join(format!("{name}-{id}"))
}

/// Makes a session's hook directory and its FIFO.
pub fn create(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    match nix::unistd::mkfifo(&dir.join(RING), nix::sys::stat::Mode::S_IRWXU) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes a session's hook directory and what is in it.
pub fn remove(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), "cannot remove a hook directory: {e}"),
    }
}

/// At start: removes the hook directories of sessions that are gone,
/// keeping those of `keep` (ids of sessions that still run).
pub fn clean(state_dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(state_dir.join(HOOKS_DIR)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kept = name
            .rsplit_once('-')
            .is_some_and(|(_, id)| keep.iter().any(|k| k == id));
        if !kept {
            remove(&entry.path());
        }
    }
}

/// Tells the hook waiting for request `id` its answer.
pub fn answer(dir: &Path, id: &str, answer: &Answer) -> io::Result<()> {
    let text = serde_json::to_vec(answer).map_err(io::Error::other)?;
    let tmp = dir.join(format!(".{id}-{:08x}.tmp", rand::random::<u32>()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc_nofollow())
        .open(&tmp)?;
    f.write_all(&text)?;
    drop(f);
    std::fs::rename(&tmp, dir.join(format!("{id}{ANSWER_SUFFIX}"))).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    let _ = std::fs::remove_file(dir.join(format!("{id}{EVENT_SUFFIX}")));
    Ok(())
}

fn libc_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// What one look at the directory found.
#[derive(Debug, Default)]
pub struct Found {
    /// New events, with their ids.
    pub events: Vec<(String, Event)>,
    /// Ids of every permission event still there.
    pub present: Vec<String>,
}

/// Reads the directory: every event file whose id is not in `known` is
/// read (a notice is removed once read, a bad file at once).
pub fn scan(dir: &Path, known: &[String]) -> Found {
    let mut found = Found::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(EVENT_SUFFIX) else {
            continue;
        };
        let path = entry.path();
        if !valid_id(id) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if known.iter().any(|k| k == id) {
            found.present.push(id.to_string());
            continue;
        }
        match read_event(&path) {
            Ok(event) => {
                if matches!(event, Event::Permission { .. }) {
                    found.present.push(id.to_string());
                } else {
                    let _ = std::fs::remove_file(&path);
                }
                found.events.push((id.to_string(), event));
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), "a hook event rcd cannot read: {e}");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    found
}

fn read_event(path: &Path) -> io::Result<Event> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_nofollow() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other("not a file"));
    }
    let mut text = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut text)?;
    if text.len() as u64 > MAX_FILE {
        return Err(io::Error::other(format!("larger than {MAX_FILE} bytes")));
    }
    serde_json::from_slice(&text).map_err(io::Error::other)
}

/// A permission event as the session's request, bounded.
pub fn request_of(id: &str, event: Event) -> Option<PermissionRequest> {
    let Event::Permission {
        agent,
        tool,
        detail,
        input,
    } = event
    else {
        return None;
    };
    let small = serde_json::to_vec(&input).is_ok_and(|v| v.len() <= PermissionRequest::MAX_INPUT);
    Some(PermissionRequest {
        id: id.to_string(),
        agent: cut(&agent, 32).to_string(),
        tool: cut(&tool, 128).to_string(),
        detail: cut(&detail, PermissionRequest::MAX_DETAIL).to_string(),
        input: if small {
            input
        } else {
            serde_json::Value::Null
        },
    })
}

/// Follows a session's hook directory until the session ends: each ring
/// of the FIFO (and once at the start, for what a hook wrote while no rcd
/// ran) is a look at the directory.
pub fn watch(session: &Arc<Session>, dir: PathBuf) {
    let weak = Arc::downgrade(session);
    let status = session.status_changes();
    tokio::spawn(async move {
        if let Err(e) = follow(weak, &dir, status).await {
            tracing::warn!(dir = %dir.display(), "the session's hooks cannot reach rcd: {e}");
        }
    });
}

async fn follow(
    weak: Weak<Session>,
    dir: &Path,
    mut status: tokio::sync::watch::Receiver<Status>,
) -> io::Result<()> {
    let ring = dir.join(RING);
    let rx = tokio::net::unix::pipe::OpenOptions::new().open_receiver(&ring)?;
    // A writer of our own, so that the FIFO never reads as ended between
    // two hooks.
    let _hold = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&ring)?;
    let mut buf = [0u8; 512];
    loop {
        {
            let Some(session) = weak.upgrade() else {
                return Ok(());
            };
            session.take_hook_events(dir);
        }
        tokio::select! {
            r = rx.readable() => r?,
            r = status.wait_for(|s| *s != Status::Running) => {
                let _ = r;
                return Ok(());
            }
        }
        loop {
            match rx.try_read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_replace_a_planted_link_instead_of_writing_through_it() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("h");
        create(&dir).unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(format!("r1{ANSWER_SUFFIX}"))).unwrap();
        let a = Answer {
            decision: None,
            message: None,
            reason: Some("answered in the terminal".into()),
        };
        answer(&dir, "r1", &a).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let written = std::fs::read(dir.join(format!("r1{ANSWER_SUFFIX}"))).unwrap();
        assert_eq!(serde_json::from_slice::<Answer>(&written).unwrap(), a);
    }

    #[test]
    fn a_scan_takes_notices_once_keeps_requests_and_drops_bad_files() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("h");
        create(&dir).unwrap();
        let notice = Event::Notice {
            agent: "claude".into(),
            kind: rcd_proto::control::AttentionKind::Finished,
            message: "done".into(),
        };
        let request = Event::Permission {
            agent: "claude".into(),
            tool: "Bash".into(),
            detail: "ls".into(),
            input: serde_json::json!({"command": "ls"}),
        };
        let put = |id: &str, e: &Event| {
            std::fs::write(
                dir.join(format!("{id}{EVENT_SUFFIX}")),
                serde_json::to_vec(e).unwrap(),
            )
            .unwrap()
        };
        put("n1", &notice);
        put("p1", &request);
        std::fs::write(dir.join(format!("bad{EVENT_SUFFIX}")), "{").unwrap();
        std::fs::write(
            dir.join(format!("big{EVENT_SUFFIX}")),
            vec![b' '; MAX_FILE as usize + 1],
        )
        .unwrap();
        let mut found = scan(&dir, &[]);
        found.events.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found.events,
            vec![("n1".into(), notice), ("p1".into(), request)]
        );
        assert_eq!(found.present, vec!["p1".to_string()]);
        let again = scan(&dir, &["p1".into()]);
        assert!(again.events.is_empty(), "{again:?}");
        assert_eq!(again.present, vec!["p1".to_string()]);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != RING)
            .collect();
        assert_eq!(left, vec![format!("p1{EVENT_SUFFIX}")]);
    }
}
