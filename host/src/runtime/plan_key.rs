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
                *o = on_grid(l, tick, lot, up);
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

    /// Put the key of these inputs (as [`PlanKey::new`] makes it) in `slot`, in place; returns
    /// whether it equals the key that was there (`false` when there was none).
    pub fn refresh(
        slot: &mut Option<Self>,
        ladder: &Ladder,
        tick: f64,
        lot: f64,
        position: Decimal,
        kill: Option<KillAction>,
    ) -> bool {
        let Some(key) = slot else {
            *slot = Some(Self::new(ladder, tick, lot, position, kill));
            return false;
        };
        let counts = (ladder.bids().len(), ladder.asks().len());
        let mut same = key.counts == counts && key.position == position && key.kill == kill;
        same &= refresh_side(&mut key.bids, key.counts.0, ladder.bids(), tick, lot, false);
        same &= refresh_side(&mut key.asks, key.counts.1, ladder.asks(), tick, lot, true);
        (key.counts, key.position, key.kill) = (counts, position, kill);
        same
    }
}

/// A level on the grids: price floored (bids) or ceiled (asks) to `tick`, size floored to `lot`.
#[inline]
fn on_grid(l: &plugin_api::Level, tick: f64, lot: f64, up: bool) -> (i64, i64) {
    let t = l.price / tick;
    let price = if up { ceil_i64(t) } else { floor_i64(t) };
    (price, floor_i64(l.size / lot))
}

/// Write `levels` on the grids into `side` (zeros after them; entries from `old_len` on are
/// zero already); whether the whole array is unchanged.
fn refresh_side(
    side: &mut [(i64, i64); MAX_LADDER_LEVELS],
    old_len: usize,
    levels: &[plugin_api::Level],
    tick: f64,
    lot: f64,
    up: bool,
) -> bool {
    let mut same = true;
    for (i, entry) in side.iter_mut().enumerate().take(old_len.max(levels.len())) {
        let new = levels.get(i).map_or((0, 0), |l| on_grid(l, tick, lot, up));
        same &= *entry == new;
        *entry = new;
    }
    same
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

    /// Refreshing in place gives the key `new` gives, and reports equality as comparing the
    /// keys does, over random sequences of ladders of any length.
    #[test]
    fn refresh_in_place_equals_new_and_compare() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut slot = None;
        let mut previous: Option<PlanKey> = None;
        let (mut same_seen, mut changed_seen) = (0, 0);
        let mut r = 0;
        for _ in 0..50_000 {
            // Half the time the same inputs again (or inputs differing in the jitter only).
            let n = next();
            r = match n % 4 {
                0 => r,
                1 => r ^ (1 << (8 + n % 10)),
                _ => next(),
            };
            let mut l = Ladder::default();
            let (nb, na) = ((r % 4) as usize, ((r >> 2) % 4) as usize);
            let (nb, na) = if r >> 60 == 0 { (10, 10) } else { (nb, na) };
            for i in 0..nb.max(na) {
                let jitter = ((r >> (8 + i)) % 2) as f64 * 0.03;
                if i < nb {
                    l.push_bid(100.0 - i as f64 * 0.1 - jitter, 0.0105 + jitter / 10.0);
                }
                if i < na {
                    l.push_ask(100.2 + i as f64 * 0.1 + jitter, 0.0105);
                }
            }
            let position = Decimal::new(((r >> 20) % 2) as i64, ((r >> 21) % 2) as u32);
            let kill = ((r >> 22) % 8 == 0).then_some(KillAction::ReduceOnly);
            let key = PlanKey::new(&l, 0.1, 0.001, position, kill);
            let same = PlanKey::refresh(&mut slot, &l, 0.1, 0.001, position, kill);
            assert_eq!(same, previous == Some(key), "{l:?}");
            assert_eq!(slot, Some(key));
            (same_seen, changed_seen) = (
                same_seen + usize::from(same),
                changed_seen + usize::from(!same),
            );
            previous = Some(key);
        }
        assert!(
            same_seen > 1_000 && changed_seen > 1_000,
            "{same_seen} {changed_seen}"
        );
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
