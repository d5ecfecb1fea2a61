//! The real Claude Code CLI (npm `@anthropic-ai/claude-code`, installed
//! in tests/agents by `scripts/test`) in an rcd session with rcd's hooks
//! set up by `rcctl hooks install claude`, pointed at a stand-in of the
//! Messages API that this test runs on loopback and that answers with a
//! tool call. Claude Code asks permission to run the command; a device
//! allows it through the relay; the command runs and the agent goes on.
//!
//! Set `RCD_SKIP_CLAUDE=1` on a machine without npm's package.

use rcd_tests::{Daemon, Options, bin, remote, stdout_of, wait_for};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stand-in was asked: every request's body.
type Seen = Arc<Mutex<Vec<Value>>>;

/// A stand-in of the Messages API: the first turn answers with a Bash
/// tool call that makes `file`, the turn with the tool's result with
/// "Done." and the end of the turn.
fn messages_api(file: &str) -> (String, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let command = format!("touch {file}");
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let log = log.clone();
            let command = command.clone();
            std::thread::spawn(move || serve(conn, &log, &command));
        }
    });
    (url, seen)
}

fn serve(conn: std::net::TcpStream, log: &Seen, command: &str) {
    let mut r = BufReader::new(conn.try_clone().expect("clone"));
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = r.read_exact(&mut body);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let has_result = body.to_string().contains("tool_result");
    log.lock()
        .unwrap()
        .push(json!({"head": head, "body": body}));
    let mut w = conn;
    if !head.starts_with("POST /v1/messages") {
        let _ = write!(
            w,
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\
             connection: close\r\n\r\n{{}}"
        );
        return;
    }
    let events = if has_result {
        turn(
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": "Done."}),
            "end_turn",
        )
    } else {
        turn(
            json!({"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {}}),
            json!({"type": "input_json_delta", "partial_json":
                json!({"command": command, "description": "Make the file"}).to_string()}),
            "tool_use",
        )
    };
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         connection: close\r\n\r\n{events}"
    );
}

/// One streamed assistant message with one content block.
fn turn(block: Value, delta: Value, stop: &str) -> String {
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message",
                "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"output_tokens": 20}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn claude_bin() -> Option<PathBuf> {
    let b = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents/node_modules/.bin/claude");
    b.exists().then_some(b)
}

#[test]
fn claude_code_asks_the_phone_allows_and_the_command_runs() {
    if std::env::var_os("RCD_SKIP_CLAUDE").is_some_and(|v| v == "1") {
        eprintln!("claude: skipped (RCD_SKIP_CLAUDE=1)");
        return;
    }
    let claude = claude_bin().expect(
        "Claude Code's CLI is not installed: scripts/test installs it (cd tests/agents && npm ci), \
         or set RCD_SKIP_CLAUDE=1",
    );
    let (api, seen) = messages_api("ran-by-claude");
    let key = "sk-ant-api03-rcdtest0000000000000000000000000000";
    let env = vec![
        ("ANTHROPIC_BASE_URL".to_string(), api),
        ("ANTHROPIC_API_KEY".into(), key.into()),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        ),
        ("DISABLE_TELEMETRY".into(), "1".into()),
        ("DISABLE_AUTOUPDATER".into(), "1".into()),
        ("DISABLE_ERROR_REPORTING".into(), "1".into()),
    ];
    let command = format!(
        "{} --permission-mode manual 'Make the file ran-by-claude'",
        claude.display()
    );
    // The daemon's HOME is its temporary root: Claude Code's settings go
    // there, made before the first session starts.
    let d = Daemon::start(Options {
        command,
        env,
        ..Options::with_args(false, &["--listen", "127.0.0.1:0", "--name", "home"])
    });
    let home = d.root.path();
    let work = std::fs::canonicalize(&d.work).expect("work");
    let tail = &key[key.len() - 20..];
    std::fs::write(
        home.join(".claude.json"),
        json!({
            "hasCompletedOnboarding": true,
            "customApiKeyResponses": {"approved": [tail], "rejected": []},
            "projects": {work.to_str().unwrap(): {"hasTrustDialogAccepted": true}},
        })
        .to_string(),
    )
    .expect(".claude.json");
    let out = std::process::Command::new(bin("rcctl"))
        .args(["hooks", "install", "claude"])
        .env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .output()
        .expect("rcctl hooks install");
    let said = stdout_of(&out, "hooks install");
    assert!(said.contains("+ PermissionRequest"), "{said}");

    let (url, token) = rcd_tests::pair_with_embedded(&d);
    d.ok(&["new", "--name", "agent"]);

    // The phone sees the request, with the command.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let attention = loop {
        let out = remote(&url, &token, None, &["list", "--json"]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let a = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == "agent")
            .map(|s| s["attention"].clone())
            .unwrap_or(Value::Null);
        if a["request"].is_object() {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no permission request through the relay; the screen:\n{}\nthe API saw: {:?}\n\
             rcd's log:\n{}",
            d.screen("agent"),
            seen.lock().unwrap(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let req = &attention["request"];
    assert_eq!(req["agent"], "claude", "{attention}");
    assert_eq!(req["tool"], "Bash");
    assert_eq!(req["detail"], "touch ran-by-claude");
    assert_eq!(attention["kind"], "permission");
    assert!(
        !work.join("ran-by-claude").exists(),
        "not before it is allowed"
    );

    stdout_of(
        &remote(&url, &token, None, &["answer", "agent", "allow"]),
        "answer allow",
    );
    wait_for("the command to run", Duration::from_secs(30), || {
        work.join("ran-by-claude").exists()
    });
    // The agent goes on: it sends the tool's result and ends its turn.
    wait_for(
        "the tool's result to reach the API",
        Duration::from_secs(30),
        || {
            seen.lock()
                .unwrap()
                .iter()
                .any(|r| r["body"].to_string().contains("tool_result"))
        },
    );
    d.wait_screen("agent", "Done.");
}
