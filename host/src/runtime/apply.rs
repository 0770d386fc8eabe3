//! Applying a reload inside the loop, between two events.
//!
//! Everything slow (reading files, compiling modules, creating instances, REST calls for a new
//! symbol) happened before the [`ReloadBatch`] reached the loop. Here each affected symbol
//! takes its change in a few microseconds: limits are replaced in place, parameters go to the
//! running strategy's update callback, and a new instance (new module, or a strategy that asked
//! to be re-created) gets the old one's state and must produce a valid ladder on the current
//! book before it replaces the old one. Working orders stay; the next diff amends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::{error, info, warn};

use super::probe::ProbeEvent;
use super::symbol::{SymbolSetup, SymbolState};
use super::{Runtime, now_ms};
use crate::plugin::StrategyInstance;
use crate::router::batch::TimeInForce;
use crate::router::symbol::SymbolConfig;

/// New limits and router settings of one symbol.
#[derive(Clone, Debug)]
pub struct SymbolLimits {
    /// Hard limits and requote tolerance.
    pub router: SymbolConfig,
    /// Levels per side.
    pub levels: usize,
    /// Maximum position passed to the strategy.
    pub max_position: f64,
    /// Target position passed to the strategy.
    pub target_position: f64,
    /// Stale-data threshold, ms.
    pub stale_after_ms: i64,
    /// Position protection.
    pub protect: Option<crate::config::ProtectConfig>,
    /// De-risk settings.
    pub derisk: Option<crate::config::DeriskConfig>,
}

/// One symbol's prepared change.
pub struct SymbolChange {
    /// The symbol.
    pub symbol: Arc<str>,
    /// What changed, in words (for the log).
    pub what: String,
    /// New parameters for the running strategy's update callback.
    pub params: Option<Vec<u8>>,
    /// A new instance created with the new module and/or parameters: swapped in when the
    /// module changed, or when the running strategy asks to be re-created.
    pub instance: Option<StrategyInstance>,
    /// The module changed: the new instance replaces the old one.
    pub module_swap: bool,
    /// Module label for the status line (`file@hash`).
    pub module: String,
    /// New limits.
    pub limits: Option<SymbolLimits>,
}

/// A whole reload, ready to apply.
pub struct ReloadBatch {
    /// Reload generation (increases by one per applied reload).
    pub generation: u64,
    /// When the first file event of this reload was seen.
    pub started: Instant,
    /// Changes of running symbols.
    pub changes: Vec<SymbolChange>,
    /// Symbols to start.
    pub added: Vec<SymbolSetup>,
    /// Symbols to stop.
    pub removed: Vec<Arc<str>>,
    /// New time in force of new quotes.
    pub time_in_force: Option<TimeInForce>,
    /// New kill-switch and disconnect-protection settings.
    pub kill: Option<(crate::config::KillConfig, crate::config::DisconnectConfig)>,
    /// Where the outcome goes.
    pub reply: Option<oneshot::Sender<ReloadReport>>,
}

/// What the loop did with a batch.
#[derive(Clone, Debug, Default)]
pub struct ReloadReport {
    /// Symbols that took their change.
    pub applied: Vec<String>,
    /// Symbols that refused it, with the reason; they run as before.
    pub refused: Vec<(String, String)>,
    /// Symbols added and quoting.
    pub added: Vec<String>,
    /// The longest time the loop spent on one symbol's change.
    pub longest_pause: Duration,
}

impl std::fmt::Debug for ReloadBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadBatch")
            .field("generation", &self.generation)
            .field("changes", &self.changes.len())
            .field("added", &self.added.len())
            .field("removed", &self.removed)
            .finish()
    }
}

impl ReloadBatch {
    /// Answer that nothing was applied.
    pub fn refuse(self, reason: &str) {
        let mut report = ReloadReport::default();
        for c in &self.changes {
            report
                .refused
                .push((c.symbol.to_string(), reason.to_owned()));
        }
        for s in &self.added {
            report
                .refused
                .push((s.instrument.symbol.clone(), reason.to_owned()));
        }
        if let Some(reply) = self.reply {
            let _ = reply.send(report);
        }
    }
}

impl Runtime {
    /// Apply `batch` now, between two events.
    pub(super) fn apply_reload(&mut self, batch: ReloadBatch) {
        let mut report = ReloadReport::default();
        let generation = batch.generation;
        if let Some(tif) = batch.time_in_force {
            self.cfg.batch.time_in_force = tif;
        }
        if let Some((kill, disconnect)) = batch.kill {
            info!(?kill, ?disconnect, "kill-switch settings changed");
            let window = disconnect.dcp_window_s;
            let rearm = window.is_some() && window != self.guard.disconnect.dcp_window_s;
            self.guard.set_config(kill.clone(), disconnect.clone());
            self.cfg.kill = kill;
            self.cfg.disconnect = disconnect;
            if rearm {
                self.spawn_arm_dcp();
            }
        }
        let mut retired = Vec::new();
        for mut change in batch.changes {
            let t0 = Instant::now();
            let symbol = change.symbol.clone();
            let risk = change
                .limits
                .as_ref()
                .map(|l| (l.protect.clone(), l.derisk.clone()));
            let outcome = match self.index.get(&symbol) {
                Some(&i) => {
                    let s = &mut self.symbols[i];
                    let out = apply_change(s, &mut change, generation, batch.started);
                    retired.append(&mut s.retired);
                    out
                }
                None => Err("not running".to_owned()),
            };
            retired.extend(change.instance.take());
            let pause = t0.elapsed();
            if let Some(&i) = self.index.get(&symbol) {
                self.symbols[i].flush_observation();
            }
            report.longest_pause = report.longest_pause.max(pause);
            if let (Ok(_), Some((protect, derisk))) = (&outcome, risk) {
                self.set_protection(&symbol, protect, derisk);
            }
            match outcome {
                Ok((what, state_carried)) => {
                    info!(%symbol, generation, %what, pause_us = pause.as_secs_f64() * 1e6, "reload applied");
                    self.probe.emit(|| ProbeEvent::Applied {
                        symbol: symbol.clone(),
                        generation,
                        what,
                        state_carried,
                        pause,
                    });
                    report.applied.push(symbol.to_string());
                }
                Err(reason) => {
                    error!(%symbol, generation, %reason, "reload refused; the symbol runs as before");
                    self.probe.emit(|| ProbeEvent::Refused {
                        symbol: symbol.clone(),
                        generation,
                        reason: reason.clone(),
                    });
                    report.refused.push((symbol.to_string(), reason));
                }
            }
        }
        for setup in batch.added {
            let symbol = setup.instrument.symbol.clone();
            match self.add_symbol(setup) {
                Ok(()) => report.added.push(symbol),
                Err(reason) => {
                    error!(%symbol, %reason, "symbol not added");
                    report.refused.push((symbol, reason));
                }
            }
        }
        for symbol in batch.removed {
            if let Some(&i) = self.index.get(&symbol) {
                let s = &mut self.symbols[i];
                s.retiring = true;
                s.route_dirty = true;
                info!(%symbol, "removing: pulling quotes, then unsubscribing");
            }
        }
        if !retired.is_empty() {
            tokio::task::spawn_blocking(move || drop(retired));
        }
        if let Some(reply) = batch.reply {
            let _ = reply.send(report);
        }
    }

