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
    let deadline = tokio::time::sleep(TIMEOUT);
    tokio::pin!(deadline);
    let mut offline = false;
    loop {
        tokio::select! {
            ev = client.next_event() => match ev? {
                Event::Screen => return Ok(()),
                Event::DaemonError(message) => bail!("{}", super::one_line(&message)),
                Event::Link { up } => offline = !up,
                _ => {}
            },
            _ = &mut deadline => {
                if offline {
                    bail!(
                        "the machine of session {name} is offline (its rcd is not connected \
                         to the relay)"
                    );
                }
                bail!("no screen came from session {name} within {}s", TIMEOUT.as_secs());
            }
        }
    }
}
