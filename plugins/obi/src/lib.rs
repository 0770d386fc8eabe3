//! `obi`: a fair value skewed by the order-book imbalance, quoted with a fixed half-spread.
//!
//! Imbalance over the top `depth` levels of each side: `I = (V_b − V_a)/(V_b + V_a)` ∈ [−1, 1],
//! with `V_b`, `V_a` the summed sizes ([`imbalance`]; non-finite or negative sizes count as 0,
//! and an empty total gives `I = 0`). The fair value is
//!
//! - `fair_mode: "imbalance"`: `fair = mid + α·I·(best_ask − best_bid)/2`
//! - `fair_mode: "weighted_mid"`: the L1 weighted mid `(P_a·V_b + P_b·V_a)/(V_b + V_a)`, computed
//!   as the identical `mid + I₁·(best_ask − best_bid)/2` with I₁ the top-level imbalance
//!   (`alpha` and `depth` are ignored)
//!
//! A heavy bid side pushes the fair value up toward the ask.
//!
//! # Parameters (JSON)
//!
//! | key | unit | default | meaning |
//! |---|---|---|---|
//! | `fair_mode` | `"imbalance"` or `"weighted_mid"` | `"imbalance"` | how the fair value is formed |
//! | `depth` | levels, 1..=20 | 1 | levels per side summed into the imbalance |
//! | `alpha` | factor, 0..=1 | 0.5 | α: share of the book's half-spread the fair value moves at full imbalance |
//! | `half_spread` | price units or `null` | `null` | h: distance of the first level from the (skewed) fair value; set this **or** `half_spread_bps` |
//! | `half_spread_bps` | bps of the mid or `null` | 10.0 when `half_spread` is unset | h as a fraction of the mid |
//! | `min_spread_ticks` | ticks | 1 | floor on the full spread (ask − bid) of the first level |
//! | `skew_bps_per_unit` | bps of the fair value per unit of position | 0.0 | linear inventory skew: the centre moves down by this much per unit long |
//! | `levels` | count, 1..=10 | 1 | levels per side |
//! | `level_spacing_bps` | bps of the mid | 5.0 | distance between consecutive levels |
//! | `size` | base quantity | 0.01 | size of the first level |
//! | `size_multiplier` | factor | 1.0 | each further level's size is the previous one's times this |
//!
//! The first level is `centre ∓ max(h, min_spread_ticks·tick/2)` with
//! `centre = fair·(1 − position·skew/10⁴)`; level `i` sits `i·mid·level_spacing_bps/10⁴` further
//! out. Then [`plugin_api::guard::enforce`] makes the ladder post-only safe and sized within the
//! position limit.
//!
//! The strategy pulls ([`checked_mid`]) while the book has an empty side, the mid is not a
//! positive number, the book is crossed, or the tick or lot size is not a finite number ≥ 0,
//! and when the quotes are not finite (e.g. a NaN position). It keeps no state.

use plugin_api::{
    Inventory, Ladder, Level, MAX_VIEW_LEVELS, MarketView, Strategy, UpdateOutcome, guard,
    parse_params,
};
use serde::Deserialize;

/// Imbalance `(V_b − V_a)/(V_b + V_a)` over the first `depth` levels of each side.
///
/// Sizes that are not finite and positive count as 0; the result is 0 when nothing is left.
pub fn imbalance(bids: &[Level], asks: &[Level], depth: usize) -> f64 {
    let volume = |side: &[Level]| -> f64 {
        side.iter()
            .take(depth)
            .map(|l| l.size)
            .filter(|s| s.is_finite() && *s > 0.0)
            .sum()
    };
    let (vb, va) = (volume(bids), volume(asks));
    let total = vb + va;
    if total.is_finite() && total > 0.0 {
        ((vb - va) / total).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// How the fair value is formed.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FairMode {
    /// `mid + α·I·half_spread_of_book` over `depth` levels.
    #[default]
    Imbalance,
    /// The L1 size-weighted mid.
    WeightedMid,
}

/// Parameters of [`Obi`]; see the crate docs for units and defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// How the fair value is formed.
    pub fair_mode: FairMode,
    /// Levels per side in the imbalance.
    pub depth: u32,
    /// α: weight of the imbalance, in units of the book's half-spread.
    pub alpha: f64,
    /// h in price units (exclusive with `half_spread_bps`).
    pub half_spread: Option<f64>,
    /// h in bps of the mid (exclusive with `half_spread`); 10 when neither is set.
    pub half_spread_bps: Option<f64>,
    /// Minimum full spread of the first level, ticks.
    pub min_spread_ticks: u32,
    /// Inventory skew, bps of the fair value per unit of position.
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
            fair_mode: FairMode::Imbalance,
            depth: 1,
            alpha: 0.5,
            half_spread: None,
            half_spread_bps: None,
            min_spread_ticks: 1,
            skew_bps_per_unit: 0.0,
            levels: 1,
            level_spacing_bps: 5.0,
            size: 0.01,
            size_multiplier: 1.0,
        }
    }
}

