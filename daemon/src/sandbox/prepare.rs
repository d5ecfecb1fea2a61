//! Preparation in the parent: everything a sandboxed session needs is
//! built before the fork (the Landlock ruleset, the temporary directory,
//! the paths to hide), so a failure is an ordinary error and the child
//! only makes system calls on plain values.

use std::io;
use std::path::{Path, PathBuf};

use super::decide::Plan;
#[cfg(target_os = "linux")]
use super::kernel::NetNs;
#[cfg(target_os = "macos")]
use super::macos;
use super::policy::Policy;
use super::tmp::{create_tmp, remove_tmp};
#[cfg(target_os = "linux")]
use super::{child::ChildSide, ruleset, sys};

/// Why a session's sandbox could not be prepared; [`prepare`] hands the
/// message to the client.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(
        "cannot sandbox the session: cannot create its temporary directory {}: {source}",
        .path.display()
    )]
    Tmp { path: PathBuf, source: io::Error },
    /// A step of building the Landlock ruleset (`what`) failed.
    #[cfg(target_os = "linux")]
    #[error("cannot sandbox the session: {what}: {source}")]
    Landlock {
        what: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[cfg(target_os = "linux")]
    #[error("cannot sandbox the session: the kernel made no Landlock ruleset")]
    NoRuleset,
    /// A directory to hide cannot be passed to mount(2).
    #[cfg(target_os = "linux")]
    #[error(
        "cannot sandbox the session: cannot hide {}: the path holds a NUL byte",
        .0.display()
    )]
    NulInPath(PathBuf),
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    #[error("cannot sandbox the session on this system")]
    Unsupported,
}

/// Where a session runs.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// Its working directory (the worktree, or the shared directory).
    pub dir: &'a Path,
    /// Whether `dir` is a git worktree made by rcd: then the git metadata
    /// a commit needs is writable too (see [`git_writable`]).
    pub worktree: bool,
    /// Its private temporary directory ([`super::tmp_path`]); created here.
    pub tmp: &'a Path,
    /// Its hook directory (`crate::hooks`), through which its coding
    /// agent's hooks reach rcd: writable.
    pub hooks: &'a Path,
    /// rcd's control socket: a sandboxed session must not reach it.
    pub socket: &'a Path,
}

/// Everything prepared for one sandboxed session. Dropping it (after the
/// spawn) closes the ruleset in the parent.
#[derive(Debug)]
pub struct Confinement {
    tmp: PathBuf,
    writable: Vec<PathBuf>,
    /// The Landlock ruleset, kept open until the spawn returned.
    #[cfg(target_os = "linux")]
    ruleset: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    netns: Option<NetNs>,
    #[cfg(target_os = "linux")]
    mntns: Option<NetNs>,
    /// Directories covered by an empty tmpfs in the session's mount
    /// namespace ([`hidden_dirs`]), as C strings for the child.
    #[cfg(target_os = "linux")]
    hide: Vec<std::ffi::CString>,
    /// Files covered by `/dev/null` (secrets), as C strings for the child.
    #[cfg(target_os = "linux")]
    secrets: Vec<std::ffi::CString>,
    #[cfg(target_os = "macos")]
    profile: macos::Profile,
}

impl Confinement {
    /// The private temporary directory (`TMPDIR` of the session).
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Every writable path beside the terminal devices, for the log.
    pub fn writable(&self) -> &[PathBuf] {
        &self.writable
    }

    /// What the child needs between fork and exec.
    #[cfg(target_os = "linux")]
    pub fn child(&self) -> ChildSide {
        ChildSide::new(
            &self.ruleset,
            self.netns,
            self.mntns,
            self.hide.clone(),
            self.secrets.clone(),
        )
    }

    /// Lets the session use its own terminal (and no other under
    /// `/dev/pts`): called with the PTY's slave once it is open.
    #[cfg(target_os = "linux")]
    pub fn allow_terminal(&self, slave: &std::path::Path) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        sys::add_path_rule(self.ruleset.as_raw_fd(), slave, ruleset::terminal_access())
    }

    /// The command wrapped in `sandbox-exec` with the session's profile.
    #[cfg(target_os = "macos")]
    pub fn wrap(&self, argv: &[String]) -> Vec<String> {
        self.profile.wrap(argv)
    }
}

