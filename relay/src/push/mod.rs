//! Web Push (RFC 8030) to the browsers of an environment's owner: when a
//! heartbeat shows a session that began to wait for a person, one push
//! per subscribed device, encrypted for that browser (RFC 8291) and
//! signed with the relay's VAPID key (RFC 8292).
//!
//! - The episode rule: a session's attention names its episode by
//!   `since`; each (environment, session id, `since`) is pushed once, the
//!   first time a heartbeat shows it set and not `quiet`. The record of
//!   pushed episodes keeps one `since` per session of the environment's
//!   last heartbeat, for at most [`MAX_ENVS`] environments: it is bounded.
//! - Sends run in tasks of their own, at most [`MAX_SENDS`] at once,
//!   never in the way of the heartbeat that caused them. A 5xx, 429 or
//!   network failure is retried ([`ATTEMPTS`] in all, the delay doubling);
//!   a 404 or 410 removes the subscription (the browser dropped it); every
//!   failure is logged with the push service's status.

pub mod crypto;

use crate::store::{PushSubscription, Store, StoreResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto::{MAX_PLAINTEXT, VapidKey};
use rcd_proto::SessionInfo;
use rcd_proto::control::AttentionKind;
use rcd_proto::name::cut;
use rcd_proto::relay::PushPayload;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

/// Environments whose pushed episodes are remembered; past it the one
/// heard from longest ago is forgotten.
pub const MAX_ENVS: usize = 4096;
/// Sessions remembered per environment (more than a daemon runs).
pub const MAX_SESSIONS: usize = 1024;
/// Pushes in flight at once.
pub const MAX_SENDS: usize = 16;
/// Tries per push.
pub const ATTEMPTS: u32 = 4;
/// How long a push service keeps a push for a browser that is away.
pub const PUSH_TTL_SECS: u64 = 6 * 3600;
/// Longest message text in a push, in bytes (cut at a character).
pub const MAX_PUSH_MESSAGE: usize = 1024;
/// How long one post to a push service may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Devices whose push outcomes are kept.
const MAX_OUTCOMES: usize = 4096;

/// What became of the pushes to one device since the relay started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub delivered: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

/// The relay's pushes. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Pusher {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// What became of the pushes to each device, for `GET
    /// /push/subscription`: nothing that fails is silent.
    outcomes: Mutex<HashMap<String, Outcome>>,
    key: OnceCell<Arc<VapidKey>>,
    episodes: Mutex<Episodes>,
    sends: Arc<Semaphore>,
    /// The VAPID `sub` claim.
    contact: String,
    /// The delay before the first retry.
    retry: Duration,
}

impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pusher")
            .field("contact", &self.inner.contact)
            .finish_non_exhaustive()
    }
}

/// One episode to push: what every subscription gets (the message only
/// with the opt-in) and its `Topic`.
#[derive(Debug, Clone)]
pub(crate) struct Episode {
    payload: PushPayload,
    topic: String,
}

impl Pusher {
    pub fn new(contact: String, retry: Duration) -> Pusher {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Pusher {
            inner: Arc::new(Inner {
                http,
                key: OnceCell::new(),
                outcomes: Mutex::new(HashMap::new()),
                episodes: Mutex::new(Episodes::default()),
                sends: Arc::new(Semaphore::new(MAX_SENDS)),
                contact,
                retry,
            }),
        }
    }

    /// What became of the pushes to `device`.
    pub fn outcome(&self, device: &str) -> Outcome {
        self.inner
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .cloned()
            .unwrap_or_default()
    }

    fn count(&self, device: &str, error: Option<String>) {
        let mut all = self
            .inner
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_OUTCOMES && !all.contains_key(device) {
            // Bounded: a device pushed to long ago is forgotten.
            if let Some(k) = all.keys().next().cloned() {
                all.remove(&k);
            }
        }
        let o = all.entry(device.to_string()).or_default();
        match error {
            None => o.delivered += 1,
            Some(e) => {
                o.failed += 1;
                o.last_error = Some(e);
            }
        }
    }

