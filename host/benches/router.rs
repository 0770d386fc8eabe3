//! Router hot path: diff a 10-level-per-side ladder against the working orders, then batch.
//!
//! Run: `cargo bench -p host --bench router`. Scenarios: the ladder unchanged (everything kept),
//! shifted by one tick (20 amends) and shifted by five ticks with one level fewer per side.
//! Then `plan_3_levels`: the parts of `plan_symbol` on a 3-level ladder with its best bid and ask
//! moved by two ticks (the tick-to-order case), and `plan_symbol_into` as the runtime calls it.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use host::model::{
    Category, DesiredQuotes, Instrument, LinkIdGen, Quote, QuoteGrid, Side, quotes_on_grid,
};
use host::router::batch::{BatchConfig, SymbolActions, plan_requests};
use host::router::diff::{DiffConfig, diff};
use host::router::limit_check::LimitMemo;
use host::router::limits::{HardLimits, apply_hard_limits};
use host::router::ratelimit::RateLimiter;
use host::router::state::{AckOutcome, RequestKind, WorkingOrder, WorkingOrders};
use host::router::symbol::{SymbolConfig, plan_symbol, plan_symbol_into};
use host::runtime::plan_key::PlanKey;
use plugin_api::Ladder;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

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

/// The tick-to-order case: a 3-level ladder per side from a strategy, one level moved by a
/// tick, through each part of `plan_symbol` (convert, clamp, diff) and the whole.
fn small_plan(c: &mut Criterion) {
    let inst = instrument();
    let grid = QuoteGrid::new(&inst);
    let cfg = SymbolConfig {
        limits: HardLimits {
            max_long: Decimal::new(5, 1),
            max_short: Decimal::new(5, 1),
            max_notional: Decimal::from(50_000),
            max_open_orders: 10,
            max_order_qty: Decimal::new(1, 1),
        },
        diff: DiffConfig { tolerance_ticks: 1 },
    };
    let mut ids = LinkIdGen::new("bench", 0).unwrap();
    let resting = ladder(300_000, 3);
    let w = working(&resting, &mut ids);
    let mut strategy = Ladder::default();
    for q in &resting {
        let p = q.price.to_f64().unwrap() + if q.level == 0 { 0.2 } else { 0.0 };
        let size = q.qty.to_f64().unwrap();
        let pushed = match q.side {
            Side::Buy => strategy.push_bid(p - 1e-9, size),
            Side::Sell => strategy.push_ask(p + 1e-9, size),
        };
        assert!(pushed, "ladder full");
    }
    let position = Decimal::ZERO;
    let mut group = c.benchmark_group("plan_3_levels");
    group.bench_function("convert", |b| {
        b.iter(|| quotes_on_grid(&inst, grid.as_ref(), black_box(&strategy)).unwrap())
    });
    let desired = quotes_on_grid(&inst, grid.as_ref(), &strategy).unwrap();
    group.bench_function("clamp", |b| {
        b.iter(|| {
            let mut d = desired.clone();
            apply_hard_limits(&inst, &cfg.limits, position, &mut d)
        })
    });
    let quotes = desired.to_vec();
    let out = diff(&inst, &quotes, &w, &cfg.diff, &mut ids).unwrap();
    println!(
        "plan_3_levels: {} actions, {} kept",
        out.actions.len(),
        out.kept
    );
    group.bench_function("diff", |b| {
        b.iter(|| {
            diff(
                &inst,
                black_box(&quotes),
                black_box(&w),
                &cfg.diff,
                &mut ids,
            )
            .unwrap()
        })
    });
    group.bench_function("plan_symbol", |b| {
        b.iter(|| {
            plan_symbol(
                &inst,
                grid.as_ref(),
                &cfg,
                position,
                black_box(&strategy),
                &w,
                &mut ids,
            )
            .unwrap()
        })
    });
    // The runtime's check before a plan: the ladder's key against the last one.
    let mut last = None;
    group.bench_function("plan_key/new_and_compare", |b| {
        b.iter(|| {
            let key = PlanKey::new(black_box(&strategy), 0.1, 0.001, position, None);
            let same = last == Some(key);
            last = Some(key);
            same
        })
    });
    let mut slot = None;
    group.bench_function("plan_key/refresh", |b| {
        b.iter(|| PlanKey::refresh(&mut slot, black_box(&strategy), 0.1, 0.001, position, None))
    });
    // As the runtime calls it: the desired quotes' buffer reused from plan to plan.
    let mut buffer = DesiredQuotes::default();
    let mut memo = LimitMemo::default();
    group.bench_function("plan_symbol_into", |b| {
        b.iter(|| {
            plan_symbol_into(
                &inst,
                grid.as_ref(),
                &cfg,
                position,
                black_box(&strategy),
                &w,
                &mut ids,
                &mut buffer,
                &mut memo,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench, small_plan);
criterion_main!(benches);
