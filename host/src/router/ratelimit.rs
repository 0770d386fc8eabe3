//! Per-account, per-endpoint rate budgets (Bybit V5 per-UID limits), with an injectable clock.
//!
//! Each budget is a sliding-window log: a request of `units` is admitted at `now_ms` only if the
//! units admitted in `(now_ms - window_ms, now_ms]` plus `units` stay within the limit, so no
//! window of that length ever holds more than the limit, whatever the server's window alignment.
//! Batch requests cost one unit per order (linear and spot). Responses correct the estimate:
//! `X-Bapi-Limit` replaces the limit, an `X-Bapi-Limit-Status` lower than our own estimate of what
//! remains is charged as extra usage, and a remaining of 0 or a 10006 error blocks the endpoint
//! until `X-Bapi-Limit-Reset-Timestamp` (or one full window when that is not in the future).

use crate::model::Category;
use std::collections::{HashMap, VecDeque};

/// Bybit's per-UID window.
pub const WINDOW_MS: i64 = 1_000;
/// Longest block we accept from a reset timestamp (guards against clock skew or garbage).
pub const MAX_BLOCK_MS: i64 = 60_000;

/// An order endpoint with its own per-UID budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /v5/order/create` (and WS `order.create`).
    Create,
    /// `POST /v5/order/amend`.
    Amend,
    /// `POST /v5/order/cancel`.
    Cancel,
    /// `POST /v5/order/create-batch`, one unit per order.
    CreateBatch,
    /// `POST /v5/order/amend-batch`, one unit per order.
    AmendBatch,
    /// `POST /v5/order/cancel-batch`, one unit per order.
    CancelBatch,
    /// `POST /v5/order/cancel-all`.
    CancelAll,
}

/// Budget key: the endpoint and the category group sharing a limit (linear/inverse share one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LimitKey {
    /// Endpoint.
    pub endpoint: Endpoint,
    /// Category.
    pub category: Category,
}

impl LimitKey {
    /// Key for `endpoint` in `category`.
    pub const fn new(endpoint: Endpoint, category: Category) -> Self {
        Self { endpoint, category }
    }
}

/// Default per-second limits of a non-VIP account (REFERENCE.md §3.2, "UTA2.0 Pro" table).
pub const fn default_limit(key: LimitKey) -> u32 {
    use Endpoint as E;
    match (key.category, key.endpoint) {
        (Category::Linear, _) => 10,
        (Category::Spot, E::Amend) => 10,
        (Category::Spot, _) => 20,
    }
}

#[derive(Debug, Clone)]
struct Window {
    limit: u32,
    log: VecDeque<(i64, u32)>,
    used: u32,
    blocked_until_ms: i64,
}

impl Window {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            log: VecDeque::new(),
            used: 0,
            blocked_until_ms: i64::MIN,
        }
    }

    fn expire(&mut self, now_ms: i64) {
        while let Some(&(t, units)) = self.log.front() {
            if t > now_ms - WINDOW_MS {
                break;
            }
            self.used -= units;
            self.log.pop_front();
        }
    }

    fn available(&mut self, now_ms: i64) -> u32 {
        self.expire(now_ms);
        if now_ms < self.blocked_until_ms {
            0
        } else {
            self.limit.saturating_sub(self.used)
        }
    }

    fn charge(&mut self, now_ms: i64, units: u32) {
        if units == 0 {
            return;
        }
        match self.log.back_mut() {
            Some((t, u)) if *t == now_ms => *u += units,
            _ => self.log.push_back((now_ms, units)),
        }
        self.used += units;
    }

    fn block(&mut self, now_ms: i64, reset_ms: Option<i64>) {
        let until = match reset_ms {
            Some(r) if r > now_ms => r.min(now_ms + MAX_BLOCK_MS),
            _ => now_ms + WINDOW_MS,
        };
        self.blocked_until_ms = self.blocked_until_ms.max(until);
    }
}

/// The account's rate budgets, shared by all symbols.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    windows: HashMap<LimitKey, Window>,
    overrides: HashMap<LimitKey, u32>,
}

impl RateLimiter {
    /// Budgets at Bybit's default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use `limit` per window for `key` (e.g. a VIP account's higher limits).
    pub fn with_limit(mut self, key: LimitKey, limit: u32) -> Self {
        self.overrides.insert(key, limit);
        self.windows.remove(&key);
        self
    }

    fn window(&mut self, key: LimitKey) -> &mut Window {
        let limit = self
            .overrides
            .get(&key)
            .copied()
            .unwrap_or_else(|| default_limit(key));
        self.windows
            .entry(key)
            .or_insert_with(|| Window::new(limit))
    }

    /// The current limit of `key`.
    pub fn limit(&mut self, key: LimitKey) -> u32 {
        self.window(key).limit
    }

    /// Units `key` can admit at `now_ms`.
    pub fn available(&mut self, key: LimitKey, now_ms: i64) -> u32 {
        self.window(key).available(now_ms)
    }

    /// Admit `units` at `now_ms` if they fit; all or nothing.
    pub fn try_acquire(&mut self, key: LimitKey, units: u32, now_ms: i64) -> bool {
        let w = self.window(key);
        if units <= w.available(now_ms) {
            w.charge(now_ms, units);
            true
        } else {
            false
        }
    }

    /// Admit as many of `units` as fit at `now_ms`; returns how many.
    pub fn acquire_up_to(&mut self, key: LimitKey, units: u32, now_ms: i64) -> u32 {
        let w = self.window(key);
        let n = units.min(w.available(now_ms));
        w.charge(now_ms, n);
        n
    }

