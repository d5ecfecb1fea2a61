//! Telling sandboxed clients of the control socket apart.

/// Number of seccomp filters of a process (`Seccomp_filters` in
/// `/proc/PID/status`, Linux 5.9+); `None` for this process.
///
/// Every sandboxed session gets one extra filter (`sys::seccomp_mark`,
/// which refuses Unix sockets): a mark that it and all its descendants
/// carry and cannot remove. A control-socket client with more filters than rcd
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
