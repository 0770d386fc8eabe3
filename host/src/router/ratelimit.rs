//! Per-account, per-endpoint rate budgets (Bybit V5 per-UID limits), with an injectable clock.
//!
//! The exchange counts a request when it *arrives* in a rolling window of [`WINDOW_MS`]; we only
//! know when we sent it and when its answer came back. So each budget is a log of units in two
//! parts:
//! - **in flight**: charged at send time ([`RateLimiter::try_acquire`],
//!   [`RateLimiter::acquire_up_to`]), counted without expiry until answered (at most
//!   `max_inflight_ms`, the longest a request can stay unanswered);
//! - **answered**: [`RateLimiter::on_answer`] moves the request's units to the time its answer
//!   was seen. The exchange counted them at or before that time, so they leave our window no
//!   earlier than they leave the exchange's: a burst delayed on the way in can never overlap a
//!   fresh burst in the exchange's window, whatever the network or queueing jitter.
//!
//! A request of `units` is admitted only if everything still in the window plus `units` fits the
//! budget: the exchange's limit less a reserve ([`RateLimiter::with_reserve_pct`]). Batch
//! requests cost one unit per order (linear and spot). Answers correct the estimate:
//! `X-Bapi-Limit` replaces the limit; an `X-Bapi-Limit-Status` saying the exchange counted more
//! than we hold (another client on the same account) is charged as extra usage; the estimate is
//! never credited. A remaining of 0 or a 10006 blocks the endpoint until
//! `X-Bapi-Limit-Reset-Timestamp` (one full window when that is unknown or not in the future).

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

/// The units admitted per window out of an exchange `limit` when `reserve_pct` percent of it
/// is kept back (at least one unit when `reserve_pct > 0`, and never less than one admitted).
pub fn budget_of(limit: u32, reserve_pct: u32) -> u32 {
    if reserve_pct == 0 || limit == 0 {
        return limit;
    }
    let reserve = (u64::from(limit) * u64::from(reserve_pct.min(100)) / 100).max(1) as u32;
    limit.saturating_sub(reserve).max(1)
}

#[derive(Debug, Clone)]
struct Window {
    /// The exchange's limit per window.
    limit: u32,
    /// What we admit per window (the limit less the reserve).
    budget: u32,
    /// Answered units: (time the answer was seen, units), in time order.
    answered: VecDeque<(i64, u32)>,
    answered_units: u32,
    /// Unanswered units: (send time, units), in send order.
    inflight: VecDeque<(i64, u32)>,
    inflight_units: u32,
    blocked_until_ms: i64,
}

impl Window {
    fn new(limit: u32, reserve_pct: u32) -> Self {
        Self {
            limit,
            budget: budget_of(limit, reserve_pct),
            answered: VecDeque::new(),
            answered_units: 0,
            inflight: VecDeque::new(),
            inflight_units: 0,
            blocked_until_ms: i64::MIN,
        }
    }

    fn used(&self) -> u32 {
        self.answered_units + self.inflight_units
    }

    fn expire(&mut self, now_ms: i64, max_inflight_ms: i64) {
        while let Some(&(t, units)) = self.answered.front() {
            if t + WINDOW_MS > now_ms {
                break;
            }
            self.answered_units -= units;
            self.answered.pop_front();
        }
        // Never answered (a lost task): counts as answered `max_inflight_ms` after sending.
        while let Some(&(t, units)) = self.inflight.front() {
            if t + max_inflight_ms + WINDOW_MS > now_ms {
                break;
            }
            self.inflight_units -= units;
            self.inflight.pop_front();
        }
    }

    fn available(&self, now_ms: i64) -> u32 {
        if now_ms < self.blocked_until_ms {
            0
        } else {
            self.budget.saturating_sub(self.used())
        }
    }

    fn charge_inflight(&mut self, now_ms: i64, units: u32) {
        if units > 0 {
            self.inflight.push_back((now_ms, units));
            self.inflight_units += units;
        }
    }

