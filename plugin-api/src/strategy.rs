//! The trait a strategy implements.

use serde::de::DeserializeOwned;

use crate::types::{Fill, Inventory, Ladder, MarketView};

/// What a strategy did with a live parameter update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The new parameters are in effect.
    Applied,
    /// Ask the host to create a fresh instance with the new parameters and hand it this
    /// instance's saved state.
    Recreate,
}

/// A quoting strategy. One instance serves one symbol.
///
/// All methods are synchronous and must be short: the host calls them between two market
/// events and enforces a deadline on WASM modules.
pub trait Strategy: Sized {
    /// Create an instance from JSON parameters.
    fn create(params_json: &[u8]) -> Result<Self, String>;

    /// Apply a live parameter update (JSON). Returning `Err` keeps the old parameters.
    fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, String>;

    /// Compute the desired quotes. `out` arrives cleared; fill it with [`Ladder::push_bid`] /
    /// [`Ladder::push_ask`], or call [`Ladder::pull`]. An `Err` also pulls the symbol's quotes
    /// and is reported.
    fn quote(
        &mut self,
        view: &MarketView,
        inventory: &Inventory,
        out: &mut Ladder,
    ) -> Result<(), String>;

    /// Observe one of our own fills.
    fn on_fill(&mut self, _fill: &Fill) {}

    /// Save opaque state for a hot swap. The default saves nothing.
    fn save_state(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restore state saved by [`Strategy::save_state`] (possibly by an older build). An empty
    /// state means "start fresh" and should be accepted.
    /// The default accepts anything and ignores it.
    fn restore_state(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Parse JSON parameters into `T`, with an error naming the problem and where it is.
///
/// Uses the crate's own small JSON reader ([`crate::json`]), the same on every target.
pub fn parse_params<T: DeserializeOwned>(params_json: &[u8]) -> Result<T, String> {
    crate::json::from_slice(params_json).map_err(|e| format!("invalid parameters: {e}"))
}
