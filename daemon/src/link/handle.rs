//! What the rest of rcd sees of the relay link: its state, for
//! `rcctl status`, the terminal's status line and the service manager,
//! and a way to ask it for a pairing link.

use super::LinkEnd;
use rcd_proto::LinkStatus;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Why there is no pairing link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// rcd runs with `--no-relay`.
    #[error("no relay link (--no-relay)")]
    NoLink,
    /// The link task has ended.
    #[error("the relay link is not running")]
    NotRunning,
    /// The link is between attempts.
    #[error("not connected to the relay right now")]
    NotConnected,
    /// The relay refused or failed the request.
    #[error("{0}")]
    Relay(String),
}

/// How a pairing request is answered.
pub(crate) type PairingReply = oneshot::Sender<Result<String, PairingError>>;

/// The link's state as the link last published it, with the moment its
/// phase began, so that its age is counted when it is read.
#[derive(Debug, Clone)]
pub struct Published {
    pub status: LinkStatus,
    pub since: tokio::time::Instant,
}

impl Published {
    /// The state with `since_secs` as of now.
    pub fn now(&self) -> LinkStatus {
        LinkStatus {
            since_secs: self.since.elapsed().as_secs(),
            ..self.status.clone()
        }
    }
}

/// A running link: its handle and its task.
#[derive(Debug)]
pub struct Link {
    pub handle: LinkHandle,
    pub task: JoinHandle<LinkEnd>,
}

/// The link's state and its pairing requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    pub(crate) status: watch::Receiver<Option<Published>>,
    pub(crate) pairing: mpsc::Sender<PairingReply>,
}

impl LinkHandle {
    /// The link's state; `None` before its first attempt.
    pub fn status(&self) -> Option<LinkStatus> {
        self.status.borrow().as_ref().map(Published::now)
    }

    /// Ticks whenever the state changes.
    pub fn changes(&self) -> watch::Receiver<Option<Published>> {
        self.status.clone()
    }

    /// Asks the link for a fresh one-time pairing URL.
    pub async fn pairing_url(&self) -> Result<String, PairingError> {
        let (reply, rx) = oneshot::channel();
        self.pairing
            .send(reply)
            .await
            .map_err(|_| PairingError::NotRunning)?;
        rx.await.map_err(|_| PairingError::NotRunning)?
    }
}

/// A pairing URL through the link, if there is one.
pub async fn pairing_url(link: Option<&LinkHandle>) -> Result<String, PairingError> {
    match link {
        Some(l) => l.pairing_url().await,
        None => Err(PairingError::NoLink),
    }
}
