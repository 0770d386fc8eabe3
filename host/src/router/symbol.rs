//! One symbol's decision on one strategy output: convert, clamp, diff.
//!
//! The runtime calls [`plan_symbol`] with the strategy's ladder, then gives the diff's actions of
//! every symbol to [`super::batch::plan_requests`]. A ladder that cannot be converted (NaN, inf,
//! crossed) is an error: the caller should pull the symbol's quotes with [`pull_symbol`].

use super::RouterError;
use super::diff::{Action, DiffConfig, DiffOutcome, StagedAction, diff, diff_parts};
use super::limit_check::LimitMemo;
use super::limits::{Clamp, HardLimits, apply_hard_limits};
use super::state::WorkingOrders;
use crate::model::{DesiredQuotes, Instrument, LinkIdGen, QuoteGrid, quotes_on_grid_into};
use plugin_api::Ladder;
use rust_decimal::Decimal;

/// Router settings of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolConfig {
    /// Hard limits.
    pub limits: HardLimits,
    /// Diff settings.
    pub diff: DiffConfig,
}

/// What the router decided for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolPlan {
    /// The exact quotes after rounding and clamping.
    pub desired: DesiredQuotes,
    /// What the hard limits clamped (for the status line).
    pub clamps: Vec<Clamp>,
    /// The staged actions.
    pub diff: DiffOutcome,
}

/// What the router decided for one symbol, the desired quotes left in the caller's buffer (see
/// [`plan_symbol_into`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolDecision {
    /// What the hard limits clamped (for the status line).
    pub clamps: Vec<Clamp>,
    /// The staged actions.
    pub diff: DiffOutcome,
}

/// Convert `ladder`, clamp it to the limits at `position`, and diff it against `working`.
/// `grid` is `QuoteGrid::new(inst)`, prepared once per instrument.
pub fn plan_symbol(
    inst: &Instrument,
    grid: Option<&QuoteGrid>,
    cfg: &SymbolConfig,
    position: Decimal,
    ladder: &Ladder,
    working: &WorkingOrders,
    ids: &mut LinkIdGen,
) -> Result<SymbolPlan, RouterError> {
    let mut desired = DesiredQuotes::default();
    let SymbolDecision { clamps, diff } = plan_symbol_into(
        inst,
        grid,
        cfg,
        position,
        ladder,
        working,
        ids,
        &mut desired,
        &mut LimitMemo::default(),
    )?;
    Ok(SymbolPlan {
        desired,
        clamps,
        diff,
    })
}

/// [`plan_symbol`] with the desired quotes written into `desired` (cleared first; its vectors
/// are reused from call to call, so a steady ladder plans without allocating them). `memo`
/// keeps the limits in ticks and lots between calls: a ladder they certainly leave unchanged
/// skips the hard-limit pass (see [`super::limit_check`]).
#[allow(clippy::too_many_arguments)]
pub fn plan_symbol_into(
    inst: &Instrument,
    grid: Option<&QuoteGrid>,
    cfg: &SymbolConfig,
    position: Decimal,
    ladder: &Ladder,
    working: &WorkingOrders,
    ids: &mut LinkIdGen,
    desired: &mut DesiredQuotes,
    memo: &mut LimitMemo,
) -> Result<SymbolDecision, RouterError> {
    let summary = quotes_on_grid_into(inst, grid, ladder, desired)?;
    let within = summary.is_some_and(|s| {
        memo.get(inst, &cfg.limits, position)
            .is_some_and(|check| check.passes(&s))
    });
    let clamps = if within {
        Vec::new()
    } else {
        apply_hard_limits(inst, &cfg.limits, position, desired)
    };
    let mut diff = diff_parts(
        inst,
        [&desired.bids, &desired.asks],
        working,
        &cfg.diff,
        ids,
    )?;
    cap_creates(&mut diff, working, cfg.limits.max_open_orders);
    Ok(SymbolDecision { clamps, diff })
}

/// Drop the deepest creates that would take the symbol's live orders (open or waiting for an
/// ack, including those this plan cancels) past `max_open`. Requests land in any order, and an
/// order waiting for an ack cannot be cancelled yet, so the limit must hold with every live
/// order still there. The next diff, after the acks, creates what was dropped.
fn cap_creates(diff: &mut DiffOutcome, working: &WorkingOrders, max_open: usize) {
    let is_create = |a: &StagedAction| matches!(a.action, Action::Create { .. });
    let creates = diff.actions.iter().filter(|a| is_create(a)).count();
    if creates == 0 {
        return;
    }
    let live = working.open().count();
    let room = max_open.saturating_sub(live);
    if creates <= room {
        return;
    }
    // Keep the `room` creates nearest the top of the book (lowest level first); `creates >
    // room`, so `levels[room]` is the first level not wholly kept.
    let mut levels: Vec<u8> = diff
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Create { quote, .. } => Some(quote.level),
            _ => None,
        })
        .collect();
    levels.sort_unstable();
    let keep_below = levels[room];
    // Creates at exactly `keep_below` fill what room is left, in plan order.
    let mut at_edge = room - levels.iter().filter(|&&l| l < keep_below).count();
    diff.actions.retain(|a| match &a.action {
        Action::Create { quote, .. } if quote.level > keep_below => false,
        Action::Create { quote, .. } if quote.level == keep_below => {
            if at_edge == 0 {
                return false;
            }
            at_edge -= 1;
            true
        }
        _ => true,
    });
}

