//! Samples and their summary.

use serde::Serialize;
use std::time::Duration;

/// Medians and tails of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Summarises durations (at least one).
pub fn summary(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            return f64::NAN;
        }
        let i = ((ms.len() as f64 - 1.0) * q).round() as usize;
        ms[i.min(ms.len() - 1)]
    };
    Summary {
        n: ms.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: ms.last().copied().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_a_hundred() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let m = summary(&s);
        assert_eq!((m.n, m.p50.round(), m.p99, m.max), (100, 51.0, 99.0, 100.0));
    }
}