/// h in bps of the mid when neither `half_spread` nor `half_spread_bps` is set.
const DEFAULT_HALF_SPREAD_BPS: f64 = 10.0;

impl Params {
    fn parse(json: &[u8]) -> Result<Self, String> {
        let p: Self = parse_params(json)?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !(1..=MAX_VIEW_LEVELS as u32).contains(&self.depth) {
            problems.push("depth must be between 1 and 20");
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            problems.push("alpha must be between 0 and 1");
        }
        match (self.half_spread, self.half_spread_bps) {
            (Some(_), Some(_)) => problems.push("set only one of half_spread and half_spread_bps"),
            (Some(h), None) if !(h.is_finite() && h >= 0.0) => {
                problems.push("half_spread must be a finite number >= 0")
            }
            (None, Some(h)) if !(h.is_finite() && h >= 0.0) => {
                problems.push("half_spread_bps must be a finite number >= 0")
            }
            _ => {}
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

/// The order-book-imbalance strategy.
#[derive(Debug)]
pub struct Obi {
    params: Params,
}

impl Obi {
    /// The fair value of `view` (which must have both sides; see [`checked_mid`]).
    pub fn fair(&self, view: &MarketView, mid: f64) -> f64 {
        let (bids, asks) = (view.bids(), view.asks());
        let half_book = match (bids.first(), asks.first()) {
            (Some(b), Some(a)) => (a.price - b.price) / 2.0,
            _ => 0.0,
        };
        match self.params.fair_mode {
            FairMode::Imbalance => {
                let depth = self.params.depth as usize;
                mid + self.params.alpha * imbalance(bids, asks, depth) * half_book
            }
            FairMode::WeightedMid => mid + imbalance(bids, asks, 1) * half_book,
        }
    }

    /// The first-level `(bid, ask)` around `fair`, before safety rules.
    pub fn first_level(&self, fair: f64, mid: f64, position: f64, tick: f64) -> (f64, f64) {
        let p = &self.params;
        let centre = fair * (1.0 - position * p.skew_bps_per_unit / 1e4);
        let mut half = match (p.half_spread, p.half_spread_bps) {
            (Some(h), _) => h,
            (None, bps) => mid * bps.unwrap_or(DEFAULT_HALF_SPREAD_BPS) / 1e4,
        };
        let min_half = f64::from(p.min_spread_ticks) * tick / 2.0;
        if half < min_half {
            half = min_half;
        }
        (centre - half, centre + half)
    }
}

impl Strategy for Obi {
    fn create(params_json: &[u8]) -> Result<Self, String> {
        Ok(Self {
            params: Params::parse(params_json)?,
        })
    }

    fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, String> {
        self.params = Params::parse(params_json)?;
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
        let fair = self.fair(view, mid);
        let (bid0, ask0) = self.first_level(fair, mid, inventory.excess(), view.tick_size);
        let p = &self.params;
        let spec = guard::LevelSpec {
            levels: p.levels,
            step: mid * p.level_spacing_bps / 1e4,
            size: p.size,
            size_multiplier: p.size_multiplier,
        };
        guard::fill_ladder(view, inventory, out, (bid0, ask0), spec);
        Ok(())
    }
}

plugin_api::export_strategy!(Obi);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop, prop_assert, proptest};

    const GOLDEN_BIDS: [(f64, f64); 3] = [(99.9, 5.0), (99.8, 3.0), (99.7, 2.0)];
    const GOLDEN_ASKS: [(f64, f64); 3] = [(100.1, 1.0), (100.2, 4.0), (100.3, 6.0)];

    fn levels(side: &[(f64, f64)]) -> Vec<Level> {
        side.iter().map(|&(p, q)| Level::new(p, q)).collect()
    }

    fn view(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> MarketView {
        let mut v = MarketView::new("TEST");
        v.set_bids(&levels(bids));
        v.set_asks(&levels(asks));
        v
    }

    fn inv(position: f64) -> Inventory {
        Inventory {
            position,
            max_position: 100.0,
            ..Default::default()
        }
    }

    fn quote(params: &str, v: &MarketView, inv: &Inventory) -> Ladder {
        let mut s = Obi::create(params.as_bytes()).unwrap();
        let mut out = Ladder::default();
        s.quote(v, inv, &mut out).unwrap();
        out
    }

    #[test]
    fn golden_imbalance_by_depth() {
        // strategies.md §4.
        let (bids, asks) = (levels(&GOLDEN_BIDS), levels(&GOLDEN_ASKS));
        let cases = [
            (1, 4.0 / 6.0),   // 0.666667
            (2, 3.0 / 13.0),  // (8 − 5)/13
            (3, -1.0 / 21.0), // −0.047619
            (20, -1.0 / 21.0),
        ];
        for (depth, want) in cases {
            let got = imbalance(&bids, &asks, depth);
            assert!((got - want).abs() < 1e-12, "depth {depth}: {got}");
        }
        assert!((imbalance(&bids, &asks, 1) - 0.666_667).abs() < 1e-6);
        assert!((imbalance(&bids, &asks, 3) + 0.047_619).abs() < 1e-6);
    }

    #[test]
    fn golden_fair_values_and_quotes() {
        // strategies.md §4: α = 0.5 and h = 0.15 at depth 1 (I = 2/3, book half-spread 0.1):
        // fair = 100 + 0.5·(2/3)·0.1 = 100.033333, quotes 99.883333 / 100.183333.
        let v = view(&GOLDEN_BIDS, &GOLDEN_ASKS);
        let cases = [
            // (params, fair, bid, ask)
            (
                r#"{"depth": 1, "alpha": 0.5, "half_spread": 0.15, "min_spread_ticks": 0}"#,
                100.033_333,
                99.883_333,
                100.183_333,
            ),
            // L1 weighted mid 100.066667.
            (
                r#"{"fair_mode": "weighted_mid", "half_spread": 0.15, "min_spread_ticks": 0}"#,
                100.066_667,
                99.916_667,
                100.216_667,
            ),
            // Depth 3: I = −1/21 → fair = 100 − 0.5·0.1/21.
            (
                r#"{"depth": 3, "alpha": 0.5, "half_spread": 0.15, "min_spread_ticks": 0}"#,
                99.997_619,
                99.847_619,
                100.147_619,
            ),
        ];
        for (params, fair, bid, ask) in cases {
            let out = quote(params, &v, &inv(0.0));
            let (b, a) = (out.bids()[0].price, out.asks()[0].price);
            assert!(
                ((b + a) / 2.0 - fair).abs() < 1e-6,
                "{params}: fair {}",
                (b + a) / 2.0
            );
            assert!(
                (b - bid).abs() < 1e-6 && (a - ask).abs() < 1e-6,
                "{params}: {b} / {a}"
            );
        }
        // The weighted-mid mode matches the view's own L1 weighted mid.
        let s = Obi::create(br#"{"fair_mode": "weighted_mid"}"#).unwrap();
        assert!((s.fair(&v, 100.0) - v.weighted_mid().unwrap()).abs() < 1e-12);
    }

    #[test]
    fn target_position_skews_like_the_equivalent_position() {
        let mut v = view(&[(99.0, 1.0)], &[(101.0, 1.0)]);
        v.tick_size = 0.5;
        let params = r#"{"half_spread": 0.5, "min_spread_ticks": 0, "levels": 2,
            "skew_bps_per_unit": 5}"#;
        let at = |position: f64, target_position: f64| {
            let inv = Inventory {
                position,
                target_position,
                max_position: 100.0,
                ..Default::default()
            };
            let out = quote(params, &v, &inv);
            (out.bids().to_vec(), out.asks().to_vec())
        };
        // Flat with a target of −2 is 2 long of the target: centre 100·(1 − 2·5/10⁴) = 99.9.
        assert_eq!(at(0.0, -2.0), at(2.0, 0.0));
        assert_eq!(at(3.0, 1.0), at(2.0, 0.0));
        let (bids, asks) = at(0.0, -2.0);
        assert!((bids[0].price - 99.4).abs() < 1e-9 && (asks[0].price - 100.4).abs() < 1e-9);
        assert_eq!(at(1.5, 1.5), at(0.0, 0.0));
    }

    #[test]
    fn half_spread_bps_tick_floor_levels_and_skew() {
        let mut v = view(&[(99.0, 1.0)], &[(101.0, 1.0)]);
        v.tick_size = 0.5;
        let cases = [
            // (params, position, first bid, first ask): balanced book, fair = mid = 100.
            (
                r#"{"half_spread_bps": 20, "min_spread_ticks": 0}"#,
                0.0,
                99.8,
                100.2,
            ),
            (r#"{"min_spread_ticks": 0}"#, 0.0, 99.9, 100.1), // default 10 bps
            (
                r#"{"half_spread": 0.1, "min_spread_ticks": 4}"#,
                0.0,
                99.0,
                101.0,
            ),
            // Skew: centre = 100·(1 − 2·5/10⁴) = 99.9.
            (
                r#"{"half_spread": 0.5, "min_spread_ticks": 0, "skew_bps_per_unit": 5}"#,
                2.0,
                99.4,
                100.4,
            ),
        ];
        for (params, position, bid, ask) in cases {
            let out = quote(params, &v, &inv(position));
            let (b, a) = (out.bids()[0].price, out.asks()[0].price);
            assert!(
                (b - bid).abs() < 1e-9 && (a - ask).abs() < 1e-9,
                "{params}: {b} / {a}"
            );
        }
        let out = quote(
            r#"{"half_spread": 0.5, "min_spread_ticks": 0, "levels": 3, "level_spacing_bps": 10,
                "size": 1, "size_multiplier": 2}"#,
            &v,
            &inv(0.0),
        );
        let bids: Vec<_> = out.bids().iter().map(|l| (l.price, l.size)).collect();
        let expect = [(99.5, 1.0), (99.4, 2.0), (99.3, 4.0)];
        assert_eq!(bids.len(), 3);
        for (got, want) in bids.iter().zip(expect) {
            assert!((got.0 - want.0).abs() < 1e-9 && got.1 == want.1, "{got:?}");
        }
    }

    #[test]
    fn bad_sizes_count_as_zero() {
        let cases = [
            // (bid sizes, ask sizes, I)
            (vec![f64::NAN], vec![1.0], -1.0),
            (vec![-3.0], vec![1.0], -1.0),
            (vec![0.0], vec![0.0], 0.0),
            (vec![f64::INFINITY], vec![1.0], -1.0),
            (vec![1e308, 1e308], vec![1.0], 0.0), // total overflows
            (vec![], vec![], 0.0),
        ];
        for (b, a, want) in cases {
            let lv = |s: &[f64]| s.iter().map(|&q| Level::new(100.0, q)).collect::<Vec<_>>();
            let got = imbalance(&lv(&b), &lv(&a), 5);
            assert_eq!(got, want, "{b:?} {a:?}");
        }
    }

    #[test]
    fn bad_books_pull_with_a_reason() {
        let cases = [
            (view(&GOLDEN_BIDS, &[]), "book has an empty side"),
            (
                view(&[(f64::NAN, 1.0)], &[(1.0, 1.0)]),
                "mid price is not a positive number",
            ),
            (view(&[(100.2, 1.0)], &[(100.1, 1.0)]), "book is crossed"),
            (
                MarketView {
                    tick_size: f64::INFINITY,
                    ..view(&GOLDEN_BIDS, &GOLDEN_ASKS)
                },
                "tick size is not a number >= 0",
            ),
        ];
        for (v, reason) in cases {
            assert_eq!(quote("{}", &v, &inv(0.0)).pull_reason(), Some(reason));
        }
        let v = view(&GOLDEN_BIDS, &GOLDEN_ASKS);
        let out = quote("{}", &v, &inv(f64::NAN));
        assert_eq!(out.pull_reason(), Some("quotes are not finite"));
    }

    #[test]
    fn bad_params_are_all_named() {
        let cases = [
            (
                r#"{"depth": 0, "alpha": 1.5, "levels": 11, "size": 0}"#,
                &["depth", "alpha", "levels", "size"][..],
            ),
            (
                r#"{"half_spread": 0.1, "half_spread_bps": 5}"#,
                &["only one of half_spread and half_spread_bps"],
            ),
            (r#"{"half_spread": -1}"#, &["half_spread must"]),
            (r#"{"h": 0.15}"#, &["unknown field"]),
            (r#"{"fair_mode": "microprice"}"#, &["unknown variant"]),
        ];
        for (params, wants) in cases {
            let err = Obi::create(params.as_bytes()).unwrap_err();
            for want in wants {
                assert!(err.contains(want), "{want} missing from: {err}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_input_gives_a_pull_or_a_sane_ladder(
            bids in prop::collection::vec((prop::num::f64::ANY, prop::num::f64::ANY), 0..4),
            asks in prop::collection::vec((prop::num::f64::ANY, prop::num::f64::ANY), 0..4),
            position in prop::num::f64::ANY,
            max_position in prop::num::f64::ANY,
            tick in prop::num::f64::ANY,
            lot in prop::num::f64::ANY,
        ) {
            for params in [r#"{"depth": 3, "levels": 3}"#, r#"{"fair_mode": "weighted_mid"}"#] {
                let mut v = view(&bids, &asks);
                v.tick_size = tick;
                v.lot_size = lot;
                let inv = Inventory { position, max_position, ..Default::default() };
                let out = quote(params, &v, &inv);
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
