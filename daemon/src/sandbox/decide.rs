//! The decision: can this machine enforce a policy, and how? A pure
//! function of the policy and the [`Kernel`], unit-tested with a fake
//! kernel for every missing feature.

use super::kernel::{Kernel, Landlock, NetNs};
use super::policy::{Network, Policy};
use super::{FS_ABI, NET_ABI, SCOPE_ABI};

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

/// Why a session cannot be sandboxed on this machine. The message names
/// the missing feature and says what to do; the client is shown it as it
/// is. Nothing is ever run with less confinement than asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Linux without Landlock (`ENOSYS`).
    #[error(
        "cannot sandbox the session: this kernel has no Landlock (it needs Linux 6.2 or later \
         built with CONFIG_SECURITY_LANDLOCK); start the session with --no-sandbox, or run rcd \
         without --sandbox"
    )]
    NoLandlock,
    /// Landlock built in but not enabled at boot (`EOPNOTSUPP`).
    #[error(
        "cannot sandbox the session: Landlock is built into this kernel but not enabled (add \
         landlock to the lsm= boot parameter); start the session with --no-sandbox, or run rcd \
         without --sandbox"
    )]
    LandlockNotEnabled,
    /// A Landlock ABI older than [`FS_ABI`].
    #[error(
        "cannot sandbox the session: this kernel has Landlock ABI {abi}, and read-only files \
         need ABI {} (Linux 6.2: control of truncation); start the session with --no-sandbox, \
         or run rcd without --sandbox",
        FS_ABI
    )]
    OldLandlock { abi: u32 },
    /// A port list on a Landlock ABI older than [`NET_ABI`].
    #[error(
        "cannot sandbox the session: --sandbox-network {network} needs Landlock network rules \
         (ABI {}, Linux 6.7) and this kernel has ABI {abi}; use --sandbox-network off or allow",
        NET_ABI
    )]
    NoNetworkRules { network: Network, abi: u32 },
    /// Network `off` where no network namespace can be made (`why`).
    #[error(
        "cannot sandbox the session: --sandbox-network off needs a network namespace, and \
         {0}; use --sandbox-network allow or a port list"
    )]
    NoNetworkNamespace(String),
    /// No mount namespace can be made (`why`).
    #[error(
        "cannot sandbox the session: hiding the user's runtime directory (session bus) and \
         rcd's socket directory needs a mount namespace, and {0}; start the session with \
         --no-sandbox, or run rcd without --sandbox"
    )]
    NoMountNamespace(String),
    /// macOS without `sandbox-exec` at this path.
    #[error(
        "cannot sandbox the session: {0} is missing; start the session with --no-sandbox, or \
         run rcd without --sandbox"
    )]
    NoSandboxExec(&'static str),
    /// A system with no sandbox of rcd's.
    #[error(
        "cannot sandbox the session: rcd's sandbox exists on Linux (Landlock) and macOS \
         (sandbox-exec) only; start it with --no-sandbox"
    )]
    Unsupported,
}

/// Checks that this machine can enforce `policy`; the error names the
/// missing feature and is shown to the client as it is.
pub fn decide(policy: &Policy, kernel: &dyn Kernel) -> Result<Plan, Refusal> {
    #[cfg(target_os = "linux")]
    let plan = decide_linux(policy, kernel);
    #[cfg(target_os = "macos")]
    let plan = {
        let _ = kernel;
        super::macos::decide(policy)
    };
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    let plan = {
        let _ = (policy, kernel);
        Err(Refusal::Unsupported)
    };
    plan
}

/// The Linux decision, a pure function of the policy and the kernel
/// (unit-tested on every platform).
pub fn decide_linux(policy: &Policy, kernel: &dyn Kernel) -> Result<Plan, Refusal> {
    let abi = match kernel.landlock() {
        Landlock::NotBuilt => return Err(Refusal::NoLandlock),
        Landlock::NotEnabled => return Err(Refusal::LandlockNotEnabled),
        Landlock::Abi(n) => n,
    };
    if abi < FS_ABI {
        return Err(Refusal::OldLandlock { abi });
    }
    let netns = match &policy.network {
        Network::Allow => None,
        Network::Ports(_) if abi < NET_ABI => {
            return Err(Refusal::NoNetworkRules {
                network: policy.network.clone(),
                abi,
            });
        }
        Network::Ports(_) => None,
        Network::Off => Some(
            kernel
                .network_namespace()
                .map_err(Refusal::NoNetworkNamespace)?,
        ),
    };
    let mntns = kernel
        .mount_namespace()
        .map_err(Refusal::NoMountNamespace)?;
    Ok(Plan {
        network: policy.network.clone(),
        netns,
        mntns: Some(mntns),
        scope_signals: abi >= SCOPE_ABI,
    })
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
    fn without_landlock_the_session_is_refused_naming_it() {
        let k = Fake {
            landlock: Landlock::NotBuilt,
            netns: Ok(NetNs::Plain),
            mntns: Ok(NetNs::Plain),
        };
        let e = decide_linux(&policy("allow"), &k)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("no Landlock"), "{e}");
        assert!(e.contains("--no-sandbox"), "says what to do: {e}");

        let k = Fake {
            landlock: Landlock::NotEnabled,
            netns: Ok(NetNs::Plain),
            mntns: Ok(NetNs::Plain),
        };
        let e = decide_linux(&policy("allow"), &k)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("not enabled") && e.contains("lsm="), "{e}");
    }

    #[test]
    fn an_old_landlock_is_refused_naming_the_abi() {
        for abi in [1, 2] {
            let e = decide_linux(&policy("allow"), &kernel(abi))
                .expect_err("refused")
                .to_string();
            assert!(e.contains(&format!("Landlock ABI {abi}")), "{e}");
            assert!(e.contains("ABI 3") && e.contains("truncation"), "{e}");
        }
        let plan = decide_linux(&policy("allow"), &kernel(3)).expect("ABI 3 is enough");
        assert_eq!(plan.netns, None);
        assert!(!plan.scope_signals);
    }

    #[test]
    fn ports_need_landlock_network_rules() {
        let e = decide_linux(&policy("443"), &kernel(3))
            .expect_err("refused")
            .to_string();
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
        let e = decide_linux(&policy("off"), &k)
            .expect_err("refused")
            .to_string();
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
            let e = decide_linux(&policy(network), &k)
                .expect_err("refused")
                .to_string();
            assert!(e.starts_with("cannot sandbox the session: "), "{e}");
            assert!(
                e.contains("needs a mount namespace") && e.contains("user namespaces are disabled"),
                "{e}"
            );
        }
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
}