    /// The VAPID key: the stored one, or a new one stored at the first
    /// need.
    pub async fn key(&self, store: &dyn Store) -> StoreResult<Arc<VapidKey>> {
        self.inner
            .key
            .get_or_try_init(|| async {
                let fresh =
                    VapidKey::generate().map_err(|e| crate::StoreError::Backend(e.to_string()))?;
                let pkcs8 = store.push_key(fresh).await?;
                VapidKey::from_pkcs8(&pkcs8)
                    .map(Arc::new)
                    .map_err(|e| crate::StoreError::Backend(e.to_string()))
            })
            .await
            .cloned()
    }

    /// The episodes of a heartbeat of environment `env` (on `machine`)
    /// that were not pushed yet, now counted as pushed.
    pub fn due(&self, env: &str, machine: &str, sessions: &[SessionInfo]) -> Vec<Episode> {
        let fresh = self
            .inner
            .episodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .due(env, sessions);
        fresh
            .into_iter()
            .filter_map(|s| {
                let a = s.attention.as_deref()?;
                Some(Episode {
                    payload: PushPayload {
                        env: env.to_string(),
                        machine: machine.to_string(),
                        session: s.name.clone(),
                        kind: a.kind,
                        since: a.since.clone(),
                        message: Some(cut(&a.message, MAX_PUSH_MESSAGE).to_string())
                            .filter(|m| !m.is_empty()),
                    },
                    topic: topic(env, &s.id),
                })
            })
            .collect()
    }

    /// Of `episodes`, those no other relay process sharing `store` pushed
    /// already: each is claimed in the store (several instances on one
    /// Redis hear one daemon's heartbeats in turn, each with its own record
    /// of what it pushed). An episode the store cannot answer for is kept:
    /// a push twice is better than none.
    pub async fn claimed(&self, store: &dyn Store, episodes: Vec<Episode>) -> Vec<Episode> {
        let mut out = Vec::with_capacity(episodes.len());
        for e in episodes {
            match store.claim_push(&e.topic, &e.payload.since).await {
                Ok(false) => tracing::debug!(topic = %e.topic, "push: another instance pushed it"),
                Ok(true) => out.push(e),
                Err(err) => {
                    tracing::warn!("push: cannot tell whether another instance pushed it: {err}");
                    out.push(e);
                }
            }
        }
        out
    }

