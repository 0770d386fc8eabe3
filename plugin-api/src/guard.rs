//! Safety rules every strategy applies to its ladder before returning it.
//!
//! [`enforce`] makes a ladder post-only safe (no bid at or above the best ask, no ask at or
//! below the best bid, our own bids strictly below our own asks) and sizes it so that no
//! combination of fills takes the position past `inventory.max_position`.

use crate::math;
use crate::types::{Inventory, Ladder, Level, MarketView};

/// The mid of a book fit to quote on, or why it is not: both sides present, mid a positive
/// number, book not crossed, tick and lot sizes finite and non-negative.
pub fn checked_mid(view: &MarketView) -> Result<f64, &'static str> {
    let (Some(best_bid), Some(best_ask)) = (view.best_bid(), view.best_ask()) else {
        return Err("book has an empty side");
    };
    let mid = (best_bid.price + best_ask.price) / 2.0;
    if !(mid.is_finite() && mid > 0.0) {
        return Err("mid price is not a positive number");
    }
    if best_bid.price >= best_ask.price {
        return Err("book is crossed");
    }
    if !(view.tick_size.is_finite() && view.tick_size >= 0.0) {
        return Err("tick size is not a number >= 0");
    }
    if !(view.lot_size.is_finite() && view.lot_size >= 0.0) {
        return Err("lot size is not a number >= 0");
    }
    Ok(mid)
}

/// The shape of a ladder below and above its first level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSpec {
    /// Levels per side.
    pub levels: u32,
    /// Price distance between consecutive levels.
    pub step: f64,
    /// Size of the first level.
    pub size: f64,
    /// Each further level's size is the previous one's times this.
    pub size_multiplier: f64,
}

/// Fill `out` with `spec.levels` levels per side starting at `bid0` / `ask0`, then apply
/// [`enforce`]. Pulls instead when either first price is not finite.
pub fn fill_ladder(
    view: &MarketView,
    inventory: &Inventory,
    out: &mut Ladder,
    (bid0, ask0): (f64, f64),
    spec: LevelSpec,
) {
    if !(bid0.is_finite() && ask0.is_finite()) {
        out.pull("quotes are not finite");
        return;
    }
    let mut size = spec.size;
    for i in 0..spec.levels {
        let offset = f64::from(i) * spec.step;
        out.push_bid(bid0 - offset, size);
        out.push_ask(ask0 + offset, size);
        size *= spec.size_multiplier;
    }
    enforce(view, inventory, out);
}

/// Relative slack used when snapping a size to the lot grid, so that `0.3 / 0.1` counts as 3.
const GRID_EPSILON: f64 = 1e-9;

/// Apply the post-only and position-limit rules to `ladder` in place.
///
/// - A bid at or above the best ask moves to one tick below it (dropped when `tick_size` is 0);
///   asks likewise. Levels that are then no longer strictly ordered are dropped, as are asks at
///   or below our own best bid.
/// - Bid sizes are cut so that `position + Σ bids ≤ max_position`; ask sizes so that
///   `position − Σ asks ≥ −max_position`. Cut sizes are floored to the lot; levels left with no
///   size are dropped. A `max_position` of zero (or not finite) leaves no capacity.
/// - Levels with a non-finite or non-positive price or size are dropped.
pub fn enforce(view: &MarketView, inventory: &Inventory, ladder: &mut Ladder) {
    if ladder.is_pull() {
        return;
    }
    // A tick or lot that is not a finite positive number counts as "none".
    let grid = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
    let tick = grid(view.tick_size);
    let lot = grid(view.lot_size);
    let max_pos = if inventory.max_position.is_finite() {
        inventory.max_position.max(0.0)
    } else {
        0.0
    };

    let long_room = (max_pos - inventory.position).max(0.0);
    let touch = view.best_ask().map(|l| l.price);
    let bid_count = filter_side(ladder.bids_mut(), touch, tick, true, long_room, lot);
    ladder.truncate_bids(bid_count);

    let short_room = (max_pos + inventory.position).max(0.0);
    let touch = view.best_bid().map(|l| l.price);
    let ask_count = filter_side(ladder.asks_mut(), touch, tick, false, short_room, lot);
    ladder.truncate_asks(ask_count);

    if let Some(top_bid) = ladder.bids().first().map(|l| l.price) {
        let keep = ladder
            .asks()
            .iter()
            .take_while(|l| l.price <= top_bid)
            .count();
        if keep > 0 {
            let n = ladder.asks().len();
            ladder.asks_mut().copy_within(keep..n, 0);
            ladder.truncate_asks(n - keep);
        }
    }
}

