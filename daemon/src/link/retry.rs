//! When to try the relay again, by what the last try met.
//!
//! - **No connection was made** (refused, no route): the relay is down or
//!   restarting and never saw the attempt, so it costs it nothing. Retry
//!   at a short interval, 0.5 to 1 s with jitter ([`CONNECT_RETRY`]), so
//!   a restarted relay has its daemons back within about a second of
//!   answering, however long it was down. A connect that times out (a
//!   partition that drops packets) has already waited
//!   its 10 s.
//! - **The relay answered 429 or 503 with `Retry-After`**: it is limiting
//!   or overloaded and said how long to stay away; wait that long plus up
//!   to half again, at random, so a crowd that was turned away together
//!   does not come back together.
//! - **Anything else** (an error answer, a connection that broke, a
//!   timeout): the relay is up but something is wrong; capped
//!   exponential backoff with jitter ([`Backoff`]), which keeps a relay in
//!   trouble from being hammered.

use rcd_net::{Backoff, NetError};
use std::time::Duration;

/// The longest wait after a connect that was refused.
pub const CONNECT_RETRY: Duration = Duration::from_secs(1);

/// The retry policy of one link (the environment's, or a session's).
#[derive(Debug, Clone)]
pub struct Retry {
    backoff: Backoff,
}

impl Retry {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            backoff: Backoff::new(base, cap),
        }
    }

    /// Back to the first step, after a success (or a wake from sleep).
    pub fn reset(&mut self) {
        self.backoff.reset();
    }

    /// The wait before registering again after a connected phase that
    /// ended on an error answer of the relay (it is up, but something is
    /// wrong there): the next backoff step.
    pub fn after_answer(&mut self) -> Duration {
        self.backoff.next_delay()
    }

    /// The wait before the next try after `err`.
    pub fn after(&mut self, err: &NetError) -> Duration {
        self.after_with(err, rand::random::<f64>())
    }

    /// [`Retry::after`] with the jitter given, in [0, 1].
    pub fn after_with(&mut self, err: &NetError, jitter: f64) -> Duration {
        let jitter = jitter.clamp(0.0, 1.0);
        if let Some(wait) = err.retry_after() {
            self.backoff.next_delay_with(jitter);
            return wait + (wait / 2).mul_f64(jitter);
        }
        let step = self.backoff.next_delay_with(jitter);
        if err.is_connect() {
            let half = CONNECT_RETRY / 2;
            return step.min(half + half.mul_f64(jitter));
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::relay::{ApiError, ApiErrorKind};

    fn refused() -> NetError {
        NetError::Transport {
            url: "http://127.0.0.1:9".into(),
            reason: "connection refused".into(),
            connect: true,
        }
    }

    fn broken() -> NetError {
        NetError::Transport {
            url: "http://127.0.0.1:9".into(),
            reason: "connection reset".into(),
            connect: false,
        }
    }

    fn busy(secs: u64) -> NetError {
        NetError::Api {
            status: 503,
            error: ApiError {
                kind: ApiErrorKind::ShuttingDown,
                message: "busy".into(),
            },
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    #[test]
    fn a_refused_connect_is_retried_within_a_second_however_long_the_outage() {
        let mut r = Retry::new(Duration::from_millis(500), Duration::from_secs(30));
        for i in 0..100 {
            let d = r.after_with(&refused(), f64::from(i % 7) / 6.0);
            assert!(d <= CONNECT_RETRY, "try {i}: {d:?}");
        }
        assert!(r.after_with(&refused(), 0.0) >= Duration::from_millis(250));
    }

    #[test]
    fn other_failures_back_off_to_the_cap() {
        let mut r = Retry::new(Duration::from_millis(500), Duration::from_secs(30));
        let waits: Vec<Duration> = (0..10).map(|_| r.after_with(&broken(), 1.0)).collect();
        assert_eq!(waits[0], Duration::from_millis(500));
        assert_eq!(waits[9], Duration::from_secs(30));
        r.reset();
        assert_eq!(r.after_with(&broken(), 1.0), Duration::from_millis(500));
    }

    #[test]
    fn retry_after_is_honoured_with_up_to_half_again_of_jitter() {
        let mut r = Retry::new(Duration::from_millis(500), Duration::from_secs(30));
        assert_eq!(r.after_with(&busy(10), 0.0), Duration::from_secs(10));
        assert_eq!(r.after_with(&busy(10), 1.0), Duration::from_secs(15));
        // Even after refused connects, which retry fast.
        r.after_with(&refused(), 0.5);
        assert!(r.after_with(&busy(4), 0.5) >= Duration::from_secs(4));
    }
}