    fn charge_answered(&mut self, now_ms: i64, units: u32) {
        if units == 0 {
            return;
        }
        // Keep the log in time order even if the clock stepped back.
        let t = self
            .answered
            .back()
            .map_or(now_ms, |&(last, _)| last.max(now_ms));
        match self.answered.back_mut() {
            Some((last, u)) if *last == t => *u += units,
            _ => self.answered.push_back((t, units)),
        }
        self.answered_units += units;
    }

    fn block(&mut self, now_ms: i64, reset_ms: Option<i64>) {
        let until = match reset_ms {
            Some(r) if r > now_ms => r.min(now_ms + MAX_BLOCK_MS),
            _ => now_ms + WINDOW_MS,
        };
        self.blocked_until_ms = self.blocked_until_ms.max(until);
    }
}

/// Cancels, in an order-kind mask.
pub const KIND_CANCEL: u8 = 1;
/// Amends, in an order-kind mask.
pub const KIND_AMEND: u8 = 2;
/// Creates, in an order-kind mask.
pub const KIND_CREATE: u8 = 4;

/// The account's rate budgets, shared by all symbols.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    windows: HashMap<LimitKey, Window, foldhash::fast::RandomState>,
    overrides: HashMap<LimitKey, u32, foldhash::fast::RandomState>,
    reserve_pct: u32,
    max_inflight_ms: i64,
}

impl RateLimiter {
    /// Budgets at Bybit's default limits, no reserve, and unanswered requests counted as
    /// answered at their send time (use [`with_max_inflight_ms`](Self::with_max_inflight_ms)
    /// when answers are fed back).
    pub fn new() -> Self {
        Self::default()
    }

    /// Use `limit` per window for `key` (e.g. a VIP account's higher limits).
    pub fn with_limit(mut self, key: LimitKey, limit: u32) -> Self {
        self.overrides.insert(key, limit);
        self.windows.remove(&key);
        self
    }

    /// Keep `pct` percent of every limit unused (at least one unit): a margin for other
    /// clients of the account and for how the exchange's window differs from ours.
    pub fn with_reserve_pct(mut self, pct: u32) -> Self {
        self.reserve_pct = pct.min(100);
        self.windows.clear();
        self
    }

    /// A request still unanswered this long after sending stops counting as in flight (it
    /// then counts as answered at that time). Set it to the sender's request timeout.
    pub fn with_max_inflight_ms(mut self, ms: i64) -> Self {
        self.max_inflight_ms = ms.max(0);
        self
    }

    fn entry(&mut self, key: LimitKey) -> &mut Window {
        // The limit is read when the window is made (setting an override drops the window).
        let (overrides, reserve_pct) = (&self.overrides, self.reserve_pct);
        self.windows.entry(key).or_insert_with(|| {
            let limit = overrides
                .get(&key)
                .copied()
                .unwrap_or_else(|| default_limit(key));
            Window::new(limit, reserve_pct)
        })
    }

    /// The window of `key` with what left it by `now_ms` removed.
    fn window(&mut self, key: LimitKey, now_ms: i64) -> &mut Window {
        let max_inflight_ms = self.max_inflight_ms;
        let w = self.entry(key);
        w.expire(now_ms, max_inflight_ms);
        w
    }

    /// The exchange's current limit of `key`.
    pub fn limit(&mut self, key: LimitKey) -> u32 {
        self.entry(key).limit
    }

    /// The units `key` admits per window (the limit less the reserve).
    pub fn budget(&mut self, key: LimitKey) -> u32 {
        self.entry(key).budget
    }

    /// Units `key` can admit at `now_ms`.
    pub fn available(&mut self, key: LimitKey, now_ms: i64) -> u32 {
        self.window(key, now_ms).available(now_ms)
    }

