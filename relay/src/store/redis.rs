//! [`RedisStore`]: the relay's state in Redis (7 or newer), so that
//! several relay instances share it.
//!
//! Every key starts with `rcd:`. What each holds, and how it ends:
//!
//! | key | type | holds | ends |
//! | --- | --- | --- | --- |
//! | `rcd:tok:{kind}:{id}` | hash | `json` (the record as made), `hash`, `owner`, `seq`, `revoked` | never (revoked tokens stay listed) |
//! | `rcd:tokhash:{kind}:{hash}` | string | the token's id | with the token |
//! | `rcd:toks:{kind}` | sorted set | ids by `seq` (creation order) | never |
//! | `rcd:owned:{enrollment id}` | set | its device tokens' ids | never |
//! | `rcd:pushkey` | string | the VAPID key, base64 | never |
//! | `rcd:push:{device id}` | string | the device's push subscription (JSON) | with its device's revocation |
//! | `rcd:grant:{hash}` | string | a short-lived secret's grant (JSON) | its time to live (`PX`) |
//! | `rcd:env:{id}` | hash | `record` (JSON, sessions left out), `spawn`, `capacity`, `used` | the sweep, or removal |
//! | `rcd:envsess:{id}` | list | the environment's sessions (JSON), in order | with its environment |
//! | `rcd:envs`, `rcd:envs:{owner}` | set | environment ids, all and by owner | members whose environment is gone are dropped when listed |
//! | `rcd:seen` | sorted set | environment id by its last sign of life (Redis's clock, ms) | with its environment |
//! | `rcd:q:{env}` | list | ids of queued work, oldest first | with its environment |
//! | `rcd:pend:{work id}` | hash | `env`, `item` (JSON), `done` | the work's time to live (`PX`) |
//! | `rcd:res:{work id}` | list | the work's result (JSON), at most one | the work's time to live |
//! | `rcd:pushed:{topic}` | string | the attention episode (`since`) last pushed for a session | a day |
//!
//! Every step that reads and then writes is one Lua script, so it is
//! atomic against every instance. Times that instances compare (presence)
//! come from Redis's own clock (`TIME` in the scripts), never from an
//! instance's. Scripts build their key names from their arguments, so the
//! store needs one Redis (with replicas if wanted), not a Redis Cluster.
//!
//! Work queues: [`Store::next_work`] waits with `BLPOP` on a connection of
//! its own (a blocking command would hold up every request sharing a
//! multiplexed connection); such connections are kept in a small pool.
//! An item is live as long as its `pend` key is: a popped id whose `pend`
//! key has expired or was cancelled is skipped, so every item is delivered
//! at most once, and exactly once while it lives.
//!
//! Failures: every command has a time limit ([`RESPONSE_TIMEOUT`]); a
//! Redis that does not answer gives [`StoreError::Unavailable`], which the
//! relay answers with 503. The shared connection reconnects by itself.

use super::{
    EnvEntry, EnvRecord, Grant, PushSubscription, Store, StoreError, StoreFuture, StoreResult,
    TokenKind, TokenRecord, b64,
};
use rcd_proto::SessionInfo;
use rcd_proto::SpawnMode;
use rcd_proto::relay::{Heartbeat, WorkItem, WorkResult};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Script};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a command may take before Redis counts as unavailable.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Blocking connections kept for reuse.
const POOL: usize = 16;
/// The prefix of every key.
const P: &str = "rcd:";

/// The relay's state in Redis. See the module documentation.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where Redis is, without a password (for messages).
    shown: String,
    client: redis::Client,
    shared: ConnectionManager,
    /// Connections for blocking commands, one caller at a time each.
    idle: Mutex<Vec<MultiplexedConnection>>,
    scripts: Scripts,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("redis", &self.inner.shown)
            .finish()
    }
}