/// Clamp prices against the opposite touch and sizes against the room left; compact the
/// surviving levels to the front and return how many there are.
///
/// A level at or through `touch` moves to one tick inside it, or is dropped when there is no
/// tick or no positive price one tick inside.
fn filter_side(
    levels: &mut [Level],
    touch: Option<f64>,
    tick: f64,
    is_bid: bool,
    room: f64,
    lot: f64,
) -> usize {
    let mut kept = 0;
    let mut remaining = room;
    let mut last_price: Option<f64> = None;
    for i in 0..levels.len() {
        let Level {
            mut price,
            mut size,
        } = levels[i];
        if !(price.is_finite() && price > 0.0 && size.is_finite() && size > 0.0) {
            continue;
        }
        if let Some(touch) = touch {
            let crosses = if is_bid {
                price >= touch
            } else {
                price <= touch
            };
            if crosses {
                let inside = if is_bid { touch - tick } else { touch + tick };
                if tick <= 0.0 || inside <= 0.0 {
                    continue;
                }
                price = inside;
            }
        }
        if let Some(prev) = last_price {
            let ordered = if is_bid { price < prev } else { price > prev };
            if !ordered {
                continue;
            }
        }
        if size > remaining {
            size = floor_size(remaining, lot);
        }
        if size <= 0.0 {
            continue;
        }
        remaining -= size;
        last_price = Some(price);
        levels[kept] = Level { price, size };
        kept += 1;
    }
    kept
}

fn floor_size(size: f64, lot: f64) -> f64 {
    if lot > 0.0 {
        math::floor_to(size * (1.0 + GRID_EPSILON), lot)
    } else {
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> MarketView {
        let mut v = MarketView::new("BTCUSDT");
        v.tick_size = 0.1;
        v.lot_size = 0.001;
        v.set_bids(&[Level::new(99.9, 1.0)]);
        v.set_asks(&[Level::new(100.1, 1.0)]);
        v
    }

    #[test]
    fn crossing_bid_moves_below_best_ask_and_crossing_ask_above_best_bid() {
        let v = view();
        let inv = Inventory {
            max_position: 10.0,
            ..Default::default()
        };
        let mut l = Ladder::default();
        l.push_bid(100.2, 1.0);
        l.push_bid(99.5, 1.0);
        l.push_ask(99.8, 1.0);
        l.push_ask(100.5, 1.0);
        enforce(&v, &inv, &mut l);
        assert_eq!(l.bids(), &[Level::new(100.0, 1.0), Level::new(99.5, 1.0)]);
        assert_eq!(l.asks(), &[Level::new(100.5, 1.0)]);
    }

    #[test]
    fn sizes_never_exceed_position_room() {
        let v = view();
        let inv = Inventory {
            position: 9.5,
            max_position: 10.0,
            ..Default::default()
        };
        let mut l = Ladder::default();
        l.push_bid(99.0, 0.3);
        l.push_bid(98.0, 0.3);
        l.push_bid(97.0, 0.3);
        l.push_ask(101.0, 15.0);
        enforce(&v, &inv, &mut l);
        let bid_total: f64 = l.bids().iter().map(|x| x.size).sum();
        assert!(bid_total <= 0.5 + 1e-12, "{bid_total}");
        assert_eq!(l.bids().len(), 2);
        assert!((l.bids()[1].size - 0.2).abs() < 1e-12);
        assert_eq!(l.asks()[0].size, 15.0, "room is 19.5, so 15 stays whole");
    }

    #[test]
    fn non_finite_tick_and_lot_never_produce_nan() {
        let mut v = view();
        v.tick_size = f64::NAN;
        v.lot_size = f64::INFINITY;
        let inv = Inventory {
            position: 9.5,
            max_position: 10.0,
            ..Default::default()
        };
        let mut l = Ladder::default();
        l.push_bid(100.5, 1.0);
        l.push_bid(99.0, 1.0);
        enforce(&v, &inv, &mut l);
        assert_eq!(l.bids(), &[Level::new(99.0, 0.5)]);
    }

    #[test]
    fn nan_and_negative_levels_are_dropped() {
        let v = view();
        let inv = Inventory {
            max_position: 10.0,
            ..Default::default()
        };
        let mut l = Ladder::default();
        l.push_bid(f64::NAN, 1.0);
        l.push_bid(99.0, -1.0);
        l.push_bid(98.0, 1.0);
        enforce(&v, &inv, &mut l);
        assert_eq!(l.bids(), &[Level::new(98.0, 1.0)]);
    }
}
