//! The set of long-lived tokens, shared by [`super::MemoryStore`] (in
//! memory) and [`super::FileStore`] (loaded from and saved to
//! `tokens.json`), with what lives as long as they do: the relay's VAPID
//! key and each device token's push subscription.

use super::{PushSubscription, StoreError, StoreResult, TokenKind, TokenRecord};
use serde::{Deserialize, Serialize};

/// The VAPID key's text form in the token set.
pub(crate) mod b64 {
    use super::{StoreError, StoreResult};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    pub fn encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    pub fn decode_key(text: &str) -> StoreResult<Vec<u8>> {
        STANDARD
            .decode(text)
            .map_err(|e| StoreError::Backend(format!("the stored push key is not base64: {e}")))
    }
}

/// Version of the `tokens.json` layout.
pub(crate) const TOKEN_FILE_VERSION: u32 = 1;

/// Every token, in creation order. Revoked tokens stay (listed as
/// revoked); the list is small (one entry per daemon and device).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenSet {
    pub version: u32,
    pub tokens: Vec<TokenRecord>,
    /// The relay's VAPID key (PKCS#8, base64), made at the first need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_key: Option<String>,
    /// At most one per live device token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<PushSubscription>,
}

impl TokenSet {
    pub fn new() -> TokenSet {
        TokenSet {
            version: TOKEN_FILE_VERSION,
            tokens: Vec::new(),
            push_key: None,
            push: Vec::new(),
        }
    }

    pub fn insert(&mut self, token: TokenRecord) {
        self.tokens.retain(|t| t.id != token.id);
        self.tokens.push(token);
    }

    pub fn find(&self, kind: TokenKind, hash: &str) -> Option<TokenRecord> {
        self.tokens
            .iter()
            .find(|t| t.kind == kind && t.hash == hash)
            .cloned()
    }

    pub fn get(&self, kind: TokenKind, id: &str) -> Option<TokenRecord> {
        self.tokens
            .iter()
            .find(|t| t.kind == kind && t.id == id)
            .cloned()
    }

    pub fn list(&self, kind: TokenKind) -> Vec<TokenRecord> {
        self.tokens
            .iter()
            .filter(|t| t.kind == kind)
            .cloned()
            .collect()
    }

    /// Revokes `id` (and the devices of an enrollment token); returns what
    /// changed.
    pub fn revoke(&mut self, kind: TokenKind, id: &str) -> StoreResult<Vec<TokenRecord>> {
        if !self.tokens.iter().any(|t| t.kind == kind && t.id == id) {
            return Err(StoreError::UnknownToken {
                kind,
                id: id.to_string(),
            });
        }
        let mut changed = Vec::new();
        for t in &mut self.tokens {
            let hit = (t.kind == kind && t.id == id)
                || (kind == TokenKind::Enrollment
                    && t.kind == TokenKind::Device
                    && t.owner.as_deref() == Some(id));
            if hit && !t.revoked {
                t.revoked = true;
                changed.push(t.clone());
            }
        }
        // A revoked device receives nothing: its subscription goes with it.
        let live = self.live_devices();
        self.push.retain(|p| live.contains(&p.device));
        Ok(changed)
    }

    /// The ids of the device tokens that are live: not revoked, and their
    /// enrollment token neither.
    fn live_devices(&self) -> std::collections::HashSet<String> {
        let owners: std::collections::HashSet<&str> = self
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Enrollment && !t.revoked)
            .map(|t| t.id.as_str())
            .collect();
        self.tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Device && !t.revoked)
            .filter(|t| t.owner.as_deref().is_some_and(|o| owners.contains(o)))
            .map(|t| t.id.clone())
            .collect()
    }

    /// The VAPID key, or `fresh` kept as the key when there is none yet.
    pub fn push_key(&mut self, fresh: String) -> String {
        self.push_key.get_or_insert(fresh).clone()
    }

    /// Adds or replaces the subscription of its device; false (nothing
    /// kept) when that device token is not live.
    pub fn put_push(&mut self, sub: PushSubscription) -> bool {
        if !self.live_devices().contains(&sub.device) {
            return false;
        }
        self.push.retain(|p| p.device != sub.device);
        self.push.push(sub);
        true
    }

    pub fn get_push(&self, device: &str) -> Option<PushSubscription> {
        self.push.iter().find(|p| p.device == device).cloned()
    }

    /// Removes the device's subscription (only if its endpoint is
    /// `endpoint`, when given); whether one was removed.
    pub fn remove_push(&mut self, device: &str, endpoint: Option<&str>) -> bool {
        let before = self.push.len();
        self.push
            .retain(|p| p.device != device || endpoint.is_some_and(|e| e != p.endpoint));
        before != self.push.len()
    }

    /// The subscriptions of the live devices of enrollment token `owner`.
    pub fn pushes_of(&self, owner: &str) -> Vec<PushSubscription> {
        let live = self.live_devices();
        let mine: std::collections::HashSet<&str> = self
            .tokens
            .iter()
            .filter(|t| t.owner.as_deref() == Some(owner) && live.contains(&t.id))
            .map(|t| t.id.as_str())
            .collect();
        self.push
            .iter()
            .filter(|p| mine.contains(p.device.as_str()))
            .cloned()
            .collect()
    }
}
