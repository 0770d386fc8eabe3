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
    /// Book resyncs since start.
    pub resyncs: u64,
    /// Being removed.
    pub retiring: bool,
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
}

impl Runtime {
    pub(super) fn snapshot(&self) -> Vec<SymbolSnapshot> {
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
                resyncs: s.resyncs,
                retiring: s.retiring,
            })
            .collect()
    }
}
