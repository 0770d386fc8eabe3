//! `avellaneda-stoikov`: the Avellaneda & Stoikov (2008) reservation price and optimal spread.
//!
//! With mid `s`, inventory `q`, risk aversion γ, volatility σ, order-arrival decay k and time
//! left τ:
//!
//! - reservation `r = s − q·γ·σ²·τ`
//! - total spread `δ = γ·σ²·τ + (2/γ)·ln(1 + γ/k)` (independent of q; `ln(1 + x)` is computed
//!   with [`plugin_api::math::ln_1p`] so small γ stays accurate)
//! - first level `bid = r − δ/2`, `ask = r + δ/2` ([`quotes`])
//!
//! Units: σ in price units per √second, τ in seconds, k in 1/price, γ in 1/(price·q). q is the
//! position in base units divided by `q_unit`, so with `q_unit = 0.01` one "unit" of inventory
//! is 0.01 base and γ is per such unit.
//!
//! # Parameters (JSON)
//!
//! | key | unit | default | meaning |
//! |---|---|---|---|
//! | `gamma` | 1/(price·q), > 0 | required | risk aversion γ |
//! | `k` | 1/price, > 0 | required | decay of the fill intensity `A·e^{−kδ}` |
//! | `sigma_mode` | `"fixed"` or `"estimated"` | `"fixed"` | use `sigma` as is, or estimate σ online from mid changes |
//! | `sigma` | price/√s, ≥ 0 | required when fixed; else `null` | σ (fixed mode) or prior σ until the first estimate (estimated mode; `null` pulls while warming up) |
//! | `sample_interval_ms` | ms, ≥ 1 | 1000 | grid spacing of the σ estimator (exchange clock) |
//! | `sigma_lambda` | factor, 0 < λ < 1 | 0.94 | EWMA decay of the σ estimator |
//! | `horizon_mode` | `"rolling"` or `"finite"` | `"rolling"` | constant τ, or τ counting down to `session_end_ms` |
//! | `horizon_s` | seconds, ≥ 0 | 1.0 (rolling only) | τ in rolling mode (Hummingbot's infinite mode uses τ ≡ 1) |
//! | `session_end_ms` | ms since the Unix epoch | required when finite | T: τ = max(0, T − ts_exchange_ms)/1000; after T the spread is the constant term and r = s |
//! | `q_unit` | base quantity, > 0 | 1.0 | q = position / q_unit |
//! | `levels` | count, 1..=10 | 1 | levels per side |
//! | `level_spacing_bps` | bps of the mid | 5.0 | distance between consecutive levels |
//! | `size` | base quantity | 0.01 | size of the first level |
//! | `size_multiplier` | factor | 1.0 | each further level's size is the previous one's times this |
//!
//! Level `i` sits `i·mid·level_spacing_bps/10⁴` further out than the first. The quotes are not
//! clamped around the mid (for large |q| both may sit on one side of it);
//! [`plugin_api::guard::enforce`] then moves any quote that would cross the book to one tick
//! inside the touch (post-only) and sizes the ladder within the position limit.
//!
//! The σ estimator (see [`sigma`]) always runs, so switching `sigma_mode` live starts from a
//! warm estimate. It works on absolute mid changes sampled on a fixed time grid (AS models the
//! mid as arithmetic Brownian motion). State: [`Strategy::save_state`] writes it as 42
//! little-endian bytes with a version byte; restoring an empty state is a no-op and anything
//! else malformed is an error.
//!
//! The strategy pulls ([`checked_mid`]) while the book has an empty side, the mid is not a
//! positive number, the book is crossed, the tick or lot size is not a finite number ≥ 0, σ is
//! unknown (estimated mode without a prior, fewer than two grid samples), or the quotes are not
//! finite (e.g. a NaN position).

pub mod sigma;

use plugin_api::{
    Inventory, Ladder, MarketView, Strategy, UpdateOutcome, guard, math, parse_params,
};
use serde::Deserialize;
use sigma::SigmaEstimator;

/// Reservation price `r = s − q·γ·σ²·τ`.
pub fn reservation(mid: f64, q: f64, gamma: f64, sigma: f64, tau: f64) -> f64 {
    mid - q * gamma * sigma * sigma * tau
}

