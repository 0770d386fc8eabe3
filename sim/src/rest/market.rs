//! Public market endpoints: time, instruments-info, orderbook, tickers, recent-trade, kline.

use super::{Answer, Req};
use crate::config::Category;
use crate::engine::ApiError;
use crate::engine::publish::book_msg;
use serde_json::{Value, json};

fn category(r: &Req) -> Result<Category, ApiError> {
    let c = r
        .query
        .get("category")
        .ok_or_else(|| ApiError::param("params error: category is empty"))?;
    Category::parse(c).ok_or_else(|| ApiError::param("Illegal category"))
}

fn symbol_market(r: &Req, cat: Category) -> Result<usize, ApiError> {
    let s = r
        .query
        .get("symbol")
        .ok_or_else(|| ApiError::param("params error: symbol invalid"))?;
    r.shared
        .engine()
        .market(cat, s)
        .ok_or_else(|| ApiError::param("params error: symbol invalid"))
}

/// `GET /v5/market/time`.
pub fn time(r: &Req) -> Answer {
    let now = r.shared.now_ms();
    Ok((
        json!({"timeSecond": (now / 1000).to_string(), "timeNano": (now as i128 * 1_000_000).to_string()}),
        json!({}),
    ))
}

/// `GET /v5/market/instruments-info`.
pub fn instruments(r: &Req) -> Answer {
    let cat = category(r)?;
    let want = r.query.get("symbol");
    let e = r.shared.engine();
    let mut list = Vec::new();
    for (mi, m) in e.markets.iter().enumerate() {
        let i = &m.inst;
        let symbol_id = mi + 1;
        if i.category != cat || want.is_some_and(|w| w != &i.symbol) {
            continue;
        }
        let row = match cat {
            Category::Linear => json!({
                "symbol": i.symbol, "symbolId": symbol_id, "contractType": "LinearPerpetual", "status": "Trading",
                "baseCoin": i.base_coin, "quoteCoin": i.quote_coin,
                "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
                "priceScale": i.tick.scale().to_string(),
                "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                "priceFilter": {"minPrice": i.fmt_px(1), "maxPrice": i.fmt_px(1_999_999_999 / 1000 * 1000), "tickSize": i.tick.to_string()},
                "lotSizeFilter": {
                    "maxOrderQty": i.fmt_qty(i.max_lots), "minOrderQty": i.fmt_qty(i.min_lots),
                    "qtyStep": i.step.to_string(), "postOnlyMaxOrderQty": i.fmt_qty(i.max_lots),
                    "maxMktOrderQty": i.fmt_qty(i.max_lots), "minNotionalValue": i.min_notional.to_string()
                },
                "unifiedMarginTrade": true, "fundingInterval": 480, "settleCoin": i.quote_coin,
                "copyTrading": "both", "upperFundingRate": "0.005", "lowerFundingRate": "-0.005",
                "isPreListing": false, "preListingInfo": null,
                "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
                "symbolType": ""
            }),
            Category::Spot => json!({
                "symbolId": symbol_id, "symbol": i.symbol, "baseCoin": i.base_coin, "quoteCoin": i.quote_coin,
                "innovation": "0", "status": "Trading", "marginTrading": "utaOnly", "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": i.step.to_string(), "quotePrecision": "0.0000001",
                    "minOrderQty": i.fmt_qty(i.min_lots), "maxOrderQty": i.fmt_qty(i.max_lots),
                    "minOrderAmt": i.min_notional.to_string(), "maxOrderAmt": "8000000",
                    "maxLimitOrderQty": i.fmt_qty(i.max_lots), "maxMarketOrderQty": i.fmt_qty(i.max_lots),
                    "postOnlyMaxLimitOrderSize": i.fmt_qty(i.max_lots)
                },
                "priceFilter": {"tickSize": i.tick.to_string()},
                "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
                "symbolType": ""
            }),
        };
        list.push(row);
    }
    Ok((
        json!({"category": cat.as_str(), "list": list, "nextPageCursor": ""}),
        json!({}),
    ))
}

