//! Sandboxed sessions (`rcd --sandbox`, `rcctl new --sandbox`).
//!
//! A sandboxed session may write only to its working directory, a private
//! temporary directory, the extra paths of `--sandbox-writable`, and the
//! terminal devices; everything else is read-only (reading and executing
//! stay allowed everywhere). Its network is `--sandbox-network`: `allow`,
//! `off`, or a list of TCP ports it may connect to.
//!
//! On Linux this is Landlock plus, for `off`, a network namespace; on
//! macOS a generated `sandbox-exec` profile. The work is split so that a
//! refusal reaches the client as an ordinary error and the forked child
//! does as little as possible:
//!
//! 1. [`decide`] (parent, before anything is created): does this kernel
//!    offer what the policy needs? The answer comes from a [`Kernel`], the
//!    seam through which tests simulate a kernel without a feature. A
//!    missing feature is a refusal naming it; nothing is ever run with
//!    less confinement than asked for.
//! 2. [`prepare`] (parent): builds the Landlock ruleset (opening every
//!    path), creates the private temporary directory, and renders
//!    everything the child needs into plain values ([`ChildSide`]).
//! 3. [`enter_in_child`] (the child, in `pre_exec`, between fork and
//!    exec): only raw system calls on values prepared in step 2: no
//!    allocation, no locks.
//!
//! This module and `pty` are the only ones with `unsafe` code; each block
//! says why it is sound.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Landlock ABI needed for the file system policy: 3 (Linux 6.2) is the
/// first that also controls truncation, without which a "read-only" file
/// could still be emptied with truncate(2).
pub const FS_ABI: u32 = 3;
/// Landlock ABI of TCP network rules (Linux 6.7), needed for a port list.
pub const NET_ABI: u32 = 4;
/// Landlock ABI of signal scoping (Linux 6.12): used where available so a
/// sandboxed session cannot signal rcd or other sessions.
pub const SCOPE_ABI: u32 = 6;

/// Environment variables a sandboxed session does not get: they point at
/// services (session bus, ssh and gpg agents) that act outside the sandbox.
/// Unix sockets with a path can still be reached by a program that knows
/// where they are (Landlock does not govern `connect` on them); see README
/// "Sandbox" for what the sandbox does not cover.
pub const HIDDEN_ENV: &[&str] = &[
    "DBUS_SESSION_BUS_ADDRESS",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
    "TMUX",
    "TMUX_PANE",
];

/// Environment variable read at start that makes rcd treat the kernel's
/// Landlock ABI as at most this number: a test seam (docs/ARCHITECTURE.md).
/// It can only take features away, so it can only cause refusals.
pub const PRETEND_ABI_ENV: &str = "RCD_SANDBOX_PRETEND_ABI";

/// Directory under the state directory holding the sessions' private
/// temporary directories.
const TMP_DIR: &str = "sandbox-tmp";

// ---------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------

/// What a sandboxed session may do on the network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Network {
    /// No restriction.
    #[default]
    Allow,
    /// No network at all (Linux: an empty network namespace).
    Off,
    /// TCP connections only to these ports (Linux: Landlock ABI 4).
    Ports(Vec<u16>),
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "allow" => Ok(Self::Allow),
            "off" => Ok(Self::Off),
            list => {
                let mut ports = Vec::new();
                for p in list.split(',').map(str::trim) {
                    match p.parse::<u16>() {
                        Ok(n) if n > 0 => {
                            if !ports.contains(&n) {
                                ports.push(n);
                            }
                        }
                        _ => {
                            return Err(format!(
                                "{s:?}: give off, allow, or TCP ports separated by commas \
                                 (1 to 65535), e.g. 443,22"
                            ));
                        }
                    }
                }
                ports.sort_unstable();
                Ok(Self::Ports(ports))
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow => f.write_str("allow"),
            Self::Off => f.write_str("off"),
            Self::Ports(p) => {
                let list: Vec<String> = p.iter().map(u16::to_string).collect();
                f.write_str(&list.join(","))
            }
        }
    }
}

/// The sandbox settings of the daemon (`--sandbox`, `--sandbox-writable`,
/// `--sandbox-network`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Whether sessions are sandboxed unless `rcctl new --no-sandbox`.
    pub enabled: bool,
    /// Extra writable paths (absolute), besides the working directory and
    /// the private temporary directory.
    pub writable: Vec<PathBuf>,
    pub network: Network,
    /// Files a sandboxed session must not read (rcd's relay enrollment
    /// token): `/dev/null` is bound over them in its mount namespace.
    pub secret_files: Vec<PathBuf>,
}

// ---------------------------------------------------------------------
// What the kernel offers, and the decision
// ---------------------------------------------------------------------

/// Landlock on the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landlock {
    /// Not built into the kernel (`ENOSYS`).
    NotBuilt,
    /// Built in but not enabled at boot (`EOPNOTSUPP`).
    NotEnabled,
    /// Available with this ABI version.
    Abi(u32),
}

/// How this process can give a child a namespace (network or mount) of
/// its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetNs {
    /// `unshare(CLONE_NEWNET)` (or `CLONE_NEWNS`) works directly (root, or
    /// CAP_SYS_ADMIN).
    Plain,
    /// Only together with a new user namespace that maps the user to
    /// itself (unprivileged user namespaces).
    WithUser,
}

/// The kernel features the sandbox uses: the seam through which tests
/// simulate a kernel that lacks one.
pub trait Kernel: Send + Sync + fmt::Debug {
    /// Landlock's state on this kernel.
    fn landlock(&self) -> Landlock;
    /// How a network namespace can be made, or why it cannot.
    fn network_namespace(&self) -> Result<NetNs, String>;
    /// How a mount namespace (with tmpfs mounts in it) can be made, or why
    /// it cannot.
    fn mount_namespace(&self) -> Result<NetNs, String>;
}