/// The URL as it may be shown: any password replaced.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn unavailable(shown: &str, e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis at {shown} did not answer: {e}"))
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`, or
    /// `redis://:PASSWORD@HOST:PORT/DB`) and checks that it answers and
    /// is version 7 or newer.
    pub async fn connect(url: &str) -> StoreResult<RedisStore> {
        let shown = shown(url);
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Backend(format!("--redis {shown}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let mut shared = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot reach Redis at {shown}: {e}")))?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut shared)
            .await
            .map_err(|e| unavailable(&shown, &e))?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("0")
            .trim()
            .to_string();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < 7 {
            return Err(StoreError::Backend(format!(
                "Redis at {shown} is version {version}; the relay needs 7 or newer"
            )));
        }
        Ok(RedisStore {
            inner: Arc::new(Inner {
                shown,
                client,
                shared,
                idle: Mutex::new(Vec::new()),
                scripts: Scripts::new(),
            }),
        })
    }

    /// Where this Redis is, any password left out.
    pub fn shown(&self) -> &str {
        &self.inner.shown
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.shared.clone()
    }

    fn fail(&self, e: redis::RedisError) -> StoreError {
        unavailable(&self.inner.shown, &e)
    }

    /// Runs a command on the shared connection.
    async fn q<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> StoreResult<T> {
        cmd.query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail(e))
    }

    /// Runs a script on the shared connection.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        args: &[&str],
    ) -> StoreResult<T> {
        let mut inv = script.prepare_invoke();
        inv.arg(P);
        for a in args {
            inv.arg(*a);
        }
        inv.invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.fail(e))
    }

    /// A blocking pop of `key`, waiting up to `wait`, on a connection of
    /// its own.
    async fn blpop(&self, key: &str, wait: Duration) -> StoreResult<Option<String>> {
        if wait.is_zero() {
            return self.q(redis::cmd("LPOP").arg(key)).await;
        }
        let pooled = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None);
                self.inner
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(|e| self.fail(e))?
            }
        };
        let cmd = redis::cmd("BLPOP").arg(key).arg(wait.as_secs_f64()).clone();
        // Redis ends the wait itself; the limit here is for a Redis that
        // stopped answering.
        let got: Result<redis::RedisResult<Option<(String, String)>>, _> =
            tokio::time::timeout(wait + RESPONSE_TIMEOUT, cmd.query_async(&mut conn)).await;
        match got {
            Ok(Ok(v)) => {
                let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < POOL {
                    idle.push(conn);
                }
                Ok(v.map(|(_, item)| item))
            }
            Ok(Err(e)) => Err(self.fail(e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis at {} did not answer within {:?}",
                self.inner.shown,
                wait + RESPONSE_TIMEOUT
            ))),
        }
    }

    async fn token(&self, kind: TokenKind, id: &str) -> StoreResult<Option<TokenRecord>> {
        Ok(self.tokens(kind, &[id.to_string()]).await?.pop())
    }

    /// The tokens of `kind` with these ids that exist, in the order
    /// given, in one round trip.
    async fn tokens(&self, kind: TokenKind, ids: &[String]) -> StoreResult<Vec<TokenRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(format!("{P}tok:{kind}:{id}"))
                .arg("json")
                .arg("revoked");
        }
        let rows: Vec<(Option<String>, Option<String>)> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (json, revoked) in rows {
            if let Some(json) = json {
                let mut t: TokenRecord = from_json(&json)?;
                t.revoked = t.revoked || revoked.is_some();
                out.push(t);
            }
        }
        Ok(out)
    }

    async fn entry(&self, id: &str) -> StoreResult<Option<EnvEntry>> {
        Ok(self.entries(&[id.to_string()]).await?.pop().flatten())
    }

    /// The environments with these ids, in the order given (`None` for
    /// one that is gone), in one round trip: each one's fields, sessions
    /// and last sign of life, then Redis's time.
    async fn entries(&self, ids: &[String]) -> StoreResult<Vec<Option<EnvEntry>>> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(format!("{P}env:{id}"))
                .arg("record")
                .arg("spawn")
                .arg("capacity")
                .arg("used")
                .cmd("LRANGE")
                .arg(format!("{P}envsess:{id}"))
                .arg(0)
                .arg(-1)
                .cmd("ZSCORE")
                .arg(format!("{P}seen"))
                .arg(id);
        }
        pipe.cmd("TIME");
        let mut values: Vec<redis::Value> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail(e))?;
        let time: (u64, u64) = match values.pop() {
            Some(v) => parse(v)?,
            None => return Ok(Vec::new()),
        };
        let now_ms = time.0 * 1000 + time.1 / 1000;
        let mut out = Vec::with_capacity(ids.len());
        let mut values = values.into_iter();
        while let (Some(fields), Some(sessions), Some(seen)) =
            (values.next(), values.next(), values.next())
        {
            let (fields, sessions, seen): EnvReply =
                (parse(fields)?, parse(sessions)?, parse(seen)?);
            out.push(env_entry(&fields, &sessions, seen, now_ms)?);
        }
        Ok(out)
    }

    /// Removes an environment's keys; whether it existed.
    async fn drop_env(&self, id: &str) -> StoreResult<bool> {
        let n: i64 = self.run(&self.inner.scripts.remove_env, &[id]).await?;
        Ok(n > 0)
    }
}

