//! `rcctl logout [--relay URL]`: revokes this device's stored token at the
//! relay, then forgets it. With the relay out of reach nothing is
//! forgotten unless `--force` says to forget it here only.

use crate::backend::relay::{Options, RelayBackend, TokenFrom};
use crate::creds::Store;
use anyhow::{Result, anyhow, bail};
use rcd_net::NetError;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// When the relay cannot be reached (or refuses), forget the token here
    /// anyway; it stays valid at the relay until revoked from another
    /// device (rcctl devices revoke ID).
    #[arg(long)]
    pub(crate) force: bool,
}

/// `relay` is --relay (or RCD_RELAY); without it, the only stored relay.
pub fn run(args: Args, relay: Option<String>, ca_cert: Option<PathBuf>) -> Result<()> {
    let mut store = Store::load()?;
    let url = match relay {
        Some(url) => crate::creds::normalise(&url),
        None => store
            .only()
            .map_err(|e| anyhow!("logout: {}", e.to_string().trim_start_matches("--remote: ")))?
            .0
            .to_string(),
    };
    let Some(entry) = store.get(&url).cloned() else {
        bail!(
            "no device token is stored for {url} in {}{}",
            store.path.display(),
            if store.relays.is_empty() {
                String::new()
            } else {
                format!(
                    " (stored: {})",
                    store.relays.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        );
    };
    let mut backend = RelayBackend::new(Options {
        url: url.clone(),
        token: Some(entry.token.clone()),
        token_from: TokenFrom::Stored(store.path.clone()),
        device: Some(entry.device.clone()),
        ca_cert,
    });
    let revoked = backend.revoke_device_raw(&entry.device)?;
    let failure = match revoked {
        Ok(()) => None,
        // Revoked already, or the relay forgot it: nothing is left to end.
        Err(NetError::Unauthorized(_)) | Err(NetError::Api { status: 404, .. }) => {
            store.remove(&url);
            store.save()?;
            println!(
                "the relay at {url} no longer accepts device {} (revoked already); its token \
                 was removed from {}",
                entry.device,
                store.path.display()
            );
            backend.close();
            return Ok(());
        }
        Err(e) => Some(backend.message(e)),
    };
    backend.close();
    match failure {
        None => {
            store.remove(&url);
            store.save()?;
            println!(
                "device {} revoked at {url}, and its token removed from {}",
                entry.device,
                store.path.display()
            );
        }
        Some(why) if args.force => {
            store.remove(&url);
            store.save()?;
            println!(
                "not revoked at the relay ({why}); the token was removed from {} only, and \
                 still works there until revoked from another device: rcctl --relay {url} \
                 devices revoke {}",
                store.path.display(),
                entry.device
            );
        }
        Some(why) => bail!(
            "{why}; nothing was revoked and the token is still stored in {} (rcctl logout \
             --force forgets it here only)",
            store.path.display()
        ),
    }
    Ok(())
}
