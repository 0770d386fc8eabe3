//! Bybit V5 REST: response decoding and error classification (the signed client lives in
//! `client` when present).

mod error;

pub use error::{RestError, decode_response, decode_result};
