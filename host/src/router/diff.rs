//! Desired quotes against working orders: the fewest actions, staged so our quotes never cross.
//!
//! Per side: orders waiting for an ack ("frozen") are never touched, and each covers the desired
//! quote it matches (or the nearest one), so nothing is doubled while acks are in flight. Free
//! orders within `tolerance_ticks` of a desired price with the same resting quantity are kept
//! (queue priority). The rest are paired best-to-best: pairs are amended, extra desired quotes
//! created, extra orders cancelled — one action per unmatched quote or order, the minimum.
//!
//! **No self-cross.** Every action gets a stage; stages execute in order, actions inside a stage in
//! any order:
//!
//! | stage | actions |
//! |---|---|
//! | 0 | cancels; amends/creates whose every price is below all our asks' possible prices (bids) or above all our bids' (asks), unless they raise the side's resting quantity while the side also reduces it |
//! | 1 | amends moving away from the other side (bid down / ask up / price unchanged), resting qty not raised |
//! | 2 | the same, raising the resting qty |
//! | 3 | amends moving toward the other side, resting qty not raised |
//! | 4 | amends moving toward the other side raising the qty; creates |
//!
//! A create is in stage 0 only when the plan cancels nothing: the requests of one stage may land
//! in any order, and a create landing before a cancel would rest more orders than the plan's
//! start and end both do (`max_open_orders` holds for both). Otherwise creates are in stage 4.
//!
//! With an uncrossed start and an uncrossed end state (kept orders stay strictly on their side of
//! the midpoint between the desired best bid and best ask; desired quotes that would cross a frozen
//! order are held back), any bid/ask pair is either both at their start, both at their end, or one
//! moved "away" while the other has not yet moved, or one moved "toward" after the other finished
//! moving away — none of which can cross. Reductions of a side's resting quantity come before its
//! increases (stage 2 increases are stripped to price-only amends when the side reduces in stage 3),
//! so the side's exposure never exceeds the larger of its start and end. As a guard, the plan is
//! simulated in order and refused with [`RouterError::SelfCross`] if it would ever cross.
//!
//! The batch planner sends only each symbol's lowest stage and defers the rest; the next diff,
//! after the acks, recomputes them from the new state.
//!
//! Two paths make these decisions: a steady-state one (`diff_steady.rs`) for the usual case where
//! no order waits for an ack, in `i64`s with compact scratch, and the general one here for any
//! states. A property test holds them equal on every steady input.

use super::RouterError;
use super::state::{OrderState, WorkingOrder, WorkingOrders};
use crate::model::{Instrument, LinkIdGen, OrderLinkId, Quote, Side};
use rust_decimal::Decimal;
use smallvec::SmallVec;
use std::sync::Arc;

/// Highest stage number.
pub const MAX_STAGE: u8 = 4;

/// Diff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffConfig {
    /// Orders within this many ticks of the desired price (and with its quantity) are kept.
    pub tolerance_ticks: u32,
}

/// One order action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Cancel a resting order.
    Cancel {
        /// Our id.
        link_id: OrderLinkId,
        /// Exchange id, when known.
        order_id: Option<Arc<str>>,
        /// Side.
        side: Side,
        /// Its price.
        price: Decimal,
    },
    /// Amend a resting order.
    Amend {
        /// Our id.
        link_id: OrderLinkId,
        /// Exchange id, when known.
        order_id: Option<Arc<str>>,
        /// Side.
        side: Side,
        /// Price before the amend.
        from_price: Decimal,
        /// New price, `None` when unchanged.
        price: Option<Decimal>,
        /// New TOTAL order quantity (Bybit semantics: filled + resting), `None` when unchanged.
        qty: Option<Decimal>,
        /// Resting quantity before the amend.
        from_leaves: Decimal,
    },
    /// Create a new order.
    Create {
        /// The new order's id.
        link_id: OrderLinkId,
        /// What to quote.
        quote: Quote,
    },
}

impl Action {
    /// The order's id.
    pub fn link_id(&self) -> &OrderLinkId {
        match self {
            Action::Cancel { link_id, .. }
            | Action::Amend { link_id, .. }
            | Action::Create { link_id, .. } => link_id,
        }
    }

