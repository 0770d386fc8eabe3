//! `vol-scaled`: a spread proportional to the recent volatility of the mid.
//!
//! Volatility is the EWMA (RiskMetrics) standard deviation of log mid returns sampled on a fixed
//! time grid of the exchange clock, not per message (see [`ewma`] for the sampling rules):
//! `r_t = ln(m_t / m_{t−1})`, `v_t = λ·v_{t−1} + (1 − λ)·r_t²`, `σ = √v`, with `v₁ = r₁²`.
//! σ is relative and **per sampling interval**; to target a quoting horizon H, scale the
//! multiplier: `c_H = c·√(H / sample_interval_ms)`.
//!
//! # Parameters (JSON)
//!
//! | key | unit | default | meaning |
//! |---|---|---|---|
//! | `sample_interval_ms` | ms, ≥ 1 | 1000 | grid spacing of the volatility samples (exchange clock) |
//! | `lambda` | factor, 0 < λ < 1 | 0.94 | EWMA decay; effective window ≈ 1/(1 − λ) samples |
//! | `vol_multiplier` | σ units, ≥ 0 | 2.0 | c: the **full** spread (ask − bid) of the first level is `c·σ·mid` |
//! | `min_spread` | price units, ≥ 0 | 0.0 | floor on the full spread of the first level |
//! | `max_spread` | price units or `null` | `null` (no cap) | cap on the full spread of the first level (applied before `min_spread_ticks`) |
//! | `min_spread_ticks` | ticks | 1 | floor on the full spread of the first level |
//! | `initial_sigma` | fraction per interval or `null` | `null` | prior σ: quote with it until the first return, and seed `v` with it; `null` pulls while warming up |
//! | `skew_bps_per_unit` | bps of the mid per unit of position | 0.0 | linear inventory skew: the centre moves down by this much per unit long |
//! | `levels` | count, 1..=10 | 1 | levels per side |
//! | `level_spacing_bps` | bps of the mid | 5.0 | distance between consecutive levels |
//! | `size` | base quantity | 0.01 | size of the first level |
//! | `size_multiplier` | factor | 1.0 | each further level's size is the previous one's times this |
//!
//! The first level is `centre ± spread/2` with `centre = mid·(1 − position·skew/10⁴)` and
//! `spread = max(clamp(c·σ·mid, min_spread, max_spread), min_spread_ticks·tick)`. Level `i` sits
//! `i·mid·level_spacing_bps/10⁴` further out. Then [`plugin_api::guard::enforce`] makes the
//! ladder post-only safe and sized within the position limit.
//!
//! The strategy pulls ([`checked_mid`]) while the book has an empty side, the mid is not a
//! positive number, the book is crossed, the tick or lot size is not a finite number ≥ 0, σ is
//! unknown (fewer than two grid samples and no `initial_sigma`), or the quotes are not finite
//! (e.g. a NaN position).
//!
//! State: [`Strategy::save_state`] writes the estimator (σ, last sample, sampling interval) as
//! 42 little-endian bytes with a version byte; restoring under a different `sample_interval_ms`
//! rescales the variance. Restoring an empty state is a no-op; anything else malformed is an
//! error.

pub mod ewma;

use ewma::GridEwma;
use plugin_api::{Inventory, Ladder, MarketView, Strategy, UpdateOutcome, guard, parse_params};
use serde::Deserialize;

/// Parameters of [`VolScaled`]; see the crate docs for units and defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Spacing of the sampling grid, ms of exchange time.
    pub sample_interval_ms: u64,
    /// EWMA decay factor λ.
    pub lambda: f64,
    /// c: full spread of the first level in units of `σ·mid`.
    pub vol_multiplier: f64,
    /// Floor on the full spread, price units.
    pub min_spread: f64,
    /// Cap on the full spread, price units; `None` for no cap.
    pub max_spread: Option<f64>,
    /// Floor on the full spread, ticks.
    pub min_spread_ticks: u32,
    /// Prior σ per sampling interval (relative); `None` pulls until σ is estimated.
    pub initial_sigma: Option<f64>,
    /// Inventory skew, bps of the mid per unit of position.
    pub skew_bps_per_unit: f64,
    /// Levels per side.
    pub levels: u32,
    /// Spacing between levels, bps of the mid.
    pub level_spacing_bps: f64,
    /// Size of the first level, base quantity.
    pub size: f64,
    /// Size factor from one level to the next.
    pub size_multiplier: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            sample_interval_ms: 1000,
            lambda: 0.94,
            vol_multiplier: 2.0,
            min_spread: 0.0,
            max_spread: None,
            min_spread_ticks: 1,
            initial_sigma: None,
            skew_bps_per_unit: 0.0,
            levels: 1,
            level_spacing_bps: 5.0,
            size: 0.01,
            size_multiplier: 1.0,
        }
    }
}