/// What [`decide`] settled on for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub network: Network,
    /// Linux, network `off`: how to make the namespace.
    pub netns: Option<NetNs>,
    /// Linux: how to make the private mount namespace in which the user's
    /// runtime directory and rcd's socket directory are hidden.
    pub mntns: Option<NetNs>,
    /// Linux: scope signals (Landlock ABI 6) as well.
    pub scope_signals: bool,
}

/// Checks that this machine can enforce `policy`; the error names the
/// missing feature and is shown to the client as it is.
pub fn decide(policy: &Policy, kernel: &dyn Kernel) -> Result<Plan, String> {
    #[cfg(target_os = "linux")]
    {
        decide_linux(policy, kernel)
    }
    #[cfg(target_os = "macos")]
    {
        let _ = kernel;
        macos::decide(policy)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = (policy, kernel);
        Err(
            "cannot sandbox the session: rcd's sandbox exists on Linux (Landlock) and macOS \
             (sandbox-exec) only; start it with --no-sandbox"
                .into(),
        )
    }
}

/// The Linux decision, a pure function of the policy and the kernel
/// (unit-tested on every platform).
pub fn decide_linux(policy: &Policy, kernel: &dyn Kernel) -> Result<Plan, String> {
    const HOW: &str = "start the session with --no-sandbox, or run rcd without --sandbox";
    let abi = match kernel.landlock() {
        Landlock::NotBuilt => {
            return Err(format!(
                "cannot sandbox the session: this kernel has no Landlock (it needs Linux 6.2 \
                 or later built with CONFIG_SECURITY_LANDLOCK); {HOW}"
            ));
        }
        Landlock::NotEnabled => {
            return Err(format!(
                "cannot sandbox the session: Landlock is built into this kernel but not \
                 enabled (add landlock to the lsm= boot parameter); {HOW}"
            ));
        }
        Landlock::Abi(n) => n,
    };
    if abi < FS_ABI {
        return Err(format!(
            "cannot sandbox the session: this kernel has Landlock ABI {abi}, and read-only \
             files need ABI {FS_ABI} (Linux 6.2: control of truncation); {HOW}"
        ));
    }
    let netns = match &policy.network {
        Network::Allow => None,
        Network::Ports(_) if abi < NET_ABI => {
            return Err(format!(
                "cannot sandbox the session: --sandbox-network {} needs Landlock network \
                 rules (ABI {NET_ABI}, Linux 6.7) and this kernel has ABI {abi}; use \
                 --sandbox-network off or allow",
                policy.network
            ));
        }
        Network::Ports(_) => None,
        Network::Off => Some(kernel.network_namespace().map_err(|why| {
            format!(
                "cannot sandbox the session: --sandbox-network off needs a network \
                 namespace, and {why}; use --sandbox-network allow or a port list"
            )
        })?),
    };
    let mntns = kernel.mount_namespace().map_err(|why| {
        format!(
            "cannot sandbox the session: hiding the user's runtime directory (session bus) \
             and rcd's socket directory needs a mount namespace, and {why}; {HOW}"
        )
    })?;
    Ok(Plan {
        network: policy.network.clone(),
        netns,
        mntns: Some(mntns),
        scope_signals: abi >= SCOPE_ABI,
    })
}

/// The running kernel, probed. The network namespace probe forks once and
/// is remembered.
#[derive(Debug, Default)]
pub struct SystemKernel {
    pretend_abi: Option<u32>,
    netns: std::sync::OnceLock<Result<NetNs, String>>,
    mntns: std::sync::OnceLock<Result<NetNs, String>>,
}

impl SystemKernel {
    /// The real kernel; `RCD_SANDBOX_PRETEND_ABI` (a test seam) caps the
    /// Landlock ABI it reports.
    pub fn from_env() -> Self {
        Self {
            pretend_abi: std::env::var(PRETEND_ABI_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok()),
            netns: std::sync::OnceLock::new(),
            mntns: std::sync::OnceLock::new(),
        }
    }
}

impl Kernel for SystemKernel {
    fn landlock(&self) -> Landlock {
        let real = probe_landlock();
        match (self.pretend_abi, real) {
            (Some(0), _) => Landlock::NotBuilt,
            (Some(p), Landlock::Abi(n)) => Landlock::Abi(n.min(p)),
            (_, real) => real,
        }
    }

    fn network_namespace(&self) -> Result<NetNs, String> {
        self.netns.get_or_init(probe_netns).clone()
    }

    fn mount_namespace(&self) -> Result<NetNs, String> {
        self.mntns.get_or_init(probe_mntns).clone()
    }
}

#[cfg(target_os = "linux")]
fn probe_landlock() -> Landlock {
    /// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version.
    const VERSION: nix::libc::c_uint = 1;
    // SAFETY: with this flag and a null attribute of size 0 the call only
    // returns the ABI version (or an error); it reads and writes no memory.
    let v = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            VERSION,
        )
    };
    if v >= 0 {
        return Landlock::Abi(u32::try_from(v).unwrap_or(u32::MAX));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(nix::libc::EOPNOTSUPP) => Landlock::NotEnabled,
        _ => Landlock::NotBuilt,
    }
}

#[cfg(not(target_os = "linux"))]
fn probe_landlock() -> Landlock {
    Landlock::NotBuilt
}

/// Tries, in a forked child that then exits, what `enter_in_child` will
/// do for network `off`: first a plain network namespace, then one inside
/// a user namespace.
#[cfg(target_os = "linux")]
fn probe_netns() -> Result<NetNs, String> {
    probe_ns(linux::Kind::Net)
}

/// Tries, in a forked child that then exits, what `enter_in_child` does
/// for the mount namespace (unshare, private propagation, a tmpfs mount):
/// first plainly, then inside a user namespace.
#[cfg(target_os = "linux")]
fn probe_mntns() -> Result<NetNs, String> {
    probe_ns(linux::Kind::Mount)
}

