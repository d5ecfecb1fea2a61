//! The device tokens rcctl keeps, one per relay, in
//! `$XDG_CONFIG_HOME/rcd/credentials.toml` (else `~/.config/rcd/`):
//! `rcctl --relay URL pair CODE` stores one, later `rcctl --relay URL …`
//! (or `--remote`, with one relay stored) uses it, `rcctl logout` forgets
//! it.
//!
//! The file is TOML, a table per relay keyed by its normalised URL:
//!
//! ```toml
//! [relay."https://relay.example.com"]
//! token = "rcdev_…"
//! device = "dev_3f9a0c1b2d4e"
//! label = "laptop"
//! paired = 1767225600
//! ```
//!
//! It is written whole to a temporary file beside it and renamed over it,
//! so a reader sees the old file or the new one. The file is mode 0600 and
//! its directory 0700; a looser one found there is narrowed, and said so.

use anyhow::{Context, Result, anyhow, bail};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The file's name in the configuration directory.
pub const FILE_NAME: &str = "credentials.toml";

/// One relay's device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub token: String,
    /// The device token's id at the relay (`rcctl devices`).
    pub device: String,
    pub label: Option<String>,
    /// Unix seconds.
    pub paired: u64,
}

/// The stored tokens, by normalised relay URL.
#[derive(Debug)]
pub struct Store {
    pub path: PathBuf,
    pub relays: BTreeMap<String, Entry>,
}

/// A relay URL as the file keys it: scheme and host in lower case, no
/// default port, no trailing slash. `Relay::new` accepts the result.
pub fn normalise(url: &str) -> String {
    let url = url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) => u.as_str().trim_end_matches('/').to_string(),
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

/// Where the file is: `$XDG_CONFIG_HOME/rcd/credentials.toml`, else
/// `~/.config/rcd/credentials.toml`.
pub fn default_path() -> Result<PathBuf> {
    rcd_proto::paths::config_dir()
        .map(|d| d.join(FILE_NAME))
        .ok_or_else(|| {
            anyhow!("cannot find a place for rcctl's credentials: set XDG_CONFIG_HOME or HOME")
        })
}

/// Narrows `path` to `mode` when group or others have more; says so.
fn narrow(path: &Path, mode: u32, what: &str) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let have = meta.permissions().mode() & 0o777;
    if have & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).with_context(
            || {
                format!(
                    "{} is mode {have:04o}, readable by others: cannot narrow it to {mode:04o}; \
                     run chmod {mode:o} {}",
                    path.display(),
                    path.display()
                )
            },
        )?;
        eprintln!(
            "rcctl: {what} {} was mode {have:04o}; narrowed to {mode:04o}",
            path.display()
        );
    }
    Ok(())
}

impl Store {
    /// The file at the default place; empty when there is none.
    pub fn load() -> Result<Store> {
        Store::load_from(default_path()?)
    }

    /// The file at `path`; empty when there is none.
    pub fn load_from(path: PathBuf) -> Result<Store> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Store {
                    path,
                    relays: BTreeMap::new(),
                });
            }
            Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display())),
        };
        narrow(&path, 0o600, "the credentials file")?;
        let relays = parse(&text).with_context(|| format!("{} is not valid", path.display()))?;
        Ok(Store { path, relays })
    }

    /// The entry of relay `url`, by its normalised form.
    pub fn get(&self, url: &str) -> Option<&Entry> {
        self.relays.get(&normalise(url))
    }

    /// The only relay stored, or why there is not one.
    pub fn only(&self) -> Result<(&str, &Entry)> {
        let mut it = self.relays.iter();
        match (it.next(), it.next()) {
            (Some((url, e)), None) => Ok((url, e)),
            (None, _) => bail!(
                "--remote: no relay is stored in {}; pair this device first: rcctl --relay \
                 URL pair CODE",
                self.path.display()
            ),
            _ => bail!(
                "--remote: {} relays are stored ({}); say which with --relay URL",
                self.relays.len(),
                self.relays.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// Adds or replaces the entry of `url`; the one it replaced.
    pub fn insert(&mut self, url: &str, entry: Entry) -> Option<Entry> {
        self.relays.insert(normalise(url), entry)
    }

    /// Removes the entry of `url`; whether there was one.
    pub fn remove(&mut self, url: &str) -> Option<Entry> {
        self.relays.remove(&normalise(url))
    }

    /// Writes the file: its directory made (or narrowed to) 0700, the
    /// file 0600, replaced whole by a rename.
    pub fn save(&self) -> Result<()> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| anyhow!("{} has no directory", self.path.display()))?;
        if dir.exists() {
            narrow(dir, 0o700, "the directory")?;
        }
        crate::files::replace(&self.path, &render(&self.relays), 0o600)
            .map_err(|e| anyhow!("cannot write {}: {e}", self.path.display()))
    }
}

