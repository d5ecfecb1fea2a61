//! Every raw system call of the sandbox (Linux): the only file of it with
//! `unsafe` code, each block saying why it is sound.
//!
//! Most of these run in the forked child between fork and exec
//! ([`super::enter_in_child`]): they are async-signal-safe, work on values
//! prepared in the parent and allocate nothing. The others run in the
//! parent: the Landlock ABI query, the rule for the session's own terminal
//! ([`add_path_rule`]) and the namespace probe ([`probe`]), which forks a
//! child that tries the same steps as a session.
#![allow(unsafe_code)]

use std::io;

use nix::libc;

use super::kernel::{Landlock, NetNs};

/// A line for `/proc/self/{uid,gid}_map`, rendered in the parent.
#[derive(Debug, Clone, Copy)]
pub(super) struct MapLine {
    buf: [u8; 48],
    len: usize,
}

impl MapLine {
    /// `"ID ID 1\n"`: the id maps to itself, and nothing else is mapped.
    pub(super) fn identity(id: u32) -> Self {
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

/// The Landlock ABI of the running kernel, or why there is none.
pub(super) fn landlock_abi() -> Landlock {
    /// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version.
    const VERSION: libc::c_uint = 1;
    // SAFETY: with this flag and a null attribute of size 0 the call only
    // returns the ABI version (or an error); it reads and writes no memory.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            VERSION,
        )
    };
    if v >= 0 {
        return Landlock::Abi(u32::try_from(v).unwrap_or(u32::MAX));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EOPNOTSUPP) => Landlock::NotEnabled,
        _ => Landlock::NotBuilt,
    }
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

/// Why a namespace probe failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProbeError {
    #[error("probe: pipe: {0}")]
    Pipe(nix::Error),
    #[error("probe: fork: {0}")]
    Fork(nix::Error),
    /// The child reported the step that failed, with its errno.
    #[error("{step} failed: {source}")]
    Step {
        step: &'static str,
        source: io::Error,
    },
    /// The child ended without a report (its wait status).
    #[error("probe ended with {0}")]
    Ended(String),
}

/// Forks a child that tries a namespace of `kind`, made as `ns` says,
/// and exits; the error says what failed. The mount probe also makes
/// propagation private and mounts a tmpfs (over `/`, in the probe's
/// own namespace only).
pub(super) fn probe(kind: Kind, ns: NetNs) -> Result<(), ProbeError> {
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::ForkResult;
    let uid = MapLine::identity(nix::unistd::geteuid().as_raw());
    let gid = MapLine::identity(nix::unistd::getegid().as_raw());
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(ProbeError::Pipe)?;
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
    match unsafe { nix::unistd::fork() }.map_err(ProbeError::Fork)? {
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
                    Err(ProbeError::Step {
                        step: steps[usize::from(msg[0]).min(steps.len() - 1)],
                        source: io::Error::from_raw_os_error(errno),
                    })
                }
                other => Err(ProbeError::Ended(format!("{other:?}"))),
            }
        }
    }
}
