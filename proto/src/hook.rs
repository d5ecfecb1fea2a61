//! How a coding agent's hooks (`rcctl hook`, run by the agent inside a
//! session) reach rcd: through files in the session's hook directory,
//! whose path every session finds in [`DIR_ENV`].
//!
//! The channel is plain files and a FIFO because a sandboxed session may
//! open neither a Unix socket nor a network connection, but may write to
//! this directory. One exchange:
//!
//! 1. The hook writes `<id>.event.json` (an [`Event`]; written under a
//!    temporary name and renamed, so rcd never reads half of one) and
//!    writes a byte to the FIFO [`RING`], which rcd reads: rcd then looks
//!    at the directory. With no rcd reading, the ring is skipped; the
//!    next rcd looks at the directory when it adopts the session.
//! 2. A [`Event::Notice`] is taken and removed by rcd at once.
//! 3. A [`Event::Permission`] stays until it is answered: rcd writes
//!    `<id>.answer.json` (an [`Answer`]) and removes the event. The hook
//!    waits for the answer file. A hook that gives up (its time limit,
//!    its agent gone) removes its event and rings: rcd withdraws the
//!    request.
//!
//! Ids are made by the hook: its pid and random hex ([`valid_id`]).

use crate::control::{AttentionKind, Decision};
use serde::{Deserialize, Serialize};

/// The environment variable that holds the session's hook directory.
pub const DIR_ENV: &str = "RCD_HOOK_DIR";
/// The FIFO in the hook directory that rcd reads.
pub const RING: &str = "ring";
/// File name ending of an event.
pub const EVENT_SUFFIX: &str = ".event.json";
/// File name ending of an answer.
pub const ANSWER_SUFFIX: &str = ".answer.json";
/// Largest event or answer file read, in bytes.
pub const MAX_FILE: u64 = 64 * 1024;

/// What a hook tells rcd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The agent asks whether it may use a tool, and waits for an answer.
    Permission {
        /// `claude`.
        agent: String,
        tool: String,
        /// What the tool would do, for a person (the command line).
        detail: String,
        /// The tool's input as the agent gave it (bounded, or `null`).
        input: serde_json::Value,
    },
    /// The agent needs the person (a notification, a question, the end
    /// of its turn); nothing is answered.
    Notice {
        agent: String,
        kind: AttentionKind,
        message: String,
    },
}

/// rcd's answer to an [`Event::Permission`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// `None`: no decision (the person answered in the terminal, or the
    /// request was withdrawn): the agent's own prompt stands.
    pub decision: Option<Decision>,
    /// Said to the agent with a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why there is no decision, for the hook's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether `id` can name an event: 1 to 64 ASCII letters, digits and
/// `-`, so it is never a path.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_paths() {
        assert!(valid_id("1234-9f8e7d6c"));
        for bad in ["", "../x", "a/b", "a.b", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn events_and_answers_read_as_they_are_written() {
        let e = Event::Permission {
            agent: "claude".into(),
            tool: "Bash".into(),
            detail: "cargo test".into(),
            input: serde_json::json!({"command": "cargo test"}),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains(r#""event":"permission""#), "{text}");
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), e);
        let a = Answer {
            decision: Some(Decision::Deny),
            message: Some("not now".into()),
            reason: None,
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, r#"{"decision":"deny","message":"not now"}"#);
        assert_eq!(serde_json::from_str::<Answer>(&text).unwrap(), a);
    }
}
