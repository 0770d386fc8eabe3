//! Safety rules every strategy applies to its ladder before returning it.
//!
//! [`enforce`] makes a ladder post-only safe (no bid at or above the best ask, no ask at or
//! below the best bid, our own bids strictly below our own asks) and sizes it so that no
//! combination of fills takes the position past `inventory.max_position`.

use crate::math;
use crate::types::{Inventory, Ladder, Level, MAX_LADDER_LEVELS, MarketView};

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
///
/// On an empty quoting ladder (how strategies call it) the levels are generated and checked in
/// one pass, each written once where it ends up; the result is bit for bit that of pushing
/// every level and then calling [`enforce`] (see the property tests).
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
    if out.is_pull() || out.bid_count != 0 || out.ask_count != 0 {
        // Levels already there take part in the rules: the general path.
        push_levels(out, (bid0, ask0), spec);
        enforce(view, inventory, out);
        return;
    }
    let rules = Rules::of(view, inventory);
    // Levels past the ladder's capacity would be dropped by `push_bid`/`push_ask` anyway.
    let levels = spec.levels.min(MAX_LADDER_LEVELS as u32);

    let mut bids = rules.bid_side();
    let mut size = spec.size;
    let mut n = 0;
    for i in 0..levels {
        let offset = f64::from(i) * spec.step;
        if let Some(level) = bids.admit::<true>(bid0 - offset, size) {
            out.bids[n] = level;
            n += 1;
        }
        size *= spec.size_multiplier;
    }
    out.bid_count = n as u32;
    clear_tail(&mut out.bids, n);
    let top_bid = (n > 0).then(|| out.bids[0].price);

    let mut asks = rules.ask_side();
    let mut size = spec.size;
    let mut n = 0;
    for i in 0..levels {
        let offset = f64::from(i) * spec.step;
        if let Some(level) = asks.admit::<false>(ask0 + offset, size) {
            // Admitted asks rise strictly, so those at or below our best bid are a prefix:
            // skipping them is `enforce`'s final cut (they still used up room, as there).
            if !top_bid.is_some_and(|top| level.price <= top) {
                out.asks[n] = level;
                n += 1;
            }
        }
        size *= spec.size_multiplier;
    }
    out.ask_count = n as u32;
    clear_tail(&mut out.asks, n);
}

/// Zero the slots from `n` on: whatever a reused buffer held there from earlier calls does not
/// leave with the ladder (a WASM instance's output buffer lives on between calls), so equal
/// inputs give byte-identical ladders on every build.
#[inline(always)]
fn clear_tail(levels: &mut [Level; MAX_LADDER_LEVELS], n: usize) {
    for slot in &mut levels[n.min(MAX_LADDER_LEVELS)..] {
        *slot = Level::default();
    }
}

/// Append `spec.levels` levels per side to `out` (those past its capacity are dropped).
fn push_levels(out: &mut Ladder, (bid0, ask0): (f64, f64), spec: LevelSpec) {
    let mut size = spec.size;
    for i in 0..spec.levels {
        let offset = f64::from(i) * spec.step;
        out.push_bid(bid0 - offset, size);
        out.push_ask(ask0 + offset, size);
        size *= spec.size_multiplier;
    }
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
    let rules = Rules::of(view, inventory);

    let mut bids = rules.bid_side();
    let nb = (ladder.bid_count as usize).min(MAX_LADDER_LEVELS);
    let mut kept = 0;
    for i in 0..nb {
        let Level { price, size } = ladder.bids[i];
        if let Some(level) = bids.admit::<true>(price, size) {
            ladder.bids[kept] = level;
            kept += 1;
        }
    }
    ladder.bid_count = kept as u32;
    clear_tail(&mut ladder.bids, kept);
    let top_bid = (kept > 0).then(|| ladder.bids[0].price);

    let mut asks = rules.ask_side();
    let na = (ladder.ask_count as usize).min(MAX_LADDER_LEVELS);
    let mut kept = 0;
    for i in 0..na {
        let Level { price, size } = ladder.asks[i];
        if let Some(level) = asks.admit::<false>(price, size) {
            // As in `fill_ladder`: the asks at or below our best bid are a prefix of the
            // admitted ones, which still use up room.
            if !top_bid.is_some_and(|top| level.price <= top) {
                ladder.asks[kept] = level;
                kept += 1;
            }
        }
    }
    ladder.ask_count = kept as u32;
    clear_tail(&mut ladder.asks, kept);
}

/// What [`enforce`] needs of the view and the inventory, read once.
struct Rules {
    /// Tick size, 0 when not a finite positive number.
    tick: f64,
    /// Lot size, 0 when not a finite positive number.
    lot: f64,
    /// Best bid price, `-inf` when the side is empty (no ask ever crosses it).
    best_bid: f64,
    /// Best ask price, `+inf` when the side is empty (no bid ever crosses it).
    best_ask: f64,
    /// Bid size allowed before the position reaches `max_position`.
    long_room: f64,
    /// Ask size allowed before the position reaches `-max_position`.
    short_room: f64,
}

