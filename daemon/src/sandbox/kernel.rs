//! What the kernel offers the sandbox, behind the [`Kernel`] seam, and the
//! running kernel probed ([`SystemKernel`]).

use std::fmt;

use super::PRETEND_ABI_ENV;
#[cfg(target_os = "linux")]
use super::sys::{self, Kind};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// The Landlock ABI of the running kernel (the raw call is in `sys`).
#[cfg(target_os = "linux")]
fn probe_landlock() -> Landlock {
    sys::landlock_abi()
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
    probe_ns(Kind::Net)
}

/// Tries, in a forked child that then exits, what `enter_in_child` does
/// for the mount namespace (unshare, private propagation, a tmpfs mount):
/// first plainly, then inside a user namespace.
#[cfg(target_os = "linux")]
fn probe_mntns() -> Result<NetNs, String> {
    probe_ns(Kind::Mount)
}

#[cfg(target_os = "linux")]
fn probe_ns(kind: Kind) -> Result<NetNs, String> {
    let plain = sys::probe(kind, NetNs::Plain);
    if plain.is_ok() {
        return Ok(NetNs::Plain);
    }
    match sys::probe(kind, NetNs::WithUser) {
        Ok(()) => Ok(NetNs::WithUser),
        Err(user) => Err(format!(
            "this process may not make one ({}; {user}): unprivileged user namespaces are \
             probably disabled (user.max_user_namespaces=0, \
             kernel.unprivileged_userns_clone=0 or an AppArmor restriction); running rcd as \
             root also works",
            plain.err().map(|e| e.to_string()).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
