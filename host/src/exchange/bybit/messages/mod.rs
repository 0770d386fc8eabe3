//! Bybit V5 wire types (serde) for everything except the order-book hot path.
//!
//! Decimals are exact [`Decimal`]s; Bybit's `""` ("not applicable") becomes `None`.
//! Unknown fields are ignored so new exchange fields do not break parsing.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

mod rest;
mod trade;

pub use rest::*;
pub use trade::*;

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
pub struct BybitTickerData {
    /// Symbol (always present).
    pub symbol: String,
    /// Wire field `lastPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub last_price: Option<Decimal>,
    /// Wire field `markPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub mark_price: Option<Decimal>,
    /// Wire field `indexPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub index_price: Option<Decimal>,
    /// Wire field `bid1Price`.
    #[serde(default, alias = "bidPrice", deserialize_with = "de::opt_decimal")]
    pub bid1_price: Option<Decimal>,
    /// Wire field `bid1Size`.
    #[serde(default, alias = "bidSize", deserialize_with = "de::opt_decimal")]
    pub bid1_size: Option<Decimal>,
    /// Wire field `ask1Price`.
    #[serde(default, alias = "askPrice", deserialize_with = "de::opt_decimal")]
    pub ask1_price: Option<Decimal>,
    /// Wire field `ask1Size`.
    #[serde(default, alias = "askSize", deserialize_with = "de::opt_decimal")]
    pub ask1_size: Option<Decimal>,
    /// Wire field `fundingRate`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub funding_rate: Option<Decimal>,
    /// Wire field `nextFundingTime`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub next_funding_time: Option<i64>,
    /// Wire field `openInterest`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub open_interest: Option<Decimal>,
    /// Wire field `volume24h`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub volume24h: Option<Decimal>,
    /// Wire field `turnover24h`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub turnover24h: Option<Decimal>,
    /// Wire field `price24hPcnt`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price24h_pcnt: Option<Decimal>,
    /// Wire field `highPrice24h`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub high_price24h: Option<Decimal>,
    /// Wire field `lowPrice24h`.
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
            last_price,
            mark_price,
            index_price,
            bid1_price,
            bid1_size,
            ask1_price,
            ask1_size,
            funding_rate,
            next_funding_time,
            open_interest,
            volume24h,
            turnover24h,
            price24h_pcnt,
            high_price24h,
            low_price24h
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
pub struct BybitOrderMsg {
    /// Wire field `category`.
    #[serde(default)]
    pub category: Option<String>,
    /// Wire field `symbol`.
    pub symbol: String,
    /// Wire field `orderId`.
    pub order_id: String,
    /// Wire field `orderLinkId`.
    #[serde(default)]
    pub order_link_id: String,
    /// Wire field `side`.
    pub side: BybitSide,
    /// Wire field `orderType`.
    pub order_type: String,
    /// Wire field `price`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    /// Wire field `qty`.
    #[serde(deserialize_with = "de::decimal")]
    pub qty: Decimal,
    /// `New`, `PartiallyFilled`, `Filled`, `Cancelled`, `Rejected`, … (kept as text).
    pub order_status: String,
    /// Wire field `timeInForce`.
    #[serde(default)]
    pub time_in_force: String,
    /// Wire field `cancelType`.
    #[serde(default)]
    pub cancel_type: String,
    /// Wire field `rejectReason`.
    #[serde(default)]
    pub reject_reason: String,
    /// Wire field `avgPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub avg_price: Option<Decimal>,
    /// Wire field `leavesQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leaves_qty: Option<Decimal>,
    /// Wire field `cumExecQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_qty: Option<Decimal>,
    /// Wire field `cumExecValue`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_value: Option<Decimal>,
    /// Wire field `cumExecFee`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_exec_fee: Option<Decimal>,
    /// Wire field `positionIdx`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub position_idx: Option<i64>,
    /// Wire field `reduceOnly`.
    #[serde(default)]
    pub reduce_only: bool,
    /// Wire field `createType`.
    #[serde(default)]
    pub create_type: Option<String>,
    /// Wire field `createdTime`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_time: Option<i64>,
    /// Wire field `updatedTime`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_time: Option<i64>,
}

/// One fill of the `execution` / `execution.fast` topics (and of REST execution lists).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitExecutionMsg {
    /// Wire field `category`.
    #[serde(default)]
    pub category: Option<String>,
    /// Wire field `symbol`.
    pub symbol: String,
    /// Wire field `orderId`.
    pub order_id: String,
    /// Wire field `orderLinkId`.
    #[serde(default)]
    pub order_link_id: String,
    /// Wire field `side`.
    pub side: BybitSide,
    /// Wire field `execId`.
    pub exec_id: String,
    /// Wire field `execPrice`.
    #[serde(deserialize_with = "de::decimal")]
    pub exec_price: Decimal,
    /// Wire field `execQty`.
    #[serde(deserialize_with = "de::decimal")]
    pub exec_qty: Decimal,
    /// `Trade`, `Funding`, … (absent on `execution.fast`, which only carries trades).
    #[serde(default)]
    pub exec_type: Option<String>,
    /// Wire field `execTime`.
    #[serde(deserialize_with = "de::int")]
    pub exec_time: i64,
    /// Wire field `isMaker`.
    #[serde(default)]
    pub is_maker: bool,
    /// Wire field `execFee`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_fee: Option<Decimal>,
    /// Wire field `feeRate`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub fee_rate: Option<Decimal>,
    /// Wire field `feeCurrency`.
    #[serde(default)]
    pub fee_currency: Option<String>,
    /// Wire field `execValue`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_value: Option<Decimal>,
    /// Wire field `execPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub exec_pnl: Option<Decimal>,
    /// Wire field `leavesQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leaves_qty: Option<Decimal>,
    /// Wire field `orderPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub order_price: Option<Decimal>,
    /// Wire field `orderQty`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub order_qty: Option<Decimal>,
    /// Wire field `closedSize`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub closed_size: Option<Decimal>,
    /// Wire field `seq`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seq: Option<i64>,
}