/// An environment's fields, sessions and last sign of life.
type EnvReply = (Vec<Option<String>>, Vec<String>, Option<f64>);

/// One reply of a pipeline, as `T`.
fn parse<T: redis::FromRedisValue>(v: redis::Value) -> StoreResult<T> {
    redis::from_redis_value(v)
        .map_err(|e| StoreError::Backend(format!("an answer of Redis this relay cannot read: {e}")))
}

/// An environment from its keys' values; `None` when it is gone.
fn env_entry(
    fields: &[Option<String>],
    sessions: &[String],
    seen: Option<f64>,
    now_ms: u64,
) -> StoreResult<Option<EnvEntry>> {
    let [Some(record), spawn, capacity, used] = fields else {
        return Ok(None);
    };
    let mut record: EnvRecord = from_json(record)?;
    if let Some(spawn) = spawn {
        record.spawn = from_json::<SpawnMode>(spawn)?;
    }
    record.capacity = capacity
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(record.capacity);
    record.used = used
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(record.used);
    record.sessions = sessions
        .iter()
        .map(|s| from_json::<SessionInfo>(s))
        .collect::<StoreResult<_>>()?;
    let seen = seen.map_or(now_ms, |s| s as u64);
    let idle = Duration::from_millis(now_ms.saturating_sub(seen));
    Ok(Some(EnvEntry { record, idle }))
}

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encoding for Redis: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| {
        StoreError::Backend(format!(
            "Redis holds a value this relay cannot read ({e}); is another program using its \
             `rcd:` keys?"
        ))
    })
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

/// The scripts, each the atomic form of one step. `ARGV[1]` is always
/// the key prefix.
struct Scripts {
    insert_token: Script,
    revoke: Script,
    put_push: Script,
    remove_push: Script,
    put_env: Script,
    seen: Script,
    set_session: Script,
    remove_env: Script,
    push_work: Script,
    post_result: Script,
    sweep: Script,
    claim_push: Script,
}

/// A device token is live: not revoked, and its owner neither.
const LIVE: &str = r#"
local function live(p, dev)
  local k = p .. 'tok:device:' .. dev
  if redis.call('EXISTS', k) == 0 or redis.call('HEXISTS', k, 'revoked') == 1 then return false end
  local owner = redis.call('HGET', k, 'owner')
  if not owner then return false end
  local ok = p .. 'tok:enrollment:' .. owner
  return redis.call('EXISTS', ok) == 1 and redis.call('HEXISTS', ok, 'revoked') == 0
end
"#;

