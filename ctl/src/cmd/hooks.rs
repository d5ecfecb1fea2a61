//! `rcctl hooks install|uninstall claude|codex`: puts `rcctl hook` into a
//! coding agent's own settings, or takes it out again. Idempotent (a
//! second install changes nothing), reversible (uninstall removes only
//! rcd's entries and leaves everything else as it was), and it says what
//! it changes; `--dry-run` only says.
//!
//! - Claude Code: `hooks` in `~/.claude/settings.json` (or
//!   `$CLAUDE_CONFIG_DIR/settings.json`): `PermissionRequest`,
//!   `Notification` and `Stop`.
//! - Codex: `notify` in `~/.codex/config.toml` (or `$CODEX_HOME`), which
//!   Codex runs when a turn completes, and its `PermissionRequest` hook
//!   (Codex 0.124+, in Claude Code's format). Codex has one `notify`
//!   program: an existing one that is not rcd's is left alone, with an
//!   error.

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The hook events of Claude Code that rcd takes, with Claude Code's
/// time limit for each, in seconds (a permission request waits for an
/// answer: a little longer than `rcctl hook`'s own default of 600 s).
const CLAUDE_EVENTS: [(&str, u64); 3] = [
    ("PermissionRequest", 630),
    ("Notification", 30),
    ("Stop", 30),
];

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub(crate) action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Add rcd's hooks to the agent's settings.
    Install(Target),
    /// Remove rcd's hooks from the agent's settings.
    Uninstall(Target),
}

#[derive(Debug, clap::Args)]
pub struct Target {
    /// `claude` (Claude Code) or `codex`.
    #[arg(value_enum)]
    pub(crate) agent: super::hook::Agent,
    /// Say what would change, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The settings file to change instead of the agent's default.
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Print what changed as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What one run changed.
#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    /// One line per change; empty when there was nothing to do.
    changes: Vec<String>,
    written: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (install, t) = match args.action {
        Action::Install(t) => (true, t),
        Action::Uninstall(t) => (false, t),
    };
    let file = match &t.file {
        Some(f) => f.clone(),
        None => default_file(t.agent)?,
    };
    let command = hook_command(t.agent)?;
    let before = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    let (after, changes) = match t.agent {
        super::hook::Agent::Claude => claude(before.as_deref(), &command, install),
        super::hook::Agent::Codex => codex(before.as_deref(), &command, install),
    }
    .with_context(|| format!("in {}", file.display()))?;
    let written = !changes.is_empty() && !t.dry_run;
    if written {
        write(&file, &after)?;
    }
    let report = Report {
        file,
        changes,
        written,
    };
    if t.json {
        return super::print_json(&report);
    }
    let verb = if t.dry_run { "would change" } else { "changed" };
    if report.changes.is_empty() {
        println!(
            "{}: nothing to change (rcd's hooks are {})",
            report.file.display(),
            if install { "in place" } else { "not there" }
        );
    } else {
        println!("{} {verb}:", report.file.display());
        for c in &report.changes {
            println!("  {c}");
        }
    }
    Ok(())
}

fn default_file(agent: super::hook::Agent) -> anyhow::Result<PathBuf> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .context("HOME is not set: give the settings file with --file")
    };
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    Ok(match agent {
        super::hook::Agent::Claude => var("CLAUDE_CONFIG_DIR")
            .map_or_else(|| home().map(|h| h.join(".claude")), Ok)?
            .join("settings.json"),
        super::hook::Agent::Codex => var("CODEX_HOME")
            .map_or_else(|| home().map(|h| h.join(".codex")), Ok)?
            .join("config.toml"),
    })
}

/// This rcctl, by its absolute path, with its arguments: the agent runs
/// it with whatever PATH it has.
fn hook_command(agent: super::hook::Agent) -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe().context("finding rcctl's own path")?;
    let exe = exe
        .to_str()
        .context("rcctl's path is not UTF-8")?
        .to_string();
    let agent = match agent {
        super::hook::Agent::Claude => "claude",
        super::hook::Agent::Codex => "codex",
    };
    Ok(vec![exe, "hook".into(), agent.into()])
}

