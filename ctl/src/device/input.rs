//! Inputs not yet acknowledged by the daemon, numbered per `client_id`.

use rcd_proto::stream::DeviceMsg;
use std::collections::VecDeque;

/// Inputs not yet acknowledged by the daemon, numbered from 1.
#[derive(Debug, Clone)]
pub struct InputQueue {
    /// Not yet acknowledged, in order of `seq`.
    pending: VecDeque<(u64, Vec<u8>)>,
    /// The `seq` of the next input.
    next_seq: u64,
    /// The last `seq` the daemon acknowledged.
    acked: u64,
    /// The last `seq` sent on the current connection.
    sent: u64,
}

impl Default for InputQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl InputQueue {
    pub fn new() -> Self {
        Self {
            pending: VecDeque::new(),
            next_seq: 1,
            acked: 0,
            sent: 0,
        }
    }

    /// Queues `bytes`; returns its `seq`.
    pub fn push(&mut self, bytes: Vec<u8>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back((seq, bytes));
        seq
    }

    /// The daemon applied everything up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        if seq <= self.acked {
            return;
        }
        self.acked = seq;
        while self.pending.front().is_some_and(|(s, _)| *s <= seq) {
            self.pending.pop_front();
        }
        self.sent = self.sent.max(seq);
    }

    /// After the daemon's hello on a new connection: it applied everything
    /// up to `input_seq`, and nothing later has been sent on this
    /// connection yet. If the daemon knows less than was acknowledged
    /// before (its sequence for this `client_id` restarted), the queued
    /// inputs are renumbered to follow its count, since none of them was
    /// applied.
    pub fn resume(&mut self, input_seq: u64) {
        if input_seq < self.acked {
            let mut seq = input_seq;
            for (s, _) in self.pending.iter_mut() {
                seq += 1;
                *s = seq;
            }
            self.next_seq = seq + 1;
            self.acked = input_seq;
        } else {
            self.ack(input_seq);
            self.next_seq = self.next_seq.max(input_seq + 1);
        }
        self.sent = input_seq;
    }

    /// The queued inputs not yet sent on this connection, as messages; they
    /// count as sent from now on.
    pub fn unsent(&mut self) -> Vec<DeviceMsg> {
        let sent = self.sent;
        let out: Vec<DeviceMsg> = self
            .pending
            .iter()
            .filter(|(s, _)| *s > sent)
            .map(|(seq, bytes)| DeviceMsg::Input {
                seq: *seq,
                bytes: bytes.clone(),
            })
            .collect();
        if let Some((last, _)) = self.pending.back() {
            self.sent = self.sent.max(*last);
        }
        out
    }

    /// How many inputs wait for an acknowledgement.
    pub fn unacked(&self) -> usize {
        self.pending.len()
    }

    /// The last acknowledged `seq`.
    pub fn acked(&self) -> u64 {
        self.acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::tests::seqs;

    #[test]
    fn the_queue_numbers_from_one_and_trims_on_ack() {
        let mut q = InputQueue::new();
        assert_eq!(q.push(b"a".to_vec()), 1);
        assert_eq!(q.push(b"b".to_vec()), 2);
        assert_eq!(q.push(b"c".to_vec()), 3);
        assert_eq!(seqs(&q.unsent()), [1, 2, 3]);
        assert!(q.unsent().is_empty(), "sent once per connection");
        q.ack(2);
        assert_eq!(q.unacked(), 1);
        q.ack(1); // late, smaller: ignored
        assert_eq!((q.unacked(), q.acked()), (1, 2));
        q.ack(3);
        assert_eq!(q.unacked(), 0);
        assert_eq!(q.push(b"d".to_vec()), 4);
    }

    #[test]
    fn resume_resends_only_what_the_daemon_did_not_apply() {
        let mut q = InputQueue::new();
        for b in [b"1", b"2", b"3", b"4"] {
            q.push(b.to_vec());
        }
        assert_eq!(seqs(&q.unsent()), [1, 2, 3, 4]);
        q.ack(1);
        // The socket broke; the daemon had applied up to 3.
        q.resume(3);
        let again = q.unsent();
        assert_eq!(seqs(&again), [4]);
        match &again[0] {
            DeviceMsg::Input { bytes, .. } => assert_eq!(bytes, b"4"),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.unacked(), 1);
        // Nothing was applied on the last connection: all of it again.
        q.resume(3);
        assert_eq!(seqs(&q.unsent()), [4]);
        q.push(b"5".to_vec());
        assert_eq!(seqs(&q.unsent()), [5]);
    }

    #[test]
    fn resume_follows_a_daemon_that_counts_further_or_restarted() {
        let mut q = InputQueue::new();
        q.resume(7);
        assert_eq!(q.push(b"x".to_vec()), 8);
        let mut q = InputQueue::new();
        q.push(b"a".to_vec());
        q.push(b"b".to_vec());
        q.push(b"c".to_vec());
        q.ack(2);
        // The daemon forgot this client: the queued input follows its count.
        q.resume(0);
        assert_eq!(seqs(&q.unsent()), [1]);
        assert_eq!(q.push(b"d".to_vec()), 2);
    }
}
