//! [`MemoryStore`]: the whole state in memory, behind one mutex.
//!
//! The mutex is taken once per method and never held across an `.await`:
//! the two waits ([`Store::next_work`], [`Store::wait_result`]) clone an
//! `Arc<Notify>` under the lock, drop the lock, and wait on it.
//! `Notify::notify_one` keeps a permit when nobody waits yet, so an item
//! queued between the check and the wait is not missed.

use super::tokens::TokenSet;
use super::{
    EnvEntry, EnvRecord, Grant, PushSubscription, Store, StoreFuture, TokenKind, TokenRecord, b64,
    ready,
};
use rcd_proto::SessionInfo;
use rcd_proto::relay::{Heartbeat, WorkItem, WorkResult};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Everything in memory; tokens die with the process (the embedded relay
/// makes its token at each start).
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tokens: TokenSet,
    /// Secret hash → what it admits, until when.
    grants: HashMap<String, (Grant, Instant)>,
    envs: HashMap<String, Env>,
    /// Environment id → its queue.
    queues: HashMap<String, Queue>,
    /// Work id → its result slot.
    pending: HashMap<String, Pending>,
}

struct Env {
    record: EnvRecord,
    last_seen: Instant,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<(WorkItem, Instant)>,
    notify: Arc<Notify>,
}

struct Pending {
    env: String,
    expires: Instant,
    result: Option<WorkResult>,
    notify: Arc<Notify>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("MemoryStore")
            .field("tokens", &st.tokens.tokens.len())
            .field("grants", &st.grants.len())
            .field("environments", &st.envs.len())
            .field("pending_work", &st.pending.len())
            .finish()
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep
        // serving rather than poisoning every later request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.lock())
    }
}

impl State {
    fn entry(&self, id: &str, now: Instant) -> Option<EnvEntry> {
        self.envs.get(id).map(|e| EnvEntry {
            record: e.record.clone(),
            idle: now.saturating_duration_since(e.last_seen),
        })
    }

    fn drop_work(&mut self, env: &str, id: &str) {
        self.pending.remove(id);
        if let Some(q) = self.queues.get_mut(env) {
            q.items.retain(|(item, _)| item.id != id);
        }
    }
}