#[cfg(target_os = "linux")]
fn probe_ns(kind: linux::Kind) -> Result<NetNs, String> {
    let plain = linux::probe(kind, NetNs::Plain);
    if plain.is_ok() {
        return Ok(NetNs::Plain);
    }
    match linux::probe(kind, NetNs::WithUser) {
        Ok(()) => Ok(NetNs::WithUser),
        Err(user) => Err(format!(
            "this process may not make one ({}; {user}): unprivileged user namespaces are \
             probably disabled (user.max_user_namespaces=0, \
             kernel.unprivileged_userns_clone=0 or an AppArmor restriction); running rcd as \
             root also works",
            plain.err().unwrap_or_default()
        )),
    }
}

#[cfg(not(target_os = "linux"))]
fn probe_netns() -> Result<NetNs, String> {
    Err("network namespaces exist on Linux only".into())
}

#[cfg(not(target_os = "linux"))]
fn probe_mntns() -> Result<NetNs, String> {
    Err("mount namespaces exist on Linux only".into())
}

// ---------------------------------------------------------------------
// Preparation in the parent
// ---------------------------------------------------------------------

/// Where a session runs.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// Its working directory (the worktree, or the shared directory).
    pub dir: &'a Path,
    /// Whether `dir` is a git worktree made by rcd: then the git metadata
    /// a commit needs is writable too (see [`git_writable`]).
    pub worktree: bool,
    /// Its private temporary directory ([`tmp_path`]); created here.
    pub tmp: &'a Path,
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
        linux::add_path_rule(self.ruleset.as_raw_fd(), slave, linux::terminal_access())
    }

    /// The command wrapped in `sandbox-exec` with the session's profile.
    #[cfg(target_os = "macos")]
    pub fn wrap(&self, argv: &[String]) -> Vec<String> {
        self.profile.wrap(argv)
    }
}

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