/// Total optimal spread `γ·σ²·τ + (2/γ)·ln(1 + γ/k)` (ask − bid), independent of q.
pub fn spread(gamma: f64, sigma: f64, k: f64, tau: f64) -> f64 {
    gamma * sigma * sigma * tau + spread_constant(gamma, k)
}

/// The spread's constant term `(2/γ)·ln(1 + γ/k)`, exactly as [`spread`] adds it.
pub fn spread_constant(gamma: f64, k: f64) -> f64 {
    2.0 / gamma * math::ln_1p(gamma / k)
}

/// First-level `(bid, ask) = r ∓ spread/2`, unrounded and without any safety rule.
pub fn quotes(mid: f64, q: f64, gamma: f64, sigma: f64, k: f64, tau: f64) -> (f64, f64) {
    quotes_with_constant(mid, q, gamma, sigma, tau, spread_constant(gamma, k))
}

/// [`quotes`] with the spread's constant term given ([`spread_constant`] of γ and k), so that
/// a strategy computes the logarithm once per parameter set rather than on every call. The
/// same operations in the same order: bit for bit what [`quotes`] returns.
pub fn quotes_with_constant(
    mid: f64,
    q: f64,
    gamma: f64,
    sigma: f64,
    tau: f64,
    constant: f64,
) -> (f64, f64) {
    let r = reservation(mid, q, gamma, sigma, tau);
    let half = (gamma * sigma * sigma * tau + constant) / 2.0;
    (r - half, r + half)
}

/// Where σ comes from.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum SigmaMode {
    /// The `sigma` parameter.
    #[default]
    Fixed,
    /// The online estimate, with `sigma` as a prior.
    Estimated,
}

/// How τ = T − t is measured.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum HorizonMode {
    /// τ = `horizon_s`, constant.
    #[default]
    Rolling,
    /// τ counts down to `session_end_ms`.
    Finite,
}

/// Parameters of [`AvellanedaStoikov`]; see the crate docs for units and defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Risk aversion γ (required).
    pub gamma: Option<f64>,
    /// Fill-intensity decay k, 1/price (required).
    pub k: Option<f64>,
    /// Fixed or estimated σ.
    pub sigma_mode: SigmaMode,
    /// σ in price/√s: the value (fixed) or the prior (estimated).
    pub sigma: Option<f64>,
    /// Grid spacing of the σ estimator, ms.
    pub sample_interval_ms: u64,
    /// EWMA decay of the σ estimator.
    pub sigma_lambda: f64,
    /// Rolling or finite horizon.
    pub horizon_mode: HorizonMode,
    /// τ in seconds (rolling mode); 1.0 when absent.
    pub horizon_s: Option<f64>,
    /// End of the session T, ms since the Unix epoch (finite mode).
    pub session_end_ms: Option<i64>,
    /// Base quantity per unit of q.
    pub q_unit: f64,
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
            gamma: None,
            k: None,
            sigma_mode: SigmaMode::Fixed,
            sigma: None,
            sample_interval_ms: 1000,
            sigma_lambda: 0.94,
            horizon_mode: HorizonMode::Rolling,
            horizon_s: None,
            session_end_ms: None,
            q_unit: 1.0,
            levels: 1,
            level_spacing_bps: 5.0,
            size: 0.01,
            size_multiplier: 1.0,
        }
    }
}

/// Default τ of the rolling horizon, seconds.
const DEFAULT_HORIZON_S: f64 = 1.0;