impl Store for MemoryStore {
    fn insert_token(&self, token: TokenRecord) -> StoreFuture<'_, ()> {
        self.with(|st| st.tokens.insert(token));
        ready(Ok(()))
    }

    fn find_token<'a>(
        &'a self,
        kind: TokenKind,
        hash: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        ready(Ok(self.with(|st| st.tokens.find(kind, hash))))
    }

    fn get_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        ready(Ok(self.with(|st| st.tokens.get(kind, id))))
    }

    fn list_tokens(&self, kind: TokenKind) -> StoreFuture<'_, Vec<TokenRecord>> {
        ready(Ok(self.with(|st| st.tokens.list(kind))))
    }

    fn revoke_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Vec<TokenRecord>> {
        ready(self.with(|st| st.tokens.revoke(kind, id)))
    }

    fn push_key(&self, fresh: Vec<u8>) -> StoreFuture<'_, Vec<u8>> {
        let key = self.with(|st| st.tokens.push_key(b64::encode(&fresh)));
        ready(b64::decode_key(&key))
    }

    fn put_subscription(&self, sub: PushSubscription) -> StoreFuture<'_, bool> {
        ready(Ok(self.with(|st| st.tokens.put_push(sub))))
    }

    fn get_subscription<'a>(
        &'a self,
        device: &'a str,
    ) -> StoreFuture<'a, Option<PushSubscription>> {
        ready(Ok(self.with(|st| st.tokens.get_push(device))))
    }

    fn remove_subscription<'a>(
        &'a self,
        device: &'a str,
        endpoint: Option<&'a str>,
    ) -> StoreFuture<'a, bool> {
        ready(Ok(self.with(|st| st.tokens.remove_push(device, endpoint))))
    }

    fn list_subscriptions<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<PushSubscription>> {
        ready(Ok(self.with(|st| st.tokens.pushes_of(owner))))
    }

    fn put_grant(&self, hash: String, grant: Grant, ttl: Duration) -> StoreFuture<'_, ()> {
        let expires = Instant::now() + ttl;
        self.with(|st| st.grants.insert(hash, (grant, expires)));
        ready(Ok(()))
    }

    fn get_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        let now = Instant::now();
        ready(Ok(self.with(|st| {
            st.grants
                .get(hash)
                .filter(|(_, expires)| *expires > now)
                .map(|(g, _)| g.clone())
        })))
    }

    fn take_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        let now = Instant::now();
        ready(Ok(self.with(|st| {
            st.grants
                .remove(hash)
                .filter(|(_, expires)| *expires > now)
                .map(|(g, _)| g)
        })))
    }

    fn put_environment(&self, env: EnvRecord) -> StoreFuture<'_, ()> {
        let now = Instant::now();
        self.with(|st| {
            st.envs.insert(
                env.id.clone(),
                Env {
                    record: env,
                    last_seen: now,
                },
            )
        });
        ready(Ok(()))
    }

    fn seen<'a>(&'a self, env: &'a str, heartbeat: Option<Heartbeat>) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        ready(Ok(self.with(|st| {
            let Some(e) = st.envs.get_mut(env) else {
                return false;
            };
            e.last_seen = now;
            if let Some(hb) = heartbeat {
                e.record.spawn = hb.spawn;
                e.record.capacity = hb.capacity;
                e.record.used = hb.used;
                e.record.sessions = hb.sessions;
            }
            true
        })))
    }

    fn set_session<'a>(
        &'a self,
        env: &'a str,
        name: &'a str,
        session: Option<SessionInfo>,
    ) -> StoreFuture<'a, ()> {
        self.with(|st| {
            if let Some(e) = st.envs.get_mut(env) {
                let sessions = &mut e.record.sessions;
                let before = sessions.len();
                sessions.retain(|s| s.name != name);
                let removed = before != sessions.len();
                let added = session.is_some();
                if let Some(s) = session {
                    sessions.push(s);
                }
                // The next heartbeat brings the daemon's own count.
                match (removed, added) {
                    (false, true) => e.record.used = e.record.used.saturating_add(1),
                    (true, false) => e.record.used = e.record.used.saturating_sub(1),
                    _ => {}
                }
            }
        });
        ready(Ok(()))
    }

    fn get_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<EnvEntry>> {
        let now = Instant::now();
        ready(Ok(self.with(|st| st.entry(id, now))))
    }

    fn list_environments<'a>(&'a self, owner: Option<&'a str>) -> StoreFuture<'a, Vec<EnvEntry>> {
        let now = Instant::now();
        ready(Ok(self.with(|st| {
            st.envs
                .iter()
                .filter(|(_, e)| owner.is_none_or(|o| e.record.owner == o))
                .filter_map(|(id, _)| st.entry(id, now))
                .collect()
        })))
    }

    fn remove_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        ready(Ok(self.with(|st| {
            st.queues.remove(id);
            st.pending.retain(|_, p| p.env != id);
            st.envs.remove(id).is_some()
        })))
    }

    fn push_work<'a>(&'a self, env: &'a str, item: WorkItem, ttl: Duration) -> StoreFuture<'a, ()> {
        let expires = Instant::now() + ttl;
        self.with(|st| {
            st.pending.insert(
                item.id.clone(),
                Pending {
                    env: env.to_string(),
                    expires,
                    result: None,
                    notify: Arc::new(Notify::new()),
                },
            );
            let q = st.queues.entry(env.to_string()).or_default();
            q.items.push_back((item, expires));
            q.notify.notify_one();
        });
        ready(Ok(()))
    }

    fn next_work<'a>(&'a self, env: &'a str, wait: Duration) -> StoreFuture<'a, Option<WorkItem>> {
        Box::pin(async move {
            let deadline = Instant::now() + wait;
            loop {
                let notify = {
                    let mut st = self.lock();
                    let now = Instant::now();
                    let q = st.queues.entry(env.to_string()).or_default();
                    while let Some((item, expires)) = q.items.pop_front() {
                        if expires > now {
                            return Ok(Some(item));
                        }
                    }
                    q.notify.clone()
                };
                if tokio::time::timeout_at(deadline, notify.notified())
                    .await
                    .is_err()
                {
                    return Ok(None);
                }
            }
        })
    }

    fn cancel_work<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        self.with(|st| st.drop_work(env, id));
        ready(Ok(()))
    }

    fn post_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        result: WorkResult,
    ) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        ready(Ok(self.with(|st| match st.pending.get_mut(id) {
            Some(p) if p.env == env && p.expires > now && p.result.is_none() => {
                p.result = Some(result);
                p.notify.notify_one();
                true
            }
            _ => false,
        })))
    }

    fn wait_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        wait: Duration,
    ) -> StoreFuture<'a, Option<WorkResult>> {
        Box::pin(async move {
            let deadline = Instant::now() + wait;
            loop {
                let notify = {
                    let mut st = self.lock();
                    match st.pending.get_mut(id) {
                        Some(p) if p.env == env => match p.result.take() {
                            Some(r) => {
                                st.pending.remove(id);
                                return Ok(Some(r));
                            }
                            None => p.notify.clone(),
                        },
                        _ => return Ok(None),
                    }
                };
                if tokio::time::timeout_at(deadline, notify.notified())
                    .await
                    .is_err()
                {
                    self.with(|st| st.drop_work(env, id));
                    return Ok(None);
                }
            }
        })
    }

    fn sweep(&self, forget_after: Duration) -> StoreFuture<'_, Vec<String>> {
        let now = Instant::now();
        ready(Ok(self.with(|st| {
            st.grants.retain(|_, (_, expires)| *expires > now);
            st.pending.retain(|_, p| p.expires > now);
            let forgotten: Vec<String> = st
                .envs
                .iter()
                .filter(|(_, e)| now.saturating_duration_since(e.last_seen) >= forget_after)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &forgotten {
                st.envs.remove(id);
            }
            let State {
                envs,
                queues,
                pending,
                ..
            } = st;
            queues.retain(|id, q| {
                q.items.retain(|(_, expires)| *expires > now);
                envs.contains_key(id)
            });
            pending.retain(|_, p| envs.contains_key(&p.env));
            forgotten
        })))
    }
}