    /// Correct the estimate with a response's `X-Bapi-Limit`, `X-Bapi-Limit-Status` and
    /// `X-Bapi-Limit-Reset-Timestamp` values.
    pub fn on_headers(
        &mut self,
        key: LimitKey,
        now_ms: i64,
        limit: u32,
        remaining: u32,
        reset_ms: i64,
    ) {
        let w = self.window(key);
        if limit > 0 {
            w.limit = limit;
        }
        w.expire(now_ms);
        let ours = w.limit.saturating_sub(w.used);
        if remaining < ours {
            w.charge(now_ms, ours - remaining);
        }
        if remaining == 0 {
            w.block(now_ms, Some(reset_ms));
        }
    }

    /// A 10006 ("too many visits") answer: admit nothing on `key` until `reset_ms`
    /// (one full window when the reset time is unknown or not in the future).
    pub fn on_rate_limited(&mut self, key: LimitKey, now_ms: i64, reset_ms: Option<i64>) {
        self.window(key).block(now_ms, reset_ms);
    }

    /// When `key` is blocked, the time it opens again.
    pub fn blocked_until(&mut self, key: LimitKey, now_ms: i64) -> Option<i64> {
        let w = self.window(key);
        (now_ms < w.blocked_until_ms).then_some(w.blocked_until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LC: LimitKey = LimitKey::new(Endpoint::Create, Category::Linear);
    const SA: LimitKey = LimitKey::new(Endpoint::Amend, Category::Spot);
    const SB: LimitKey = LimitKey::new(Endpoint::CreateBatch, Category::Spot);

    #[test]
    fn default_limits_table() {
        let mut rl = RateLimiter::new();
        for (key, want) in [
            (LC, 10),
            (SA, 10),
            (SB, 20),
            (LimitKey::new(Endpoint::Cancel, Category::Spot), 20),
        ] {
            assert_eq!(rl.limit(key), want, "{key:?}");
        }
        let mut vip = RateLimiter::new().with_limit(LC, 20);
        assert_eq!(vip.limit(LC), 20);
    }

    #[test]
    fn sliding_window_table() {
        // (now_ms, units, admitted)
        let steps = [
            (0, 6, true),
            (500, 4, true),
            (600, 1, false),
            (999, 1, false),
            (1_000, 6, true), // the 6 from t=0 left the window
            (1_001, 1, false),
            (1_500, 4, true),
            (1_500, 1, false),
        ];
        let mut rl = RateLimiter::new();
        for (now, units, admitted) in steps {
            assert_eq!(
                rl.try_acquire(LC, units, now),
                admitted,
                "t={now} units={units}"
            );
        }
        assert_eq!(rl.acquire_up_to(LC, 9, 2_000), 6); // only the 4 from t=1500 remain
    }

    #[test]
    fn headers_correct_the_estimate() {
        let mut rl = RateLimiter::new();
        assert!(rl.try_acquire(LC, 2, 0));
        rl.on_headers(LC, 10, 10, 5, 10); // the server saw more than we did
        assert_eq!(rl.available(LC, 10), 5);
        rl.on_headers(LC, 20, 10, 9, 20); // a higher remaining never adds capacity
        assert_eq!(rl.available(LC, 20), 5);
        rl.on_headers(LC, 30, 20, 15, 30); // limit raised (VIP)
        assert_eq!(rl.available(LC, 30), 15);
        rl.on_headers(LC, 40, 20, 0, 700);
        assert_eq!(rl.blocked_until(LC, 40), Some(700));
        assert_eq!(rl.available(LC, 699), 0);
    }

    #[test]
    fn rate_limited_waits_for_reset() {
        let cases = [
            (100, Some(450), 450),
            (100, Some(50), 1_100), // reset in the past: one window
            (100, None, 1_100),
            (100, Some(10_000_000), 100 + MAX_BLOCK_MS),
        ];
        for (now, reset, until) in cases {
            let mut rl = RateLimiter::new();
            rl.on_rate_limited(SA, now, reset);
            assert_eq!(rl.blocked_until(SA, now), Some(until), "{reset:?}");
            assert!(!rl.try_acquire(SA, 1, until - 1));
            assert!(rl.try_acquire(SA, 1, until));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Acquire(u32),
        AcquireUpTo(u32),
        Headers(u32, i64),
        Limited(i64),
    }

    fn op() -> impl Strategy<Value = (i64, Op)> {
        let op = prop_oneof![
            6 => (1u32..8).prop_map(Op::Acquire),
            3 => (1u32..8).prop_map(Op::AcquireUpTo),
            1 => (0u32..10, 0i64..2_000).prop_map(|(r, d)| Op::Headers(r, d)),
            1 => (0i64..2_000).prop_map(Op::Limited),
        ];
        (0i64..400, op)
    }

    proptest! {
        #[test]
        fn never_admits_more_than_the_budget_in_any_window(ops in prop::collection::vec(op(), 1..200)) {
            let mut rl = RateLimiter::new();
            let mut now = 0i64;
            let mut admitted: Vec<(i64, u32)> = Vec::new();
            for (dt, op) in ops {
                now += dt;
                match op {
                    Op::Acquire(u) => if rl.try_acquire(LC, u, now) { admitted.push((now, u)) },
                    Op::AcquireUpTo(u) => admitted.push((now, rl.acquire_up_to(LC, u, now))),
                    Op::Headers(rem, d) => rl.on_headers(LC, now, 10, rem, now + d),
                    Op::Limited(d) => rl.on_rate_limited(LC, now, Some(now + d)),
                }
            }
            for &(start, _) in &admitted {
                let in_window: u32 = admitted
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < start + WINDOW_MS)
                    .map(|(_, u)| u)
                    .sum();
                prop_assert!(in_window <= 10, "{} units in the window from {}", in_window, start);
            }
        }
    }
}
