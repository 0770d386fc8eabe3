//! Order requests on Bybit's REST API: encode an [`OrderRequest`] into its endpoint and JSON
//! body, send it with a [`RestClient`], and turn the answer into one [`ItemAck`] per order.
//!
//! Mapping of answers:
//! - `retCode 0` → [`AckOutcome::Accepted`] (batch endpoints: each item's `retExtInfo` code);
//! - a business error → [`AckOutcome::Rejected`], with `order_gone` for the codes saying the
//!   order no longer exists or is already finished;
//! - timeouts, HTTP 5xx, 10016, undecodable answers and transport errors after sending →
//!   [`AckOutcome::Unknown`]: the caller reconciles over REST and never resends blindly.
//!
//! Rate-limit headers and 10006 answers are reported in [`SendOutcome`] so the caller can feed
//! its [`RateLimiter`].

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::batch::{AmendOrder, CancelOrder, CreateOrder, OrderRequest, TimeInForce};
use super::ratelimit::{Endpoint, LimitKey, RateLimiter, default_limit};
use super::state::{AckOutcome, RequestKind};
use crate::exchange::bybit::messages::{
    BybitAckList, BybitBatchExtInfo, BybitOrderAck, BybitRateLimit,
};
use crate::exchange::bybit::parse::parse_ext_info;
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::{Category, OrderLinkId};

/// Bybit codes meaning the order is gone or already finished.
const ORDER_GONE_CODES: [i64; 6] = [110001, 110008, 110010, 170142, 170213, 170210];

/// The answer for one order of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemAck {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Our id.
    pub link_id: OrderLinkId,
    /// Which request kind it answers.
    pub kind: RequestKind,
    /// What happened.
    pub outcome: AckOutcome,
    /// The exchange's code for this order (0 on success; `None` when there was no answer).
    pub ret_code: Option<i64>,
    /// The exchange's message for this order (empty on success).
    pub message: String,
}

/// Everything learned from sending one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// The budget the request used.
    pub key: LimitKey,
    /// One ack per order, in request order.
    pub acks: Vec<ItemAck>,
    /// Rate-limit headers of the answer.
    pub rate_limit: Option<BybitRateLimit>,
    /// The whole request or some items were refused with 10006.
    pub rate_limited: bool,
}

/// The budget we use out of an exchange limit: 80 % (at least one unit kept back), so that
/// requests charged at send time but counted by the exchange at arrival (network and queueing
/// jitter shift them across window edges) do not meet 10006.
pub fn with_headroom(limit: u32) -> u32 {
    limit.saturating_sub((limit / 5).max(1)).max(1)
}

/// A [`RateLimiter`] at Bybit's default limits less [`with_headroom`]'s margin.
pub fn rate_limiter() -> RateLimiter {
    let mut limiter = RateLimiter::new();
    for category in [Category::Linear, Category::Spot] {
        for endpoint in [
            Endpoint::Create,
            Endpoint::Amend,
            Endpoint::Cancel,
            Endpoint::CreateBatch,
            Endpoint::AmendBatch,
            Endpoint::CancelBatch,
            Endpoint::CancelAll,
        ] {
            let key = LimitKey::new(endpoint, category);
            limiter = limiter.with_limit(key, with_headroom(default_limit(key)));
        }
    }
    limiter
}

impl SendOutcome {
    /// Correct `limiter` with this answer's headers and any 10006, at `now_ms`. The
    /// advertised limit is taken less [`with_headroom`]'s margin.
    pub fn feed(&self, limiter: &mut RateLimiter, now_ms: i64) {
        if let Some(rl) = self.rate_limit
            && let (Some(remaining), Some(reset_ms)) = (rl.remaining, rl.reset_at_ms)
        {
            let limit = rl.limit.map(with_headroom).unwrap_or(0);
            let remaining = remaining.saturating_sub(rl.limit.unwrap_or(0).saturating_sub(limit));
            limiter.on_headers(self.key, now_ms, limit, remaining, reset_ms);
        }
        if self.rate_limited {
            let reset = self.rate_limit.and_then(|r| r.reset_at_ms);
            limiter.on_rate_limited(self.key, now_ms, reset);
        }
    }
}