/// A [`Confinement`] as it crosses to the keeper, which starts the
/// program (see `crate::keeper`): plain values; on Linux the Landlock
/// ruleset's descriptor travels beside it. On macOS the command is
/// wrapped in `sandbox-exec` before it is sent, so only the values rcd
/// keeps are here.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ConfinementWire {
    tmp: PathBuf,
    writable: Vec<PathBuf>,
    #[cfg(target_os = "linux")]
    netns: Option<NetNs>,
    #[cfg(target_os = "linux")]
    mntns: Option<NetNs>,
    #[cfg(target_os = "linux")]
    hide: Vec<PathBuf>,
    #[cfg(target_os = "linux")]
    secrets: Vec<PathBuf>,
}

#[cfg(target_os = "linux")]
impl Confinement {
    /// The plain values and a descriptor of the ruleset, for the keeper.
    pub fn to_wire(&self) -> io::Result<(ConfinementWire, std::os::fd::OwnedFd)> {
        use std::os::unix::ffi::OsStrExt;
        let path = |c: &std::ffi::CString| PathBuf::from(std::ffi::OsStr::from_bytes(c.as_bytes()));
        let wire = ConfinementWire {
            tmp: self.tmp.clone(),
            writable: self.writable.clone(),
            netns: self.netns,
            mntns: self.mntns,
            hide: self.hide.iter().map(path).collect(),
            secrets: self.secrets.iter().map(path).collect(),
        };
        Ok((wire, self.ruleset.try_clone()?))
    }

    /// The confinement again, in the keeper, with the ruleset received.
    pub fn from_wire(w: ConfinementWire, ruleset: std::os::fd::OwnedFd) -> io::Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &PathBuf| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::other(format!("{} holds a NUL byte", p.display())))
        };
        Ok(Confinement {
            hide: w.hide.iter().map(c).collect::<io::Result<_>>()?,
            secrets: w.secrets.iter().map(c).collect::<io::Result<_>>()?,
            tmp: w.tmp,
            writable: w.writable,
            ruleset,
            netns: w.netns,
            mntns: w.mntns,
        })
    }
}

/// The git metadata a commit in an rcd worktree writes outside the
/// worktree: its own administrative directory (index, HEAD), the
/// repository's objects, and the refs and reflogs of rcd's branches
/// (`refs/heads/rcd/`, `logs/refs/heads/rcd/`) — not other branches, the
/// repository's config, hooks or the main checkout's files.
pub fn git_writable(worktree: &Path) -> Vec<PathBuf> {
    let Ok(repo) = git2::Repository::open(worktree) else {
        return Vec::new();
    };
    let common = repo.commondir().to_path_buf();
    let mut out = vec![repo.path().to_path_buf()];
    let objects = common.join("objects");
    if objects.exists() {
        out.push(objects);
    }
    for sub in ["refs/heads/rcd", "logs/refs/heads/rcd"] {
        let p = common.join(sub);
        // The branch's own directories; made here if git has not yet (an
        // empty directory in .git is harmless).
        if p.is_dir() || std::fs::create_dir_all(&p).is_ok() {
            out.push(p);
        }
    }
    out
}

/// The writable paths of a session, in order: working directory, private
/// temporary directory, git metadata (worktrees), the policy's extras
/// (those that exist; a missing one is only logged: leaving it out
/// confines more, never less).
fn writable_paths(policy: &Policy, place: &Place<'_>) -> Vec<PathBuf> {
    let mut out = vec![
        place.dir.to_path_buf(),
        place.tmp.to_path_buf(),
        place.hooks.to_path_buf(),
    ];
    if place.worktree {
        out.extend(git_writable(place.dir));
    }
    for p in &policy.writable {
        if p.exists() {
            out.push(p.clone());
        } else {
            tracing::warn!(path = %p.display(), "--sandbox-writable path does not exist; left out");
        }
    }
    out.dedup();
    out
}

/// The directories a sandboxed session sees as empty (an empty tmpfs over
/// each, in its own mount namespace): the user's runtime directory
/// (`runtime`, rcd's `$XDG_RUNTIME_DIR`: session bus, agents, other
/// services' sockets) and the directory of rcd's control socket. Unix
/// sockets with a path are not governed by Landlock, so what cannot be
/// reached by path cannot be connected to.
///
/// Never one that holds a path the session must use (its working
/// directory, its temporary directory, any writable path): such a
/// directory is left visible, with a debug log. Paths are compared in
/// canonical form; one inside another listed one is dropped (the outer
/// tmpfs already hides it).
pub fn hidden_dirs(runtime: Option<&Path>, socket: &Path, writable: &[PathBuf]) -> Vec<PathBuf> {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let needed: Vec<PathBuf> = writable.iter().map(|p| canon(p)).collect();
    let mut out: Vec<PathBuf> = Vec::new();
    let candidates = runtime
        .filter(|r| r.is_absolute() && r.is_dir())
        .map(|r| ("runtime directory", r))
        .into_iter()
        .chain(
            socket
                .parent()
                .filter(|d| d.is_absolute() && d.is_dir())
                .map(|d| ("control socket's directory", d)),
        );
    for (what, dir) in candidates {
        let dir = canon(dir);
        if let Some(n) = needed.iter().find(|n| n.starts_with(&dir)) {
            tracing::debug!(
                dir = %dir.display(),
                needed = %n.display(),
                "sandbox: the {what} holds a path the session uses; not hidden"
            );
            continue;
        }
        if out.iter().any(|o| dir.starts_with(o)) {
            continue;
        }
        out.retain(|o| !o.starts_with(&dir));
        out.push(dir);
    }
    out
}

