//! Coding-agent hooks: `rcctl hook claude`, fed Claude Code's documented
//! hook input from inside a real session (plain and sandboxed), tells rcd
//! that the session needs a person; a permission request waits for an
//! answer given through the relay, locally, or in the terminal, and gives
//! up without a decision after its time limit.

use rcd_tests::{Daemon, Options, bin, remote, stdout_of, wait_for};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A daemon with its embedded relay and a paired device token.
struct World {
    d: Daemon,
    url: String,
    token: String,
}

fn world(extra: &[&str]) -> World {
    let mut args = vec!["--listen", "127.0.0.1:0", "--name", "home"];
    args.extend_from_slice(extra);
    let d = Daemon::start(Options::with_args(false, &args));
    let (url, token) = rcd_tests::pair_with_embedded(&d);
    World { d, url, token }
}

impl World {
    fn remote(&self, args: &[&str]) -> std::process::Output {
        remote(&self.url, &self.token, None, args)
    }

    /// The session's attention as the relay lists it.
    fn attention(&self, name: &str) -> Value {
        let list: Value =
            serde_json::from_str(&stdout_of(&self.remote(&["list", "--json"]), "list --json"))
                .expect("list --json");
        list.as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .map(|s| s["attention"].clone())
            // Not listed yet: the first heartbeat is on its way.
            .unwrap_or(Value::Null)
    }

    fn wait_attention(&self, name: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        wait_for(what, Duration::from_secs(15), || {
            last = self.attention(name);
            f(&last)
        });
        last
    }
}

/// Claude Code's `PermissionRequest` hook input for a Bash command.
fn permission_input(command: &str) -> String {
    json!({
        "session_id": "5e0c1b2a",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/w",
        "permission_mode": "manual",
        "hook_event_name": "PermissionRequest",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "Run the tests"},
        "permission_suggestions": [],
    })
    .to_string()
}

/// Runs `rcctl hook claude ARGS < input > out` in the session, then
/// prints `tag`: the hook's stdout is read from `out` once `tag` shows.
fn start_hook(d: &Daemon, name: &str, dir: &Path, input: &str, args: &str, tag: &str) {
    // Lower case in the command line: only the echo shows `tag`.
    let file = format!("in-{}.json", tag.to_lowercase());
    std::fs::write(dir.join(&file), input).expect("hook input");
    let rcctl = bin("rcctl");
    let tag_typed = format!("{}'{}'", &tag[..1], &tag[1..]);
    d.ok(&[
        "send",
        name,
        &format!(
            "{} hook claude {args} < {file} > out-{}.json; echo {tag_typed}",
            rcctl.display(),
            tag.to_lowercase()
        ),
    ]);
}

fn hook_output(d: &Daemon, name: &str, dir: &Path, tag: &str) -> String {
    d.wait_screen(name, tag);
    std::fs::read_to_string(dir.join(format!("out-{}.json", tag.to_lowercase())))
        .expect("hook output")
}

#[test]
fn a_permission_request_is_answered_through_the_relay_locally_or_in_the_terminal() {
    let w = world(&[]);
    let d = &w.d;
    d.ok(&["new", "--name", "agent"]);

    // Allowed from the device, through the relay.
    start_hook(
        d,
        "agent",
        &d.work,
        &permission_input("cargo test"),
        "",
        "ALLOWED",
    );
    let a = w.wait_attention("agent", "the request to reach the relay", |a| {
        a["kind"] == "permission"
    });
    assert_eq!(a["message"], "Bash: cargo test", "{a}");
    let req = &a["request"];
    assert_eq!(req["agent"], "claude");
    assert_eq!(req["tool"], "Bash");
    assert_eq!(req["detail"], "cargo test");
    assert_eq!(req["input"]["description"], "Run the tests");
    let id = req["id"].as_str().expect("id").to_string();
    stdout_of(&w.remote(&["answer", "agent", "allow"]), "answer allow");
    let out: Value =
        serde_json::from_str(&hook_output(d, "agent", &d.work, "ALLOWED")).expect("JSON");
    assert_eq!(
        out,
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"}}})
    );
    w.wait_attention("agent", "answering to clear it", Value::is_null);
    // The first answer won: the same request again is refused.
    let again = w.remote(&["answer", "agent", "deny", "--id", &id]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("waits no more"), "{err}");

    // Denied locally, with what to do instead.
    start_hook(
        d,
        "agent",
        &d.work,
        &permission_input("rm -r /"),
        "",
        "DENIED",
    );
    w.wait_attention("agent", "the second request", |a| a["kind"] == "permission");
    d.ok(&["answer", "agent", "deny", "--message", "not that"]);
    let out: Value =
        serde_json::from_str(&hook_output(d, "agent", &d.work, "DENIED")).expect("JSON");
    assert_eq!(
        out["hookSpecificOutput"]["decision"],
        json!({"behavior": "deny", "message": "not that"})
    );

    // Answered in the terminal: someone types; the hook gives up with no
    // decision, and nothing waits any more.
    start_hook(d, "agent", &d.work, &permission_input("ls"), "", "TYPED");
    w.wait_attention("agent", "the third request", |a| {
        a["request"]["detail"] == "ls"
    });
    d.ok(&["send", "agent", ""]);
    assert_eq!(hook_output(d, "agent", &d.work, "TYPED"), "");
    let err = d.fails(&["answer", "agent", "allow"]);
    assert!(err.contains("no permission request waits"), "{err}");

    // Nobody answers: after its time limit the hook gives up with no
    // decision, and the request is withdrawn.
    start_hook(
        d,
        "agent",
        &d.work,
        &permission_input("ls"),
        "--timeout 2",
        "TIMEOUT",
    );
    w.wait_attention("agent", "the fourth request", |a| a["kind"] == "permission");
    assert_eq!(hook_output(d, "agent", &d.work, "TIMEOUT"), "");
    w.wait_attention("agent", "the request to be withdrawn", Value::is_null);
}

