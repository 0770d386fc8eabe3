//! Kill states and the counting behind automatic triggers: pure logic, no I/O.
//!
//! A [`KillState`] latches the harshest [`KillAction`] raised on it (per symbol or for the
//! account) until cleared. The action a symbol obeys is the harsher of its own and the
//! account's ([`effective`]). [`EventWindow`] counts events (rejects, rate-limit hits) in a
//! sliding window.

use std::collections::VecDeque;
use std::fmt;

pub use crate::config::KillAction;

/// What raised a kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillTrigger {
    /// Equity fell too far from its peak.
    Drawdown,
    /// Equity fell too far since the start of the UTC day.
    DailyLoss,
    /// Market data went stale.
    StaleData,
    /// Too many rejected order requests in a window.
    RejectStorm,
    /// Too many rate-limited replies in a window.
    RateLimit,
    /// The strategy trapped, timed out or failed.
    StrategyFault,
    /// The private stream stayed down too long.
    PrivateStreamLost,
    /// An operator command.
    Manual,
}

impl KillTrigger {
    /// Short name for logs and snapshots.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drawdown => "drawdown",
            Self::DailyLoss => "daily_loss",
            Self::StaleData => "stale_data",
            Self::RejectStorm => "reject_storm",
            Self::RateLimit => "rate_limit",
            Self::StrategyFault => "strategy_fault",
            Self::PrivateStreamLost => "private_stream_lost",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for KillTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for KillAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A latched kill: the harshest action raised since the last clear, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KillState {
    active: Option<Kill>,
}

/// One active kill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    /// What to do.
    pub action: KillAction,
    /// What raised the binding action.
    pub trigger: KillTrigger,
    /// Details, for logs.
    pub detail: String,
    /// When it was raised (or last escalated), ms since the epoch.
    pub since_ms: i64,
}

impl KillState {
    /// Raise `action`; returns the new kill when it is new or harsher than the active one
    /// (a milder or equal action changes nothing).
    pub fn raise(
        &mut self,
        action: KillAction,
        trigger: KillTrigger,
        detail: impl Into<String>,
        now_ms: i64,
    ) -> Option<&Kill> {
        if self.active.as_ref().is_some_and(|k| k.action >= action) {
            return None;
        }
        self.active = Some(Kill {
            action,
            trigger,
            detail: detail.into(),
            since_ms: now_ms,
        });
        self.active.as_ref()
    }

    /// Clear; returns what was active.
    pub fn clear(&mut self) -> Option<Kill> {
        self.active.take()
    }

    /// The active kill.
    pub fn active(&self) -> Option<&Kill> {
        self.active.as_ref()
    }

    /// The active action.
    pub fn action(&self) -> Option<KillAction> {
        self.active.as_ref().map(|k| k.action)
    }
}

/// The harsher of two actions.
pub fn effective(a: Option<KillAction>, b: Option<KillAction>) -> Option<KillAction> {
    a.max(b)
}

/// Whether `action` pulls every quote (everything but reduce-only does).
pub fn pulls_quotes(action: Option<KillAction>) -> bool {
    action.is_some_and(|a| a >= KillAction::Halt)
}

/// Counts events in a sliding window: trips when `threshold` fall within `window_ms`.
#[derive(Clone, Debug)]
pub struct EventWindow {
    window_ms: i64,
    threshold: usize,
    times: VecDeque<i64>,
}

impl EventWindow {
    /// A window of `window_ms` tripping at `threshold` events (at least 1).
    pub fn new(threshold: u32, window_ms: u64) -> Self {
        Self {
            window_ms: window_ms as i64,
            threshold: threshold.max(1) as usize,
            times: VecDeque::new(),
        }
    }

    /// Record an event at `now_ms`; true when the window now holds `threshold` or more.
    pub fn record(&mut self, now_ms: i64) -> bool {
        self.times.push_back(now_ms);
        while self
            .times
            .front()
            .is_some_and(|&t| t <= now_ms - self.window_ms)
        {
            self.times.pop_front();
        }
        self.times.len() >= self.threshold
    }

    /// Events in the window as of the last record.
    pub fn count(&self) -> usize {
        self.times.len()
    }

    /// Forget every event.
    pub fn reset(&mut self) {
        self.times.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KillAction::*;

    #[test]
    fn raise_latches_the_harshest_action() {
        let mut k = KillState::default();
        assert!(k.raise(Halt, KillTrigger::StaleData, "stale", 1).is_some());
        assert!(
            k.raise(ReduceOnly, KillTrigger::RejectStorm, "", 2)
                .is_none()
        );
        assert!(k.raise(Halt, KillTrigger::RejectStorm, "", 3).is_none());
        assert_eq!(k.active().unwrap().trigger, KillTrigger::StaleData);
        let up = k.raise(Flatten, KillTrigger::Drawdown, "dd", 4).unwrap();
        assert_eq!((up.action, up.since_ms), (Flatten, 4));
        assert_eq!(k.clear().map(|k| k.action), Some(Flatten));
        assert_eq!(k.action(), None);
    }

    #[test]
    fn effective_and_pull_table() {
        let cases = [
            (None, None, None, false),
            (Some(ReduceOnly), None, Some(ReduceOnly), false),
            (Some(ReduceOnly), Some(Halt), Some(Halt), true),
            (None, Some(CancelAll), Some(CancelAll), true),
            (Some(Flatten), Some(Halt), Some(Flatten), true),
        ];
        for (a, b, want, pull) in cases {
            assert_eq!(effective(a, b), want, "{a:?} {b:?}");
            assert_eq!(pulls_quotes(want), pull, "{want:?}");
        }
    }

    #[test]
    fn window_trips_at_threshold_and_forgets_old_events() {
        let mut w = EventWindow::new(3, 1000);
        assert!(!w.record(0));
        assert!(!w.record(500));
        assert!(w.record(900));
        let mut w = EventWindow::new(3, 1000);
        assert!(!w.record(0));
        assert!(!w.record(600));
        assert!(!w.record(1000), "the first event left the window");
        assert_eq!(w.count(), 2);
        assert!(w.record(1500));
        w.reset();
        assert_eq!(w.count(), 0);
    }
}