fn create_tmp(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(path)
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
    let mut out = vec![place.dir.to_path_buf(), place.tmp.to_path_buf()];
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
pub fn prepare(plan: &Plan, policy: &Policy, place: &Place<'_>) -> Result<Confinement, String> {
    create_tmp(place.tmp).map_err(|e| {
        format!(
            "cannot sandbox the session: cannot create its temporary directory {}: {e}",
            place.tmp.display()
        )
    })?;
    let writable = writable_paths(policy, place);
    let built = build(plan, place, &writable);
    if built.is_err() {
        remove_tmp(place.tmp);
    }
    let built = built?;
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let dirs = hidden_dirs(runtime.as_deref(), place.socket, &writable);
        let mut hide = Vec::new();
        for d in &dirs {
            match std::ffi::CString::new(d.as_os_str().as_bytes()) {
                Ok(c) => hide.push(c),
                Err(_) => {
                    remove_tmp(place.tmp);
                    return Err(format!(
                        "cannot sandbox the session: cannot hide {}: the path holds a NUL byte",
                        d.display()
                    ));
                }
            }
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
    #[cfg(target_os = "macos")]
    {
        Ok(Confinement {
            tmp: place.tmp.to_path_buf(),
            writable,
            profile: built,
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let () = built;
        Err("cannot sandbox the session on this system".into())
    }
}

#[cfg(target_os = "linux")]
fn build(
    plan: &Plan,
    _place: &Place<'_>,
    writable: &[PathBuf],
) -> Result<std::os::fd::OwnedFd, String> {
    linux::ruleset(plan, writable)
}

#[cfg(target_os = "macos")]
fn build(plan: &Plan, place: &Place<'_>, writable: &[PathBuf]) -> Result<macos::Profile, String> {
    Ok(macos::Profile::new(&plan.network, writable, place.socket))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn build(_plan: &Plan, _place: &Place<'_>, _writable: &[PathBuf]) -> Result<(), String> {
    Err("cannot sandbox the session on this system".into())
}

// ---------------------------------------------------------------------
// Telling sandboxed clients of the control socket apart
// ---------------------------------------------------------------------

/// Number of seccomp filters of a process (`Seccomp_filters` in
/// `/proc/PID/status`, Linux 5.9+); `None` for this process.
///
/// Every sandboxed session gets one extra filter that allows everything
/// (see `enter_in_child`): a mark that it and all its descendants carry
/// and cannot remove. A control-socket client with more filters than rcd
/// itself is inside a sandbox, and must not drive rcd (it could start or
/// type into unconfined sessions).
#[cfg(target_os = "linux")]
pub fn seccomp_filters(pid: Option<u32>) -> Option<u32> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether the control-socket client `pid` runs inside a sandbox that
/// this rcd is not in. Unknown counts as inside (fail closed).
pub fn client_is_sandboxed(pid: Option<u32>) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Some(pid) = pid else { return true };
        match (seccomp_filters(Some(pid)), seccomp_filters(None)) {
            (Some(peer), Some(own)) => peer > own,
            _ => true,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // macOS: the profile denies the control socket to the session.
        let _ = pid;
        false
    }
}

// ---------------------------------------------------------------------
// The child side (Linux)
// ---------------------------------------------------------------------

/// A line for `/proc/self/{uid,gid}_map`, rendered in the parent.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy)]
struct MapLine {
    buf: [u8; 48],
    len: usize,
}

#[cfg(target_os = "linux")]
impl MapLine {
    /// `"ID ID 1\n"`: the id maps to itself, and nothing else is mapped.
    fn identity(id: u32) -> Self {
        use std::io::Write;
        let mut buf = [0u8; 48];
        let mut cur = io::Cursor::new(&mut buf[..]);
        // "4294967295 4294967295 1\n" is 24 bytes: always fits.
        let _ = writeln!(cur, "{id} {id} 1");
        let len = usize::try_from(cur.position()).unwrap_or(0);
        Self { buf, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What [`enter_in_child`] needs: plain values, prepared in the parent,
/// so the child allocates nothing.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone)]
pub struct ChildSide {
    /// The Landlock ruleset (close-on-exec; owned by the [`Confinement`]
    /// that stays alive in the parent until the spawn returned).
    ruleset: std::os::fd::RawFd,
    netns: Option<NetNs>,
    mntns: Option<NetNs>,
    /// Directories to cover with an empty tmpfs (made in the parent).
    hide: Vec<std::ffi::CString>,
    /// Files to cover with `/dev/null` (made in the parent).
    secrets: Vec<std::ffi::CString>,
    uid_map: MapLine,
    gid_map: MapLine,
}

#[cfg(target_os = "linux")]
impl ChildSide {
    fn new(
        ruleset: &std::os::fd::OwnedFd,
        netns: Option<NetNs>,
        mntns: Option<NetNs>,
        hide: Vec<std::ffi::CString>,
        secrets: Vec<std::ffi::CString>,
    ) -> Self {
        use std::os::fd::AsRawFd;
        Self {
            ruleset: ruleset.as_raw_fd(),
            netns,
            mntns,
            hide,
            secrets,
            uid_map: MapLine::identity(nix::unistd::geteuid().as_raw()),
            gid_map: MapLine::identity(nix::unistd::getegid().as_raw()),
        }
    }
}

/// Confines the calling process: the namespaces (a mount namespace in
/// which the hidden directories are covered by an empty tmpfs; a network
/// namespace for network `off`; a user namespace around them when this
/// process is not privileged), `no_new_privs`, the seccomp mark, then the
/// Landlock ruleset.
///
/// Call it only in a forked child before exec (`pre_exec`): it uses raw
/// system calls on values prepared in the parent, and allocates nothing.
/// Any failure is returned, so the spawn fails and the session is refused.
#[cfg(target_os = "linux")]
pub fn enter_in_child(c: &ChildSide) -> io::Result<()> {
    let ns = linux::Namespaces {
        user: c.netns == Some(NetNs::WithUser) || c.mntns == Some(NetNs::WithUser),
        net: c.netns.is_some(),
        mount: c.mntns.is_some(),
    };
    linux::enter_namespaces(ns, &c.uid_map, &c.gid_map).map_err(|(_, e)| e)?;
    if ns.mount {
        linux::make_private().map_err(|(_, e)| e)?;
        for dir in &c.hide {
            linux::mount_empty_tmpfs(dir).map_err(|(_, e)| e)?;
        }
        for file in &c.secrets {
            linux::cover_with_null(file).map_err(|(_, e)| e)?;
        }
    }
    linux::no_new_privs()?;
    linux::seccomp_mark()?;
    linux::restrict_self(c.ruleset)
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{MapLine, NetNs, Network, Plan};
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
        Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    };
    use nix::libc;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::PathBuf;

    /// Device files a shell needs to write: (path, is a directory).
    const DEVICES: &[(&str, bool)] = &[
        ("/dev/null", false),
        ("/dev/zero", false),
        ("/dev/full", false),
        ("/dev/tty", false),
        ("/dev/ptmx", false),
    ];

    /// Rights on the session's own terminal (`/dev/pts/N`).
    pub(super) fn terminal_access() -> u64 {
        (AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate).bits()
    }

    /// Adds a rule to an existing ruleset: `access` beneath `path`. Used
    /// for the session's own terminal, which exists only once the PTY is
    /// opened, after the ruleset was built (before the child restricts
    /// itself).
    pub(super) fn add_path_rule(
        ruleset: std::os::fd::RawFd,
        path: &std::path::Path,
        access: u64,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        #[repr(C, packed)]
        struct PathBeneathAttr {
            allowed_access: u64,
            parent_fd: i32,
        }
        const LANDLOCK_RULE_PATH_BENEATH: libc::c_long = 1;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)?;
        let attr = PathBeneathAttr {
            allowed_access: access,
            parent_fd: file.as_raw_fd(),
        };
        // SAFETY: `attr` is a properly laid out landlock_path_beneath_attr
        // that lives across the call; the descriptors are open.
        check(unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset,
                LANDLOCK_RULE_PATH_BENEATH,
                &attr as *const PathBeneathAttr,
                0,
            )
        })
    }

    /// The Landlock ruleset of a session, built under the hard-requirement
    /// compatibility level: if the kernel cannot enforce any part of it,
    /// this fails instead of quietly enforcing less.
    pub(super) fn ruleset(plan: &Plan, writable: &[PathBuf]) -> Result<OwnedFd, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("cannot sandbox the session: {what}: {e}")
        };
        let abi = ABI::V3;
        let all = AccessFs::from_all(abi);
        let file_all = AccessFs::from_file(abi);
        let read = AccessFs::from_read(abi);
        let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate;

        let mut rs = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(all)
            .map_err(|e| fail("Landlock file system rules", &e))?;
        if let Network::Ports(_) = plan.network {
            rs = rs
                .handle_access(AccessNet::ConnectTcp)
                .map_err(|e| fail("Landlock network rules", &e))?;
        }
        if plan.scope_signals {
            // Signals and abstract Unix sockets stay inside the sandbox.
            rs = rs
                .scope(Scope::Signal | Scope::AbstractUnixSocket)
                .map_err(|e| fail("Landlock scoping", &e))?;
        }
        let mut created = rs
            .create()
            .map_err(|e| fail("creating the Landlock ruleset", &e))?;

        let root = PathFd::new("/").map_err(|e| fail("opening /", &e))?;
        created = created
            .add_rule(PathBeneath::new(root, read))
            .map_err(|e| fail("allowing reads under /", &e))?;
        for p in writable {
            let fd = PathFd::new(p).map_err(|e| fail(&format!("opening {}", p.display()), &e))?;
            let access = if p.is_dir() { all } else { file_all };
            created = created
                .add_rule(PathBeneath::new(fd, access))
                .map_err(|e| fail(&format!("allowing writes to {}", p.display()), &e))?;
        }
        for (path, _dir) in DEVICES {
            // Missing devices (some containers) need no rule.
            let Ok(fd) = PathFd::new(path) else { continue };
            created = created
                .add_rule(PathBeneath::new(fd, device))
                .map_err(|e| fail(&format!("allowing writes to {path}"), &e))?;
        }
        if let Network::Ports(ports) = &plan.network {
            for &port in ports {
                created = created
                    .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                    .map_err(|e| fail(&format!("allowing TCP port {port}"), &e))?;
            }
        }
        let fd: Option<OwnedFd> = created.into();
        // Under the hard requirement a ruleset the kernel cannot create is
        // an error above; no descriptor here would mean nothing to enforce.
        fd.ok_or_else(|| {
            "cannot sandbox the session: the kernel made no Landlock ruleset".to_string()
        })
    }

    /// `-1` means failure, with `errno` set.
    fn check(r: libc::c_long) -> io::Result<()> {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Writes `data` to the file at `path` (a `/proc/self` file).
    fn write_file(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
        // SAFETY: `path` is a NUL-terminated string that outlives the call;
        // open, write and close are async-signal-safe; `data` is a valid
        // slice for `data.len()` bytes; the descriptor is closed on every
        // path.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd == -1 {
                return Err(io::Error::last_os_error());
            }
            let n = libc::write(fd, data.as_ptr().cast(), data.len());
            let err = io::Error::last_os_error();
            libc::close(fd);
            if n != isize::try_from(data.len()).unwrap_or(-1) {
                return Err(if n == -1 {
                    err
                } else {
                    io::ErrorKind::WriteZero.into()
                });
            }
        }
        Ok(())
    }

    /// The steps of [`enter_namespaces`] and the mount calls, as named in
    /// errors (the probe reports a failure by its index here).
    pub(super) const STEPS: [&str; 8] = [
        "unshare (no user namespace)",
        "unshare with CLONE_NEWUSER",
        "writing /proc/self/setgroups",
        "writing /proc/self/gid_map",
        "writing /proc/self/uid_map",
        "bringing up the loopback interface",
        "making mount propagation private",
        "mounting a tmpfs",
    ];

    /// Which namespaces a child enters.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Namespaces {
        /// A user namespace around the others (maps the user to itself).
        pub user: bool,
        pub net: bool,
        pub mount: bool,
    }

    /// What a probe tries.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Kind {
        Net,
        Mount,
    }

    /// Enters the new namespaces of `ns` in one `unshare` (inside a new
    /// user namespace that maps the user to itself when `ns.user`), and
    /// for a network namespace brings its loopback interface up. The error
    /// names the step, for the probe.
    pub(super) fn enter_namespaces(
        ns: Namespaces,
        uid_map: &MapLine,
        gid_map: &MapLine,
    ) -> Result<(), (&'static str, io::Error)> {
        let mut flags = 0;
        if ns.user {
            flags |= libc::CLONE_NEWUSER;
        }
        if ns.net {
            flags |= libc::CLONE_NEWNET;
        }
        if ns.mount {
            flags |= libc::CLONE_NEWNS;
        }
        if flags == 0 {
            return Ok(());
        }
        // SAFETY: unshare only changes this process's namespaces; it takes
        // no pointers.
        check(unsafe { libc::unshare(flags) }.into())
            .map_err(|e| (if ns.user { STEPS[1] } else { STEPS[0] }, e))?;
        if ns.user {
            write_file(c"/proc/self/setgroups", b"deny").map_err(|e| (STEPS[2], e))?;
            write_file(c"/proc/self/gid_map", gid_map.bytes()).map_err(|e| (STEPS[3], e))?;
            write_file(c"/proc/self/uid_map", uid_map.bytes()).map_err(|e| (STEPS[4], e))?;
        }
        if ns.net {
            loopback_up().map_err(|e| (STEPS[5], e))?;
        }
        Ok(())
    }

    /// `mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)`: nothing mounted
    /// in this namespace propagates to the host (or back).
    pub(super) fn make_private() -> Result<(), (&'static str, io::Error)> {
        // SAFETY: the path is a static NUL-terminated string; the other
        // pointers are null, which mount(2) accepts for a propagation
        // change.
        check(
            unsafe {
                libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            }
            .into(),
        )
        .map_err(|e| (STEPS[6], e))
    }

    /// Binds `/dev/null` over `file`: it reads as empty.
    pub(super) fn cover_with_null(file: &std::ffi::CStr) -> Result<(), (&'static str, io::Error)> {
        // SAFETY: every pointer is a NUL-terminated string that outlives
        // the call (`file` was made in the parent); mount(2) only reads
        // them, and the data argument may be null for a bind mount.
        check(
            unsafe {
                libc::mount(
                    c"/dev/null".as_ptr(),
                    file.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            }
            .into(),
        )
        .map_err(|e| (STEPS[7], e))
    }

    /// Covers `dir` with an empty tmpfs (mode 0700, nosuid, nodev).
    pub(super) fn mount_empty_tmpfs(dir: &std::ffi::CStr) -> Result<(), (&'static str, io::Error)> {
        // SAFETY: every pointer is a NUL-terminated string that outlives
        // the call (`dir` was made in the parent); mount(2) only reads
        // them.
        check(
            unsafe {
                libc::mount(
                    c"tmpfs".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"mode=0700".as_ptr().cast(),
                )
            }
            .into(),
        )
        .map_err(|e| (STEPS[7], e))
    }

    /// `ip link set lo up` in the new namespace, so programs can still
    /// talk to themselves over 127.0.0.1.
    fn loopback_up() -> io::Result<()> {
        // SAFETY: an all-zero ifreq is a valid value (plain integers and
        // byte arrays); only the name and the flags are set, on the stack.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        // SAFETY: socket, ioctl and close are async-signal-safe; `req` is a
        // valid ifreq that outlives the ioctl; the descriptor is closed on
        // every path.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if fd == -1 {
                return Err(io::Error::last_os_error());
            }
            let r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
            let err = io::Error::last_os_error();
            libc::close(fd);
            if r == -1 {
                return Err(err);
            }
        }
        Ok(())
    }

    /// `prctl(PR_SET_NO_NEW_PRIVS)`: needed to restrict an unprivileged
    /// process, and keeps set-uid programs from shedding the sandbox.
    pub(super) fn no_new_privs() -> io::Result<()> {
        // SAFETY: prctl with integer arguments only.
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }.into())
    }

    /// The seccomp filter of a sandboxed session. It refuses
    /// `socket(AF_UNIX, …)` with EACCES: Landlock does not govern
    /// `connect` on Unix sockets with a path, so without this a session
    /// could reach any local service (Docker, agents) and act outside its
    /// sandbox. `socketpair` (pipes between a program's own processes)
    /// stays allowed. System calls of another architecture's ABI (32-bit,
    /// x32), which could bypass the check, are refused too. Its presence
    /// is also the mark by which rcd recognises a sandboxed client of its
    /// control socket ([`super::client_is_sandboxed`]). Filters are
    /// inherited and cannot be removed.
    pub(super) fn seccomp_mark() -> io::Result<()> {
        const fn stmt(code: u32, k: u32) -> libc::sock_filter {
            libc::sock_filter {
                code: code as u16,
                jt: 0,
                jf: 0,
                k,
            }
        }
        const fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
            libc::sock_filter {
                code: code as u16,
                jt,
                jf,
                k,
            }
        }
        const LD: u32 = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        const JEQ: u32 = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
        const RET: u32 = libc::BPF_RET | libc::BPF_K;
        // Offsets in struct seccomp_data.
        const NR: u32 = 0;
        const ARCH: u32 = 4;
        const ARG0: u32 = 16;
        #[cfg(target_arch = "x86_64")]
        const NATIVE: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
        #[cfg(target_arch = "aarch64")]
        const NATIVE: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        compile_error!("the sandbox's seccomp filter knows x86_64 and aarch64 only");
        // x32 system calls share the arch value but have this bit set.
        #[cfg(target_arch = "x86_64")]
        const X32: libc::sock_filter = jump(
            libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
            0x4000_0000,
            4,
            0,
        );
        #[cfg(not(target_arch = "x86_64"))]
        const X32: libc::sock_filter = stmt(libc::BPF_JMP | libc::BPF_JA, 0);
        static FILTER: [libc::sock_filter; 9] = [
            stmt(LD, ARCH),
            jump(JEQ, NATIVE, 0, 6), // another ABI: refuse
            stmt(LD, NR),
            X32, // x32: refuse
            jump(JEQ, libc::SYS_socket as u32, 0, 2),
            stmt(LD, ARG0),
            jump(JEQ, libc::AF_UNIX as u32, 1, 0),
            stmt(RET, libc::SECCOMP_RET_ALLOW),
            stmt(RET, libc::SECCOMP_RET_ERRNO | (libc::EACCES as u32)),
        ];
        let prog = libc::sock_fprog {
            len: FILTER.len() as u16,
            filter: FILTER.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points to a static program that the kernel only
        // reads (and copies) during the call.
        check(unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            )
        })
    }

    /// `landlock_restrict_self(ruleset, 0)`: from here on the process and
    /// everything it starts is confined by the ruleset.
    pub(super) fn restrict_self(ruleset: std::os::fd::RawFd) -> io::Result<()> {
        // SAFETY: integer arguments only; the descriptor is the ruleset,
        // kept open by the parent's Confinement until the spawn returned.
        check(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) })
    }

    /// Forks a child that tries a namespace of `kind`, made as `ns` says,
    /// and exits; the error says what failed. The mount probe also makes
    /// propagation private and mounts a tmpfs (over `/`, in the probe's
    /// own namespace only).
    pub(super) fn probe(kind: Kind, ns: NetNs) -> Result<(), String> {
        use nix::sys::wait::{WaitStatus, waitpid};
        use nix::unistd::ForkResult;
        let uid = MapLine::identity(nix::unistd::geteuid().as_raw());
        let gid = MapLine::identity(nix::unistd::getegid().as_raw());
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| format!("probe: pipe: {e}"))?;
        let steps = STEPS;
        let want = Namespaces {
            user: ns == NetNs::WithUser,
            net: kind == Kind::Net,
            mount: kind == Kind::Mount,
        };
        // SAFETY: the child runs only async-signal-safe code (unshare,
        // open/write/close, socket/ioctl, write to the pipe) on values made
        // before the fork, then _exit; it never returns into Rust code of
        // the parent's threads.
        match unsafe { nix::unistd::fork() }.map_err(|e| format!("probe: fork: {e}"))? {
            ForkResult::Child => {
                use std::os::fd::AsRawFd;
                let entered = enter_namespaces(want, &uid, &gid).and_then(|()| {
                    if want.mount {
                        make_private()?;
                        mount_empty_tmpfs(c"/")?;
                    }
                    Ok(())
                });
                let code = match entered {
                    Ok(()) => 0u8,
                    Err((step, e)) => {
                        let i = steps.iter().position(|s| *s == step).unwrap_or(0);
                        let errno = e.raw_os_error().unwrap_or(0);
                        let msg = [i as u8, (errno & 0xff) as u8, ((errno >> 8) & 0xff) as u8];
                        // SAFETY: write(2) from a valid buffer to our pipe.
                        unsafe { libc::write(wr.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
                        1
                    }
                };
                // SAFETY: _exit ends the child at once, without running
                // the parent's atexit handlers or destructors.
                unsafe { libc::_exit(i32::from(code)) }
            }
            ForkResult::Parent { child } => {
                drop(wr);
                let status = loop {
                    match waitpid(child, None) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        other => break other,
                    }
                };
                let mut msg = [0u8; 3];
                let n = nix::unistd::read(&rd, &mut msg).unwrap_or(0);
                match status {
                    Ok(WaitStatus::Exited(_, 0)) => Ok(()),
                    Ok(_) if n == 3 => {
                        let errno = i32::from(msg[1]) | (i32::from(msg[2]) << 8);
                        Err(format!(
                            "{} failed: {}",
                            steps[usize::from(msg[0]).min(steps.len() - 1)],
                            io::Error::from_raw_os_error(errno)
                        ))
                    }
                    other => Err(format!("probe ended with {other:?}")),
                }
            }
        }
    }
}

