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
//! 1. [`decide()`] (parent, before anything is created; `decide.rs`): does
//!    this kernel offer what the policy needs? The answer comes from a
//!    [`Kernel`] (`kernel.rs`), the seam through which tests simulate a
//!    kernel without a feature. A missing feature is a refusal naming it;
//!    nothing is ever run with less confinement than asked for.
//! 2. [`prepare()`] (parent; `prepare.rs`, `ruleset.rs`, `tmp.rs`): builds
//!    the Landlock ruleset (opening every path), creates the private
//!    temporary directory, and renders everything the child needs into
//!    plain values ([`ChildSide`]).
//! 3. [`enter_in_child`] (the child, in `pre_exec`, between fork and
//!    exec; `child.rs`): only raw system calls on values prepared in
//!    step 2: no allocation, no locks.
//!
//! Every raw system call is in `sys.rs`, the only file of the sandbox with
//! `unsafe` code (the other is `pty.rs`); each block says why it is sound.
//! `client.rs` tells sandboxed clients of the control socket apart,
//! `macos.rs` renders the macOS profile, `policy.rs` holds the settings.

#[cfg(target_os = "linux")]
mod child;
mod client;
mod decide;
mod gate;
mod kernel;
#[cfg(any(target_os = "macos", test))]
mod macos;
mod policy;
mod prepare;
#[cfg(target_os = "linux")]
mod ruleset;
#[cfg(target_os = "linux")]
mod sys;
mod tmp;

#[cfg(target_os = "linux")]
pub use child::{ChildSide, enter_in_child};
pub use client::client_is_sandboxed;
#[cfg(target_os = "linux")]
pub use client::seccomp_filters;
pub use decide::{Plan, Refusal, decide, decide_linux};
pub use gate::Gate;
pub use kernel::{Kernel, Landlock, NetNs, SystemKernel};
#[cfg(any(target_os = "macos", test))]
pub use macos::macos_profile;
pub use policy::{Network, Policy};
pub use prepare::{
    Confinement, ConfinementWire, Place, PrepareError, git_writable, hidden_dirs, prepare,
};
pub use tmp::{clean_tmp, remove_tmp, tmp_path};

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
