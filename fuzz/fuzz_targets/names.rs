//! Names that end up in paths and git refs. A session name, however it
//! arrives (`SessionName::new`, or inside JSON, which validates the same
//! way; the relay's `body::session_name`), is accepted only if it is
//! printable, one plain path component (no separator, no `..`, not `.`),
//! at most `MAX_NAME_LEN` bytes, makes a valid git branch
//! (`rcd::worktree::branch_for`) and round-trips. Also `printable` (what
//! the relay demands of labels) and `worktree::regenerable` (the test for
//! ignored paths that are build output) on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcd::worktree::{branch_for, regenerable};
use rcd_proto::SessionName;
use rcd_proto::name::{MAX_NAME_LEN, invisible, printable};
use std::path::{Component, Path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if printable(text) {
        assert!(!text.chars().any(|c| c.is_control() || invisible(c)));
    }
    let _ = regenerable(text);

    let direct = SessionName::new(text);
    let json = serde_json::to_string(text).expect("a string encodes");
    let decoded = serde_json::from_str::<SessionName>(&json);
    assert_eq!(direct.is_ok(), decoded.is_ok(), "{text:?}");
    assert_eq!(
        rc_relay::body::session_name(text).is_ok(),
        direct.is_ok(),
        "{text:?}"
    );
    let Ok(name) = direct else {
        return;
    };
    assert_eq!(name.as_str(), text);
    assert_eq!(name.to_string(), text);
    assert_eq!(decoded.as_ref().ok(), Some(&name));
    assert_eq!(serde_json::to_string(&name).unwrap(), json);
    assert!(!text.is_empty() && text.len() <= MAX_NAME_LEN);
    assert!(printable(text), "{text:?}");
    assert!(!text.contains(['/', '\\', '\0']), "{text:?}");
    assert!(!text.contains(".."), "{text:?}");
    assert!(!text.starts_with(['.', '-']), "{text:?}");
    let mut parts = Path::new(text).components();
    assert_eq!(
        parts.next(),
        Some(Component::Normal(text.as_ref())),
        "{text:?}"
    );
    assert_eq!(parts.next(), None, "{text:?}");
    let (branch, refname) = branch_for(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(branch, format!("rcd/{text}"));
    assert_eq!(refname, format!("refs/heads/rcd/{text}"));
});