impl Params {
    fn parse(json: &[u8]) -> Result<Self, String> {
        let p: Self = parse_params(json)?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        match self.gamma {
            None => problems.push("gamma is required (risk aversion, > 0)"),
            Some(g) if !(g.is_finite() && g > 0.0) => {
                problems.push("gamma must be a finite number > 0")
            }
            Some(_) => {}
        }
        match self.k {
            None => problems.push("k is required (fill intensity decay, 1/price, > 0)"),
            Some(k) if !(k.is_finite() && k > 0.0) => {
                problems.push("k must be a finite number > 0")
            }
            Some(_) => {}
        }
        match self.sigma {
            None if self.sigma_mode == SigmaMode::Fixed => {
                problems.push("sigma is required when sigma_mode is \"fixed\" (price/√s, >= 0)")
            }
            Some(s) if !(s.is_finite() && s >= 0.0) => {
                problems.push("sigma must be a finite number >= 0")
            }
            _ => {}
        }
        if self.sample_interval_ms == 0 {
            problems.push("sample_interval_ms must be >= 1");
        }
        if !(self.sigma_lambda > 0.0 && self.sigma_lambda < 1.0) {
            problems.push("sigma_lambda must be strictly between 0 and 1");
        }
        match self.horizon_mode {
            HorizonMode::Rolling => {
                if let Some(h) = self.horizon_s
                    && !(h.is_finite() && h >= 0.0)
                {
                    problems.push("horizon_s must be a finite number >= 0");
                }
                if self.session_end_ms.is_some() {
                    problems.push("session_end_ms only applies when horizon_mode is \"finite\"");
                }
            }
            HorizonMode::Finite => {
                if self.session_end_ms.is_none() {
                    problems.push("session_end_ms is required when horizon_mode is \"finite\"");
                }
                if self.horizon_s.is_some() {
                    problems.push("horizon_s only applies when horizon_mode is \"rolling\"");
                }
            }
        }
        if !(self.q_unit.is_finite() && self.q_unit > 0.0) {
            problems.push("q_unit must be a finite number > 0");
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

    /// τ in seconds at exchange time `ts_ms`.
    fn tau_s(&self, ts_ms: i64) -> f64 {
        match self.horizon_mode {
            HorizonMode::Rolling => self.horizon_s.unwrap_or(DEFAULT_HORIZON_S),
            HorizonMode::Finite => {
                let end = self.session_end_ms.unwrap_or(ts_ms);
                end.saturating_sub(ts_ms).max(0) as f64 / 1000.0
            }
        }
    }
}

/// The Avellaneda–Stoikov strategy.
#[derive(Debug)]
pub struct AvellanedaStoikov {
    params: Params,
    estimator: SigmaEstimator,
    /// [`spread_constant`] of the parameters' γ and k (NaN while either is missing, which
    /// validation rules out).
    spread_constant: f64,
}

impl Params {
    /// The spread's constant term for these parameters (see [`spread_constant`]).
    fn spread_constant(&self) -> f64 {
        match (self.gamma, self.k) {
            (Some(gamma), Some(k)) => spread_constant(gamma, k),
            _ => f64::NAN,
        }
    }
}

impl AvellanedaStoikov {
    /// The online σ estimate in price/√s, if known (whatever `sigma_mode` is).
    pub fn estimated_sigma(&self) -> Option<f64> {
        self.estimator.sigma()
    }

    /// The σ the next quote uses, if known.
    pub fn sigma(&self) -> Option<f64> {
        match self.params.sigma_mode {
            SigmaMode::Fixed => self.params.sigma,
            SigmaMode::Estimated => self.estimator.sigma().or(self.params.sigma),
        }
    }
}

impl Strategy for AvellanedaStoikov {
    fn create(params_json: &[u8]) -> Result<Self, String> {
        let params = Params::parse(params_json)?;
        let estimator = SigmaEstimator::new(params.sample_interval_ms);
        let spread_constant = params.spread_constant();
        Ok(Self {
            params,
            estimator,
            spread_constant,
        })
    }

    fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, String> {
        let params = Params::parse(params_json)?;
        self.estimator.set_interval(params.sample_interval_ms);
        self.spread_constant = params.spread_constant();
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
        let prior = self.params.sigma;
        self.estimator
            .observe(mid, view.ts_exchange_ms, self.params.sigma_lambda, prior);
        let Some(sigma) = self.sigma() else {
            out.pull("volatility warming up (fewer than 2 samples)");
            return Ok(());
        };
        let p = &self.params;
        let (Some(gamma), Some(_)) = (p.gamma, p.k) else {
            out.pull("gamma or k missing");
            return Ok(());
        };
        let q = inventory.excess() / p.q_unit;
        let tau = p.tau_s(view.ts_exchange_ms);
        let (bid0, ask0) = quotes_with_constant(mid, q, gamma, sigma, tau, self.spread_constant);
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
        self.estimator.to_bytes().to_vec()
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), String> {
        if state.is_empty() {
            return Ok(());
        }
        self.estimator = SigmaEstimator::from_bytes(state, self.params.sample_interval_ms)?;
        Ok(())
    }
}

plugin_api::export_strategy!(AvellanedaStoikov);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Level;
    use proptest::prelude::{prop, prop_assert, prop_assert_eq, proptest};

    /// strategies.md §7: (mid, q, γ, σ, k, τ) → (reservation, spread, bid, ask) as printed
    /// (6 decimals), then (bid, ask) unrounded from an independent implementation (Python,
    /// `math.log1p`).
    #[rustfmt::skip]
    const TABLE: [([f64; 6], [f64; 4], [f64; 2]); 8] = [
        ([100.0, 0.0, 0.1, 2.0, 1.5, 1.0], [100.0, 1.690770, 99.154615, 100.845385],
            [99.15461478862429, 100.84538521137571]),
        ([100.0, 3.0, 0.1, 2.0, 1.5, 1.0], [98.8, 1.690770, 97.954615, 99.645385],
            [97.95461478862428, 99.64538521137571]),
        ([100.0, -2.0, 0.1, 2.0, 1.5, 0.5], [100.4, 1.490770, 99.654615, 101.145385],
            [99.6546147886243, 101.14538521137571]),
        ([100.0, 5.0, 0.01, 2.0, 1.5, 0.25], [99.95, 1.338909, 99.280546, 100.619454],
            [99.28054572813315, 100.61945427186686]),
        ([100.0, 1.0, 0.5, 2.0, 1.5, 1.0], [98.0, 3.150728, 96.424636, 99.575364],
            [96.42463585509644, 99.57536414490356]),
        ([100.0, -1.0, 1.0, 2.0, 1.5, 0.1], [100.4, 1.421651, 99.689174, 101.110826],
            [99.68917437623402, 101.11082562376599]),
        ([100.0, 4.0, 0.1, 2.0, 1.5, 0.0], [100.0, 1.290770, 99.354615, 100.645385],
            [99.35461478862429, 100.64538521137571]),
        ([2500.0, 2.0, 0.05, 1.2, 0.8, 0.3], [2499.9568, 2.446585, 2498.733508, 2501.180092],
            [2498.733507563671, 2501.180092436329]),
    ];

    #[test]
    fn golden_table_every_row() {
        for ([mid, q, g, s, k, tau], printed, [bid_x, ask_x]) in TABLE {
            let (bid, ask) = quotes(mid, q, g, s, k, tau);
            let got = [
                reservation(mid, q, g, s, tau),
                spread(g, s, k, tau),
                bid,
                ask,
            ];
            for (got, want) in got.into_iter().zip(printed) {
                // The printed values are rounded to 6 decimals.
                assert!(
                    (got - want).abs() <= 5e-7 + 1e-12,
                    "{mid} {q} {g}: {got} vs {want}"
                );
            }
            assert!(
                (bid - bid_x).abs() < 1e-9 && (ask - ask_x).abs() < 1e-9,
                "{bid} {ask}"
            );
        }
    }

    #[test]
    fn constant_term_tends_to_two_over_k() {
        let cases = [
            // (γ, k, (2/γ)·ln(1 + γ/k))
            (1e-6, 1.5, 1.333_333),
            (1e-12, 0.8, 2.5),
            (0.1, 1.5, 1.290_770),
        ];
        for (g, k, want) in cases {
            let got = spread(g, 3.0, k, 0.0);
            assert!((got - want).abs() < 1e-6, "γ={g}: {got}");
        }
    }

    proptest! {
        #[test]
        fn as_properties_hold_for_random_inputs(
            mid in 1.0f64..1e5,
            q in -100.0f64..100.0,
            g in 1e-6f64..10.0,
            s in 0.0f64..10.0,
            k in 1e-2f64..100.0,
            tau in 0.0f64..1000.0,
        ) {
            let (bid, ask) = quotes(mid, q, g, s, k, tau);
            let skew = q * g * s * s * tau;
            let width = spread(g, s, k, tau);
            let scale = mid + skew.abs() + width;
            prop_assert!(bid < ask);
            prop_assert!(((ask - bid) - width).abs() <= 1e-12 * scale);
            prop_assert!(((bid + ask) / 2.0 - (mid - skew)).abs() <= 1e-12 * scale);
            // The spread does not depend on q.
            let (b0, a0) = quotes(mid, 0.0, g, s, k, tau);
            prop_assert!(((a0 - b0) - (ask - bid)).abs() <= 1e-12 * scale);
            // q = 0 is symmetric around the mid; τ = 0 centres on the mid.
            prop_assert!(((mid - b0) - (a0 - mid)).abs() <= 1e-12 * scale);
            let (bt, at) = quotes(mid, q, g, s, k, 0.0);
            prop_assert!(((bt + at) / 2.0 - mid).abs() <= 1e-12 * scale);
        }
    }

    fn view(bids: &[(f64, f64)], asks: &[(f64, f64)], ts_ms: i64) -> MarketView {
        let mut v = MarketView::new("TEST");
        let to = |s: &[(f64, f64)]| s.iter().map(|&(p, q)| Level::new(p, q)).collect::<Vec<_>>();
        v.set_bids(&to(bids));
        v.set_asks(&to(asks));
        v.ts_exchange_ms = ts_ms;
        v
    }

    fn inv(position: f64) -> Inventory {
        Inventory {
            position,
            max_position: 1000.0,
            ..Default::default()
        }
    }

    fn quote(params: &str, v: &MarketView, inv: &Inventory) -> Ladder {
        let mut s = AvellanedaStoikov::create(params.as_bytes()).unwrap();
        let mut out = Ladder::default();
        s.quote(v, inv, &mut out).unwrap();
        out
    }

    fn top(out: &Ladder) -> (f64, f64) {
        (out.bids()[0].price, out.asks()[0].price)
    }

    #[test]
    fn target_position_skews_like_the_equivalent_position() {
        let wide = view(&[(95.0, 1.0)], &[(105.0, 1.0)], 1_000_000);
        let params = r#"{"gamma": 0.1, "k": 1.5, "sigma": 2}"#;
        let at = |position: f64, target_position: f64| {
            let inv = Inventory {
                position,
                target_position,
                max_position: 1000.0,
                ..Default::default()
            };
            let out = quote(params, &wide, &inv);
            (out.bids().to_vec(), out.asks().to_vec())
        };
        // Flat with a target of −3 is q = 3 of the target: golden row 1.
        assert_eq!(at(0.0, -3.0), at(3.0, 0.0));
        assert_eq!(at(5.0, 2.0), at(3.0, 0.0));
        let (bids, asks) = at(0.0, -3.0);
        let [bid_x, ask_x] = TABLE[1].2;
        assert!((bids[0].price - bid_x).abs() < 1e-9 && (asks[0].price - ask_x).abs() < 1e-9);
        assert_eq!(at(1.5, 1.5), at(0.0, 0.0));
    }

    #[test]
    fn golden_rows_through_quote() {
        // A wide book (mid 100) so that the guard leaves the quotes alone.
        let wide = view(&[(95.0, 1.0)], &[(105.0, 1.0)], 1_000_000);
        let cases = [
            // (params, position, row of TABLE)
            (
                r#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "horizon_s": 1}"#,
                0.0,
                0,
            ),
            (r#"{"gamma": 0.1, "k": 1.5, "sigma": 2}"#, 3.0, 1),
            // q_unit: a position of 6 base is q = 3.
            (
                r#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "q_unit": 2}"#,
                6.0,
                1,
            ),
            // Finite horizon: 500 ms left → τ = 0.5 s.
            (
                r#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "horizon_mode": "finite",
                    "session_end_ms": 1000500}"#,
                -2.0,
                2,
            ),
            // After the session end τ = 0.
            (
                r#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "horizon_mode": "finite",
                    "session_end_ms": 999000}"#,
                4.0,
                6,
            ),
            (
                r#"{"gamma": 0.01, "k": 1.5, "sigma": 2, "horizon_s": 0.25}"#,
                5.0,
                3,
            ),
        ];
        for (params, position, row) in cases {
            let (bid, ask) = top(&quote(params, &wide, &inv(position)));
            let [bid_x, ask_x] = TABLE[row].2;
            assert!((bid - bid_x).abs() < 1e-9, "{params}: {bid} vs {bid_x}");
            assert!((ask - ask_x).abs() < 1e-9, "{params}: {ask} vs {ask_x}");
        }
    }