/// The REST path of an endpoint.
pub fn endpoint_path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Create => "/v5/order/create",
        Endpoint::Amend => "/v5/order/amend",
        Endpoint::Cancel => "/v5/order/cancel",
        Endpoint::CreateBatch => "/v5/order/create-batch",
        Endpoint::AmendBatch => "/v5/order/amend-batch",
        Endpoint::CancelBatch => "/v5/order/cancel-batch",
        Endpoint::CancelAll => "/v5/order/cancel-all",
    }
}

/// The category of a request.
pub fn category_of(req: &OrderRequest) -> Category {
    match req {
        OrderRequest::Create(c, _)
        | OrderRequest::Amend(c, _)
        | OrderRequest::Cancel(c, _)
        | OrderRequest::CreateBatch(c, _)
        | OrderRequest::AmendBatch(c, _)
        | OrderRequest::CancelBatch(c, _) => *c,
    }
}

/// Which request kind a request's orders answer.
pub fn kind_of(req: &OrderRequest) -> RequestKind {
    match req {
        OrderRequest::Create(..) | OrderRequest::CreateBatch(..) => RequestKind::Create,
        OrderRequest::Amend(..) | OrderRequest::AmendBatch(..) => RequestKind::Amend,
        OrderRequest::Cancel(..) | OrderRequest::CancelBatch(..) => RequestKind::Cancel,
    }
}

/// `(symbol, link id)` of every order of a request, in request order.
pub fn items_of(req: &OrderRequest) -> Vec<(Arc<str>, OrderLinkId)> {
    match req {
        OrderRequest::Create(_, o) => vec![(o.symbol.clone(), o.link_id.clone())],
        OrderRequest::Amend(_, o) => vec![(o.symbol.clone(), o.link_id.clone())],
        OrderRequest::Cancel(_, o) => vec![(o.symbol.clone(), o.link_id.clone())],
        OrderRequest::CreateBatch(_, v) => v
            .iter()
            .map(|o| (o.symbol.clone(), o.link_id.clone()))
            .collect(),
        OrderRequest::AmendBatch(_, v) => v
            .iter()
            .map(|o| (o.symbol.clone(), o.link_id.clone()))
            .collect(),
        OrderRequest::CancelBatch(_, v) => v
            .iter()
            .map(|o| (o.symbol.clone(), o.link_id.clone()))
            .collect(),
    }
}

fn decimal(d: Decimal) -> Value {
    Value::String(d.normalize().to_string())
}

fn create_json(o: &CreateOrder) -> Value {
    let tif = match o.time_in_force {
        TimeInForce::PostOnly => "PostOnly",
        TimeInForce::Gtc => "GTC",
    };
    json!({
        "symbol": &*o.symbol,
        "side": o.side.as_str(),
        "orderType": "Limit",
        "qty": decimal(o.qty),
        "price": decimal(o.price),
        "timeInForce": tif,
        "orderLinkId": o.link_id.as_str(),
    })
}

fn amend_json(o: &AmendOrder) -> Value {
    let mut v = json!({ "symbol": &*o.symbol });
    match &o.order_id {
        Some(id) => v["orderId"] = json!(&**id),
        None => v["orderLinkId"] = json!(o.link_id.as_str()),
    }
    if let Some(p) = o.price {
        v["price"] = decimal(p);
    }
    if let Some(q) = o.qty {
        v["qty"] = decimal(q);
    }
    v
}

fn cancel_json(o: &CancelOrder) -> Value {
    let mut v = json!({ "symbol": &*o.symbol });
    match &o.order_id {
        Some(id) => v["orderId"] = json!(&**id),
        None => v["orderLinkId"] = json!(o.link_id.as_str()),
    }
    v
}

fn with_category(mut v: Value, category: Category) -> Value {
    v["category"] = json!(category.as_str());
    v
}

