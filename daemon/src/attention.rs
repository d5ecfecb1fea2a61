//! Whether a session waits for a person, and why: the rules that turn
//! the terminal's alerts, the program's end, coding-agent hooks and input
//! into the one [`Attention`] a session shows. Pure state, so every rule
//! is tested here without a terminal.
//!
//! - `since` names the episode: it stays while the attention changes kind
//!   and is new once the attention was cleared.
//! - A bell never replaces what already waits; anything else does, except
//!   that a pending permission request stays shown until it is answered,
//!   withdrawn or made moot (the agent finished, the program ended).
//! - Permission requests queue: the first is shown; answering it shows
//!   the next, answering the last clears the attention.
//! - Input (anyone typing) clears it and withdraws every request: the
//!   person answers in the terminal.
//! - `quiet`: someone typed within [`QUIET`] of the latest change; shown,
//!   not notified.

use rcd_proto::control::{Attention, AttentionKind, Decision, PermissionRequest};
use rcd_proto::hook::Answer;
use std::time::{Duration, Instant, SystemTime};

/// How long after a key the session counts as being typed into.
pub const QUIET: Duration = Duration::from_secs(3);
/// Longest message shown for a permission request.
const MAX_MESSAGE: usize = 200;

/// Something that may make the session wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AttentionKind,
    pub message: String,
}

/// A request that a change settled, whose hook is to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub id: String,
    pub answer: Answer,
}

/// The attention of one session and what stands behind it.
#[derive(Debug, Default)]
pub struct Waiting {
    shown: Option<Attention>,
    pending: Vec<PermissionRequest>,
    last_input: Option<Instant>,
}

/// What a change did: whether the shown attention changed, and the
/// requests it settled.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub changed: bool,
    pub settled: Vec<Settled>,
}

impl Waiting {
    /// What the session shows.
    pub fn shown(&self) -> Option<&Attention> {
        self.shown.as_ref()
    }

    /// Ids of the requests that wait for an answer.
    pub fn pending(&self) -> impl Iterator<Item = &str> {
        self.pending.iter().map(|r| r.id.as_str())
    }

    /// Someone typed into the session.
    pub fn input(&mut self, now: Instant) -> Outcome {
        self.last_input = Some(now);
        let settled = self.settle_all("answered in the terminal");
        self.show(None, settled)
    }

    /// An alert from the terminal, a hook's notice, or the program's end.
    pub fn raise(&mut self, alert: Alert, now: Instant, wall: SystemTime) -> Outcome {
        let quiet = self.quiet(now);
        let moot = matches!(alert.kind, AttentionKind::Finished | AttentionKind::Exited);
        let mut settled = Vec::new();
        if moot {
            settled = self.settle_all(match alert.kind {
                AttentionKind::Exited => "the program ended",
                _ => "the agent went on",
            });
        }
        let next = match &self.shown {
            // A waiting request, or anything for a bell, says more.
            Some(now) if !self.pending.is_empty() || alert.kind == AttentionKind::Bell => {
                Attention {
                    quiet,
                    ..now.clone()
                }
            }
            _ => Attention {
                kind: alert.kind,
                message: alert.message,
                since: self.since(wall),
                request: None,
                quiet,
            },
        };
        self.show(Some(next), settled)
    }

    /// A coding agent asks permission.
    pub fn request(&mut self, req: PermissionRequest, now: Instant, wall: SystemTime) -> Outcome {
        if self.pending.iter().any(|r| r.id == req.id) {
            return Outcome::default();
        }
        self.pending.push(req);
        let next = self.front(self.quiet(now), wall);
        self.show(next, Vec::new())
    }

