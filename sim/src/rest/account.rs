//! Account endpoints: executions, positions, trading-stop, wallet, DCP, fee rate.

use super::{Answer, Req};
use crate::config::Category;
use crate::engine::matching::dec_field;
use crate::engine::{ApiError, render};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// `GET /v5/execution/list`.
pub fn executions(r: &Req) -> Answer {
    let cat = r
        .query
        .get("category")
        .and_then(|c| Category::parse(c))
        .ok_or_else(|| ApiError::param("Illegal category"))?;
    let limit: usize = r
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let e = r.shared.engine();
    let rows: Vec<_> = e.accounts[r.acct]
        .fills
        .iter()
        .rev()
        .filter(|f| f.category == cat)
        .filter(|f| r.query.get("symbol").is_none_or(|s| s == &f.symbol))
        .filter(|f| r.query.get("orderId").is_none_or(|s| s == &f.order_id))
        .collect();
    let (skip, next) = super::page(&r.query, limit, rows.len());
    let list: Vec<Value> = rows
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|f| render::execution_json(f, false))
        .collect();
    Ok((
        json!({"nextPageCursor": next, "category": cat.as_str(), "list": list}),
        json!({}),
    ))
}

/// `GET /v5/position/list`.
pub fn positions(r: &Req) -> Answer {
    match r.query.get("category").map(String::as_str) {
        Some("linear") => {}
        _ => return Err(ApiError::param("Illegal category")),
    }
    let e = r.shared.engine();
    let a = &e.accounts[r.acct];
    let list: Vec<Value> = match r.query.get("symbol") {
        Some(sym) => {
            if e.market(Category::Linear, sym).is_none() {
                return Err(ApiError::param("params error: symbol invalid"));
            }
            let p = a.positions.get(sym).cloned().unwrap_or_default();
            vec![render::position_json(sym, &p, e.mark(sym), false)]
        }
        None => {
            if !r.query.contains_key("settleCoin") {
                return Err(ApiError::param(
                    "params error: symbol or settleCoin is required",
                ));
            }
            let mut syms: Vec<_> = a
                .positions
                .iter()
                .filter(|(_, p)| !p.size.is_zero())
                .collect();
            syms.sort_by(|x, y| x.0.cmp(y.0));
            syms.into_iter()
                .map(|(s, p)| render::position_json(s, p, e.mark(s), false))
                .collect()
        }
    };
    Ok((
        json!({"list": list, "nextPageCursor": "", "category": "linear"}),
        json!({}),
    ))
}

/// `POST /v5/position/trading-stop`: stores TP/SL/trailing stop on the position.
/// A change is pushed on the `position` topic, as Bybit does; triggers live in
/// `engine/triggers.rs`.
pub fn trading_stop(r: &Req) -> Answer {
    let b = &r.body;
    if b.get("category").and_then(Value::as_str) != Some("linear") {
        return Err(ApiError::param("Illegal category"));
    }
    let sym = b
        .get("symbol")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::param("params error: symbol invalid"))?;
    let mut e = r.shared.engine();
    let Some(mi) = e.market(Category::Linear, sym) else {
        return Err(ApiError::param("params error: symbol invalid"));
    };
    let tp = dec_field(b, "takeProfit")?;
    let sl = dec_field(b, "stopLoss")?;
    let ts = dec_field(b, "trailingStop")?;
    let ap = dec_field(b, "activePrice")?;
    let now = e.now_ms();
    let a = &mut e.accounts[r.acct];
    let Some(p) = a.positions.get_mut(sym).filter(|p| !p.size.is_zero()) else {
        return Err(ApiError::new(
            10001,
            "can not set tp/sl/ts for zero position",
        ));
    };
    let before = (p.take_profit, p.stop_loss, p.trailing_stop, p.active_price);
    if let Some(v) = tp {
        p.take_profit = v;
    }
    if let Some(v) = sl {
        p.stop_loss = v;
    }
    if let Some(v) = ts {
        p.trailing_stop = v;
    }
    if let Some(v) = ap {
        p.active_price = v;
    }
    if before == (p.take_profit, p.stop_loss, p.trailing_stop, p.active_price) {
        return Err(ApiError::new(34040, "not modified"));
    }
    p.updated_ms = now;
    e.push_position_wallet(r.acct, mi);
    e.flush();
    Ok((json!({}), json!({})))
}

/// `GET /v5/account/wallet-balance`.
pub fn wallet(r: &Req) -> Answer {
    match r.query.get("accountType").map(String::as_str) {
        Some("UNIFIED") | Some("CONTRACT") | Some("SPOT") => {}
        _ => return Err(ApiError::param("accountType only support UNIFIED.")),
    }
    let e = r.shared.engine();
    let mut w = render::wallet_json(&e, &e.accounts[r.acct]);
    if let Some(c) = r.query.get("coin") {
        let wanted: Vec<&str> = c.split(',').collect();
        if let Some(coins) = w["coin"].as_array_mut() {
            coins.retain(|x| x["coin"].as_str().is_some_and(|n| wanted.contains(&n)));
        }
    }
    Ok((json!({"list": [w]}), json!({})))
}

/// `POST /v5/order/disconnected-cancel-all` (stored; the DCP timer itself is not simulated).
pub fn dcp_set(r: &Req) -> Answer {
    let tw = r
        .body
        .get("timeWindow")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .ok_or_else(|| ApiError::param("params error: timeWindow invalid"))?;
    if !(3..=300).contains(&tw) {
        return Err(ApiError::param("params error: timeWindow invalid"));
    }
    // Product: OPTIONS (default, not simulated), DERIVATIVES, SPOT.
    let cat = match r.body.get("product").and_then(Value::as_str) {
        Some("DERIVATIVES") => Some(Category::Linear),
        Some("SPOT") => Some(Category::Spot),
        None | Some("OPTIONS") => None,
        Some(_) => return Err(ApiError::param("params error: product invalid")),
    };
    if let Some(c) = cat {
        r.shared
            .dcp_window_s
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((r.acct, c), tw);
    }
    Ok((json!({}), json!({})))
}

/// `GET /v5/account/query-dcp-info`.
pub fn dcp_info(_r: &Req) -> Answer {
    Ok((
        json!({"dcpInfos": [
            {"product": "SPOT", "dcpStatus": "ON", "timeWindow": "10"},
            {"product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": "10"}
        ]}),
        json!({}),
    ))
}

/// `GET /v5/account/fee-rate`.
pub fn fee_rate(r: &Req) -> Answer {
    let e = r.shared.engine();
    let f = |d: Decimal| d.normalize().to_string();
    let list: Vec<Value> = e
        .markets
        .iter()
        .filter(|m| r.query.get("symbol").is_none_or(|s| s == &m.inst.symbol))
        .map(|m| json!({"symbol": m.inst.symbol, "takerFeeRate": f(e.fees.taker), "makerFeeRate": f(e.fees.maker)}))
        .collect();
    Ok((json!({"list": list}), json!({})))
}