/// The REST path and JSON body of `req` (exact decimals as strings).
pub fn encode(req: &OrderRequest) -> (&'static str, String) {
    let path = endpoint_path(req.endpoint());
    let body = match req {
        OrderRequest::Create(c, o) => with_category(create_json(o), *c),
        OrderRequest::Amend(c, o) => with_category(amend_json(o), *c),
        OrderRequest::Cancel(c, o) => with_category(cancel_json(o), *c),
        OrderRequest::CreateBatch(c, v) => {
            json!({"category": c.as_str(), "request": v.iter().map(create_json).collect::<Vec<_>>()})
        }
        OrderRequest::AmendBatch(c, v) => {
            json!({"category": c.as_str(), "request": v.iter().map(amend_json).collect::<Vec<_>>()})
        }
        OrderRequest::CancelBatch(c, v) => {
            json!({"category": c.as_str(), "request": v.iter().map(cancel_json).collect::<Vec<_>>()})
        }
    };
    (path, body.to_string())
}

/// The outcome a business error code implies.
pub fn outcome_for_code(ret_code: i64) -> AckOutcome {
    if ret_code == 10016 {
        AckOutcome::Unknown
    } else {
        AckOutcome::Rejected {
            order_gone: ORDER_GONE_CODES.contains(&ret_code),
        }
    }
}

/// The outcome a failed call implies for every order in it.
pub fn outcome_for_error(err: &RestError) -> AckOutcome {
    match err {
        RestError::Api(e) => outcome_for_code(e.ret_code),
        e if e.outcome_unknown() => AckOutcome::Unknown,
        _ => AckOutcome::Rejected { order_gone: false },
    }
}

/// Send `req` with `client` and map the answer (never fails: errors become acks).
pub async fn send(client: &RestClient, req: &OrderRequest) -> SendOutcome {
    let key = LimitKey::new(req.endpoint(), category_of(req));
    let kind = kind_of(req);
    let items = items_of(req);
    let (path, body) = encode(req);
    let batched = matches!(
        req,
        OrderRequest::CreateBatch(..)
            | OrderRequest::AmendBatch(..)
            | OrderRequest::CancelBatch(..)
    );
    let ack = |(symbol, link_id): (Arc<str>, OrderLinkId), outcome, code, message: &str| ItemAck {
        symbol,
        link_id,
        kind,
        outcome,
        ret_code: code,
        message: message.to_owned(),
    };
    if !batched {
        let reply = client.post_signed::<BybitOrderAck>(path, body).await;
        return match reply {
            Ok(r) => SendOutcome {
                key,
                acks: items
                    .into_iter()
                    .map(|it| {
                        let outcome = AckOutcome::Accepted {
                            order_id: Some(r.result.order_id.clone()).filter(|s| !s.is_empty()),
                        };
                        ack(it, outcome, Some(0), "")
                    })
                    .collect(),
                rate_limit: r.rate_limit,
                rate_limited: false,
            },
            Err(e) => error_outcome(key, items, kind, &e),
        };
    }
    match client.post_signed::<BybitAckList>(path, body).await {
        Ok(r) => {
            let statuses = parse_ext_info::<BybitBatchExtInfo>(&r.envelope)
                .map(|x| x.list)
                .unwrap_or_default();
            let mut rate_limited = false;
            let acks = items
                .into_iter()
                .enumerate()
                .map(|(i, it)| match (statuses.get(i), r.result.list.get(i)) {
                    (Some(st), row) if st.code == 0 => {
                        let order_id = row
                            .map(|row| row.order_id.clone())
                            .filter(|s| !s.is_empty());
                        ack(it, AckOutcome::Accepted { order_id }, Some(0), "")
                    }
                    (Some(st), _) => {
                        rate_limited |= st.code == 10006;
                        ack(it, outcome_for_code(st.code), Some(st.code), &st.msg)
                    }
                    // No status for this item: its fate is not known.
                    (None, _) => ack(it, AckOutcome::Unknown, None, "no item status"),
                })
                .collect();
            SendOutcome {
                key,
                acks,
                rate_limit: r.rate_limit,
                rate_limited,
            }
        }
        Err(e) => error_outcome(key, items, kind, &e),
    }
}