fn parse(text: &str) -> Result<BTreeMap<String, Entry>> {
    let doc: toml_edit::DocumentMut = text.parse()?;
    let mut relays = BTreeMap::new();
    let Some(table) = doc.get("relay") else {
        return Ok(relays);
    };
    let table = table
        .as_table_like()
        .ok_or_else(|| anyhow!("`relay` is not a table"))?;
    for (url, item) in table.iter() {
        let t = item
            .as_table_like()
            .ok_or_else(|| anyhow!("relay {url:?} is not a table"))?;
        let text = |key: &str| t.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let token = text("token").ok_or_else(|| anyhow!("relay {url:?} has no token"))?;
        relays.insert(
            normalise(url),
            Entry {
                token,
                device: text("device").unwrap_or_default(),
                label: text("label"),
                paired: t
                    .get("paired")
                    .and_then(|v| v.as_integer())
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            },
        );
    }
    Ok(relays)
}

fn render(relays: &BTreeMap<String, Entry>) -> String {
    let mut doc = toml_edit::DocumentMut::new();
    let mut all = toml_edit::Table::new();
    all.set_implicit(true);
    for (url, e) in relays {
        let mut t = toml_edit::Table::new();
        t["token"] = toml_edit::value(e.token.as_str());
        t["device"] = toml_edit::value(e.device.as_str());
        if let Some(label) = &e.label {
            t["label"] = toml_edit::value(label.as_str());
        }
        t["paired"] = toml_edit::value(i64::try_from(e.paired).unwrap_or(i64::MAX));
        all.insert(url, toml_edit::Item::Table(t));
    }
    doc.insert("relay", toml_edit::Item::Table(all));
    format!(
        "# rcctl's device tokens, one per relay (rcctl pair, rcctl logout).\n\
         # Each is a password to your sessions: keep this file private.\n{doc}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str) -> Entry {
        Entry {
            token: token.into(),
            device: "dev_1".into(),
            label: Some("laptop \"x\"".into()),
            paired: 1_767_225_600,
        }
    }

    #[test]
    fn urls_are_keyed_in_one_form() {
        assert_eq!(
            normalise(" HTTPS://Relay.Example.com:443/ "),
            "https://relay.example.com"
        );
        assert_eq!(normalise("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            normalise("https://r.example/base/"),
            "https://r.example/base"
        );
    }

    #[test]
    fn the_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("rcd");
        std::fs::create_dir(&conf).unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = conf.join(FILE_NAME);
        let mut s = Store::load_from(path.clone()).unwrap();
        assert!(s.relays.is_empty());
        s.insert("https://A.example/", entry("rcdev_a"));
        s.insert("http://127.0.0.1:9", entry("rcdev_b"));
        s.save().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&conf), 0o700);
        assert_eq!(mode(&path), 0o600);
        let back = Store::load_from(path.clone()).unwrap();
        assert_eq!(back.relays, s.relays);
        assert_eq!(back.get("https://a.example").unwrap().token, "rcdev_a");
        assert!(back.only().unwrap_err().to_string().contains("2 relays"));
        // A file made readable by others is narrowed on reading.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut back = Store::load_from(path.clone()).unwrap();
        assert_eq!(mode(&path), 0o600);
        back.remove("https://a.example/");
        let (url, e) = back.only().unwrap();
        assert_eq!((url, e.token.as_str()), ("http://127.0.0.1:9", "rcdev_b"));
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(&conf)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }
}
