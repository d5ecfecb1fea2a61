//! `rcctl hook claude|codex`: the command a coding agent runs as its hook
//! inside an rcd session (set up by `rcctl hooks install`). It tells rcd,
//! through the session's hook directory (`rcd_proto::hook`), that the
//! session needs a person; for a Claude Code permission request it waits
//! for the answer given from anywhere and prints it as Claude Code's hook
//! decision.
//!
//! It never stands in the agent's way: outside an rcd session it does
//! nothing, and whatever fails, it exits 0 without a decision, so the
//! agent's own prompt stands.

use rcd_proto::control::{AttentionKind, Decision};
use rcd_proto::hook::{ANSWER_SUFFIX, Answer, DIR_ENV, EVENT_SUFFIX, Event, MAX_FILE, RING};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the answer is looked for.
const POLL: Duration = Duration::from_millis(100);
/// Largest hook input read from stdin.
const MAX_INPUT: u64 = 1024 * 1024;
/// Longest message passed on.
const MAX_MESSAGE: usize = 200;
/// What a denial tells the agent when the person said nothing more.
const DENIED: &str = "The user denied this from rcd.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent that runs the hook.
    #[arg(value_enum)]
    pub(crate) agent: Agent,
    /// How long a permission request waits for an answer, in seconds;
    /// then the hook gives up without a decision.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub(crate) timeout: u64,
    /// Codex's notify program gets its event as JSON in this argument;
    /// hooks (Claude Code's, Codex's) write theirs to stdin.
    #[arg(value_name = "JSON")]
    pub(crate) payload: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    Claude,
    Codex,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os(DIR_ENV)
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
    else {
        // Not in an rcd session (hooks are set up for every run of the
        // agent): nothing to tell.
        return Ok(());
    };
    if let Err(e) = hook(&args, &dir) {
        eprintln!("rcctl hook: {e:#}");
    }
    Ok(())
}

