//! A deterministic, realistic `orderbook.50` stream in Bybit's wire format: one snapshot of
//! 50 levels per side, then deltas changing 5–20 levels each (size updates biased to the top of
//! the book, deletes, inserts inside and outside the spread, levels falling off past depth 50),
//! never crossing. Shared by the book and tick-to-order benchmarks and the allocation test.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A generated stream.
pub struct Stream {
    /// The snapshot message (u = 1_000_000).
    pub snapshot: String,
    /// Deltas, consecutive update ids after the snapshot.
    pub deltas: Vec<String>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DEPTH: usize = 50;

/// Price in ticks of 0.10, printed with two decimals like Bybit ("30247.20").
fn push_level(out: &mut String, ticks: i64, lots: i64) {
    let _ = write!(
        out,
        "[\"{}.{}0\",\"{}.{:03}\"]",
        ticks / 10,
        ticks % 10,
        lots / 1000,
        lots % 1000
    );
}

fn message(symbol: &str, kind: &str, u: u64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> String {
    let ts = 1_687_940_967_466 + u as i64 * 20;
    let mut s = String::with_capacity(64 + 24 * (bids.len() + asks.len()));
    let _ = write!(
        s,
        "{{\"topic\":\"orderbook.50.{symbol}\",\"type\":\"{kind}\",\"ts\":{ts},\"data\":{{\"s\":\"{symbol}\",\"b\":["
    );
    for (i, &(p, q)) in bids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_level(&mut s, p, q);
    }
    s.push_str("],\"a\":[");
    for (i, &(p, q)) in asks.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_level(&mut s, p, q);
    }
    let _ = write!(
        s,
        "],\"u\":{u},\"seq\":{}}},\"cts\":{}}}",
        66_544_703_342 + u * 3,
        ts - 2
    );
    s
}

/// Generate a BTCUSDT snapshot and `n` deltas from `seed`.
#[allow(dead_code)] // not every includer uses both generators
pub fn generate(seed: u64, n: usize) -> Stream {
    generate_symbol("BTCUSDT", seed, n)
}

/// Generate a snapshot and `n` deltas of `symbol` from `seed`.
pub fn generate_symbol(symbol: &str, seed: u64, n: usize) -> Stream {
    let mut rng = Rng(seed | 1);
    let mut bids: BTreeMap<i64, i64> = BTreeMap::new();
    let mut asks: BTreeMap<i64, i64> = BTreeMap::new();
    let mid = 302_480i64; // 30248.0
    let (mut p_bid, mut p_ask) = (mid - 1, mid + 1);
    while bids.len() < DEPTH {
        bids.insert(p_bid, 1 + rng.below(30_000) as i64);
        p_bid -= 1 + rng.below(3) as i64;
    }
    while asks.len() < DEPTH {
        asks.insert(p_ask, 1 + rng.below(30_000) as i64);
        p_ask += 1 + rng.below(3) as i64;
    }
    let mut u = 1_000_000u64;
    let snap_b: Vec<_> = bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
    let snap_a: Vec<_> = asks.iter().map(|(&p, &q)| (p, q)).collect();
    let snapshot = message(symbol, "snapshot", u, &snap_b, &snap_a);

    let mut deltas = Vec::with_capacity(n);
    for _ in 0..n {
        u += 1;
        let changes = 5 + rng.below(16) as usize;
        let mut db: BTreeMap<i64, i64> = BTreeMap::new();
        let mut da: BTreeMap<i64, i64> = BTreeMap::new();
        for _ in 0..changes {
            let is_bid = rng.below(2) == 0;
            let best_bid = *bids.keys().next_back().unwrap_or(&(mid - 100));
            let best_ask = *asks.keys().next().unwrap_or(&(mid + 100));
            let (side, delta, other_best) = if is_bid {
                (&mut bids, &mut db, best_ask)
            } else {
                (&mut asks, &mut da, best_bid)
            };
            let roll = rng.below(100);
            // Level index biased to the top of the book.
            let idx = (rng.below(DEPTH as u64).min(rng.below(DEPTH as u64))) as usize;
            let price_at = |side: &BTreeMap<i64, i64>, i: usize| {
                if is_bid {
                    side.keys().rev().nth(i).copied()
                } else {
                    side.keys().nth(i).copied()
                }
            };
            if roll < 60 || side.len() < DEPTH - 5 && roll < 80 {
                // Size update (or re-insert when the side is thin).
                if let Some(p) = price_at(side, idx.min(side.len().saturating_sub(1))) {
                    let q = 1 + rng.below(40_000) as i64;
                    side.insert(p, q);
                    delta.insert(p, q);
                }
            } else if roll < 80 {
                if let Some(p) = price_at(side, idx.min(side.len().saturating_sub(1))) {
                    side.remove(&p);
                    delta.insert(p, 0);
                }
            } else {
                // Insert a new level, possibly inside the spread, never crossing.
                let off = 1 + rng.below(60) as i64;
                let p = if is_bid {
                    other_best - off
                } else {
                    other_best + off
                };
                if let std::collections::btree_map::Entry::Vacant(slot) = side.entry(p) {
                    let q = 1 + rng.below(40_000) as i64;
                    slot.insert(q);
                    delta.insert(p, q);
                }
            }
            // Levels past depth 50 fall off the stream.
            while side.len() > DEPTH {
                let worst = if is_bid {
                    *side.keys().next().unwrap()
                } else {
                    *side.keys().next_back().unwrap()
                };
                side.remove(&worst);
                delta.insert(worst, 0);
            }
        }
        let b: Vec<_> = db.iter().rev().map(|(&p, &q)| (p, q)).collect();
        let a: Vec<_> = da.iter().map(|(&p, &q)| (p, q)).collect();
        deltas.push(message(symbol, "delta", u, &b, &a));
    }
    Stream { snapshot, deltas }
}
