//! Batch planner tests.

use super::*;
use crate::model::{Quote, Side};
use crate::router::ratelimit::{Endpoint as E, LimitKey};
use crate::router::state::OrderState;
use rust_decimal_macros::dec;

fn id(symbol: &str, seq: u64) -> OrderLinkId {
    OrderLinkId::new("q1", symbol, Side::Buy, 0, seq).unwrap()
}

fn create(symbol: &str, seq: u64, stage: u8) -> StagedAction {
    StagedAction {
        stage,
        action: Action::Create {
            link_id: id(symbol, seq),
            quote: Quote {
                side: Side::Buy,
                level: 0,
                price: dec!(100),
                qty: dec!(1),
            },
        },
    }
}

fn cancel(symbol: &str, seq: u64) -> StagedAction {
    StagedAction {
        stage: 0,
        action: Action::Cancel {
            link_id: id(symbol, seq),
            order_id: None,
            side: Side::Buy,
            price: dec!(99),
        },
    }
}

fn amend(symbol: &str, seq: u64, stage: u8) -> StagedAction {
    StagedAction {
        stage,
        action: Action::Amend {
            link_id: id(symbol, seq),
            order_id: Some("x".into()),
            side: Side::Buy,
            from_price: dec!(99),
            price: Some(dec!(98)),
            qty: None,
            from_leaves: dec!(1),
        },
    }
}

/// (endpoint, orders) of each request.
fn shape(plan: &Plan) -> Vec<(E, usize)> {
    plan.requests
        .iter()
        .map(|r| (r.endpoint(), r.len()))
        .collect()
}

#[test]
fn plans_table() {
    type Case = (
        &'static str,
        Vec<(Category, Vec<StagedAction>)>,
        Vec<(E, usize)>,
        usize,
        usize,
    );
    let many =
        |n: u64, cat_symbol: &str| (0..n).map(|i| create(cat_symbol, i, 0)).collect::<Vec<_>>();
    let cases: Vec<Case> = vec![
        (
            "lone create uses the single endpoint",
            vec![(Category::Linear, vec![create("A", 1, 0)])],
            vec![(E::Create, 1)],
            0,
            0,
        ),
        (
            "cancels before amends before creates",
            vec![(
                Category::Linear,
                vec![
                    create("A", 1, 0),
                    amend("A", 2, 0),
                    cancel("A", 3),
                    cancel("A", 4),
                ],
            )],
            vec![(E::CancelBatch, 2), (E::Amend, 1), (E::Create, 1)],
            0,
            0,
        ),
        (
            "later stage waits",
            vec![
                (
                    Category::Linear,
                    vec![cancel("A", 1), amend("A", 2, 3), create("A", 3, 4)],
                ),
                (Category::Linear, vec![amend("B", 4, 1)]),
            ],
            vec![(E::Cancel, 1), (E::Amend, 1)],
            2,
            0,
        ),
        (
            "linear: batch budget 10, then singles",
            vec![(Category::Linear, many(25, "A"))],
            vec![(E::CreateBatch, 10)]
                .into_iter()
                .chain(std::iter::repeat_n((E::Create, 1), 10))
                .collect(),
            0,
            5,
        ),
        (
            "spot: batches of 10 within 20/s",
            vec![(Category::Spot, many(25, "S"))],
            vec![(E::CreateBatch, 10), (E::CreateBatch, 10)]
                .into_iter()
                .chain(std::iter::repeat_n((E::Create, 1), 5))
                .collect(),
            0,
            0,
        ),
        (
            "categories batch separately",
            vec![
                (Category::Linear, many(3, "A")),
                (Category::Spot, many(2, "S")),
            ],
            vec![(E::CreateBatch, 3), (E::CreateBatch, 2)],
            0,
            0,
        ),
    ];
    for (name, syms, want, later, limited) in cases {
        let names: Vec<String> = syms
            .iter()
            .enumerate()
            .map(|(i, _)| format!("SYM{i}"))
            .collect();
        let sa: Vec<SymbolActions<'_>> = syms
            .iter()
            .zip(&names)
            .map(|((c, a), n)| SymbolActions {
                symbol: n.as_str().into(),
                category: *c,
                actions: a,
            })
            .collect();
        let mut rl = RateLimiter::new();
        let plan = plan_requests(&sa, &mut rl, 0, &BatchConfig::default());
        assert_eq!(shape(&plan), want, "{name}");
        let count = |r| plan.deferred.iter().filter(|d| d.reason == r).count();
        assert_eq!(
            (
                count(DeferReason::LaterStage),
                count(DeferReason::RateLimited)
            ),
            (later, limited),
            "{name}"
        );
        let orders: usize = plan.requests.iter().map(OrderRequest::len).sum();
        assert_eq!(plan.sent.len(), orders, "{name}");
    }
}

#[test]
fn respects_a_blocked_budget_and_recovers_next_window() {
    let mut rl = RateLimiter::new();
    rl.on_rate_limited(LimitKey::new(E::Cancel, Category::Linear), 0, Some(400));
    rl.on_rate_limited(
        LimitKey::new(E::CancelBatch, Category::Linear),
        0,
        Some(400),
    );
    let actions = vec![cancel("A", 1), cancel("A", 2)];
    let sa = [SymbolActions {
        symbol: "A".into(),
        category: Category::Linear,
        actions: &actions,
    }];
    let plan = plan_requests(&sa, &mut rl, 100, &BatchConfig::default());
    assert!(plan.requests.is_empty());
    assert_eq!(plan.deferred.len(), 2);
    let plan = plan_requests(&sa, &mut rl, 400, &BatchConfig::default());
    assert_eq!(shape(&plan), vec![(E::CancelBatch, 2)]);
}

