//! The private temporary directories of sandboxed sessions
//! (`<state>/sandbox-tmp/<name>-<id>`, 0700, the session's `TMPDIR`).

use std::io;
use std::path::{Path, PathBuf};

/// Directory under the state directory holding the sessions' private
/// temporary directories.
const TMP_DIR: &str = "sandbox-tmp";

/// `<state>/sandbox-tmp/<name>-<id>`: a session's private temporary
/// directory.
pub fn tmp_path(state_dir: &Path, name: &str, id: &str) -> PathBuf {
    state_dir.join(TMP_DIR).join(format!("{name}-{id}"))
}

/// Removes a session's temporary directory and what is in it.
pub fn remove_tmp(path: &Path) {
    match std::fs::remove_dir_all(path) {
        Ok(()) => {
            tracing::debug!(tmp = %path.display(), "removed the sandbox's temporary directory")
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(tmp = %path.display(), "cannot remove the sandbox's temporary directory: {e}")
        }
    }
}

/// At start: removes the temporary directories that no session uses any
/// more, keeping those of `keep` (ids of sessions an earlier rcd left
/// running). Returns the ids of kept ones that exist (sandboxed orphans).
pub fn clean_tmp(state_dir: &Path, keep: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let Ok(dir) = std::fs::read_dir(state_dir.join(TMP_DIR)) else {
        return kept;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match keep
            .iter()
            .find(|id| name.rsplit_once('-').is_some_and(|(_, i)| i == id.as_str()))
        {
            Some(id) => kept.push(id.clone()),
            None => remove_tmp(&entry.path()),
        }
    }
    kept
}

/// Creates a session's temporary directory (and its parent), both 0700.
pub(super) fn create_tmp(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_dirs_of_gone_sessions_are_cleaned() {
        let state = tempfile::tempdir().unwrap();
        let a = tmp_path(state.path(), "a", "0000000a");
        let b = tmp_path(state.path(), "b-x", "0000000b");
        create_tmp(&a).unwrap();
        create_tmp(&b).unwrap();
        std::fs::write(b.join("f"), "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "private");
        let kept = clean_tmp(state.path(), &["0000000b".into(), "0000000c".into()]);
        assert_eq!(kept, ["0000000b"]);
        assert!(!a.exists());
        assert!(b.join("f").exists());
    }
}
