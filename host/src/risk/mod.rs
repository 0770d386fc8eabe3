//! Risk controls the host enforces whatever the strategies do: kill states per symbol and per
//! account with their automatic triggers, account equity tracking, and disconnect protection.
//!
//! [`kill`] and [`account`] are pure logic; [`actions`] holds the few REST calls the controls
//! make (cancel-all, reduce-only IOC, arming DCP). [`protect`] keeps exchange-side stops
//! (trailing or break-even) on each position; [`derisk`] trims a position beyond its soft
//! limit. The runtime loop owns an [`AccountGuard`]
//! and a [`KillState`] per symbol and consults them each round; hard limits on order sizes
//! live in [`crate::router::limits`].

pub mod account;
pub mod actions;
pub mod derisk;
pub mod kill;
pub mod protect;

use std::collections::HashMap;
use std::sync::Arc;

pub use account::AccountRisk;
pub use kill::{EventWindow, Kill, KillAction, KillState, KillTrigger, effective, pulls_quotes};

use crate::config::{DisconnectConfig, KillConfig};

/// Default of `disconnect.dead_man_ms`.
pub const DEFAULT_DEAD_MAN_MS: u64 = 10_000;
/// Default window of the reject and rate-limit counters, ms.
pub const DEFAULT_WINDOW_MS: u64 = 10_000;

/// The account-wide risk state the runtime loop owns.
#[derive(Debug)]
pub struct AccountGuard {
    /// Kill switch settings.
    pub cfg: KillConfig,
    /// Disconnect protection settings.
    pub disconnect: DisconnectConfig,
    /// The account's kill.
    pub kill: KillState,
    /// Equity, peak, day start.
    pub equity: AccountRisk,
    /// Since when the private stream is down (ms), if it is.
    pub private_down_since: Option<i64>,
    /// The dead man's switch fired: quotes stay pulled until the private stream is back and
    /// reconciled.
    pub dead_man_fired: bool,
    rate_limits: Option<EventWindow>,
    rejects: HashMap<Arc<str>, EventWindow>,
}

impl AccountGuard {
    /// A guard with `cfg` and `disconnect`.
    pub fn new(cfg: KillConfig, disconnect: DisconnectConfig) -> Self {
        let rate_limits = cfg
            .rate_limit_hits
            .map(|n| EventWindow::new(n, cfg.rate_limit_window_ms.unwrap_or(DEFAULT_WINDOW_MS)));
        Self {
            cfg,
            disconnect,
            kill: KillState::default(),
            equity: AccountRisk::default(),
            private_down_since: None,
            dead_man_fired: false,
            rate_limits,
            rejects: HashMap::new(),
        }
    }

    /// New settings from a reload: the kill, equity and stream state stay; the reject and
    /// rate-limit windows start again when their settings changed.
    pub fn set_config(&mut self, cfg: KillConfig, disconnect: DisconnectConfig) {
        if (cfg.rate_limit_hits, cfg.rate_limit_window_ms)
            != (self.cfg.rate_limit_hits, self.cfg.rate_limit_window_ms)
        {
            self.rate_limits = cfg.rate_limit_hits.map(|n| {
                EventWindow::new(n, cfg.rate_limit_window_ms.unwrap_or(DEFAULT_WINDOW_MS))
            });
        }
        if (cfg.reject_storm, cfg.reject_window_ms)
            != (self.cfg.reject_storm, self.cfg.reject_window_ms)
        {
            self.rejects.clear();
        }
        self.cfg = cfg;
        self.disconnect = disconnect;
    }

    /// The dead man's switch delay, ms.
    pub fn dead_man_ms(&self) -> i64 {
        self.disconnect.dead_man_ms.unwrap_or(DEFAULT_DEAD_MAN_MS) as i64
    }

    /// A rate-limited reply at `now_ms`: the action to raise when that makes exhaustion.
    pub fn on_rate_limited(&mut self, now_ms: i64) -> Option<(KillAction, String)> {
        let w = self.rate_limits.as_mut()?;
        let action = self.cfg.rate_limit_action?;
        w.record(now_ms).then(|| {
            (
                action,
                format!("{} rate-limited replies in the window", w.count()),
            )
        })
    }

