//! Limits on guessing: failed pairing attempts are counted per source
//! address and overall, in windows of a minute, and past either limit the
//! relay answers 429 until the window ends. A pairing code has 40 bits,
//! works once and lives 10 minutes, so with these limits an attacker gets
//! at most `OVERALL_PER_WINDOW` × 10 guesses at a code: about one chance in
//! a billion.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The length of a counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failed attempts one source address may make per window.
pub const PER_SOURCE_PER_WINDOW: u32 = 10;
/// Failed attempts all sources together may make per window.
pub const OVERALL_PER_WINDOW: u32 = 100;
/// Sources tracked at once; beyond it, new sources count only overall
/// (the table cannot be grown without bound by spoofed-looking churn).
const MAX_SOURCES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            start: now,
            failures: 0,
        }
    }

    /// The window as of `now`: a fresh one once it has ended.
    fn current(self, now: Instant) -> Window {
        if now.duration_since(self.start) >= WINDOW {
            Window::new(now)
        } else {
            self
        }
    }

    fn left(&self, now: Instant) -> Duration {
        WINDOW.saturating_sub(now.duration_since(self.start))
    }
}

#[derive(Debug)]
struct Counts {
    overall: Window,
    sources: HashMap<IpAddr, Window>,
}

/// Failed attempts of one kind (pairing), per source and overall.
#[derive(Debug)]
pub struct Attempts {
    counts: Mutex<Counts>,
}

impl Default for Attempts {
    fn default() -> Self {
        Attempts {
            counts: Mutex::new(Counts {
                overall: Window::new(Instant::now()),
                sources: HashMap::new(),
            }),
        }
    }
}

/// Why an attempt is refused before it is tried, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Source(Duration),
    Overall(Duration),
}

impl Attempts {
    /// Whether `source` may try now.
    pub fn check(&self, source: Option<IpAddr>) -> Result<(), Refused> {
        let now = Instant::now();
        let mut c = self.counts.lock().expect("attempt counts");
        c.overall = c.overall.current(now);
        if c.overall.failures >= OVERALL_PER_WINDOW {
            return Err(Refused::Overall(c.overall.left(now)));
        }
        if let Some(w) = source.and_then(|ip| c.sources.get(&ip)) {
            let w = w.current(now);
            if w.failures >= PER_SOURCE_PER_WINDOW {
                return Err(Refused::Source(w.left(now)));
            }
        }
        Ok(())
    }

    /// Counts a failed attempt from `source`.
    pub fn failed(&self, source: Option<IpAddr>) {
        let now = Instant::now();
        let mut c = self.counts.lock().expect("attempt counts");
        c.overall = c.overall.current(now);
        c.overall.failures += 1;
        let Some(ip) = source else { return };
        if c.sources.len() >= MAX_SOURCES && !c.sources.contains_key(&ip) {
            c.sources
                .retain(|_, w| now.duration_since(w.start) < WINDOW);
            if c.sources.len() >= MAX_SOURCES {
                return;
            }
        }
        let w = c.sources.entry(ip).or_insert_with(|| Window::new(now));
        *w = w.current(now);
        w.failures += 1;
    }

    /// Forgets windows that have ended (the sweeper calls it).
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut c = self.counts.lock().expect("attempt counts");
        c.sources
            .retain(|_, w| now.duration_since(w.start) < WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_is_held_back_and_then_everyone() {
        let a = Attempts::default();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..PER_SOURCE_PER_WINDOW {
            assert_eq!(a.check(Some(one)), Ok(()));
            a.failed(Some(one));
        }
        assert!(matches!(a.check(Some(one)), Err(Refused::Source(_))));
        // Others still may.
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(a.check(Some(other)), Ok(()));
        // Many sources together reach the overall limit.
        for i in 0..OVERALL_PER_WINDOW {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            a.failed(Some(ip));
        }
        assert!(matches!(a.check(Some(other)), Err(Refused::Overall(_))));
        assert!(matches!(a.check(None), Err(Refused::Overall(_))));
    }
}
