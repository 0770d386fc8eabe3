//! Wire JSON of orders, executions, positions and wallets, with Bybit's field names and value
//! types (numbers as strings; `positionIdx`, `seq`, `smpGroup`… as integers).
//!
//! Each row is a borrowed struct serialised straight to text for the private pushes (no
//! intermediate `Value`), and turned into a [`Value`] for the REST lists.

use super::Engine;
use super::account::{Account, LEVERAGE};
use super::types::{Fill, Instrument, Order, OrderType, Position};
use crate::config::Category;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn zero_or(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Serialise a row to a [`Value`] (REST lists); rows are plain data, so this cannot fail.
fn to_value(row: impl Serialize) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}

/// An order row (REST realtime/history and the `order` topic).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow<'a> {
    category: &'static str,
    order_id: &'a str,
    order_link_id: &'a str,
    block_trade_id: &'static str,
    symbol: &'a str,
    price: String,
    qty: String,
    side: &'static str,
    is_leverage: &'static str,
    position_idx: i64,
    order_status: &'static str,
    create_type: &'static str,
    cancel_type: &'static str,
    reject_reason: &'static str,
    avg_price: String,
    leaves_qty: String,
    leaves_value: String,
    cum_exec_qty: String,
    cum_exec_value: String,
    cum_exec_fee: String,
    cum_fee_detail: BTreeMap<&'a str, String>,
    closed_pnl: &'static str,
    fee_currency: &'static str,
    time_in_force: &'static str,
    order_type: &'static str,
    stop_order_type: &'static str,
    oco_trigger_by: &'static str,
    order_iv: &'static str,
    market_unit: &'static str,
    trigger_price: &'static str,
    take_profit: &'a str,
    stop_loss: &'a str,
    tpsl_mode: &'static str,
    tp_limit_price: &'static str,
    sl_limit_price: &'static str,
    tp_trigger_by: &'static str,
    sl_trigger_by: &'static str,
    trigger_direction: i64,
    trigger_by: &'static str,
    last_price_on_created: &'a str,
    reduce_only: bool,
    close_on_trigger: bool,
    place_type: &'static str,
    smp_type: &'static str,
    smp_group: i64,
    smp_order_id: &'static str,
    slippage_tolerance_type: &'static str,
    slippage_tolerance: &'static str,
    extra_fees: &'static str,
    created_time: String,
    updated_time: String,
    rpi_taker_access: bool,
    rpi_matched_qty: &'static str,
}

/// The order row of `o`.
pub fn order_row<'a>(o: &'a Order, inst: &'a Instrument) -> OrderRow<'a> {
    let leaves = o.leaves_lots();
    let avg = if o.cum_lots > 0 {
        (o.cum_value / inst.qty(o.cum_lots)).round_dp(inst.tick.scale() + 2)
    } else {
        Decimal::ZERO
    };
    let price = if o.order_type == OrderType::Market && o.category == Category::Spot {
        "0".to_string()
    } else {
        inst.fmt_px(o.price_ticks)
    };
    let or_zero = |s: &'a str| if s.is_empty() { "0" } else { s };
    OrderRow {
        category: o.category.as_str(),
        order_id: &o.order_id,
        order_link_id: &o.order_link_id,
        block_trade_id: "",
        symbol: &o.symbol,
        price,
        qty: inst.fmt_qty(o.qty_lots),
        side: o.side.as_str(),
        is_leverage: if o.category == Category::Spot {
            "0"
        } else {
            ""
        },
        position_idx: 0,
        order_status: o.status.as_str(),
        create_type: create_type(o.stop_order_type),
        cancel_type: o.cancel_type,
        reject_reason: o.reject_reason,
        avg_price: zero_or(avg),
        leaves_qty: inst.fmt_qty(leaves),
        leaves_value: zero_or(inst.px(o.price_ticks) * inst.qty(leaves)),
        cum_exec_qty: inst.fmt_qty(o.cum_lots),
        cum_exec_value: zero_or(o.cum_value),
        cum_exec_fee: zero_or(o.cum_fee),
        cum_fee_detail: BTreeMap::from([(inst.quote_coin.as_str(), zero_or(o.cum_fee))]),
        closed_pnl: "0",
        fee_currency: "",
        time_in_force: o.tif.as_str(),
        order_type: o.order_type.as_str(),
        stop_order_type: o.stop_order_type,
        oco_trigger_by: "",
        order_iv: "",
        market_unit: "",
        trigger_price: "0",
        take_profit: or_zero(&o.take_profit),
        stop_loss: or_zero(&o.stop_loss),
        tpsl_mode: "",
        tp_limit_price: "0",
        sl_limit_price: "0",
        tp_trigger_by: "",
        sl_trigger_by: "",
        trigger_direction: 0,
        trigger_by: "",
        last_price_on_created: &o.last_price_on_created,
        reduce_only: o.reduce_only,
        close_on_trigger: o.close_on_trigger,
        place_type: "",
        smp_type: "None",
        smp_group: 0,
        smp_order_id: "",
        slippage_tolerance_type: "UNKNOWN",
        slippage_tolerance: "0",
        extra_fees: "",
        created_time: o.created_ms.to_string(),
        updated_time: o.updated_ms.to_string(),
        rpi_taker_access: false,
        rpi_matched_qty: "0",
    }
}

