//! Public messages held back while the market generator sweeps the markets.
//!
//! A sweep steps every market due at this moment (all of them, at the start of each publish
//! interval), which takes a while for hundreds of markets. Sending each message as it is made
//! would smear one interval's updates over the whole sweep, one small socket write at a time.
//! A venue pushing on a cadence sends an interval's updates together; so does the sim: while a
//! sweep runs, every public message (the sweep's own and any a request publishes meanwhile) is
//! queued in order, and the whole queue goes out when the sweep ends.

use super::PublicMsg;
use tokio::sync::broadcast;

/// The queue of held public messages, in publication order.
#[derive(Debug, Default)]
pub struct PublicOutbox {
    held: bool,
    queue: Vec<(broadcast::Sender<PublicMsg>, PublicMsg)>,
}

impl PublicOutbox {
    /// Publish `msg` on `topic`: now, or at [`release`](Self::release) while held.
    pub fn send(&mut self, topic: &broadcast::Sender<PublicMsg>, msg: PublicMsg) {
        if self.held {
            self.queue.push((topic.clone(), msg));
        } else {
            // No subscriber is not an error: the message is simply not wanted.
            let _ = topic.send(msg);
        }
    }

    /// Hold every message published from now on until [`release`](Self::release).
    pub fn hold(&mut self) {
        self.held = true;
    }

    /// Send everything held, in order, and publish directly again.
    pub fn release(&mut self) {
        self.held = false;
        for (topic, msg) in self.queue.drain(..) {
            let _ = topic.send(msg);
        }
    }

    /// Messages waiting for [`release`](Self::release).
    pub fn held_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(u: u64) -> PublicMsg {
        PublicMsg {
            u,
            text: format!("m{u}").into(),
        }
    }

    #[test]
    fn held_messages_go_out_in_order_on_release() {
        let (a, mut ra) = broadcast::channel(16);
        let (b, mut rb) = broadcast::channel(16);
        let mut out = PublicOutbox::default();
        out.send(&a, msg(1));
        assert_eq!(ra.try_recv().unwrap().u, 1, "not held: sent at once");
        out.hold();
        out.send(&a, msg(2));
        out.send(&b, msg(3));
        out.send(&a, msg(4));
        assert!(ra.try_recv().is_err() && rb.try_recv().is_err());
        assert_eq!(out.held_len(), 3);
        out.release();
        assert_eq!(out.held_len(), 0);
        assert_eq!(ra.try_recv().unwrap().u, 2);
        assert_eq!(ra.try_recv().unwrap().u, 4);
        assert_eq!(rb.try_recv().unwrap().u, 3);
        out.send(&b, msg(5));
        assert_eq!(rb.try_recv().unwrap().u, 5, "released: direct again");
    }
}
