//! Synthetic market data: a seeded random-walk mid, a displayed book around it, and market
//! orders arriving as a Poisson process whose reach decays with distance from the mid, so an
//! order resting δ ticks from the mid is reached at rate A·e^(−k·δ) (Avellaneda–Stoikov).
//!
//! Time is simulated: each [`SyntheticModel::step`] advances `1 / publish_rate_hz` seconds, so
//! the sequence of states for a given seed is fully deterministic.

use crate::engine::book::DisplayedBook;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Parameters of the model, in ticks and lots.
#[derive(Debug, Clone)]
pub struct ModelParams {
    /// Starting mid in ticks (fractional).
    pub start_mid_ticks: f64,
    /// Std-dev of log returns per √second.
    pub volatility: f64,
    /// Arrivals per second per side reaching the mid (A).
    pub flow_a: f64,
    /// Decay per tick of reach (k).
    pub flow_k: f64,
    /// Levels per side.
    pub depth: usize,
    /// Step length in seconds.
    pub dt_s: f64,
    /// Half spread in ticks.
    pub half_spread_ticks: u32,
    /// Mean displayed lots per level.
    pub level_lots: u32,
}

/// A market order from the synthetic flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowOrder {
    /// `true` = aggressive buy (consumes asks).
    pub buy: bool,
    /// How far from the mid (ticks) the order reaches.
    pub reach_ticks: f64,
    /// Fraction of the deepest reached level it takes (0..1).
    pub last_level_fraction: f64,
}

/// State of one symbol's generator.
#[derive(Debug, Clone)]
pub struct SyntheticModel {
    params: ModelParams,
    rng: ChaCha8Rng,
    /// Current mid in ticks.
    pub mid_ticks: f64,
}

impl SyntheticModel {
    /// New model seeded with `seed` (mix the symbol into it for independent streams).
    pub fn new(params: ModelParams, seed: u64) -> Self {
        SyntheticModel {
            mid_ticks: params.start_mid_ticks,
            params,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Model parameters.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    fn normal(&mut self) -> f64 {
        // Box–Muller.
        let u1: f64 = self.rng.r#gen::<f64>().max(1e-12);
        let u2: f64 = self.rng.r#gen::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn level_size(&mut self) -> i64 {
        let mean = self.params.level_lots.max(1) as f64;
        (mean * (0.2 + 1.6 * self.rng.r#gen::<f64>()))
            .round()
            .max(1.0) as i64
    }

    /// Top of the displayed book implied by the mid: (best bid, best ask) in ticks.
    pub fn quote_ticks(&self) -> (i64, i64) {
        let hs = self.params.half_spread_ticks.max(1) as f64;
        let bid = (self.mid_ticks - hs).ceil() as i64;
        let mut ask = (self.mid_ticks + hs).floor() as i64;
        if ask <= bid {
            ask = bid + 1;
        }
        (bid.max(1), ask.max(2))
    }

    /// Fill an empty book around the current mid.
    pub fn init_book(&mut self, book: &mut DisplayedBook) {
        book.bids.clear();
        book.asks.clear();
        self.reshape(book, 1.0);
    }

    /// Move levels to follow the mid, drop crossed/out-of-depth ones, refill gaps with
    /// probability `refill`, and perturb a few sizes.
    ///
    /// Runs every step of every symbol, so it touches only the ends of each side and the
    /// gaps: a side that already fills its whole price range is left alone.
    fn reshape(&mut self, book: &mut DisplayedBook, refill: f64) {
        let (bid_top, ask_top) = self.quote_ticks();
        let depth = self.params.depth as i64;
        let bid_low = bid_top - depth + 1;
        let ask_high = ask_top + depth - 1;
        trim(&mut book.bids, bid_low.max(1), bid_top);
        trim(&mut book.asks, ask_top, ask_high);
        // Prices to refill, in the order the generator draws them (bids from the top down,
        // asks from the top up), so the random sequence does not depend on how gaps are found.
        let mut gaps = Vec::new();
        missing(&book.bids, bid_low.max(1), bid_top, true, &mut gaps);
        for p in gaps.drain(..) {
            if refill >= 1.0 || self.rng.r#gen::<f64>() < refill {
                let s = self.level_size();
                book.bids.insert(p, s);
            }
        }
        missing(&book.asks, ask_top, ask_high, false, &mut gaps);
        for p in gaps.drain(..) {
            if refill >= 1.0 || self.rng.r#gen::<f64>() < refill {
                let s = self.level_size();
                book.asks.insert(p, s);
            }
        }
        // Perturb a few levels near the top (where most activity is).
        let near = depth.clamp(1, 20);
        for _ in 0..3 {
            let off = self.rng.gen_range(0..near);
            let s = self.level_size();
            if self.rng.r#gen::<bool>() {
                if let Some(v) = book.bids.get_mut(&(bid_top - off)) {
                    *v = s;
                }
            } else if let Some(v) = book.asks.get_mut(&(ask_top + off)) {
                *v = s;
            }
        }
    }

    /// Advance one step: move the mid, reshape the book, and draw this step's market orders.
    pub fn step(&mut self, book: &mut DisplayedBook) -> Vec<FlowOrder> {
        let dt = self.params.dt_s;
        let z = self.normal();
        let sigma = self.params.volatility;
        self.mid_ticks *= (sigma * dt.sqrt() * z - 0.5 * sigma * sigma * dt).exp();
        if self.mid_ticks < 10.0 {
            self.mid_ticks = 10.0;
        }
        self.reshape(book, 0.3);
        let mut out = Vec::new();
        for buy in [true, false] {
            let n = self.poisson(self.params.flow_a * dt);
            for _ in 0..n {
                // P(reach >= δ) = e^(−kδ): exponential reach.
                let u: f64 = self.rng.r#gen::<f64>().max(1e-12);
                let reach = if self.params.flow_k > 0.0 {
                    -u.ln() / self.params.flow_k
                } else {
                    f64::INFINITY
                };
                let frac = self.rng.r#gen::<f64>();
                out.push(FlowOrder {
                    buy,
                    reach_ticks: reach,
                    last_level_fraction: frac,
                });
            }
        }
        out
    }

    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        // Knuth; λ per step is small.
        let l = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.rng.r#gen::<f64>();
            if p <= l || k > 1000 {
                return k;
            }
            k += 1;
        }
    }
}