/// An order row as a [`Value`].
pub fn order_json(o: &Order, inst: &Instrument) -> Value {
    to_value(order_row(o, inst))
}

/// An execution row; `ws` selects the `execution` topic shape (extraFees array) vs REST
/// (`extraFees` string), as in the samples.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRow<'a> {
    category: &'static str,
    symbol: &'a str,
    is_leverage: &'static str,
    order_id: &'a str,
    order_link_id: &'a str,
    side: &'static str,
    order_price: &'a str,
    order_qty: &'a str,
    leaves_qty: &'a str,
    create_type: &'static str,
    order_type: &'static str,
    stop_order_type: &'static str,
    exec_fee: String,
    exec_id: &'a str,
    exec_price: String,
    exec_qty: String,
    exec_pnl: String,
    exec_type: &'static str,
    exec_value: String,
    exec_time: String,
    is_maker: bool,
    fee_rate: String,
    trade_iv: &'static str,
    mark_iv: &'static str,
    mark_price: &'a str,
    index_price: &'static str,
    underlying_price: &'static str,
    block_trade_id: &'static str,
    closed_size: &'a str,
    extra_fees: Value,
    seq: i64,
    fee_currency: &'static str,
    market_unit: &'static str,
}

/// The execution row of `f`.
pub fn execution_row(f: &Fill, ws: bool) -> ExecutionRow<'_> {
    ExecutionRow {
        category: f.category.as_str(),
        symbol: &f.symbol,
        is_leverage: "0",
        order_id: &f.order_id,
        order_link_id: &f.order_link_id,
        side: f.side.as_str(),
        order_price: &f.order_price,
        order_qty: &f.order_qty,
        leaves_qty: &f.leaves_qty,
        create_type: "CreateByUser",
        order_type: f.order_type.as_str(),
        stop_order_type: "UNKNOWN",
        exec_fee: zero_or(f.fee),
        exec_id: &f.exec_id,
        exec_price: f.price.to_string(),
        exec_qty: f.qty.to_string(),
        exec_pnl: zero_or(f.exec_pnl),
        exec_type: "Trade",
        exec_value: zero_or(f.value),
        exec_time: f.time_ms.to_string(),
        is_maker: f.is_maker,
        fee_rate: zero_or(f.fee_rate),
        trade_iv: "",
        mark_iv: "",
        mark_price: &f.mark_price,
        index_price: "",
        underlying_price: "",
        block_trade_id: "",
        closed_size: &f.closed_size,
        extra_fees: if ws { json!([]) } else { json!("") },
        seq: f.seq,
        fee_currency: "USDT",
        market_unit: "",
    }
}

/// An execution row as a [`Value`].
pub fn execution_json(f: &Fill, ws: bool) -> Value {
    to_value(execution_row(f, ws))
}

/// The `execution.fast` row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionFastRow<'a> {
    category: &'static str,
    symbol: &'a str,
    exec_id: &'a str,
    exec_price: String,
    exec_qty: String,
    order_id: &'a str,
    is_maker: bool,
    order_link_id: &'a str,
    side: &'static str,
    exec_time: String,
    seq: i64,
}

/// The `execution.fast` row of `f`.
pub fn execution_fast_row(f: &Fill) -> ExecutionFastRow<'_> {
    ExecutionFastRow {
        category: f.category.as_str(),
        symbol: &f.symbol,
        exec_id: &f.exec_id,
        exec_price: f.price.to_string(),
        exec_qty: f.qty.to_string(),
        order_id: &f.order_id,
        is_maker: f.is_maker,
        order_link_id: &f.order_link_id,
        side: f.side.as_str(),
        exec_time: f.time_ms.to_string(),
        seq: f.seq,
    }
}

/// The `execution.fast` row as a [`Value`].
pub fn execution_fast_json(f: &Fill) -> Value {
    to_value(execution_fast_row(f))
}

