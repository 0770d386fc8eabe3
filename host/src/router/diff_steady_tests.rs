//! The steady path against the general path: same outcome on every steady input.

use super::super::diff_general;
use super::*;
use crate::model::Category;
use crate::model::instrument::test_instrument;
use crate::router::state::{AckOutcome, ExchangeStatus, OrderUpdate, RequestKind};
use proptest::prelude::*;
use rust_decimal_macros::dec;

const CENTER: i64 = 1000;

/// `ticks` of 0.1, written with `extra` more decimal places than the tick's.
fn price(ticks: i64, extra: u32) -> Decimal {
    let mut d = Decimal::new(ticks, 1);
    d.rescale(1 + extra);
    d
}

/// `n` lots of 0.001, written with `extra` more decimal places than the lot's.
fn qty(n: i64, extra: u32) -> Decimal {
    let mut d = Decimal::new(n, 3);
    d.rescale(3 + extra);
    d
}

/// An order: side, price ticks, lots, filled lots, extra decimal places.
type OrderSpec = (Side, i64, i64, i64, u32);

/// Acked orders, some partly or wholly filled.
fn book(orders: &[OrderSpec]) -> WorkingOrders {
    let mut reg = WorkingOrders::new();
    for (i, &(side, ticks, n, filled, extra)) in orders.iter().enumerate() {
        let id = OrderLinkId::new("old", "BTCUSDT", side, i as u8, i as u64).unwrap();
        let quote = Quote {
            side,
            level: i as u8,
            price: price(ticks, extra),
            qty: qty(n, extra),
        };
        let mut o = WorkingOrder::pending_new(id.clone(), &quote, 0);
        o.apply_ack(
            RequestKind::Create,
            &AckOutcome::Accepted {
                order_id: Some(format!("oid-{i}")),
            },
        );
        if filled > 0 {
            let status = if filled >= n {
                ExchangeStatus::Filled
            } else {
                ExchangeStatus::PartiallyFilled
            };
            o.apply_update(&OrderUpdate {
                order_id: format!("oid-{i}"),
                order_link_id: id.to_string(),
                status,
                price: quote.price,
                qty: quote.qty,
                cum_exec_qty: qty(filled.min(n), 0),
                updated_ms: 1,
            });
        }
        reg.insert(o).unwrap();
    }
    reg
}

fn order_spec() -> impl Strategy<Value = OrderSpec> {
    (
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        -12i64..12,
        1i64..4,
        prop_oneof![4 => Just(0i64), 1 => 1i64..4],
        prop_oneof![4 => Just(0u32), 1 => 1u32..3],
    )
        .prop_map(|(side, off, n, filled, extra)| (side, CENTER + off, n, filled, extra))
}

/// Desired quotes near the center on both sides (crossed ones included).
fn quote_spec() -> impl Strategy<Value = Quote> {
    (
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        0u8..5,
        -12i64..12,
        1i64..4,
        prop_oneof![4 => Just(0u32), 1 => 1u32..3],
    )
        .prop_map(|(side, level, off, n, extra)| Quote {
            side,
            level,
            price: price(CENTER + off, extra),
            qty: qty(n, extra),
        })
}

fn run(
    f: impl FnOnce(&mut LinkIdGen) -> Result<DiffOutcome, RouterError>,
) -> (Result<DiffOutcome, RouterError>, OrderLinkId) {
    let mut ids = LinkIdGen::new("q1", 500).unwrap();
    let out = f(&mut ids);
    let next = ids.next("BTCUSDT", Side::Buy, 0).unwrap();
    (out, next)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn steady_path_equals_the_general_path(
        orders in prop::collection::vec(order_spec(), 0..12),
        desired in prop::collection::vec(quote_spec(), 0..10),
        split in 0usize..10,
        tolerance_ticks in 0u32..3,
    ) {
        let inst = test_instrument(Category::Linear);
        let working = book(&orders);
        let cfg = DiffConfig { tolerance_ticks };
        let split = split.min(desired.len());
        let parts = [&desired[..split], &desired[split..]];
        let fast = run(|ids| diff_steady(&inst, parts, &working, &cfg, ids).expect("a steady input"));
        let general = run(|ids| diff_general(&inst, parts, &working, &cfg, ids));
        prop_assert_eq!(fast, general);
    }
}

#[test]
fn orders_waiting_for_an_ack_take_the_general_path() {
    let inst = test_instrument(Category::Linear);
    let mut working = book(&[(Side::Buy, 990, 1, 0, 0)]);
    let quote = Quote {
        side: Side::Buy,
        level: 0,
        price: dec!(99.1),
        qty: dec!(0.001),
    };
    let mut ids = LinkIdGen::new("q1", 0).unwrap();
    working
        .insert(WorkingOrder::pending_new(
            ids.next("BTCUSDT", Side::Buy, 1).unwrap(),
            &quote,
            0,
        ))
        .unwrap();
    let cfg = DiffConfig { tolerance_ticks: 0 };
    assert!(diff_steady(&inst, [&[quote], &[]], &working, &cfg, &mut ids).is_none());
    // Without it, the same input is steady.
    let steady = book(&[(Side::Buy, 990, 1, 0, 0)]);
    assert!(diff_steady(&inst, [&[quote], &[]], &steady, &cfg, &mut ids).is_some());
}

#[test]
fn values_beyond_the_integer_range_take_the_general_path() {
    let inst = test_instrument(Category::Linear);
    let working = WorkingOrders::new();
    let huge = Quote {
        side: Side::Sell,
        level: 0,
        price: Decimal::from(i64::MAX),
        qty: dec!(0.001),
    };
    let cfg = DiffConfig { tolerance_ticks: 1 };
    let mut ids = LinkIdGen::new("q1", 0).unwrap();
    assert!(diff_steady(&inst, [&[huge], &[]], &working, &cfg, &mut ids).is_none());
}
