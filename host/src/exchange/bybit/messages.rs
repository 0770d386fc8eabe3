//! Bybit V5 wire types (serde) for everything except the order-book hot path.
//!
//! Decimals are exact [`Decimal`]s; Bybit's `""` ("not applicable") becomes `None`.
//! Unknown fields are ignored so new exchange fields do not break parsing.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

/// Order or trade side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum BybitSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Envelope of a public push other than the order book: `{topic, type, ts, data, cs}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BybitPublicMsg<T> {
    /// Topic, e.g. `publicTrade.BTCUSDT`.
    pub topic: String,
    /// `snapshot` or `delta`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Exchange system time, ms.
    #[serde(rename = "ts", deserialize_with = "de::int")]
    pub ts_ms: i64,
    /// Cross sequence (tickers).
    #[serde(default, rename = "cs", deserialize_with = "de::opt_int")]
    pub cross_seq: Option<i64>,
    /// Payload.
    pub data: T,
}

/// One public trade (`publicTrade.*`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BybitTrade {
    /// Fill time, ms.
    #[serde(rename = "T", deserialize_with = "de::int")]
    pub time_ms: i64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Taker side.
    #[serde(rename = "S")]
    pub side: BybitSide,
    /// Size.
    #[serde(rename = "v", deserialize_with = "de::decimal")]
    pub size: Decimal,
    /// Price.
    #[serde(rename = "p", deserialize_with = "de::decimal")]
    pub price: Decimal,
    /// Trade id.
    #[serde(rename = "i")]
    pub trade_id: String,
    /// Block trade.
    #[serde(default, rename = "BT")]
    pub block_trade: bool,
    /// Cross sequence.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seq: Option<i64>,
}

/// A `publicTrade.*` message.
pub type BybitTradeMsg = BybitPublicMsg<Vec<BybitTrade>>;

/// Ticker fields (`tickers.*`). In a delta only changed fields are present; merge deltas into
/// the snapshot with [`BybitTickerData::merge`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitTickerData {
    /// Symbol (always present).
    pub symbol: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub last_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub index_price: Option<Decimal>,
    #[serde(default, alias = "bidPrice", deserialize_with = "de::opt_decimal")]
    pub bid1_price: Option<Decimal>,
    #[serde(default, alias = "bidSize", deserialize_with = "de::opt_decimal")]
    pub bid1_size: Option<Decimal>,
    #[serde(default, alias = "askPrice", deserialize_with = "de::opt_decimal")]
    pub ask1_price: Option<Decimal>,
    #[serde(default, alias = "askSize", deserialize_with = "de::opt_decimal")]
    pub ask1_size: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub funding_rate: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub next_funding_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub open_interest: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub volume24h: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub turnover24h: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price24h_pcnt: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub high_price24h: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub low_price24h: Option<Decimal>,
}

impl BybitTickerData {
    /// Overwrite the fields present in `delta` (absent means unchanged).
    pub fn merge(&mut self, delta: &BybitTickerData) {
        macro_rules! take {
            ($($f:ident),*) => {$( if delta.$f.is_some() { self.$f = delta.$f; } )*};
        }
        take!(
            last_price, mark_price, index_price, bid1_price, bid1_size, ask1_price, ask1_size,
            funding_rate, next_funding_time, open_interest, volume24h, turnover24h,
            price24h_pcnt, high_price24h, low_price24h
        );
    }
}

/// A `tickers.*` message.
pub type BybitTickerMsg = BybitPublicMsg<BybitTickerData>;

/// Envelope of a private push: `{id, topic, creationTime, data: [...]}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitPrivateMsg<T> {
    /// Message id (absent on `execution.fast`).
    #[serde(default)]
    pub id: Option<String>,
    /// Topic, e.g. `order` or `execution.fast`.
    pub topic: String,
    /// Creation time, ms.
    #[serde(deserialize_with = "de::int")]
    pub creation_time: i64,
    /// Rows.
    pub data: Vec<T>,
}

/// One order row of the `order` topic (and of REST order queries).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitOrderMsg {
    #[serde(default)]
    pub category: Option<String>,
    pub symbol: String,
    pub order_id: String,
    #[serde(default)]
    pub order_link_id: String,
    pub side: BybitSide,
    pub order_type: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "de::decimal")]
    pub qty: Decimal,
    /// `New`, `PartiallyFilled`, `Filled`, `Cancelled`, `Rejected`, … (kept as text).
    pub order_status: String,
    #[serde(default)]
    pub time_in_force: String,
    #[serde(default)]
    pub cancel_type: String,
    #[serde(default)]
    pub reject_reason: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub avg_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leaves_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_value: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_fee: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub position_idx: Option<i64>,
    #[serde(default)]
    pub reduce_only: bool,
    #[serde(default)]
    pub create_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_time: Option<i64>,
}