/// Builds everything a sandboxed session needs, in the parent. Creates
/// the temporary directory; on error nothing is left behind.
pub fn prepare(
    plan: &Plan,
    policy: &Policy,
    place: &Place<'_>,
) -> Result<Confinement, PrepareError> {
    create_tmp(place.tmp).map_err(|source| PrepareError::Tmp {
        path: place.tmp.to_path_buf(),
        source,
    })?;
    confine(plan, policy, place).inspect_err(|_| remove_tmp(place.tmp))
}

/// [`prepare`] once the temporary directory exists.
#[cfg(target_os = "linux")]
fn confine(plan: &Plan, policy: &Policy, place: &Place<'_>) -> Result<Confinement, PrepareError> {
    use std::os::unix::ffi::OsStrExt;
    let writable = writable_paths(policy, place);
    let built = ruleset::ruleset(plan, &writable)?;
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let dirs = hidden_dirs(runtime.as_deref(), place.socket, &writable);
    let mut hide = Vec::new();
    for d in &dirs {
        let c = std::ffi::CString::new(d.as_os_str().as_bytes())
            .map_err(|_| PrepareError::NulInPath(d.clone()))?;
        hide.push(c);
    }
    tracing::debug!(hidden = ?dirs, "sandbox: directories covered by an empty tmpfs");
    let secrets: Vec<std::ffi::CString> = policy
        .secret_files
        .iter()
        .filter(|f| f.is_file())
        .filter_map(|f| std::ffi::CString::new(f.as_os_str().as_bytes()).ok())
        .collect();
    Ok(Confinement {
        tmp: place.tmp.to_path_buf(),
        writable,
        ruleset: built,
        netns: plan.netns,
        mntns: plan.mntns,
        hide,
        secrets,
    })
}

/// [`prepare`] once the temporary directory exists.
#[cfg(target_os = "macos")]
fn confine(plan: &Plan, policy: &Policy, place: &Place<'_>) -> Result<Confinement, PrepareError> {
    let writable = writable_paths(policy, place);
    let profile = macos::Profile::new(&plan.network, &writable, place.socket);
    Ok(Confinement {
        tmp: place.tmp.to_path_buf(),
        writable,
        profile,
    })
}

/// [`prepare`] once the temporary directory exists.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn confine(plan: &Plan, policy: &Policy, place: &Place<'_>) -> Result<Confinement, PrepareError> {
    let _ = (plan, writable_paths(policy, place));
    Err(PrepareError::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_dirs_never_cover_what_the_session_uses() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().canonicalize().unwrap();
        let run = r.join("run");
        let sock_dir = r.join("sockdir");
        let work = r.join("work");
        let tmp = r.join("state/tmp");
        for d in [&run, &run.join("rcd"), &sock_dir, &work, &tmp] {
            std::fs::create_dir_all(d).unwrap();
        }
        let writable = [work.clone(), tmp.clone()];
        // Both hidden.
        assert_eq!(
            hidden_dirs(Some(&run), &sock_dir.join("rcd.sock"), &writable),
            [run.clone(), sock_dir.clone()]
        );
        // The socket's directory inside the runtime directory: one mount.
        assert_eq!(
            hidden_dirs(Some(&run), &run.join("rcd/rcd.sock"), &writable),
            std::slice::from_ref(&run)
        );
        // A directory holding the working or temporary directory stays.
        assert_eq!(
            hidden_dirs(Some(&r), &r.join("rcd.sock"), &writable),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            hidden_dirs(None, &tmp.join("rcd.sock"), &writable),
            Vec::<PathBuf>::new()
        );
        // Missing or relative runtime directories are ignored.
        assert_eq!(
            hidden_dirs(Some(&r.join("gone")), &sock_dir.join("s"), &writable),
            std::slice::from_ref(&sock_dir)
        );
        assert_eq!(
            hidden_dirs(Some(Path::new("run")), &sock_dir.join("s"), &writable),
            [sock_dir]
        );
    }
}