/// `GET /v5/market/orderbook`.
pub fn orderbook(r: &Req) -> Answer {
    let cat = category(r)?;
    let mi = symbol_market(r, cat)?;
    let default = if cat == Category::Spot { 1 } else { 25 };
    let limit: usize = match r.query.get("limit") {
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::param("params error: limit invalid"))?,
        None => default,
    };
    let e = r.shared.engine();
    let m = &e.markets[mi];
    let v = m.book.view(limit);
    let now = e.now_ms();
    // Reuse the WS writer and lift `data`, so REST and WS agree on formats.
    let text = book_msg(
        &m.inst,
        limit,
        "snapshot",
        &v.bids,
        &v.asks,
        m.steps + 1,
        m.seq,
        now,
    );
    let msg: Value = serde_json::from_str(&text).unwrap_or_default();
    let mut data = msg["data"].clone();
    data["ts"] = json!(now);
    data["cts"] = json!(now);
    Ok((data, json!({})))
}

/// `GET /v5/market/tickers`.
pub fn tickers(r: &Req) -> Answer {
    let cat = category(r)?;
    let want = r.query.get("symbol");
    let e = r.shared.engine();
    let mut list = Vec::new();
    for (mi, m) in e.markets.iter().enumerate() {
        if m.inst.category != cat || want.is_some_and(|w| w != &m.inst.symbol) {
            continue;
        }
        let mut row = serde_json::Map::new();
        for (k, v) in e.ticker_fields(mi) {
            row.insert(k.to_string(), Value::String(v));
        }
        if cat == Category::Linear {
            row.remove("tickDirection");
            for k in [
                "predictedDeliveryPrice",
                "basisRate",
                "deliveryFeeRate",
                "basis",
                "basisRateYear",
            ] {
                row.insert(k.into(), Value::String(String::new()));
            }
            row.insert("deliveryTime".into(), Value::String("0".into()));
        }
        list.push(Value::Object(row));
    }
    if want.is_some() && list.is_empty() {
        return Err(ApiError::param("params error: symbol invalid"));
    }
    Ok((json!({"category": cat.as_str(), "list": list}), json!({})))
}

/// `GET /v5/market/recent-trade`.
pub fn recent_trades(r: &Req) -> Answer {
    let cat = category(r)?;
    let mi = symbol_market(r, cat)?;
    let limit: usize = r
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(if cat == Category::Spot { 60 } else { 500 })
        .clamp(1, 1000);
    let e = r.shared.engine();
    let m = &e.markets[mi];
    let list: Vec<Value> = m
        .recent_trades
        .iter()
        .rev()
        .take(limit)
        .map(|t| {
            json!({
                "execId": t.id, "symbol": m.inst.symbol, "price": m.inst.fmt_px(t.px),
                "size": m.inst.fmt_qty(t.lots), "side": if t.taker_buy { "Buy" } else { "Sell" },
                "time": t.time_ms.to_string(), "isBlockTrade": false, "isRPITrade": false,
                "seq": t.seq.to_string()
            })
        })
        .collect();
    Ok((json!({"category": cat.as_str(), "list": list}), json!({})))
}

/// `GET /v5/market/kline`: candles aggregated from the tape's minute candles.
pub fn kline(r: &Req) -> Answer {
    let cat = category(r)?;
    let mi = symbol_market(r, cat)?;
    let iv = r
        .query
        .get("interval")
        .and_then(|i| crate::engine::kline::interval_index(i))
        .ok_or_else(|| ApiError::param("params error: interval invalid"))?;
    let limit: usize = r
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(200)
        .clamp(1, 1000);
    let e = r.shared.engine();
    let m = &e.markets[mi];
    let i = &m.inst;
    let candles = e.candles(mi, iv);
    let list: Vec<Value> = candles
        .iter()
        .rev()
        .take(limit)
        .map(|c| {
            json!([
                c.start_ms.to_string(),
                i.fmt_px(c.open),
                i.fmt_px(c.high),
                i.fmt_px(c.low),
                i.fmt_px(c.close),
                i.fmt_qty(c.lots),
                c.turnover.round_dp(4).to_string()
            ])
        })
        .collect();
    Ok((
        json!({"symbol": i.symbol, "category": cat.as_str(), "list": list}),
        json!({}),
    ))
}