/// A command line for `/bin/sh -c`.
fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a hook command line is rcd's (any rcctl's path).
fn is_rcd_hook(command: &str, agent: &str) -> bool {
    let command = command.trim();
    command.ends_with(&format!(" hook {agent}")) && command.contains("rcctl")
}

/// The new text of Claude Code's settings, and what changed.
fn claude(
    before: Option<&str>,
    command: &[String],
    install: bool,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut settings: Value = match before {
        Some(t) if !t.trim().is_empty() => {
            serde_json::from_str(t).context("this is not JSON; fix it or give another --file")?
        }
        _ => json!({}),
    };
    let Some(root) = settings.as_object_mut() else {
        bail!("the settings are not a JSON object");
    };
    let line = shell_line(command);
    let mut changes = Vec::new();
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let Some(hooks) = hooks.as_object_mut() else {
        bail!("\"hooks\" is not a JSON object");
    };
    for (event, timeout) in CLAUDE_EVENTS {
        let groups = hooks.entry(event).or_insert_with(|| json!([]));
        let Some(groups) = groups.as_array_mut() else {
            bail!("\"hooks\".{event} is not a list");
        };
        // Take out every rcd hook of this event (and groups left empty).
        let mut had = Vec::new();
        for g in groups.iter_mut() {
            if let Some(list) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                list.retain(|h| {
                    let c = h.get("command").and_then(Value::as_str).unwrap_or("");
                    let ours = is_rcd_hook(c, "claude");
                    if ours {
                        had.push(h.clone());
                    }
                    !ours
                });
            }
        }
        groups.retain(|g| {
            g.get("hooks")
                .and_then(Value::as_array)
                .is_none_or(|l| !l.is_empty())
        });
        let ours = json!({"type": "command", "command": line, "timeout": timeout});
        if install {
            let mut group = serde_json::Map::new();
            if event == "PermissionRequest" {
                group.insert("matcher".into(), json!("*"));
            }
            group.insert("hooks".into(), json!([ours]));
            groups.push(Value::Object(group));
            match had.as_slice() {
                [one] if *one == ours => {}
                [] => changes.push(format!("+ {event}: {line}")),
                _ => changes.push(format!("~ {event}: {line}")),
            }
        } else if !had.is_empty() {
            changes.push(format!("- {event}: rcd's hook"));
        }
        if groups.is_empty() {
            hooks.remove(event);
        }
    }
    if hooks.is_empty() {
        root.remove("hooks");
    }
    // An install that changes nothing keeps the file byte for byte.
    let text = if changes.is_empty() {
        before.unwrap_or("").to_string()
    } else {
        format!("{}\n", serde_json::to_string_pretty(&settings)?)
    };
    Ok((text, changes))
}

/// The new text of Codex's config.toml, and what changed: its `notify`
/// program (the end of a turn) and its `PermissionRequest` hook, which
/// follows Claude Code's format.
fn codex(
    before: Option<&str>,
    command: &[String],
    install: bool,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut doc: toml_edit::DocumentMut = before
        .unwrap_or("")
        .parse()
        .context("this is not TOML; fix it or give another --file")?;
    let mut changes = Vec::new();
    codex_notify(&mut doc, command, install, &mut changes)?;
    codex_hook(&mut doc, &shell_line(command), install, &mut changes)?;
    // What changes nothing keeps the file byte for byte.
    let text = if changes.is_empty() {
        before.unwrap_or("").to_string()
    } else {
        doc.to_string()
    };
    Ok((text, changes))
}