    /// The order's side.
    pub fn side(&self) -> Side {
        match self {
            Action::Cancel { side, .. } | Action::Amend { side, .. } => *side,
            Action::Create { quote, .. } => quote.side,
        }
    }
}

/// An action with its execution stage (0 first; see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedAction {
    /// Stage, `0..=MAX_STAGE`.
    pub stage: u8,
    /// The action.
    pub action: Action,
}

/// The result of one diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOutcome {
    /// Actions sorted by stage.
    pub actions: Vec<StagedAction>,
    /// Orders left untouched because they already match.
    pub kept: usize,
    /// Desired quotes covered by orders waiting for an ack.
    pub waiting: usize,
    /// Desired quotes held back because they would cross an order waiting for an ack.
    pub blocked: Vec<Quote>,
}

/// Per-side scratch vectors: a ladder side has at most `MAX_LADDER_LEVELS` (10) levels and a
/// side's working orders rarely more, so these stay off the heap.
type Small<T> = SmallVec<[T; 16]>;

/// Prices and quantities as integers at one common scale, so the hot loops compare `i128`s
/// (exact: every value's scale is at most the common one).
type Units = i128;

#[derive(Debug, Clone, Copy)]
struct Scales {
    price: u32,
    qty: u32,
}

#[inline]
fn to_units(d: Decimal, scale: u32) -> Result<Units, RouterError> {
    let m = d.mantissa();
    match scale - d.scale() {
        0 => Ok(m),
        // Scales differ by a digit or two in practice (normalised prices against the tick).
        1 => Ok(m * 10),
        2 => Ok(m * 100),
        k => 10i128
            .checked_pow(k)
            .and_then(|p| m.checked_mul(p))
            .ok_or(RouterError::NumericOverflow(d)),
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    /// Index in the diff's slot vector.
    idx: usize,
    order: &'a WorkingOrder,
    price: Units,
    leaves: Units,
    /// Price and leaves it will have if its pending request succeeds.
    target: (Units, Units),
    frozen: bool,
    cancel_pending: bool,
}

impl<'a> Slot<'a> {
    fn new(
        idx: usize,
        order: &'a WorkingOrder,
        state: OrderState,
        sc: Scales,
    ) -> Result<Self, RouterError> {
        let leaves = order.leaves_qty();
        let (target_price, target_leaves) = order
            .amend_target()
            .map(|(p, q)| (p, (q - order.cum_exec_qty).max(Decimal::ZERO)))
            .unwrap_or((order.price, leaves));
        Ok(Self {
            idx,
            order,
            price: to_units(order.price, sc.price)?,
            leaves: to_units(leaves, sc.qty)?,
            target: (
                to_units(target_price, sc.price)?,
                to_units(target_leaves, sc.qty)?,
            ),
            frozen: state.is_frozen(),
            cancel_pending: order.cancel_pending(),
        })
    }

    fn price_range(&self) -> (Units, Units) {
        (self.price.min(self.target.0), self.price.max(self.target.0))
    }
}

/// A desired quote with its integer price and quantity.
#[derive(Debug, Clone, Copy)]
struct Want {
    quote: Quote,
    price: Units,
    qty: Units,
}

/// Sort key putting the best price first.
fn best_first(side: Side, price: Units) -> Units {
    match side {
        Side::Buy => -price,
        Side::Sell => price,
    }
}

fn common_scales(
    inst: &Instrument,
    desired: [&[Quote]; 2],
    open: &[(&WorkingOrder, OrderState)],
) -> Scales {
    let mut sc = Scales {
        price: inst.tick_size.scale(),
        qty: inst.lot_size.scale(),
    };
    for q in desired.into_iter().flatten() {
        sc.price = sc.price.max(q.price.scale());
        sc.qty = sc.qty.max(q.qty.scale());
    }
    for (o, _) in open {
        sc.price = sc.price.max(o.price.scale());
        sc.qty = sc.qty.max(o.qty.scale()).max(o.cum_exec_qty.scale());
        if let Some((p, q)) = o.amend_target() {
            sc.price = sc.price.max(p.scale());
            sc.qty = sc.qty.max(q.scale());
        }
    }
    sc
}

/// Diff `desired` (both sides) against `working` for `inst`; new ids come from `ids`.
pub fn diff(
    inst: &Instrument,
    desired: &[Quote],
    working: &WorkingOrders,
    cfg: &DiffConfig,
    ids: &mut LinkIdGen,
) -> Result<DiffOutcome, RouterError> {
    diff_parts(inst, [desired, &[]], working, cfg, ids)
}

/// [`diff`] with the desired quotes in two parts (say bids and asks), read as one.
pub fn diff_parts(
    inst: &Instrument,
    desired: [&[Quote]; 2],
    working: &WorkingOrders,
    cfg: &DiffConfig,
    ids: &mut LinkIdGen,
) -> Result<DiffOutcome, RouterError> {
    match steady::diff_steady(inst, desired, working, cfg, ids) {
        Some(outcome) => outcome,
        None => diff_general(inst, desired, working, cfg, ids),
    }
}

/// The general path: any order states, `i128` values.
fn diff_general(
    inst: &Instrument,
    desired: [&[Quote]; 2],
    working: &WorkingOrders,
    cfg: &DiffConfig,
    ids: &mut LinkIdGen,
) -> Result<DiffOutcome, RouterError> {
    // One pass over the registry (a hash map): the open orders with their state.
    // (Extended in place: these vectors are kilobytes inline, and a `collect` would copy them.)
    let mut open: Small<(&WorkingOrder, OrderState)> = SmallVec::new();
    open.extend(
        working
            .iter()
            .map(|o| (o, o.state()))
            .filter(|(_, st)| !st.is_terminal()),
    );
    let sc = common_scales(inst, desired, &open);
    let tolerance = to_units(inst.tick_size, sc.price)? * Units::from(cfg.tolerance_ticks);
    let mut slots: Small<Slot<'_>> = SmallVec::new();
    for (idx, &(o, state)) in open.iter().enumerate() {
        slots.push(Slot::new(idx, o, state, sc)?);
    }
    let mut wants: Small<Want> = SmallVec::new();
    for q in desired.into_iter().flatten() {
        wants.push(Want {
            quote: *q,
            price: to_units(q.price, sc.price)?,
            qty: to_units(q.qty, sc.qty)?,
        });
    }
    let frozen_bound = |side: Side| -> Option<Units> {
        let it = slots.iter().filter(|s| s.frozen && s.order.side == side);
        match side {
            Side::Buy => it.map(|s| s.price_range().1).max(),
            Side::Sell => it.map(|s| s.price_range().0).min(),
        }
    };
    let (frozen_bid_max, frozen_ask_min) = (frozen_bound(Side::Buy), frozen_bound(Side::Sell));
    let desired_best = |side: Side| {
        let it = wants
            .iter()
            .filter(|w| w.quote.side == side)
            .map(|w| w.price);
        match side {
            Side::Buy => it.max(),
            Side::Sell => it.min(),
        }
    };
    // Twice the midpoint, compared with twice the price (no division).
    let mid2 = match (desired_best(Side::Buy), desired_best(Side::Sell)) {
        (Some(b), Some(a)) => Some(b + a),
        _ => None,
    };

    let mut out = DiffOutcome::default();
    let mut plan: Small<Planned<'_>> = SmallVec::new();
    for side in [Side::Buy, Side::Sell] {
        let mut want: Small<&Want> = SmallVec::new();
        want.extend(wants.iter().filter(|w| w.quote.side == side));
        // Ladders come best first: sort only when not.
        if !want.is_sorted_by_key(|w| best_first(side, w.price)) {
            want.sort_by_key(|w| best_first(side, w.price));
        }
        let mut used: Small<bool> = smallvec::smallvec![false; want.len()];
        let mut mine: Small<&Slot<'_>> = SmallVec::new();
        mine.extend(slots.iter().filter(|s| s.order.side == side));
        let order = |a: &&Slot<'_>, b: &&Slot<'_>| {
            best_first(side, a.price)
                .cmp(&best_first(side, b.price))
                .then_with(|| a.order.link_id.cmp(&b.order.link_id))
        };
        if !mine.is_sorted_by(|a, b| order(a, b).is_le()) {
            mine.sort_by(order);
        }

        // 1. Frozen orders cover the quote they match, else the nearest one.
        let mut covering: Small<bool> = smallvec::smallvec![false; mine.len()];
        for exact in [true, false] {
            for (k, s) in mine.iter().enumerate() {
                if covering[k] || !s.frozen || s.cancel_pending {
                    continue;
                }
                let pick = if exact {
                    covered_exact(s, &want, &used, tolerance)
                } else {
                    nearest(s.target.0, &want, &used)
                };
                if let Some(i) = pick {
                    used[i] = true;
                    covering[k] = true;
                    out.waiting += 1;
                }
            }
        }
        // 2. Hold back quotes that would cross an order waiting for an ack.
        let opposite_frozen = match side {
            Side::Buy => frozen_ask_min,
            Side::Sell => frozen_bid_max,
        };
        for (i, w) in want.iter().enumerate() {
            let crosses = opposite_frozen.is_some_and(|f| match side {
                Side::Buy => w.price >= f,
                Side::Sell => w.price <= f,
            });
            if !used[i] && crosses {
                used[i] = true;
                out.blocked.push(w.quote);
            }
        }
        // 3. Keep free orders close enough, with the same resting qty, on their side of the mid.
        let mut free: Small<&Slot<'_>> = SmallVec::new();
        free.extend(mine.iter().copied().filter(|s| !s.frozen));
        let keepable = |s: &Slot<'_>| match side {
            Side::Buy => {
                mid2.is_none_or(|m| 2 * s.price < m) && frozen_ask_min.is_none_or(|f| s.price < f)
            }
            Side::Sell => {
                mid2.is_none_or(|m| 2 * s.price > m) && frozen_bid_max.is_none_or(|f| s.price > f)
            }
        };
        for (i, w) in want.iter().enumerate() {
            if used[i] {
                continue;
            }
            let exact = free
                .iter()
                .position(|s| s.price == w.price && s.leaves == w.qty && keepable(s));
            let best = exact.or_else(|| {
                free.iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        s.leaves == w.qty && (s.price - w.price).abs() <= tolerance && keepable(s)
                    })
                    .min_by_key(|(_, s)| (s.price - w.price).abs())
                    .map(|(j, _)| j)
            });
            if let Some(j) = best {
                free.remove(j);
                used[i] = true;
                out.kept += 1;
            }
        }
        // 4. Pair the rest best-to-best: amend pairs, create or cancel the surplus.
        let mut paired = 0;
        for (w, _) in want.iter().zip(&used).filter(|(_, u)| !**u) {
            match free.get(paired) {
                Some(s) => plan.push(Planned::amend(s, w)),
                None => plan.push(Planned::create(
                    ids.next(&inst.symbol, side, w.quote.level)?,
                    w,
                )),
            }
            paired += 1;
        }
        for s in free.iter().skip(paired) {
            plan.push(Planned::cancel(s));
        }
    }
    let before = plan.len();
    assign_stages(&mut plan, &slots);
    plan.retain(|p| !p.is_noop());
    out.kept += before - plan.len();
    if !plan.is_sorted_by_key(|p| p.stage) {
        plan.sort_by_key(|p| p.stage);
    }
    check_no_cross(&plan, &slots, sc.price)?;
    out.actions = plan.drain(..).map(Planned::into_action).collect();
    Ok(out)
}

fn covered_exact(s: &Slot<'_>, want: &[&Want], used: &[bool], tol: Units) -> Option<usize> {
    want.iter()
        .enumerate()
        .find(|(i, w)| !used[*i] && w.qty == s.target.1 && (w.price - s.target.0).abs() <= tol)
        .map(|(i, _)| i)
}

fn nearest(price: Units, want: &[&Want], used: &[bool]) -> Option<usize> {
    want.iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .min_by_key(|(_, w)| (w.price - price).abs())
        .map(|(i, _)| i)
}

#[path = "diff_stage.rs"]
mod stage;
use stage::{Planned, assign_stages, check_no_cross};

#[path = "diff_steady.rs"]
mod steady;

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
