//! [`FileStore`]: tokens persisted in `<data-dir>/tokens.json`, everything
//! else in a [`MemoryStore`].
//!
//! - Writes take an exclusive `flock` on `<data-dir>/tokens.lock`, re-read
//!   the file, change it, and replace it atomically (temporary file, fsync,
//!   rename, fsync of the directory), so `rc-relay token …` and a running
//!   relay can both write without losing each other's changes.
//! - Reads compare the file's inode, size and modification time with the
//!   copy in memory and re-read it when any differs: a running relay sees a
//!   token created or revoked by the command line at its next request (one
//!   `stat` per token lookup).
//! - The directory is created 0700 and the file written 0600.
//!
//! The file is small and written rarely (token creation, pairing,
//! revocation), so its I/O is done inline rather than on a blocking pool.

use super::tokens::{TOKEN_FILE_VERSION, TokenSet};
use super::{
    EnvEntry, EnvRecord, Grant, MemoryStore, PushSubscription, Store, StoreError, StoreFuture,
    StoreResult, TokenKind, TokenRecord, b64, ready,
};
use nix::fcntl::{Flock, FlockArg};
use rcd_proto::SessionInfo;
use rcd_proto::relay::{Heartbeat, WorkItem, WorkResult};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Name of the token file in the data directory.
pub const TOKEN_FILE: &str = "tokens.json";
const LOCK_FILE: &str = "tokens.lock";

/// Tokens on disk, the rest in memory.
#[derive(Debug)]
pub struct FileStore {
    mem: MemoryStore,
    dir: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// What the file looked like when `set` was read; `None`: no file.
    stamp: Option<Stamp>,
    set: TokenSet,
}

/// Enough of a file's metadata to notice that it was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            ino: meta.ino(),
            len: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

impl FileStore {
    /// Opens (creating it 0700 if needed) the data directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> StoreResult<FileStore> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
        let store = FileStore {
            mem: MemoryStore::new(),
            dir,
            cache: Mutex::new(Cache::default()),
        };
        drop(store.tokens()?);
        Ok(store)
    }

    /// The token file's path.
    pub fn token_file(&self) -> PathBuf {
        self.dir.join(TOKEN_FILE)
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn io_err(&self, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    }

    /// Reads the file: its stamp and tokens (`None`, empty: no file).
    fn read(&self) -> StoreResult<(Option<Stamp>, TokenSet)> {
        let path = self.token_file();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, TokenSet::new())),
            Err(e) => return Err(self.io_err(&path)(e)),
        };
        // Stat after reading: if the file was replaced in between, the
        // next lookup sees a new stamp and reads it again.
        let stamp = fs::metadata(&path).ok().map(|m| Stamp::of(&m));
        let set: TokenSet = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if set.version != TOKEN_FILE_VERSION {
            return Err(StoreError::Corrupt {
                path,
                reason: format!(
                    "layout version {} where this rc-relay writes {TOKEN_FILE_VERSION}; \
                     use the rc-relay that wrote it",
                    set.version
                ),
            });
        }
        Ok((stamp, set))
    }

    /// The tokens, re-read if the file changed since the last look.
    fn tokens(&self) -> StoreResult<MutexGuard<'_, Cache>> {
        let path = self.token_file();
        let now = match fs::metadata(&path) {
            Ok(m) => Some(Stamp::of(&m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.io_err(&path)(e)),
        };
        let mut cache = self.lock();
        if cache.stamp != now || (now.is_none() && !cache.set.tokens.is_empty()) {
            let (stamp, set) = self.read()?;
            tracing::debug!(file = %path.display(), tokens = set.tokens.len(), "token file (re)read");
            cache.stamp = stamp;
            cache.set = set;
        }
        Ok(cache)
    }

    /// Applies `change` to the file under the cross-process lock.
    fn mutate<T>(&self, change: impl FnOnce(&mut TokenSet) -> StoreResult<T>) -> StoreResult<T> {
        let lock_path = self.dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(self.io_err(&lock_path))?;
        let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| self.io_err(&lock_path)(io::Error::from(errno)))?;
        let mut cache = self.lock();
        let (_, mut set) = self.read()?;
        let out = change(&mut set)?;
        set.version = TOKEN_FILE_VERSION;
        let stamp = self.write(&set)?;
        cache.stamp = Some(stamp);
        cache.set = set;
        Ok(out)
    }

    /// Writes the file atomically; returns its new stamp.
    fn write(&self, set: &TokenSet) -> StoreResult<Stamp> {
        let path = self.token_file();
        let tmp = self
            .dir
            .join(format!(".{TOKEN_FILE}.{}.tmp", std::process::id()));
        let body = serde_json::to_vec_pretty(set).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let result = (|| {
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&body)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()?;
            fs::metadata(&path)
        })();
        match result {
            Ok(meta) => Ok(Stamp::of(&meta)),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(self.io_err(&path)(e))
            }
        }
    }
}

