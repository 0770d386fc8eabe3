//! Diff tests: table-driven scenarios and properties (convergence, no self-cross, exposure).

use super::*;
use crate::model::instrument::test_instrument;
use crate::model::{Category, OrderLinkId};
use crate::router::state::{AckOutcome, RequestKind};
use proptest::prelude::*;
use rust_decimal_macros::dec;

const TICK: Decimal = dec!(0.1);
const LOT: Decimal = dec!(0.001);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Free,
    PendingNew,
    Amend(i64, i64),
    Cancel,
}

fn px(ticks: i64) -> Decimal {
    Decimal::from(ticks) * TICK
}

fn lots(n: i64) -> Decimal {
    Decimal::from(n) * LOT
}

fn q(side: Side, level: u8, ticks: i64, n: i64) -> Quote {
    Quote {
        side,
        level,
        price: px(ticks),
        qty: lots(n),
    }
}

fn accepted() -> AckOutcome {
    AckOutcome::Accepted { order_id: None }
}

fn book(orders: &[(Side, i64, i64, F)]) -> WorkingOrders {
    let mut reg = WorkingOrders::new();
    for (i, &(side, ticks, n, f)) in orders.iter().enumerate() {
        let id = OrderLinkId::new("old", "BTCUSDT", side, i as u8, i as u64).unwrap();
        let mut o = WorkingOrder::pending_new(id, &q(side, i as u8, ticks, n), 0);
        if f != F::PendingNew {
            o.apply_ack(RequestKind::Create, &accepted());
        }
        match f {
            F::Amend(t, m) => o.mark_amend_sent(px(t), lots(m), 1).unwrap(),
            F::Cancel => o.mark_cancel_sent(1).unwrap(),
            F::Free | F::PendingNew => {}
        }
        reg.insert(o).unwrap();
    }
    reg
}

fn run_diff(working: &WorkingOrders, desired: &[Quote], tol: u32) -> DiffOutcome {
    let mut ids = LinkIdGen::new("q1", 1000).unwrap();
    diff(
        &test_instrument(Category::Linear),
        desired,
        working,
        &DiffConfig {
            tolerance_ticks: tol,
        },
        &mut ids,
    )
    .expect("diff")
}

/// Apply every action as if sent and accepted.
fn apply(working: &mut WorkingOrders, actions: &[StagedAction]) {
    for a in actions {
        match &a.action {
            Action::Cancel { link_id, .. } => {
                working
                    .get_mut(link_id.as_str())
                    .unwrap()
                    .mark_cancel_sent(5)
                    .unwrap();
                working
                    .apply_ack(link_id.as_str(), RequestKind::Cancel, &accepted())
                    .unwrap();
            }
            Action::Amend {
                link_id,
                price,
                qty,
                ..
            } => {
                let o = working.get_mut(link_id.as_str()).unwrap();
                let (p, n) = (price.unwrap_or(o.price), qty.unwrap_or(o.qty));
                o.mark_amend_sent(p, n, 5).unwrap();
                working
                    .apply_ack(link_id.as_str(), RequestKind::Amend, &accepted())
                    .unwrap();
            }
            Action::Create { link_id, quote } => {
                working
                    .insert(WorkingOrder::pending_new(link_id.clone(), quote, 5))
                    .unwrap();
                working
                    .apply_ack(link_id.as_str(), RequestKind::Create, &accepted())
                    .unwrap();
            }
        }
    }
    working.prune_all_terminal();
}

fn kinds(out: &DiffOutcome) -> Vec<(u8, &'static str, Side)> {
    out.actions
        .iter()
        .map(|a| {
            let k = match a.action {
                Action::Cancel { .. } => "cancel",
                Action::Amend { .. } => "amend",
                Action::Create { .. } => "create",
            };
            (a.stage, k, a.action.side())
        })
        .collect()
}

use Side::{Buy as B, Sell as S};

