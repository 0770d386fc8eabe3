//! The strategy ABI shared by the quoter host and its strategy plugins.
//!
//! A strategy author implements [`Strategy`] once and calls [`export_strategy!`]. Built for
//! `wasm32-unknown-unknown` the crate becomes a WASM module; built natively as a `cdylib` it
//! becomes a shared library. The host loads either one and gets the same quotes.
//!
//! Only plain data crosses the boundary. Per call the host hands over a [`QuoteInput`]
//! (a [`MarketView`] plus the symbol's [`Inventory`]) and receives a [`Ladder`]; all three have a
//! fixed `#[repr(C)]` layout without padding, identical on wasm32 and 64-bit hosts, whose version
//! is [`ABI_VERSION`]. Parameters are JSON and cross only at create and update time.
//!
//! Maths that must give bit-identical results on every target goes through [`math`].

mod export;
mod ffi;
pub mod guard;
pub mod guest;
pub mod json;
pub mod math;
pub mod native;
mod strategy;
mod types;

pub use ffi::{ERROR_CAP, ErrorBuf};
pub use strategy::{Strategy, UpdateOutcome, parse_params};
pub use types::{
    Fill, Inventory, LADDER_KIND_PULL, LADDER_KIND_QUOTES, Ladder, Level, MAX_LADDER_LEVELS,
    MAX_VIEW_LEVELS, MarketView, QuoteInput, REASON_CAP, SIDE_BUY, SIDE_NONE, SIDE_SELL,
    SYMBOL_CAP, Trade,
};

/// Version of the binary layout and of the exported function set.
///
/// The host refuses a module whose `quoter_abi_version` export returns anything else.
pub const ABI_VERSION: u32 = 2;

/// Names of the functions a WASM strategy module exports (besides `memory`).
pub mod wasm_exports {
    /// `() -> i32`: the module's [`ABI_VERSION`](crate::ABI_VERSION).
    pub const ABI_VERSION: &str = "quoter_abi_version";
    /// `(len: i32) -> i32`: grow the scratch buffer to `len` bytes and return its address.
    pub const ALLOC: &str = "quoter_alloc";
    /// `() -> i32`: address of the scratch buffer (holds saved state after `save_state`).
    pub const SCRATCH_PTR: &str = "quoter_scratch_ptr";
    /// `(len: i32) -> i32`: create the strategy from the JSON parameters in scratch.
    pub const CREATE: &str = "quoter_create";
    /// `(len: i32) -> i32`: live parameter update from the JSON in scratch.
    pub const UPDATE: &str = "quoter_update";
    /// `() -> i32`: address of the [`QuoteInput`](crate::QuoteInput) buffer.
    pub const INPUT_PTR: &str = "quoter_input_ptr";
    /// `() -> i32`: address of the [`Ladder`](crate::Ladder) output buffer.
    pub const OUTPUT_PTR: &str = "quoter_output_ptr";
    /// `() -> i32`: address of the [`Fill`](crate::Fill) buffer.
    pub const FILL_PTR: &str = "quoter_fill_ptr";
    /// `() -> i32`: address of the [`ErrorBuf`](crate::ErrorBuf) holding the last error.
    pub const ERROR_PTR: &str = "quoter_error_ptr";
    /// `() -> i32`: compute quotes from the input buffer into the output buffer.
    pub const QUOTE: &str = "quoter_quote";
    /// `() -> i32`: tell the strategy about the fill in the fill buffer.
    pub const ON_FILL: &str = "quoter_on_fill";
    /// `() -> i32`: save state into scratch; returns its length.
    pub const SAVE_STATE: &str = "quoter_save_state";
    /// `(len: i32) -> i32`: restore state from the bytes in scratch.
    pub const RESTORE_STATE: &str = "quoter_restore_state";
}

/// Status codes returned by exported functions (native and WASM alike).
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// A parameter update asks the host to re-create the strategy with its state handed over.
    pub const RECREATE: i32 = 1;
    /// The strategy returned an error; the message is in the error buffer.
    pub const ERROR: i32 = -1;
    /// The strategy panicked; the message is in the error buffer.
    pub const PANIC: i32 = -2;
    /// The strategy was called before a successful create.
    pub const NOT_CREATED: i32 = -3;
}