/// Runs a store future that the memory and file stores complete at once.
#[cfg(test)]
pub(crate) fn now<T>(f: StoreFuture<'_, T>) -> super::StoreResult<T> {
    crate::store::poll_now(f).expect("the store answered at once")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::SpawnMode;
    use rcd_proto::relay::Work;

    fn env(id: &str, owner: &str) -> EnvRecord {
        EnvRecord {
            id: id.into(),
            owner: owner.into(),
            name: "n".into(),
            machine: "m".into(),
            dir: "/".into(),
            version: "0".into(),
            spawn: SpawnMode::SameDir,
            capacity: 2,
            used: 0,
            sessions: vec![],
            programs: vec![],
            default_program: None,
        }
    }

    fn item(id: &str) -> WorkItem {
        WorkItem {
            id: id.into(),
            work: Work::Stop {
                name: "a".into(),
                force: false,
            },
        }
    }

    #[test]
    fn grants_expire_and_take_uses_them_up() {
        let s = MemoryStore::new();
        let g = Grant::Pairing {
            owner: "enr_a".into(),
            env: "env_1".into(),
        };
        now(s.put_grant("h1".into(), g.clone(), Duration::from_secs(60))).unwrap();
        now(s.put_grant("h2".into(), g.clone(), Duration::ZERO)).unwrap();
        assert_eq!(now(s.get_grant("h1")).unwrap(), Some(g.clone()));
        assert_eq!(now(s.get_grant("h2")).unwrap(), None, "expired");
        assert_eq!(now(s.take_grant("h1")).unwrap(), Some(g));
        assert_eq!(now(s.take_grant("h1")).unwrap(), None, "one use");
    }

    #[tokio::test]
    async fn work_is_delivered_once_and_results_reach_the_waiter() {
        let s = Arc::new(MemoryStore::new());
        now(s.put_environment(env("env_1", "enr_a"))).unwrap();
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.next_work("env_1", Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        s.push_work("env_1", item("w1"), Duration::from_secs(5))
            .await
            .unwrap();
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.map(|i| i.id), Some("w1".to_string()));
        assert_eq!(
            s.next_work("env_1", Duration::from_millis(10))
                .await
                .unwrap(),
            None,
            "delivered once"
        );
        let result = WorkResult::Failed {
            error: rcd_proto::ErrorReply {
                kind: rcd_proto::ErrorKind::AtCapacity,
                message: "full".into(),
            },
        };
        assert!(
            !now(s.post_result("env_2", "w1", result.clone())).unwrap(),
            "another environment's work"
        );
        assert!(now(s.post_result("env_1", "w1", result.clone())).unwrap());
        let r = s
            .wait_result("env_1", "w1", Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(r, Some(result));
    }

    #[tokio::test]
    async fn an_unanswered_item_times_out_and_is_withdrawn() {
        let s = MemoryStore::new();
        now(s.put_environment(env("env_1", "enr_a"))).unwrap();
        now(s.push_work("env_1", item("w1"), Duration::from_secs(5))).unwrap();
        let r = s
            .wait_result("env_1", "w1", Duration::from_millis(20))
            .await
            .unwrap();
        assert_eq!(r, None);
        assert_eq!(
            s.next_work("env_1", Duration::ZERO).await.unwrap(),
            None,
            "withdrawn from the queue"
        );
    }

    #[test]
    fn sweep_forgets_silent_environments() {
        let s = MemoryStore::new();
        now(s.put_environment(env("env_1", "enr_a"))).unwrap();
        now(s.put_environment(env("env_2", "enr_b"))).unwrap();
        assert_eq!(now(s.list_environments(Some("enr_a"))).unwrap().len(), 1);
        assert!(
            now(s.sweep(Duration::from_secs(60))).unwrap().is_empty(),
            "both are fresh"
        );
        let mut gone = now(s.sweep(Duration::ZERO)).unwrap();
        gone.sort();
        assert_eq!(gone, ["env_1", "env_2"]);
        assert!(now(s.list_environments(None)).unwrap().is_empty());
    }
}
