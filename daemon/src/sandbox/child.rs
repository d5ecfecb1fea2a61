//! The child side (Linux): what a sandboxed session's process does to
//! itself between fork and exec, on values prepared in the parent. The
//! system calls themselves are in `sys`.

use std::io;

use super::kernel::NetNs;
use super::sys::{self, MapLine};

/// What [`enter_in_child`] needs: plain values, prepared in the parent,
/// so the child allocates nothing.
#[derive(Debug, Clone)]
pub struct ChildSide {
    /// The Landlock ruleset (close-on-exec; owned by the [`super::Confinement`]
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

impl ChildSide {
    pub(super) fn new(
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
pub fn enter_in_child(c: &ChildSide) -> io::Result<()> {
    let ns = sys::Namespaces {
        user: c.netns == Some(NetNs::WithUser) || c.mntns == Some(NetNs::WithUser),
        net: c.netns.is_some(),
        mount: c.mntns.is_some(),
    };
    sys::enter_namespaces(ns, &c.uid_map, &c.gid_map).map_err(|(_, e)| e)?;
    if ns.mount {
        sys::make_private().map_err(|(_, e)| e)?;
        for dir in &c.hide {
            sys::mount_empty_tmpfs(dir).map_err(|(_, e)| e)?;
        }
        for file in &c.secrets {
            sys::cover_with_null(file).map_err(|(_, e)| e)?;
        }
    }
    sys::no_new_privs()?;
    sys::seccomp_mark()?;
    sys::restrict_self(c.ruleset)
}
