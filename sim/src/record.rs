//! The record of what the sim received: per account every request and the count of
//! rate-limit rejections. Orders, fills, positions and wallets are read from the engine.

use std::collections::HashMap;

/// Requests kept per account.
pub const MAX_REQUESTS: usize = 200_000;

/// One REST request (or WS trade op) as received.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Server time when received, ms.
    pub time_ms: i64,
    /// `GET`/`POST`, or `WS` for WS-trade ops.
    pub method: String,
    /// Path, e.g. `/v5/order/create` (WS trade: the op).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Raw body.
    pub body: String,
    /// retCode answered (0 = ok).
    pub ret_code: i64,
    /// HTTP status answered.
    pub http_status: u16,
}

/// Record of one account.
#[derive(Debug, Clone, Default)]
pub struct AccountRecord {
    /// Requests, oldest first.
    pub requests: Vec<RequestRecord>,
    /// Requests (or batch items) answered with 10006.
    pub rate_limit_rejections: u64,
}

/// All records, by API key (unauthenticated requests under `""`).
#[derive(Debug, Default)]
pub struct Record {
    /// Per API key.
    pub accounts: HashMap<String, AccountRecord>,
}

impl Record {
    /// Append a request (the oldest half is dropped past [`MAX_REQUESTS`]).
    pub fn push(&mut self, api_key: &str, r: RequestRecord) {
        let reqs = &mut self
            .accounts
            .entry(api_key.to_string())
            .or_default()
            .requests;
        if reqs.len() >= MAX_REQUESTS {
            reqs.drain(..MAX_REQUESTS / 2);
        }
        reqs.push(r);
    }
    /// Count rate-limit rejections.
    pub fn rejected(&mut self, api_key: &str, n: u64) {
        self.accounts
            .entry(api_key.to_string())
            .or_default()
            .rate_limit_rejections += n;
    }
}
