//! The set of long-lived tokens, shared by [`super::MemoryStore`] (in
//! memory) and [`super::FileStore`] (loaded from and saved to
//! `tokens.json`).

use super::{StoreError, StoreResult, TokenKind, TokenRecord};
use serde::{Deserialize, Serialize};

/// Version of the `tokens.json` layout.
pub(crate) const TOKEN_FILE_VERSION: u32 = 1;

/// Every token, in creation order. Revoked tokens stay (listed as
/// revoked); the list is small (one entry per daemon and device).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenSet {
    pub version: u32,
    pub tokens: Vec<TokenRecord>,
}

impl TokenSet {
    pub fn new() -> TokenSet {
        TokenSet {
            version: TOKEN_FILE_VERSION,
            tokens: Vec::new(),
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
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str, kind: TokenKind, owner: Option<&str>) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            kind,
            hash: format!("h-{id}"),
            owner: owner.map(Into::into),
            label: None,
            created: 1,
            revoked: false,
        }
    }

    #[test]
    fn revoking_an_enrollment_token_revokes_its_devices_only() {
        let mut set = TokenSet::new();
        set.insert(token("enr_a", TokenKind::Enrollment, None));
        set.insert(token("enr_b", TokenKind::Enrollment, None));
        set.insert(token("dev_1", TokenKind::Device, Some("enr_a")));
        set.insert(token("dev_2", TokenKind::Device, Some("enr_b")));
        let changed = set.revoke(TokenKind::Enrollment, "enr_a").unwrap();
        let ids: Vec<_> = changed.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["enr_a", "dev_1"]);
        assert!(!set.get(TokenKind::Device, "dev_2").unwrap().revoked);
        assert!(
            set.revoke(TokenKind::Enrollment, "enr_a")
                .unwrap()
                .is_empty(),
            "a second revocation changes nothing"
        );
        assert!(matches!(
            set.revoke(TokenKind::Device, "enr_b"),
            Err(StoreError::UnknownToken { .. })
        ));
        assert_eq!(
            set.find(TokenKind::Device, "h-dev_2").unwrap().id,
            "dev_2".to_string()
        );
        assert!(set.find(TokenKind::Enrollment, "h-dev_2").is_none());
    }
}
