//! Rolling-window rate limiters: per account per endpoint (→ 10006) and per IP (→ HTTP 403).

use std::collections::{HashMap, VecDeque};

/// Outcome of asking a limiter for units; values for the `X-Bapi-Limit*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitStatus {
    /// Units granted (≤ requested).
    pub granted: u32,
    /// The window budget (`X-Bapi-Limit`).
    pub limit: u32,
    /// Units left after this request (`X-Bapi-Limit-Status`).
    pub remaining: u32,
    /// When the oldest unit in the window expires, ms (`X-Bapi-Limit-Reset-Timestamp`);
    /// `now` when nothing is used.
    pub reset_ms: i64,
}

/// A rolling window of `limit` units per `window_ms`.
#[derive(Debug, Clone)]
pub struct Window {
    limit: u32,
    window_ms: i64,
    used: VecDeque<i64>,
}

impl Window {
    /// A window of `limit` units per `window_ms`.
    pub fn new(limit: u32, window_ms: i64) -> Self {
        Window {
            limit,
            window_ms,
            used: VecDeque::new(),
        }
    }

    fn expire(&mut self, now_ms: i64) {
        while let Some(&t) = self.used.front() {
            if t + self.window_ms <= now_ms {
                self.used.pop_front();
            } else {
                break;
            }
        }
    }

    /// Take up to `units`; returns how many were granted and the header values.
    pub fn take(&mut self, now_ms: i64, units: u32) -> LimitStatus {
        self.expire(now_ms);
        let free = self.limit.saturating_sub(self.used.len() as u32);
        let granted = units.min(free);
        for _ in 0..granted {
            self.used.push_back(now_ms);
        }
        LimitStatus {
            granted,
            limit: self.limit,
            remaining: self.limit.saturating_sub(self.used.len() as u32),
            reset_ms: self
                .used
                .front()
                .map(|t| t + self.window_ms)
                .unwrap_or(now_ms),
        }
    }
}

/// Per-key windows (key = account + endpoint, or IP).
#[derive(Debug, Default)]
pub struct Limiter {
    windows: HashMap<String, Window>,
}

impl Limiter {
    /// Take `units` from the window of `key`, creating it with `limit`/`window_ms` if new.
    pub fn take(
        &mut self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
        units: u32,
    ) -> LimitStatus {
        if !self.windows.contains_key(key) {
            self.windows
                .insert(key.to_string(), Window::new(limit, window_ms));
        }
        self.windows
            .get_mut(key)
            .expect("inserted above")
            .take(now_ms, units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_admits_more_than_budget() {
        let mut w = Window::new(10, 1000);
        let mut granted = 0;
        for i in 0..50 {
            granted += w.take(i * 10, 1).granted;
        }
        // 50 requests over 490 ms: exactly 10 fit in the window.
        assert_eq!(granted, 10);
        let s = w.take(1100, 3);
        assert_eq!(s.granted, 3);
        assert_eq!(s.remaining, 7);
    }

    #[test]
    fn batch_partially_granted() {
        let mut w = Window::new(10, 1000);
        assert_eq!(w.take(0, 5).granted, 5);
        let s = w.take(1, 8);
        assert_eq!(s.granted, 5);
        assert_eq!(s.remaining, 0);
        assert_eq!(s.reset_ms, 1000);
    }
}
