//! Order endpoints: create, amend, cancel, cancel-all, the batch variants, realtime, history.

use super::{Answer, Req};
use crate::config::Category;
use crate::engine::matching::{parse_category, parse_order_request};
use crate::engine::{ApiError, Engine, render};
use serde_json::{Value, json};

/// Max items per batch: linear 20, spot 10.
pub fn batch_max(c: Category) -> usize {
    match c {
        Category::Linear => 20,
        Category::Spot => 10,
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Create one order from a JSON object; shared with WS trade.
pub fn create_one(e: &mut Engine, acct: usize, v: &Value, cat: Category) -> Answer {
    let req = parse_order_request(v, cat)?;
    let (id, link) = e.create_order(acct, req)?;
    Ok((json!({"orderId": id, "orderLinkId": link}), json!({})))
}

/// Amend one order; shared with WS trade.
pub fn amend_one(e: &mut Engine, acct: usize, v: &Value) -> Answer {
    let (id, link) = e.amend_order(acct, v)?;
    Ok((json!({"orderId": id, "orderLinkId": link}), json!({})))
}

/// Cancel one order; shared with WS trade.
pub fn cancel_one(e: &mut Engine, acct: usize, v: &Value) -> Answer {
    let cat = parse_category(v)?;
    let sym = s(v, "symbol").ok_or_else(|| ApiError::param("params error: symbol invalid"))?;
    let (id, link) = e.cancel_order(acct, cat, sym, s(v, "orderId"), s(v, "orderLinkId"))?;
    Ok((json!({"orderId": id, "orderLinkId": link}), json!({})))
}

/// `POST /v5/order/create`.
pub fn create(r: &Req) -> Answer {
    let cat = parse_category(&r.body)?;
    create_one(&mut r.shared.engine(), r.acct, &r.body, cat)
}

/// `POST /v5/order/amend`.
pub fn amend(r: &Req) -> Answer {
    amend_one(&mut r.shared.engine(), r.acct, &r.body)
}

/// `POST /v5/order/cancel`.
pub fn cancel(r: &Req) -> Answer {
    cancel_one(&mut r.shared.engine(), r.acct, &r.body)
}

/// `POST /v5/order/cancel-all`.
pub fn cancel_all(r: &Req) -> Answer {
    let cat = parse_category(&r.body)?;
    let sym = s(&r.body, "symbol");
    if cat == Category::Linear
        && sym.is_none()
        && s(&r.body, "settleCoin").is_none()
        && s(&r.body, "baseCoin").is_none()
    {
        return Err(ApiError::param(
            "params error: symbol or settleCoin is required",
        ));
    }
    let ids = r
        .shared
        .engine()
        .cancel_all(r.acct, cat, sym, "CancelByUser");
    let list: Vec<Value> = ids
        .into_iter()
        .map(|(id, link)| json!({"orderId": id, "orderLinkId": link}))
        .collect();
    Ok((json!({"list": list, "success": "1"}), json!({})))
}

/// Which batch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp {
    /// create-batch.
    Create,
    /// amend-batch.
    Amend,
    /// cancel-batch.
    Cancel,
}

/// Run a batch (`{"category","request":[...]}`); items beyond `granted` fail with 10006.
/// Returns (result, retExtInfo) in Bybit's shape; shared with WS trade.
pub fn batch(e: &mut Engine, acct: usize, body: &Value, op: BatchOp, granted: u32) -> Answer {
    let cat = parse_category(body)?;
    let items = body
        .get("request")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::param("params error: request invalid"))?;
    if items.is_empty() || items.len() > batch_max(cat) {
        return Err(ApiError::param(format!(
            "params error: batch size must be 1..={}",
            batch_max(cat)
        )));
    }
    let now = e.now_ms();
    let mut list = Vec::new();
    let mut ext = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut it = item.clone();
        if let Some(o) = it.as_object_mut() {
            o.insert("category".into(), json!(cat.as_str()));
        }
        let res = if i as u32 >= granted {
            Err(ApiError::new(10006, "Too many visits"))
        } else {
            match op {
                BatchOp::Create => create_one(e, acct, &it, cat),
                BatchOp::Amend => amend_one(e, acct, &it),
                BatchOp::Cancel => cancel_one(e, acct, &it),
            }
        };
        let sym = s(item, "symbol").unwrap_or("");
        match res {
            Ok((v, _)) => {
                let mut row = json!({"category": cat.as_str(), "symbol": sym, "orderId": v["orderId"], "orderLinkId": v["orderLinkId"]});
                if op == BatchOp::Create {
                    row["createAt"] = json!(now.to_string());
                }
                list.push(row);
                ext.push(json!({"code": 0, "msg": "OK"}));
            }
            Err(err) => {
                let mut row = json!({"category": cat.as_str(), "symbol": sym, "orderId": "", "orderLinkId": s(item, "orderLinkId").unwrap_or("")});
                if op == BatchOp::Create {
                    row["createAt"] = json!("");
                }
                list.push(row);
                ext.push(json!({"code": err.code, "msg": err.msg}));
            }
        }
    }
    Ok((json!({"list": list}), json!({"list": ext})))
}