    /// Answers the request `id` (`None`: the one shown). `None` when no
    /// such request waits.
    pub fn answer(
        &mut self,
        id: Option<&str>,
        decision: Decision,
        message: Option<String>,
        now: Instant,
        wall: SystemTime,
    ) -> Option<Outcome> {
        let at = match id {
            None if !self.pending.is_empty() => 0,
            None => return None,
            Some(id) => self.pending.iter().position(|r| r.id == id)?,
        };
        let req = self.pending.remove(at);
        let settled = vec![Settled {
            id: req.id,
            answer: Answer {
                decision: Some(decision),
                message: message.filter(|_| decision == Decision::Deny),
                reason: None,
            },
        }];
        let next = self.front(self.quiet(now), wall);
        Some(self.show(next, settled))
    }

    /// Requests whose hooks gave up (their event files are gone): they
    /// wait no more, and nobody is told.
    pub fn withdraw(&mut self, gone: &[String], now: Instant, wall: SystemTime) -> Outcome {
        let before = self.pending.len();
        self.pending.retain(|r| !gone.contains(&r.id));
        if self.pending.len() == before {
            return Outcome::default();
        }
        let next = self.front(self.quiet(now), wall);
        self.show(next, Vec::new())
    }

    /// The first waiting request as the attention, or none.
    fn front(&self, quiet: bool, wall: SystemTime) -> Option<Attention> {
        let req = self.pending.first()?;
        Some(Attention {
            kind: AttentionKind::Permission,
            message: request_message(req),
            since: self.since(wall),
            request: Some(req.clone()),
            quiet,
        })
    }

    fn show(&mut self, next: Option<Attention>, settled: Vec<Settled>) -> Outcome {
        let changed = self.shown != next;
        self.shown = next;
        Outcome { changed, settled }
    }

    fn settle_all(&mut self, reason: &str) -> Vec<Settled> {
        self.pending
            .drain(..)
            .map(|r| Settled {
                id: r.id,
                answer: Answer {
                    decision: None,
                    message: None,
                    reason: Some(reason.into()),
                },
            })
            .collect()
    }

    fn since(&self, wall: SystemTime) -> String {
        match &self.shown {
            Some(a) => a.since.clone(),
            None => humantime::format_rfc3339_seconds(wall).to_string(),
        }
    }

    fn quiet(&self, now: Instant) -> bool {
        self.last_input
            .is_some_and(|t| now.saturating_duration_since(t) < QUIET)
    }
}