    fn add_symbol(&mut self, setup: SymbolSetup) -> Result<(), String> {
        if self.index.contains_key(setup.instrument.symbol.as_str()) {
            return Err("already running (still being removed?)".into());
        }
        let (protect, derisk) = (setup.protect.clone(), setup.derisk.clone());
        let mut state = SymbolState::new(setup).map_err(|e| e.to_string())?;
        state.probe = self.probe.clone();
        let symbol = state.symbol.clone();
        let i = self.symbols.len();
        self.symbols.push(state);
        self.index.insert(symbol.clone(), i);
        if let Err(e) = self.attach_symbol(i) {
            self.symbols.pop();
            self.index.remove(&symbol);
            return Err(format!("cannot subscribe: {e}"));
        }
        self.set_protection(&symbol, protect, derisk);
        info!(%symbol, "symbol added; quoting once its book is whole");
        self.probe.emit(|| ProbeEvent::Added { symbol });
        Ok(())
    }

    fn set_protection(
        &mut self,
        symbol: &str,
        protect: Option<crate::config::ProtectConfig>,
        derisk: Option<crate::config::DeriskConfig>,
    ) {
        match protect {
            Some(p) => self.cfg.protect.insert(symbol.to_owned(), p),
            None => self.cfg.protect.remove(symbol),
        };
        match derisk {
            Some(d) => self.cfg.derisk.insert(symbol.to_owned(), d),
            None => self.cfg.derisk.remove(symbol),
        };
    }

    /// Drop retiring symbols that have no order of ours left, and unsubscribe them.
    pub(super) fn finish_retired(&mut self) {
        let done: Vec<usize> = (0..self.symbols.len())
            .rev()
            .filter(|&i| self.symbols[i].retiring && self.symbols[i].open_orders() == 0)
            .collect();
        if done.is_empty() {
            return;
        }
        for i in done {
            let s = self.symbols.remove(i);
            self.detach_symbol(s.conn, &s.symbol);
            info!(symbol = %s.symbol, position = %s.position.size, "symbol removed: no orders left, unsubscribed");
            self.probe.emit(|| ProbeEvent::Removed {
                symbol: s.symbol.clone(),
            });
        }
        self.index = self
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol.clone(), i))
            .collect();
    }
}

/// Apply one change to one symbol. Returns what changed and whether state was handed over.
fn apply_change(
    s: &mut SymbolState,
    change: &mut SymbolChange,
    generation: u64,
    started: Instant,
) -> Result<(String, Option<bool>), String> {
    if s.retiring {
        return Err("being removed".into());
    }
    let previous = s.generation;
    s.begin_generation(generation, started);
    let result = swap_or_update(
        s,
        &change.params,
        &mut change.instance,
        change.module_swap,
        std::mem::take(&mut change.module),
    );
    match result {
        Ok(state_carried) => {
            if let Some(l) = change.limits.take() {
                s.set_limits(l);
            }
            Ok((std::mem::take(&mut change.what), state_carried))
        }
        Err(e) => {
            s.cancel_generation(previous);
            Err(e)
        }
    }
}

fn swap_or_update(
    s: &mut SymbolState,
    params: &Option<Vec<u8>>,
    instance: &mut Option<StrategyInstance>,
    module_swap: bool,
    module: String,
) -> Result<Option<bool>, String> {
    let now = now_ms();
    // An instance not swapped in stays in `instance`: the caller drops it off the loop.
    let swap = |s: &mut SymbolState, instance: &mut Option<StrategyInstance>| {
        let next = instance
            .take()
            .ok_or_else(|| "no new instance prepared".to_owned())?;
        let carried = s.swap_strategy(next, module, now)?;
        if !carried {
            warn!(symbol = %s.symbol, "the new instance started without the old state");
        }
        Ok(Some(carried))
    };
    if module_swap {
        return swap(s, instance);
    }
    let Some(params) = params else {
        return Ok(None);
    };
    match s.update_params(params) {
        Ok(plugin_api::UpdateOutcome::Applied) => Ok(None),
        Ok(plugin_api::UpdateOutcome::Recreate) => swap(s, instance),
        Err(e) => Err(format!("the strategy refused the parameters: {e}")),
    }
}
