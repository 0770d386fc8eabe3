//! Wire JSON of orders, executions, positions and wallets, with Bybit's field names and value
//! types (numbers as strings; `positionIdx`, `seq`, `smpGroup`… as integers).

use super::Engine;
use super::account::{Account, LEVERAGE};
use super::types::{Fill, Instrument, Order, OrderType, Position};
use crate::config::Category;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn zero_or(d: Decimal) -> String {
    d.normalize().to_string()
}

/// An order row (REST realtime/history and the `order` topic).
pub fn order_json(o: &Order, inst: &Instrument) -> Value {
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
    json!({
        "category": o.category.as_str(),
        "orderId": o.order_id,
        "orderLinkId": o.order_link_id,
        "blockTradeId": "",
        "symbol": o.symbol,
        "price": price,
        "qty": inst.fmt_qty(o.qty_lots),
        "side": o.side.as_str(),
        "isLeverage": if o.category == Category::Spot { "0" } else { "" },
        "positionIdx": 0,
        "orderStatus": o.status.as_str(),
        "createType": "CreateByUser",
        "cancelType": o.cancel_type,
        "rejectReason": o.reject_reason,
        "avgPrice": zero_or(avg),
        "leavesQty": inst.fmt_qty(leaves),
        "leavesValue": zero_or(inst.px(o.price_ticks) * inst.qty(leaves)),
        "cumExecQty": inst.fmt_qty(o.cum_lots),
        "cumExecValue": zero_or(o.cum_value),
        "cumExecFee": zero_or(o.cum_fee),
        "cumFeeDetail": { inst.quote_coin.clone(): zero_or(o.cum_fee) },
        "closedPnl": "0",
        "feeCurrency": "",
        "timeInForce": o.tif.as_str(),
        "orderType": o.order_type.as_str(),
        "stopOrderType": "",
        "ocoTriggerBy": "",
        "orderIv": "",
        "marketUnit": "",
        "triggerPrice": "0",
        "takeProfit": if o.take_profit.is_empty() { "0" } else { &o.take_profit },
        "stopLoss": if o.stop_loss.is_empty() { "0" } else { &o.stop_loss },
        "tpslMode": "",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": o.last_price_on_created,
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": o.close_on_trigger,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "extraFees": "",
        "createdTime": o.created_ms.to_string(),
        "updatedTime": o.updated_ms.to_string(),
        "rpiTakerAccess": false,
        "rpiMatchedQty": "0",
    })
}

