//! The configuration file of `rc-relay`: `--config FILE` (or
//! `RC_RELAY_CONFIG`), else `$XDG_CONFIG_HOME/rc-relay/config.toml`
//! (`~/.config/rc-relay/config.toml`) if it exists.
//!
//! Its keys are the long options of the command line with `_` or `-`:
//! the global ones (`redis`, `data_dir`, `verbose`) and those of `serve`
//! (`listen`, `tls_cert`, `credential_ttl`, …; `acme` takes a list).
//! Each value becomes that option's default, so the command line and the
//! environment (`RC_RELAY_REDIS`, …) still win over the file. An unknown
//! key or a value of the wrong kind is an error that names the key.

use crate::cli::Cli;
use anyhow::{Context, Result, bail};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// The default place of the file.
pub fn default_path() -> Option<PathBuf> {
    rcd_proto::paths::config_home().map(|d| d.join("rc-relay").join("config.toml"))
}

/// The file named by `--config` (or `RC_RELAY_CONFIG`), which must exist,
/// or the default one if it exists.
fn chosen(args: &[OsString]) -> Result<Option<PathBuf>> {
    let mut named = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--config" {
            named = it.next().map(PathBuf::from);
        } else if let Some(v) = a.strip_prefix("--config=") {
            named = Some(PathBuf::from(v));
        }
    }
    let named = named.or_else(|| {
        std::env::var_os("RC_RELAY_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match named {
        Some(p) if !p.is_file() => bail!(
            "--config {}: no such file (create it, or leave --config out to use {})",
            p.display(),
            default_path().map_or("none".into(), |d| d.display().to_string())
        ),
        Some(p) => Ok(Some(p)),
        None => Ok(default_path().filter(|p| p.is_file())),
    }
}

/// A TOML value as the command line would spell it.
fn spelled(key: &str, v: &toml::Value) -> Result<Vec<String>> {
    Ok(match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match spelled(key, item)?.as_slice() {
                    [one] if !item.is_array() => out.push(one.clone()),
                    _ => bail!("{key}: a list of plain values is expected"),
                }
            }
            out
        }
        _ => bail!("{key}: a string, number, boolean or list is expected"),
    })
}

/// The command line's definition with the file's values as defaults.
fn with_defaults(mut cmd: clap::Command, text: &str) -> Result<clap::Command> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let values = spelled(key, value)?;
        let find = |c: &clap::Command| {
            c.get_arguments()
                .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
                .map(|a| a.get_id().to_string())
        };
        let set = |a: clap::Arg| a.default_values(values.clone()).required(false);
        if let Some(id) = find(&cmd) {
            cmd = cmd.mut_arg(id, set);
        } else if let Some(id) = cmd.find_subcommand("serve").and_then(find) {
            cmd = cmd.mut_subcommand("serve", |s| s.mut_arg(id, set));
        } else {
            bail!(
                "unknown key {key:?} (the keys are the long options of rc-relay and of \
                 `rc-relay serve`, e.g. redis, data_dir, listen, tls_cert)"
            );
        }
    }
    Ok(cmd)
}

/// Parses `args` (the program's name first) with the config file's values
/// as defaults. Errors of the command line itself are clap's, to print
/// and exit with; those of the file name it.
pub fn parse_from(args: Vec<OsString>) -> Result<Result<Cli, clap::Error>> {
    let cmd = Cli::command();
    let cmd = match chosen(&args)? {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            with_defaults(cmd, &text).with_context(|| format!("config file {}", path.display()))?
        }
        None => cmd,
    };
    Ok(cmd
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn parse(text: &str, args: &[&str]) -> Result<Cli> {
        let cmd = with_defaults(Cli::command(), text)?;
        let m = cmd.try_get_matches_from(args)?;
        Ok(Cli::from_arg_matches(&m)?)
    }

    #[test]
    fn the_file_fills_what_the_command_line_leaves_out() {
        let text = r#"
redis = "redis://127.0.0.1:6379/2"
listen = "127.0.0.1:8801"
heartbeat-interval = 5
acme = ["a.example", "b.example"]
acme_email = "ops@example.com"
verbose = true
"#;
        let cli = parse(text, &["rc-relay", "serve"]).expect("parsed");
        assert_eq!(cli.redis.as_deref(), Some("redis://127.0.0.1:6379/2"));
        assert!(cli.verbose);
        let Command::Serve(s) = cli.command else {
            panic!("serve");
        };
        assert_eq!(s.listen.to_string(), "127.0.0.1:8801");
        assert_eq!(s.heartbeat_interval.as_secs(), 5);
        assert_eq!(s.acme, ["a.example", "b.example"]);
        // The command line wins.
        let cli = parse(text, &["rc-relay", "serve", "--listen", "127.0.0.1:9"]).expect("parsed");
        let Command::Serve(s) = cli.command else {
            panic!("serve");
        };
        assert_eq!(s.listen.to_string(), "127.0.0.1:9");
        // Other commands take the global keys only.
        let cli = parse(text, &["rc-relay", "token", "list"]).expect("parsed");
        assert_eq!(cli.redis.as_deref(), Some("redis://127.0.0.1:6379/2"));
    }

    #[test]
    fn an_unknown_key_or_a_bad_value_is_named() {
        let e = parse("lissten = \"x\"", &["rc-relay", "serve"]).unwrap_err();
        assert!(e.to_string().contains("\"lissten\""), "{e}");
        let e = parse("config = \"x\"", &["rc-relay", "serve"]).unwrap_err();
        assert!(e.to_string().contains("unknown key"), "{e}");
        let e = parse("listen = { a = 1 }", &["rc-relay", "serve"]).unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
        let e = parse("listen = \"nowhere\"", &["rc-relay", "serve"]).unwrap_err();
        assert!(e.to_string().contains("nowhere"), "{e}");
        assert!(parse("listen = [", &["rc-relay", "serve"]).is_err());
    }
}
