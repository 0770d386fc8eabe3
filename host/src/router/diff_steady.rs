//! The diff's steady-state path: no order of the symbol waits for an ack.
//!
//! Between two ticks every order is usually acked, so this is the path most plans take. It
//! makes the general path's decisions (see the parent module) restricted to free orders: nothing
//! covers a quote, nothing is held back, every order shows one price. Prices and quantities are
//! `i64` at one common scale, the scratch vectors hold references and integers, and stages are
//! applied by emitting actions stage by stage.
//!
//! [`diff_steady`] answers `None`, before drawing any new id, when the case is not steady (an
//! order waits for an ack or reconciliation, a side has more than [`CAP`] quotes or orders, a
//! value does not fit); the caller then runs the general path. A property test checks that
//! both paths give the same outcome on every steady input.

use super::{Action, DiffConfig, DiffOutcome, MAX_STAGE, StagedAction};
use crate::model::grid::mantissa_i64;
use crate::model::{Instrument, LinkIdGen, OrderLinkId, Quote, Side};
use crate::router::RouterError;
use crate::router::state::{WorkingOrder, WorkingOrders};
use arrayvec::ArrayVec;
use rust_decimal::Decimal;

/// Most quotes, and most orders, per side on this path.
const CAP: usize = 16;

/// Values stay within this magnitude so that twice a price cannot overflow.
const MAX_UNITS: i64 = 1 << 60;

/// Powers of ten that fit an `i64`.
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `d` as an integer count of `10^-scale` (`scale` is at least `d`'s scale).
#[inline]
fn units(d: Decimal, scale: u32) -> Option<i64> {
    let m = mantissa_i64(&d)?;
    let v = match scale - d.scale() {
        // The usual case: a value on the instrument's own scale.
        0 => m,
        gap => m.checked_mul(*POW10.get(gap as usize)?)?,
    };
    (v.abs() <= MAX_UNITS).then_some(v)
}

/// `o.leaves_qty()` (`o` not terminal) as [`units`], from its quantities' units (no `Decimal`
/// arithmetic).
#[inline]
fn leaves_units(o: &WorkingOrder, scale: u32) -> Option<i64> {
    let qty = units(o.qty, scale)?;
    if o.cum_exec_qty.is_zero() {
        return Some(qty.max(0));
    }
    // Both within `MAX_UNITS`: no overflow.
    let v = (qty - units(o.cum_exec_qty, scale)?).max(0);
    (v <= MAX_UNITS).then_some(v)
}

/// A free order with its integer price and resting quantity.
#[derive(Clone, Copy)]
struct Order<'a> {
    /// Index in registry order (the general path's slot order).
    idx: u8,
    order: &'a WorkingOrder,
    price: i64,
    leaves: i64,
}

/// A desired quote with its integer price and quantity.
#[derive(Clone, Copy)]
struct Want<'q> {
    quote: &'q Quote,
    price: i64,
    qty: i64,
}

/// One planned action.
struct Step<'a> {
    side: Side,
    /// The order it moves or cancels (`None`: a create).
    order: Option<Order<'a>>,
    /// The quote it moves to or creates (`None`: a cancel).
    want: Option<Want<'a>>,
    /// A create's new id.
    link_id: Option<OrderLinkId>,
    /// Whether an amend sends a new quantity (a stage-2 strip clears it).
    qty_changed: bool,
    stage: u8,
}

impl Step<'_> {
    fn old_leaves(&self) -> i64 {
        self.order.map_or(0, |o| o.leaves)
    }

    fn new_leaves(&self) -> i64 {
        match (self.want, self.order) {
            (None, _) => 0,
            (Some(_), Some(o)) if !self.qty_changed => o.leaves,
            (Some(w), _) => w.qty,
        }
    }

    fn price_changed(&self) -> bool {
        matches!((self.order, self.want), (Some(o), Some(w)) if o.price != w.price)
    }

    fn is_noop(&self) -> bool {
        self.order.is_some() && self.want.is_some() && !self.qty_changed && !self.price_changed()
    }
}

/// Sort key putting the best price first.
fn best_first(side: Side, price: i64) -> i64 {
    match side {
        Side::Buy => -price,
        Side::Sell => price,
    }
}

