//! Router hot path: diff a 10-level-per-side ladder against the working orders, then batch.
//!
//! Run: `cargo bench -p host --bench router`. Scenarios: the ladder unchanged (everything kept),
//! shifted by one tick (20 amends) and shifted by five ticks with one level fewer per side.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use host::model::{Category, Instrument, LinkIdGen, Quote, Side};
use host::router::batch::{BatchConfig, SymbolActions, plan_requests};
use host::router::diff::{DiffConfig, diff};
use host::router::ratelimit::RateLimiter;
use host::router::state::{AckOutcome, RequestKind, WorkingOrder, WorkingOrders};
use rust_decimal::Decimal;

const LEVELS: i64 = 10;

fn instrument() -> Instrument {
    Instrument {
        symbol: "BTCUSDT".into(),
        category: Category::Linear,
        tick_size: Decimal::new(1, 1),
        lot_size: Decimal::new(1, 3),
        min_qty: Decimal::new(1, 3),
        max_qty: Decimal::from(100),
        min_notional: Decimal::from(5),
    }
}

/// 10 bids below and 10 asks above `center_ticks`, one tick apart from a 1-tick half spread.
fn ladder(center_ticks: i64, levels: i64) -> Vec<Quote> {
    let tick = Decimal::new(1, 1);
    let mut out = Vec::new();
    for i in 0..levels {
        let qty = Decimal::new(10 + i, 3);
        out.push(Quote {
            side: Side::Buy,
            level: i as u8,
            price: Decimal::from(center_ticks - 1 - i) * tick,
            qty,
        });
        out.push(Quote {
            side: Side::Sell,
            level: i as u8,
            price: Decimal::from(center_ticks + 1 + i) * tick,
            qty,
        });
    }
    out
}

fn working(quotes: &[Quote], ids: &mut LinkIdGen) -> WorkingOrders {
    let mut w = WorkingOrders::new();
    for q in quotes {
        let id = ids.next("BTCUSDT", q.side, q.level).unwrap();
        let mut o = WorkingOrder::pending_new(id, q, 0);
        o.apply_ack(
            RequestKind::Create,
            &AckOutcome::Accepted {
                order_id: Some("x".into()),
            },
        );
        w.insert(o).unwrap();
    }
    w
}

fn bench(c: &mut Criterion) {
    let inst = instrument();
    let cfg = DiffConfig { tolerance_ticks: 0 };
    let mut ids = LinkIdGen::new("bench", 0).unwrap();
    let w = working(&ladder(1_000_000, LEVELS), &mut ids);
    let scenarios = [
        ("unchanged", ladder(1_000_000, LEVELS)),
        ("shift_1_tick", ladder(1_000_001, LEVELS)),
        ("shift_5_ticks_9_levels", ladder(1_000_005, LEVELS - 1)),
    ];
    let symbol: std::sync::Arc<str> = "BTCUSDT".into();
    let mut group = c.benchmark_group("router");
    for (name, desired) in &scenarios {
        let out = diff(&inst, desired, &w, &cfg, &mut ids).unwrap();
        println!("{name}: {} actions, {} kept", out.actions.len(), out.kept);
        group.bench_function(format!("diff/{name}"), |b| {
            b.iter(|| diff(&inst, black_box(desired), black_box(&w), &cfg, &mut ids).unwrap())
        });
        let mut limiter = RateLimiter::new();
        let mut now_ms = 0i64;
        group.bench_function(format!("diff_and_batch/{name}"), |b| {
            b.iter(|| {
                let out = diff(&inst, black_box(desired), black_box(&w), &cfg, &mut ids).unwrap();
                now_ms += 1_000; // a fresh budget window each iteration
                let symbols = [SymbolActions {
                    symbol: symbol.clone(),
                    category: Category::Linear,
                    actions: &out.actions,
                }];
                plan_requests(&symbols, &mut limiter, now_ms, &BatchConfig::default())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
