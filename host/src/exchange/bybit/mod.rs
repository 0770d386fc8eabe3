//! Bybit V5: wire types, parsing, signing, REST and WebSocket clients.
//!
//! This is the only module that knows Bybit's wire format. [`parse`] turns frames into
//! [`book::BookUpdate`](crate::book::BookUpdate)s (allocation-free) and typed
//! [`messages`]; [`sign`] signs requests; [`rest`] classifies REST answers; [`tls`] holds the
//! one TLS configuration of `https://` and `wss://` endpoints.

mod de;
mod json;
pub mod market;
pub mod messages;
pub mod parse;
pub mod rest;
pub mod sign;
pub mod tls;
pub mod ws;

#[cfg(test)]
mod fixtures;
