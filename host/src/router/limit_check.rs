//! A certificate, checked in integers, that the hard limits leave a ladder as it is.
//!
//! Most plans are nowhere near a limit: every quote is below the order cap, each side's total is
//! within its room, no side's price makes the notional cap bind, and few enough orders rest.
//! [`LimitCheck`] turns the limits at one position into ticks and lots once; a ladder converted
//! on the grids ([`crate::model::GridSummary`]) that passes it is exactly what
//! [`super::limits::apply_hard_limits`] would leave unchanged (with no clamp), so the plan skips
//! that pass. A ladder that fails it, or limits that do not fit integers, take the full pass.

use rust_decimal::Decimal;

use super::limits::{HardLimits, notional_exceeds, round_qty};
use crate::model::quote::floor_count;
use crate::model::{GridSummary, Instrument, Side};

/// The hard limits at one position, in ticks and lots of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitCheck {
    /// The order cap (`max_order_qty` on the lot), in lots; negative when no quote fits it.
    cap_lots: i64,
    /// `[bids, asks]`: the quantity the side may rest before the position cap binds, in lots.
    room_lots: [i64; 2],
    /// `[bids, asks]`: the highest price, in ticks, at which the notional cap does not bind.
    max_top_ticks: [i64; 2],
    /// Most resting orders, both sides.
    max_open_orders: usize,
}

impl LimitCheck {
    /// The check of `limits` at the signed `position` for `inst` (`None` when a value does not
    /// fit the integer form; the plan then always takes the full pass).
    pub fn new(inst: &Instrument, limits: &HardLimits, position: Decimal) -> Option<Self> {
        let (tick, lot) = (inst.tick_size, inst.lot_size);
        if tick <= Decimal::ZERO || lot <= Decimal::ZERO {
            return None;
        }
        let cap = round_qty(inst, limits.max_order_qty);
        let cap_lots = if cap < Decimal::ZERO {
            -1
        } else {
            i64::try_from(floor_count(cap, lot)?).ok()?
        };
        let mut room_lots = [0; 2];
        let mut max_top_ticks = [0; 2];
        for side in [Side::Buy, Side::Sell] {
            let (qty_cap, room) = match side {
                Side::Buy => (limits.max_long, limits.max_long.checked_sub(position)?),
                Side::Sell => (limits.max_short, limits.max_short.checked_add(position)?),
            };
            let i = side as usize;
            room_lots[i] = if room > Decimal::ZERO {
                i64::try_from(floor_count(room, lot)?).ok()?
            } else {
                0
            };
            max_top_ticks[i] = max_top_ticks_of(tick, qty_cap, limits.max_notional)?;
        }
        Some(Self {
            cap_lots,
            room_lots,
            max_top_ticks,
            max_open_orders: limits.max_open_orders,
        })
    }

    /// Whether the hard limits leave quotes counted as `summary` unchanged (no clamp).
    pub fn passes(&self, summary: &GridSummary) -> bool {
        let [bids, asks] = &summary.sides;
        if bids.count + asks.count > self.max_open_orders {
            return false;
        }
        summary.sides.iter().enumerate().all(|(i, s)| {
            s.count == 0
                || (s.lots_max <= self.cap_lots
                    && s.lots_sum <= self.room_lots[i]
                    && s.top_ticks <= self.max_top_ticks[i])
        })
    }
}

/// The most ticks `t` (at least 1 tick) for which a side capped at `qty_cap` keeps its position
/// cap: `t · tick · qty_cap` within `max_notional` as [`notional_exceeds`] decides it. Settled
/// with that same function at the boundary, so the two agree exactly.
fn max_top_ticks_of(tick: Decimal, qty_cap: Decimal, max_notional: Decimal) -> Option<i64> {
    if max_notional < Decimal::ZERO {
        return None;
    }
    if qty_cap <= Decimal::ZERO {
        // The product is never positive: the notional cap never binds.
        return Some(i64::MAX);
    }
    let unit = tick.checked_mul(qty_cap)?;
    let t = i64::try_from(floor_count(max_notional, unit)?).ok()?;
    let exceeds = |t: i64| -> Option<bool> {
        let price = Decimal::from(t).checked_mul(tick)?;
        Some(notional_exceeds(price, qty_cap, max_notional))
    };
    // `unit` may have been rounded (beyond 28 digits): trust only what the exact test confirms.
    let confirmed = (t == 0 || !exceeds(t)?) && exceeds(t.checked_add(1)?)?;
    confirmed.then_some(t)
}

/// [`LimitCheck`] kept between plans, rebuilt when the instrument's steps, the limits or the
/// position change (compared by representation: an equal value written differently only
/// rebuilds).
#[derive(Debug, Clone, Default)]
pub struct LimitMemo {
    key: Option<MemoKey>,
    check: Option<LimitCheck>,
}

/// The inputs of one [`LimitCheck`], as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemoKey {
    decimals: [[u8; 16]; 7],
    max_open_orders: usize,
}

impl MemoKey {
    fn of(inst: &Instrument, limits: &HardLimits, position: Decimal) -> Self {
        Self {
            decimals: [
                inst.tick_size,
                inst.lot_size,
                limits.max_long,
                limits.max_short,
                limits.max_notional,
                limits.max_order_qty,
                position,
            ]
            .map(|d| d.serialize()),
            max_open_orders: limits.max_open_orders,
        }
    }
}

impl LimitMemo {
    /// The check for these inputs (`None` when they do not fit the integer form).
    pub fn get(
        &mut self,
        inst: &Instrument,
        limits: &HardLimits,
        position: Decimal,
    ) -> Option<&LimitCheck> {
        let key = MemoKey::of(inst, limits, position);
        if self.key != Some(key) {
            self.check = LimitCheck::new(inst, limits, position);
            self.key = Some(key);
        }
        self.check.as_ref()
    }
}

#[cfg(test)]
#[path = "limit_check_tests.rs"]
mod tests;
