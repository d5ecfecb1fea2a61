//! The kinds of relay secret, told apart by their prefix. The relay mints
//! them (`rc-relay`'s `secret` module uses these prefixes); rcd and rcctl
//! read the prefix to say, before anything is sent, that a token of the
//! wrong kind was given and which one to use instead.

/// Prefix of an enrollment token.
pub const ENROLLMENT_PREFIX: &str = "rce_";
/// Prefix of an environment credential.
pub const ENV_CREDENTIAL_PREFIX: &str = "rcenv_";
/// Prefix of a session credential.
pub const SESSION_CREDENTIAL_PREFIX: &str = "rcsess_";
/// Prefix of a device token.
pub const DEVICE_PREFIX: &str = "rcdev_";
/// Prefix of an attach ticket.
pub const TICKET_PREFIX: &str = "rctkt_";

/// What a relay secret is, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Held by a machine running rcd (`rc-relay token create`).
    Enrollment,
    /// Held by a device: rcctl or a browser (`rcctl pair`).
    Device,
    /// Short-lived, held by a running rcd for its environment.
    Environment,
    /// Short-lived, held by rcd for one session's link.
    Session,
    /// Short-lived, for opening one attach socket.
    Ticket,
}

impl SecretKind {
    /// Every kind, longest prefix first (`rce_` is not a prefix of
    /// `rcenv_`, but the order keeps that true whatever the prefixes).
    pub const ALL: [SecretKind; 5] = [
        SecretKind::Session,
        SecretKind::Environment,
        SecretKind::Device,
        SecretKind::Ticket,
        SecretKind::Enrollment,
    ];

    /// The kind of `secret` by its prefix; `None` for one of no kind
    /// (mistyped, cut, or not a relay secret at all).
    pub fn of(secret: &str) -> Option<SecretKind> {
        let secret = secret.trim();
        Self::ALL
            .into_iter()
            .find(|k| secret.starts_with(k.prefix()))
    }

    /// The prefix every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Enrollment => ENROLLMENT_PREFIX,
            SecretKind::Device => DEVICE_PREFIX,
            SecretKind::Environment => ENV_CREDENTIAL_PREFIX,
            SecretKind::Session => SESSION_CREDENTIAL_PREFIX,
            SecretKind::Ticket => TICKET_PREFIX,
        }
    }

    /// The kind's name with its prefix, for messages: "an enrollment token
    /// (rce_…)".
    pub fn describe(self) -> String {
        let name = match self {
            SecretKind::Enrollment => "an enrollment token",
            SecretKind::Device => "a device token",
            SecretKind::Environment => "an environment credential",
            SecretKind::Session => "a session credential",
            SecretKind::Ticket => "an attach ticket",
        };
        format!("{name} ({}…)", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_told_by_its_prefix() {
        for k in SecretKind::ALL {
            assert_eq!(SecretKind::of(&format!("{}abc", k.prefix())), Some(k));
        }
        assert_eq!(SecretKind::of(" rcdev_x\n"), Some(SecretKind::Device));
        assert_eq!(SecretKind::of("rcenv_x"), Some(SecretKind::Environment));
        assert_eq!(SecretKind::of("rce_x"), Some(SecretKind::Enrollment));
        assert_eq!(SecretKind::of("hunter2"), None);
        assert_eq!(SecretKind::of("rcdevx"), None);
        assert_eq!(
            SecretKind::Enrollment.describe(),
            "an enrollment token (rce_…)"
        );
    }
}