#[cfg(target_os = "macos")]
mod macos {
    use super::{Network, Plan, Policy};
    use std::path::{Path, PathBuf};

    /// The system sandbox's front end, by absolute path: never one found
    /// on PATH.
    pub(super) const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

    pub(super) fn decide(policy: &Policy) -> Result<Plan, String> {
        if !Path::new(SANDBOX_EXEC).exists() {
            return Err(format!(
                "cannot sandbox the session: {SANDBOX_EXEC} is missing; start the session \
                 with --no-sandbox, or run rcd without --sandbox"
            ));
        }
        Ok(Plan {
            network: policy.network.clone(),
            netns: None,
            mntns: None,
            scope_signals: false,
        })
    }

    /// A generated profile and its parameters.
    #[derive(Debug)]
    pub(super) struct Profile {
        text: String,
        params: Vec<(String, String)>,
    }

    impl Profile {
        pub(super) fn new(network: &Network, writable: &[PathBuf], socket: &Path) -> Self {
            // The sandbox matches real paths: /tmp is /private/tmp.
            let real = |p: &Path| {
                p.canonicalize()
                    .unwrap_or_else(|_| p.to_path_buf())
                    .display()
                    .to_string()
            };
            let writable: Vec<String> = writable.iter().map(|p| real(p)).collect();
            let socket = match (socket.parent(), socket.file_name()) {
                (Some(dir), Some(name)) => Path::new(&real(dir)).join(name).display().to_string(),
                _ => socket.display().to_string(),
            };
            let (text, params) = super::macos_profile(network, &writable, &socket);
            Self { text, params }
        }

