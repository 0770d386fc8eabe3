//! Table-driven orderings of acks and pushes for the order state machine.

use super::*;
use crate::model::{OrderLinkId, Quote, Side};
use rust_decimal_macros::dec;

#[derive(Debug, Clone)]
enum Ev {
    Ack(RequestKind, AckOutcome),
    Push(ExchangeStatus, Decimal, Decimal, Decimal, i64),
    SendAmend(Decimal, Decimal),
    SendCancel,
    Expire,
    Reconcile(Option<(ExchangeStatus, Decimal, Decimal, Decimal, i64)>),
}

use AckOutcome as A;
use ExchangeStatus as X;
use RequestKind as K;

fn ok() -> AckOutcome {
    A::Accepted {
        order_id: Some("oid-1".into()),
    }
}

fn update(s: X, price: Decimal, qty: Decimal, cum: Decimal, t: i64) -> OrderUpdate {
    OrderUpdate {
        order_id: "oid-1".into(),
        order_link_id: "q1-BTCUSDT-b0-1".into(),
        status: s,
        price,
        qty,
        cum_exec_qty: cum,
        updated_ms: t,
    }
}

fn fresh() -> WorkingOrder {
    let quote = Quote {
        side: Side::Buy,
        level: 0,
        price: dec!(100),
        qty: dec!(1),
    };
    WorkingOrder::pending_new(OrderLinkId::parse("q1-BTCUSDT-b0-1").unwrap(), &quote, 0)
}

fn run(events: &[Ev]) -> WorkingOrder {
    let mut o = fresh();
    for ev in events {
        match ev.clone() {
            Ev::Ack(k, a) => o.apply_ack(k, &a),
            Ev::Push(s, p, q, c, t) => {
                o.apply_update(&update(s, p, q, c, t));
            }
            Ev::SendAmend(p, q) => o.mark_amend_sent(p, q, 10).unwrap(),
            Ev::SendCancel => o.mark_cancel_sent(10).unwrap(),
            Ev::Expire => {
                o.expire_pending(1_000_000, 5_000);
            }
            Ev::Reconcile(found) => {
                let u = found.map(|(s, p, q, c, t)| update(s, p, q, c, t));
                o.reconcile(u.as_ref());
            }
        }
    }
    o
}

