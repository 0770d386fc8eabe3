//! EWMA variance of log mid returns, sampled on a fixed time grid.
//!
//! The grid has points at every multiple of the sampling interval Δ on the exchange clock
//! (`ts_exchange_ms`). The sample for a grid cell is the first mid seen at or after the cell's
//! start; later mids in the same cell are ignored. When an update lands `n ≥ 1` cells after the
//! previous sample, one return `r = ln(m / m_prev)` is taken over the whole gap and fed as
//! `r² / n`, the per-interval variance under a random walk; the EWMA still advances by one
//! step. A timestamp that goes backwards is ignored.
//!
//! `v₁ = r₁²` (or `λ·σ₀² + (1 − λ)·r₁²` with a prior σ₀), then `v_t = λ·v_{t−1} + (1 − λ)·r_t²`;
//! σ = √v is relative (a fraction of the price) per sampling interval.

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

/// Online EWMA volatility estimator on a fixed time grid.
#[derive(Clone, Debug, PartialEq)]
pub struct GridEwma {
    interval_ms: i64,
    last: Option<Sample>,
    variance: f64,
    returns: u64,
}

impl GridEwma {
    /// An empty estimator sampling every `interval_ms` (at least 1).
    pub fn new(interval_ms: u64) -> Self {
        Self {
            interval_ms: clamp_interval(interval_ms),
            last: None,
            variance: 0.0,
            returns: 0,
        }
    }

    /// Change the sampling interval, rescaling the variance to the new interval (random walk:
    /// variance grows linearly with time).
    pub fn set_interval(&mut self, interval_ms: u64) {
        let new = clamp_interval(interval_ms);
        if new != self.interval_ms {
            self.variance *= new as f64 / self.interval_ms as f64;
            self.interval_ms = new;
        }
    }

    /// Number of returns folded into the estimate so far.
    pub fn returns(&self) -> u64 {
        self.returns
    }

    /// σ per sampling interval (relative), once at least one return was seen.
    pub fn sigma(&self) -> Option<f64> {
        (self.returns > 0).then(|| math::sqrt(self.variance))
    }