    #[test]
    fn guard_moves_a_crossing_quote_inside_the_touch() {
        // q = 3 puts the AS ask at 99.645 below the best bid 99.9: post-only moves it to 100.0.
        let mut v = view(&[(99.9, 1.0)], &[(100.1, 1.0)], 0);
        v.tick_size = 0.1;
        let out = quote(r#"{"gamma": 0.1, "k": 1.5, "sigma": 2}"#, &v, &inv(3.0));
        let (bid, ask) = top(&out);
        assert!((bid - 97.954_615).abs() < 1e-6, "{bid}");
        assert!((ask - 100.0).abs() < 1e-9, "{ask}");
    }

    #[test]
    fn levels_and_sizes() {
        let wide = view(&[(95.0, 1.0)], &[(105.0, 1.0)], 0);
        let out = quote(
            r#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "levels": 3, "level_spacing_bps": 10,
                "size": 1, "size_multiplier": 2}"#,
            &wide,
            &inv(0.0),
        );
        let [bid0, ask0] = TABLE[0].2;
        for (i, (b, a)) in out.bids().iter().zip(out.asks()).enumerate() {
            let (offset, size) = (0.1 * i as f64, f64::from(1u32 << i));
            assert!(
                (b.price - (bid0 - offset)).abs() < 1e-9 && b.size == size,
                "{b:?}"
            );
            assert!(
                (a.price - (ask0 + offset)).abs() < 1e-9 && a.size == size,
                "{a:?}"
            );
        }
        assert_eq!((out.bids().len(), out.asks().len()), (3, 3));
    }