        pub(super) fn wrap(&self, argv: &[String]) -> Vec<String> {
            let mut out = vec![SANDBOX_EXEC.to_string(), "-p".into(), self.text.clone()];
            for (k, v) in &self.params {
                out.push(format!("-D{k}={v}"));
            }
            out.push("--".into());
            out.extend(argv.iter().cloned());
            out
        }
    }
}

/// The `sandbox-exec` profile (SBPL) of a session and its parameters.
/// Paths travel as parameters (`-DKEY=VALUE`), never inside the profile
/// text, so no path needs quoting. Later rules win in SBPL, so each deny
/// comes before the allows that carve out of it.
#[cfg(any(target_os = "macos", test))]
pub fn macos_profile(
    network: &Network,
    writable: &[String],
    socket: &str,
) -> (String, Vec<(String, String)>) {
    let mut params = Vec::new();
    let mut p = String::from("(version 1)\n(allow default)\n");
    p.push_str("(deny file-write*)\n(allow file-write*\n");
    for (i, w) in writable.iter().enumerate() {
        let key = format!("WRITABLE_{i}");
        p.push_str(&format!("  (subpath (param \"{key}\"))\n"));
        params.push((key, w.clone()));
    }
    p.push_str(
        "  (literal \"/dev/null\") (literal \"/dev/zero\") (literal \"/dev/tty\")\n  \
         (literal \"/dev/ptmx\") (literal \"/dev/dtracehelper\")\n  \
         (regex #\"^/dev/ttys[0-9]+$\"))\n",
    );
    match network {
        Network::Allow => {}
        Network::Off => p.push_str(
            "(deny network-outbound (remote ip \"*:*\"))\n\
             (deny network-inbound (local ip \"*:*\"))\n\
             (deny network-bind (local ip \"*:*\"))\n",
        ),
        Network::Ports(ports) => {
            p.push_str("(deny network-outbound (remote tcp \"*:*\"))\n");
            for port in ports {
                p.push_str(&format!(
                    "(allow network-outbound (remote tcp \"*:{port}\"))\n"
                ));
            }
        }
    }
    // rcd's control socket would let the session start unconfined ones.
    p.push_str("(deny network-outbound (literal (param \"RCD_SOCKET\")))\n");
    params.push(("RCD_SOCKET".into(), socket.to_string()));
    (p, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fake {
        landlock: Landlock,
        netns: Result<NetNs, String>,
        mntns: Result<NetNs, String>,
    }

    impl Kernel for Fake {
        fn landlock(&self) -> Landlock {
            self.landlock
        }
        fn network_namespace(&self) -> Result<NetNs, String> {
            self.netns.clone()
        }
        fn mount_namespace(&self) -> Result<NetNs, String> {
            self.mntns.clone()
        }
    }

    fn kernel(abi: u32) -> Fake {
        Fake {
            landlock: Landlock::Abi(abi),
            netns: Ok(NetNs::Plain),
            mntns: Ok(NetNs::Plain),
        }
    }

    fn policy(network: &str) -> Policy {
        Policy {
            enabled: true,
            writable: Vec::new(),
            network: network.parse().expect("network"),
            secret_files: Vec::new(),
        }
    }

    #[test]
    fn network_parses_and_prints() {
        assert_eq!("allow".parse::<Network>(), Ok(Network::Allow));
        assert_eq!("off".parse::<Network>(), Ok(Network::Off));
        assert_eq!(
            "443, 22,443".parse::<Network>(),
            Ok(Network::Ports(vec![22, 443]))
        );
        assert_eq!(Network::Ports(vec![22, 443]).to_string(), "22,443");
        for bad in ["", "0", "70000", "on", "443,", "http"] {
            let e = bad.parse::<Network>().expect_err(bad);
            assert!(e.contains("off, allow, or TCP ports"), "{e}");
        }
    }

    #[test]
    fn without_landlock_the_session_is_refused_naming_it() {
        let k = Fake {
            landlock: Landlock::NotBuilt,
            netns: Ok(NetNs::Plain),
            mntns: Ok(NetNs::Plain),
        };
        let e = decide_linux(&policy("allow"), &k).expect_err("refused");
        assert!(e.contains("no Landlock"), "{e}");
        assert!(e.contains("--no-sandbox"), "says what to do: {e}");

        let k = Fake {
            landlock: Landlock::NotEnabled,
            netns: Ok(NetNs::Plain),
            mntns: Ok(NetNs::Plain),
        };
        let e = decide_linux(&policy("allow"), &k).expect_err("refused");
        assert!(e.contains("not enabled") && e.contains("lsm="), "{e}");
    }

    #[test]
    fn an_old_landlock_is_refused_naming_the_abi() {
        for abi in [1, 2] {
            let e = decide_linux(&policy("allow"), &kernel(abi)).expect_err("refused");
            assert!(e.contains(&format!("Landlock ABI {abi}")), "{e}");
            assert!(e.contains("ABI 3") && e.contains("truncation"), "{e}");
        }
        let plan = decide_linux(&policy("allow"), &kernel(3)).expect("ABI 3 is enough");
        assert_eq!(plan.netns, None);
        assert!(!plan.scope_signals);
    }

    #[test]
    fn ports_need_landlock_network_rules() {
        let e = decide_linux(&policy("443"), &kernel(3)).expect_err("refused");
        assert!(e.contains("Landlock network rules (ABI 4"), "{e}");
        assert!(e.contains("--sandbox-network 443"), "{e}");
        let plan = decide_linux(&policy("443"), &kernel(4)).expect("ABI 4");
        assert_eq!(plan.network, Network::Ports(vec![443]));
        assert_eq!(plan.netns, None);
    }

    #[test]
    fn network_off_needs_a_namespace() {
        let plan = decide_linux(&policy("off"), &kernel(3)).expect("namespace");
        assert_eq!(plan.netns, Some(NetNs::Plain));
        let k = Fake {
            landlock: Landlock::Abi(7),
            netns: Err("user namespaces are disabled".into()),
            mntns: Ok(NetNs::WithUser),
        };
        let e = decide_linux(&policy("off"), &k).expect_err("refused");
        assert!(
            e.contains("needs a network namespace") && e.contains("user namespaces are disabled"),
            "{e}"
        );
        // Only "off" asks for one.
        assert!(decide_linux(&policy("allow"), &k).is_ok());
    }

    #[test]
    fn every_session_needs_a_mount_namespace() {
        let plan = decide_linux(&policy("allow"), &kernel(3)).expect("namespace");
        assert_eq!(plan.mntns, Some(NetNs::Plain));
        let k = Fake {
            landlock: Landlock::Abi(7),
            netns: Ok(NetNs::WithUser),
            mntns: Err("user namespaces are disabled".into()),
        };
        for network in ["allow", "off", "443"] {
            let e = decide_linux(&policy(network), &k).expect_err("refused");
            assert!(e.starts_with("cannot sandbox the session: "), "{e}");
            assert!(
                e.contains("needs a mount namespace") && e.contains("user namespaces are disabled"),
                "{e}"
            );
        }
    }

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

    #[test]
    fn signals_are_scoped_where_the_kernel_can() {
        assert!(
            !decide_linux(&policy("allow"), &kernel(5))
                .unwrap()
                .scope_signals
        );
        assert!(
            decide_linux(&policy("allow"), &kernel(6))
                .unwrap()
                .scope_signals
        );
    }

    #[test]
    fn the_pretended_abi_only_takes_features_away() {
        let real = probe_landlock();
        let k = SystemKernel {
            pretend_abi: Some(0),
            ..SystemKernel::default()
        };
        assert_eq!(k.landlock(), Landlock::NotBuilt);
        let k = SystemKernel {
            pretend_abi: Some(2),
            ..SystemKernel::default()
        };
        match real {
            Landlock::Abi(n) => assert_eq!(k.landlock(), Landlock::Abi(n.min(2))),
            other => assert_eq!(k.landlock(), other),
        }
        let k = SystemKernel {
            pretend_abi: Some(99),
            ..SystemKernel::default()
        };
        assert_eq!(k.landlock(), real);
    }

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

    #[test]
    fn the_macos_profile_denies_writes_and_the_socket_and_carries_paths_as_parameters() {
        let (p, params) = macos_profile(
            &Network::Ports(vec![443]),
            &["/w \"q\"".into(), "/private/tmp/t".into()],
            "/s/rcd.sock",
        );
        assert!(p.starts_with("(version 1)\n(allow default)\n(deny file-write*)"));
        assert!(p.contains("(subpath (param \"WRITABLE_0\"))"));
        assert!(p.contains("(subpath (param \"WRITABLE_1\"))"));
        assert!(!p.contains("\"q\""), "paths are parameters, not text");
        let deny = p.find("(deny network-outbound (remote tcp").unwrap();
        let allow = p
            .find("(allow network-outbound (remote tcp \"*:443\"))")
            .unwrap();
        assert!(
            deny < allow,
            "the allow comes after the deny it carves out of"
        );
        assert!(p.contains("(deny network-outbound (literal (param \"RCD_SOCKET\")))"));
        assert_eq!(
            params,
            [
                ("WRITABLE_0".to_string(), "/w \"q\"".to_string()),
                ("WRITABLE_1".into(), "/private/tmp/t".into()),
                ("RCD_SOCKET".into(), "/s/rcd.sock".into()),
            ]
        );
        let balanced =
            p.chars().filter(|&c| c == '(').count() == p.chars().filter(|&c| c == ')').count();
        assert!(balanced, "{p}");
        let (off, _) = macos_profile(&Network::Off, &[], "/s");
        assert!(off.contains("(deny network-outbound (remote ip \"*:*\"))"));
        let (allow, _) = macos_profile(&Network::Allow, &[], "/s");
        assert!(!allow.contains("remote ip"));
    }
}
