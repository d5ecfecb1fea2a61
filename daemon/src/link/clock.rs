//! Clocks, and detecting a wake from sleep.
//!
//! `CLOCK_MONOTONIC` stops while the machine sleeps; `CLOCK_BOOTTIME`
//! does not. When boot time advances by clearly more than monotonic time
//! between two looks, the machine was asleep in between: every socket may
//! be dead, so the link reconnects at once instead of waiting out its
//! backoff. The outage clock uses monotonic time (tokio's `Instant`), so
//! it counts awake time only.

use std::time::Duration;

/// The two clocks, behind a seam so tests can simulate a sleep.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Time that stops during sleep.
    fn monotonic(&self) -> Duration;
    /// Time that keeps running during sleep.
    fn boottime(&self) -> Duration;
}

/// The system's clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

fn read(id: nix::time::ClockId) -> Duration {
    nix::time::clock_gettime(id)
        .map(Duration::from)
        .unwrap_or_default()
}

impl Clock for SystemClock {
    fn monotonic(&self) -> Duration {
        read(nix::time::ClockId::CLOCK_MONOTONIC)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn boottime(&self) -> Duration {
        read(nix::time::ClockId::CLOCK_BOOTTIME)
    }

    // macOS: the wall clock keeps running during sleep; a jump of it
    // against monotonic time is the same signal (a manual clock change
    // causes at most one early reconnect).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn boottime(&self) -> Duration {
        read(nix::time::ClockId::CLOCK_REALTIME)
    }
}

/// The system's clocks plus a simulated sleep: boot time runs ahead by
/// however long [`SimulatedSleep::sleep`] was told. The seam through which
/// tests make the daemon believe the machine slept.
#[derive(Debug, Default)]
pub struct SimulatedSleep {
    slept_ms: std::sync::atomic::AtomicU64,
}

impl SimulatedSleep {
    /// Pretends the machine slept for `d` just now.
    pub fn sleep(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.slept_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for SimulatedSleep {
    fn monotonic(&self) -> Duration {
        SystemClock.monotonic()
    }
    fn boottime(&self) -> Duration {
        SystemClock.boottime()
            + Duration::from_millis(self.slept_ms.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// How much more boot time than monotonic time counts as a sleep.
pub const WAKE_THRESHOLD: Duration = Duration::from_secs(3);

/// Compares the clocks between calls to [`WakeDetector::check`].
#[derive(Debug)]
pub struct WakeDetector {
    last_mono: Duration,
    last_boot: Duration,
}

impl WakeDetector {
    /// Starts from the clocks' current readings.
    pub fn new(clock: &dyn Clock) -> Self {
        Self {
            last_mono: clock.monotonic(),
            last_boot: clock.boottime(),
        }
    }

    /// How long the machine slept since the last check, if it did.
    pub fn check(&mut self, clock: &dyn Clock) -> Option<Duration> {
        let (mono, boot) = (clock.monotonic(), clock.boottime());
        let awake = mono.saturating_sub(self.last_mono);
        let total = boot.saturating_sub(self.last_boot);
        self.last_mono = mono;
        self.last_boot = boot;
        let slept = total.saturating_sub(awake);
        (slept > WAKE_THRESHOLD).then_some(slept)
    }
}

#[cfg(test)]
pub mod fake {
    use super::*;
    use std::sync::Mutex;

    /// A clock whose readings tests set.
    #[derive(Debug, Default)]
    pub struct FakeClock {
        pub now: Mutex<(Duration, Duration)>,
    }

    impl FakeClock {
        /// Both clocks advance by `d` (the machine is awake).
        pub fn run(&self, d: Duration) {
            let mut n = self.now.lock().unwrap();
            n.0 += d;
            n.1 += d;
        }
        /// Only boot time advances (the machine sleeps).
        pub fn sleep(&self, d: Duration) {
            self.now.lock().unwrap().1 += d;
        }
    }

    impl Clock for FakeClock {
        fn monotonic(&self) -> Duration {
            self.now.lock().unwrap().0
        }
        fn boottime(&self) -> Duration {
            self.now.lock().unwrap().1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeClock;
    use super::*;

    #[test]
    fn a_sleep_is_seen_once_and_awake_time_is_not_a_sleep() {
        let c = FakeClock::default();
        let mut w = WakeDetector::new(&c);
        c.run(Duration::from_secs(100));
        assert_eq!(w.check(&c), None);
        c.sleep(Duration::from_secs(3600));
        c.run(Duration::from_secs(1));
        assert_eq!(w.check(&c), Some(Duration::from_secs(3600)));
        assert_eq!(w.check(&c), None);
        c.sleep(Duration::from_secs(1));
        assert_eq!(w.check(&c), None, "jitter below the threshold");
    }

    #[test]
    fn the_system_clocks_read() {
        let c = SystemClock;
        assert!(c.monotonic() > Duration::ZERO);
        let mono = c.monotonic();
        assert!(c.boottime() >= mono || cfg!(not(target_os = "linux")));
    }
}