/// Codex has one `notify` program: one that is not rcd's is left alone.
fn codex_notify(
    doc: &mut toml_edit::DocumentMut,
    command: &[String],
    install: bool,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let current: Option<Vec<String>> = match doc.get("notify") {
        None => None,
        Some(item) => Some(
            item.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .context("notify is not a list of strings")?,
        ),
    };
    let ours = current
        .as_ref()
        .is_some_and(|c| is_rcd_hook(&shell_line(c), "codex"));
    if install {
        if current.as_deref() == Some(command) {
            return Ok(());
        }
        if let (Some(c), false) = (&current, ours) {
            bail!(
                "notify is already set to {} and Codex runs only one notify program: remove \
                 it first (rcd's hook is `{}`)",
                shell_line(c),
                shell_line(command)
            );
        }
        let mut array = toml_edit::Array::new();
        for a in command {
            array.push(a.as_str());
        }
        doc.insert("notify", toml_edit::value(array));
        changes.push(format!(
            "{} notify = {}",
            if ours { "~" } else { "+" },
            shell_line(command)
        ));
    } else if ours {
        doc.remove("notify");
        changes.push("- notify: rcd's hook".into());
    }
    Ok(())
}

/// `[[hooks.PermissionRequest]]`: rcd's entry in, or out; others stay.
fn codex_hook(
    doc: &mut toml_edit::DocumentMut,
    line: &str,
    install: bool,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    const EVENT: &str = "PermissionRequest";
    let timeout = CLAUDE_EVENTS[0].1 as i64;
    let is_ours = |t: &toml_edit::Table| {
        t.get("command")
            .and_then(|c| c.as_str())
            .is_some_and(|c| is_rcd_hook(c, "codex"))
    };
    let same = |t: &toml_edit::Table| {
        t.get("command").and_then(|c| c.as_str()) == Some(line)
            && t.get("timeout").and_then(|v| v.as_integer()) == Some(timeout)
    };
    if doc.get("hooks").is_none() {
        if !install {
            return Ok(());
        }
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        doc.insert("hooks", toml_edit::Item::Table(t));
    }
    let hooks = doc["hooks"]
        .as_table_mut()
        .context("hooks is not a table")?;
    let mut had = Vec::new();
    if let Some(item) = hooks.get_mut(EVENT) {
        let groups = item
            .as_array_of_tables_mut()
            .with_context(|| format!("hooks.{EVENT} is not a list of tables"))?;
        for g in groups.iter_mut() {
            if let Some(list) = g.get_mut("hooks").and_then(|h| h.as_array_of_tables_mut()) {
                for h in list.iter().filter(|h| is_ours(h)) {
                    had.push(same(h));
                }
                list.retain(|h| !is_ours(h));
            }
        }
        groups.retain(|g| {
            g.get("hooks")
                .and_then(|h| h.as_array_of_tables())
                .is_none_or(|l| !l.is_empty())
        });
    }
    if install {
        let mut hook = toml_edit::Table::new();
        hook.insert("type", toml_edit::value("command"));
        hook.insert("command", toml_edit::value(line));
        hook.insert("timeout", toml_edit::value(timeout));
        let mut list = toml_edit::ArrayOfTables::new();
        list.push(hook);
        let mut group = toml_edit::Table::new();
        group.insert("matcher", toml_edit::value("*"));
        group.insert("hooks", toml_edit::Item::ArrayOfTables(list));
        let groups = hooks
            .entry(EVENT)
            .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .with_context(|| format!("hooks.{EVENT} is not a list of tables"))?;
        groups.push(group);
        match had.as_slice() {
            [true] => {}
            [] => changes.push(format!("+ hooks.{EVENT}: {line}")),
            _ => changes.push(format!("~ hooks.{EVENT}: {line}")),
        }
    } else if !had.is_empty() {
        changes.push(format!("- hooks.{EVENT}: rcd's hook"));
    }
    if hooks
        .get(EVENT)
        .and_then(|i| i.as_array_of_tables())
        .is_some_and(|a| a.is_empty())
    {
        hooks.remove(EVENT);
    }
    if hooks.is_empty() {
        doc.remove("hooks");
    }
    Ok(())
}