/// A position row; `ws` = `position` topic (`entryPrice`), else REST list (`avgPrice`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRow<'a> {
    category: &'static str,
    symbol: &'a str,
    side: &'static str,
    size: String,
    position_idx: i64,
    trade_mode: i64,
    risk_id: i64,
    risk_limit_value: &'static str,
    position_value: String,
    position_balance: &'static str,
    mark_price: String,
    leverage: String,
    break_even_price: String,
    auto_add_margin: i64,
    #[serde(rename = "positionIM")]
    position_im: String,
    #[serde(rename = "positionIMByMp")]
    position_im_by_mp: String,
    #[serde(rename = "positionMM")]
    position_mm: String,
    #[serde(rename = "positionMMByMp")]
    position_mm_by_mp: String,
    liq_price: &'static str,
    bust_price: &'static str,
    take_profit: String,
    stop_loss: String,
    trailing_stop: String,
    unrealised_pnl: String,
    cur_realised_pnl: String,
    cum_realised_pnl: String,
    session_avg_price: &'static str,
    tpsl_mode: &'static str,
    position_status: &'static str,
    adl_rank_indicator: i64,
    is_reduce_only: bool,
    leverage_sys_updated_time: &'static str,
    created_time: String,
    updated_time: String,
    seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mmr_sys_updated_time: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avg_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mmr_sys_update_time: Option<&'static str>,
}

/// Bybit's `createType` of an order created by position stop `stop_order_type`.
fn create_type(stop_order_type: &str) -> &'static str {
    match stop_order_type {
        "StopLoss" => "CreateByStopLoss",
        "TakeProfit" => "CreateByTakeProfit",
        "TrailingStop" => "CreateByTrailingStop",
        _ => "CreateByUser",
    }
}

/// The position row of `p` on `symbol` at `mark`.
pub fn position_row<'a>(symbol: &'a str, p: &Position, mark: Decimal, ws: bool) -> PositionRow<'a> {
    let side = if p.size > Decimal::ZERO {
        "Buy"
    } else if p.size < Decimal::ZERO {
        "Sell"
    } else {
        ""
    };
    let value = p.size.abs() * p.avg_price;
    let im = p.size.abs() * mark / Decimal::from(LEVERAGE);
    let upl = p.size * (mark - p.avg_price);
    let price = zero_or(p.avg_price);
    let mm = zero_or((im / Decimal::from(20)).round_dp(8));
    PositionRow {
        category: "linear",
        symbol,
        side,
        size: zero_or(p.size.abs()),
        position_idx: 0,
        trade_mode: 0,
        risk_id: 1,
        risk_limit_value: "2000000",
        position_value: zero_or(value),
        position_balance: "0",
        mark_price: mark.to_string(),
        leverage: LEVERAGE.to_string(),
        break_even_price: price.clone(),
        auto_add_margin: 0,
        position_im: zero_or(im.round_dp(8)),
        position_im_by_mp: zero_or(im.round_dp(8)),
        position_mm: mm.clone(),
        position_mm_by_mp: mm,
        liq_price: "",
        bust_price: "",
        take_profit: zero_or(p.take_profit),
        stop_loss: zero_or(p.stop_loss),
        trailing_stop: zero_or(p.trailing_stop),
        unrealised_pnl: zero_or(upl.round_dp(8)),
        cur_realised_pnl: zero_or(p.cur_realised.round_dp(8)),
        cum_realised_pnl: zero_or(p.cum_realised.round_dp(8)),
        session_avg_price: "0",
        tpsl_mode: "Full",
        position_status: "Normal",
        adl_rank_indicator: if p.size.is_zero() { 0 } else { 2 },
        is_reduce_only: false,
        leverage_sys_updated_time: "",
        created_time: p.created_ms.to_string(),
        updated_time: p.updated_ms.to_string(),
        seq: p.seq,
        entry_price: ws.then(|| price.clone()),
        mmr_sys_updated_time: ws.then_some(""),
        avg_price: (!ws).then_some(price),
        mmr_sys_update_time: (!ws).then_some(""),
    }
}

/// A position row as a [`Value`].
pub fn position_json(symbol: &str, p: &Position, mark: Decimal, ws: bool) -> Value {
    to_value(position_row(symbol, p, mark, ws))
}

/// The unified wallet row (REST `list[0]` and the `wallet` topic).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletRow<'a> {
    account_type: &'static str,
    #[serde(rename = "accountIMRate")]
    account_im_rate: String,
    #[serde(rename = "accountIMRateByMp")]
    account_im_rate_by_mp: &'static str,
    #[serde(rename = "accountMMRate")]
    account_mm_rate: &'static str,
    #[serde(rename = "accountMMRateByMp")]
    account_mm_rate_by_mp: &'static str,
    total_equity: String,
    total_wallet_balance: String,
    total_margin_balance: String,
    total_available_balance: String,
    #[serde(rename = "totalPerpUPL")]
    total_perp_upl: String,
    total_initial_margin: String,
    total_initial_margin_by_mp: String,
    total_maintenance_margin: &'static str,
    total_maintenance_margin_by_mp: &'static str,
    #[serde(rename = "accountLTV")]
    account_ltv: &'static str,
    coin: Vec<CoinRow<'a>>,
}

