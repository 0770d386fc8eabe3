//! Wire types of REST answers: envelope, errors, acks, pages, instruments, limits.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::exchange::bybit::de;

/// The REST response envelope `{retCode, retMsg, result, retExtInfo, time}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitEnvelope {
    /// 0 on success.
    #[serde(deserialize_with = "de::int")]
    pub ret_code: i64,
    /// Message (`OK`, `success`, `""`, or an error text).
    #[serde(default)]
    pub ret_msg: String,
    /// The payload, decoded later by type.
    #[serde(default)]
    pub result: serde_json::Value,
    /// Extra info (per-item status of batch requests).
    #[serde(default)]
    pub ret_ext_info: serde_json::Value,
    /// Server time, ms.
    #[serde(default, rename = "time", deserialize_with = "de::opt_int")]
    pub time_ms: Option<i64>,
}

/// A Bybit business error: a nonzero `retCode` with its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bybit error {ret_code}: {ret_msg}")]
pub struct BybitApiError {
    /// The `retCode`.
    pub ret_code: i64,
    /// The `retMsg`.
    pub ret_msg: String,
}

impl BybitApiError {
    /// Per-UID rate limit hit (10006); wait for the reset time.
    pub fn is_rate_limited(&self) -> bool {
        self.ret_code == 10006
    }

    /// The exchange may or may not have acted (10016 internal error / restarting): reconcile,
    /// never resend blindly.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.ret_code, 10016)
    }

    /// Worth retrying after a pause: rate limits, system protection, restarts, timestamp window.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.ret_code,
            10000
                | 10002
                | 10006
                | 10016
                | 10019
                | 10403
                | 10429
                | 170001
                | 170005
                | 170007
                | 170032
        )
    }
}

/// `{orderId, orderLinkId}` returned by create/amend/cancel, and rows of batch results.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitOrderAck {
    /// Wire field `category`.
    #[serde(default)]
    pub category: Option<String>,
    /// Wire field `symbol`.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Wire field `orderId`.
    pub order_id: String,
    /// Wire field `orderLinkId`.
    pub order_link_id: String,
}

/// `result` of batch endpoints and of cancel-all: `{list: [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BybitAckList {
    /// Rows, in request order for batches.
    pub list: Vec<BybitOrderAck>,
}

/// Per-item status of a batch request (`retExtInfo.list[i]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BybitItemStatus {
    /// 0 on success.
    pub code: i64,
    /// Message.
    pub msg: String,
}

/// `retExtInfo` of batch endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BybitBatchExtInfo {
    /// Item statuses, index-aligned with the result list.
    pub list: Vec<BybitItemStatus>,
}

/// A page of rows: `{list, nextPageCursor, category}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitPage<T> {
    /// Rows.
    pub list: Vec<T>,
    /// Cursor of the next page (`""` at the end).
    #[serde(default)]
    pub next_page_cursor: Option<String>,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
}

/// Instrument row of `/v5/market/instruments-info` (the fields the host needs).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitInstrument {
    /// Wire field `symbol`.
    pub symbol: String,
    /// Wire field `status`.
    #[serde(default)]
    pub status: Option<String>,
    /// Wire field `priceFilter`.
    pub price_filter: BybitPriceFilter,
    /// Wire field `lotSizeFilter`.
    pub lot_size_filter: BybitLotSizeFilter,
}

/// `priceFilter` of an instrument.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitPriceFilter {
    /// Wire field `tickSize`.
    #[serde(deserialize_with = "de::decimal")]
    pub tick_size: Decimal,
    /// Wire field `minPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_price: Option<Decimal>,
    /// Wire field `maxPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub max_price: Option<Decimal>,
}

/// `lotSizeFilter` of an instrument (derivatives use `qtyStep`, spot `basePrecision`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitLotSizeFilter {
    /// Wire field `qtyStep`.
    #[serde(default, alias = "basePrecision", deserialize_with = "de::opt_decimal")]
    pub qty_step: Option<Decimal>,
    /// Wire field `minOrderQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_order_qty: Option<Decimal>,
    /// Wire field `maxOrderQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub max_order_qty: Option<Decimal>,
    /// Wire field `minNotionalValue`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_notional_value: Option<Decimal>,
    /// Wire field `minOrderAmt`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_order_amt: Option<Decimal>,
}

/// `result` of `/v5/market/time`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitServerTime {
    /// Seconds, as a string.
    pub time_second: String,
    /// Nanoseconds, as a string.
    pub time_nano: String,
}

/// Rate-limit state from the `X-Bapi-Limit*` response headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BybitRateLimit {
    /// Requests allowed per window for this endpoint.
    pub limit: Option<u32>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// When the window resets, ms since the Unix epoch on the exchange's clock.
    pub reset_at_ms: Option<i64>,
    /// The exchange's clock when it answered (`Timenow`), ms; with it, `reset_at_ms` can be
    /// read as a delay, whatever the offset between the clocks.
    pub server_time_ms: Option<i64>,
}

impl BybitRateLimit {
    /// `reset_at_ms` on the local clock, for an answer seen at `local_now_ms`: the exchange's
    /// delay until the reset (`reset - Timenow`) added to `local_now_ms`, so clock offsets
    /// cancel out (the answer's travel time only makes it later, never too early); the raw
    /// timestamp when `Timenow` is missing.
    pub fn reset_local_ms(&self, local_now_ms: i64) -> Option<i64> {
        let reset = self.reset_at_ms?;
        Some(match self.server_time_ms {
            Some(server_now) => local_now_ms.saturating_add(reset.saturating_sub(server_now)),
            None => reset,
        })
    }
}
