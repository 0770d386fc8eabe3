//! `static-spread`: a fixed half-spread around the mid or the microprice.
//!
//! # Parameters (JSON)
//!
//! | key | unit | default | meaning |
//! |---|---|---|---|
//! | `half_spread_bps` | bps of the reference price | 10.0 | distance of the first level from the reference |
//! | `min_spread_ticks` | ticks | 1 | floor on the full spread (ask − bid) of the first level |
//! | `reference` | `"mid"` or `"microprice"` | `"mid"` | the price quoted around |
//! | `skew_bps_per_unit` | bps per unit of position | 0.0 | linear inventory skew: the reference moves down by this much per unit long |
//! | `levels` | count, 1..=10 | 1 | levels per side |
//! | `level_spacing_bps` | bps of the reference | 5.0 | distance between consecutive levels |
//! | `size` | base quantity | 0.01 | size of the first level |
//! | `size_multiplier` | factor | 1.0 | each further level's size is the previous one's times this |
//!
//! Quotes are `bid_i = ref·(1 − (h + i·s)/10⁴)` and `ask_i = ref·(1 + (h + i·s)/10⁴)` with
//! `ref = reference − position·skew·ref/10⁴`; then [`plugin_api::guard::enforce`] makes them
//! post-only safe and sized within the position limit.

use plugin_api::{Inventory, Ladder, MarketView, Strategy, UpdateOutcome, guard, parse_params};
use serde::Deserialize;

/// Where the ladder is centred.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// `(best bid + best ask) / 2`.
    Mid,
    /// The L1 size-weighted mid.
    Microprice,
}