impl Params {
    fn parse(json: &[u8]) -> Result<Self, String> {
        let p: Self = parse_params(json)?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.sample_interval_ms == 0 {
            problems.push("sample_interval_ms must be >= 1");
        }
        if !(self.lambda > 0.0 && self.lambda < 1.0) {
            problems.push("lambda must be strictly between 0 and 1");
        }
        if !(self.vol_multiplier.is_finite() && self.vol_multiplier >= 0.0) {
            problems.push("vol_multiplier must be a finite number >= 0");
        }
        if !(self.min_spread.is_finite() && self.min_spread >= 0.0) {
            problems.push("min_spread must be a finite number >= 0");
        }
        if let Some(max) = self.max_spread {
            if !(max.is_finite() && max >= 0.0) {
                problems.push("max_spread must be a finite number >= 0 or null");
            } else if max < self.min_spread {
                problems.push("max_spread must be >= min_spread");
            }
        }
        if let Some(sigma) = self.initial_sigma
            && !(sigma.is_finite() && sigma >= 0.0)
        {
            problems.push("initial_sigma must be a finite number >= 0 or null");
        }
        if !self.skew_bps_per_unit.is_finite() {
            problems.push("skew_bps_per_unit must be finite");
        }
        if !(1..=10).contains(&self.levels) {
            problems.push("levels must be between 1 and 10");
        }
        if !(self.level_spacing_bps.is_finite() && self.level_spacing_bps >= 0.0) {
            problems.push("level_spacing_bps must be a finite number >= 0");
        }
        if !(self.size.is_finite() && self.size > 0.0) {
            problems.push("size must be a finite number > 0");
        }
        if !(self.size_multiplier.is_finite() && self.size_multiplier > 0.0) {
            problems.push("size_multiplier must be a finite number > 0");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Full spread `clamp(c·σ·mid, min_spread, max_spread)` in price units (before the tick floor).
pub fn full_spread(c: f64, sigma: f64, mid: f64, min_spread: f64, max_spread: Option<f64>) -> f64 {
    let raw = c * sigma * mid;
    let capped = match max_spread {
        Some(max) if raw > max => max,
        _ => raw,
    };
    if capped > min_spread {
        capped
    } else {
        min_spread
    }
}

/// Spread factor of this build: 1, or 2 when compiled with `QUOTER_VOL_WIDE` set, as the
/// `vol-wide` test fixture does (a second build that quotes differently, for hot-swap tests).
const BUILD_SPREAD_FACTOR: f64 = if option_env!("QUOTER_VOL_WIDE").is_some() {
    2.0
} else {
    1.0
};

/// The vol-scaled strategy.
#[derive(Debug)]
pub struct VolScaled {
    params: Params,
    ewma: GridEwma,
}

impl VolScaled {
    /// The current σ estimate per sampling interval, if known (ignores `initial_sigma`).
    pub fn sigma(&self) -> Option<f64> {
        self.ewma.sigma()
    }

    /// The first-level `(bid, ask)` for `sigma` around `mid`, before safety rules.
    pub fn first_level(&self, mid: f64, sigma: f64, position: f64, tick: f64) -> (f64, f64) {
        let p = &self.params;
        let centre = mid * (1.0 - position * p.skew_bps_per_unit / 1e4);
        let mut spread = BUILD_SPREAD_FACTOR
            * full_spread(p.vol_multiplier, sigma, mid, p.min_spread, p.max_spread);
        let min_ticks = f64::from(p.min_spread_ticks) * tick;
        if spread < min_ticks {
            spread = min_ticks;
        }
        (centre - spread / 2.0, centre + spread / 2.0)
    }
}

impl Strategy for VolScaled {
    fn create(params_json: &[u8]) -> Result<Self, String> {
        let params = Params::parse(params_json)?;
        let ewma = GridEwma::new(params.sample_interval_ms);
        Ok(Self { params, ewma })
    }

    fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, String> {
        let params = Params::parse(params_json)?;
        self.ewma.set_interval(params.sample_interval_ms);
        self.params = params;
        Ok(UpdateOutcome::Applied)
    }

    fn quote(
        &mut self,
        view: &MarketView,
        inventory: &Inventory,
        out: &mut Ladder,
    ) -> Result<(), String> {
        let mid = match guard::checked_mid(view) {
            Ok(mid) => mid,
            Err(reason) => {
                out.pull(reason);
                return Ok(());
            }
        };
        let p = &self.params;
        self.ewma
            .observe(mid, view.ts_exchange_ms, p.lambda, p.initial_sigma);
        let Some(sigma) = self.ewma.sigma().or(p.initial_sigma) else {
            out.pull("volatility warming up (fewer than 2 samples)");
            return Ok(());
        };
        let (bid0, ask0) = self.first_level(mid, sigma, inventory.excess(), view.tick_size);
        let spec = guard::LevelSpec {
            levels: p.levels,
            step: mid * p.level_spacing_bps / 1e4,
            size: p.size,
            size_multiplier: p.size_multiplier,
        };
        guard::fill_ladder(view, inventory, out, (bid0, ask0), spec);
        Ok(())
    }

    fn save_state(&self) -> Vec<u8> {
        self.ewma.to_bytes().to_vec()
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), String> {
        if state.is_empty() {
            return Ok(());
        }
        self.ewma = GridEwma::from_bytes(state, self.params.sample_interval_ms)?;
        Ok(())
    }
}

plugin_api::export_strategy!(VolScaled);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Level;
    use proptest::prelude::{any, prop, proptest};

    const GOLDEN: [f64; 6] = [100.0, 100.2, 99.9, 100.1, 100.4, 100.3];

    fn view(bids: &[(f64, f64)], asks: &[(f64, f64)], ts_ms: i64) -> MarketView {
        let mut v = MarketView::new("TEST");
        let to = |s: &[(f64, f64)]| s.iter().map(|&(p, q)| Level::new(p, q)).collect::<Vec<_>>();
        v.set_bids(&to(bids));
        v.set_asks(&to(asks));
        v.ts_exchange_ms = ts_ms;
        v
    }

    /// A book with the given mid, one level 0.5 away on each side.
    fn book_at(mid: f64, ts_ms: i64) -> MarketView {
        view(&[(mid - 0.5, 1.0)], &[(mid + 0.5, 1.0)], ts_ms)
    }

    fn inv() -> Inventory {
        Inventory {
            max_position: 100.0,
            ..Default::default()
        }
    }

    /// Feed `mids` one grid interval apart and return the strategy and the last ladder.
    fn run(params: &str, mids: &[f64]) -> (VolScaled, Ladder) {
        let mut s = VolScaled::create(params.as_bytes()).unwrap();
        let mut out = Ladder::default();
        for (i, &m) in mids.iter().enumerate() {
            out.clear();
            s.quote(&book_at(m, i as i64 * 1000), &inv(), &mut out)
                .unwrap();
        }
        (s, out)
    }

    #[test]
    fn golden_vol_scaled_spread_table() {
        // strategies.md §5: c·σ·mid is the FULL spread, quoted mid ± spread/2 (mid = 100.3).
        let cases = [
            // (lambda, sigma, spread, bid, ask)
            (0.94, 0.002_083_64, 0.417_978, 100.091_011, 100.508_989),
            (0.97, 0.002_045_38, 0.410_303, 100.094_849, 100.505_151),
        ];
        for (lambda, sigma, spread, bid, ask) in cases {
            let params = format!(
                r#"{{"lambda": {lambda}, "vol_multiplier": 2, "min_spread": 0.05,
                    "min_spread_ticks": 0, "size": 1}}"#
            );
            let (s, out) = run(&params, &GOLDEN);
            let got_sigma = s.sigma().unwrap();
            assert!(
                (got_sigma - sigma).abs() < 1e-8,
                "λ={lambda}: σ={got_sigma}"
            );
            let (b, a) = (out.bids()[0].price, out.asks()[0].price);
            assert!(
                (a - b - spread).abs() < 1e-6,
                "λ={lambda}: spread {}",
                a - b
            );
            assert!(
                (b - bid).abs() < 1e-6 && (a - ask).abs() < 1e-6,
                "{b} / {a}"
            );
        }
    }

