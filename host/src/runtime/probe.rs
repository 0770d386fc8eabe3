//! An optional observer of the loop: what each strategy call produced and what each reload
//! did, for tests and benchmarks. Off by default; when off it costs one branch.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

/// What the loop reports to an observer.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeEvent {
    /// A strategy call produced a ladder.
    Quoted {
        /// Symbol.
        symbol: Arc<str>,
        /// Book messages applied to this symbol so far.
        book_msgs: u64,
        /// Book resyncs of this symbol so far (gaps, crossed books, staleness).
        resyncs: u64,
        /// Reload generation the symbol runs.
        generation: u64,
        /// The strategy's best bid and ask (`None` when that side is empty).
        best: (Option<f64>, Option<f64>),
        /// Book mid at the call.
        mid: f64,
    },
    /// A symbol took a reload's change (parameters, module or limits).
    Applied {
        /// Symbol.
        symbol: Arc<str>,
        /// Reload generation.
        generation: u64,
        /// What changed, in words.
        what: String,
        /// Whether the old instance's state reached the new one (`None`: no hand-over).
        state_carried: Option<bool>,
        /// How long the loop was busy applying it.
        pause: Duration,
    },
    /// A symbol refused a reload's change and runs as before.
    Refused {
        /// Symbol.
        symbol: Arc<str>,
        /// Reload generation.
        generation: u64,
        /// Why.
        reason: String,
    },
    /// The first ladder after a reload, with the time since the file change was seen.
    FirstQuoteAfterReload {
        /// Symbol.
        symbol: Arc<str>,
        /// Reload generation.
        generation: u64,
        /// From the first file event to this ladder.
        since_change: Duration,
    },
    /// A symbol was added and quotes.
    Added {
        /// Symbol.
        symbol: Arc<str>,
    },
    /// A removed symbol has no orders left and is unsubscribed.
    Removed {
        /// Symbol.
        symbol: Arc<str>,
    },
    /// A reload was rejected as a whole; nothing changed.
    Rejected {
        /// The error, naming the file, key and reason.
        error: String,
    },
    /// A kill switch was raised, escalated or cleared.
    Kill {
        /// Symbol; `None`: the account.
        symbol: Option<Arc<str>>,
        /// The action now in force; `None`: cleared.
        action: Option<crate::risk::KillAction>,
        /// What raised it (when cleared: what had raised it).
        trigger: Option<crate::risk::KillTrigger>,
        /// Details, or why it was cleared.
        detail: String,
    },
    /// The dead man's switch fired (the private stream stayed down; every order cancelled over
    /// REST) or was released (the stream is back and reconciled).
    DeadMan {
        /// Fired (`true`) or released.
        fired: bool,
    },
}

/// Sender side of the observer; `Probe::default()` observes nothing.
#[derive(Clone, Debug, Default)]
pub struct Probe(Option<mpsc::UnboundedSender<ProbeEvent>>);

impl Probe {
    /// A probe and the receiver of its events.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<ProbeEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(Some(tx)), rx)
    }

    /// Whether anyone observes.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Report `event` (built only when observed).
    pub fn emit(&self, event: impl FnOnce() -> ProbeEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event());
        }
    }
}
