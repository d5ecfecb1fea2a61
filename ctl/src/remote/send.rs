//! `rcctl --relay URL send NAME TEXT`: one sequenced input, acknowledged.

use super::Remote;
use super::session::{Event, SessionClient, new_client_id};
use crate::cmd;
use anyhow::bail;
use std::time::Duration;

/// How long to wait for the daemon to acknowledge the text.
const ACK_TIMEOUT: Duration = Duration::from_secs(15);

pub async fn run(remote: &Remote, args: cmd::send::Args) -> anyhow::Result<()> {
    let target = remote.target(&args.name).await?;
    let mut bytes = args.text.into_bytes();
    if !args.no_enter {
        bytes.push(b'\r');
    }
    if bytes.is_empty() {
        return Ok(());
    }
    let mut client = SessionClient::connect(target, new_client_id()).await?;
    client.input(&bytes);
    let result = wait_for_ack(&mut client, &args.name).await;
    client.close().await;
    result
}

async fn wait_for_ack(client: &mut SessionClient, name: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::sleep(ACK_TIMEOUT);
    tokio::pin!(deadline);
    let mut offline = false;
    let mut trouble: Option<String> = None;
    loop {
        tokio::select! {
            ev = client.next_event() => match ev? {
                Event::InputAck { unacked: 0, .. } => return Ok(()),
                Event::Ready { .. } if client.unacked() == 0 => return Ok(()),
                Event::Exited { code } => bail!(
                    "session {name} has exited (status {code})"
                ),
                Event::DaemonError(message) => bail!("{}", super::one_line(&message)),
                Event::Link { up } => offline = !up,
                Event::Reconnecting { reason, .. } => trouble = Some(reason),
                _ => {}
            },
            _ = &mut deadline => {
                let secs = ACK_TIMEOUT.as_secs();
                if offline {
                    bail!(
                        "the machine of session {name} is offline (its rcd is not connected \
                         to the relay); the text was not typed"
                    );
                }
                match trouble {
                    Some(reason) => bail!(
                        "the session did not acknowledge the text within {secs}s, it may not \
                         have been typed: {}", super::one_line(&reason)
                    ),
                    None => bail!(
                        "session {name} did not acknowledge the text within {secs}s; it may \
                         not have been typed"
                    ),
                }
            }
        }
    }
}
