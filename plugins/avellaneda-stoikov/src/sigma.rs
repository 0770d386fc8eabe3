//! Online estimate of the Avellaneda–Stoikov σ (price units per √second) from mid changes
//! sampled on a fixed time grid.
//!
//! AS models the mid as arithmetic Brownian motion, so the estimator works on absolute mid
//! changes `d = m_t − m_{t−1}`, not log returns. The grid has points at every multiple of the
//! sampling interval Δ on the exchange clock (`ts_exchange_ms`). The sample for a grid cell is
//! the first mid seen at or after the cell's start; later mids in the same cell are ignored.
//! When an update lands `n ≥ 1` cells after the previous sample, one change is taken over the
//! whole gap and fed as `d² / n` (variance per interval under a random walk); the EWMA still
//! advances by one step. A timestamp that goes backwards is ignored.
//!
//! Per interval: `v₁ = d₁²` (or `λ·σ₀²·Δ + (1 − λ)·d₁²` with a prior σ₀ in price/√s), then
//! `v_t = λ·v_{t−1} + (1 − λ)·d_t²`; `σ = √(v / Δ_s)` with Δ_s the interval in seconds.

use plugin_api::math;

/// Version byte of the saved state.
const STATE_VERSION: u8 = 1;
/// Length of the saved state in bytes.
pub const STATE_LEN: usize = 42;

/// The last grid sample.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    mid: f64,
    ts_ms: i64,
}

/// Online EWMA estimator of σ on a fixed time grid.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmaEstimator {
    interval_ms: i64,
    last: Option<Sample>,
    /// Variance of the mid change per sampling interval, price².
    variance: f64,
    changes: u64,
    /// Derived from the fields above by [`Self::refresh`] whenever they change, so that the
    /// common call (an update in the cell already sampled) neither divides nor takes a root.
    cache: Cache,
}

/// What [`SigmaEstimator::observe`] and [`SigmaEstimator::sigma`] would otherwise recompute on
/// every call; always exactly the value the formula gives from the estimator's fields.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cache {
    /// Grid cell of the last sample, `last.ts_ms.div_euclid(interval_ms)` (0 without one).
    last_cell: i64,
    /// First timestamp of the cell after the last sample's, `(last_cell + 1)·interval_ms`:
    /// earlier timestamps fall in a cell already sampled (or go back). `i64::MIN` without a
    /// sample; `i64::MAX` when the product overflows, so that `i64::MAX` itself still takes
    /// the exact path.
    next_cell_ms: i64,
    /// `sqrt(variance / interval_s)` once a change was seen.
    sigma: Option<f64>,
}

impl SigmaEstimator {
    /// An empty estimator sampling every `interval_ms` (at least 1).
    pub fn new(interval_ms: u64) -> Self {
        Self::with_fields(clamp_interval(interval_ms), None, 0.0, 0)
    }

    fn with_fields(interval_ms: i64, last: Option<Sample>, variance: f64, changes: u64) -> Self {
        let mut est = Self {
            interval_ms,
            last,
            variance,
            changes,
            cache: Cache {
                last_cell: 0,
                next_cell_ms: i64::MIN,
                sigma: None,
            },
        };
        est.refresh();
        est
    }

    /// Recompute [`Cache`] from the fields (after any of them changed).
    fn refresh(&mut self) {
        let (last_cell, next_cell_ms) = match self.last {
            None => (0, i64::MIN),
            Some(last) => {
                let cell = last.ts_ms.div_euclid(self.interval_ms);
                let next = cell
                    .checked_add(1)
                    .and_then(|c| c.checked_mul(self.interval_ms))
                    .unwrap_or(i64::MAX);
                (cell, next)
            }
        };
        self.cache = Cache {
            last_cell,
            next_cell_ms,
            sigma: (self.changes > 0).then(|| math::sqrt(self.variance / self.interval_s())),
        };
    }