fn hook(args: &Args, dir: &Path) -> anyhow::Result<()> {
    // Codex's notify program gets its event as an argument; hooks (Claude
    // Code's, and Codex's, which follow them) on stdin.
    let input: Value = match &args.payload {
        Some(p) => serde_json::from_str(p)?,
        None => {
            let mut text = Vec::new();
            std::io::stdin().take(MAX_INPUT).read_to_end(&mut text)?;
            serde_json::from_slice(&text)?
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    match (args.agent, &args.payload) {
        (Agent::Codex, Some(_)) => codex_notify(&input, dir),
        (Agent::Claude, _) => hook_event("claude", "Claude", &input, dir, timeout),
        (Agent::Codex, None) => hook_event("codex", "Codex", &input, dir, timeout),
    }
}

/// A hook event on stdin, in Claude Code's format (which Codex's hooks
/// follow): `PermissionRequest`, `Notification` and `Stop`.
fn hook_event(
    agent: &str,
    shown: &str,
    input: &Value,
    dir: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let text = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or("");
    match text("hook_event_name") {
        "PermissionRequest" => {
            let tool = text("tool_name").to_string();
            let tool_input = input.get("tool_input").cloned().unwrap_or(Value::Null);
            let event = Event::Permission {
                agent: agent.into(),
                detail: detail(&tool, &tool_input),
                tool,
                input: tool_input,
            };
            let Some(answer) = ask(dir, &event, timeout)? else {
                return Ok(());
            };
            let Some(decision) = answer.decision else {
                return Ok(());
            };
            let decision = match decision {
                Decision::Allow => json!({"behavior": "allow"}),
                Decision::Deny => json!({
                    "behavior": "deny",
                    "message": answer.message.as_deref().unwrap_or(DENIED),
                }),
            };
            let out = json!({"hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": decision,
            }});
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{out}")?;
            stdout.flush()?;
            Ok(())
        }
        "Notification" => {
            let kind = match text("notification_type") {
                "permission_prompt" => AttentionKind::Permission,
                "idle_prompt" | "elicitation_dialog" => AttentionKind::Question,
                _ => AttentionKind::Notification,
            };
            tell(dir, agent, kind, text("message"))
        }
        "Stop" => {
            let said = first_line(text("last_assistant_message"));
            let message = if said.is_empty() {
                format!("{shown} finished")
            } else {
                said
            };
            tell(dir, agent, AttentionKind::Finished, &message)
        }
        _ => Ok(()),
    }
}

/// Codex's `notify` program: `agent-turn-complete`.
fn codex_notify(input: &Value, dir: &Path) -> anyhow::Result<()> {
    if input.get("type").and_then(Value::as_str) != Some("agent-turn-complete") {
        return Ok(());
    }
    let said = first_line(
        input
            .get("last-assistant-message")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    let message = if said.is_empty() {
        "Codex finished".to_string()
    } else {
        said
    };
    tell(dir, "codex", AttentionKind::Finished, &message)
}

/// What a tool would do, in a person's words: the command line, the
/// file, the address.
fn detail(tool: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let found = match tool {
        "Bash" => field("command"),
        "Edit" | "MultiEdit" | "Write" | "Read" => field("file_path"),
        "NotebookEdit" => field("notebook_path"),
        "WebFetch" => field("url"),
        "WebSearch" => field("query"),
        "Glob" | "Grep" => field("pattern"),
        _ => None,
    };
    match found {
        Some(s) => s.to_string(),
        None if input.is_null() => String::new(),
        None => input.to_string(),
    }
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(MAX_MESSAGE).collect();
    if line.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out
}

/// A notice: written, rung, done.
fn tell(dir: &Path, agent: &str, kind: AttentionKind, message: &str) -> anyhow::Result<()> {
    let event = Event::Notice {
        agent: agent.into(),
        kind,
        message: first_line(message),
    };
    put(dir, &new_id(), &event)?;
    ring(dir);
    Ok(())
}

/// A request: written, rung, then its answer awaited. `None` when there
/// is none in time, when the agent is gone, or when rcd dropped it.
fn ask(dir: &Path, event: &Event, timeout: Duration) -> anyhow::Result<Option<Answer>> {
    let id = new_id();
    put(dir, &id, event)?;
    ring(dir);
    let event_file = dir.join(format!("{id}{EVENT_SUFFIX}"));
    let answer_file = dir.join(format!("{id}{ANSWER_SUFFIX}"));
    let parent = nix::unistd::getppid();
    let until = Instant::now() + timeout;
    loop {
        if let Some(a) = read_answer(&answer_file) {
            let _ = std::fs::remove_file(&answer_file);
            return Ok(Some(a));
        }
        // Gone without an answer: rcd dropped it (the session ended).
        if !event_file.exists() {
            return Ok(None);
        }
        if Instant::now() >= until || nix::unistd::getppid() != parent {
            // Withdrawn: rcd stops showing it.
            let _ = std::fs::remove_file(&event_file);
            ring(dir);
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

fn read_answer(path: &Path) -> Option<Answer> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .ok()?;
    let mut text = Vec::new();
    f.take(MAX_FILE).read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes an event under a temporary name, then renames it into place.
fn put(dir: &Path, id: &str, event: &Event) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{id}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec(event)?)?;
    drop(f);
    std::fs::rename(&tmp, dir.join(format!("{id}{EVENT_SUFFIX}")))?;
    Ok(())
}

/// Tells rcd to look; without an rcd reading the FIFO, the next one
/// looks when it adopts the session.
fn ring(dir: &Path) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(dir.join(RING))
    {
        let _ = f.write_all(b"\n");
    }
}

fn new_id() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_is_what_a_person_needs_to_decide() {
        assert_eq!(
            detail(
                "Bash",
                &json!({"command": "cargo test", "description": "x"})
            ),
            "cargo test"
        );
        assert_eq!(
            detail("Edit", &json!({"file_path": "/w/src/main.rs"})),
            "/w/src/main.rs"
        );
        assert_eq!(detail("Mystery", &json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(detail("Mystery", &Value::Null), "");
    }

    #[test]
    fn a_message_is_its_first_line_cut_short() {
        assert_eq!(
            first_line("\n  Done: 3 files changed\nmore"),
            "Done: 3 files changed"
        );
        let long = "x".repeat(MAX_MESSAGE + 5);
        assert_eq!(first_line(&long).chars().count(), MAX_MESSAGE + 1);
    }
}