    /// Pushes `episodes` to every subscription of `owner`'s devices, in
    /// the background.
    pub fn send(&self, store: Arc<dyn Store>, owner: String, episodes: Vec<Episode>) {
        if episodes.is_empty() {
            return;
        }
        let pusher = self.clone();
        tokio::spawn(async move {
            let subs = match store.list_subscriptions(&owner).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("push: cannot list subscriptions: {e}");
                    return;
                }
            };
            if subs.is_empty() {
                return;
            }
            let key = match pusher.key(store.as_ref()).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!("push: no key: {e}");
                    return;
                }
            };
            for episode in &episodes {
                for sub in &subs {
                    let Ok(permit) = pusher.inner.sends.clone().acquire_owned().await else {
                        return;
                    };
                    let (pusher, store, key) = (pusher.clone(), store.clone(), key.clone());
                    let (sub, episode) = (sub.clone(), episode.clone());
                    tokio::spawn(async move {
                        pusher.deliver(store.as_ref(), &key, &sub, &episode).await;
                        drop(permit);
                    });
                }
            }
        });
    }

    /// One push to one subscription, with its retries.
    async fn deliver(
        &self,
        store: &dyn Store,
        key: &VapidKey,
        sub: &PushSubscription,
        episode: &Episode,
    ) {
        let device = sub.device.as_str();
        let origin = origin(&sub.endpoint);
        let (Ok(ua), Ok(auth)) = (
            URL_SAFE_NO_PAD.decode(&sub.p256dh),
            URL_SAFE_NO_PAD.decode(&sub.auth),
        ) else {
            tracing::warn!(%device, "push: the stored subscription keys are not base64url");
            self.count(
                device,
                Some("the subscription's keys are not base64url".into()),
            );
            return;
        };
        let Some(plain) = payload(&episode.payload, sub.with_message) else {
            tracing::warn!(%device, "push: the payload does not fit a push");
            self.count(device, Some("the payload does not fit a push".into()));
            return;
        };
        let body = match crypto::encrypt(&ua, &auth, &plain) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%device, "push: cannot encrypt for this subscription: {e}");
                self.count(
                    device,
                    Some(format!("cannot encrypt for this subscription: {e}")),
                );
                return;
            }
        };
        let urgency = match episode.payload.kind {
            AttentionKind::Permission | AttentionKind::Question => "high",
            _ => "normal",
        };
        let mut delay = self.inner.retry;
        let mut why = String::new();
        for attempt in 1..=ATTEMPTS {
            let authorization = match key.authorization(&origin, &self.inner.contact) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("push: cannot sign: {e}");
                    self.count(device, Some(format!("cannot sign: {e}")));
                    return;
                }
            };
            let sent = self
                .inner
                .http
                .post(&sub.endpoint)
                .header("TTL", PUSH_TTL_SECS)
                .header("Urgency", urgency)
                .header("Topic", &episode.topic)
                .header("Content-Encoding", "aes128gcm")
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::AUTHORIZATION, authorization)
                .body(body.clone())
                .send()
                .await;
            let retry = match sent {
                Ok(resp) if resp.status().is_success() => {
                    tracing::debug!(%device, %origin, session = %episode.payload.session, "push sent");
                    self.count(device, None);
                    return;
                }
                Ok(resp) if matches!(resp.status().as_u16(), 404 | 410) => {
                    let status = resp.status().as_u16();
                    self.count(
                        device,
                        Some(format!(
                            "{origin} no longer knows this browser's subscription ({status}): \
                             turn notifications on again"
                        )),
                    );
                    match store.remove_subscription(device, Some(&sub.endpoint)).await {
                        Ok(_) => {
                            tracing::warn!(%device, %origin, status, "push: the push service no longer knows this subscription; removed")
                        }
                        Err(e) => {
                            tracing::warn!(%device, %origin, status, "push: cannot remove the subscription: {e}")
                        }
                    }
                    return;
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry = resp.status().is_server_error() || status == 429;
                    let text = resp.text().await.unwrap_or_default();
                    let text = cut(text.trim(), 200);
                    tracing::warn!(%device, %origin, status, attempt, "push refused: {text}");
                    why = format!("{origin} refused it ({status}): {text}");
                    retry
                }
                Err(e) => {
                    why = format!("{origin}: {}", error_chain(&e));
                    tracing::warn!(%device, %origin, attempt, "push failed: {}", error_chain(&e));
                    true
                }
            };
            if !retry || attempt == ATTEMPTS {
                break;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        tracing::warn!(%device, %origin, "push given up");
        self.count(device, Some(why));
    }
}

/// The payload's JSON, the message left out without the opt-in (or when
/// it would not fit).
fn payload(p: &PushPayload, with_message: bool) -> Option<Vec<u8>> {
    let mut p = p.clone();
    if !with_message {
        p.message = None;
    }
    let json = serde_json::to_vec(&p).ok()?;
    if json.len() <= MAX_PLAINTEXT {
        return Some(json);
    }
    p.message = None;
    serde_json::to_vec(&p)
        .ok()
        .filter(|j| j.len() <= MAX_PLAINTEXT)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The push's `Topic`: the same for every push about one session (so a
/// newer one replaces an older one a push service still holds), 32
/// base64url characters.
fn topic(env: &str, session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(env.as_bytes());
    h.update([0]);
    h.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(&h.finalize()[..24])
}

/// The origin of an endpoint (the VAPID audience): scheme, host and a
/// port other than the scheme's own.
pub fn origin(endpoint: &str) -> String {
    let Ok(uri) = endpoint.parse::<axum::http::Uri>() else {
        return String::new();
    };
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(p) if !matches!((scheme, p), ("https", 443) | ("http", 80)) => {
            format!("{scheme}://{host}:{p}")
        }
        _ => format!("{scheme}://{host}"),
    }
}

/// The pushed episodes: per environment, the `since` pushed for each of
/// its sessions.
#[derive(Debug, Default)]
struct Episodes {
    envs: HashMap<String, EnvEpisodes>,
    tick: u64,
}

#[derive(Debug, Default)]
struct EnvEpisodes {
    /// Session id → the `since` last pushed.
    pushed: HashMap<String, String>,
    /// When its last heartbeat came, in heartbeats.
    heard: u64,
}