#[test]
fn orderings_table() {
    let p = dec!(100);
    let q = dec!(1);
    type Case = (&'static str, Vec<Ev>, OrderState, Decimal, Decimal, Decimal);
    let cases: Vec<Case> = vec![
        ("sent only", vec![], OrderState::PendingNew, p, q, dec!(0)),
        (
            "ack then push",
            vec![Ev::Ack(K::Create, ok()), Ev::Push(X::New, p, q, dec!(0), 1)],
            OrderState::New,
            p,
            q,
            dec!(0),
        ),
        (
            "push then ack",
            vec![Ev::Push(X::New, p, q, dec!(0), 1), Ev::Ack(K::Create, ok())],
            OrderState::New,
            p,
            q,
            dec!(0),
        ),
        (
            "filled before create ack",
            vec![Ev::Push(X::Filled, p, q, q, 2), Ev::Ack(K::Create, ok())],
            OrderState::Filled,
            p,
            q,
            q,
        ),
        (
            "create rejected",
            vec![Ev::Ack(K::Create, A::Rejected { order_gone: false })],
            OrderState::Rejected,
            p,
            q,
            dec!(0),
        ),
        (
            "partial fill",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::Push(X::PartiallyFilled, p, q, dec!(0.4), 2),
            ],
            OrderState::PartiallyFilled,
            p,
            q,
            dec!(0.4),
        ),
        (
            "fill pushes out of order",
            vec![
                Ev::Push(X::PartiallyFilled, p, q, dec!(0.7), 3),
                Ev::Push(X::PartiallyFilled, p, q, dec!(0.4), 2),
                Ev::Push(X::New, p, q, dec!(0), 1),
            ],
            OrderState::PartiallyFilled,
            p,
            q,
            dec!(0.7),
        ),
        (
            "cancel ack then push",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendCancel,
                Ev::Ack(K::Cancel, ok()),
                Ev::Push(X::Cancelled, p, q, dec!(0), 5),
            ],
            OrderState::Cancelled,
            p,
            q,
            dec!(0),
        ),
        (
            "pending cancel",
            vec![Ev::Ack(K::Create, ok()), Ev::SendCancel],
            OrderState::PendingCancel,
            p,
            q,
            dec!(0),
        ),
        (
            "cancel ack after fill push",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendCancel,
                Ev::Push(X::Filled, p, q, q, 4),
                Ev::Ack(K::Cancel, A::Rejected { order_gone: true }),
            ],
            OrderState::Filled,
            p,
            q,
            q,
        ),
        (
            "late New push after cancel ack",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendCancel,
                Ev::Ack(K::Cancel, ok()),
                Ev::Push(X::New, p, q, dec!(0), 1),
            ],
            OrderState::Cancelled,
            p,
            q,
            dec!(0),
        ),
        (
            "fill reported after inferred cancel",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendCancel,
                Ev::Ack(K::Cancel, ok()),
                Ev::Push(X::Filled, p, q, q, 4),
            ],
            OrderState::Filled,
            p,
            q,
            q,
        ),
        (
            "reported terminal is final",
            vec![
                Ev::Push(X::Cancelled, p, q, dec!(0.2), 4),
                Ev::Push(X::Filled, p, q, q, 5),
            ],
            OrderState::Cancelled,
            p,
            q,
            q,
        ),
        (
            "spot PartiallyFilledCanceled",
            vec![Ev::Push(X::PartiallyFilledCanceled, p, q, dec!(0.5), 4)],
            OrderState::Cancelled,
            p,
            q,
            dec!(0.5),
        ),
        (
            "deactivated",
            vec![
                Ev::Push(X::Untriggered, p, q, dec!(0), 1),
                Ev::Push(X::Deactivated, p, q, dec!(0), 2),
            ],
            OrderState::Cancelled,
            p,
            q,
            dec!(0),
        ),
        (
            "amend pending",
            vec![Ev::Ack(K::Create, ok()), Ev::SendAmend(dec!(101), q)],
            OrderState::PendingAmend,
            p,
            q,
            dec!(0),
        ),
        (
            "amend ack applies target",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, ok()),
            ],
            OrderState::New,
            dec!(101),
            q,
            dec!(0),
        ),
        (
            "amend push before ack",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Push(X::New, dec!(101), q, dec!(0), 3),
                Ev::Ack(K::Amend, ok()),
            ],
            OrderState::New,
            dec!(101),
            q,
            dec!(0),
        ),
        (
            "old push after amend ack",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, ok()),
                Ev::Push(X::PartiallyFilled, p, q, dec!(0.3), 2),
            ],
            OrderState::PartiallyFilled,
            dec!(101),
            q,
            dec!(0.3),
        ),
        (
            "amend ack after newer push",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), dec!(2)),
                Ev::Push(X::PartiallyFilled, dec!(101), dec!(2), dec!(0.5), 3),
                Ev::Ack(K::Amend, ok()),
            ],
            OrderState::PartiallyFilled,
            dec!(101),
            dec!(2),
            dec!(0.5),
        ),
        (
            "amend ack after fill",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Push(X::Filled, p, q, q, 3),
                Ev::Ack(K::Amend, ok()),
            ],
            OrderState::Filled,
            p,
            q,
            q,
        ),
        (
            "amend rejected keeps price",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, A::Rejected { order_gone: false }),
            ],
            OrderState::New,
            p,
            q,
            dec!(0),
        ),
        (
            "amend on gone order",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, A::Rejected { order_gone: true }),
            ],
            OrderState::Unknown,
            p,
            q,
            dec!(0),
        ),
        (
            "gone then terminal push",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, A::Rejected { order_gone: true }),
                Ev::Push(X::Cancelled, p, q, dec!(0), 9),
            ],
            OrderState::Cancelled,
            p,
            q,
            dec!(0),
        ),
        (
            "create timeout",
            vec![Ev::Ack(K::Create, A::Unknown)],
            OrderState::Unknown,
            p,
            q,
            dec!(0),
        ),
        (
            "create expired",
            vec![Ev::Expire],
            OrderState::Unknown,
            p,
            q,
            dec!(0),
        ),
        (
            "unknown create seen on stream",
            vec![
                Ev::Ack(K::Create, A::Unknown),
                Ev::Push(X::New, p, q, dec!(0), 1),
            ],
            OrderState::New,
            p,
            q,
            dec!(0),
        ),
        (
            "unknown create not found",
            vec![Ev::Ack(K::Create, A::Unknown), Ev::Reconcile(None)],
            OrderState::Rejected,
            p,
            q,
            dec!(0),
        ),
        (
            "unknown amend reconciled",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendAmend(dec!(101), q),
                Ev::Ack(K::Amend, A::Unknown),
                Ev::Reconcile(Some((X::New, dec!(101), q, dec!(0), 4))),
            ],
            OrderState::New,
            dec!(101),
            q,
            dec!(0),
        ),
        (
            "unknown cancel, order gone",
            vec![
                Ev::Ack(K::Create, ok()),
                Ev::SendCancel,
                Ev::Expire,
                Ev::Reconcile(None),
            ],
            OrderState::Cancelled,
            p,
            q,
            dec!(0),
        ),
    ];
    for (name, events, state, price, qty, cum) in cases {
        let o = run(&events);
        assert_eq!(o.state(), state, "{name}: state");
        assert_eq!(
            (o.price, o.qty, o.cum_exec_qty),
            (price, qty, cum),
            "{name}: price/qty/cum"
        );
    }
}