/// Replaces `file` with `text`, keeping its permissions (0600 for a new
/// one, in a 0700 directory).
fn write(file: &Path, text: &str) -> anyhow::Result<()> {
    let mode = std::fs::metadata(file).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    crate::files::replace(file, text, mode).with_context(|| format!("writing {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(agent: &str) -> Vec<String> {
        vec!["/opt/rc d/rcctl".into(), "hook".into(), agent.into()]
    }

    #[test]
    fn claude_install_is_idempotent_and_uninstall_gives_back_the_rest() {
        let before = r#"{
  "model": "opus",
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]
  }
}"#;
        let (after, changes) = claude(Some(before), &cmd("claude"), true).unwrap();
        assert_eq!(changes.len(), 3, "{changes:?}");
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["model"], "opus");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["model", "hooks"], "the order of the file is kept");
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
        assert_eq!(
            v["hooks"]["PermissionRequest"][0]["hooks"][0]["command"],
            "'/opt/rc d/rcctl' hook claude"
        );
        assert_eq!(v["hooks"]["PermissionRequest"][0]["matcher"], "*");

        let (again, changes) = claude(Some(&after), &cmd("claude"), true).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(again, after, "a second install changes nothing");

        let moved = vec!["/usr/bin/rcctl".to_string(), "hook".into(), "claude".into()];
        let (_, changes) = claude(Some(&after), &moved, true).unwrap();
        assert!(changes.iter().all(|c| c.starts_with('~')), "{changes:?}");

        let (removed, changes) = claude(Some(&after), &cmd("claude"), false).unwrap();
        assert_eq!(changes.len(), 3, "{changes:?}");
        let v: Value = serde_json::from_str(&removed).unwrap();
        let b: Value = serde_json::from_str(before).unwrap();
        assert_eq!(v, b, "uninstall gives back what was there");
        let (_, changes) = claude(Some(&removed), &cmd("claude"), false).unwrap();
        assert!(changes.is_empty());
    }

    #[test]
    fn claude_settings_that_are_not_an_object_are_refused() {
        assert!(claude(Some("[1]"), &cmd("claude"), true).is_err());
        assert!(claude(Some(r#"{"hooks": 3}"#), &cmd("claude"), true).is_err());
        let (text, _) = claude(None, &cmd("claude"), true).unwrap();
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn codex_notify_and_hook_are_set_once_kept_with_comments_and_never_taken_from_another() {
        let before = "# my settings\nmodel = \"o4\" # the model\n\n[tui]\nnotifications = true\n";
        let (after, changes) = codex(Some(before), &cmd("codex"), true).unwrap();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            after.contains("# my settings") && after.contains("# the model"),
            "{after}"
        );
        let doc: toml_edit::DocumentMut = after.parse().unwrap();
        assert_eq!(
            doc["notify"].as_array().unwrap().get(0).unwrap().as_str(),
            Some("/opt/rc d/rcctl")
        );
        let hook = &doc["hooks"]["PermissionRequest"][0]["hooks"][0];
        assert_eq!(
            hook["command"].as_str(),
            Some("'/opt/rc d/rcctl' hook codex")
        );
        assert_eq!(hook["timeout"].as_integer(), Some(630));
        let (again, changes) = codex(Some(&after), &cmd("codex"), true).unwrap();
        assert!(changes.is_empty() && again == after, "{changes:?}");
        let (removed, changes) = codex(Some(&after), &cmd("codex"), false).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(
            !removed.contains("notify =") && !removed.contains("hooks"),
            "{removed}"
        );
        assert!(removed.contains("notifications = true"), "{removed}");

        // Someone else's hook of the same event stays.
        let mixed = "[[hooks.PermissionRequest]]\nmatcher = \"Bash\"\n\
                     [[hooks.PermissionRequest.hooks]]\ntype = \"command\"\ncommand = \"audit\"\n";
        let (with, _) = codex(Some(mixed), &cmd("codex"), true).unwrap();
        assert!(with.contains("rcctl"), "{with}");
        let (without, _) = codex(Some(&with), &cmd("codex"), false).unwrap();
        assert!(without.contains("command = \"audit\""), "{without}");
        assert!(!without.contains("rcctl"), "{without}");

        let theirs = "notify = [\"notify-send\", \"codex\"]\n";
        let e = codex(Some(theirs), &cmd("codex"), true).unwrap_err();
        assert!(format!("{e}").contains("notify-send"), "{e}");
        let (kept, changes) = codex(Some(theirs), &cmd("codex"), false).unwrap();
        assert!(changes.is_empty() && kept == theirs);
    }
}