impl Store for FileStore {
    fn insert_token(&self, token: TokenRecord) -> StoreFuture<'_, ()> {
        ready(self.mutate(|set| {
            set.insert(token);
            Ok(())
        }))
    }

    fn find_token<'a>(
        &'a self,
        kind: TokenKind,
        hash: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        ready(self.tokens().map(|c| c.set.find(kind, hash)))
    }

    fn get_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>> {
        ready(self.tokens().map(|c| c.set.get(kind, id)))
    }

    fn list_tokens(&self, kind: TokenKind) -> StoreFuture<'_, Vec<TokenRecord>> {
        ready(self.tokens().map(|c| c.set.list(kind)))
    }

    fn revoke_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Vec<TokenRecord>> {
        ready(self.mutate(|set| set.revoke(kind, id)))
    }

    fn push_key(&self, fresh: Vec<u8>) -> StoreFuture<'_, Vec<u8>> {
        let stored = match self.tokens() {
            Ok(c) => c.set.push_key.clone(),
            Err(e) => return ready(Err(e)),
        };
        let key = match stored {
            Some(k) => Ok(k),
            // Under the file's lock: a key another process wrote first wins.
            None => self.mutate(|set| Ok(set.push_key(b64::encode(&fresh)))),
        };
        ready(key.and_then(|k| b64::decode_key(&k)))
    }

    fn put_subscription(&self, sub: PushSubscription) -> StoreFuture<'_, bool> {
        ready(self.mutate(|set| Ok(set.put_push(sub))))
    }

    fn get_subscription<'a>(
        &'a self,
        device: &'a str,
    ) -> StoreFuture<'a, Option<PushSubscription>> {
        ready(self.tokens().map(|c| c.set.get_push(device)))
    }

    fn remove_subscription<'a>(
        &'a self,
        device: &'a str,
        endpoint: Option<&'a str>,
    ) -> StoreFuture<'a, bool> {
        let present = match self.tokens() {
            Ok(c) => c.set.get_push(device).is_some(),
            Err(e) => return ready(Err(e)),
        };
        if !present {
            return ready(Ok(false));
        }
        ready(self.mutate(|set| Ok(set.remove_push(device, endpoint))))
    }

    fn list_subscriptions<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<PushSubscription>> {
        ready(self.tokens().map(|c| c.set.pushes_of(owner)))
    }

    fn put_grant(&self, hash: String, grant: Grant, ttl: Duration) -> StoreFuture<'_, ()> {
        self.mem.put_grant(hash, grant, ttl)
    }

    fn get_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        self.mem.get_grant(hash)
    }

    fn take_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>> {
        self.mem.take_grant(hash)
    }

    fn put_environment(&self, env: EnvRecord) -> StoreFuture<'_, ()> {
        self.mem.put_environment(env)
    }

    fn seen<'a>(&'a self, env: &'a str, heartbeat: Option<Heartbeat>) -> StoreFuture<'a, bool> {
        self.mem.seen(env, heartbeat)
    }

    fn set_session<'a>(
        &'a self,
        env: &'a str,
        name: &'a str,
        session: Option<SessionInfo>,
    ) -> StoreFuture<'a, ()> {
        self.mem.set_session(env, name, session)
    }

    fn get_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<EnvEntry>> {
        self.mem.get_environment(id)
    }

    fn list_environments<'a>(&'a self, owner: Option<&'a str>) -> StoreFuture<'a, Vec<EnvEntry>> {
        self.mem.list_environments(owner)
    }

    fn remove_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        self.mem.remove_environment(id)
    }

    fn push_work<'a>(&'a self, env: &'a str, item: WorkItem, ttl: Duration) -> StoreFuture<'a, ()> {
        self.mem.push_work(env, item, ttl)
    }

    fn next_work<'a>(&'a self, env: &'a str, wait: Duration) -> StoreFuture<'a, Option<WorkItem>> {
        self.mem.next_work(env, wait)
    }

    fn cancel_work<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        self.mem.cancel_work(env, id)
    }

    fn post_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        result: WorkResult,
    ) -> StoreFuture<'a, bool> {
        self.mem.post_result(env, id, result)
    }

    fn wait_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        wait: Duration,
    ) -> StoreFuture<'a, Option<WorkResult>> {
        self.mem.wait_result(env, id, wait)
    }

    fn sweep(&self, forget_after: Duration) -> StoreFuture<'_, Vec<String>> {
        self.mem.sweep(forget_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::now;
    use std::os::unix::fs::PermissionsExt;

    fn token(id: &str, hash: &str) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            kind: TokenKind::Enrollment,
            hash: hash.into(),
            owner: None,
            label: Some("laptop".into()),
            created: 7,
            revoked: false,
        }
    }

    #[test]
    fn tokens_persist_privately_and_changes_by_another_process_are_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let a = FileStore::open(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        now(a.insert_token(token("enr_1", "h1"))).unwrap();
        let file = dir.join(TOKEN_FILE);
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.contains("\"hash\": \"h1\""), "{text}");

        // A second store on the same directory stands for the command line.
        let b = FileStore::open(&dir).unwrap();
        assert_eq!(
            now(b.find_token(TokenKind::Enrollment, "h1")).unwrap(),
            Some(token("enr_1", "h1"))
        );
        now(b.insert_token(token("enr_2", "h2"))).unwrap();
        now(b.revoke_token(TokenKind::Enrollment, "enr_1")).unwrap();
        let seen = now(a.list_tokens(TokenKind::Enrollment)).unwrap();
        assert_eq!(seen.len(), 2, "a sees b's token");
        assert!(seen[0].revoked, "a sees b's revocation");
        // And b sees a's next change: neither overwrites the other.
        now(a.insert_token(token("enr_3", "h3"))).unwrap();
        assert_eq!(now(b.list_tokens(TokenKind::Enrollment)).unwrap().len(), 3);
    }

    #[test]
    fn a_corrupt_file_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(TOKEN_FILE), "{not json").unwrap();
        let err = FileStore::open(tmp.path()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