#[test]
fn status_strings() {
    let cases = [
        ("New", Some(X::New)),
        ("PartiallyFilled", Some(X::PartiallyFilled)),
        ("Filled", Some(X::Filled)),
        ("Cancelled", Some(X::Cancelled)),
        ("Rejected", Some(X::Rejected)),
        ("PartiallyFilledCanceled", Some(X::PartiallyFilledCanceled)),
        ("Deactivated", Some(X::Deactivated)),
        ("Untriggered", Some(X::Untriggered)),
        ("Triggered", Some(X::Triggered)),
        ("Created", Some(X::New)),
        ("cancelled", None),
        ("", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_order_status(s).ok(), want, "{s:?}");
    }
}

#[test]
fn sending_requires_an_idle_open_order() {
    let mut o = fresh();
    assert!(o.mark_cancel_sent(1).is_err(), "pending new");
    o.apply_ack(K::Create, &ok());
    o.mark_amend_sent(dec!(101), dec!(1), 2).unwrap();
    assert!(o.mark_cancel_sent(3).is_err(), "pending amend");
}

#[test]
fn registry_routes_by_link_and_order_id() {
    let mut reg = WorkingOrders::new();
    reg.insert(fresh()).unwrap();
    assert!(matches!(
        reg.insert(fresh()),
        Err(RouterError::DuplicateOrder(_))
    ));
    reg.apply_ack("q1-BTCUSDT-b0-1", K::Create, &ok()).unwrap();
    assert_eq!(
        reg.get_by_order_id("oid-1").unwrap().state(),
        OrderState::New
    );
    // A push carrying only the orderId (e.g. a maker fill without orderLinkId).
    let mut u = update(X::PartiallyFilled, dec!(100), dec!(1), dec!(0.1), 5);
    u.order_link_id.clear();
    assert_eq!(reg.apply_update(&u), UpdateOutcome::Applied);
    assert_eq!(
        reg.apply_update(&u.clone()),
        UpdateOutcome::Applied,
        "same push twice is idempotent"
    );
    u.updated_ms = 4;
    u.cum_exec_qty = dec!(0);
    assert_eq!(reg.apply_update(&u), UpdateOutcome::Stale);
    u.order_id = "other".into();
    assert_eq!(reg.apply_update(&u), UpdateOutcome::Unknown);
    assert!(reg.apply_ack("nope", K::Cancel, &ok()).is_err());
    assert_eq!(reg.open().count(), 1);
    let mut second = fresh();
    second.link_id = OrderLinkId::parse("q1-BTCUSDT-b1-2").unwrap();
    reg.insert(second).unwrap();
    reg.apply_ack(
        "q1-BTCUSDT-b1-2",
        K::Create,
        &A::Rejected { order_gone: false },
    )
    .unwrap();
    reg.apply_update(&update(X::Filled, dec!(100), dec!(1), dec!(1), 9));
    assert_eq!(reg.open().count(), 0);
    assert_eq!(
        reg.prune_terminal().len(),
        1,
        "only the reported terminal one"
    );
    assert_eq!(reg.prune_all_terminal().len(), 1);
    assert!(reg.is_empty() && reg.get_by_order_id("oid-1").is_none());
}

#[test]
fn expiry_flags_for_reconciliation() {
    let mut reg = WorkingOrders::new();
    reg.insert(fresh()).unwrap();
    assert!(reg.expire_pending(4_999, 5_000).is_empty());
    assert_eq!(reg.expire_pending(5_000, 5_000).len(), 1);
    assert!(reg.expire_pending(9_000, 5_000).is_empty(), "only once");
    assert_eq!(reg.needing_reconcile().count(), 1);
}
