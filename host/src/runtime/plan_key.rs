//! A cheap fingerprint of what a symbol's plan depends on, so that a book update whose ladder
//! rounds to the same orders as last time skips the exact-decimal plan and diff.

use plugin_api::{Ladder, MAX_LADDER_LEVELS};
use rust_decimal::Decimal;

use crate::config::KillAction;
use crate::model::grid::{ceil_i64, floor_i64};

/// The ladder on the tick and lot grids (computed in floating point: only ever compared with
/// the previous key, never used as a price), with the position and the kill state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanKey {
    bids: [(i64, i64); MAX_LADDER_LEVELS],
    asks: [(i64, i64); MAX_LADDER_LEVELS],
    counts: (usize, usize),
    position: Decimal,
    kill: Option<KillAction>,
}

impl PlanKey {
    /// The key of `ladder` (bids floored, asks ceiled to `tick`; sizes floored to `lot`).
    pub fn new(
        ladder: &Ladder,
        tick: f64,
        lot: f64,
        position: Decimal,
        kill: Option<KillAction>,
    ) -> Self {
        let grid = |levels: &[plugin_api::Level], up: bool| {
            let mut out = [(0i64, 0i64); MAX_LADDER_LEVELS];
            for (o, l) in out.iter_mut().zip(levels) {
                let t = l.price / tick;
                let price = if up { ceil_i64(t) } else { floor_i64(t) };
                *o = (price, floor_i64(l.size / lot));
            }
            out
        };
        Self {
            bids: grid(ladder.bids(), false),
            asks: grid(ladder.asks(), true),
            counts: (ladder.bids().len(), ladder.asks().len()),
            position,
            kill,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(bid: f64, ask: f64, size: f64) -> Ladder {
        let mut l = Ladder::default();
        l.push_bid(bid, size);
        l.push_ask(ask, size);
        l
    }

    #[test]
    fn same_grid_same_key_and_any_grid_move_changes_it() {
        let key = |l: &Ladder| PlanKey::new(l, 0.1, 0.001, Decimal::ZERO, None);
        let a = key(&ladder(100.04, 100.21, 0.0105));
        assert_eq!(
            a,
            key(&ladder(100.01, 100.26, 0.0109)),
            "same ticks and lots"
        );
        assert_ne!(a, key(&ladder(99.99, 100.21, 0.0105)), "bid a tick lower");
        assert_ne!(a, key(&ladder(100.04, 100.31, 0.0105)), "ask a tick higher");
        assert_ne!(a, key(&ladder(100.04, 100.21, 0.0115)), "a lot more");
        let long = PlanKey::new(
            &ladder(100.04, 100.21, 0.0105),
            0.1,
            0.001,
            Decimal::ONE,
            None,
        );
        assert_ne!(a, long, "position");
        let halted = PlanKey::new(
            &ladder(100.04, 100.21, 0.0105),
            0.1,
            0.001,
            Decimal::ZERO,
            Some(KillAction::ReduceOnly),
        );
        assert_ne!(a, halted, "kill state");
    }
}