/// "Bash: cargo test": the tool and the first line of what it would do.
fn request_message(req: &PermissionRequest) -> String {
    let first = req.detail.lines().next().unwrap_or("");
    let mut m = if first.is_empty() {
        req.tool.clone()
    } else {
        format!("{}: {first}", req.tool)
    };
    if m.len() > MAX_MESSAGE {
        m = format!("{}…", rcd_proto::name::cut(&m, MAX_MESSAGE));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: &str, cmd: &str) -> PermissionRequest {
        PermissionRequest {
            id: id.into(),
            agent: "claude".into(),
            tool: "Bash".into(),
            detail: cmd.into(),
            input: serde_json::json!({ "command": cmd }),
        }
    }

    fn alert(kind: AttentionKind, message: &str) -> Alert {
        Alert {
            kind,
            message: message.into(),
        }
    }

    /// A clock that starts well past any input.
    fn clock() -> (Instant, SystemTime) {
        (
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
    }

    #[test]
    fn a_bell_never_replaces_and_since_names_the_episode() {
        let (t, wall) = clock();
        let mut w = Waiting::default();
        assert!(w.raise(alert(AttentionKind::Bell, ""), t, wall).changed);
        let since = w.shown().unwrap().since.clone();
        let later = wall + Duration::from_secs(30);
        w.raise(alert(AttentionKind::Notification, "build done"), t, later);
        let a = w.shown().unwrap();
        assert_eq!(
            (a.kind, a.message.as_str()),
            (AttentionKind::Notification, "build done")
        );
        assert_eq!(a.since, since, "the same episode");
        assert!(!w.raise(alert(AttentionKind::Bell, ""), t, later).changed);
        assert_eq!(w.shown().unwrap().kind, AttentionKind::Notification);
        w.input(t);
        assert!(w.shown().is_none());
        w.raise(alert(AttentionKind::Bell, ""), t + QUIET, later);
        assert_ne!(w.shown().unwrap().since, since, "a new episode");
    }

    #[test]
    fn requests_queue_and_the_first_answer_wins() {
        let (t, wall) = clock();
        let mut w = Waiting::default();
        w.request(req("a", "cargo test\n--all"), t, wall);
        w.request(req("b", "rm -r target"), t, wall);
        let a = w.shown().unwrap();
        assert_eq!(
            (a.kind, a.message.as_str()),
            (AttentionKind::Permission, "Bash: cargo test")
        );
        assert_eq!(a.request.as_ref().unwrap().id, "a");
        // A notice while a request waits keeps the request shown.
        w.raise(
            alert(AttentionKind::Permission, "Claude needs your permission"),
            t,
            wall,
        );
        assert_eq!(w.shown().unwrap().request.as_ref().unwrap().id, "a");

        let out = w
            .answer(None, Decision::Allow, Some("ignored".into()), t, wall)
            .unwrap();
        assert_eq!(out.settled.len(), 1);
        assert_eq!(out.settled[0].id, "a");
        assert_eq!(out.settled[0].answer.decision, Some(Decision::Allow));
        assert_eq!(
            out.settled[0].answer.message, None,
            "a message goes with a denial only"
        );
        assert_eq!(w.shown().unwrap().request.as_ref().unwrap().id, "b");
        assert!(
            w.answer(Some("a"), Decision::Deny, None, t, wall).is_none(),
            "answered already"
        );
        let out = w
            .answer(Some("b"), Decision::Deny, Some("not that".into()), t, wall)
            .unwrap();
        assert_eq!(out.settled[0].answer.message.as_deref(), Some("not that"));
        assert!(w.shown().is_none(), "answering the last clears it");
        assert!(w.answer(None, Decision::Allow, None, t, wall).is_none());
    }

    #[test]
    fn typing_withdraws_every_request_and_the_agent_finishing_makes_them_moot() {
        let (t, wall) = clock();
        let mut w = Waiting::default();
        w.request(req("a", "ls"), t, wall);
        w.request(req("b", "ls"), t, wall);
        let out = w.input(t);
        assert!(out.changed);
        assert_eq!(out.settled.len(), 2);
        assert!(out.settled.iter().all(|s| s.answer.decision.is_none()));
        assert_eq!(w.pending().count(), 0);

        let t = t + QUIET;
        w.request(req("c", "ls"), t, wall);
        let out = w.raise(alert(AttentionKind::Finished, "done"), t, wall);
        assert_eq!(out.settled.len(), 1);
        assert_eq!(w.shown().unwrap().kind, AttentionKind::Finished);
    }

    #[test]
    fn a_hook_that_gave_up_is_withdrawn_without_an_answer() {
        let (t, wall) = clock();
        let mut w = Waiting::default();
        w.request(req("a", "ls"), t, wall);
        assert!(w.withdraw(&["x".into()], t, wall).settled.is_empty());
        let out = w.withdraw(&["a".into()], t, wall);
        assert!(out.changed && out.settled.is_empty());
        assert!(w.shown().is_none());
    }

    #[test]
    fn what_begins_while_someone_types_is_quiet_until_it_changes_later() {
        let (t, wall) = clock();
        let mut w = Waiting::default();
        w.input(t);
        w.request(req("a", "ls"), t + Duration::from_secs(1), wall);
        assert!(w.shown().unwrap().quiet);
        // Claude's notice, seconds later, when nobody typed since.
        let out = w.raise(
            alert(AttentionKind::Permission, "Claude needs your permission"),
            t + QUIET + Duration::from_secs(2),
            wall,
        );
        assert!(out.changed);
        assert!(!w.shown().unwrap().quiet);
    }

    #[test]
    fn a_long_command_is_cut_at_a_character() {
        let long = "é".repeat(300);
        let m = request_message(&req("a", &long));
        assert!(
            m.len() <= MAX_MESSAGE + '…'.len_utf8() && m.ends_with('…'),
            "{m}"
        );
    }
}
