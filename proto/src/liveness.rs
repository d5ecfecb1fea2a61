//! The ping liveness rule every socket of rcd uses: pings are numbered,
//! a pong counts only for a ping that was sent, and a socket with two
//! pings unanswered is dead.

/// Counts pings sent and answered on one socket.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    sent: u64,
    answered: u64,
}

/// Unanswered pings that make a socket dead.
pub const MISSED_PINGS: u64 = 2;

impl Liveness {
    /// No ping sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of the next ping to send, or `None` when
    /// [`MISSED_PINGS`] went unanswered and the socket should be dropped.
    pub fn next_ping(&mut self) -> Option<u64> {
        if self.sent >= self.answered + MISSED_PINGS {
            return None;
        }
        self.sent += 1;
        Some(self.sent)
    }

    /// A pong for ping `n`; one for a ping never sent counts for nothing.
    pub fn pong(&mut self, n: u64) {
        if n <= self.sent {
            self.answered = self.answered.max(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_unanswered_pings_end_the_socket() {
        let mut p = Liveness::new();
        assert_eq!(p.next_ping(), Some(1));
        p.pong(1);
        assert_eq!(p.next_ping(), Some(2));
        assert_eq!(p.next_ping(), Some(3), "one unanswered is fine");
        assert_eq!(p.next_ping(), None, "two unanswered is not");
        p.pong(99);
        assert_eq!(
            p.next_ping(),
            None,
            "a pong for a ping never sent counts for nothing"
        );
        p.pong(3);
        assert_eq!(p.next_ping(), Some(4));
    }
}