    /// Change the sampling interval, rescaling the per-interval variance so that σ per √s is
    /// unchanged.
    pub fn set_interval(&mut self, interval_ms: u64) {
        let new = clamp_interval(interval_ms);
        if new != self.interval_ms {
            self.variance *= new as f64 / self.interval_ms as f64;
            self.interval_ms = new;
            self.refresh();
        }
    }

    /// Number of mid changes folded into the estimate so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// σ in price units per √second, once at least one change was seen.
    pub fn sigma(&self) -> Option<f64> {
        self.cache.sigma
    }

    fn interval_s(&self) -> f64 {
        self.interval_ms as f64 / 1000.0
    }

    /// Feed the mid observed at `ts_ms`. Non-finite mids are ignored. `prior_sigma` (price/√s)
    /// seeds the variance when the first change arrives.
    pub fn observe(&mut self, mid: f64, ts_ms: i64, lambda: f64, prior_sigma: Option<f64>) {
        if !mid.is_finite() {
            return;
        }
        // `ts_ms < next_cell_ms` ⇔ `ts_ms.div_euclid(interval) <= last_cell` (no sample yet:
        // `next_cell_ms` is `i64::MIN`, never above `ts_ms`).
        if ts_ms < self.cache.next_cell_ms {
            return;
        }
        let Some(last) = self.last else {
            self.last = Some(Sample { mid, ts_ms });
            self.refresh();
            return;
        };
        let cells = ts_ms
            .div_euclid(self.interval_ms)
            .saturating_sub(self.cache.last_cell);
        if cells <= 0 {
            return;
        }
        let d = mid - last.mid;
        let x = d * d / cells as f64;
        if !x.is_finite() {
            return;
        }
        self.variance = match (self.changes, prior_sigma) {
            (0, None) => x,
            (0, Some(prior)) => lambda * prior * prior * self.interval_s() + (1.0 - lambda) * x,
            _ => lambda * self.variance + (1.0 - lambda) * x,
        };
        self.changes = self.changes.saturating_add(1);
        self.last = Some(Sample { mid, ts_ms });
        self.refresh();
    }

    /// Encode the estimator as [`STATE_LEN`] bytes:
    /// `version u8 | has_sample u8 | interval_ms i64 | last_mid f64 | last_ts_ms i64 |
    /// variance f64 | changes u64`, little-endian.
    pub fn to_bytes(&self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        b[0] = STATE_VERSION;
        b[1] = u8::from(self.last.is_some());
        let last = self.last.unwrap_or(Sample { mid: 0.0, ts_ms: 0 });
        b[2..10].copy_from_slice(&self.interval_ms.to_le_bytes());
        b[10..18].copy_from_slice(&last.mid.to_le_bytes());
        b[18..26].copy_from_slice(&last.ts_ms.to_le_bytes());
        b[26..34].copy_from_slice(&self.variance.to_le_bytes());
        b[34..42].copy_from_slice(&self.changes.to_le_bytes());
        b
    }

    /// Decode bytes written by [`SigmaEstimator::to_bytes`], then rescale to `interval_ms`.
    pub fn from_bytes(bytes: &[u8], interval_ms: u64) -> Result<Self, String> {
        if bytes.len() != STATE_LEN {
            return Err(format!(
                "avellaneda-stoikov state must be {STATE_LEN} bytes, got {}",
                bytes.len()
            ));
        }
        if bytes[0] != STATE_VERSION {
            return Err(format!(
                "unknown avellaneda-stoikov state version {}",
                bytes[0]
            ));
        }
        let f = |i: usize| f64::from_le_bytes(word(bytes, i));
        let n = |i: usize| i64::from_le_bytes(word(bytes, i));
        let saved_interval = n(2);
        let (mid, ts_ms, variance) = (f(10), n(18), f(26));
        let changes = u64::from_le_bytes(word(bytes, 34));
        let mut problems = Vec::new();
        if bytes[1] > 1 {
            problems.push("bad sample flag");
        }
        if saved_interval <= 0 {
            problems.push("sampling interval must be > 0");
        }
        if bytes[1] == 1 && !mid.is_finite() {
            problems.push("last mid must be finite");
        }
        if !(variance.is_finite() && variance >= 0.0) {
            problems.push("variance must be finite and >= 0");
        }
        if !problems.is_empty() {
            return Err(format!(
                "invalid avellaneda-stoikov state: {}",
                problems.join("; ")
            ));
        }
        let last = (bytes[1] == 1).then_some(Sample { mid, ts_ms });
        let mut est = Self::with_fields(saved_interval, last, variance, changes);
        est.set_interval(interval_ms);
        Ok(est)
    }
}