/// `POST /v5/order/create-batch`.
pub fn create_batch(r: &Req) -> Answer {
    batch(
        &mut r.shared.engine(),
        r.acct,
        &r.body,
        BatchOp::Create,
        r.granted,
    )
}

/// `POST /v5/order/amend-batch`.
pub fn amend_batch(r: &Req) -> Answer {
    batch(
        &mut r.shared.engine(),
        r.acct,
        &r.body,
        BatchOp::Amend,
        r.granted,
    )
}

/// `POST /v5/order/cancel-batch`.
pub fn cancel_batch(r: &Req) -> Answer {
    batch(
        &mut r.shared.engine(),
        r.acct,
        &r.body,
        BatchOp::Cancel,
        r.granted,
    )
}

fn query_category(r: &Req) -> Result<Category, ApiError> {
    let c = r
        .query
        .get("category")
        .ok_or_else(|| ApiError::param("params error: category is empty"))?;
    Category::parse(c).ok_or_else(|| ApiError::param("Illegal category"))
}

fn order_rows(r: &Req, open_only: bool) -> Answer {
    let cat = query_category(r)?;
    let q = &r.query;
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, 50);
    let e = r.shared.engine();
    let a = &e.accounts[r.acct];
    let matches = |o: &crate::engine::types::Order| {
        o.category == cat
            && q.get("symbol").is_none_or(|s| s == &o.symbol)
            && q.get("orderId").is_none_or(|s| s == &o.order_id)
            && q.get("orderLinkId").is_none_or(|s| s == &o.order_link_id)
    };
    let mut rows: Vec<&crate::engine::types::Order> = if open_only {
        a.open.values().filter(|o| matches(o)).collect()
    } else {
        a.closed.iter().filter(|o| matches(o)).collect()
    };
    if !open_only {
        rows.extend(a.open.values().filter(|o| matches(o)));
    }
    rows.sort_by_key(|o| std::cmp::Reverse((o.created_ms, o.priority)));
    let (skip, next) = super::page(q, limit, rows.len());
    let list: Vec<Value> = rows
        .into_iter()
        .skip(skip)
        .take(limit)
        .filter_map(|o| {
            let mi = e.market(o.category, &o.symbol)?;
            Some(render::order_json(o, &e.markets[mi].inst))
        })
        .collect();
    Ok((
        json!({"list": list, "nextPageCursor": next, "category": cat.as_str()}),
        json!({}),
    ))
}

/// `GET /v5/order/realtime` (`openOnly=1` gives recent closed orders).
pub fn realtime(r: &Req) -> Answer {
    let closed = r.query.get("openOnly").is_some_and(|v| v == "1");
    order_rows(r, !closed)
}

/// `GET /v5/order/history`.
pub fn history(r: &Req) -> Answer {
    order_rows(r, false)
}