/// Remove the levels outside `lo..=hi` (only the ends of the map are visited).
fn trim(side: &mut BTreeMap<i64, i64>, lo: i64, hi: i64) {
    while side.last_key_value().is_some_and(|(p, _)| *p > hi) {
        side.pop_last();
    }
    while side.first_key_value().is_some_and(|(p, _)| *p < lo) {
        side.pop_first();
    }
}

/// Append to `out` the prices of `lo..=hi` without a level (all keys are within the range),
/// descending or ascending.
fn missing(side: &BTreeMap<i64, i64>, lo: i64, hi: i64, descending: bool, out: &mut Vec<i64>) {
    if hi < lo || side.len() as i64 == hi - lo + 1 {
        return;
    }
    if descending {
        let mut next = hi;
        for p in side.range(lo..=hi).rev().map(|(p, _)| *p) {
            out.extend((p + 1..=next).rev());
            next = p - 1;
        }
        out.extend((lo..=next).rev());
    } else {
        let mut next = lo;
        for p in side.range(lo..=hi).map(|(p, _)| *p) {
            out.extend(next..p);
            next = p + 1;
        }
        out.extend(next..=hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ModelParams {
        ModelParams {
            start_mid_ticks: 600_000.0,
            volatility: 0.001,
            flow_a: 50.0,
            flow_k: 0.3,
            depth: 50,
            dt_s: 0.05,
            half_spread_ticks: 1,
            level_lots: 100,
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let run = |seed| {
            let mut m = SyntheticModel::new(params(), seed);
            let mut b = DisplayedBook::default();
            m.init_book(&mut b);
            let mut flows = 0;
            for _ in 0..200 {
                flows += m.step(&mut b).len();
            }
            (m.mid_ticks, flows, b.view(5))
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1).0, run(2).0);
    }

    /// The straightforward reshape (visit every price of the range), as reference.
    fn reshape_reference(m: &mut SyntheticModel, book: &mut DisplayedBook, refill: f64) {
        let (bid_top, ask_top) = m.quote_ticks();
        let depth = m.params.depth as i64;
        let bid_low = bid_top - depth + 1;
        let ask_high = ask_top + depth - 1;
        book.bids.retain(|p, _| *p <= bid_top && *p >= bid_low);
        book.asks.retain(|p, _| *p >= ask_top && *p <= ask_high);
        for p in (bid_low.max(1)..=bid_top).rev() {
            if !book.bids.contains_key(&p) && (refill >= 1.0 || m.rng.r#gen::<f64>() < refill) {
                let s = m.level_size();
                book.bids.insert(p, s);
            }
        }
        for p in ask_top..=ask_high {
            if !book.asks.contains_key(&p) && (refill >= 1.0 || m.rng.r#gen::<f64>() < refill) {
                let s = m.level_size();
                book.asks.insert(p, s);
            }
        }
        let near = depth.clamp(1, 20);
        for _ in 0..3 {
            let off = m.rng.gen_range(0..near);
            let s = m.level_size();
            if m.rng.r#gen::<bool>() {
                if let Some(v) = book.bids.get_mut(&(bid_top - off)) {
                    *v = s;
                }
            } else if let Some(v) = book.asks.get_mut(&(ask_top + off)) {
                *v = s;
            }
        }
    }

    #[test]
    fn reshape_matches_reference() {
        let mut p = params();
        p.volatility = 0.05;
        p.start_mid_ticks = 60.0;
        let mut a = SyntheticModel::new(p, 5);
        let mut b = DisplayedBook::default();
        a.init_book(&mut b);
        let mut r = a.clone();
        let mut rb = b.clone();
        let mut holes = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..3000 {
            // Punch holes as the flow would, then move the mid and reshape both ways.
            for _ in 0..holes.gen_range(0..4) {
                let off = holes.gen_range(0..60);
                let (bb, ba) = a.quote_ticks();
                if holes.r#gen::<bool>() {
                    b.bids.remove(&(bb - off));
                    rb.bids.remove(&(bb - off));
                } else {
                    b.asks.remove(&(ba + off));
                    rb.asks.remove(&(ba + off));
                }
            }
            let z = holes.gen_range(-3.0..3.0);
            a.mid_ticks = (a.mid_ticks + z).max(10.0);
            r.mid_ticks = a.mid_ticks;
            a.reshape(&mut b, 0.3);
            reshape_reference(&mut r, &mut rb, 0.3);
            assert_eq!(b.bids, rb.bids);
            assert_eq!(b.asks, rb.asks);
        }
        assert_eq!(a.rng.r#gen::<u64>(), r.rng.r#gen::<u64>());
    }

    #[test]
    fn book_never_crossed_and_has_depth() {
        let mut m = SyntheticModel::new(params(), 3);
        let mut b = DisplayedBook::default();
        m.init_book(&mut b);
        assert_eq!(b.bids.len(), 50);
        for _ in 0..500 {
            m.step(&mut b);
            assert!(b.best_bid().unwrap() < b.best_ask().unwrap());
        }
    }

    #[test]
    fn flow_rate_matches_a() {
        let mut p = params();
        p.volatility = 0.0;
        let mut m = SyntheticModel::new(p, 9);
        let mut b = DisplayedBook::default();
        m.init_book(&mut b);
        let mut n = 0usize;
        let mut far = 0usize;
        let steps = 20_000;
        for _ in 0..steps {
            for f in m.step(&mut b) {
                n += 1;
                if f.reach_ticks >= 5.0 {
                    far += 1;
                }
            }
        }
        let secs = steps as f64 * 0.05;
        let rate = n as f64 / secs / 2.0;
        assert!((rate - 50.0).abs() < 2.5, "rate {rate}");
        let frac = far as f64 / n as f64;
        let expect = (-0.3f64 * 5.0).exp();
        assert!((frac - expect).abs() < 0.02, "{frac} vs {expect}");
    }
}