/// An execution row; `ws` selects the `execution` topic shape (extraFees array) vs REST
/// (`extraFees` string), as in the samples.
pub fn execution_json(f: &Fill, ws: bool) -> Value {
    json!({
        "category": f.category.as_str(),
        "symbol": f.symbol,
        "isLeverage": "0",
        "orderId": f.order_id,
        "orderLinkId": f.order_link_id,
        "side": f.side.as_str(),
        "orderPrice": f.order_price,
        "orderQty": f.order_qty,
        "leavesQty": f.leaves_qty,
        "createType": "CreateByUser",
        "orderType": f.order_type.as_str(),
        "stopOrderType": "UNKNOWN",
        "execFee": zero_or(f.fee),
        "execId": f.exec_id,
        "execPrice": f.price.to_string(),
        "execQty": f.qty.to_string(),
        "execPnl": zero_or(f.exec_pnl),
        "execType": "Trade",
        "execValue": zero_or(f.value),
        "execTime": f.time_ms.to_string(),
        "isMaker": f.is_maker,
        "feeRate": zero_or(f.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": f.mark_price,
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": f.closed_size,
        "extraFees": if ws { json!([]) } else { json!("") },
        "seq": f.seq,
        "feeCurrency": "USDT",
        "marketUnit": "",
    })
}

/// The `execution.fast` row.
pub fn execution_fast_json(f: &Fill) -> Value {
    json!({
        "category": f.category.as_str(),
        "symbol": f.symbol,
        "execId": f.exec_id,
        "execPrice": f.price.to_string(),
        "execQty": f.qty.to_string(),
        "orderId": f.order_id,
        "isMaker": f.is_maker,
        "orderLinkId": f.order_link_id,
        "side": f.side.as_str(),
        "execTime": f.time_ms.to_string(),
        "seq": f.seq,
    })
}

/// A position row; `ws` = `position` topic (`entryPrice`), else REST list (`avgPrice`).
pub fn position_json(symbol: &str, p: &Position, mark: Decimal, ws: bool) -> Value {
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
    let mut v = json!({
        "category": "linear",
        "symbol": symbol,
        "side": side,
        "size": zero_or(p.size.abs()),
        "positionIdx": 0,
        "tradeMode": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "positionValue": zero_or(value),
        "positionBalance": "0",
        "markPrice": mark.to_string(),
        "leverage": LEVERAGE.to_string(),
        "breakEvenPrice": zero_or(p.avg_price),
        "autoAddMargin": 0,
        "positionIM": zero_or(im.round_dp(8)),
        "positionIMByMp": zero_or(im.round_dp(8)),
        "positionMM": zero_or((im / Decimal::from(20)).round_dp(8)),
        "positionMMByMp": zero_or((im / Decimal::from(20)).round_dp(8)),
        "liqPrice": "",
        "bustPrice": "",
        "takeProfit": zero_or(p.take_profit),
        "stopLoss": zero_or(p.stop_loss),
        "trailingStop": zero_or(p.trailing_stop),
        "unrealisedPnl": zero_or(upl.round_dp(8)),
        "curRealisedPnl": zero_or(p.cur_realised.round_dp(8)),
        "cumRealisedPnl": zero_or(p.cum_realised.round_dp(8)),
        "sessionAvgPrice": "0",
        "tpslMode": "Full",
        "positionStatus": "Normal",
        "adlRankIndicator": if p.size.is_zero() { 0 } else { 2 },
        "isReduceOnly": false,
        "leverageSysUpdatedTime": "",
        "createdTime": p.created_ms.to_string(),
        "updatedTime": p.updated_ms.to_string(),
        "seq": p.seq,
    });
    let price = zero_or(p.avg_price);
    if ws {
        v["entryPrice"] = json!(price);
        v["mmrSysUpdatedTime"] = json!("");
    } else {
        v["avgPrice"] = json!(price);
        v["mmrSysUpdateTime"] = json!("");
    }
    v
}

/// The unified wallet row (REST `list[0]` and the `wallet` topic).
pub fn wallet_json(e: &Engine, a: &Account) -> Value {
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
    let mut coins = vec![coin_json("USDT", a.usdt, upl, a.cum_realised, Decimal::ONE)];
    let mut others: Vec<_> = a.coins.iter().collect();
    others.sort();
    for (c, bal) in others {
        let px = e
            .market(Category::Spot, &format!("{c}USDT"))
            .map(|i| e.mark_of_market_any(i))
            .unwrap_or_default();
        coins.push(coin_json(c, *bal, Decimal::ZERO, Decimal::ZERO, px));
    }
    json!({
        "accountType": "UNIFIED",
        "accountIMRate": zero_or(if equity > Decimal::ZERO { (im / equity).round_dp(4) } else { Decimal::ZERO }),
        "accountIMRateByMp": "0",
        "accountMMRate": "0",
        "accountMMRateByMp": "0",
        "totalEquity": zero_or(equity.round_dp(8)),
        "totalWalletBalance": zero_or(a.usdt.round_dp(8)),
        "totalMarginBalance": zero_or(equity.round_dp(8)),
        "totalAvailableBalance": zero_or(avail.round_dp(8)),
        "totalPerpUPL": zero_or(upl.round_dp(8)),
        "totalInitialMargin": zero_or(im.round_dp(8)),
        "totalInitialMarginByMp": zero_or(im.round_dp(8)),
        "totalMaintenanceMargin": "0",
        "totalMaintenanceMarginByMp": "0",
        "accountLTV": "0",
        "coin": coins,
    })
}

fn coin_json(coin: &str, bal: Decimal, upl: Decimal, cum: Decimal, usd_px: Decimal) -> Value {
    json!({
        "coin": coin,
        "equity": zero_or((bal + upl).round_dp(8)),
        "usdValue": zero_or(((bal + upl) * usd_px).round_dp(8)),
        "walletBalance": zero_or(bal.round_dp(8)),
        "availableToWithdraw": zero_or(bal.round_dp(8)),
        "availableToBorrow": "",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": "0",
        "totalPositionIM": "0",
        "totalPositionMM": "0",
        "unrealisedPnl": zero_or(upl.round_dp(8)),
        "cumRealisedPnl": zero_or(cum.round_dp(8)),
        "bonus": "0",
        "collateralSwitch": true,
        "marginCollateral": true,
        "locked": "0",
        "spotHedgingQty": "0",
        "spotBorrow": "0",
    })
}

impl Engine {
    /// Mid price of any market on its tick grid.
    pub fn mark_of_market_any(&self, i: usize) -> Decimal {
        self.mark_of_market(i)
    }
}