/// One fill of the `execution` / `execution.fast` topics (and of REST execution lists).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitExecutionMsg {
    #[serde(default)]
    pub category: Option<String>,
    pub symbol: String,
    pub order_id: String,
    #[serde(default)]
    pub order_link_id: String,
    pub side: BybitSide,
    pub exec_id: String,
    #[serde(deserialize_with = "de::decimal")]
    pub exec_price: Decimal,
    #[serde(deserialize_with = "de::decimal")]
    pub exec_qty: Decimal,
    /// `Trade`, `Funding`, … (absent on `execution.fast`, which only carries trades).
    #[serde(default)]
    pub exec_type: Option<String>,
    #[serde(deserialize_with = "de::int")]
    pub exec_time: i64,
    #[serde(default)]
    pub is_maker: bool,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_fee: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub fee_rate: Option<Decimal>,
    #[serde(default)]
    pub fee_currency: Option<String>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_value: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_pnl: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leaves_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub order_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub order_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub closed_size: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seq: Option<i64>,
}

/// One row of the `position` topic (and of REST position lists, where the entry price is
/// called `avgPrice`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitPositionMsg {
    #[serde(default)]
    pub category: Option<String>,
    pub symbol: String,
    /// `Buy`, `Sell`, or `None` when flat (`""` on the wire).
    #[serde(default, deserialize_with = "opt_side")]
    pub side: Option<BybitSide>,
    #[serde(deserialize_with = "de::decimal")]
    pub size: Decimal,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub position_idx: Option<i64>,
    #[serde(default, alias = "avgPrice", deserialize_with = "de::opt_decimal")]
    pub entry_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub position_value: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leverage: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub liq_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub unrealised_pnl: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cur_realised_pnl: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_realised_pnl: Option<Decimal>,
    #[serde(default)]
    pub position_status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seq: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_time: Option<i64>,
}

fn opt_side<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BybitSide>, D::Error> {
    match <Option<String>>::deserialize(d)?.as_deref() {
        None | Some("") | Some("None") => Ok(None),
        Some("Buy") => Ok(Some(BybitSide::Buy)),
        Some("Sell") => Ok(Some(BybitSide::Sell)),
        Some(other) => Err(serde::de::Error::unknown_variant(other, &["Buy", "Sell", ""])),
    }
}

/// One account row of the `wallet` topic (and of REST wallet balance).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitWalletMsg {
    pub account_type: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_equity: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_wallet_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_margin_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_available_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_perp_upl: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_initial_margin: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_maintenance_margin: Option<Decimal>,
    #[serde(default)]
    pub coin: Vec<BybitWalletCoin>,
}

/// One coin of a [`BybitWalletMsg`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitWalletCoin {
    pub coin: String,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub equity: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub wallet_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub usd_value: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub locked: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub unrealised_pnl: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_realised_pnl: Option<Decimal>,
}

/// A WebSocket control reply (pong, subscribe, auth), in any of Bybit's per-channel shapes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct BybitWsControl {
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub ret_msg: Option<String>,
    #[serde(default, rename = "retCode")]
    pub ret_code: Option<i64>,
    #[serde(default, rename = "retMsg")]
    pub ret_msg_trade: Option<String>,
    #[serde(default)]
    pub conn_id: Option<String>,
    #[serde(default)]
    pub req_id: Option<String>,
    /// Option/spread channels: `"COMMAND_RESP"`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl BybitWsControl {
    /// Whether this answers a ping (`op: "pong"`, or `op: "ping"` with `ret_msg: "pong"`).
    pub fn is_pong(&self) -> bool {
        match self.op.as_deref() {
            Some("pong") => true,
            Some("ping") => self.ret_msg.as_deref() == Some("pong"),
            _ => false,
        }
    }

    /// Whether the request succeeded (`success: true` or `retCode: 0`).
    pub fn is_success(&self) -> bool {
        self.success.unwrap_or(false) || self.ret_code == Some(0)
    }

    /// The error text, if any.
    pub fn message(&self) -> &str {
        self.ret_msg.as_deref().or(self.ret_msg_trade.as_deref()).unwrap_or("")
    }
}

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
            10000 | 10002 | 10006 | 10016 | 10019 | 10403 | 10429 | 170001 | 170005 | 170007 | 170032
        )
    }
}

/// `{orderId, orderLinkId}` returned by create/amend/cancel, and rows of batch results.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitOrderAck {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub symbol: Option<String>,
    pub order_id: String,
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
#[allow(missing_docs)]
pub struct BybitInstrument {
    pub symbol: String,
    #[serde(default)]
    pub status: Option<String>,
    pub price_filter: BybitPriceFilter,
    pub lot_size_filter: BybitLotSizeFilter,
}

/// `priceFilter` of an instrument.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitPriceFilter {
    #[serde(deserialize_with = "de::decimal")]
    pub tick_size: Decimal,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_price: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub max_price: Option<Decimal>,
}

/// `lotSizeFilter` of an instrument (derivatives use `qtyStep`, spot `basePrecision`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BybitLotSizeFilter {
    #[serde(default, alias = "basePrecision", deserialize_with = "de::opt_decimal")]
    pub qty_step: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_order_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub max_order_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub min_notional_value: Option<Decimal>,
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
    /// When the window resets, ms since the Unix epoch.
    pub reset_at_ms: Option<i64>,
}
