//! The runtime's public connections: symbols grouped per category, several per connection,
//! added and removed while the host runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{LoopEvent, Runtime};
use crate::exchange::bybit::ws::{
    PublicStreamConfig, PublicStreamHandle, PublicStreamTask, WsError,
};
use crate::model::Category;

/// Where public streams connect and how many symbols share a connection.
#[derive(Clone, Debug)]
pub struct PublicUrls {
    /// Linear public stream URL.
    pub linear: String,
    /// Spot public stream URL.
    pub spot: String,
    /// Symbols per connection.
    pub symbols_per_connection: usize,
}

/// One public connection and the symbols it carries.
pub struct PublicConn {
    /// Its handle (resync, add/remove symbol, shutdown).
    pub handle: PublicStreamHandle,
    /// The category of its symbols.
    pub category: Category,
    /// The symbols it carries.
    pub symbols: Vec<Arc<str>>,
    join: JoinHandle<()>,
}

impl Runtime {
    /// Open connections for every symbol: per category, `symbols_per_connection` each.
    pub fn start_streams(&mut self) -> Result<(), WsError> {
        for category in [Category::Linear, Category::Spot] {
            let members: Vec<usize> = (0..self.symbols.len())
                .filter(|&i| self.symbols[i].instrument.category == category)
                .collect();
            for chunk in members.chunks(self.urls.symbols_per_connection.max(1)) {
                self.open_public(category, chunk)?;
            }
        }
        Ok(())
    }

    fn open_public(&mut self, category: Category, members: &[usize]) -> Result<usize, WsError> {
        let url = match category {
            Category::Linear => &self.urls.linear,
            Category::Spot => &self.urls.spot,
        };
        let names: Vec<Arc<str>> = members
            .iter()
            .map(|&i| self.symbols[i].symbol.clone())
            .collect();
        let config =
            PublicStreamConfig::new(url.clone(), names.iter().map(|s| s.to_string()).collect());
        let conn = self
            .publics
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.publics.len());
        // The stream task sends straight into the loop's channel, tagged with `conn`.
        let (handle, join) =
            PublicStreamTask::spawn_into(config, self.events_tx.clone(), conn, LoopEvent::Public)?;
        let pc = PublicConn {
            handle,
            category,
            symbols: names,
            join,
        };
        if conn == self.publics.len() {
            self.publics.push(Some(pc));
        } else {
            self.publics[conn] = Some(pc);
        }
        for &i in members {
            self.symbols[i].conn = conn;
        }
        Ok(conn)
    }

    /// Carry symbol `i` (just added) on a connection of its category with room, or a new one.
    pub(super) fn attach_symbol(&mut self, i: usize) -> Result<(), WsError> {
        let (symbol, category) = (
            self.symbols[i].symbol.clone(),
            self.symbols[i].instrument.category,
        );
        let room = self.urls.symbols_per_connection.max(1);
        let found = self.publics.iter_mut().enumerate().find_map(|(c, pc)| {
            pc.as_mut()
                .filter(|pc| pc.category == category && pc.symbols.len() < room)
                .map(|pc| (c, pc))
        });
        if let Some((c, pc)) = found
            && pc.handle.add_symbol(&symbol)
        {
            pc.symbols.push(symbol);
            self.symbols[i].conn = c;
            return Ok(());
        }
        self.open_public(category, &[i]).map(|_| ())
    }

    /// Stop carrying `symbol` on connection `conn`; a connection left empty is closed.
    pub(super) fn detach_symbol(&mut self, conn: usize, symbol: &str) {
        let Some(Some(pc)) = self.publics.get_mut(conn) else {
            return;
        };
        pc.symbols.retain(|s| &**s != symbol);
        if pc.symbols.is_empty() {
            if let Some(pc) = self.publics[conn].take() {
                info!(conn, "public connection closed: no symbols left");
                tokio::spawn(async move {
                    pc.handle.shutdown().await;
                    let abort = pc.join.abort_handle();
                    if tokio::time::timeout(Duration::from_secs(2), pc.join)
                        .await
                        .is_err()
                    {
                        // Stop it for good: its connection number may be reused.
                        abort.abort();
                    }
                });
            }
        } else if !pc.handle.remove_symbol(symbol) {
            warn!(conn, %symbol, "could not unsubscribe (connection busy); its messages are ignored");
        }
    }

    /// The handle of connection `conn`.
    pub(super) fn public_handle(&self, conn: usize) -> Option<&PublicStreamHandle> {
        self.publics.get(conn)?.as_ref().map(|pc| &pc.handle)
    }

    /// Close every public connection (bounded wait).
    pub async fn close_streams(&mut self) {
        for pc in self.publics.iter_mut().filter_map(Option::take) {
            pc.handle.shutdown().await;
            let abort = pc.join.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), pc.join)
                .await
                .is_err()
            {
                warn!("a public stream task did not stop in time");
                abort.abort();
            }
        }
    }
}
