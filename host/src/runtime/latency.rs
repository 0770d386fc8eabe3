//! Tick-to-order latency as the running host sees it: from the moment a public socket task
//! read a book frame to the moment the loop had the request it caused ready for its transport
//! (a trade-stream frame queued for the socket, or a REST request encoded, signed and built).
//! It covers the hop from the socket task into the loop, the wait for the loop to get to the
//! frame, and everything the loop does for it; not the trade socket's own write.
//!
//! Samples collect in a window that the status line reads and resets every few seconds.

use std::time::Duration;

/// Most samples one window keeps (4 bytes each); more are counted, not kept.
const CAP: usize = 1 << 16;

/// Latency samples since the last [`take`](Self::take).
#[derive(Debug, Default)]
pub struct LatencyWindow {
    /// Nanoseconds, saturated at `u32::MAX` (4.3 s).
    samples: Vec<u32>,
    /// Samples past [`CAP`] in this window.
    overflow: u64,
}

/// Percentiles of one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencySummary {
    /// Samples in the window (including any not kept).
    pub count: u64,
    /// Median of the kept samples.
    pub p50: Duration,
    /// 99th percentile of the kept samples.
    pub p99: Duration,
    /// Largest kept sample.
    pub max: Duration,
}

impl LatencyWindow {
    /// Add one sample.
    pub fn record(&mut self, latency: Duration) {
        if self.samples.len() < CAP {
            let ns = u32::try_from(latency.as_nanos()).unwrap_or(u32::MAX);
            self.samples.push(ns);
        } else {
            self.overflow += 1;
        }
    }

    /// The window's percentiles (`None` when it is empty), and a new empty window.
    pub fn take(&mut self) -> Option<LatencySummary> {
        if self.samples.is_empty() {
            return None;
        }
        self.samples.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest sample with at least `q` of them at or below it.
            let rank = (q * self.samples.len() as f64).ceil() as usize;
            let ns = self.samples[rank.clamp(1, self.samples.len()) - 1];
            Duration::from_nanos(u64::from(ns))
        };
        let summary = LatencySummary {
            count: self.samples.len() as u64 + self.overflow,
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        };
        self.samples.clear();
        self.overflow = 0;
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn percentiles_by_nearest_rank_then_empty() {
        let mut w = LatencyWindow::default();
        assert_eq!(w.take(), None);
        // 1..=200 µs in scrambled order.
        for i in 0..200u64 {
            w.record(us((i * 77) % 200 + 1));
        }
        let s = w.take().expect("samples");
        assert_eq!(s.count, 200);
        assert_eq!(s.p50, us(100));
        assert_eq!(s.p99, us(198));
        assert_eq!(s.max, us(200));
        assert_eq!(w.take(), None, "taking resets the window");
    }

    #[test]
    fn one_sample_is_every_percentile_and_huge_ones_saturate() {
        let mut w = LatencyWindow::default();
        w.record(Duration::from_secs(10));
        let s = w.take().unwrap();
        assert_eq!(s.count, 1);
        assert_eq!(s.p50, Duration::from_nanos(u64::from(u32::MAX)));
        assert_eq!(s.p50, s.max);
    }

    #[test]
    fn a_full_window_counts_what_it_does_not_keep() {
        let mut w = LatencyWindow::default();
        for _ in 0..CAP + 5 {
            w.record(us(3));
        }
        let s = w.take().unwrap();
        assert_eq!(s.count, CAP as u64 + 5);
        assert_eq!(s.max, us(3));
        w.record(us(1));
        assert_eq!(w.take().unwrap().count, 1, "the overflow count resets too");
    }
}