    #[test]
    fn estimated_sigma_warms_up_then_quotes_with_the_estimate() {
        let params = r#"{"gamma": 0.1, "k": 1.5, "sigma_mode": "estimated", "sigma_lambda": 0.5}"#;
        let mut s = AvellanedaStoikov::create(params.as_bytes()).unwrap();
        let mut out = Ladder::default();
        let mids = [100.0, 102.0, 100.0];
        for (i, m) in mids.into_iter().enumerate() {
            out.clear();
            let v = view(&[(m - 5.0, 1.0)], &[(m + 5.0, 1.0)], i as i64 * 1000);
            s.quote(&v, &inv(1.0), &mut out).unwrap();
            if i == 0 {
                let reason = "volatility warming up (fewer than 2 samples)";
                assert_eq!(out.pull_reason(), Some(reason));
            }
        }
        // v = 4, then 0.5·4 + 0.5·4 = 4 → σ = 2 price/√s.
        assert!((s.estimated_sigma().unwrap() - 2.0).abs() < 1e-12);
        let (bid, ask) = top(&out);
        let (bid_x, ask_x) = quotes(100.0, 1.0, 0.1, 2.0, 1.5, 1.0);
        assert!((bid - bid_x).abs() < 1e-9 && (ask - ask_x).abs() < 1e-9);
        // A prior quotes from the first update.
        let with_prior = r#"{"gamma": 0.1, "k": 1.5, "sigma_mode": "estimated", "sigma": 2}"#;
        let out = quote(
            with_prior,
            &view(&[(95.0, 1.0)], &[(105.0, 1.0)], 0),
            &inv(0.0),
        );
        assert!((top(&out).0 - TABLE[0].2[0]).abs() < 1e-9);
    }