impl Episodes {
    /// The sessions whose episode is new, set and not quiet; from now on
    /// counted as pushed. Sessions gone from the heartbeat are forgotten.
    fn due<'a>(&mut self, env: &str, sessions: &'a [SessionInfo]) -> Vec<&'a SessionInfo> {
        self.tick += 1;
        if !self.envs.contains_key(env) && self.envs.len() >= MAX_ENVS {
            let oldest = self
                .envs
                .iter()
                .min_by_key(|(_, e)| e.heard)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.envs.remove(&id);
            }
        }
        let e = self.envs.entry(env.to_string()).or_default();
        e.heard = self.tick;
        let present: HashSet<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
        e.pushed.retain(|id, _| present.contains(id.as_str()));
        let mut out = Vec::new();
        for s in sessions {
            let Some(a) = s.attention.as_deref() else {
                continue;
            };
            if a.quiet || e.pushed.get(&s.id) == Some(&a.since) {
                continue;
            }
            if !e.pushed.contains_key(&s.id) && e.pushed.len() >= MAX_SESSIONS {
                continue;
            }
            e.pushed.insert(s.id.clone(), a.since.clone());
            out.push(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::control::Attention;

    fn session(id: &str, since: Option<&str>, quiet: bool) -> SessionInfo {
        let mut s: SessionInfo = serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "state": "running", "dir": "/", "spawn": "same-dir",
            "branch": null, "pid": null, "created_at": "2025-01-01T00:00:00Z",
            "command": ["sh"], "exit_code": null, "worktree": null,
        }))
        .unwrap();
        s.attention = since.map(|since| {
            Box::new(Attention {
                kind: AttentionKind::Bell,
                message: String::new(),
                since: since.into(),
                request: None,
                quiet,
            })
        });
        s
    }

    fn ids(v: Vec<&SessionInfo>) -> Vec<&str> {
        v.into_iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn each_episode_is_due_once_and_quiet_ones_never() {
        let mut e = Episodes::default();
        let beat = [session("a", Some("t1"), false), session("b", None, false)];
        assert_eq!(ids(e.due("env", &beat)), ["a"]);
        assert!(e.due("env", &beat).is_empty(), "the same episode");
        let beat = [
            session("a", Some("t2"), false),
            session("b", Some("t3"), true),
        ];
        assert_eq!(ids(e.due("env", &beat)), ["a"], "a new episode; b is quiet");
        let beat = [session("b", Some("t3"), false)];
        assert_eq!(ids(e.due("env", &beat)), ["b"], "b no longer quiet");
        assert!(e.due("other", &beat).len() == 1, "per environment");
        assert_eq!(e.envs["env"].pushed.len(), 1, "a is forgotten once gone");
    }

    #[test]
    fn the_record_is_bounded() {
        let mut e = Episodes::default();
        let beat = [session("a", Some("t1"), false)];
        for i in 0..MAX_ENVS + 10 {
            e.due(&format!("env{i}"), &beat);
        }
        assert_eq!(e.envs.len(), MAX_ENVS);
        assert!(!e.envs.contains_key("env0"), "the oldest went first");
        let many: Vec<SessionInfo> = (0..MAX_SESSIONS + 5)
            .map(|i| session(&format!("s{i}"), Some("t"), false))
            .collect();
        assert_eq!(e.due("big", &many).len(), MAX_SESSIONS);
    }

    #[test]
    fn origins_topics_and_cuts() {
        assert_eq!(origin("https://fcm.example/wp/abc"), "https://fcm.example");
        assert_eq!(origin("https://fcm.example:443/x"), "https://fcm.example");
        assert_eq!(origin("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080");
        assert_eq!(topic("e", "s").len(), 32);
        assert_ne!(topic("e", "s"), topic("e", "t"));
        assert_eq!(cut("aé", 2), "a");
        let p = PushPayload {
            env: "e".into(),
            machine: "m".into(),
            session: "s".into(),
            kind: AttentionKind::Finished,
            since: "t".into(),
            message: Some("x".repeat(MAX_PLAINTEXT)),
        };
        let plain = payload(&p, true).unwrap();
        assert!(plain.len() <= MAX_PLAINTEXT);
        assert!(!String::from_utf8(plain).unwrap().contains("message"));
    }
}