    /// Feed the mid observed at `ts_ms`. Mids that are not finite and positive are ignored.
    /// `prior_sigma` seeds the variance when the first return arrives.
    pub fn observe(&mut self, mid: f64, ts_ms: i64, lambda: f64, prior_sigma: Option<f64>) {
        if !(mid.is_finite() && mid > 0.0) {
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
        let r = math::ln(mid / last.mid);
        let x = r * r / cells as f64;
        self.variance = match (self.returns, prior_sigma) {
            (0, None) => x,
            (0, Some(prior)) => lambda * prior * prior + (1.0 - lambda) * x,
            _ => lambda * self.variance + (1.0 - lambda) * x,
        };
        self.returns = self.returns.saturating_add(1);
        self.last = Some(Sample { mid, ts_ms });
    }

    /// Encode the estimator as [`STATE_LEN`] bytes:
    /// `version u8 | has_sample u8 | interval_ms i64 | last_mid f64 | last_ts_ms i64 |
    /// variance f64 | returns u64`, little-endian.
    pub fn to_bytes(&self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        b[0] = STATE_VERSION;
        b[1] = u8::from(self.last.is_some());
        let last = self.last.unwrap_or(Sample { mid: 0.0, ts_ms: 0 });
        b[2..10].copy_from_slice(&self.interval_ms.to_le_bytes());
        b[10..18].copy_from_slice(&last.mid.to_le_bytes());
        b[18..26].copy_from_slice(&last.ts_ms.to_le_bytes());
        b[26..34].copy_from_slice(&self.variance.to_le_bytes());
        b[34..42].copy_from_slice(&self.returns.to_le_bytes());
        b
    }

    /// Decode bytes written by [`GridEwma::to_bytes`], then rescale to `interval_ms`.
    pub fn from_bytes(bytes: &[u8], interval_ms: u64) -> Result<Self, String> {
        if bytes.len() != STATE_LEN {
            return Err(format!(
                "vol-scaled state must be {STATE_LEN} bytes, got {}",
                bytes.len()
            ));
        }
        if bytes[0] != STATE_VERSION {
            return Err(format!("unknown vol-scaled state version {}", bytes[0]));
        }
        let f = |i: usize| f64::from_le_bytes(word(bytes, i));
        let n = |i: usize| i64::from_le_bytes(word(bytes, i));
        let saved_interval = n(2);
        let (mid, ts_ms, variance) = (f(10), n(18), f(26));
        let returns = u64::from_le_bytes(word(bytes, 34));
        let mut problems = Vec::new();
        if bytes[1] > 1 {
            problems.push("bad sample flag");
        }
        if saved_interval <= 0 {
            problems.push("sampling interval must be > 0");
        }
        if bytes[1] == 1 && !(mid.is_finite() && mid > 0.0) {
            problems.push("last mid must be finite and > 0");
        }
        if !(variance.is_finite() && variance >= 0.0) {
            problems.push("variance must be finite and >= 0");
        }
        if !problems.is_empty() {
            return Err(format!("invalid vol-scaled state: {}", problems.join("; ")));
        }
        let mut ewma = Self {
            interval_ms: saved_interval,
            last: (bytes[1] == 1).then_some(Sample { mid, ts_ms }),
            variance,
            returns,
        };
        ewma.set_interval(interval_ms);
        Ok(ewma)
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

    const GOLDEN: [f64; 6] = [100.0, 100.2, 99.9, 100.1, 100.4, 100.3];

    fn run(prices: &[f64], lambda: f64) -> GridEwma {
        let mut e = GridEwma::new(1000);
        for (i, &p) in prices.iter().enumerate() {
            e.observe(p, i as i64 * 1000, lambda, None);
        }
        e
    }

    #[test]
    fn golden_sigma_table() {
        // strategies.md §5: v₀ = r₁², σ per sampling interval.
        for (lambda, want) in [(0.94, 0.002_083_638_096), (0.97, 0.002_045_378_366)] {
            let sigma = run(&GOLDEN, lambda).sigma().unwrap();
            assert!((sigma - want).abs() < 1e-12, "λ={lambda}: {sigma}");
        }
    }

    #[test]
    fn one_sample_per_grid_cell_first_mid_wins() {
        let mut e = GridEwma::new(1000);
        e.observe(100.0, 500, 0.94, None);
        e.observe(200.0, 999, 0.94, None); // same cell: ignored
        assert_eq!(e.sigma(), None);
        e.observe(101.0, 1000, 0.94, None);
        e.observe(300.0, 1999, 0.94, None); // same cell as 1000: ignored
        let r = math::ln(1.01);
        assert_eq!(e.returns(), 1);
        assert!((e.sigma().unwrap() - r.abs()).abs() < 1e-15);
    }

    #[test]
    fn gaps_are_scaled_to_one_interval_and_time_going_back_is_ignored() {
        let mut e = GridEwma::new(1000);
        e.observe(100.0, 0, 0.94, None);
        e.observe(104.0, 4000, 0.94, None); // four cells: r²/4
        let r = math::ln(1.04);
        assert!((e.sigma().unwrap() - r.abs() / 2.0).abs() < 1e-15);
        e.observe(50.0, 3000, 0.94, None);
        assert_eq!(e.returns(), 1);
    }

    #[test]
    fn prior_seeds_the_first_return() {
        let mut e = GridEwma::new(1000);
        e.observe(100.0, 0, 0.9, Some(0.01));
        e.observe(100.0, 1000, 0.9, Some(0.01));
        assert!((e.sigma().unwrap() - math::sqrt(0.9 * 1e-4)).abs() < 1e-15);
    }

    #[test]
    fn invalid_mids_are_ignored() {
        let mut e = GridEwma::new(1000);
        for (i, m) in [f64::NAN, -1.0, 0.0, f64::INFINITY].into_iter().enumerate() {
            e.observe(m, i as i64 * 1000, 0.94, None);
        }
        assert_eq!(e, GridEwma::new(1000));
    }

    #[test]
    fn state_round_trips_and_rescales_to_a_new_interval() {
        let e = run(&GOLDEN, 0.94);
        assert_eq!(GridEwma::from_bytes(&e.to_bytes(), 1000).unwrap(), e);
        let slower = GridEwma::from_bytes(&e.to_bytes(), 4000).unwrap();
        let ratio = slower.sigma().unwrap() / e.sigma().unwrap();
        assert!((ratio - 2.0).abs() < 1e-12, "{ratio}");
    }

    #[test]
    fn garbage_state_is_rejected() {
        let good = run(&GOLDEN, 0.94).to_bytes();
        let mut bad_version = good;
        bad_version[0] = 9;
        let mut nan_variance = good;
        nan_variance[26..34].copy_from_slice(&f64::NAN.to_le_bytes());
        let mut zero_interval = good;
        zero_interval[2..10].copy_from_slice(&0i64.to_le_bytes());
        let cases: [(&[u8], &str); 5] = [
            (&good[..10], "42 bytes"),
            (b"{\"json\": true}", "42 bytes"),
            (&bad_version, "version 9"),
            (&nan_variance, "variance"),
            (&zero_interval, "interval"),
        ];
        for (bytes, want) in cases {
            let err = GridEwma::from_bytes(bytes, 1000).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }
}