/// Parameters of [`StaticSpread`]; see the crate docs for units and defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Half-spread of the first level, bps of the reference.
    pub half_spread_bps: f64,
    /// Minimum full spread of the first level, ticks.
    pub min_spread_ticks: u32,
    /// Reference price.
    pub reference: Reference,
    /// Inventory skew, bps of the reference per unit of position.
    pub skew_bps_per_unit: f64,
    /// Levels per side.
    pub levels: u32,
    /// Spacing between levels, bps of the reference.
    pub level_spacing_bps: f64,
    /// Size of the first level, base quantity.
    pub size: f64,
    /// Size factor from one level to the next.
    pub size_multiplier: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            half_spread_bps: 10.0,
            min_spread_ticks: 1,
            reference: Reference::Mid,
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
        if !(self.half_spread_bps.is_finite() && self.half_spread_bps >= 0.0) {
            problems.push("half_spread_bps must be a finite number >= 0");
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
        if !self.skew_bps_per_unit.is_finite() {
            problems.push("skew_bps_per_unit must be finite");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The static-spread strategy.
#[derive(Debug)]
pub struct StaticSpread {
    params: Params,
}

impl StaticSpread {
    /// The first-level `(bid, ask)` around `reference` for `position`, before safety rules.
    pub fn first_level(&self, reference: f64, position: f64, tick: f64) -> (f64, f64) {
        let p = &self.params;
        let centre = reference * (1.0 - position * p.skew_bps_per_unit / 1e4);
        let mut half = reference * p.half_spread_bps / 1e4;
        let min_half = f64::from(p.min_spread_ticks) * tick / 2.0;
        if half < min_half {
            half = min_half;
        }
        (centre - half, centre + half)
    }
}

impl Strategy for StaticSpread {
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
        let reference = match self.params.reference {
            Reference::Mid => view.mid(),
            Reference::Microprice => view.weighted_mid(),
        };
        let Some(reference) = reference else {
            out.pull("book has an empty side");
            return Ok(());
        };
        let first = self.first_level(reference, inventory.excess(), view.tick_size);
        let p = &self.params;
        let spec = guard::LevelSpec {
            levels: p.levels,
            step: reference * p.level_spacing_bps / 1e4,
            size: p.size,
            size_multiplier: p.size_multiplier,
        };
        guard::fill_ladder(view, inventory, out, first, spec);
        Ok(())
    }
}

plugin_api::export_strategy!(StaticSpread);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Level;

    fn view(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> MarketView {
        let mut v = MarketView::new("TEST");
        let to = |s: &[(f64, f64)]| s.iter().map(|&(p, q)| Level::new(p, q)).collect::<Vec<_>>();
        v.set_bids(&to(bids));
        v.set_asks(&to(asks));
        v
    }

    fn quote(params: &str, v: &MarketView, inv: &Inventory) -> Ladder {
        let mut s = StaticSpread::create(params.as_bytes()).unwrap();
        let mut out = Ladder::default();
        s.quote(v, inv, &mut out).unwrap();
        out
    }

    #[test]
    fn golden_static_spread_around_mid() {
        // strategies.md §6: bid = mid·(1 − s), ask = mid·(1 + s).
        let v = view(&[(99.9, 5.0)], &[(100.1, 1.0)]);
        let inv = Inventory {
            max_position: 10.0,
            ..Default::default()
        };
        let out = quote(
            r#"{"half_spread_bps": 20, "min_spread_ticks": 0, "size": 1}"#,
            &v,
            &inv,
        );
        assert!((out.bids()[0].price - 99.8).abs() < 1e-9);
        assert!((out.asks()[0].price - 100.2).abs() < 1e-9);
    }

    #[test]
    fn golden_microprice_reference() {
        // strategies.md §4: top-1 weighted mid of this book is 100.066667.
        let v = view(&[(99.9, 5.0)], &[(100.1, 1.0)]);
        let inv = Inventory {
            max_position: 10.0,
            ..Default::default()
        };
        let out = quote(
            r#"{"half_spread_bps": 1, "min_spread_ticks": 0, "reference": "microprice"}"#,
            &v,
            &inv,
        );
        let centre = (out.bids()[0].price + out.asks()[0].price) / 2.0;
        assert!((centre - 100.066_667).abs() < 1e-6, "{centre}");
    }

    #[test]
    fn min_spread_in_ticks_is_a_floor() {
        let mut v = view(&[(99.0, 1.0)], &[(101.0, 1.0)]);
        v.tick_size = 0.5;
        let inv = Inventory {
            max_position: 10.0,
            ..Default::default()
        };
        let out = quote(
            r#"{"half_spread_bps": 0.1, "min_spread_ticks": 4}"#,
            &v,
            &inv,
        );
        assert!((out.asks()[0].price - out.bids()[0].price - 2.0).abs() < 1e-9);
    }

    #[test]
    fn target_position_skews_like_the_equivalent_position() {
        let v = view(&[(99.0, 1.0)], &[(101.0, 1.0)]);
        let params = r#"{"half_spread_bps": 50, "min_spread_ticks": 0, "levels": 3,
            "level_spacing_bps": 10, "skew_bps_per_unit": 5}"#;
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
        assert!((at(0.0, -2.0).0[0].price - 99.4).abs() < 1e-9);
        // At the target there is no skew.
        assert_eq!(at(1.5, 1.5), at(0.0, 0.0));
    }

    #[test]
    fn levels_spacing_sizes_and_skew() {
        let v = view(&[(99.0, 1.0)], &[(101.0, 1.0)]);
        let inv = Inventory {
            position: 2.0,
            max_position: 100.0,
            ..Default::default()
        };
        let out = quote(
            r#"{"half_spread_bps": 50, "min_spread_ticks": 0, "levels": 3, "level_spacing_bps": 10,
                "size": 1, "size_multiplier": 2, "skew_bps_per_unit": 5}"#,
            &v,
            &inv,
        );
        // centre = 100·(1 − 2·5/10⁴) = 99.9; half = 0.5; step = 0.1.
        let bids: Vec<_> = out.bids().iter().map(|l| (l.price, l.size)).collect();
        let expect = [(99.4, 1.0), (99.3, 2.0), (99.2, 4.0)];
        for (got, want) in bids.iter().zip(expect) {
            assert!(
                (got.0 - want.0).abs() < 1e-9 && (got.1 - want.1).abs() < 1e-12,
                "{got:?} vs {want:?}"
            );
        }
        assert!((out.asks()[2].price - 100.6).abs() < 1e-9);
    }

    #[test]
    fn empty_side_pulls_and_bad_params_are_named() {
        let v = view(&[(99.0, 1.0)], &[]);
        let out = quote("{}", &v, &Inventory::default());
        assert_eq!(out.pull_reason(), Some("book has an empty side"));
        let err = StaticSpread::create(br#"{"levels": 0, "size": -1}"#).unwrap_err();
        assert!(err.contains("levels") && err.contains("size"), "{err}");
        let err = StaticSpread::create(br#"{"half_spread": 1}"#).unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }
}