fn clamp_interval(interval_ms: u64) -> i64 {
    i64::try_from(interval_ms).unwrap_or(i64::MAX).max(1)
}

fn word(bytes: &[u8], at: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop, prop_assert_eq, proptest};

    /// The estimator as it was before [`Cache`]: every call divides both timestamps and
    /// `sigma` takes the root each time. The cached one must match it bit for bit.
    struct Naive {
        interval_ms: i64,
        last: Option<Sample>,
        variance: f64,
        changes: u64,
    }

    impl Naive {
        fn sigma(&self) -> Option<f64> {
            (self.changes > 0)
                .then(|| math::sqrt(self.variance / (self.interval_ms as f64 / 1000.0)))
        }

        fn observe(&mut self, mid: f64, ts_ms: i64, lambda: f64, prior_sigma: Option<f64>) {
            if !mid.is_finite() {
                return;
            }
            let Some(last) = self.last else {
                self.last = Some(Sample { mid, ts_ms });
                return;
            };
            let cells = ts_ms
                .div_euclid(self.interval_ms)
                .saturating_sub(last.ts_ms.div_euclid(self.interval_ms));
            if cells <= 0 {
                return;
            }
            let d = mid - last.mid;
            let x = d * d / cells as f64;
            if !x.is_finite() {
                return;
            }
            let interval_s = self.interval_ms as f64 / 1000.0;
            self.variance = match (self.changes, prior_sigma) {
                (0, None) => x,
                (0, Some(prior)) => lambda * prior * prior * interval_s + (1.0 - lambda) * x,
                _ => lambda * self.variance + (1.0 - lambda) * x,
            };
            self.changes = self.changes.saturating_add(1);
            self.last = Some(Sample { mid, ts_ms });
        }

        fn set_interval(&mut self, interval_ms: u64) {
            let new = clamp_interval(interval_ms);
            if new != self.interval_ms {
                self.variance *= new as f64 / self.interval_ms as f64;
                self.interval_ms = new;
            }
        }
    }

    proptest! {
        /// Random mids, timestamp steps (backwards, within a cell, across many cells, near
        /// the ends of `i64`), interval changes and state round trips: the cached estimator
        /// and the naive one agree on σ's bits and on the saved state after every step.
        #[test]
        fn cached_estimator_matches_the_naive_one(
            interval in prop::sample::select(vec![1u64, 7, 20, 250, 1000, 60_000, u64::MAX]),
            start in prop::sample::select(vec![0i64, -5_000, 1_687_940_967_466,
                                               i64::MAX - 10_000, i64::MIN + 10]),
            prior in prop::option::of(0.0f64..10.0),
            steps in prop::collection::vec(
                (-3i64..4, 0u8..8, 90.0f64..110.0, 0u8..20), 1..120),
        ) {
            let mut fast = SigmaEstimator::new(interval);
            let mut naive = Naive {
                interval_ms: clamp_interval(interval),
                last: None,
                variance: 0.0,
                changes: 0,
            };
            let mut ts = start;
            for (dir, scale, mid, op) in steps {
                let step = match scale {
                    0 => 0,
                    1 => 1,
                    2 => 19,
                    3 => 999,
                    4 => 1000,
                    5 => 4321,
                    6 => 60_000,
                    _ => i64::MAX / 4,
                };
                ts = ts.saturating_add(dir.saturating_mul(step));
                let mid = if op == 19 { f64::NAN } else { mid };
                match op {
                    0 => {
                        fast.set_interval(250);
                        naive.set_interval(250);
                    }
                    1 => {
                        fast.set_interval(1000);
                        naive.set_interval(1000);
                    }
                    2 => fast = SigmaEstimator::from_bytes(&fast.to_bytes(), 1000).unwrap(),
                    _ => {}
                }
                if op == 2 {
                    naive.set_interval(1000);
                }
                fast.observe(mid, ts, 0.94, prior);
                naive.observe(mid, ts, 0.94, prior);
                prop_assert_eq!(fast.sigma().map(f64::to_bits), naive.sigma().map(f64::to_bits));
                prop_assert_eq!(fast.changes, naive.changes);
                prop_assert_eq!(fast.last, naive.last);
                prop_assert_eq!(fast.variance.to_bits(), naive.variance.to_bits());
                prop_assert_eq!(fast.interval_ms, naive.interval_ms);
            }
        }
    }

    fn run(prices: &[f64], interval_ms: u64, lambda: f64) -> SigmaEstimator {
        let mut e = SigmaEstimator::new(interval_ms);
        for (i, &p) in prices.iter().enumerate() {
            e.observe(p, i as i64 * interval_ms as i64, lambda, None);
        }
        e
    }

    #[test]
    fn ewma_of_squared_changes_per_second() {
        // Changes 0.2, −0.3, 0.2 → v = 0.04, then 0.9·0.04 + 0.1·0.09, then 0.9·v + 0.1·0.04.
        let v = 0.9 * (0.9 * 0.04 + 0.1 * 0.09) + 0.1 * 0.04;
        let cases = [
            // (interval_ms, σ per √s)
            (1000, math::sqrt(v)),
            (250, math::sqrt(v * 4.0)),
            (4000, math::sqrt(v / 4.0)),
        ];
        for (interval_ms, want) in cases {
            let got = run(&[100.0, 100.2, 99.9, 100.1], interval_ms, 0.9)
                .sigma()
                .unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "{interval_ms} ms: {got} vs {want}"
            );
        }
    }

    #[test]
    fn one_sample_per_cell_gaps_scaled_and_time_going_back_ignored() {
        let mut e = SigmaEstimator::new(1000);
        e.observe(100.0, 0, 0.9, None);
        e.observe(500.0, 999, 0.9, None); // same cell: ignored
        assert_eq!(e.sigma(), None);
        e.observe(102.0, 4500, 0.9, None); // four cells: d²/4 = 1
        assert!((e.sigma().unwrap() - 1.0).abs() < 1e-12);
        e.observe(0.0, 2000, 0.9, None);
        assert_eq!(e.changes(), 1);
    }

    #[test]
    fn prior_is_in_price_per_root_second() {
        let mut e = SigmaEstimator::new(500);
        e.observe(100.0, 0, 0.5, Some(2.0));
        e.observe(100.0, 500, 0.5, Some(2.0));
        // v = 0.5·(2²·0.5) = 1 per 0.5 s → σ² = 2 per s.
        assert!((e.sigma().unwrap() - math::sqrt(2.0)).abs() < 1e-12);
    }

    #[test]
    fn state_round_trips_keeps_sigma_per_second_and_rejects_garbage() {
        let e = run(&[100.0, 100.2, 99.9, 100.1], 1000, 0.94);
        assert_eq!(SigmaEstimator::from_bytes(&e.to_bytes(), 1000).unwrap(), e);
        let other = SigmaEstimator::from_bytes(&e.to_bytes(), 250).unwrap();
        assert!((other.sigma().unwrap() - e.sigma().unwrap()).abs() < 1e-12);
        let good = e.to_bytes();
        let mut bad_version = good;
        bad_version[0] = 2;
        let mut bad_flag = good;
        bad_flag[1] = 7;
        let mut negative_variance = good;
        negative_variance[26..34].copy_from_slice(&(-1.0f64).to_le_bytes());
        let cases: [(&[u8], &str); 4] = [
            (b"not a state", "42 bytes"),
            (&bad_version, "version 2"),
            (&bad_flag, "sample flag"),
            (&negative_variance, "variance"),
        ];
        for (bytes, want) in cases {
            let err = SigmaEstimator::from_bytes(bytes, 1000).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }
}
