//! The Landlock ruleset of a sandboxed session (Linux), built in the
//! parent with the `landlock` crate.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
};

use super::decide::Plan;
use super::policy::Network;
use super::prepare::PrepareError;

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

/// The Landlock ruleset of a session, built under the hard-requirement
/// compatibility level: if the kernel cannot enforce any part of it,
/// this fails instead of quietly enforcing less.
pub(super) fn ruleset(plan: &Plan, writable: &[PathBuf]) -> Result<OwnedFd, PrepareError> {
    fn fail<E>(what: &str) -> impl FnOnce(E) -> PrepareError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let what = what.to_string();
        move |e| PrepareError::Landlock {
            what,
            source: Box::new(e),
        }
    }
    let abi = ABI::V3;
    let all = AccessFs::from_all(abi);
    let file_all = AccessFs::from_file(abi);
    let read = AccessFs::from_read(abi);
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate;

    let mut rs = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(fail("Landlock file system rules"))?;
    if let Network::Ports(_) = plan.network {
        rs = rs
            .handle_access(AccessNet::ConnectTcp)
            .map_err(fail("Landlock network rules"))?;
    }
    if plan.scope_signals {
        // Signals and abstract Unix sockets stay inside the sandbox.
        rs = rs
            .scope(Scope::Signal | Scope::AbstractUnixSocket)
            .map_err(fail("Landlock scoping"))?;
    }
    let mut created = rs.create().map_err(fail("creating the Landlock ruleset"))?;

    let root = PathFd::new("/").map_err(fail("opening /"))?;
    created = created
        .add_rule(PathBeneath::new(root, read))
        .map_err(fail("allowing reads under /"))?;
    for p in writable {
        let fd = PathFd::new(p).map_err(fail(&format!("opening {}", p.display())))?;
        let access = if p.is_dir() { all } else { file_all };
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(fail(&format!("allowing writes to {}", p.display())))?;
    }
    for (path, _dir) in DEVICES {
        // Missing devices (some containers) need no rule.
        let Ok(fd) = PathFd::new(path) else { continue };
        created = created
            .add_rule(PathBeneath::new(fd, device))
            .map_err(fail(&format!("allowing writes to {path}")))?;
    }
    if let Network::Ports(ports) = &plan.network {
        for &port in ports {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(fail(&format!("allowing TCP port {port}")))?;
        }
    }
    let fd: Option<OwnedFd> = created.into();
    // Under the hard requirement a ruleset the kernel cannot create is
    // an error above; no descriptor here would mean nothing to enforce.
    fd.ok_or(PrepareError::NoRuleset)
}