    /// The order kinds of `category` that can admit a request at `now_ms`, by single or batch
    /// endpoint, as a mask of [`KIND_CANCEL`], [`KIND_AMEND`] and [`KIND_CREATE`].
    pub fn open_kinds(&mut self, category: Category, now_ms: i64) -> u8 {
        let mut mask = 0;
        for (bit, single, batch) in [
            (KIND_CANCEL, Endpoint::Cancel, Endpoint::CancelBatch),
            (KIND_AMEND, Endpoint::Amend, Endpoint::AmendBatch),
            (KIND_CREATE, Endpoint::Create, Endpoint::CreateBatch),
        ] {
            if self.available(LimitKey::new(single, category), now_ms) > 0
                || self.available(LimitKey::new(batch, category), now_ms) > 0
            {
                mask |= bit;
            }
        }
        mask
    }

    /// Units of `key` sent and not answered yet at `now_ms`.
    pub fn in_flight(&mut self, key: LimitKey, now_ms: i64) -> u32 {
        self.window(key, now_ms).inflight_units
    }

    /// Admit `units` at `now_ms` if they fit; all or nothing. Admitted units count as in
    /// flight until [`on_answer`](Self::on_answer).
    pub fn try_acquire(&mut self, key: LimitKey, units: u32, now_ms: i64) -> bool {
        let w = self.window(key, now_ms);
        if units <= w.available(now_ms) {
            w.charge_inflight(now_ms, units);
            true
        } else {
            false
        }
    }

    /// Admit as many of `units` as fit at `now_ms`; returns how many (in flight until
    /// [`on_answer`](Self::on_answer)).
    pub fn acquire_up_to(&mut self, key: LimitKey, units: u32, now_ms: i64) -> u32 {
        let w = self.window(key, now_ms);
        let n = units.min(w.available(now_ms));
        w.charge_inflight(now_ms, n);
        n
    }

    /// The answer (or the failure) of a request of `units` on `key` was seen at `now_ms`: its
    /// units now stay in the window until `now_ms + WINDOW_MS`. Answers may come in any order;
    /// the oldest in-flight request of the same size is taken as the one answered (requests of
    /// equal size are interchangeable for the count). A request that was never charged (sent
    /// outside the budget) is charged now.
    pub fn on_answer(&mut self, key: LimitKey, units: u32, now_ms: i64) {
        let w = self.window(key, now_ms);
        if let Some(i) = w.inflight.iter().position(|&(_, u)| u == units)
            && let Some((_, u)) = w.inflight.remove(i)
        {
            w.inflight_units -= u;
        }
        w.charge_answered(now_ms, units);
    }

    /// Correct the estimate with an answer's headers: `limit` (`X-Bapi-Limit`, when sent),
    /// `remaining` (`X-Bapi-Limit-Status`) and `reset_ms` (`X-Bapi-Limit-Reset-Timestamp` on
    /// our clock). Units the exchange counted beyond ours are charged at `now_ms`; a remaining
    /// of 0 blocks `key` until the reset.
    pub fn on_headers(
        &mut self,
        key: LimitKey,
        now_ms: i64,
        limit: Option<u32>,
        remaining: u32,
        reset_ms: Option<i64>,
    ) {
        let reserve_pct = self.reserve_pct;
        let w = self.window(key, now_ms);
        if let Some(limit) = limit.filter(|&l| l > 0) {
            w.limit = limit;
            w.budget = budget_of(limit, reserve_pct);
        }
        let exchange_used = w.limit.saturating_sub(remaining);
        let ours = w.used();
        if exchange_used > ours {
            w.charge_answered(now_ms, exchange_used - ours);
        }
        if remaining == 0 {
            w.block(now_ms, reset_ms);
        }
    }

    /// A 10006 ("too many visits") answer: admit nothing on `key` until `reset_ms` (on our
    /// clock; one full window when the reset time is unknown or not in the future).
    pub fn on_rate_limited(&mut self, key: LimitKey, now_ms: i64, reset_ms: Option<i64>) {
        self.window(key, now_ms).block(now_ms, reset_ms);
    }