    #[test]
    fn spread_is_clamped_between_min_and_max() {
        let cases = [
            // (c, σ, mid, min, max, want)
            (2.0, 0.001, 100.0, 0.05, None, 0.2),
            (2.0, 0.0001, 100.0, 0.05, None, 0.05),
            (2.0, 0.01, 100.0, 0.05, Some(1.0), 1.0),
            (0.0, 0.01, 100.0, 0.0, None, 0.0),
        ];
        for (c, sigma, mid, min, max, want) in cases {
            let got = full_spread(c, sigma, mid, min, max);
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn warming_up_pulls_unless_a_prior_is_given() {
        let (_, out) = run("{}", &[100.0]);
        assert_eq!(
            out.pull_reason(),
            Some("volatility warming up (fewer than 2 samples)")
        );
        // Several messages inside one grid cell are still one sample.
        let mut s = VolScaled::create(b"{}").unwrap();
        let mut out = Ladder::default();
        for ts in [0, 10, 500, 999] {
            out.clear();
            s.quote(&book_at(100.0 + ts as f64 / 1000.0, ts), &inv(), &mut out)
                .unwrap();
        }
        assert!(out.is_pull());
        let (_, out) = run(
            r#"{"initial_sigma": 0.001, "vol_multiplier": 2, "min_spread_ticks": 0}"#,
            &[100.0],
        );
        let spread = out.asks()[0].price - out.bids()[0].price;
        assert!((spread - 0.2).abs() < 1e-12, "{spread}");
    }

    #[test]
    fn target_position_skews_like_the_equivalent_position() {
        let mut v = book_at(100.0, 0);
        v.tick_size = 0.5;
        let at = |position: f64, target_position: f64| {
            let mut s = VolScaled::create(
                br#"{"initial_sigma": 0.0, "min_spread_ticks": 2, "levels": 2,
                     "skew_bps_per_unit": 5}"#,
            )
            .unwrap();
            let inv = Inventory {
                position,
                target_position,
                max_position: 100.0,
                ..Default::default()
            };
            let mut out = Ladder::default();
            s.quote(&v, &inv, &mut out).unwrap();
            (out.bids().to_vec(), out.asks().to_vec())
        };
        // Flat with a target of −2 is 2 long of the target: centre 100·(1 − 2·5/10⁴) = 99.9.
        assert_eq!(at(0.0, -2.0), at(2.0, 0.0));
        assert_eq!(at(3.0, 1.0), at(2.0, 0.0));
        assert!((at(0.0, -2.0).0[0].price - 99.4).abs() < 1e-9);
        assert_eq!(at(1.5, 1.5), at(0.0, 0.0));
    }

    #[test]
    fn levels_spacing_sizes_skew_and_tick_floor() {
        let mut v = book_at(100.0, 0);
        v.tick_size = 0.5;
        let mut s = VolScaled::create(
            br#"{"initial_sigma": 0.0, "min_spread_ticks": 2, "levels": 3, "level_spacing_bps": 10,
                 "size": 1, "size_multiplier": 2, "skew_bps_per_unit": 5}"#,
        )
        .unwrap();
        let inv = Inventory {
            position: 2.0,
            max_position: 100.0,
            ..Default::default()
        };
        let mut out = Ladder::default();
        s.quote(&v, &inv, &mut out).unwrap();
        // centre = 100·(1 − 2·5/10⁴) = 99.9; spread = 2 ticks = 1.0; step = 0.1.
        let bids: Vec<_> = out.bids().iter().map(|l| (l.price, l.size)).collect();
        let expect = [(99.4, 1.0), (99.3, 2.0), (99.2, 4.0)];
        for (got, want) in bids.iter().zip(expect) {
            assert!(
                (got.0 - want.0).abs() < 1e-9 && (got.1 - want.1).abs() < 1e-12,
                "{got:?} vs {want:?}"
            );
        }
        assert_eq!(bids.len(), 3);
        assert!((out.asks()[2].price - 100.6).abs() < 1e-9);
    }

