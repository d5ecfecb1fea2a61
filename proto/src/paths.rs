//! Where the daemon and its clients look by default. Both sides use these
//! functions, so `rcctl` finds a default `rcd` without flags.

use std::path::PathBuf;

fn non_empty_env(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_STATE_HOME/rcd`, else `$HOME/.local/state/rcd`.
pub fn default_state_dir() -> Option<PathBuf> {
    non_empty_env("XDG_STATE_HOME")
        .or_else(|| non_empty_env("HOME").map(|h| h.join(".local").join("state")))
        .map(|d| d.join("rcd"))
}

/// `$XDG_RUNTIME_DIR/rcd/rcd.sock`, else `rcd.sock` in the default state
/// directory (not in `--state-dir`: clients cannot know that one).
pub fn default_socket() -> Option<PathBuf> {
    non_empty_env("XDG_RUNTIME_DIR")
        .map(|d| d.join("rcd"))
        .or_else(default_state_dir)
        .map(|d| d.join("rcd.sock"))
}

/// `$XDG_CONFIG_HOME`, else `$HOME/.config`: where each program's
/// configuration directory is (rcd's, rc-relay's).
pub fn config_home() -> Option<PathBuf> {
    non_empty_env("XDG_CONFIG_HOME").or_else(|| non_empty_env("HOME").map(|h| h.join(".config")))
}

/// `$XDG_CONFIG_HOME/rcd`, else `$HOME/.config/rcd`: rcd's configuration
/// file and the device tokens rcctl keeps.
pub fn config_dir() -> Option<PathBuf> {
    config_home().map(|d| d.join("rcd"))
}