    /// When `key` is blocked, the time it opens again.
    pub fn blocked_until(&mut self, key: LimitKey, now_ms: i64) -> Option<i64> {
        let w = self.window(key, now_ms);
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
    fn open_kinds_follow_single_and_batch_budgets() {
        let mut rl = RateLimiter::new();
        let all = KIND_CANCEL | KIND_AMEND | KIND_CREATE;
        assert_eq!(rl.open_kinds(Category::Linear, 0), all);
        // Creates stay open while either the single or the batch endpoint has room.
        assert!(rl.try_acquire(LC, 10, 0));
        assert_eq!(rl.open_kinds(Category::Linear, 0), all);
        let lcb = LimitKey::new(Endpoint::CreateBatch, Category::Linear);
        assert_eq!(rl.acquire_up_to(lcb, 100, 0), 10);
        assert_eq!(rl.open_kinds(Category::Linear, 0), KIND_CANCEL | KIND_AMEND);
        // Spot is a budget apart.
        assert_eq!(rl.open_kinds(Category::Spot, 0), all);
        // A 10006 blocks the endpoint until its reset, whatever its count.
        let la = LimitKey::new(Endpoint::Amend, Category::Linear);
        let lab = LimitKey::new(Endpoint::AmendBatch, Category::Linear);
        rl.on_rate_limited(la, 0, Some(500));
        rl.on_rate_limited(lab, 0, Some(500));
        assert_eq!(rl.open_kinds(Category::Linear, 100), KIND_CANCEL);
        // In-flight units count until answered; answered ones leave the window after it.
        assert_eq!(rl.open_kinds(Category::Linear, 100_000), all);
    }

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
            assert_eq!(rl.budget(key), want, "{key:?}");
        }
        let mut vip = RateLimiter::new().with_limit(LC, 20);
        assert_eq!(vip.limit(LC), 20);
    }

    #[test]
    fn reserve_table() {
        // (limit, reserve %, budget)
        for (limit, pct, want) in [
            (10, 20, 8),
            (20, 20, 16),
            (5, 20, 4),
            (1, 20, 1),
            (2, 20, 1),
            (100, 20, 80),
            (10, 0, 10),
            (10, 1, 9),
            (10, 100, 1),
        ] {
            assert_eq!(budget_of(limit, pct), want, "{limit} {pct}%");
        }
        let mut rl = RateLimiter::new().with_reserve_pct(20);
        assert_eq!((rl.limit(LC), rl.budget(LC)), (10, 8));
        assert_eq!(rl.acquire_up_to(LC, 10, 0), 8);
    }

    #[test]
    fn sliding_window_table() {
        // Unanswered requests count from their send time when max_inflight_ms is 0.
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
    fn units_count_from_the_answer_not_the_send() {
        // The burst sent at t=0 reached the exchange late and was answered at t=300: the
        // exchange holds it until about t=1300, so a new burst at t=1000 must wait.
        let mut rl = RateLimiter::new().with_max_inflight_ms(10_000);
        for t in 0..10 {
            assert!(rl.try_acquire(LC, 1, t));
        }
        assert!(!rl.try_acquire(LC, 1, 20));
        for _ in 0..10 {
            rl.on_answer(LC, 1, 300);
        }
        assert_eq!(rl.in_flight(LC, 300), 0);
        assert_eq!(
            rl.available(LC, 1_000),
            0,
            "send time + window is too early"
        );
        assert_eq!(rl.available(LC, 1_299), 0);
        assert_eq!(rl.available(LC, 1_300), 10, "answer time + window");
    }

    #[test]
    fn unanswered_requests_keep_counting_until_max_inflight() {
        let mut rl = RateLimiter::new().with_max_inflight_ms(5_000);
        assert!(rl.try_acquire(LC, 10, 0));
        assert_eq!(rl.available(LC, 3_000), 0, "still in flight");
        assert_eq!(rl.available(LC, 5_999), 0);
        assert_eq!(
            rl.available(LC, 6_000),
            10,
            "given up: counted as answered at 5_000"
        );
        assert_eq!(rl.in_flight(LC, 6_000), 0);
    }

    #[test]
    fn answers_in_any_order_match_by_size() {
        let mut rl = RateLimiter::new().with_max_inflight_ms(10_000);
        assert_eq!(rl.acquire_up_to(LC, 3, 0), 3);
        assert_eq!(rl.acquire_up_to(LC, 5, 10), 5);
        rl.on_answer(LC, 5, 100); // the later batch answers first
        assert_eq!(rl.in_flight(LC, 100), 3);
        assert_eq!(rl.available(LC, 1_099), 2);
        assert_eq!(
            rl.available(LC, 1_100),
            7,
            "the 5 left; the 3 are still in flight"
        );
        rl.on_answer(LC, 3, 2_000);
        assert_eq!(rl.available(LC, 2_999), 7);
        assert_eq!(rl.available(LC, 3_000), 10);
        // An answer to a request that was never charged (sent outside the budget) is charged.
        rl.on_answer(LC, 1, 3_000);
        assert_eq!(rl.available(LC, 3_000), 9);
    }

    #[test]
    fn headers_correct_the_estimate() {
        let mut rl = RateLimiter::new();
        assert!(rl.try_acquire(LC, 2, 0));
        rl.on_headers(LC, 10, Some(10), 5, Some(10)); // the exchange saw more than we did
        assert_eq!(rl.available(LC, 10), 5);
        rl.on_headers(LC, 20, Some(10), 9, Some(20)); // a higher remaining never adds capacity
        assert_eq!(rl.available(LC, 20), 5);
        rl.on_headers(LC, 30, Some(20), 15, Some(30)); // limit raised (VIP)
        assert_eq!(rl.available(LC, 30), 15);
        rl.on_headers(LC, 40, None, 0, Some(700));
        assert_eq!(rl.blocked_until(LC, 40), Some(700));
        assert_eq!(rl.available(LC, 699), 0);
    }

    #[test]
    fn headers_are_read_against_the_limit_not_the_budget() {
        // 20 % reserve: budget 8 of 10. The exchange reports 7 left after our 2: it counted 3,
        // one more than we hold.
        let mut rl = RateLimiter::new().with_reserve_pct(20);
        assert!(rl.try_acquire(LC, 2, 0));
        rl.on_answer(LC, 2, 5);
        rl.on_headers(LC, 5, Some(10), 7, Some(1_000));
        assert_eq!(rl.available(LC, 5), 5);
        // Exactly what we hold: no change.
        rl.on_headers(LC, 6, Some(10), 7, Some(1_000));
        assert_eq!(rl.available(LC, 6), 5);
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

    /// Admitted requests reach the exchange `arrive` ms after sending and are answered
    /// `answer` ms after that (so answers come back in any order).
    fn timed_op() -> impl Strategy<Value = (i64, u32, i64, i64)> {
        (0i64..300, 1u32..6, 0i64..700, 0i64..300)
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
                    Op::Headers(rem, d) => rl.on_headers(LC, now, Some(10), rem, Some(now + d)),
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

        /// The exchange's view: counted at arrival, whatever the delay between sending and
        /// arriving, no window of the exchange ever holds more than the limit.
        #[test]
        fn the_exchange_never_sees_more_than_the_limit(ops in prop::collection::vec(timed_op(), 1..300)) {
            let mut rl = RateLimiter::new().with_max_inflight_ms(10_000);
            let mut now = 0i64;
            let mut arrivals: Vec<(i64, u32)> = Vec::new();
            // (answer time, units), fed back when the clock passes them.
            let mut answers: Vec<(i64, u32)> = Vec::new();
            for (dt, units, arrive, answer) in ops {
                now += dt;
                answers.sort_unstable();
                while let Some(&(t, u)) = answers.first() && t <= now {
                    rl.on_answer(LC, u, t);
                    answers.remove(0);
                }
                if rl.try_acquire(LC, units, now) {
                    arrivals.push((now + arrive, units));
                    answers.push((now + arrive + answer, units));
                }
            }
            for &(start, _) in &arrivals {
                let in_window: u32 = arrivals
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < start + WINDOW_MS)
                    .map(|(_, u)| u)
                    .sum();
                prop_assert!(in_window <= 10, "{} units arrived in the window from {}", in_window, start);
            }
        }
    }
}