    #[test]
    fn state_survives_a_swap_and_garbage_is_rejected() {
        let params = br#"{"gamma": 0.1, "k": 1.5, "sigma_mode": "estimated"}"#;
        let mut old = AvellanedaStoikov::create(params).unwrap();
        let mut out = Ladder::default();
        for (i, m) in [100.0, 100.5, 99.5].into_iter().enumerate() {
            let v = view(&[(m - 1.0, 1.0)], &[(m + 1.0, 1.0)], i as i64 * 1000);
            out.clear();
            old.quote(&v, &inv(0.0), &mut out).unwrap();
        }
        let mut new = AvellanedaStoikov::create(params).unwrap();
        new.restore_state(&old.save_state()).unwrap();
        assert_eq!(new.estimated_sigma(), old.estimated_sigma());
        assert!(new.restore_state(b"\x01garbage").is_err());
        assert!(new.restore_state(&[]).is_ok());
        assert_eq!(new.estimated_sigma(), old.estimated_sigma());
    }

    #[test]
    fn bad_books_and_inventory_pull_with_a_reason() {
        let params = r#"{"gamma": 0.1, "k": 1.5, "sigma": 2}"#;
        let cases = [
            (view(&[], &[(100.0, 1.0)], 0), 0.0, "book has an empty side"),
            (
                view(&[(f64::INFINITY, 1.0)], &[(100.0, 1.0)], 0),
                0.0,
                "mid price is not a positive number",
            ),
            (
                view(&[(100.0, 1.0)], &[(100.0, 1.0)], 0),
                0.0,
                "book is crossed",
            ),
            (
                view(&[(99.0, 1.0)], &[(101.0, 1.0)], 0),
                f64::NAN,
                "quotes are not finite",
            ),
            (
                MarketView {
                    tick_size: -0.1,
                    ..view(&[(99.0, 1.0)], &[(101.0, 1.0)], 0)
                },
                0.0,
                "tick size is not a number >= 0",
            ),
        ];
        for (v, position, reason) in cases {
            assert_eq!(
                quote(params, &v, &inv(position)).pull_reason(),
                Some(reason)
            );
        }
    }