/// One row of the `position` topic (and of REST position lists, where the entry price is
/// called `avgPrice`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitPositionMsg {
    /// Wire field `category`.
    #[serde(default)]
    pub category: Option<String>,
    /// Wire field `symbol`.
    pub symbol: String,
    /// `Buy`, `Sell`, or `None` when flat (`""` on the wire).
    #[serde(default, deserialize_with = "opt_side")]
    pub side: Option<BybitSide>,
    /// Wire field `size`.
    #[serde(deserialize_with = "de::decimal")]
    pub size: Decimal,
    /// Wire field `positionIdx`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub position_idx: Option<i64>,
    /// Wire field `entryPrice`.
    #[serde(default, alias = "avgPrice", deserialize_with = "de::opt_decimal")]
    pub entry_price: Option<Decimal>,
    /// Wire field `markPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub mark_price: Option<Decimal>,
    /// Wire field `positionValue`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub position_value: Option<Decimal>,
    /// Wire field `leverage`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub leverage: Option<Decimal>,
    /// Wire field `liqPrice`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub liq_price: Option<Decimal>,
    /// Wire field `unrealisedPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub unrealised_pnl: Option<Decimal>,
    /// Wire field `curRealisedPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cur_realised_pnl: Option<Decimal>,
    /// Wire field `cumRealisedPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_realised_pnl: Option<Decimal>,
    /// Wire field `stopLoss` (`"0"` or empty: none).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub stop_loss: Option<Decimal>,
    /// Wire field `trailingStop`, a price distance (`"0"`: none).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub trailing_stop: Option<Decimal>,
    /// Wire field `positionStatus`.
    #[serde(default)]
    pub position_status: Option<String>,
    /// Wire field `seq`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seq: Option<i64>,
    /// Wire field `updatedTime`.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_time: Option<i64>,
}

fn opt_side<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BybitSide>, D::Error> {
    match <Option<String>>::deserialize(d)?.as_deref() {
        None | Some("") | Some("None") => Ok(None),
        Some("Buy") => Ok(Some(BybitSide::Buy)),
        Some("Sell") => Ok(Some(BybitSide::Sell)),
        Some(other) => Err(serde::de::Error::unknown_variant(
            other,
            &["Buy", "Sell", ""],
        )),
    }
}

/// One account row of the `wallet` topic (and of REST wallet balance).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitWalletMsg {
    /// Wire field `accountType`.
    pub account_type: String,
    /// Wire field `totalEquity`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_equity: Option<Decimal>,
    /// Wire field `totalWalletBalance`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_wallet_balance: Option<Decimal>,
    /// Wire field `totalMarginBalance`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_margin_balance: Option<Decimal>,
    /// Wire field `totalAvailableBalance`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_available_balance: Option<Decimal>,
    /// Wire field `totalPerpUpl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_perp_upl: Option<Decimal>,
    /// Wire field `totalInitialMargin`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_initial_margin: Option<Decimal>,
    /// Wire field `totalMaintenanceMargin`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub total_maintenance_margin: Option<Decimal>,
    /// Wire field `coin`.
    #[serde(default)]
    pub coin: Vec<BybitWalletCoin>,
}

/// One coin of a [`BybitWalletMsg`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitWalletCoin {
    /// Wire field `coin`.
    pub coin: String,
    /// Wire field `equity`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub equity: Option<Decimal>,
    /// Wire field `walletBalance`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub wallet_balance: Option<Decimal>,
    /// Wire field `usdValue`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub usd_value: Option<Decimal>,
    /// Wire field `locked`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub locked: Option<Decimal>,
    /// Wire field `unrealisedPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub unrealised_pnl: Option<Decimal>,
    /// Wire field `cumRealisedPnl`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub cum_realised_pnl: Option<Decimal>,
}

/// A WebSocket control reply (pong, subscribe, auth), in any of Bybit's per-channel shapes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct BybitWsControl {
    /// Wire field `op`.
    #[serde(default)]
    pub op: Option<String>,
    /// Wire field `success`.
    #[serde(default)]
    pub success: Option<bool>,
    /// Wire field `retMsg`.
    #[serde(default)]
    pub ret_msg: Option<String>,
    /// Wire field `retCode`.
    #[serde(default, rename = "retCode")]
    pub ret_code: Option<i64>,
    /// Wire field `retMsg`.
    #[serde(default, rename = "retMsg")]
    pub ret_msg_trade: Option<String>,
    /// Wire field `connId`.
    #[serde(default)]
    pub conn_id: Option<String>,
    /// Wire field `reqId`.
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
        self.ret_msg
            .as_deref()
            .or(self.ret_msg_trade.as_deref())
            .unwrap_or("")
    }
}