    #[test]
    fn bad_books_pull_with_a_reason() {
        let cases = [
            (view(&[(99.0, 1.0)], &[], 0), "book has an empty side"),
            (view(&[], &[], 0), "book has an empty side"),
            (
                view(&[(f64::NAN, 1.0)], &[(100.0, 1.0)], 0),
                "mid price is not a positive number",
            ),
            (
                view(&[(-5.0, 1.0)], &[(1.0, 1.0)], 0),
                "mid price is not a positive number",
            ),
            (view(&[(101.0, 1.0)], &[(100.0, 1.0)], 0), "book is crossed"),
            (
                MarketView {
                    tick_size: f64::NAN,
                    ..book_at(100.0, 0)
                },
                "tick size is not a number >= 0",
            ),
            (
                MarketView {
                    lot_size: f64::INFINITY,
                    ..book_at(100.0, 0)
                },
                "lot size is not a number >= 0",
            ),
        ];
        for (v, reason) in cases {
            let mut s = VolScaled::create(br#"{"initial_sigma": 0.001}"#).unwrap();
            let mut out = Ladder::default();
            s.quote(&v, &inv(), &mut out).unwrap();
            assert_eq!(out.pull_reason(), Some(reason));
        }
    }

    #[test]
    fn bad_params_are_all_named() {
        let err = VolScaled::create(
            br#"{"lambda": 1.0, "levels": 0, "size": -1, "min_spread": 2, "max_spread": 1,
                 "sample_interval_ms": 0, "initial_sigma": -1}"#,
        )
        .unwrap_err();
        for key in [
            "lambda",
            "levels",
            "size",
            "max_spread",
            "sample_interval_ms",
            "initial_sigma",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
        let err = VolScaled::create(br#"{"c": 2}"#).unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn state_survives_a_swap_and_garbage_is_rejected() {
        let (old, _) = run(r#"{"lambda": 0.94}"#, &GOLDEN);
        let state = old.save_state();
        let mut new = VolScaled::create(br#"{"lambda": 0.94}"#).unwrap();
        new.restore_state(&state).unwrap();
        assert_eq!(new.sigma(), old.sigma());
        // The restored last sample continues the series: next grid point gives one more return.
        let mut out = Ladder::default();
        new.quote(&book_at(100.3, 6000), &inv(), &mut out).unwrap();
        assert_eq!(new.ewma.returns(), 6);
        assert!(new.restore_state(b"garbage").is_err());
        assert!(new.restore_state(&[]).is_ok());
    }

    #[test]
    fn live_update_keeps_the_estimate() {
        let (mut s, _) = run("{}", &GOLDEN);
        let before = s.sigma();
        let outcome = s.update_params(br#"{"vol_multiplier": 3}"#).unwrap();
        assert_eq!(outcome, UpdateOutcome::Applied);
        assert_eq!(s.sigma(), before);
        assert!(s.update_params(br#"{"lambda": 2}"#).is_err());
        assert_eq!(s.params.vol_multiplier, 3.0);
    }

    proptest! {
        #[test]
        fn any_input_gives_a_pull_or_a_sane_ladder(
            bid in prop::num::f64::ANY,
            ask in prop::num::f64::ANY,
            size in prop::num::f64::ANY,
            ts in any::<i64>(),
            position in prop::num::f64::ANY,
            max_position in prop::num::f64::ANY,
            tick in prop::num::f64::ANY,
            lot in prop::num::f64::ANY,
        ) {
            let mut s = VolScaled::create(br#"{"initial_sigma": 0.001, "levels": 3}"#).unwrap();
            let mut v = view(&[(bid, size)], &[(ask, size)], ts);
            v.tick_size = tick;
            v.lot_size = lot;
            let inv = Inventory { position, max_position, ..Default::default() };
            for step in 0..3 {
                v.ts_exchange_ms = ts.wrapping_add(step * 1000);
                let mut out = Ladder::default();
                s.quote(&v, &inv, &mut out).unwrap();
                assert_sane(&out);
            }
        }
    }

    fn assert_sane(out: &Ladder) {
        if out.is_pull() {
            return;
        }
        for l in out.bids().iter().chain(out.asks()) {
            assert!(l.price.is_finite() && l.price > 0.0 && l.size.is_finite() && l.size > 0.0);
        }
        if let (Some(b), Some(a)) = (out.bids().first(), out.asks().first()) {
            assert!(b.price < a.price);
        }
    }
}