    #[test]
    fn bad_params_are_all_named() {
        let cases = [
            (
                "{}",
                &["gamma is required", "k is required", "sigma is required"][..],
            ),
            (
                r#"{"gamma": 0, "k": -1, "sigma": -0.5, "q_unit": 0}"#,
                &["gamma must", "k must", "sigma must", "q_unit"],
            ),
            (
                r#"{"gamma": 1, "k": 1, "sigma": 1, "horizon_mode": "finite", "horizon_s": 5}"#,
                &["session_end_ms is required", "horizon_s only applies"],
            ),
            (
                r#"{"gamma": 1, "k": 1, "sigma": 1, "session_end_ms": 5, "sigma_lambda": 1}"#,
                &["session_end_ms only applies", "sigma_lambda"],
            ),
            (
                r#"{"gamma": 1, "k": 1, "sigma": 1, "tau": 1}"#,
                &["unknown field"],
            ),
            (
                r#"{"gamma": 1, "k": 1, "sigma_mode": "guess"}"#,
                &["unknown variant"],
            ),
        ];
        for (params, wants) in cases {
            let err = AvellanedaStoikov::create(params.as_bytes()).unwrap_err();
            for want in wants {
                assert!(err.contains(want), "{want} missing from: {err}");
            }
        }
        // Estimated mode does not need sigma.
        assert!(
            AvellanedaStoikov::create(br#"{"gamma": 1, "k": 1, "sigma_mode": "estimated"}"#)
                .is_ok()
        );
    }

    #[test]
    fn live_update_applies_and_rejects_without_losing_parameters() {
        let mut s = AvellanedaStoikov::create(br#"{"gamma": 0.1, "k": 1.5, "sigma": 2}"#).unwrap();
        let outcome = s.update_params(br#"{"gamma": 0.5, "k": 1.5, "sigma": 2}"#);
        assert_eq!(outcome, Ok(UpdateOutcome::Applied));
        assert!(
            s.update_params(br#"{"gamma": -1, "k": 1.5, "sigma": 2}"#)
                .is_err()
        );
        assert_eq!(s.params.gamma, Some(0.5));
    }

    proptest! {
        /// The cached spread constant changes nothing: every ladder equals, bit for bit, the
        /// one built from [`quotes`] (which takes the logarithm on each call) with the σ the
        /// strategy used, across random books, inventories, clocks and live γ/k updates.
        #[test]
        fn quotes_equal_the_uncached_formula(
            steps in prop::collection::vec(
                (90.0f64..110.0, 0.01f64..2.0, -0.6f64..0.6, 0i64..3000, 0u8..10), 1..60),
            gamma in 1e-6f64..2.0,
            k in 1e-3f64..50.0,
            finite in prop::bool::ANY,
        ) {
            let horizon = if finite {
                r#""horizon_mode": "finite", "session_end_ms": 1700000030000"#
            } else {
                r#""horizon_s": 60.0"#
            };
            let params = |g: f64, k: f64| format!(
                r#"{{"gamma": {g:?}, "k": {k:?}, "sigma_mode": "estimated", "sigma": 3.0,
                    "q_unit": 0.01, "levels": 3, "level_spacing_bps": 1.0,
                    "size_multiplier": 1.5, {horizon}}}"#
            );
            let mut s = AvellanedaStoikov::create(params(gamma, k).as_bytes()).unwrap();
            let (mut g, mut kk) = (gamma, k);
            let mut ts = 1_700_000_000_000i64;
            for (mid, width, position, dt, op) in steps {
                if op == 0 {
                    (g, kk) = (kk.min(2.0), g.max(1e-3));
                    s.update_params(params(g, kk).as_bytes()).unwrap();
                }
                ts += dt;
                let mut v = view(&[(mid - width, 1.0)], &[(mid + width, 1.0)], ts);
                v.tick_size = 0.01;
                v.lot_size = 0.001;
                let inventory = Inventory { position, max_position: 0.5, ..Default::default() };
                let mut out = Ladder::default();
                s.quote(&v, &inventory, &mut out).unwrap();
                let mut want = Ladder::default();
                match s.sigma() {
                    None => want.pull("volatility warming up (fewer than 2 samples)"),
                    Some(sigma) => {
                        let p = &s.params;
                        let m = ((mid - width) + (mid + width)) / 2.0;
                        let q = inventory.excess() / p.q_unit;
                        let tau = p.tau_s(ts);
                        let first = quotes(m, q, g, sigma, kk, tau);
                        let spec = guard::LevelSpec {
                            levels: p.levels,
                            step: m * p.level_spacing_bps / 1e4,
                            size: p.size,
                            size_multiplier: p.size_multiplier,
                        };
                        guard::fill_ladder(&v, &inventory, &mut want, first, spec);
                    }
                }
                prop_assert_eq!(out, want);
            }
        }

        #[test]
        fn any_input_gives_a_pull_or_a_sane_ladder(
            bid in prop::num::f64::ANY,
            ask in prop::num::f64::ANY,
            size in prop::num::f64::ANY,
            ts in prop::num::i64::ANY,
            position in prop::num::f64::ANY,
            max_position in prop::num::f64::ANY,
            tick in prop::num::f64::ANY,
            lot in prop::num::f64::ANY,
        ) {
            let params: &[&[u8]] = &[
                br#"{"gamma": 0.1, "k": 1.5, "sigma": 2, "levels": 3}"#,
                br#"{"gamma": 0.1, "k": 1.5, "sigma_mode": "estimated", "horizon_mode": "finite",
                     "session_end_ms": 0}"#,
            ];
            for p in params {
                let mut s = AvellanedaStoikov::create(p).unwrap();
                let mut v = view(&[(bid, size)], &[(ask, size)], ts);
                v.tick_size = tick;
                v.lot_size = lot;
                let inv = Inventory { position, max_position, ..Default::default() };
                for step in 0..3i64 {
                    v.ts_exchange_ms = ts.wrapping_add(step * 1000);
                    let mut out = Ladder::default();
                    s.quote(&v, &inv, &mut out).unwrap();
                    if out.is_pull() {
                        continue;
                    }
                    for l in out.bids().iter().chain(out.asks()) {
                        prop_assert!(l.price.is_finite() && l.price > 0.0);
                        prop_assert!(l.size.is_finite() && l.size > 0.0);
                    }
                    if let (Some(b), Some(a)) = (out.bids().first(), out.asks().first()) {
                        prop_assert!(b.price < a.price);
                    }
                }
            }
        }
    }
}
