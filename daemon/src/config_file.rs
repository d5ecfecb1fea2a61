//! The configuration file: `$XDG_CONFIG_HOME/rcd/config.toml` (or
//! `--config FILE`). It holds every setting of the command line.
//!
//! Precedence: command line, then `RCD_*` environment, then this file,
//! then defaults. clap already resolves the first two and the defaults;
//! a value from the file replaces a value only where clap says it came
//! from a default or from nowhere. Unknown keys and bad values are errors
//! that name the key; docs/CONFIG.md lists every key.

use crate::config::Cli;
use anyhow::{Context, Result, bail};
use clap::parser::ValueSource;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every key of config.toml. Field names are the long flags with `_`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub dir: Option<PathBuf>,
    pub name: Option<String>,
    pub spawn: Option<String>,
    pub capacity: Option<u32>,
    pub command: Option<String>,
    pub socket: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub stop_grace: Option<f64>,
    pub no_relay: Option<bool>,
    pub relay: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub listen: Option<String>,
    pub outage_timeout: Option<String>,
    pub verbose: Option<bool>,
    pub sandbox: Option<SandboxConfig>,
    pub notify: Option<NotifyConfig>,
    /// `"256MiB"`, or bytes (`--transcript-max`).
    pub transcript_max: Option<SizeValue>,
    /// `--transcript-days`.
    pub transcript_days: Option<u32>,
    /// `[programs]`: NAME = "command line" (`""`: the login shell), and
    /// `default = "NAME"` (`--program`, `--default-program`).
    pub programs: Option<BTreeMap<String, String>>,
}

/// A size: `"256MiB"` or a number of bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Bytes(u64),
    Text(String),
}

/// The `[notify]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where notifications are posted (`--notify-url`).
    pub url: Option<String>,
    /// `"json"` or `"ntfy"` (`--notify-format`).
    pub format: Option<String>,
}

/// The `[sandbox]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Confine every session (`--sandbox`).
    pub enabled: Option<bool>,
    /// More paths sessions may write to (`--sandbox-writable`).
    pub writable: Option<Vec<PathBuf>>,
    /// `"allow"`, `"off"`, or a list of TCP ports (`--sandbox-network`).
    pub network: Option<NetworkValue>,
}

/// `network = "off"` or `network = [443, 22]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NetworkValue {
    Word(String),
    Ports(Vec<u16>),
}

/// The default place of the file.
pub fn default_path() -> Option<PathBuf> {
    rcd_proto::paths::config_dir().map(|d| d.join("config.toml"))
}

/// Reads and checks a config file.
pub fn read(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    parse(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parses config text.
pub fn parse(text: &str) -> Result<FileConfig> {
    toml::from_str(text).map_err(|e| {
        // toml's message names the key and the line; keep it on one line.
        let msg = e.message().trim().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                anyhow::anyhow!("line {line}: {msg}")
            }
            None => anyhow::anyhow!("{msg}"),
        }
    })
}

