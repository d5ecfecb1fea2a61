//! Session names end up in paths (`<state>/worktrees/<name>`) and in git
//! ref names (`rcd/<name>`, `refs/rcd/saved/<name>`), so they are
//! validated once, here, and carried as a [`SessionName`] afterwards.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted session name, in bytes.
pub const MAX_NAME_LEN: usize = 32;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("session name is empty")]
    Empty,
    #[error("session name {0:?} is longer than {MAX_NAME_LEN} characters")]
    TooLong(String),
    #[error(
        "session name {name:?} contains {what}; use letters, digits, '-', '_' and '.' \
         (not first), e.g. fix-login"
    )]
    BadChar { name: String, what: String },
    #[error("session name {0:?} must start with a letter or a digit")]
    BadStart(String),
    #[error("session name {0:?} contains \"..\" or ends with \".\" or \".lock\"")]
    BadDots(String),
    #[error("session name {0:?} is one git gives a meaning of its own; choose another")]
    Reserved(String),
}

/// Whether `c` is invisible or reorders text around it: bidirectional
/// controls, zero-width and joining characters, variation selectors, tags
/// and other format characters. A name holding one can look like another
/// (or hide what follows it) in every list that shows it.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether `text` is fit to be shown as a name: no control characters and
/// no [`invisible`] ones.
pub fn printable(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || invisible(c))
}

/// Checks a program's name (a key of `[programs]`): 1 to 32 bytes of
/// `[A-Za-z0-9._-]`, starting with a letter or digit. It is shown in lists
/// and menus and typed after `--program`, never used in a path.
pub fn check_program(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a program name: use 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or \
             '.', starting with a letter or digit",
            name.escape_debug().to_string()
        ))
    }
}

/// A validated session name: 1 to 32 bytes of `[A-Za-z0-9._-]`, starting
/// with a letter or digit, with no `..` and not ending in `.` or `.lock`.
/// Such a name is safe as a path component and inside a git ref name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionName(String);

impl SessionName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            let what = if c == '/' || c == '\\' {
                format!("a path separator {c:?}")
            } else if c.is_control() {
                format!("a control character {:?}", c)
            } else if c.is_whitespace() {
                "a space".to_string()
            } else {
                format!("the character {c:?}")
            };
            return Err(NameError::BadChar {
                name: name.escape_debug().to_string(),
                what,
            });
        }
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(name.to_string()));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(NameError::BadStart(name.to_string()));
        }
        if name.contains("..") || name.ends_with('.') || name.ends_with(".lock") {
            return Err(NameError::BadDots(name.to_string()));
        }
        // git reads these as the current commit or its special refs, so a
        // branch `rcd/HEAD` or a worktree named so only confuses.
        const RESERVED: [&str; 5] = ["HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "@"];
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(NameError::Reserved(name.to_string()));
        }
        Ok(Self(name.to_string()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SessionName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<SessionName> for String {
    fn from(value: SessionName) -> Self {
        value.0
    }
}

impl AsRef<str> for SessionName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for n in ["a", "fix-login", "A_1.2", "x".repeat(32).as_str(), "9lives"] {
            assert_eq!(SessionName::new(n).unwrap().as_str(), n);
        }
    }

    #[test]
    fn bad_names() {
        let bad = [
            "",
            "a/b",
            "..",
            "a..b",
            "../etc",
            "-rf",
            ".hidden",
            "x.lock",
            "trailing.",
            "with space",
            "tab\there",
            "nul\0",
            "esc\x1b[2J",
            "ünïcode",
            "a\\b",
            "HEAD@{1}",
            "HEAD",
            "head",
            "ORIG_HEAD",
        ];
        for n in bad {
            assert!(SessionName::new(n).is_err(), "{n:?} was accepted");
        }
        assert!(matches!(
            SessionName::new(&"x".repeat(33)),
            Err(NameError::TooLong(_))
        ));
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let e = SessionName::new("a/b").unwrap_err().to_string();
        assert!(e.contains("path separator"), "{e}");
        let e = SessionName::new("a\u{7}").unwrap_err().to_string();
        assert!(e.contains("control character"), "{e}");
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<SessionName>("\"ok-name\"").is_ok());
        assert!(serde_json::from_str::<SessionName>("\"../x\"").is_err());
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_not_printable() {
        assert!(printable("Ana's laptop (work)"));
        assert!(printable("büro-rechner"));
        for bad in [
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            "bom\u{FEFF}",
            "tab\t",
            "nl\n",
            "iso\u{2066}late",
        ] {
            assert!(!printable(bad), "{bad:?}");
        }
    }
}
