//! The environment a session's program starts with.

use crate::config::Config;

/// Environment variables of the daemon that sessions do not inherit:
/// the daemon's own settings and service-manager plumbing.
const ENV_DENYLIST: &[&str] = &[
    "RCD_SOCKET",
    "RCD_TOKEN",
    "RCD_RELAY",
    "RUST_LOG",
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "JOURNAL_STREAM",
    "INVOCATION_ID",
    "TERM",
    "COLUMNS",
    "LINES",
    crate::sandbox::PRETEND_ABI_ENV,
];

/// The complete environment of every session: the daemon's own, less its
/// settings and service plumbing, plus `TERM=xterm-256color` and
/// `RCD_ENV`. Each session adds `RCD_SESSION` and `RCD_HOOK_DIR` (and a
/// sandboxed one its `TMPDIR`).
pub fn session_env(cfg: &Config) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !ENV_DENYLIST.contains(&k.as_str()))
        .collect();
    env.push(("TERM".into(), "xterm-256color".into()));
    env.push(("RCD_ENV".into(), cfg.name.clone()));
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    }
    env
}