#[test]
fn requests_carry_exact_fields() {
    let actions = vec![create("A", 7, 0)];
    let sa = [SymbolActions {
        symbol: "BTCUSDT".into(),
        category: Category::Spot,
        actions: &actions,
    }];
    let plan = plan_requests(&sa, &mut RateLimiter::new(), 0, &BatchConfig::default());
    assert_eq!(
        plan.requests[..],
        [OrderRequest::Create(
            Category::Spot,
            CreateOrder {
                symbol: "BTCUSDT".into(),
                side: Side::Buy,
                price: dec!(100),
                qty: dec!(1),
                link_id: id("A", 7),
                time_in_force: TimeInForce::PostOnly,
            }
        )]
    );
}

#[test]
fn record_sent_moves_orders_to_pending() {
    let mut w = WorkingOrders::new();
    let c = create("A", 1, 0).action;
    record_sent(&mut w, &c, 1).unwrap();
    assert_eq!(
        w.get(c.link_id().as_str()).unwrap().state(),
        OrderState::PendingNew
    );
    assert!(record_sent(&mut w, &c, 1).is_err(), "no duplicate create");
    w.apply_ack(
        c.link_id().as_str(),
        crate::router::state::RequestKind::Create,
        &crate::router::state::AckOutcome::Accepted { order_id: None },
    )
    .unwrap();
    let a = StagedAction {
        stage: 0,
        action: Action::Amend {
            link_id: id("A", 1),
            order_id: None,
            side: Side::Buy,
            from_price: dec!(100),
            price: Some(dec!(98)),
            qty: None,
            from_leaves: dec!(1),
        },
    };
    record_sent(&mut w, &a.action, 2).unwrap();
    let o = w.get(c.link_id().as_str()).unwrap();
    assert_eq!(
        (o.state(), o.amend_target()),
        (OrderState::PendingAmend, Some((dec!(98), dec!(1))))
    );
    assert!(
        record_sent(&mut w, &cancel("A", 1).action, 3).is_err(),
        "pending amend: not touched again"
    );
    assert!(
        record_sent(&mut w, &cancel("A", 9).action, 3).is_err(),
        "unknown order"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn action(seq: u64) -> impl Strategy<Value = StagedAction> {
        (0u8..3, 0u8..5).prop_map(move |(kind, stage)| match kind {
            0 => StagedAction {
                stage: 0,
                ..cancel("X", seq)
            },
            1 => amend("X", seq, stage),
            _ => create("X", seq, stage),
        })
    }

    fn symbol() -> impl Strategy<Value = (bool, Vec<StagedAction>)> {
        (
            any::<bool>(),
            prop::collection::hash_set(0u64..1_000_000, 0..30),
        )
            .prop_flat_map(|(spot, seqs)| {
                let actions: Vec<_> = seqs.into_iter().map(action).collect();
                (Just(spot), actions)
            })
    }

    proptest! {
        #[test]
        fn plan_accounts_for_everything_within_budget(
            syms in prop::collection::vec(symbol(), 1..6),
            pre_used in 0u32..20,
        ) {
            let names: Vec<String> = (0..syms.len()).map(|i| format!("S{i}")).collect();
            let sa: Vec<SymbolActions<'_>> = syms
                .iter()
                .zip(&names)
                .map(|((spot, a), n)| SymbolActions {
                    symbol: n.as_str().into(),
                    category: if *spot { Category::Spot } else { Category::Linear },
                    actions: a,
                })
                .collect();
            let mut rl = RateLimiter::new();
            rl.acquire_up_to(LimitKey::new(E::CreateBatch, Category::Linear), pre_used, 0);
            let plan = plan_requests(&sa, &mut rl, 0, &BatchConfig::default());
            let total: usize = syms.iter().map(|(_, a)| a.len()).sum();
            prop_assert_eq!(plan.sent.len() + plan.deferred.len(), total);
            let mut charged: HashMap<(E, Category), u32> = HashMap::new();
            for r in &plan.requests {
                let cat = match r {
                    OrderRequest::Create(c, _) | OrderRequest::Amend(c, _) | OrderRequest::Cancel(c, _)
                    | OrderRequest::CreateBatch(c, _) | OrderRequest::AmendBatch(c, _)
                    | OrderRequest::CancelBatch(c, _) => *c,
                };
                prop_assert!(!r.is_empty() && r.len() <= cat.max_batch());
                *charged.entry((r.endpoint(), cat)).or_default() += r.len() as u32;
            }
            charged.entry((E::CreateBatch, Category::Linear)).and_modify(|u| *u += pre_used);
            for ((e, c), units) in charged {
                let limit = crate::router::ratelimit::default_limit(LimitKey::new(e, c));
                prop_assert!(units <= limit, "{:?} {:?}: {} > {}", e, c, units, limit);
            }
            // Only each symbol's lowest stage is sent, cancels first.
            for sent in &plan.sent {
                let min = syms[sent.symbol].1.iter().map(|a| a.stage).min().unwrap();
                prop_assert_eq!(sent.of(&sa).stage, min);
            }
            // Every action is sent at most once.
            let mut seen: Vec<_> = plan.sent.iter().map(|s| (s.symbol, s.action)).collect();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), plan.sent.len());
            let kinds: Vec<u8> = plan.requests.iter().map(|r| match r.endpoint() {
                E::Cancel | E::CancelBatch => 0,
                E::Amend | E::AmendBatch => 1,
                _ => 2,
            }).collect();
            prop_assert!(kinds.windows(2).all(|w| w[0] <= w[1]), "cancels, then amends, then creates");
        }
    }
}
