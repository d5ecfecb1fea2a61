//! A session's attach socket as the remote verbs use it: the device client
//! ([`crate::device::SessionClient`]) with its errors in words for people,
//! and the waits of `send`, `screen` and `transcript`.

use super::one_line;
use super::remote::Remote;
use crate::device::{Event, Gone, SessionClient, Target, new_client_id};
use anyhow::{Result, anyhow, bail};
use rcd_proto::{ScreenText, TranscriptPage};
use std::time::Duration;

/// How long `send` waits for the daemon to acknowledge the text.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `screen` waits for the first frame.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `transcript` waits for one page.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// An open attach socket of one session.
#[derive(Debug)]
pub struct Live {
    remote: Remote,
    /// The session as the user named it: NAME or ENV/NAME.
    pub shown: String,
    pub client: SessionClient,
}

impl Live {
    /// Opens the attach socket of `target`, which the user called `shown`.
    pub async fn connect(remote: &Remote, target: Target, shown: &str) -> Result<Live> {
        Self::connect_driving(remote, target, shown, None).await
    }

    /// [`Live::connect`] for a terminal that drives the session's size.
    pub async fn connect_driving(
        remote: &Remote,
        target: Target,
        shown: &str,
        drive: Option<(u16, u16)>,
    ) -> Result<Live> {
        let client = SessionClient::connect_driving(target, new_client_id(), drive)
            .await
            .map_err(|e| remote.error(e, Some(shown)))?;
        Ok(Live {
            remote: remote.clone(),
            shown: shown.to_string(),
            client,
        })
    }

    /// Finds session `spec` and opens its attach socket.
    pub async fn open(remote: &Remote, spec: &str) -> Result<Live> {
        Self::open_driving(remote, spec, None).await
    }

    /// [`Live::open`] for a terminal that drives the session's size.
    pub async fn open_driving(
        remote: &Remote,
        spec: &str,
        drive: Option<(u16, u16)>,
    ) -> Result<Live> {
        let target = remote.target(spec).await?;
        Self::connect_driving(remote, target, spec, drive).await
    }

    /// The next event; an error, in words for people, when the client
    /// gave up.
    pub async fn next_event(&mut self) -> Result<Event> {
        self.client.next_event().await.map_err(|g| match g {
            Gone::Refused(e) => anyhow!("{}", self.remote.error(e, Some(&self.shown))),
            other => anyhow!("{other}"),
        })
    }

    /// Closes the socket (bounded wait).
    pub async fn close(self) {
        self.client.close().await;
    }

    /// Waits up to `timeout` for the first event that `pick` takes, for the
    /// `what` of the session. A daemon error ends the wait with its
    /// message; a timeout says whether the session's machine was offline.
    async fn wait_event<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(Event) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut offline = false;
        let name = self.shown.clone();
        loop {
            tokio::select! {
                ev = self.next_event() => match ev? {
                    Event::DaemonError(message) => bail!("{}", one_line(&message)),
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
                            "the machine of session {name} is offline (its rcd is not \
                             connected to the relay)"
                        );
                    }
                    bail!("no {what} came from session {name} within {}s", timeout.as_secs());
                }
            }
        }
    }

    /// The first (full) screen frame.
    pub async fn first_screen(&mut self) -> Result<ScreenText> {
        self.wait_event("screen", SCREEN_TIMEOUT, |ev| {
            matches!(ev, Event::Screen).then_some(())
        })
        .await?;
        Ok(self.client.screen().text())
    }

    /// One transcript page.
    pub async fn transcript(&mut self, from: u64, max_lines: u32) -> Result<TranscriptPage> {
        self.client.transcript(from, max_lines);
        self.wait_event("transcript", PAGE_TIMEOUT, |ev| match ev {
            Event::Transcript(page) => Some(page),
            _ => None,
        })
        .await
    }

    /// Waits until every input is acknowledged.
    pub async fn acknowledged(&mut self) -> Result<()> {
        let deadline = tokio::time::sleep(ACK_TIMEOUT);
        tokio::pin!(deadline);
        let name = self.shown.clone();
        let mut offline = false;
        let mut trouble: Option<String> = None;
        loop {
            tokio::select! {
                ev = self.next_event() => match ev? {
                    Event::InputAck { unacked: 0, .. } => return Ok(()),
                    Event::Ready { .. } if self.client.unacked() == 0 => return Ok(()),
                    Event::Exited { code } => bail!(
                        "session {name} has exited (status {code})"
                    ),
                    Event::DaemonError(message) => bail!("{}", one_line(&message)),
                    Event::Link { up } => offline = !up,
                    Event::Reconnecting { reason, .. } => trouble = Some(reason),
                    _ => {}
                },
                _ = &mut deadline => {
                    let secs = ACK_TIMEOUT.as_secs();
                    if offline {
                        bail!(
                            "the machine of session {name} is offline (its rcd is not \
                             connected to the relay); the text was not typed"
                        );
                    }
                    match trouble {
                        Some(reason) => bail!(
                            "the session did not acknowledge the text within {secs}s, it may \
                             not have been typed: {}", one_line(&reason)
                        ),
                        None => bail!(
                            "session {name} did not acknowledge the text within {secs}s; it \
                             may not have been typed"
                        ),
                    }
                }
            }
        }
    }
}

/// Types `text` (then Enter) into session `spec`, acknowledged.
pub async fn send(remote: &Remote, spec: &str, text: String, enter: bool) -> Result<()> {
    let target = remote.target(spec).await?;
    let mut bytes = text.into_bytes();
    if enter {
        bytes.push(b'\r');
    }
    if bytes.is_empty() {
        return Ok(());
    }
    let mut live = Live::connect(remote, target, spec).await?;
    live.client.input(&bytes);
    let result = live.acknowledged().await;
    live.close().await;
    result
}

/// The current screen of session `spec`.
pub async fn screen(remote: &Remote, spec: &str) -> Result<ScreenText> {
    let mut live = Live::open(remote, spec).await?;
    let result = live.first_screen().await;
    live.close().await;
    result
}
