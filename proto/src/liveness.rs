//! The ping liveness rule every socket of rcd uses: pings are numbered,
//! a pong counts only for a ping that was sent, and a socket with two
//! pings unanswered is dead.
//!
//! Every periodic timer of rcd and the relay (pings, heartbeats, the wake
//! check, the relay's sweep) ticks on the same beat: multiples of its period
//! on the wall clock ([`beat`]). Timers of one period, in one process or in
//! several, then fire together, and an idle machine wakes once per beat
//! instead of once per socket.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Time from `now` to the next multiple of `every` since the Unix epoch
/// (`every` itself when `now` is on one). A zero `every` gives zero.
pub fn until_beat(every: Duration, now: SystemTime) -> Duration {
    let period = every.as_nanos();
    if period == 0 {
        return Duration::ZERO;
    }
    let since = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let left = period - since % period;
    Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX))
}

/// An interval ticking on the multiples of `every` of the wall clock. Its
/// first tick is the first beat at least `every` from now, so, as with a
/// plain interval started now, nothing ticks sooner than one period after
/// it is made (a ping never comes right after a socket opens). A tick that
/// was missed is skipped, so the timer stays on the beat.
#[cfg(feature = "tokio")]
pub fn beat(every: Duration) -> tokio::time::Interval {
    let every = every.max(Duration::from_millis(1));
    let first = tokio::time::Instant::now() + every + until_beat(every, SystemTime::now());
    let mut timer = tokio::time::interval_at(first, every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    timer
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

    #[test]
    fn beats_fall_on_multiples_of_the_period() {
        let every = Duration::from_secs(15);
        let at =
            |secs: u64, ms: u64| UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms);
        assert_eq!(until_beat(every, at(1_500_005, 0)), Duration::from_secs(10));
        assert_eq!(
            until_beat(every, at(1_500_004, 500)),
            Duration::from_millis(10_500)
        );
        // On a beat: the next one, not now.
        assert_eq!(until_beat(every, at(1_500_015, 0)), every);
        assert_eq!(until_beat(Duration::ZERO, at(7, 0)), Duration::ZERO);
        // Two timers of the same period started apart tick together.
        let a = at(1_500_001, 250) + until_beat(every, at(1_500_001, 250));
        let b = at(1_500_009, 900) + until_beat(every, at(1_500_009, 900));
        assert_eq!(a, b);
    }
}