impl Rules {
    #[inline(always)]
    fn of(view: &MarketView, inventory: &Inventory) -> Self {
        // A tick or lot that is not a finite positive number counts as "none".
        let grid = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
        let max_pos = if inventory.max_position.is_finite() {
            inventory.max_position.max(0.0)
        } else {
            0.0
        };
        Self {
            tick: grid(view.tick_size),
            lot: grid(view.lot_size),
            best_bid: view.best_bid().map_or(f64::NEG_INFINITY, |l| l.price),
            best_ask: view.best_ask().map_or(f64::INFINITY, |l| l.price),
            long_room: (max_pos - inventory.position).max(0.0),
            short_room: (max_pos + inventory.position).max(0.0),
        }
    }

    #[inline(always)]
    fn bid_side(&self) -> Side {
        Side {
            touch: self.best_ask,
            tick: self.tick,
            lot: self.lot,
            remaining: self.long_room,
            last: f64::INFINITY,
        }
    }

    #[inline(always)]
    fn ask_side(&self) -> Side {
        Side {
            touch: self.best_bid,
            tick: self.tick,
            lot: self.lot,
            remaining: self.short_room,
            last: f64::NEG_INFINITY,
        }
    }
}

/// One side's running state while its levels pass the rules, best first.
///
/// The missing touch and "no level yet" are infinities on the far side rather than `None`:
/// every comparison with them comes out as the absent value would (prices that reach them
/// are finite), without a branch on an `Option` per level.
struct Side {
    /// The opposite side's best price.
    touch: f64,
    tick: f64,
    lot: f64,
    /// Size still allowed on this side.
    remaining: f64,
    /// Price of the last level admitted.
    last: f64,
}

impl Side {
    /// The level as it stays in the ladder (clamped inside the touch, size cut to the room
    /// left), or `None` when it is dropped. `BID` is the side: bids rise towards the touch.
    ///
    /// A level at or through the touch moves to one tick inside it, or is dropped when there
    /// is no tick or no positive price one tick inside.
    #[inline(always)]
    fn admit<const BID: bool>(&mut self, mut price: f64, mut size: f64) -> Option<Level> {
        if !(price.is_finite() && price > 0.0 && size.is_finite() && size > 0.0) {
            return None;
        }
        let crosses = if BID {
            price >= self.touch
        } else {
            price <= self.touch
        };
        if crosses {
            let inside = if BID {
                self.touch - self.tick
            } else {
                self.touch + self.tick
            };
            if self.tick <= 0.0 || inside <= 0.0 {
                return None;
            }
            price = inside;
        }
        let ordered = if BID {
            price < self.last
        } else {
            price > self.last
        };
        if !ordered {
            return None;
        }
        if size > self.remaining {
            size = floor_size(self.remaining, self.lot);
        }
        if size <= 0.0 {
            return None;
        }
        self.remaining -= size;
        self.last = price;
        Some(Level { price, size })
    }
}

fn floor_size(size: f64, lot: f64) -> f64 {
    if lot > 0.0 {
        math::floor_to(size * (1.0 + GRID_EPSILON), lot)
    } else {
        size
    }
}

/// The rules as first written (push every level, then one pass per side and a final cut of
/// the asks at or below our best bid): the reference the fused passes above must match bit
/// for bit.
#[cfg(test)]
mod reference {
    use super::*;

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