/// Stable insertion sort (the slices hold at most [`CAP`] entries).
fn insertion_sort<T: Copy>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        if !less(&v[i], &v[i - 1]) {
            // In place already (the usual case: ladders come best first).
            continue;
        }
        let x = v[i];
        let mut j = i;
        while j > 0 && less(&x, &v[j - 1]) {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// The steady-state diff, or `None` when the general path must run (see the module docs).
pub(super) fn diff_steady(
    inst: &Instrument,
    desired: [&[Quote]; 2],
    working: &WorkingOrders,
    cfg: &DiffConfig,
    ids: &mut LinkIdGen,
) -> Option<Result<DiffOutcome, RouterError>> {
    // Open orders by side (each with its registry index) and the desired quotes, converted in
    // the same pass at the instrument's scales while no value is finer; otherwise converted
    // again at the common (finest) scales once they are known.
    let base = (inst.tick_size.scale(), inst.lot_size.scale());
    let (mut price_scale, mut qty_scale) = base;
    let mut frees: [ArrayVec<Order<'_>, CAP>; 2] = Default::default();
    // At most `2 * CAP`: each side holds at most `CAP`.
    let mut n_open = 0u8;
    for o in working.iter() {
        let state = o.state();
        if state.is_terminal() {
            continue;
        }
        let side = &mut frees[o.side as usize];
        if state.is_frozen() || side.len() == CAP {
            return None;
        }
        price_scale = price_scale.max(o.price.scale());
        qty_scale = qty_scale.max(o.qty.scale()).max(o.cum_exec_qty.scale());
        let at_base = (price_scale, qty_scale) == base;
        side.push(Order {
            idx: n_open,
            order: o,
            price: if at_base { units(o.price, base.0)? } else { 0 },
            leaves: if at_base { leaves_units(o, base.1)? } else { 0 },
        });
        n_open += 1;
    }
    let mut wants: [ArrayVec<Want<'_>, CAP>; 2] = Default::default();
    for q in desired.into_iter().flatten() {
        price_scale = price_scale.max(q.price.scale());
        qty_scale = qty_scale.max(q.qty.scale());
        let side = &mut wants[q.side as usize];
        if side.len() == CAP {
            return None;
        }
        let at_base = (price_scale, qty_scale) == base;
        side.push(Want {
            quote: q,
            price: if at_base { units(q.price, base.0)? } else { 0 },
            qty: if at_base { units(q.qty, base.1)? } else { 0 },
        });
    }
    if (price_scale, qty_scale) != base {
        for o in frees.iter_mut().flatten() {
            o.price = units(o.order.price, price_scale)?;
            o.leaves = leaves_units(o.order, qty_scale)?;
        }
        for w in wants.iter_mut().flatten() {
            w.price = units(w.quote.price, price_scale)?;
            w.qty = units(w.quote.qty, qty_scale)?;
        }
    }
    let tolerance = units(inst.tick_size, price_scale)?.checked_mul(cfg.tolerance_ticks.into())?;
    // Twice the midpoint between the desired best bid and best ask.
    let best_bid = wants[Side::Buy as usize].iter().map(|w| w.price).max();
    let best_ask = wants[Side::Sell as usize].iter().map(|w| w.price).min();
    let mid2 = best_bid.zip(best_ask).map(|(b, a)| b + a);

    let mut out = DiffOutcome::default();
    // A side plans one step per quote or order left unmatched: at most `CAP`.
    let mut plan: ArrayVec<Step<'_>, { 2 * CAP }> = ArrayVec::new();
    for side in [Side::Buy, Side::Sell] {
        let want = &mut wants[side as usize];
        insertion_sort(want, |a, b| {
            best_first(side, a.price) < best_first(side, b.price)
        });
        let free = &mut frees[side as usize];
        insertion_sort(free, |a, b| {
            (best_first(side, a.price), &a.order.link_id)
                < (best_first(side, b.price), &b.order.link_id)
        });
        let keepable = |o: &Order<'_>| match side {
            Side::Buy => mid2.is_none_or(|m| 2 * o.price < m),
            Side::Sell => mid2.is_none_or(|m| 2 * o.price > m),
        };
        // Keep orders close enough with the same resting quantity (exact price first). A kept
        // order is marked in `taken` rather than removed, so `free` stays whole (in best-first
        // order) for the staging and the cross check below.
        let mut taken = 0u32;
        let is_free = |taken: u32, j: usize| taken & (1 << j) == 0;
        let mut used = 0u32;
        for (i, w) in want.iter().enumerate() {
            let exact = free.iter().enumerate().position(|(j, o)| {
                is_free(taken, j) && o.price == w.price && o.leaves == w.qty && keepable(o)
            });
            let pick = exact.or_else(|| {
                let mut best: Option<(usize, i64)> = None;
                for (j, o) in free.iter().enumerate() {
                    let dist = (o.price - w.price).abs();
                    if is_free(taken, j)
                        && o.leaves == w.qty
                        && dist <= tolerance
                        && keepable(o)
                        && best.is_none_or(|(_, d)| dist < d)
                    {
                        best = Some((j, dist));
                    }
                }
                best.map(|(j, _)| j)
            });
            if let Some(j) = pick {
                taken |= 1 << j;
                used |= 1 << i;
                out.kept += 1;
            }
        }
        // Pair the rest best-to-best: amend pairs, create or cancel the surplus.
        let mut rest = free
            .iter()
            .enumerate()
            .filter(|&(j, _)| is_free(taken, j))
            .map(|(_, o)| o);
        for (i, w) in want.iter().enumerate() {
            if used & (1 << i) != 0 {
                continue;
            }
            let step = match rest.next() {
                Some(o) => Step {
                    side,
                    order: Some(*o),
                    want: Some(*w),
                    link_id: None,
                    qty_changed: w.qty != o.leaves,
                    stage: 0,
                },
                None => {
                    let link_id = match ids.next(&inst.symbol, side, w.quote.level) {
                        Ok(id) => id,
                        Err(e) => return Some(Err(e.into())),
                    };
                    Step {
                        side,
                        order: None,
                        want: Some(*w),
                        link_id: Some(link_id),
                        qty_changed: true,
                        stage: 0,
                    }
                }
            };
            plan.push(step);
        }
        for o in rest {
            plan.push(Step {
                side,
                order: Some(*o),
                want: None,
                link_id: None,
                qty_changed: false,
                stage: 0,
            });
        }
    }
    // The best open bid and ask: the first of each side, sorted best first.
    let open_best = (
        frees[Side::Buy as usize].first().map(|o| o.price),
        frees[Side::Sell as usize].first().map(|o| o.price),
    );
    let apart = assign_stages(&mut plan, open_best);
    // Steps left unchanged by the staging are kept orders: marked `NOOP` (no stage runs them)
    // rather than removed, which would move the rest. `stages` marks the stages in use.
    let mut stages = 0u8;
    let mut count = 0;
    for s in plan.iter_mut() {
        if s.is_noop() {
            s.stage = NOOP;
            out.kept += 1;
        } else {
            stages |= 1 << s.stage;
            count += 1;
        }
    }
    // Every bid the plan may show is below every ask it may show: no order can cross.
    if !apart && let Err(e) = check_no_cross(&plan, &frees, n_open, price_scale) {
        return Some(Err(e));
    }
    out.actions = Vec::with_capacity(count);
    if stages.is_power_of_two() {
        // One stage (the usual case): a single pass in plan order.
        let stage = stages.trailing_zeros() as u8;
        for step in plan.iter_mut().filter(|s| s.stage != NOOP) {
            out.actions.push(StagedAction {
                stage,
                action: into_action(step),
            });
        }
    } else {
        for stage in (0..=MAX_STAGE).filter(|st| stages & (1 << st) != 0) {
            for step in plan.iter_mut().filter(|s| s.stage == stage) {
                out.actions.push(StagedAction {
                    stage,
                    action: into_action(step),
                });
            }
        }
    }
    Some(Ok(out))
}

/// The stage of a step the plan leaves out (a kept order): above every real stage.
const NOOP: u8 = u8::MAX;

/// Stages as in the parent module's table, for free orders only (`open_best`: the highest open
/// bid and lowest open ask). Returns whether the highest bid price the plan may show is below
/// the lowest ask price it may show.
fn assign_stages(plan: &mut [Step<'_>], open_best: (Option<i64>, Option<i64>)) -> bool {
    // Every price a side may show during the plan: each open order's (the best open ones
    // bound them), each move's target.
    let (mut bid_max, mut ask_min) = open_best;
    for s in plan.iter() {
        let Some(w) = s.want else { continue };
        match s.side {
            Side::Buy => bid_max = Some(bid_max.map_or(w.price, |m| m.max(w.price))),
            Side::Sell => ask_min = Some(ask_min.map_or(w.price, |m| m.min(w.price))),
        }
    }
    let mut reduces = [false; 2];
    for s in plan.iter() {
        reduces[s.side as usize] |= s.new_leaves() < s.old_leaves();
    }
    // Sides with a reduction in stage 3.
    let mut late = [false; 2];
    for s in plan.iter_mut() {
        let Some(w) = s.want else {
            s.stage = 0;
            continue;
        };
        let from = s.order.map(|o| o.price);
        let (safe, toward) = match s.side {
            Side::Buy => {
                let hi = from.map_or(w.price, |p| p.max(w.price));
                (
                    ask_min.is_none_or(|a| hi < a),
                    from.is_none_or(|p| w.price > p),
                )
            }
            Side::Sell => {
                let lo = from.map_or(w.price, |p| p.min(w.price));
                (
                    bid_max.is_none_or(|b| lo > b),
                    from.is_none_or(|p| w.price < p),
                )
            }
        };
        let increases = s.new_leaves() > s.old_leaves();
        s.stage = match (
            safe && (!increases || !reduces[s.side as usize]),
            toward,
            increases,
        ) {
            (true, _, _) => 0,
            (false, false, false) => 1,
            (false, false, true) => 2,
            (false, true, false) => 3,
            (false, true, true) => MAX_STAGE,
        };
        late[s.side as usize] |= s.stage == 3 && s.new_leaves() < s.old_leaves();
    }
    // Creates after cancels (see the parent module's staging).
    if plan.iter().any(|s| s.want.is_none()) {
        for s in plan
            .iter_mut()
            .filter(|s| s.order.is_none() && s.want.is_some())
        {
            s.stage = MAX_STAGE;
        }
    }
    // Reductions before increases: a side that still reduces in stage 3 has its stage-2
    // increases stripped to price-only amends.
    if late != [false; 2] {
        for s in plan
            .iter_mut()
            .filter(|s| late[s.side as usize] && s.stage == 2)
        {
            s.qty_changed = false;
            s.stage = 1;
        }
    }
    bid_max.zip(ask_min).is_none_or(|(b, a)| b < a)
}

/// Run the plan stage by stage and fail if a moved or created order would cross one of ours
/// (`frees`: every open order, `n_open` of them).
fn check_no_cross(
    plan: &[Step<'_>],
    frees: &[ArrayVec<Order<'_>, CAP>; 2],
    n_open: u8,
    scale: u32,
) -> Result<(), RouterError> {
    // The open orders in registry order (each at its index), then the creates.
    let mut live: ArrayVec<(Side, i64, bool), { 4 * CAP }> = ArrayVec::new();
    live.extend((0..n_open).map(|_| (Side::Buy, 0, false)));
    for o in frees.iter().flatten() {
        live[o.idx as usize] = (o.order.side, o.price, true);
    }
    for stage in 0..=MAX_STAGE {
        for s in plan.iter().filter(|s| s.stage == stage) {
            let Some(w) = s.want else {
                if let Some(o) = s.order {
                    live[o.idx as usize].2 = false;
                }
                continue;
            };
            let me = match s.order {
                Some(o) => {
                    live[o.idx as usize].1 = w.price;
                    o.idx as usize
                }
                None => {
                    live.push((s.side, w.price, true));
                    live.len() - 1
                }
            };
            for (j, &(side, price, active)) in live.iter().enumerate() {
                if j == me || !active || side == s.side {
                    continue;
                }
                let (bid, ask) = match s.side {
                    Side::Buy => (w.price, price),
                    Side::Sell => (price, w.price),
                };
                if bid >= ask {
                    return Err(RouterError::SelfCross {
                        bid: Decimal::new(bid, scale),
                        ask: Decimal::new(ask, scale),
                    });
                }
            }
        }
    }
    Ok(())
}

fn into_action(s: &mut Step<'_>) -> Action {
    match (s.order, s.want) {
        (None, Some(w)) => Action::Create {
            link_id: s.link_id.take().expect("a create carries its id"),
            quote: *w.quote,
        },
        (Some(o), None) => Action::Cancel {
            link_id: o.order.link_id.clone(),
            order_id: o.order.order_id.clone(),
            side: o.order.side,
            price: o.order.price,
        },
        (Some(o), Some(w)) => Action::Amend {
            link_id: o.order.link_id.clone(),
            order_id: o.order.order_id.clone(),
            side: o.order.side,
            from_price: o.order.price,
            price: (w.price != o.price).then_some(w.quote.price),
            qty: s.qty_changed.then(|| match o.order.cum_exec_qty.is_zero() {
                // Nothing filled (the usual case): no `Decimal` addition.
                true => w.quote.qty,
                false => o.order.cum_exec_qty + w.quote.qty,
            }),
            from_leaves: o.order.leaves_qty(),
        },
        (None, None) => unreachable!("a step has an order or a quote"),
    }
}

#[cfg(test)]
#[path = "diff_steady_tests.rs"]
mod tests;