/// Cancel every order of the symbol that is not waiting for an ack (run again after the acks
/// until nothing is left).
pub fn pull_symbol(
    inst: &Instrument,
    cfg: &SymbolConfig,
    working: &WorkingOrders,
    ids: &mut LinkIdGen,
) -> Result<DiffOutcome, RouterError> {
    diff(inst, &[], working, &cfg.diff, ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use crate::model::instrument::test_instrument;
    use crate::router::diff::Action;
    use rust_decimal_macros::dec;

    const CFG: SymbolConfig = SymbolConfig {
        limits: HardLimits {
            max_long: dec!(1),
            max_short: dec!(1),
            max_notional: dec!(1000000),
            max_open_orders: 4,
            max_order_qty: dec!(0.5),
        },
        diff: DiffConfig { tolerance_ticks: 1 },
    };

    #[test]
    fn ladder_to_staged_actions() {
        let inst = test_instrument(Category::Linear);
        let mut ladder = Ladder::default();
        ladder.push_bid(100.04, 0.7);
        ladder.push_bid(99.9, 0.7);
        ladder.push_bid(99.8, 0.3);
        ladder.push_ask(100.21, 0.2);
        let mut ids = LinkIdGen::new("q1", 0).unwrap();
        let plan = plan_symbol(
            &inst,
            QuoteGrid::new(&inst).as_ref(),
            &CFG,
            dec!(0.2),
            &ladder,
            &WorkingOrders::new(),
            &mut ids,
        )
        .unwrap();
        // Bids: 0.5 (order size), then 0.3 left of the 0.8 long room, third dropped.
        let bids: Vec<_> = plan.desired.bids.iter().map(|q| (q.price, q.qty)).collect();
        assert_eq!(
            bids,
            vec![(dec!(100.0), dec!(0.5)), (dec!(99.9), dec!(0.3))]
        );
        assert_eq!(
            plan.clamps.len(),
            4,
            "two order-size clamps, two long-room clamps"
        );
        let creates = plan
            .diff
            .actions
            .iter()
            .filter(|a| matches!(a.action, Action::Create { .. }))
            .count();
        assert_eq!(creates, 3);
    }

    /// Four resting orders, two a side, and a ladder of three bids and one ask: the plan cancels
    /// an ask and creates a bid, and the create, which could land first, waits while four
    /// orders are live and the limit is four.
    #[test]
    fn creates_wait_while_live_orders_fill_the_open_order_limit() {
        use crate::model::{OrderLinkId, Quote, Side};
        use crate::router::state::{AckOutcome, RequestKind, WorkingOrder};
        let inst = test_instrument(Category::Linear);
        let mut working = WorkingOrders::new();
        for (i, (side, price)) in [
            (Side::Buy, dec!(99.0)),
            (Side::Buy, dec!(98.9)),
            (Side::Sell, dec!(101.0)),
            (Side::Sell, dec!(101.1)),
        ]
        .into_iter()
        .enumerate()
        {
            let quote = Quote {
                side,
                level: (i % 2) as u8,
                price,
                qty: dec!(0.1),
            };
            let id = OrderLinkId::new("q1", "BTCUSDT", side, quote.level, i as u64).unwrap();
            let mut order = WorkingOrder::pending_new(id, &quote, 0);
            order.apply_ack(
                RequestKind::Create,
                &AckOutcome::Accepted { order_id: None },
            );
            working.insert(order).unwrap();
        }
        let mut ladder = Ladder::default();
        ladder.push_bid(99.0, 0.1);
        ladder.push_bid(98.9, 0.1);
        ladder.push_bid(98.8, 0.1);
        ladder.push_ask(101.0, 0.1);
        let count_creates = |cfg: &SymbolConfig| {
            let mut ids = LinkIdGen::new("q1", 100).unwrap();
            plan_symbol(
                &inst,
                QuoteGrid::new(&inst).as_ref(),
                cfg,
                dec!(0),
                &ladder,
                &working,
                &mut ids,
            )
            .unwrap()
            .diff
            .actions
            .iter()
            .filter(|a| matches!(a.action, Action::Create { .. }))
            .count()
        };
        assert_eq!(count_creates(&CFG), 0, "four live orders, limit four");
        let mut five = CFG;
        five.limits.max_open_orders = 5;
        assert_eq!(count_creates(&five), 1, "room for one more");
    }

    #[test]
    fn bad_ladders_are_errors_and_pull_cancels() {
        let inst = test_instrument(Category::Linear);
        let mut ladder = Ladder::default();
        ladder.push_bid(f64::NAN, 1.0);
        let mut ids = LinkIdGen::new("q1", 0).unwrap();
        let working = WorkingOrders::new();
        let grid = QuoteGrid::new(&inst);
        assert!(
            plan_symbol(
                &inst,
                grid.as_ref(),
                &CFG,
                dec!(0),
                &ladder,
                &working,
                &mut ids
            )
            .is_err()
        );
        assert!(
            pull_symbol(&inst, &CFG, &working, &mut ids)
                .unwrap()
                .actions
                .is_empty()
        );
    }
}
