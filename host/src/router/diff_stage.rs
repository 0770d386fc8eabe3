//! Stage assignment and the no-self-cross guard of the diff (see the parent module's docs).

use super::{Action, MAX_STAGE, Slot, StagedAction, Units, Want};
use crate::model::{OrderLinkId, Quote, Side};
use crate::router::RouterError;
use rust_decimal::Decimal;
use smallvec::SmallVec;

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Cancel,
    Amend {
        price: Option<Decimal>,
        qty: Option<Decimal>,
    },
    Create {
        link_id: OrderLinkId,
        quote: Quote,
    },
}

/// An action being planned, with what the staging needs to know.
#[derive(Debug, Clone)]
pub(super) struct Planned<'a> {
    pub(super) slot: Option<&'a Slot<'a>>,
    pub(super) kind: Kind,
    pub(super) side: Side,
    pub(super) initial: Option<Units>,
    pub(super) fin: Option<Units>,
    pub(super) old_leaves: Units,
    pub(super) new_leaves: Units,
    pub(super) stage: u8,
}

impl<'a> Planned<'a> {
    pub(super) fn cancel(s: &'a Slot<'a>) -> Self {
        Self {
            slot: Some(s),
            kind: Kind::Cancel,
            side: s.order.side,
            initial: Some(s.price),
            fin: None,
            old_leaves: s.leaves,
            new_leaves: 0,
            stage: 0,
        }
    }

    pub(super) fn amend(s: &'a Slot<'a>, w: &Want) -> Self {
        let price = (w.price != s.price).then_some(w.quote.price);
        let qty = (w.qty != s.leaves).then_some(s.order.cum_exec_qty + w.quote.qty);
        Self {
            slot: Some(s),
            kind: Kind::Amend { price, qty },
            side: s.order.side,
            initial: Some(s.price),
            fin: Some(w.price),
            old_leaves: s.leaves,
            new_leaves: w.qty,
            stage: 0,
        }
    }

    pub(super) fn create(link_id: OrderLinkId, w: &Want) -> Self {
        Self {
            slot: None,
            side: w.quote.side,
            initial: None,
            fin: Some(w.price),
            old_leaves: 0,
            new_leaves: w.qty,
            kind: Kind::Create {
                link_id,
                quote: w.quote,
            },
            stage: 0,
        }
    }

    pub(super) fn is_noop(&self) -> bool {
        matches!(
            self.kind,
            Kind::Amend {
                price: None,
                qty: None
            }
        )
    }

    fn reduces(&self) -> bool {
        self.new_leaves < self.old_leaves
    }

    fn increases(&self) -> bool {
        self.new_leaves > self.old_leaves
    }

    /// Moves toward the other side (a create comes from "infinitely far away").
    fn toward(&self) -> bool {
        match (self.initial, self.fin) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => match self.side {
                Side::Buy => b > a,
                Side::Sell => b < a,
            },
            _ => false,
        }
    }

    pub(super) fn into_action(self) -> StagedAction {
        let stage = self.stage;
        let action = match (self.kind, self.slot) {
            (Kind::Create { link_id, quote }, _) => Action::Create { link_id, quote },
            (Kind::Cancel, Some(s)) => Action::Cancel {
                link_id: s.order.link_id.clone(),
                order_id: s.order.order_id.clone(),
                side: s.order.side,
                price: s.order.price,
            },
            (Kind::Amend { price, qty }, Some(s)) => Action::Amend {
                link_id: s.order.link_id.clone(),
                order_id: s.order.order_id.clone(),
                side: s.order.side,
                from_price: s.order.price,
                price,
                qty,
                from_leaves: s.order.leaves_qty(),
            },
            (_, None) => unreachable!("cancel and amend always carry their order"),
        };
        StagedAction { stage, action }
    }
}

/// Every price an order of `side` may show during the plan: frozen ranges, kept orders, both
/// ends of every planned move.
fn side_prices<'p>(
    side: Side,
    plan: &'p [Planned<'_>],
    slots: &'p [Slot<'_>],
    planned: &'p [bool],
) -> impl Iterator<Item = Units> + 'p {
    let statics = slots
        .iter()
        .filter(move |s| s.order.side == side && !planned[s.idx])
        .flat_map(|s| {
            let (lo, hi) = s.price_range();
            [lo, hi]
        });
    let moves = plan
        .iter()
        .filter(move |p| p.side == side)
        .flat_map(|p| [p.initial, p.fin].into_iter().flatten());
    statics.chain(moves)
}

