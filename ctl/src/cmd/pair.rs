//! `rcctl --relay URL pair CODE`: exchanges a one-time pairing code (shown
//! by rcd) for a device token, and keeps it in rcctl's credentials file
//! ([`crate::creds`]) for later `rcctl --relay URL …`. Only where it went
//! is printed; `--print-token` hands the token to a script instead.

use crate::backend::Backend;
use crate::creds::{self, Entry, Store};
use anyhow::Context;
use rcd_proto::relay::PairRequest;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pairing code rcd printed (XXXX-XXXX); it works once, for 10
    /// minutes.
    pub(crate) code: String,
    /// A name for this device in the relay's device list, e.g. "laptop".
    #[arg(long, value_name = "L")]
    pub(crate) label: Option<String>,
    /// Write the token to FILE (mode 0600) instead of rcctl's credentials
    /// file.
    #[arg(long, value_name = "FILE", conflicts_with = "print_token")]
    pub(crate) save: Option<PathBuf>,
    /// Print the token on stdout (with --json, as "token") instead of
    /// storing it, for a script that keeps it itself.
    #[arg(long)]
    pub(crate) print_token: bool,
    /// Print JSON for scripts: relay, device and where the token went.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let relay = backend.relay("pair CODE")?;
    // The credentials file must be writable before a one-time code is
    // spent on it.
    let mut store = match (&args.save, args.print_token) {
        (None, false) => Some(Store::load()?),
        _ => None,
    };
    let req = PairRequest {
        code: args.code.trim().to_string(),
        label: args.label.clone(),
    };
    let token = relay.pair(&req)?;
    let url = creds::normalise(&relay.url()?);
    let mut out = serde_json::json!({ "relay": url, "device": token.id });
    if args.print_token {
        out["token"] = token.token.expose().into();
        if args.json {
            super::print_json(&out)?;
        } else {
            println!("{}", token.token.expose());
        }
        return Ok(());
    }
    let (path, replaced) = match (&args.save, store.as_mut()) {
        (Some(file), _) => {
            save(file, token.token.expose())?;
            (file.clone(), None)
        }
        (None, Some(store)) => {
            let replaced = store.insert(
                &url,
                Entry {
                    token: token.token.expose().to_string(),
                    device: token.id.clone(),
                    label: args.label,
                    paired: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                },
            );
            store.save()?;
            (store.path.clone(), replaced)
        }
        (None, None) => unreachable!("a store is loaded unless --save or --print-token"),
    };
    if args.json {
        out["stored"] = path.display().to_string().into();
        return super::print_json(&out);
    }
    println!(
        "paired with {url} as device {}; the device token is in {} (mode 0600)",
        token.id,
        path.display()
    );
    match &args.save {
        Some(file) => println!(
            "use it with: RCD_TOKEN=$(cat {}) rcctl --relay {url} list",
            file.display()
        ),
        None => println!("use it with: rcctl --relay {url} list (or rcctl --remote list)"),
    }
    if let Some(old) = replaced.filter(|old| old.device != token.id) {
        println!(
            "it replaces device {} stored for this relay before, which still works: rcctl \
             --relay {url} devices revoke {} ends it",
            old.device, old.device
        );
    }
    Ok(())
}

/// Writes the token to a file that only its owner can read.
fn save(file: &Path, token: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("cannot write --save {}", file.display()))?;
    // An existing file keeps its mode on open: narrow it.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict --save {} to mode 0600", file.display()))?;
    writeln!(f, "{token}").with_context(|| format!("cannot write --save {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_saved_token_is_private() {
        let dir = std::env::temp_dir().join(format!("rcctl-pair-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&file, "rcdev_abc").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "rcdev_abc\n");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