/// Removes an environment's keys (`p`, `id`); 1 if it existed.
const REMOVE_ENV: &str = r#"
local function remove_env(p, id)
  local k = p .. 'env:' .. id
  local owner = nil
  local rec = redis.call('HGET', k, 'record')
  if rec then owner = cjson.decode(rec).owner end
  local existed = redis.call('DEL', k)
  redis.call('DEL', p .. 'envsess:' .. id, p .. 'q:' .. id)
  redis.call('ZREM', p .. 'seen', id)
  redis.call('SREM', p .. 'envs', id)
  if owner then redis.call('SREM', p .. 'envs:' .. owner, id) end
  return existed
end
"#;

/// Replaces an environment's changing part with `ARGV[first..]`: spawn,
/// capacity, used, then the sessions' JSON.
const SET_STATE: &str = r#"
local function set_state(p, id, first)
  redis.call('HSET', p .. 'env:' .. id, 'spawn', ARGV[first], 'capacity', ARGV[first + 1],
    'used', ARGV[first + 2])
  local sk = p .. 'envsess:' .. id
  redis.call('DEL', sk)
  for i = first + 3, #ARGV do redis.call('RPUSH', sk, ARGV[i]) end
end
"#;

/// Redis's clock in milliseconds.
const NOW: &str = r#"
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"#;

