//! Parse + apply of `orderbook.50` deltas performs no heap allocation once warm.
#![allow(unsafe_code)] // the counting global allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use host::book::{BookUpdate, OrderBook};
use host::exchange::bybit::parse::parse_orderbook;
use plugin_api::MarketView;
use rust_decimal::Decimal;

#[path = "../benches/support/stream_gen.rs"]
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

/// The only test in this binary, so no other thread allocates while it counts.
#[test]
fn parse_apply_and_view_allocate_nothing_per_message() {
    let stream = stream_gen::generate(7, 20_000);
    let mut book = OrderBook::new("BTCUSDT", Decimal::new(1, 1), Decimal::new(1, 3)).unwrap();
    let mut update = BookUpdate::with_capacity(64);
    let mut view = MarketView::new("BTCUSDT");
    // Warm up on the snapshot and the first deltas.
    parse_orderbook(stream.snapshot.as_bytes(), &mut update).unwrap();
    book.apply(&update, 0).unwrap();
    for msg in &stream.deltas[..1_000] {
        parse_orderbook(msg.as_bytes(), &mut update).unwrap();
        book.apply(&update, 0).unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for msg in &stream.deltas[1_000..] {
        parse_orderbook(msg.as_bytes(), &mut update).unwrap();
        book.apply(&update, 0).unwrap();
        book.fill_view(&mut view);
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(allocations, 0, "heap allocations over 19,000 messages");
    assert!(book.is_whole());
    assert_eq!(view.bids().len(), 20);
    assert!(view.best_bid().unwrap().price < view.best_ask().unwrap().price);
}