#[test]
fn notifications_and_the_end_of_a_turn_set_attention_and_the_hook_is_silent_outside_rcd() {
    let w = world(&[]);
    let d = &w.d;
    d.ok(&["new", "--name", "agent"]);
    let notice = json!({
        "session_id": "5e0c1b2a", "cwd": "/w", "hook_event_name": "Notification",
        "message": "Claude is waiting for your input", "notification_type": "idle_prompt",
    });
    start_hook(d, "agent", &d.work, &notice.to_string(), "", "NOTIFIED");
    assert_eq!(hook_output(d, "agent", &d.work, "NOTIFIED"), "");
    let a = w.wait_attention("agent", "the notice", |a| a["kind"] == "question");
    assert_eq!(a["message"], "Claude is waiting for your input");

    d.ok(&["send", "agent", "true"]);
    w.wait_attention("agent", "typing to clear it", Value::is_null);
    let stop =
        json!({"session_id": "5e0c1b2a", "hook_event_name": "Stop", "stop_hook_active": false});
    start_hook(d, "agent", &d.work, &stop.to_string(), "", "STOPPED");
    let a = w.wait_attention("agent", "the end of the turn", |a| a["kind"] == "finished");
    assert_eq!(a["message"], "Claude finished");

    // Outside an rcd session (hooks are set up for every run of Claude
    // Code) the hook does nothing, at once.
    let out = std::process::Command::new(bin("rcctl"))
        .args(["hook", "claude"])
        .env_remove(rcd_proto::hook::DIR_ENV)
        .stdin(std::fs::File::open(d.work.join("in-stopped.json")).expect("input"))
        .output()
        .expect("rcctl hook");
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn a_sandboxed_session_asks_and_gets_its_answer() {
    let w = world(&["--sandbox"]);
    let d = &w.d;
    let out = d.rcctl(&["new", "--name", "boxed"]);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("cannot sandbox the session") {
            eprintln!("SKIP: this kernel cannot enforce the sandbox: {err}");
            return;
        }
        panic!("rcctl new: {err}");
    }
    // The sandbox holds: the control socket is out of reach.
    d.ok(&[
        "send",
        "boxed",
        &format!("{} list; echo L'ISTED'", bin("rcctl").display()),
    ]);
    d.wait_screen("boxed", "LISTED");
    assert!(
        !d.screen("boxed").contains("SANDBOX"),
        "{}",
        d.screen("boxed")
    );
    start_hook(d, "boxed", &d.work, &permission_input("make"), "", "BOXED");
    let a = w.wait_attention("boxed", "the sandboxed request", |a| {
        a["kind"] == "permission"
    });
    assert_eq!(a["request"]["detail"], "make");
    stdout_of(&w.remote(&["answer", "boxed", "allow"]), "answer");
    let out: Value =
        serde_json::from_str(&hook_output(d, "boxed", &d.work, "BOXED")).expect("JSON");
    assert_eq!(out["hookSpecificOutput"]["decision"]["behavior"], "allow");
}

/// The local attention of a session.
fn local_attention(d: &Daemon, name: &str) -> Value {
    d.list()
        .into_iter()
        .find(|s| s["name"] == name)
        .map(|s| s["attention"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn a_request_outlives_a_killed_rcd_and_codex_says_its_turn_is_done() {
    let mut d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "agent"]);
    start_hook(
        &d,
        "agent",
        &d.work,
        &permission_input("cargo build"),
        "",
        "SURVIVED",
    );
    wait_for("the request", Duration::from_secs(15), || {
        local_attention(&d, "agent")["kind"] == "permission"
    });
    // rcd dies; the hook (a child of the session's shell) keeps waiting,
    // and the next rcd finds its request in the hook directory.
    d.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
    d.spawn();
    d.wait_ready();
    wait_for(
        "the request after adoption",
        Duration::from_secs(15),
        || local_attention(&d, "agent")["request"]["detail"] == "cargo build",
    );
    d.ok(&["answer", "agent", "allow"]);
    let out: Value =
        serde_json::from_str(&hook_output(&d, "agent", &d.work, "SURVIVED")).expect("JSON");
    assert_eq!(out["hookSpecificOutput"]["decision"]["behavior"], "allow");

    // Codex's notify program passes its event as an argument.
    let event = json!({"type": "agent-turn-complete", "thread-id": "t1", "turn-id": "1",
        "cwd": "/w", "input-messages": ["fix it"], "last-assistant-message": "All 12 tests pass.\nDone."});
    std::fs::write(d.work.join("codex.json"), event.to_string()).expect("event");
    d.ok(&[
        "send",
        "agent",
        &format!(
            "{} hook codex \"$(cat codex.json)\"; echo C'ODEX'",
            bin("rcctl").display()
        ),
    ]);
    d.wait_screen("agent", "CODEX");
    wait_for("Codex's turn", Duration::from_secs(15), || {
        local_attention(&d, "agent")["kind"] == "finished"
    });
    assert_eq!(
        local_attention(&d, "agent")["message"],
        "All 12 tests pass."
    );
}
