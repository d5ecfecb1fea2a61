//! `--notify-url`: a POST for every session that starts to need you (its
//! attention set: a bell, a desktop notification, its program's end), as
//! JSON or in ntfy's format. One per session per episode (its attention's
//! `since`): nothing more until its attention was cleared (someone typed)
//! and set again. None while someone types into it (`quiet`): that waits
//! until the attention changes after the typing stopped.
//! Deliveries run beside the sessions, never in their way; each is tried
//! [`TRIES`] times, and one that still fails is logged and counted in
//! `rcctl status`.

use crate::config::{Notify, NotifyFormat};
use crate::link::LinkHandle;
use crate::supervisor::Supervisor;
use rcd_proto::control::{Attention, NotifyStatus};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attempts per notification.
pub const TRIES: u32 = 3;
/// The wait before the second attempt; it doubles after that.
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The time limit of one attempt.
const ATTEMPT: Duration = Duration::from_secs(10);

/// Starts posting notifications, if `--notify-url` asks for them.
pub fn start(sup: &Arc<Supervisor>, link: Option<LinkHandle>) {
    let Some(notify) = sup.config().notify.clone() else {
        return;
    };
    let client = match reqwest::Client::builder().timeout(ATTEMPT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("--notify-url: cannot make an HTTP client: {e}");
            return;
        }
    };
    let status = Arc::new(Mutex::new(NotifyStatus {
        url: notify.url.clone(),
        delivered: 0,
        failed: 0,
        last_error: None,
    }));
    sup.set_notify_status(status.lock().unwrap_or_else(|e| e.into_inner()).clone());
    let sup = sup.clone();
    tokio::spawn(async move {
        let mut changes = sup.subscribe();
        // The episode (`since`) each session was last notified of, by id.
        let mut seen: HashMap<String, String> = HashMap::new();
        loop {
            let mut now = HashMap::new();
            for s in sup.sessions() {
                let Some(a) = s.attention() else { continue };
                let notified = seen.get(&s.id.0) == Some(&a.since);
                if !a.quiet && !notified {
                    let post = Post {
                        client: client.clone(),
                        notify: notify.clone(),
                        body: body_of(&sup, link.as_ref(), s.name.as_str(), &a),
                    };
                    let (status, sup) = (status.clone(), sup.clone());
                    tokio::spawn(async move {
                        let result = post.deliver().await;
                        let snapshot = {
                            let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
                            match result {
                                Ok(()) => st.delivered += 1,
                                Err(e) => {
                                    st.failed += 1;
                                    st.last_error = Some(e);
                                }
                            }
                            st.clone()
                        };
                        sup.set_notify_status(snapshot);
                    });
                }
                // A quiet one waits to be notified once it is no more.
                if !a.quiet || notified {
                    now.insert(s.id.0.clone(), a.since);
                }
            }
            seen = now;
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

/// What a notification says: the JSON body as it is posted.
#[derive(Debug, Serialize)]
struct Message {
    env: String,
    machine: String,
    session: String,
    kind: String,
    message: String,
    /// The session in the web UI, when rcd is linked to a relay.
    url: Option<String>,
}

fn body_of(sup: &Supervisor, link: Option<&LinkHandle>, session: &str, a: &Attention) -> Message {
    let cfg = sup.config();
    let url = link
        .and_then(LinkHandle::status)
        .and_then(|l| Some((l.relay, l.environment_id?)))
        .map(|(relay, env)| {
            format!(
                "{}/#/s/{}/{}",
                relay.trim_end_matches('/'),
                encode(&env),
                encode(session)
            )
        });
    Message {
        env: cfg.name.clone(),
        machine: cfg.machine.clone(),
        session: session.to_string(),
        kind: a.kind.as_str().to_string(),
        message: a.message.clone(),
        url,
    }
}

/// Percent-encodes what is not unreserved (RFC 3986), as the web UI's
/// `encodeURIComponent` reads it back.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Post {
    client: reqwest::Client,
    notify: Notify,
    body: Message,
}

impl Post {
    /// Tries [`TRIES`] times; the last error if none was answered 2xx.
    async fn deliver(&self) -> Result<(), String> {
        let mut wait = FIRST_RETRY;
        let mut last = String::new();
        for attempt in 1..=TRIES {
            match self.send().await {
                Ok(()) => {
                    tracing::debug!(session = %self.body.session, attempt, "notification delivered");
                    return Ok(());
                }
                Err(e) => last = e,
            }
            if attempt < TRIES {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        tracing::error!(
            session = %self.body.session,
            url = %self.notify.url,
            "a notification could not be delivered after {TRIES} tries: {last}"
        );
        Err(last)
    }

    async fn send(&self) -> Result<(), String> {
        let b = &self.body;
        let req = match self.notify.format {
            NotifyFormat::Json => self.client.post(&self.notify.url).json(b),
            NotifyFormat::Ntfy => {
                let text = if b.message.is_empty() {
                    format!("{} needs you ({})", b.session, b.kind)
                } else {
                    b.message.clone()
                };
                let mut req = self
                    .client
                    .post(&self.notify.url)
                    .header("Title", format!("{} on {}", b.session, b.machine))
                    .header("Tags", b.kind.clone())
                    .body(text);
                if let Some(url) = &b.url {
                    req = req.header("Click", url);
                }
                req
            }
        };
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("the server answered {}", resp.status()))
        }
    }
}
