//! End-to-end property of the router protocol: diff → plan (lowest stage only) → send → the
//! exchange executes in-flight requests in any order while new diffs run with those orders
//! frozen. The exchange's book of our orders must never be crossed.

use super::batch::{BatchConfig, SymbolActions, plan_requests, record_sent};
use super::diff::{Action, DiffConfig, diff};
use super::ratelimit::RateLimiter;
use super::state::{AckOutcome, RequestKind, WorkingOrders};
use crate::model::instrument::test_instrument;
use crate::model::{Category, LinkIdGen, Quote, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;

fn ladder(center: i64, half_spread: i64, levels: &[(bool, i64, i64)]) -> Vec<Quote> {
    let tick = Decimal::new(1, 1);
    levels
        .iter()
        .enumerate()
        .map(|(i, &(bid, depth, lots))| {
            let (side, ticks) = if bid {
                (Side::Buy, center - half_spread - depth)
            } else {
                (Side::Sell, center + half_spread + depth)
            };
            Quote {
                side,
                level: i as u8,
                price: Decimal::from(ticks) * tick,
                qty: Decimal::new(lots, 3),
            }
        })
        .collect()
}

type Book = HashMap<String, (Side, Decimal, Decimal)>;

fn crossed(book: &Book) -> Option<(Decimal, Decimal)> {
    let bid = book
        .values()
        .filter(|o| o.0 == Side::Buy)
        .map(|o| o.1)
        .max()?;
    let ask = book
        .values()
        .filter(|o| o.0 == Side::Sell)
        .map(|o| o.1)
        .min()?;
    (bid >= ask).then_some((bid, ask))
}

fn execute(book: &mut Book, working: &mut WorkingOrders, action: &Action) {
    let id = action.link_id().as_str().to_owned();
    let kind = match action {
        Action::Cancel { .. } => {
            book.remove(&id);
            RequestKind::Cancel
        }
        Action::Amend { price, qty, .. } => {
            let o = book.get_mut(&id).expect("amend of a live order");
            if let Some(p) = price {
                o.1 = *p;
            }
            if let Some(q) = qty {
                o.2 = *q;
            }
            RequestKind::Amend
        }
        Action::Create { quote, .. } => {
            book.insert(id.clone(), (quote.side, quote.price, quote.qty));
            RequestKind::Create
        }
    };
    let ack = AckOutcome::Accepted { order_id: None };
    working.apply_ack(&id, kind, &ack).unwrap();
}

proptest! {
    #[test]
    fn exchange_book_never_crosses(
        rounds in prop::collection::vec(
            (-6i64..7, 1i64..3, prop::collection::vec((any::<bool>(), 0i64..6, 1i64..4), 0..8), 0usize..6, any::<u64>()),
            1..25,
        ),
        tolerance in 0u32..2,
    ) {
        let inst = test_instrument(Category::Linear);
        let cfg = DiffConfig { tolerance_ticks: tolerance };
        let mut ids = LinkIdGen::new("q1", 0).unwrap();
        let mut working = WorkingOrders::new();
        let mut limiter = RateLimiter::new();
        let mut book = Book::new();
        let mut in_flight: Vec<Action> = Vec::new();
        let mut center = 1000i64;
        for (i, (step, half, levels, executed, shuffle)) in rounds.into_iter().enumerate() {
            center += step;
            let desired = ladder(center, half, &levels);
            let out = diff(&inst, &desired, &working, &cfg, &mut ids).unwrap();
            let now_ms = i as i64 * 1_000;
            let symbols = [SymbolActions { symbol: "BTCUSDT".into(), category: Category::Linear, actions: &out.actions }];
            let plan = plan_requests(&symbols, &mut limiter, now_ms, &BatchConfig::default());
            for sent in plan.sent {
                let action = &sent.of(&symbols).action;
                record_sent(&mut working, action, now_ms).unwrap();
                in_flight.push(action.clone());
            }
            // The exchange executes some in-flight requests, in a scrambled order.
            let n = executed.min(in_flight.len());
            let mut order: Vec<usize> = (0..in_flight.len()).collect();
            order.sort_by_key(|&k| (k as u64).wrapping_mul(shuffle | 1).rotate_left(17));
            let mut chosen: Vec<usize> = order.into_iter().take(n).collect();
            chosen.sort_unstable_by(|a, b| b.cmp(a));
            let mut batch: Vec<Action> = chosen.into_iter().map(|k| in_flight.remove(k)).collect();
            batch.sort_by_key(|a| shuffle.rotate_left(a.link_id().parts().seq as u32 % 64));
            for action in &batch {
                execute(&mut book, &mut working, action);
                prop_assert!(crossed(&book).is_none(), "crossed {:?} after {:?}", crossed(&book), action);
            }
            working.prune_all_terminal();
        }
    }
}