    /// A rejected order request on `symbol` at `now_ms`: the action to raise when that makes
    /// a storm.
    pub fn on_reject(&mut self, symbol: &Arc<str>, now_ms: i64) -> Option<(KillAction, String)> {
        let n = self.cfg.reject_storm?;
        let action = self.cfg.reject_storm_action?;
        let window = self.cfg.reject_window_ms.unwrap_or(DEFAULT_WINDOW_MS);
        let w = self
            .rejects
            .entry(symbol.clone())
            .or_insert_with(|| EventWindow::new(n, window));
        w.record(now_ms)
            .then(|| (action, format!("{} rejects in {window} ms", w.count())))
    }

    /// The private stream down at `now_ms`: whether the lost-stream kill is due.
    pub fn private_lost_due(&self, now_ms: i64) -> Option<(KillAction, String)> {
        let since = self.private_down_since?;
        let after = self.cfg.private_lost_after_ms? as i64;
        let action = self.cfg.private_lost_action?;
        (now_ms - since >= after).then(|| {
            (
                action,
                format!("private stream down for {} ms", now_ms - since),
            )
        })
    }

    /// Whether the dead man's switch should fire now (down long enough, not fired yet).
    pub fn dead_man_due(&self, now_ms: i64) -> bool {
        !self.dead_man_fired
            && self
                .private_down_since
                .is_some_and(|since| now_ms - since >= self.dead_man_ms())
    }

    /// Forget counted events (after a clear). The equity's peak and day start stay: only
    /// clearing a drawdown or daily-loss kill rebases them (see `AccountRisk::rebase`).
    pub fn reset_counters(&mut self, symbol: Option<&str>) {
        match symbol {
            Some(s) => {
                self.rejects.remove(s);
            }
            None => {
                self.rejects.clear();
                if let Some(w) = &mut self.rate_limits {
                    w.reset();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_need_their_settings() {
        let mut g = AccountGuard::new(KillConfig::default(), DisconnectConfig::default());
        let sym: Arc<str> = "X".into();
        for t in 0..100 {
            assert!(g.on_reject(&sym, t).is_none());
            assert!(g.on_rate_limited(t).is_none());
        }
        g.private_down_since = Some(0);
        assert!(g.private_lost_due(1_000_000).is_none());
        assert!(!g.dead_man_due(9_999));
        assert!(g.dead_man_due(10_000), "the dead man's switch is always on");
    }

    #[test]
    fn storms_trip_their_actions() {
        let cfg = KillConfig {
            reject_storm: Some(3),
            reject_window_ms: Some(1000),
            reject_storm_action: Some(KillAction::Halt),
            rate_limit_hits: Some(2),
            rate_limit_action: Some(KillAction::CancelAll),
            private_lost_after_ms: Some(500),
            private_lost_action: Some(KillAction::Flatten),
            ..Default::default()
        };
        let mut g = AccountGuard::new(cfg, DisconnectConfig::default());
        let (a, b): (Arc<str>, Arc<str>) = ("A".into(), "B".into());
        assert!(g.on_reject(&a, 0).is_none());
        assert!(g.on_reject(&b, 1).is_none());
        assert!(g.on_reject(&a, 2).is_none());
        assert_eq!(g.on_reject(&a, 3).map(|x| x.0), Some(KillAction::Halt));
        g.reset_counters(Some("A"));
        assert!(g.on_reject(&a, 4).is_none());
        assert!(g.on_rate_limited(0).is_none());
        assert_eq!(
            g.on_rate_limited(5).map(|x| x.0),
            Some(KillAction::CancelAll)
        );
        g.private_down_since = Some(100);
        assert!(g.private_lost_due(599).is_none());
        assert_eq!(
            g.private_lost_due(600).map(|x| x.0),
            Some(KillAction::Flatten)
        );
    }
}