#[test]
fn scenarios_table() {
    type Case = (
        &'static str,
        Vec<(Side, i64, i64, F)>,
        Vec<Quote>,
        u32,
        Vec<(u8, &'static str, Side)>,
    );
    let cases: Vec<Case> = vec![
        (
            "empty book creates, safe at once",
            vec![],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1)],
            0,
            vec![(0, "create", B), (0, "create", S)],
        ),
        (
            "exact match keeps",
            vec![(B, 999, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1)],
            0,
            vec![],
        ),
        (
            "within tolerance keeps",
            vec![(B, 998, 1, F::Free), (S, 1003, 1, F::Free)],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1)],
            2,
            vec![],
        ),
        (
            "outside tolerance amends",
            vec![(B, 995, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1)],
            2,
            vec![(0, "amend", B)],
        ),
        (
            "qty change amends",
            vec![(B, 999, 1, F::Free)],
            vec![q(B, 0, 999, 2)],
            0,
            vec![(0, "amend", B)],
        ),
        (
            "a level moves across sides: the create waits for the cancel",
            vec![
                (B, 999, 1, F::Free),
                (B, 998, 1, F::Free),
                (S, 1001, 1, F::Free),
            ],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1), q(S, 1, 1002, 1)],
            0,
            vec![(0, "cancel", B), (MAX_STAGE, "create", S)],
        ),
        (
            "pull cancels all",
            vec![(B, 999, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![],
            0,
            vec![(0, "cancel", B), (0, "cancel", S)],
        ),
        (
            "big shift up: asks away first, bids toward after",
            vec![(B, 999, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![q(B, 0, 1009, 1), q(S, 0, 1011, 1)],
            0,
            vec![(1, "amend", S), (3, "amend", B)],
        ),
        (
            "big shift down: bids away first",
            vec![(B, 999, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![q(B, 0, 989, 1), q(S, 0, 991, 1)],
            0,
            vec![(1, "amend", B), (3, "amend", S)],
        ),
        (
            "shift up with new bid: create last",
            vec![(B, 999, 1, F::Free), (S, 1001, 1, F::Free)],
            vec![q(B, 0, 1009, 1), q(B, 1, 1008, 1), q(S, 0, 1011, 1)],
            0,
            vec![(1, "amend", S), (3, "amend", B), (4, "create", B)],
        ),
        (
            "fewer levels: cancel the worst",
            vec![
                (B, 999, 1, F::Free),
                (B, 998, 1, F::Free),
                (B, 997, 1, F::Free),
            ],
            vec![q(B, 0, 999, 1), q(B, 1, 998, 1)],
            0,
            vec![(0, "cancel", B)],
        ),
        (
            "pending new covers its quote",
            vec![(B, 999, 1, F::PendingNew)],
            vec![q(B, 0, 999, 1)],
            0,
            vec![],
        ),
        (
            "pending new at another price still covers one quote",
            vec![(B, 990, 1, F::PendingNew)],
            vec![q(B, 0, 999, 1)],
            0,
            vec![],
        ),
        (
            "pending amend target covers",
            vec![(B, 990, 1, F::Amend(999, 1))],
            vec![q(B, 0, 999, 1), q(B, 1, 998, 1)],
            0,
            vec![(0, "create", B)],
        ),
        (
            "pending cancel covers nothing",
            vec![(B, 990, 1, F::Cancel)],
            vec![q(B, 0, 999, 1)],
            0,
            vec![(0, "create", B)],
        ),
        (
            "bid blocked by frozen ask",
            vec![(S, 1001, 1, F::Amend(1005, 1))],
            vec![q(B, 0, 1002, 1), q(S, 0, 1006, 1)],
            0,
            vec![],
        ),
        (
            "kept ask must stay above the mid",
            vec![(B, 999, 1, F::Free), (S, 1000, 1, F::Free)],
            vec![q(B, 0, 999, 1), q(S, 0, 1001, 1)],
            0,
            vec![(0, "amend", S)],
        ),
    ];
    for (name, orders, desired, tol, want) in cases {
        let out = run_diff(&book(&orders), &desired, tol);
        assert_eq!(kinds(&out), want, "{name}");
    }
}

#[test]
fn amend_qty_is_total_including_fills() {
    let mut w = book(&[(B, 999, 4, F::Free)]);
    let id = w.iter().next().unwrap().link_id.clone();
    let o = w.get_mut(id.as_str()).unwrap();
    o.cum_exec_qty = lots(1); // 3 lots resting
    let out = run_diff(&w, &[q(B, 0, 999, 2)], 0);
    match &out.actions[..] {
        [
            StagedAction {
                action:
                    Action::Amend {
                        qty,
                        price,
                        from_leaves,
                        ..
                    },
                ..
            },
        ] => {
            assert_eq!((*qty, *price, *from_leaves), (Some(lots(3)), None, lots(3)));
        }
        other => panic!("{other:?}"),
    }
    assert!(run_diff(&w, &[q(B, 0, 999, 3)], 0).actions.is_empty());
}

#[test]
fn link_ids_name_symbol_side_level() {
    let out = run_diff(&book(&[]), &[q(S, 3, 1001, 1)], 0);
    let parts = out.actions[0].action.link_id().parts();
    assert_eq!(
        (parts.prefix, parts.symbol, parts.side, parts.level),
        ("q1", "BTCUSDT", S, 3)
    );
}

// ---- properties ----

fn side_orders(side: Side) -> impl Strategy<Value = Vec<(Side, i64, i64)>> {
    prop::collection::vec((1i64..30, 1i64..4), 0..6)
        .prop_map(move |v| v.into_iter().map(|(off, n)| (side, off, n)).collect())
}

/// Uncrossed orders: bids at `center - off`, asks at `center + off`.
fn ladder(center: i64) -> impl Strategy<Value = Vec<(Side, i64, i64)>> {
    (side_orders(B), side_orders(S)).prop_map(move |(b, a)| {
        b.into_iter()
            .map(|(s, off, n)| (s, center - off, n))
            .chain(a.into_iter().map(|(s, off, n)| (s, center + off, n)))
            .collect()
    })
}

/// Execute `actions` stage by stage (inside a stage in `reverse` or list order) and check every
/// intermediate state: no bid at or above an ask, and no side resting more than max(start, end).
fn check_execution(
    w: &WorkingOrders,
    actions: &[StagedAction],
    reverse: bool,
) -> Result<(), TestCaseError> {
    let mut live: Vec<(OrderLinkId, Side, Decimal, Decimal, Decimal)> = w
        .open()
        .map(|o| {
            let t = o.amend_target().map(|t| t.0).unwrap_or(o.price);
            (
                o.link_id.clone(),
                o.side,
                o.price.min(t),
                o.price.max(t),
                o.leaves_qty(),
            )
        })
        .collect();
    let exposure = |l: &[(OrderLinkId, Side, Decimal, Decimal, Decimal)], s: Side| -> Decimal {
        l.iter().filter(|x| x.1 == s).map(|x| x.4).sum()
    };
    let start = [exposure(&live, B), exposure(&live, S)];
    let mut end_state = w.clone();
    apply(&mut end_state, actions);
    let end = [B, S].map(|s| {
        end_state
            .open()
            .filter(|o| o.side == s)
            .map(|o| o.leaves_qty())
            .sum::<Decimal>()
    });
    // Open orders never outnumber both the start's and the end's (so `max_open_orders` holds).
    let most_open = live.len().max(end_state.open().count());
    for stage in 0..=MAX_STAGE {
        let mut group: Vec<&StagedAction> = actions.iter().filter(|a| a.stage == stage).collect();
        if reverse {
            group.reverse();
        }
        for a in group {
            match &a.action {
                Action::Cancel { link_id, .. } => live.retain(|x| &x.0 != link_id),
                Action::Amend {
                    link_id,
                    price,
                    qty,
                    ..
                } => {
                    let x = live.iter_mut().find(|x| &x.0 == link_id).unwrap();
                    if let Some(p) = price {
                        x.2 = *p;
                        x.3 = *p;
                    }
                    if let Some(n) = qty {
                        let o = w.get(link_id.as_str()).unwrap();
                        x.4 = *n - o.cum_exec_qty;
                    }
                }
                Action::Create { link_id, quote } => {
                    live.push((
                        link_id.clone(),
                        quote.side,
                        quote.price,
                        quote.price,
                        quote.qty,
                    ));
                }
            }
            let bid_hi = live.iter().filter(|x| x.1 == B).map(|x| x.3).max();
            let ask_lo = live.iter().filter(|x| x.1 == S).map(|x| x.2).min();
            if let (Some(bid), Some(ask)) = (bid_hi, ask_lo) {
                prop_assert!(bid < ask, "crossed after {:?}: bid {} ask {}", a, bid, ask);
            }
            prop_assert!(
                live.len() <= most_open,
                "{} open orders after {:?}, more than at the start or the end ({})",
                live.len(),
                a,
                most_open
            );
            for (i, s) in [B, S].into_iter().enumerate() {
                prop_assert!(
                    exposure(&live, s) <= start[i].max(end[i]),
                    "{:?} exposure over bound",
                    s
                );
            }
        }
    }
    Ok(())
}

/// Every desired quote matched by a distinct order with its qty and a price within tolerance
/// (per side and qty, sorted pairing is an optimal matching for equal-width windows).
fn matches_desired(w: &WorkingOrders, desired: &[Quote], tol: u32) -> bool {
    let tol = TICK * Decimal::from(tol);
    let mut have: Vec<(Side, Decimal, Decimal)> = w
        .open()
        .map(|o| (o.side, o.leaves_qty(), o.price))
        .collect();
    let mut want: Vec<(Side, Decimal, Decimal)> =
        desired.iter().map(|d| (d.side, d.qty, d.price)).collect();
    have.sort();
    want.sort();
    have.len() == want.len()
        && have
            .iter()
            .zip(&want)
            .all(|(h, d)| h.0 == d.0 && h.1 == d.1 && (h.2 - d.2).abs() <= tol)
}

proptest! {
    #[test]
    fn converges_without_crossing(
        start in ladder(1000),
        shift in -40i64..40,
        want in ladder(0),
        tol in 0u32..3,
    ) {
        let orders: Vec<_> = start.iter().map(|&(s, p, n)| (s, p, n, F::Free)).collect();
        let mut w = book(&orders);
        let desired: Vec<Quote> = want
            .iter()
            .enumerate()
            .map(|(i, &(s, p, n))| q(s, i as u8, 1000 + shift + p, n))
            .collect();
        for _round in 0..3 {
            let out = run_diff(&w, &desired, tol);
            check_execution(&w, &out.actions, false)?;
            check_execution(&w, &out.actions, true)?;
            if out.actions.is_empty() {
                break;
            }
            apply(&mut w, &out.actions);
        }
        prop_assert!(matches_desired(&w, &desired, tol), "did not converge: {:?}", w.open().collect::<Vec<_>>());
        prop_assert!(run_diff(&w, &desired, tol).actions.is_empty());
    }

    #[test]
    fn frozen_orders_are_never_touched_nor_crossed(
        start in ladder(1000),
        frozen in prop::collection::vec(0usize..4, 0..4),
        shift in -40i64..40,
        want in ladder(0),
    ) {
        let orders: Vec<_> = start.iter().enumerate().map(|(i, &(s, p, n))| {
            let f = match frozen.get(i) {
                Some(0) => F::PendingNew,
                Some(1) => F::Cancel,
                Some(2) => F::Amend(match s { B => p - 3, S => p + 3 }, n),
                _ => F::Free,
            };
            (s, p, n, f)
        }).collect();
        let w = book(&orders);
        let desired: Vec<Quote> = want
            .iter()
            .enumerate()
            .map(|(i, &(s, p, n))| q(s, i as u8, 1000 + shift + p, n))
            .collect();
        let out = run_diff(&w, &desired, 1);
        for a in &out.actions {
            if let Some(o) = w.get(a.action.link_id().as_str()) {
                prop_assert!(!o.state().is_frozen(), "touched a frozen order");
            }
        }
        check_execution(&w, &out.actions, false)?;
        check_execution(&w, &out.actions, true)?;
    }
}

#[test]
fn regression_shift_with_duplicates() {
    let start = [
        (B, 982, 1),
        (B, 975, 2),
        (B, 999, 3),
        (S, 1001, 3),
        (S, 1001, 2),
        (S, 1002, 2),
        (S, 1009, 3),
    ];
    let want = [
        (B, -12, 1),
        (B, -10, 3),
        (B, -10, 1),
        (B, -9, 1),
        (B, -14, 1),
        (S, 10, 2),
        (S, 4, 2),
        (S, 21, 3),
    ];
    let orders: Vec<_> = start.iter().map(|&(s, p, n)| (s, p, n, F::Free)).collect();
    let mut w = book(&orders);
    let desired: Vec<Quote> = want
        .iter()
        .enumerate()
        .map(|(i, &(s, p, n))| q(s, i as u8, 1023 + p, n))
        .collect();
    for _ in 0..3 {
        let out = run_diff(&w, &desired, 2);
        apply(&mut w, &out.actions);
    }
    assert!(matches_desired(&w, &desired, 2));
}