/// One coin of the wallet row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoinRow<'a> {
    coin: &'a str,
    equity: String,
    usd_value: String,
    wallet_balance: String,
    available_to_withdraw: String,
    available_to_borrow: &'static str,
    borrow_amount: &'static str,
    accrued_interest: &'static str,
    #[serde(rename = "totalOrderIM")]
    total_order_im: &'static str,
    #[serde(rename = "totalPositionIM")]
    total_position_im: &'static str,
    #[serde(rename = "totalPositionMM")]
    total_position_mm: &'static str,
    unrealised_pnl: String,
    cum_realised_pnl: String,
    bonus: &'static str,
    collateral_switch: bool,
    margin_collateral: bool,
    locked: &'static str,
    spot_hedging_qty: &'static str,
    spot_borrow: &'static str,
}

/// The wallet row of account `a`.
pub fn wallet_row<'a>(e: &Engine, a: &'a Account) -> WalletRow<'a> {
    let mark_of = |s: &str| e.mark(s);
    let upl = a.unrealised(&mark_of);
    let order_notional = |o: &Order| {
        e.market(o.category, &o.symbol)
            .map(|i| {
                let inst = &e.markets[i].inst;
                inst.px(o.price_ticks) * inst.qty(o.leaves_lots())
            })
            .unwrap_or_default()
    };
    let im = a.initial_margin(&mark_of, &order_notional);
    let equity = a.usdt + upl;
    let avail = (equity - im).max(Decimal::ZERO);
    let mut coins = vec![coin_row("USDT", a.usdt, upl, a.cum_realised, Decimal::ONE)];
    let mut others: Vec<_> = a.coins.iter().collect();
    others.sort();
    for (c, bal) in others {
        let px = e
            .market(Category::Spot, &format!("{c}USDT"))
            .map(|i| e.mark_of_market_any(i))
            .unwrap_or_default();
        coins.push(coin_row(c, *bal, Decimal::ZERO, Decimal::ZERO, px));
    }
    WalletRow {
        account_type: "UNIFIED",
        account_im_rate: zero_or(if equity > Decimal::ZERO {
            (im / equity).round_dp(4)
        } else {
            Decimal::ZERO
        }),
        account_im_rate_by_mp: "0",
        account_mm_rate: "0",
        account_mm_rate_by_mp: "0",
        total_equity: zero_or(equity.round_dp(8)),
        total_wallet_balance: zero_or(a.usdt.round_dp(8)),
        total_margin_balance: zero_or(equity.round_dp(8)),
        total_available_balance: zero_or(avail.round_dp(8)),
        total_perp_upl: zero_or(upl.round_dp(8)),
        total_initial_margin: zero_or(im.round_dp(8)),
        total_initial_margin_by_mp: zero_or(im.round_dp(8)),
        total_maintenance_margin: "0",
        total_maintenance_margin_by_mp: "0",
        account_ltv: "0",
        coin: coins,
    }
}

/// The wallet row as a [`Value`].
pub fn wallet_json(e: &Engine, a: &Account) -> Value {
    to_value(wallet_row(e, a))
}

fn coin_row(coin: &str, bal: Decimal, upl: Decimal, cum: Decimal, usd_px: Decimal) -> CoinRow<'_> {
    CoinRow {
        coin,
        equity: zero_or((bal + upl).round_dp(8)),
        usd_value: zero_or(((bal + upl) * usd_px).round_dp(8)),
        wallet_balance: zero_or(bal.round_dp(8)),
        available_to_withdraw: zero_or(bal.round_dp(8)),
        available_to_borrow: "",
        borrow_amount: "0",
        accrued_interest: "0",
        total_order_im: "0",
        total_position_im: "0",
        total_position_mm: "0",
        unrealised_pnl: zero_or(upl.round_dp(8)),
        cum_realised_pnl: zero_or(cum.round_dp(8)),
        bonus: "0",
        collateral_switch: true,
        margin_collateral: true,
        locked: "0",
        spot_hedging_qty: "0",
        spot_borrow: "0",
    }
}

impl Engine {
    /// Mid price of any market on its tick grid.
    pub fn mark_of_market_any(&self, i: usize) -> Decimal {
        self.mark_of_market(i)
    }
}
