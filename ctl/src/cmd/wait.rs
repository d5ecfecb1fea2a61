//! `rcctl wait`: returns once a session waits for a person (a bell, a
//! notification, a permission request, its program's end), or fails when
//! the time limit passes first.

use crate::backend::{Backend, Listing};
use rcd_proto::SessionInfo;
use rcd_proto::control::Attention;
use std::time::{Duration, Instant};

/// How often the session is looked at.
const EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Give up after this many seconds (exit status 1); without it, wait
    /// as long as it takes.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// Print the attention as JSON: `{"kind", "message", "since"}`.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let limit = match args.timeout {
        Some(t) if !(t.is_finite() && t >= 0.0) => {
            anyhow::bail!("--timeout {t}: give a number of seconds, 0 or more")
        }
        Some(t) => Some(Instant::now() + Duration::from_secs_f64(t)),
        None => None,
    };
    loop {
        let session = find(backend.list()?, &args.name)?;
        if let Some(a) = session.attention {
            return print(&session.name, &a, args.json);
        }
        if limit.is_some_and(|l| Instant::now() >= l) {
            anyhow::bail!(
                "{} did not ask for attention within {} s",
                args.name,
                args.timeout.unwrap_or_default()
            );
        }
        std::thread::sleep(EVERY);
    }
}

/// The session `name` (or `ENV/NAME`) of a listing.
fn find(listing: Listing, name: &str) -> anyhow::Result<SessionInfo> {
    let unknown = || anyhow::anyhow!("no session named {name:?}: `rcctl list` shows the sessions");
    match listing {
        Listing::Daemon(sessions) => sessions
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(unknown),
        Listing::Relay { environments, .. } => {
            let (env, bare) = match name.split_once('/') {
                Some((e, n)) => (Some(e), n),
                None => (None, name),
            };
            let mut found: Vec<SessionInfo> = environments
                .into_iter()
                .filter(|e| env.is_none_or(|want| e.name == want || e.id == want))
                .flat_map(|e| e.sessions)
                .filter(|s| s.name == bare)
                .collect();
            match found.len() {
                0 => Err(unknown()),
                1 => Ok(found.remove(0)),
                n => anyhow::bail!(
                    "{n} environments have a session named {bare:?}: say which, as ENV/{bare}"
                ),
            }
        }
    }
}

fn print(name: &str, a: &Attention, json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(a);
    }
    if a.message.is_empty() {
        println!("{name}: {} (since {})", a.kind.as_str(), a.since);
    } else {
        println!(
            "{name}: {}: {} (since {})",
            a.kind.as_str(),
            a.message,
            a.since
        );
    }
    Ok(())
}