/// Give every planned action its stage (see the module table).
pub(super) fn assign_stages(plan: &mut [Planned<'_>], slots: &[Slot<'_>]) {
    let mut planned: super::Small<bool> = smallvec::smallvec![false; slots.len()];
    for p in plan.iter() {
        if let Some(s) = p.slot {
            planned[s.idx] = true;
        }
    }
    let bid_max = side_prices(Side::Buy, plan, slots, &planned).max();
    let ask_min = side_prices(Side::Sell, plan, slots, &planned).min();
    let reduces = |side: Side| plan.iter().any(|p| p.side == side && p.reduces());
    let (bids_reduce, asks_reduce) = (reduces(Side::Buy), reduces(Side::Sell));
    for p in plan.iter_mut() {
        if matches!(p.kind, Kind::Cancel) {
            p.stage = 0;
            continue;
        }
        let ends = [p.initial, p.fin].into_iter().flatten();
        let (safe, side_reduces) = match p.side {
            Side::Buy => (
                ends.max().is_none_or(|hi| ask_min.is_none_or(|a| hi < a)),
                bids_reduce,
            ),
            Side::Sell => (
                ends.min().is_none_or(|lo| bid_max.is_none_or(|b| lo > b)),
                asks_reduce,
            ),
        };
        p.stage = match (
            safe && (!p.increases() || !side_reduces),
            p.toward(),
            p.increases(),
        ) {
            (true, _, _) => 0,
            (false, false, false) => 1,
            (false, false, true) => 2,
            (false, true, false) => 3,
            (false, true, true) => MAX_STAGE,
        };
    }
    // Creates after cancels: requests of one stage may land in any order, and a create landing
    // before a cancel would rest one order more than the plan's start and end both have (over
    // `max_open_orders`, say).
    if plan.iter().any(|p| matches!(p.kind, Kind::Cancel)) {
        for p in plan
            .iter_mut()
            .filter(|p| matches!(p.kind, Kind::Create { .. }))
        {
            p.stage = MAX_STAGE;
        }
    }
    // Reductions before increases: strip stage-2 increases to price-only when the side still
    // reduces in stage 3 (the qty follows in a later diff).
    for side in [Side::Buy, Side::Sell] {
        let late_reduction = plan
            .iter()
            .any(|p| p.side == side && p.stage == 3 && p.reduces());
        if !late_reduction {
            continue;
        }
        for p in plan.iter_mut().filter(|p| p.side == side && p.stage == 2) {
            if let Kind::Amend { qty, .. } = &mut p.kind {
                *qty = None;
            }
            p.new_leaves = p.old_leaves;
            p.stage = 1;
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Live {
    side: Side,
    lo: Units,
    hi: Units,
    active: bool,
}

/// Simulate the plan in order and fail if a moved or created order would ever cross one of ours.
/// Orders waiting for an ack count at both their current and target prices.
pub(super) fn check_no_cross(
    plan: &[Planned<'_>],
    slots: &[Slot<'_>],
    price_scale: u32,
) -> Result<(), RouterError> {
    let mut live: super::Small<Live> = SmallVec::new();
    live.extend(slots.iter().map(|s| {
        let (lo, hi) = s.price_range();
        Live {
            side: s.order.side,
            lo,
            hi,
            active: true,
        }
    }));
    for p in plan {
        let index = p.slot.map(|x| x.idx);
        let Some(price) = p.fin else {
            if let Some(i) = index {
                live[i].active = false;
            }
            continue;
        };
        let me = match index {
            Some(i) => {
                live[i].lo = price;
                live[i].hi = price;
                i
            }
            None => {
                live.push(Live {
                    side: p.side,
                    lo: price,
                    hi: price,
                    active: true,
                });
                live.len() - 1
            }
        };
        for (j, other) in live.iter().enumerate() {
            if j == me || !other.active || other.side == p.side {
                continue;
            }
            let crossed = match p.side {
                Side::Buy => other.lo <= price,
                Side::Sell => other.hi >= price,
            };
            if crossed {
                let (bid, ask) = match p.side {
                    Side::Buy => (price, other.lo),
                    Side::Sell => (other.hi, price),
                };
                return Err(RouterError::SelfCross {
                    bid: Decimal::from_i128_with_scale(bid, price_scale),
                    ask: Decimal::from_i128_with_scale(ask, price_scale),
                });
            }
        }
    }
    Ok(())
}