/// Whether clap took `id` from the command line or the environment.
fn given(matches: &clap::ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Loads the file named by `--config` (which must exist) or the default
/// one (if it exists) and fills in what the command line and environment
/// left at defaults. Returns the file used, if any.
pub fn apply(cli: &mut Cli, matches: &clap::ArgMatches) -> Result<Option<PathBuf>> {
    let path = match &cli.config {
        Some(p) => {
            if !p.exists() {
                bail!(
                    "--config {}: no such file (create it, or drop --config to use {})",
                    p.display(),
                    default_path().map_or("the default".into(), |d| d.display().to_string())
                );
            }
            p.clone()
        }
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(None),
        },
    };
    let file = read(&path)?;
    let bad = |key: &str, e: String| anyhow::anyhow!("config file {}: {key}: {e}", path.display());
    macro_rules! take {
        ($field:ident) => {
            if !given(matches, stringify!($field))
                && let Some(v) = file.$field.clone()
            {
                cli.$field = v.into();
            }
        };
    }
    take!(dir);
    take!(name);
    take!(command);
    take!(socket);
    take!(state_dir);
    take!(relay);
    take!(token_file);
    take!(ca_cert);
    take!(capacity);
    take!(stop_grace);
    take!(no_relay);
    take!(verbose);
    take!(transcript_days);
    if !given(matches, "transcript_max")
        && let Some(v) = &file.transcript_max
    {
        cli.transcript_max = match v {
            SizeValue::Bytes(n) => *n,
            SizeValue::Text(t) => {
                crate::transcripts::parse_size(t).map_err(|e| bad("transcript_max", e))?
            }
        };
    }
    if !given(matches, "spawn")
        && let Some(v) = &file.spawn
    {
        cli.spawn = v.parse().map_err(|e: String| bad("spawn", e))?;
    }
    if !given(matches, "listen")
        && let Some(v) = &file.listen
    {
        cli.listen = v
            .parse()
            .map_err(|e: std::net::AddrParseError| bad("listen", format!("{v:?}: {e}")))?;
    }
    if !given(matches, "outage_timeout")
        && let Some(v) = &file.outage_timeout
    {
        cli.outage_timeout = humantime::parse_duration(v)
            .map_err(|e| bad("outage_timeout", format!("{v:?}: {e}")))?;
    }
    if let Some(table) = &file.programs {
        let default = table.get(crate::config::DEFAULT_KEY);
        if !given(matches, "program") {
            cli.program = table
                .iter()
                .filter(|(k, _)| k.as_str() != crate::config::DEFAULT_KEY)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            for k in table.keys() {
                rcd_proto::name::check_program(k).map_err(|e| bad("programs", e))?;
            }
        }
        if !given(matches, "default_program")
            && let Some(d) = default
        {
            cli.default_program = Some(d.clone());
        }
    }
    if let Some(n) = &file.notify {
        if !given(matches, "notify_url")
            && let Some(url) = &n.url
        {
            cli.notify_url = Some(url.clone());
        }
        if !given(matches, "notify_format")
            && let Some(f) = &n.format
        {
            cli.notify_format =
                crate::config::parse_notify_format(f).map_err(|e| bad("notify.format", e))?;
        }
    }
    if let Some(sb) = &file.sandbox {
        if !given(matches, "sandbox")
            && !given(matches, "no_sandbox")
            && let Some(on) = sb.enabled
        {
            cli.sandbox = on;
        }
        if !given(matches, "sandbox_writable")
            && let Some(w) = &sb.writable
        {
            cli.sandbox_writable = w.clone();
        }
        if !given(matches, "sandbox_network")
            && let Some(n) = &sb.network
        {
            let text = match n {
                NetworkValue::Word(w) => w.clone(),
                NetworkValue::Ports(p) => {
                    p.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
                }
            };
            cli.sandbox_network = text
                .parse()
                .map_err(|e: String| bad("sandbox.network", format!("{text:?}: {e}")))?;
        }
    }
    if !(1..=crate::config::MAX_CAPACITY).contains(&cli.capacity) {
        return Err(bad(
            "capacity",
            format!(
                "{} is out of range 1..={}",
                cli.capacity,
                crate::config::MAX_CAPACITY
            ),
        ));
    }
    if cli.no_relay
        && cli.relay.is_some()
        && !given(matches, "relay")
        && !given(matches, "no_relay")
    {
        return Err(bad(
            "no_relay",
            "set together with relay: choose one".into(),
        ));
    }
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = parse("capacity = 3\nfrobnicate = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("frobnicate"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = parse("capacity = \"many\"\n").unwrap_err().to_string();
        assert!(e.contains("capacity") || e.contains("line 1"), "{e}");
        let ok = parse("capacity = 3\nspawn = \"worktree\"\n").unwrap();
        assert_eq!(ok.capacity, Some(3));
        let sb = parse("[sandbox]\nenabled = true\nwritable = [\"/tmp/x\"]\nnetwork = [443]\n")
            .unwrap()
            .sandbox
            .unwrap();
        assert_eq!(sb.enabled, Some(true));
        assert!(matches!(sb.network, Some(NetworkValue::Ports(ref p)) if p == &[443]));
        let t = parse("transcript_max = \"64MiB\"\ntranscript_days = 0\n").unwrap();
        assert!(matches!(t.transcript_max, Some(SizeValue::Text(ref s)) if s == "64MiB"));
        assert_eq!(t.transcript_days, Some(0));
        let t = parse("transcript_max = 0\n").unwrap();
        assert!(matches!(t.transcript_max, Some(SizeValue::Bytes(0))));
        let p = parse("[programs]\ndefault = \"claude\"\nclaude = \"claude\"\nshell = \"\"\n")
            .unwrap()
            .programs
            .unwrap();
        assert_eq!(p.get("default").map(String::as_str), Some("claude"));
        assert_eq!(p.get("shell").map(String::as_str), Some(""));
        let e = parse("[programs]\nclaude = [\"claude\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = parse("[sandbox]\nwriteable = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("writeable"), "{e}");
    }
}
