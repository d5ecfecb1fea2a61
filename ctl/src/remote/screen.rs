//! `rcctl --relay URL screen NAME`: the first (full) screen frame, as
//! plain text.

use super::Remote;
use super::session::{Event, SessionClient, new_client_id};
use crate::cmd;
use anyhow::bail;
use std::time::Duration;

/// How long to wait for the screen.
const TIMEOUT: Duration = Duration::from_secs(15);

pub async fn run(remote: &Remote, args: cmd::screen::Args) -> anyhow::Result<()> {
    let target = remote.target(&args.name).await?;
    let mut client = SessionClient::connect(target, new_client_id()).await?;
    let result = first_screen(&mut client, &args.name).await;
    let screen = client.screen();
    client.close().await;
    result?;
    cmd::screen::print(&screen.text(), args.json)
}

async fn first_screen(client: &mut SessionClient, name: &str) -> anyhow::Result<()> {
    wait_event(client, name, "screen", TIMEOUT, |ev| {
        matches!(ev, Event::Screen).then_some(())
    })
    .await
}

/// Waits up to `timeout` for the first event that `pick` takes, for the
/// `what` of session `name`. A daemon error ends the wait with its
/// message; a timeout says whether the session's machine was offline.
pub(super) async fn wait_event<T>(
    client: &mut SessionClient,
    name: &str,
    what: &str,
    timeout: Duration,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut offline = false;
    loop {
        tokio::select! {
            ev = client.next_event() => match ev? {
                Event::DaemonError(message) => bail!("{}", super::one_line(&message)),
                Event::Link { up } => offline = !up,
                ev => {
                    if let Some(taken) = pick(ev) {
                        return Ok(taken);
                    }
                }
            },
            _ = &mut deadline => {
                if offline {
                    bail!(
                        "the machine of session {name} is offline (its rcd is not connected \
                         to the relay)"
                    );
                }
                bail!("no {what} came from session {name} within {}s", timeout.as_secs());
            }
        }
    }
}
