//! The scenarios. Each returns its measurements and its verdicts against
//! the targets of docs/PERFORMANCE.md.

pub mod browser;
pub mod fairness;
pub mod fanin;
pub mod flood;
pub mod keys;
pub mod resources;
pub mod spawn;
pub mod worktree;

use crate::stats::Summary;
use serde::Serialize;

/// One figure of one subject (rcd, or its peer) in a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub scenario: &'static str,
    pub subject: String,
    /// `ms` for latencies (p50, p99 of the samples), `MB/s`, `s` (CPU).
    pub unit: &'static str,
    pub p50: f64,
    pub p99: Option<f64>,
    pub n: usize,
}

impl Measure {
    pub fn latency(scenario: &'static str, subject: &str, s: Summary) -> Self {
        Self {
            scenario,
            subject: subject.into(),
            unit: "ms",
            p50: s.p50,
            p99: Some(s.p99),
            n: s.n,
        }
    }

    pub fn value(scenario: &'static str, subject: &str, unit: &'static str, v: f64) -> Self {
        Self {
            scenario,
            subject: subject.into(),
            unit,
            p50: v,
            p99: None,
            n: 1,
        }
    }
}

/// A target of the scenario and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub scenario: &'static str,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

/// A scenario that could not run on this machine, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub scenario: &'static str,
    pub why: String,
}

/// What a scenario found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub measures: Vec<Measure>,
    pub verdicts: Vec<Verdict>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    pub fn verdict(&mut self, scenario: &'static str, target: &str, measured: String, met: bool) {
        self.verdicts.push(Verdict {
            scenario,
            target: target.into(),
            measured,
            met,
        });
    }

    pub fn skip(&mut self, scenario: &'static str, why: String) {
        self.skipped.push(Skipped { scenario, why });
    }
}
