//! Order-book hot path: parse + apply of real-shaped `orderbook.50` deltas on one core.
//!
//! Run: `cargo bench -p host --bench book`. Prints a direct figure (messages/s over the whole
//! stream, heap allocations per message) and then criterion's measurements.
#![allow(unsafe_code)] // the counting global allocator below
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use host::book::{BookUpdate, OrderBook};
use host::exchange::bybit::parse::{parse_orderbook, peek_topic};
use rust_decimal::Decimal;

#[path = "support/stream_gen.rs"]
mod stream_gen;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const DELTAS: usize = 10_000;

fn new_book() -> OrderBook {
    OrderBook::new("BTCUSDT", Decimal::new(1, 1), Decimal::new(1, 3)).expect("instrument")
}

/// Parse and apply the snapshot and every delta once.
fn run(stream: &stream_gen::Stream, book: &mut OrderBook, update: &mut BookUpdate) {
    parse_orderbook(stream.snapshot.as_bytes(), update).expect("parse");
    book.apply(update, 0).expect("apply");
    for msg in &stream.deltas {
        parse_orderbook(msg.as_bytes(), update).expect("parse");
        book.apply(black_box(update), 0).expect("apply");
    }
}

/// CPU time this thread has run, ns (Linux `schedstat`), so the figure holds on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn direct_report(stream: &stream_gen::Stream) {
    let mut book = new_book();
    let mut update = BookUpdate::with_capacity(64);
    run(stream, &mut book, &mut update); // warm up
    // `BOOK_ROUNDS=1` keeps a run under callgrind short.
    let rounds = std::env::var("BOOK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(300);
    let mut round_ns = Vec::with_capacity(rounds);
    let cpu_start = thread_cpu_ns();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        run(stream, &mut book, &mut update);
        round_ns.push(t.elapsed().as_nanos() as f64);
    }
    let elapsed = start.elapsed();
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let cpu_ns = thread_cpu_ns()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    let per_round = (DELTAS + 1) as f64;
    let messages = rounds as f64 * per_round;
    round_ns.sort_by(f64::total_cmp);
    let best = round_ns[0] / per_round;
    let median = round_ns[rounds / 2] / per_round;
    let bytes: usize = stream.deltas.iter().map(String::len).sum::<usize>() / DELTAS;
    println!(
        "orderbook.50 parse+apply ({} rounds of {} messages, avg delta {} bytes):",
        rounds,
        DELTAS + 1,
        bytes
    );
    println!(
        "  best round {:.2} M msg/s ({:.0} ns/msg), median round {:.2} M msg/s ({:.0} ns/msg), overall wall {:.2} M msg/s",
        1e3 / best,
        best,
        1e3 / median,
        median,
        messages / elapsed.as_secs_f64() / 1e6,
    );
    if let Some(cpu_ns) = cpu_ns {
        println!(
            "  per CPU-second of this thread {:.2} M msg/s (wall/CPU {:.2}: >1 means the core was shared)",
            messages / (cpu_ns as f64 / 1e9) / 1e6,
            elapsed.as_nanos() as f64 / cpu_ns as f64,
        );
    }
    println!(
        "  heap allocations per message: {}",
        allocs as f64 / messages
    );
}

fn bench_book(c: &mut Criterion) {
    let stream = stream_gen::generate(0x5eed, DELTAS);
    direct_report(&stream);
    let mut group = c.benchmark_group("orderbook50");
    group.throughput(Throughput::Elements(DELTAS as u64 + 1));
    group.bench_function("parse_apply", |b| {
        let mut book = new_book();
        let mut update = BookUpdate::with_capacity(64);
        b.iter(|| run(&stream, &mut book, &mut update));
    });
    group.bench_function("peek_parse_apply", |b| {
        // As the host does it: the topic first (PublicStreamTask), then parse, then apply.
        let mut book = new_book();
        let mut update = BookUpdate::with_capacity(64);
        b.iter(|| {
            parse_orderbook(stream.snapshot.as_bytes(), &mut update).expect("parse");
            book.apply(&update, 0).expect("apply");
            for msg in &stream.deltas {
                let topic = peek_topic(black_box(msg.as_bytes())).expect("topic");
                assert!(topic.is_some_and(|t| t.starts_with("orderbook.")));
                parse_orderbook(msg.as_bytes(), &mut update).expect("parse");
                book.apply(black_box(&update), 0).expect("apply");
            }
        });
    });
    group.bench_function("parse_only", |b| {
        let mut update = BookUpdate::with_capacity(64);
        b.iter(|| {
            for msg in &stream.deltas {
                parse_orderbook(black_box(msg.as_bytes()), &mut update).expect("parse");
            }
        });
    });
    group.bench_function("serde_typed_baseline", |b| {
        // What a straightforward serde implementation does: typed, borrowed strings, one Vec
        // per side per message (for calibrating this machine against published figures).
        b.iter(|| {
            for msg in &stream.deltas {
                let m: baseline::Msg<'_> =
                    serde_json::from_slice(black_box(msg.as_bytes())).expect("json");
                black_box(m);
            }
        });
    });
    group.bench_function("serde_json_value_baseline", |b| {
        b.iter(|| {
            for msg in &stream.deltas {
                let v: serde_json::Value =
                    serde_json::from_slice(black_box(msg.as_bytes())).expect("json");
                black_box(v);
            }
        });
    });
    group.finish();
}

#[allow(dead_code)] // fields exist to be deserialized
mod baseline {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Msg<'a> {
        #[serde(borrow)]
        pub topic: &'a str,
        #[serde(rename = "type")]
        pub kind: &'a str,
        pub ts: i64,
        #[serde(borrow)]
        pub data: Data<'a>,
    }

    #[derive(Deserialize)]
    pub struct Data<'a> {
        pub s: &'a str,
        #[serde(borrow)]
        pub b: Vec<[&'a str; 2]>,
        #[serde(borrow)]
        pub a: Vec<[&'a str; 2]>,
        pub u: u64,
        pub seq: u64,
    }
}

criterion_group!(benches, bench_book);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