    pub fn enforce(view: &MarketView, inventory: &Inventory, ladder: &mut Ladder) {
        if ladder.is_pull() {
            return;
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A number from the awkward set (signed zeros, infinities, NaN, tiny, huge) or a plain one.
    fn num(plain: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => plain,
            1 => prop::sample::select(vec![
                0.0, -0.0, 1e-300, -1.0, 1e300, f64::INFINITY, f64::NEG_INFINITY, f64::NAN,
            ]),
        ]
    }

    fn arb_view() -> impl Strategy<Value = MarketView> {
        (
            num(99.0..101.0),
            num(99.0..101.0),
            0usize..3,
            0usize..3,
            prop_oneof![Just(0.1), Just(0.01), Just(0.0), num(0.0..1.0)],
            prop_oneof![Just(0.001), Just(0.1), Just(0.0), num(0.0..1.0)],
        )
            .prop_map(|(bid, ask, nb, na, tick, lot)| {
                let mut v = MarketView::new("X");
                v.set_bids(&vec![Level::new(bid, 1.0); nb]);
                v.set_asks(&vec![Level::new(ask, 1.0); na]);
                v.tick_size = tick;
                v.lot_size = lot;
                v
            })
    }

    fn arb_inventory() -> impl Strategy<Value = Inventory> {
        (num(-1.0..1.0), prop_oneof![Just(0.5), num(0.0..2.0)]).prop_map(
            |(position, max_position)| Inventory {
                position,
                max_position,
                ..Default::default()
            },
        )
    }

    fn arb_levels() -> impl Strategy<Value = Vec<Level>> {
        prop::collection::vec(
            (num(98.0..102.0), num(0.0..0.5)).prop_map(|(p, s)| Level::new(p, s)),
            0..=MAX_LADDER_LEVELS + 2,
        )
    }

    /// A level's price and size as bits.
    type LevelBits = [u64; 2];

    /// What a ladder shows (kind, reason and the valid levels), bit for bit: `==` would call
    /// NaN unequal and -0 equal to 0. Slots past the counts (zeroed now, stale in the
    /// reference) are not compared; `tails_are_zeroed` covers them.
    fn bits(l: &Ladder) -> (u32, Option<&str>, Vec<LevelBits>, Vec<LevelBits>) {
        let side = |s: &[Level]| {
            s.iter()
                .map(|x| [x.price.to_bits(), x.size.to_bits()])
                .collect()
        };
        (l.kind, l.pull_reason(), side(l.bids()), side(l.asks()))
    }

    /// A reused ladder buffer (as a WASM instance's output is) leaves nothing past the counts:
    /// equal inputs give equal bytes whatever the buffer held.
    #[test]
    fn tails_are_zeroed() {
        let mut v = MarketView::new("X");
        v.set_bids(&[Level::new(99.9, 1.0)]);
        v.set_asks(&[Level::new(100.1, 1.0)]);
        (v.tick_size, v.lot_size) = (0.1, 0.001);
        let inv = Inventory {
            max_position: 0.25,
            ..Default::default()
        };
        let spec = LevelSpec {
            levels: 3,
            step: 0.1,
            size: 0.1,
            size_multiplier: 1.0,
        };
        let mut fresh = Ladder::default();
        fill_ladder(&v, &inv, &mut fresh, (99.8, 100.2), spec);
        // The room (0.25) admits two full levels and a cut third: three a side.
        assert_eq!((fresh.bid_count, fresh.ask_count), (3, 3));
        let mut reused = Ladder::default();
        for i in 0..MAX_LADDER_LEVELS {
            reused.push_bid(50.0 + i as f64, 9.0);
            reused.push_ask(150.0 + i as f64, 9.0);
        }
        reused.clear();
        fill_ladder(&v, &inv, &mut reused, (99.8, 100.2), spec);
        assert_eq!(reused, fresh);
        // The general path too: levels already there, most of them dropped.
        let mut general = Ladder::default();
        for i in 0..MAX_LADDER_LEVELS {
            general.push_bid(100.5 - i as f64 * 0.1, 0.2);
        }
        enforce(&v, &inv, &mut general);
        assert!(general.bid_count < MAX_LADDER_LEVELS as u32);
        assert!(
            general.bids[general.bid_count as usize..]
                .iter()
                .all(|l| *l == Level::default())
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn fill_ladder_matches_reference(
            v in arb_view(),
            inv in arb_inventory(),
            bid0 in num(98.0..102.0),
            ask0 in num(98.0..102.0),
            levels in 0u32..13,
            step in prop_oneof![Just(0.0), Just(0.01), num(0.0..0.5)],
            size in num(0.0..0.3),
            mult in prop_oneof![Just(1.0), Just(1.5), num(0.0..3.0)],
            pre in prop::option::of(arb_levels()),
        ) {
            let spec = LevelSpec { levels, step, size, size_multiplier: mult };
            let mut want = Ladder::default();
            // Sometimes a ladder that already holds levels (the general path).
            for l in pre.iter().flatten() {
                want.push_bid(l.price, l.size);
                want.push_ask(l.price + 1.0, l.size);
            }
            let mut got = want;
            reference::fill_ladder(&v, &inv, &mut want, (bid0, ask0), spec);
            fill_ladder(&v, &inv, &mut got, (bid0, ask0), spec);
            prop_assert_eq!(bits(&got), bits(&want), "got {:?}\nwant {:?}", got, want);
        }

        #[test]
        fn enforce_matches_reference(
            v in arb_view(),
            inv in arb_inventory(),
            bids in arb_levels(),
            asks in arb_levels(),
            pull in prop::bool::weighted(0.05),
        ) {
            let mut want = Ladder::default();
            for l in &bids {
                want.push_bid(l.price, l.size);
            }
            for l in &asks {
                want.push_ask(l.price, l.size);
            }
            if pull {
                want.pull("p");
            }
            let mut got = want;
            reference::enforce(&v, &inv, &mut want);
            enforce(&v, &inv, &mut got);
            prop_assert_eq!(bits(&got), bits(&want), "got {:?}\nwant {:?}", got, want);
        }

        /// Sorted ladders near the touch, where clamping, ordering and the room all bind.
        #[test]
        fn enforce_matches_reference_on_sorted_ladders(
            v in arb_view(),
            inv in arb_inventory(),
            mut bids in prop::collection::vec((99.5f64..100.5, 0.0f64..0.4), 0..=MAX_LADDER_LEVELS),
            mut asks in prop::collection::vec((99.5f64..100.5, 0.0f64..0.4), 0..=MAX_LADDER_LEVELS),
        ) {
            bids.sort_by(|a, b| b.0.total_cmp(&a.0));
            asks.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut want = Ladder::default();
            for (p, s) in &bids {
                want.push_bid(*p, *s);
            }
            for (p, s) in &asks {
                want.push_ask(*p, *s);
            }
            let mut got = want;
            reference::enforce(&v, &inv, &mut want);
            enforce(&v, &inv, &mut got);
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }

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