fn error_outcome(
    key: LimitKey,
    items: Vec<(Arc<str>, OrderLinkId)>,
    kind: RequestKind,
    err: &RestError,
) -> SendOutcome {
    let outcome = outcome_for_error(err);
    let message = err.to_string();
    SendOutcome {
        key,
        acks: items
            .into_iter()
            .map(|(symbol, link_id)| ItemAck {
                symbol,
                link_id,
                kind,
                outcome: outcome.clone(),
                ret_code: err.ret_code(),
                message: message.clone(),
            })
            .collect(),
        rate_limit: None,
        rate_limited: err.is_rate_limited(),
    }
}

/// `POST /v5/order/cancel-all` for one symbol; returns how many orders the exchange cancelled.
pub async fn cancel_all(
    client: &RestClient,
    category: Category,
    symbol: &str,
) -> Result<usize, RestError> {
    let body = json!({"category": category.as_str(), "symbol": symbol}).to_string();
    let reply = client
        .post_signed::<BybitAckList>(endpoint_path(Endpoint::CancelAll), body)
        .await?;
    Ok(reply.result.list.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::bybit::messages::BybitApiError;
    use crate::model::Side;
    use rust_decimal_macros::dec;

    fn id(s: &str) -> OrderLinkId {
        OrderLinkId::parse(s).unwrap()
    }

    #[test]
    fn encodes_each_request_kind() {
        let create = CreateOrder {
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            price: dec!(60000.10),
            qty: dec!(0.010),
            link_id: id("q1-BTCUSDT-b0-1"),
            time_in_force: TimeInForce::PostOnly,
        };
        let (path, body) = encode(&OrderRequest::Create(Category::Linear, create.clone()));
        assert_eq!(path, "/v5/order/create");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",
                   "qty":"0.01","price":"60000.1","timeInForce":"PostOnly","orderLinkId":"q1-BTCUSDT-b0-1"})
        );
        let amend = AmendOrder {
            symbol: "BTCUSDT".into(),
            link_id: id("q1-BTCUSDT-b0-1"),
            order_id: Some("abc".into()),
            price: Some(dec!(59999.9)),
            qty: None,
        };
        let (path, body) = encode(&OrderRequest::AmendBatch(Category::Linear, vec![amend]));
        assert_eq!(path, "/v5/order/amend-batch");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderId":"abc","price":"59999.9"}]})
        );
        let cancel = CancelOrder {
            symbol: "ETHUSDT".into(),
            link_id: id("q1-ETHUSDT-s1-2"),
            order_id: None,
        };
        let (path, body) = encode(&OrderRequest::Cancel(Category::Spot, cancel));
        assert_eq!(path, "/v5/order/cancel");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"category":"spot","symbol":"ETHUSDT","orderLinkId":"q1-ETHUSDT-s1-2"})
        );
    }

    #[test]
    fn error_codes_map_to_outcomes() {
        let table = [
            (10016, AckOutcome::Unknown),
            (110001, AckOutcome::Rejected { order_gone: true }),
            (110008, AckOutcome::Rejected { order_gone: true }),
            (10006, AckOutcome::Rejected { order_gone: false }),
            (140098, AckOutcome::Rejected { order_gone: false }),
        ];
        for (code, want) in table {
            assert_eq!(outcome_for_code(code), want, "{code}");
            let err = RestError::Api(BybitApiError {
                ret_code: code,
                ret_msg: String::new(),
            });
            assert_eq!(outcome_for_error(&err), want, "{code}");
        }
        assert_eq!(outcome_for_error(&RestError::Timeout), AckOutcome::Unknown);
        let http = RestError::Http {
            status: 502,
            body: String::new(),
        };
        assert_eq!(outcome_for_error(&http), AckOutcome::Unknown);
    }

    #[test]
    fn headroom_keeps_a_fifth_back() {
        for (limit, want) in [(10, 8), (20, 16), (5, 4), (1, 1), (2, 1), (100, 80)] {
            assert_eq!(with_headroom(limit), want, "{limit}");
        }
        let mut rl = rate_limiter();
        let key = LimitKey::new(Endpoint::Create, Category::Linear);
        assert_eq!(rl.limit(key), 8);
    }
}
