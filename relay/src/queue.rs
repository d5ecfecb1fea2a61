//! The queue of messages waiting to be written to one socket, bounded by
//! count and by bytes.
//!
//! A message may be up to 1 MiB (`MAX_BODY`), so a bound by count alone
//! (256) would let one socket's queue hold 256 MiB: a device that sends
//! large inputs faster than the daemon reads them, or a screen of parts
//! for a device that reads slowly. The byte bound keeps every queue to a
//! few MiB; a message always fits an empty queue, so the largest one
//! still goes through.

use axum::extract::ws::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// Messages queued for one socket before it counts as full.
pub(crate) const QUEUE_MESSAGES: usize = 256;
/// Bytes queued for one socket before it counts as full (a message is
/// always taken when nothing is queued).
pub(crate) const QUEUE_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
struct Held {
    bytes: AtomicUsize,
    /// Woken by every message taken off the queue.
    drained: Notify,
}

/// The sending side; clones share the bound.
#[derive(Debug, Clone)]
pub(crate) struct QueueTx {
    tx: mpsc::Sender<Message>,
    held: Arc<Held>,
}

/// The receiving side, owned by the socket's task.
#[derive(Debug)]
pub(crate) struct QueueRx {
    rx: mpsc::Receiver<Message>,
    held: Arc<Held>,
}

/// Why a message was not queued; the message comes back.
#[derive(Debug)]
pub(crate) enum Refused {
    Full(Message),
    Closed(Message),
}

/// A new queue.
pub(crate) fn queue() -> (QueueTx, QueueRx) {
    let (tx, rx) = mpsc::channel(QUEUE_MESSAGES);
    let held = Arc::new(Held::default());
    (
        QueueTx {
            tx,
            held: held.clone(),
        },
        QueueRx { rx, held },
    )
}

/// The bytes a message holds.
fn size(m: &Message) -> usize {
    match m {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 0,
    }
}

impl QueueTx {
    /// Queues `msg` unless the queue is full or its socket is gone.
    pub(crate) fn try_send(&self, msg: Message) -> Result<(), Refused> {
        let len = size(&msg);
        let held = self.held.bytes.load(Ordering::Acquire);
        if held > 0 && held + len > QUEUE_BYTES {
            return Err(Refused::Full(msg));
        }
        self.held.bytes.fetch_add(len, Ordering::AcqRel);
        self.tx.try_send(msg).map_err(|e| {
            self.held.bytes.fetch_sub(len, Ordering::AcqRel);
            match e {
                mpsc::error::TrySendError::Full(m) => Refused::Full(m),
                mpsc::error::TrySendError::Closed(m) => Refused::Closed(m),
            }
        })
    }

    /// Waits for room, then queues `msg`; gives it back if the socket is
    /// gone first.
    pub(crate) async fn send(&self, mut msg: Message) -> Result<(), Message> {
        loop {
            let drained = self.held.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a message taken between the
            // check and the wait still wakes it.
            drained.as_mut().enable();
            match self.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(Refused::Closed(m)) => return Err(m),
                Err(Refused::Full(m)) => msg = m,
            }
            tokio::select! {
                _ = drained => {}
                _ = self.tx.closed() => return Err(msg),
            }
        }
    }
}

impl QueueRx {
    /// The next message if one is queued.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Result<Message, mpsc::error::TryRecvError> {
        let m = self.rx.try_recv()?;
        self.held.bytes.fetch_sub(size(&m), Ordering::AcqRel);
        self.held.drained.notify_waiters();
        Ok(m)
    }

    /// The next message, or `None` once every sender is gone.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let m = self.rx.recv().await?;
        self.held.bytes.fetch_sub(size(&m), Ordering::AcqRel);
        self.held.drained.notify_waiters();
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: usize) -> Message {
        Message::Binary(vec![0u8; n].into())
    }

    #[tokio::test]
    async fn bytes_bound_the_queue_and_the_largest_message_still_fits_an_empty_one() {
        let (tx, mut rx) = queue();
        // Four 1 MiB messages fill it; the fifth is refused, though the
        // count is far from its bound.
        for _ in 0..4 {
            tx.try_send(big(1 << 20)).expect("room");
        }
        assert!(matches!(tx.try_send(big(1 << 20)), Err(Refused::Full(_))));
        assert!(matches!(tx.try_send(big(1)), Err(Refused::Full(_))));
        for _ in 0..4 {
            rx.recv().await.expect("queued");
        }
        // Empty again: even a message larger than the bound is taken.
        tx.try_send(big(QUEUE_BYTES + 1))
            .expect("an empty queue takes it");
        assert!(matches!(tx.try_send(big(1)), Err(Refused::Full(_))));
    }

    #[tokio::test]
    async fn the_count_bounds_it_too() {
        let (tx, _rx) = queue();
        for _ in 0..QUEUE_MESSAGES {
            tx.try_send(big(1)).expect("room");
        }
        assert!(matches!(tx.try_send(big(1)), Err(Refused::Full(_))));
    }

    #[tokio::test]
    async fn send_waits_for_room_and_gives_the_message_back_when_the_socket_is_gone() {
        let (tx, mut rx) = queue();
        tx.try_send(big(QUEUE_BYTES)).expect("room");
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(big(10)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "it waits while the queue is full");
        rx.recv().await.expect("the big one");
        waiting
            .await
            .expect("task")
            .expect("queued once there is room");
        rx.recv().await.expect("the small one");

        tx.try_send(big(QUEUE_BYTES)).expect("room");
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(big(10)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(rx);
        let back = waiting.await.expect("task");
        assert!(back.is_err(), "the message comes back");
    }
}
