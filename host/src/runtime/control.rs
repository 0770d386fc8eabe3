//! Asking the running loop questions from outside it: a snapshot of every symbol (open
//! orders, position, module, reload generation). Used by tests to compare the host's view with
//! the exchange's, and by operator commands.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use super::{LoopEvent, Runtime};

/// One symbol as the loop sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolSnapshot {
    /// Symbol.
    pub symbol: String,
    /// Order-link ids of our orders not known to be finished.
    pub open_orders: Vec<String>,
    /// Signed position.
    pub position: Decimal,
    /// Module label (`file@hash`).
    pub module: String,
    /// Reload generation the symbol runs.
    pub generation: u64,
    /// Why the strategy is disabled, if it is.
    pub disabled: Option<String>,
    /// Book messages applied since start.
    pub book_msgs: u64,
    /// Plans a book frame caused whose requests were made ready (each one a tick-to-order
    /// latency sample), since start.
    pub ticks_to_order: u64,
    /// Book resyncs since start.
    pub resyncs: u64,
    /// Being removed.
    pub retiring: bool,
    /// The kill action this symbol obeys (its own or the account's), e.g. `halt`.
    pub kill: Option<String>,
    /// What raised the symbol's own kill, e.g. `stale_data`.
    pub kill_trigger: Option<String>,
    /// The account's kill action, e.g. `flatten`.
    pub account_kill: Option<String>,
    /// Plans whose quotes the hard limits clamped, since start.
    pub clamps: u64,
    /// The limits that clamped the last plan (`max_long`, `max_order_size`, ...).
    pub clamped: Vec<String>,
    /// Position protection in a few words (`trailing armed sl=… ts=…`, `-` when none).
    pub protect: String,
    /// The account's equity as the host marks it (same on every row; `None` before the
    /// first wallet reading).
    pub account_equity: Option<Decimal>,
}

/// A handle to the running loop; cheap to clone, usable before the loop starts (it answers
/// `None` until then and after it stopped).
#[derive(Clone, Debug, Default)]
pub struct Control(Arc<Mutex<Option<mpsc::Sender<LoopEvent>>>>);

impl Control {
    /// Connect this handle to a loop's event channel.
    pub fn attach(&self, events: mpsc::Sender<LoopEvent>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(events);
    }

    /// Every symbol's snapshot, taken between two events.
    pub async fn snapshot(&self) -> Option<Vec<SymbolSnapshot>> {
        let tx = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        let (reply, rx) = oneshot::channel();
        tx.send(LoopEvent::Snapshot(reply)).await.ok()?;
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .ok()?
            .ok()
    }

    /// Clear the kill of `symbol`, or of the account and every symbol (`None`). Returns
    /// whether the loop took the command.
    pub async fn clear_kill(&self, symbol: Option<String>) -> bool {
        self.send(LoopEvent::ClearKill(symbol)).await
    }

    /// Raise `action` by hand on `symbol`, or on the account (`None`).
    pub async fn kill(&self, symbol: Option<String>, action: crate::risk::KillAction) -> bool {
        self.send(LoopEvent::Kill(symbol, action)).await
    }

    async fn send(&self, ev: LoopEvent) -> bool {
        let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return false;
        };
        tx.send(ev).await.is_ok()
    }
}

impl Runtime {
    pub(super) fn snapshot(&self) -> Vec<SymbolSnapshot> {
        let account = self.account_action();
        let equity = self.guard.equity.equity();
        self.symbols
            .iter()
            .map(|s| SymbolSnapshot {
                symbol: s.symbol.to_string(),
                open_orders: s.working.open().map(|o| o.link_id.to_string()).collect(),
                position: s.position.size,
                module: s.module.clone(),
                generation: s.generation,
                disabled: s.disabled.clone(),
                book_msgs: s.book_total,
                ticks_to_order: s.ticks_to_order,
                resyncs: s.resyncs,
                retiring: s.retiring,
                kill: crate::risk::effective(s.kill.action(), account)
                    .map(|a| a.as_str().to_owned()),
                kill_trigger: s.kill.active().map(|k| k.trigger.as_str().to_owned()),
                account_kill: account.map(|a| a.as_str().to_owned()),
                clamps: s.clamps,
                clamped: s.clamped.iter().map(|c| c.to_string()).collect(),
                protect: self.protection.describe(&s.symbol),
                account_equity: equity,
            })
            .collect()
    }
}
