//! `rcctl --relay URL pair CODE`: exchanges a one-time pairing code (shown
//! by rcd) for a device token.

use crate::backend::Backend;
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
    /// Write the token to FILE (mode 0600) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let relay = backend.relay()?;
    let req = PairRequest {
        code: args.code.trim().to_string(),
        label: args.label,
    };
    let token = relay.pair(&req)?;
    let url = relay.url()?;
    match &args.save {
        Some(file) => {
            save(file, token.token.expose())?;
            println!(
                "paired (device {}); the device token is in {} (mode 0600)",
                token.id,
                file.display()
            );
            println!(
                "use it with: export RCD_RELAY={} RCD_TOKEN=$(cat {})",
                url,
                file.display()
            );
        }
        None => {
            println!("{}", token.token.expose());
            eprintln!(
                "paired (device {}): the token above is shown only once; keep it secret, and \
                 use it with: export RCD_RELAY={} RCD_TOKEN=<the token>",
                token.id, url,
            );
        }
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
