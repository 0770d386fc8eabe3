//! Bybit V5 REST: a signed client, response decoding and error classification.

mod client;
mod error;

pub use client::{DEFAULT_RECV_WINDOW_MS, PreparedPost, RestClient, RestRawReply, RestReply};
pub use error::{RestError, decode_response, decode_result};