impl Scripts {
    fn new() -> Scripts {
        let with = |parts: &[&str]| Script::new(&parts.concat());
        Scripts {
            // ARGV: p, kind, id, hash, owner ('' for none), json
            insert_token: Script::new(
                r#"
local p, kind, id, hash, owner, json = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local k = p .. 'tok:' .. kind .. ':' .. id
local old = redis.call('HGET', k, 'hash')
if old then redis.call('DEL', p .. 'tokhash:' .. kind .. ':' .. old) end
redis.call('DEL', k)
local seq = redis.call('INCR', p .. 'tokseq')
redis.call('HSET', k, 'json', json, 'hash', hash, 'seq', seq)
if owner ~= '' then
  redis.call('HSET', k, 'owner', owner)
  redis.call('SADD', p .. 'owned:' .. owner, id)
end
redis.call('SET', p .. 'tokhash:' .. kind .. ':' .. hash, id)
redis.call('ZADD', p .. 'toks:' .. kind, seq, id)
return 1
"#,
            ),
            // ARGV: p, kind, id. Returns false if unknown, else the ids
            // revoked now (the token first, then its devices by age).
            revoke: with(&[r#"
local p, kind, id = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'tok:' .. kind .. ':' .. id
if redis.call('EXISTS', k) == 0 then return false end
local changed = {}
if redis.call('HSETNX', k, 'revoked', '1') == 1 then table.insert(changed, id) end
if kind == 'device' then redis.call('DEL', p .. 'push:' .. id) end
if kind == 'enrollment' then
  local devs = {}
  for _, dev in ipairs(redis.call('SMEMBERS', p .. 'owned:' .. id)) do
    local dk = p .. 'tok:device:' .. dev
    local seq = tonumber(redis.call('HGET', dk, 'seq') or '0')
    if redis.call('HSETNX', dk, 'revoked', '1') == 1 then table.insert(devs, {seq, dev}) end
    redis.call('DEL', p .. 'push:' .. dev)
  end
  table.sort(devs, function(a, b) return a[1] < b[1] end)
  for _, d in ipairs(devs) do table.insert(changed, d[2]) end
end
return changed
"#]),
            // ARGV: p, device, json. 1 if kept.
            put_push: with(&[
                LIVE,
                r#"
local p, dev, json = ARGV[1], ARGV[2], ARGV[3]
if not live(p, dev) then return 0 end
redis.call('SET', p .. 'push:' .. dev, json)
return 1
"#,
            ]),
            // ARGV: p, device, endpoint ('' for any). 1 if removed.
            remove_push: Script::new(
                r#"
local p, dev, endpoint = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'push:' .. dev
local v = redis.call('GET', k)
if not v then return 0 end
if endpoint ~= '' and cjson.decode(v).endpoint ~= endpoint then return 0 end
return redis.call('DEL', k)
"#,
            ),
            // ARGV: p, id, owner, record json, spawn json, capacity, used,
            // then the sessions' json.
            put_env: with(&[
                NOW,
                SET_STATE,
                r#"
local p, id, owner = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'env:' .. id
local old = redis.call('HGET', k, 'record')
if old then
  local was = cjson.decode(old).owner
  if was ~= owner then redis.call('SREM', p .. 'envs:' .. was, id) end
end
redis.call('HSET', k, 'record', ARGV[4])
set_state(p, id, 5)
redis.call('SADD', p .. 'envs', id)
redis.call('SADD', p .. 'envs:' .. owner, id)
redis.call('ZADD', p .. 'seen', now(), id)
return 1
"#,
            ]),
            // ARGV: p, id, '0' (a poll) or '1' (a heartbeat), then for a
            // heartbeat: spawn json, capacity, used, sessions' json.
            seen: with(&[
                NOW,
                SET_STATE,
                r#"
local p, id, hb = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'env:' .. id
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('ZADD', p .. 'seen', now(), id)
if hb == '1' then set_state(p, id, 4) end
return 1
"#,
            ]),
            // ARGV: p, id, name, session json ('' to remove).
            set_session: Script::new(
                r#"
local p, id, name, json = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k = p .. 'env:' .. id
if redis.call('EXISTS', k) == 0 then return 0 end
local sk = p .. 'envsess:' .. id
local removed = false
for i, s in ipairs(redis.call('LRANGE', sk, 0, -1)) do
  if cjson.decode(s).name == name then
    redis.call('LSET', sk, i - 1, '')
    removed = true
  end
end
if removed then redis.call('LREM', sk, 0, '') end
local added = json ~= ''
if added then redis.call('RPUSH', sk, json) end
local used = tonumber(redis.call('HGET', k, 'used') or '0')
if added and not removed then used = used + 1 end
if removed and not added and used > 0 then used = used - 1 end
redis.call('HSET', k, 'used', used)
return 1
"#,
            ),
            // ARGV: p, id.
            remove_env: with(&[
                REMOVE_ENV,
                r#"
return remove_env(ARGV[1], ARGV[2])
"#,
            ]),
            // ARGV: p, env, work id, item json, ttl ms.
            push_work: Script::new(
                r#"
local p, env, id, item, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = p .. 'pend:' .. id
redis.call('DEL', k, p .. 'res:' .. id)
redis.call('HSET', k, 'env', env, 'item', item)
redis.call('PEXPIRE', k, ttl)
redis.call('RPUSH', p .. 'q:' .. env, id)
return 1
"#,
            ),
            // ARGV: p, env, work id, result json. 1 if delivered.
            post_result: Script::new(
                r#"
local p, env, id, result = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k = p .. 'pend:' .. id
if redis.call('HGET', k, 'env') ~= env then return 0 end
if redis.call('HSETNX', k, 'done', '1') == 0 then return 0 end
local ttl = redis.call('PTTL', k)
local rk = p .. 'res:' .. id
redis.call('RPUSH', rk, result)
if ttl > 0 then redis.call('PEXPIRE', rk, ttl) end
return 1
"#,
            ),
            // ARGV: p, forget after (ms). The environments forgotten now.
            // ARGV: p, topic, since. 1 when this call claimed the
            // episode, 0 when another process did.
            claim_push: Script::new(
                r#"
local p, topic, since = ARGV[1], ARGV[2], ARGV[3]
local k = p .. 'pushed:' .. topic
if redis.call('GET', k) == since then return 0 end
redis.call('SET', k, since, 'PX', 86400000)
return 1
"#,
            ),
            sweep: with(&[
                NOW,
                REMOVE_ENV,
                r#"
local p, after = ARGV[1], tonumber(ARGV[2])
local gone = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'seen', '-inf', now() - after)) do
  remove_env(p, id)
  table.insert(gone, id)
end
return gone
"#,
            ]),
        }
    }
}

