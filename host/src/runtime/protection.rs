//! The loop's side of position protection and de-risk: feed each symbol's position, pushes and
//! request outcomes to its [`Protector`] and [`Derisker`] (pure, in [`crate::risk`]) and send
//! what they ask for. Called on every `position` push, on a private reconnect and on the timer.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{debug, info, warn};

use super::rest::PositionState;
use super::{LoopEvent, Runtime};
use crate::config::{DeriskConfig, ProtectConfig};
use crate::exchange::bybit::messages::BybitPositionMsg;
use crate::model::Category;
use crate::risk::KillAction;
use crate::risk::derisk::{self, Derisker};
use crate::risk::protect::{self, ProtectAction, Protector, SendResult};

/// Every symbol's protector and de-risker.
#[derive(Debug, Default)]
pub(super) struct PositionGuards {
    protectors: HashMap<Arc<str>, Protector>,
    deriskers: HashMap<Arc<str>, Derisker>,
}

impl PositionGuards {
    /// From the per-symbol settings.
    pub(super) fn new(
        protect: &HashMap<String, ProtectConfig>,
        derisk: &HashMap<String, DeriskConfig>,
    ) -> Self {
        Self {
            protectors: protect
                .iter()
                .filter_map(|(s, c)| Some((s.as_str().into(), Protector::from_config(c)?)))
                .collect(),
            deriskers: derisk
                .iter()
                .filter_map(|(s, c)| Some((s.as_str().into(), Derisker::from_config(c)?)))
                .collect(),
        }
    }

    /// Symbol `symbol`'s protection in a few words (`-` when it has none).
    pub(super) fn describe(&self, symbol: &str) -> String {
        self.protectors
            .get(symbol)
            .map_or_else(|| "-".to_owned(), Protector::describe)
    }

    /// The private stream reconnected: set every stop again.
    pub(super) fn on_reconnect(&mut self) {
        for p in self.protectors.values_mut() {
            p.on_reconnect();
        }
    }
}

impl Runtime {
    /// A `position` push for symbol `i`: audit its stops against ours, then act at once.
    pub(super) fn audit_position(&mut self, i: usize, p: &BybitPositionMsg) {
        let symbol = &self.symbols[i].symbol;
        if let Some(pr) = self.protection.protectors.get_mut(symbol) {
            let size = PositionState::from_msg(p).size;
            pr.on_push(size, p.stop_loss, p.trailing_stop);
        }
        self.guard_symbol(i, super::now_ms());
    }

    /// Timer: protection and de-risk of every symbol.
    pub(super) fn guard_positions(&mut self, now: i64) {
        for i in 0..self.symbols.len() {
            self.guard_symbol(i, now);
        }
    }

    fn guard_symbol(&mut self, i: usize, now: i64) {
        let s = &self.symbols[i];
        if self.stopping || s.instrument.category != Category::Linear {
            return;
        }
        let (size, entry, tick) = (
            s.position.size,
            s.position.entry_price,
            s.instrument.tick_size,
        );
        if let Some(pr) = self.protection.protectors.get_mut(&s.symbol) {
            match pr.poll(now, size, entry, s.mid(), tick) {
                Some(ProtectAction::Send(target)) => {
                    let (client, tx) = (self.client.clone(), self.events_tx.clone());
                    let (category, symbol) = (s.instrument.category, s.symbol.clone());
                    info!(%symbol, position = %size, %entry, stop_loss = ?target.stop_loss, trailing_stop = ?target.trailing_stop, active_price = ?target.active_price, "setting position protection");
                    self.inflight.spawn(async move {
                        let r =
                            protect::set_trading_stop(&client, category, &symbol, &target).await;
                        let result = SendResult::of(&r);
                        if let Err(e) = r {
                            match result {
                                SendResult::NotModified => {
                                    debug!(%symbol, "position protection already in place")
                                }
                                _ => warn!(%symbol, error = %e, "trading-stop request failed"),
                            }
                        }
                        let _ = tx.send(LoopEvent::Protected { symbol, result }).await;
                    });
                }
                Some(ProtectAction::GiveUp { attempts }) => {
                    warn!(symbol = %s.symbol, attempts, "position protection not confirmed by the exchange; giving up until the position changes or the private stream reconnects")
                }
                None => {}
            }
        }
        let flattening =
            s.kill_action() == Some(KillAction::Flatten) || self.flattening.contains(&s.symbol);
        if flattening || !s.book.is_whole() {
            return;
        }
        if let Some(d) = self.protection.deriskers.get_mut(&s.symbol) {
            let touch = (
                s.book.best_bid().map(|l| l.price),
                s.book.best_ask().map(|l| l.price),
            );
            let inst = &s.instrument;
            if let Some(order) = d.poll(now, size, touch, inst.lot_size, inst.min_qty, inst.max_qty)
            {
                let (client, tx) = (self.client.clone(), self.events_tx.clone());
                let (category, symbol) = (inst.category, s.symbol.clone());
                info!(%symbol, position = %size, soft = %d.soft(), side = ?order.side, qty = %order.qty, price = %order.price, "de-risk: reduce-only IOC at the touch");
                self.inflight.spawn(async move {
                    let result = derisk::reduce_only_ioc_at(&client, category, &symbol, &order)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(LoopEvent::Derisked { symbol, result }).await;
                });
            }
        }
    }

    /// A trading-stop request of `symbol` finished.
    pub(super) fn on_protected(&mut self, symbol: &Arc<str>, result: SendResult) {
        if let Some(pr) = self.protection.protectors.get_mut(symbol) {
            pr.on_result(result);
        }
    }

    /// A de-risk order of `symbol` finished.
    pub(super) fn on_derisked(&mut self, symbol: &Arc<str>, result: Result<(), String>) {
        if let Err(error) = result {
            warn!(%symbol, %error, "de-risk order failed; retrying after the cooldown");
        }
        if let Some(d) = self.protection.deriskers.get_mut(symbol) {
            d.on_done();
        }
    }
}