/// The arguments of an environment's changing part: spawn, capacity,
/// used, then its sessions.
fn env_args(
    spawn: &SpawnMode,
    capacity: u32,
    used: u32,
    sessions: &[SessionInfo],
) -> StoreResult<Vec<String>> {
    let mut args = vec![to_json(spawn)?, capacity.to_string(), used.to_string()];
    for s in sessions {
        args.push(to_json(s)?);
    }
    Ok(args)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

impl Store for RedisStore {
    fn bus(&self) -> Option<crate::Bus> {
        Some(crate::Bus {
            client: self.inner.client.clone(),
            shown: self.inner.shown.clone(),
        })
    }

    fn insert_token(&self, token: TokenRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let json = to_json(&TokenRecord {
                revoked: false,
                ..token.clone()
            })?;
            let kind = token.kind.to_string();
            let owner = token.owner.clone().unwrap_or_default();
            let _: i64 = self
                .run(
                    &self.inner.scripts.insert_token,
                    &[&kind, &token.id, &token.hash, &owner, &json],
                )
                .await?;
            if token.revoked {
                let _: i64 = self
                    .q(redis::cmd("HSET")
                        .arg(format!("{P}tok:{kind}:{}", token.id))
                        .arg("revoked")
                        .arg("1"))
                    .await?;
            }
            Ok(())
        })
    }

    fn find_token<'a>(
        &'a self,
        kind: TokenKind,
        hash: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        Box::pin(async move {
            let id: Option<String> = self
                .q(redis::cmd("GET").arg(format!("{P}tokhash:{kind}:{hash}")))
                .await?;
            match id {
                Some(id) => self.token(kind, &id).await,
                None => Ok(None),
            }
        })
    }

    fn get_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        Box::pin(self.token(kind, id))
    }

    fn list_tokens(&self, kind: TokenKind) -> StoreFuture<'_, Vec<TokenRecord>> {
        Box::pin(async move {
            let ids: Vec<String> = self
                .q(redis::cmd("ZRANGE")
                    .arg(format!("{P}toks:{kind}"))
                    .arg(0)
                    .arg(-1))
                .await?;
            self.tokens(kind, &ids).await
        })
    }

    fn revoke_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Vec<TokenRecord>> {
        Box::pin(async move {
            let changed: Option<Vec<String>> = self
                .run(&self.inner.scripts.revoke, &[&kind.to_string(), id])
                .await?;
            let Some(changed) = changed else {
                return Err(StoreError::UnknownToken {
                    kind,
                    id: id.to_string(),
                });
            };
            // The token itself first (when this call revoked it), then the
            // devices the cascade revoked.
            let (own, devices) = match changed.split_first() {
                Some((first, rest)) if first == id => (true, rest),
                _ => (false, &changed[..]),
            };
            let mut out = if own {
                self.tokens(kind, &changed[..1]).await?
            } else {
                Vec::new()
            };
            out.extend(self.tokens(TokenKind::Device, devices).await?);
            Ok(out)
        })
    }

    fn push_key(&self, fresh: Vec<u8>) -> StoreFuture<'_, Vec<u8>> {
        Box::pin(async move {
            let key: Option<String> = self
                .q(redis::cmd("SET")
                    .arg(format!("{P}pushkey"))
                    .arg(b64::encode(&fresh))
                    .arg("NX")
                    .arg("GET"))
                .await?;
            match key {
                Some(k) => b64::decode_key(&k),
                None => Ok(fresh),
            }
        })
    }

    fn put_subscription(&self, sub: PushSubscription) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let json = to_json(&sub)?;
            let n: i64 = self
                .run(&self.inner.scripts.put_push, &[&sub.device, &json])
                .await?;
            Ok(n == 1)
        })
    }

    fn get_subscription<'a>(
        &'a self,
        device: &'a str,
    ) -> StoreFuture<'a, Option<PushSubscription>> {
        Box::pin(async move {
            let v: Option<String> = self
                .q(redis::cmd("GET").arg(format!("{P}push:{device}")))
                .await?;
            v.as_deref().map(from_json).transpose()
        })
    }

    fn remove_subscription<'a>(
        &'a self,
        device: &'a str,
        endpoint: Option<&'a str>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let n: i64 = self
                .run(
                    &self.inner.scripts.remove_push,
                    &[device, endpoint.unwrap_or("")],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn list_subscriptions<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<PushSubscription>> {
        Box::pin(async move {
            let owner_live = self
                .token(TokenKind::Enrollment, owner)
                .await?
                .is_some_and(|t| !t.revoked);
            if !owner_live {
                return Ok(Vec::new());
            }
            let devices: Vec<String> = self
                .q(redis::cmd("SMEMBERS").arg(format!("{P}owned:{owner}")))
                .await?;
            let live: Vec<String> = self
                .tokens(TokenKind::Device, &devices)
                .await?
                .into_iter()
                .filter(|t| !t.revoked)
                .map(|t| format!("{P}push:{}", t.id))
                .collect();
            if live.is_empty() {
                return Ok(Vec::new());
            }
            let subs: Vec<Option<String>> = self.q(redis::cmd("MGET").arg(&live)).await?;
            subs.iter().flatten().map(|v| from_json(v)).collect()
        })
    }

    fn put_grant(&self, hash: String, grant: Grant, ttl: Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if ttl.is_zero() {
                return Ok(());
            }
            let _: () = self
                .q(redis::cmd("SET")
                    .arg(format!("{P}grant:{hash}"))
                    .arg(to_json(&grant)?)
                    .arg("PX")
                    .arg(millis(ttl)))
                .await?;
            Ok(())
        })
    }

    fn get_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        Box::pin(async move {
            let v: Option<String> = self
                .q(redis::cmd("GET").arg(format!("{P}grant:{hash}")))
                .await?;
            v.as_deref().map(from_json).transpose()
        })
    }

    fn take_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        Box::pin(async move {
            let v: Option<String> = self
                .q(redis::cmd("GETDEL").arg(format!("{P}grant:{hash}")))
                .await?;
            v.as_deref().map(from_json).transpose()
        })
    }

    fn put_environment(&self, env: EnvRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let record = to_json(&EnvRecord {
                sessions: Vec::new(),
                ..env.clone()
            })?;
            let mut args = vec![env.id.clone(), env.owner.clone(), record];
            args.extend(env_args(&env.spawn, env.capacity, env.used, &env.sessions)?);
            let _: i64 = self.run(&self.inner.scripts.put_env, &strs(&args)).await?;
            Ok(())
        })
    }

    fn seen<'a>(&'a self, env: &'a str, heartbeat: Option<Heartbeat>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut args = vec![env.to_string()];
            match &heartbeat {
                None => args.push("0".into()),
                Some(hb) => {
                    args.push("1".into());
                    args.extend(env_args(&hb.spawn, hb.capacity, hb.used, &hb.sessions)?);
                }
            }
            let n: i64 = self.run(&self.inner.scripts.seen, &strs(&args)).await?;
            Ok(n == 1)
        })
    }

    fn set_session<'a>(
        &'a self,
        env: &'a str,
        name: &'a str,
        session: Option<SessionInfo>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let json = session
                .as_ref()
                .map(to_json)
                .transpose()?
                .unwrap_or_default();
            let _: i64 = self
                .run(&self.inner.scripts.set_session, &[env, name, &json])
                .await?;
            Ok(())
        })
    }

    fn get_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<EnvEntry>> {
        Box::pin(self.entry(id))
    }

    fn list_environments<'a>(&'a self, owner: Option<&'a str>) -> StoreFuture<'a, Vec<EnvEntry>> {
        Box::pin(async move {
            let set = match owner {
                Some(o) => format!("{P}envs:{o}"),
                None => format!("{P}envs"),
            };
            let ids: Vec<String> = self.q(redis::cmd("SMEMBERS").arg(&set)).await?;
            let mut out = Vec::with_capacity(ids.len());
            for (id, entry) in ids.iter().zip(self.entries(&ids).await?) {
                match entry {
                    Some(e) if owner.is_none_or(|o| e.record.owner == o) => out.push(e),
                    Some(_) => {}
                    None => {
                        let _: i64 = self.q(redis::cmd("SREM").arg(&set).arg(id)).await?;
                    }
                }
            }
            Ok(out)
        })
    }

    fn remove_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.drop_env(id))
    }

    fn push_work<'a>(&'a self, env: &'a str, item: WorkItem, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if ttl.is_zero() {
                return Ok(());
            }
            let json = to_json(&item)?;
            let _: i64 = self
                .run(
                    &self.inner.scripts.push_work,
                    &[env, &item.id, &json, &millis(ttl)],
                )
                .await?;
            Ok(())
        })
    }

    fn next_work<'a>(&'a self, env: &'a str, wait: Duration) -> StoreFuture<'a, Option<WorkItem>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            let queue = format!("{P}q:{env}");
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                // BLPOP counts in milliseconds at best: a wait shorter than
                // one is a look.
                let left = if left < Duration::from_millis(1) {
                    Duration::ZERO
                } else {
                    left
                };
                let Some(id) = self.blpop(&queue, left).await? else {
                    return Ok(None);
                };
                let item: Option<String> = self
                    .q(redis::cmd("HGET").arg(format!("{P}pend:{id}")).arg("item"))
                    .await?;
                if let Some(item) = item {
                    return Ok(Some(from_json(&item)?));
                }
                // Expired or withdrawn: look again.
                if left.is_zero() {
                    let more: i64 = self.q(redis::cmd("LLEN").arg(&queue)).await?;
                    if more == 0 {
                        return Ok(None);
                    }
                }
            }
        })
    }

    fn cancel_work<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: () = redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(format!("{P}pend:{id}"))
                .arg(format!("{P}res:{id}"))
                .ignore()
                .cmd("LREM")
                .arg(format!("{P}q:{env}"))
                .arg(0)
                .arg(id)
                .ignore()
                .query_async(&mut self.conn())
                .await
                .map_err(|e| self.fail(e))?;
            Ok(())
        })
    }

    fn post_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        result: WorkResult,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let json = to_json(&result)?;
            let n: i64 = self
                .run(&self.inner.scripts.post_result, &[env, id, &json])
                .await?;
            Ok(n == 1)
        })
    }

    fn wait_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        wait: Duration,
    ) -> StoreFuture<'a, Option<WorkResult>> {
        Box::pin(async move {
            let owner: Option<String> = self
                .q(redis::cmd("HGET").arg(format!("{P}pend:{id}")).arg("env"))
                .await?;
            if owner.as_deref() != Some(env) {
                return Ok(None);
            }
            let got = self.blpop(&format!("{P}res:{id}"), wait).await;
            // Forgotten either way, as the trait says.
            let forget = self.cancel_work(env, id).await;
            let got = got?;
            forget?;
            got.as_deref().map(from_json).transpose()
        })
    }

    fn sweep(&self, forget_after: Duration) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let ms = forget_after.as_millis().to_string();
            self.run(&self.inner.scripts.sweep, &[&ms]).await
        })
    }

    fn claim_push<'a>(&'a self, topic: &'a str, since: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let claimed: i64 = self
                .run(&self.inner.scripts.claim_push, &[topic, since])
                .await?;
            Ok(claimed == 1)
        })
    }
}
