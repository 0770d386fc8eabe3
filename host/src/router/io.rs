//! Order requests to Bybit, over REST or the trade WebSocket: encode an [`OrderRequest`] into
//! its endpoint (or op) and JSON body, send it with an [`OrderSender`], and turn the answer into
//! one [`ItemAck`] per order. Both transports decode the same envelope the same way.
//!
//! Mapping of answers:
//! - `retCode 0` → [`AckOutcome::Accepted`] (batch endpoints: each item's `retExtInfo` code);
//! - a business error → [`AckOutcome::Rejected`], with `order_gone` for the codes saying the
//!   order no longer exists or is already finished;
//! - timeouts, HTTP 5xx, 10016, undecodable answers, transport errors after sending and trade
//!   connections lost before the reply → [`AckOutcome::Unknown`]: the caller reconciles over
//!   REST and never resends blindly;
//! - not sent at all (trade stream down, REST connect failure) → rejected, not gone.
//!
//! Rate-limit headers (kept on error answers too) and 10006 answers are reported in
//! [`SendOutcome`]; [`SendOutcome::feed`] gives them, and the answer itself, to the
//! [`RateLimiter`].

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::batch::{AmendOrder, CancelOrder, CreateOrder, OrderRequest, TimeInForce};
use super::ratelimit::{Endpoint, LimitKey, RateLimiter};
use super::state::{AckOutcome, RequestKind};
use crate::exchange::bybit::messages::{
    BybitAckList, BybitBatchExtInfo, BybitEnvelope, BybitOrderAck, BybitRateLimit,
};
use crate::exchange::bybit::parse::{parse_ext_info, parse_result};
use crate::exchange::bybit::rest::{PreparedPost, RestClient, RestError, decode_response};
use crate::exchange::bybit::ws::{
    PendingRequest, TradeError, TradeLink, TradeStreamConfig, TradeStreamHandle, TradeStreamTask,
    WsError,
};
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

/// Percent of every exchange limit kept unused: room for other clients of the account and for
/// differences between the exchange's window and ours.
pub const RESERVE_PCT: u32 = 20;

/// How long a sent request may stay unanswered and still count as in flight: above the
/// senders' request timeouts (5 s), after which an answer always comes back.
pub const MAX_INFLIGHT_MS: i64 = 10_000;

/// The router's [`RateLimiter`]: Bybit's default limits less [`RESERVE_PCT`], units counted
/// from send until answered (see [`SendOutcome::feed`]).
pub fn rate_limiter() -> RateLimiter {
    RateLimiter::new()
        .with_reserve_pct(RESERVE_PCT)
        .with_max_inflight_ms(MAX_INFLIGHT_MS)
}

impl SendOutcome {
    /// Give this answer to `limiter`, at `now_ms` (when the answer was seen): the request's
    /// units count from now for a full window, the headers correct the estimate, and a 10006
    /// blocks the endpoint until the reset time (read as a delay from `Timenow`, so clock
    /// offsets do not matter).
    pub fn feed(&self, limiter: &mut RateLimiter, now_ms: i64) {
        limiter.on_answer(self.key, self.acks.len() as u32, now_ms);
        let reset = self.rate_limit.and_then(|rl| rl.reset_local_ms(now_ms));
        if let Some(rl) = self.rate_limit
            && let Some(remaining) = rl.remaining
        {
            limiter.on_headers(self.key, now_ms, rl.limit, remaining, reset);
        }
        if self.rate_limited {
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

/// The trade-stream op of an endpoint (`None` for cancel-all, which is REST only).
pub fn ws_op(endpoint: Endpoint) -> Option<&'static str> {
    Some(match endpoint {
        Endpoint::Create => "order.create",
        Endpoint::Amend => "order.amend",
        Endpoint::Cancel => "order.cancel",
        Endpoint::CreateBatch => "order.create-batch",
        Endpoint::AmendBatch => "order.amend-batch",
        Endpoint::CancelBatch => "order.cancel-batch",
        Endpoint::CancelAll => return None,
    })
}

/// The JSON body of `req` (exact decimals as strings): the REST body, and the single `args`
/// element of the trade-stream op.
pub fn body_of(req: &OrderRequest) -> Value {
    match req {
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
    }
}

/// The REST path and JSON body of `req`.
pub fn encode(req: &OrderRequest) -> (&'static str, String) {
    // About 100 bytes an order: no regrowth.
    let orders = match req {
        OrderRequest::CreateBatch(_, v) => v.len(),
        OrderRequest::AmendBatch(_, v) => v.len(),
        OrderRequest::CancelBatch(_, v) => v.len(),
        _ => 1,
    };
    let mut body = Vec::with_capacity(64 + 112 * orders);
    super::body::write_body(req, &mut body);
    (endpoint_path(req.endpoint()), utf8(body))
}

/// Written text as a `String`: one UTF-8 check of the whole (the writers put only `&str`
/// pieces and ASCII, so it always passes; nothing is lost if it ever did not).
pub(crate) fn utf8(text: Vec<u8>) -> String {
    String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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

/// Codes meaning the account's budget (10006) or the system's (10429) was exceeded.
pub fn is_rate_limit_code(ret_code: i64) -> bool {
    matches!(ret_code, 10006 | 10429)
}

/// The outcome a failed call implies for every order in it.
pub fn outcome_for_error(err: &RestError) -> AckOutcome {
    match err {
        RestError::Api(e) => outcome_for_code(e.ret_code),
        e if e.outcome_unknown() => AckOutcome::Unknown,
        _ => AckOutcome::Rejected { order_gone: false },
    }
}

/// The outcome a trade-stream failure implies for every order in the request.
pub fn outcome_for_trade_error(err: &TradeError) -> AckOutcome {
    if err.outcome_unknown() {
        AckOutcome::Unknown
    } else {
        AckOutcome::Rejected { order_gone: false }
    }
}

/// How order requests reach the exchange: REST or the trade WebSocket. Cheap to clone; both
/// give the same [`SendOutcome`] for the same answer.
#[derive(Clone, Debug)]
pub struct OrderSender {
    transport: Transport,
}

#[derive(Clone, Debug)]
enum Transport {
    Rest(RestClient),
    Ws(TradeStreamHandle),
}

impl OrderSender {
    /// Send over REST with `client`.
    pub fn rest(client: RestClient) -> Self {
        Self {
            transport: Transport::Rest(client),
        }
    }

    /// Send over a running trade stream.
    pub fn ws(handle: TradeStreamHandle) -> Self {
        Self {
            transport: Transport::Ws(handle),
        }
    }

    /// Start a trade stream and wait (at most `timeout`) until it is authenticated. The
    /// stream stops when the last clone of the sender is dropped.
    pub async fn connect_ws(config: TradeStreamConfig, timeout: Duration) -> Result<Self, WsError> {
        let (handle, _join) = TradeStreamTask::spawn(config);
        match handle.wait_up(timeout).await {
            Ok(()) => Ok(Self::ws(handle)),
            Err(link) => {
                handle.shutdown().await;
                Err(WsError::NotConnected(match link {
                    TradeLink::Down { reason } => reason,
                    _ => format!("trade stream not authenticated within {timeout:?}"),
                }))
            }
        }
    }

    /// `"rest"` or `"ws"`.
    pub fn transport(&self) -> &'static str {
        match self.transport {
            Transport::Rest(_) => "rest",
            Transport::Ws(_) => "ws",
        }
    }

    /// [`Self::send`] begun now: the request's bytes are made before this returns, so the
    /// request does not wait for the returned future's first poll (a spawned task's start).
    /// Over the trade stream the frame is built and queued for the socket; over REST the body
    /// is encoded and signed and the HTTP request built (the future posts it). The future
    /// waits for the reply and maps it.
    pub fn start(
        &self,
        req: OrderRequest,
    ) -> impl std::future::Future<Output = SendOutcome> + Send + 'static {
        let started = match &self.transport {
            Transport::Ws(handle) => Started::Ws(start_ws(handle, &req)),
            Transport::Rest(client) => Started::Rest(client.clone(), start_rest(client, &req)),
        };
        async move {
            match started {
                Started::Ws(start) => finish_ws(start, &req).await,
                Started::Rest(client, post) => finish_rest(&client, post, &req).await,
            }
        }
    }

    /// Send `req` and map the answer (never fails: errors become acks).
    pub async fn send(&self, req: &OrderRequest) -> SendOutcome {
        match &self.transport {
            Transport::Rest(client) => send(client, req).await,
            Transport::Ws(handle) => send_ws(handle, req).await,
        }
    }
}

/// A request whose bytes are made, on its transport.
// Built once per request and moved straight into its future: boxing the large REST variant
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Started {
    Ws(WsStart),
    Rest(RestClient, Result<PreparedPost, RestError>),
}

/// Send `req` over REST with `client` and map the answer (never fails: errors become acks).
pub async fn send(client: &RestClient, req: &OrderRequest) -> SendOutcome {
    finish_rest(client, start_rest(client, req), req).await
}

/// The synchronous half of [`send`]: encode, sign and build the HTTP request.
fn start_rest(client: &RestClient, req: &OrderRequest) -> Result<PreparedPost, RestError> {
    let (path, body) = encode(req);
    client.prepare_post(path, body)
}

/// Post a prepared request and map the answer.
async fn finish_rest(
    client: &RestClient,
    post: Result<PreparedPost, RestError>,
    req: &OrderRequest,
) -> SendOutcome {
    let sent = match post {
        Ok(post) => client.send_prepared(post).await,
        Err(e) => Err(e),
    };
    match sent {
        Err(e) => error_outcome(req, &e, None),
        Ok(raw) => match decode_response(raw.status, &raw.body) {
            Ok(env) => envelope_outcome(req, &env, raw.rate_limit),
            Err(RestError::Api(e)) => code_outcome(req, e.ret_code, &e.ret_msg, raw.rate_limit),
            Err(e) => error_outcome(req, &e, raw.rate_limit),
        },
    }
}

/// Send `req` over the trade stream and map the reply (never fails: errors become acks).
pub async fn send_ws(handle: &TradeStreamHandle, req: &OrderRequest) -> SendOutcome {
    finish_ws(start_ws(handle, req), req).await
}

/// A trade-stream send after its synchronous half: queued, or already answered.
enum WsStart {
    /// On its way; the reply is awaited.
    Pending(PendingRequest),
    /// Not sent (REST-only operation, stream down): the outcome is known.
    Done(SendOutcome),
}

/// The synchronous half of [`send_ws`]: build the frame and queue it for the socket.
fn start_ws(handle: &TradeStreamHandle, req: &OrderRequest) -> WsStart {
    let Some(op) = ws_op(req.endpoint()) else {
        let acks = acks_all(
            req,
            &AckOutcome::Rejected { order_gone: false },
            None,
            "REST only",
        );
        return WsStart::Done(outcome(req, acks, None, false));
    };
    match handle.start_with(op, |out| super::body::write_body(req, out)) {
        Ok(pending) => WsStart::Pending(pending),
        Err(e) => WsStart::Done(trade_error_outcome(req, &e)),
    }
}

/// The asynchronous half of [`send_ws`]: wait for the reply and map it.
async fn finish_ws(start: WsStart, req: &OrderRequest) -> SendOutcome {
    let pending = match start {
        WsStart::Pending(pending) => pending,
        WsStart::Done(out) => return out,
    };
    match pending.reply().await {
        Ok(reply) => {
            let rate_limit = reply.rate_limit();
            if reply.ret_code == 0 {
                envelope_outcome(req, &reply.to_envelope(), rate_limit)
            } else {
                code_outcome(req, reply.ret_code, &reply.ret_msg, rate_limit)
            }
        }
        Err(e) => trade_error_outcome(req, &e),
    }
}

fn trade_error_outcome(req: &OrderRequest, e: &TradeError) -> SendOutcome {
    let acks = acks_all(req, &outcome_for_trade_error(e), None, &e.to_string());
    outcome(req, acks, None, false)
}

fn is_batch(req: &OrderRequest) -> bool {
    matches!(
        req,
        OrderRequest::CreateBatch(..)
            | OrderRequest::AmendBatch(..)
            | OrderRequest::CancelBatch(..)
    )
}

fn outcome(
    req: &OrderRequest,
    acks: Vec<ItemAck>,
    rate_limit: Option<BybitRateLimit>,
    rate_limited: bool,
) -> SendOutcome {
    SendOutcome {
        key: LimitKey::new(req.endpoint(), category_of(req)),
        acks,
        rate_limit,
        rate_limited,
    }
}

/// The same outcome for every order of `req`.
fn acks_all(
    req: &OrderRequest,
    outcome: &AckOutcome,
    ret_code: Option<i64>,
    message: &str,
) -> Vec<ItemAck> {
    let kind = kind_of(req);
    items_of(req)
        .into_iter()
        .map(|(symbol, link_id)| ItemAck {
            symbol,
            link_id,
            kind,
            outcome: outcome.clone(),
            ret_code,
            message: message.to_owned(),
        })
        .collect()
}

/// A successful envelope (`retCode` 0): single acks from `result`, batch items from
/// `retExtInfo.list`.
fn envelope_outcome(
    req: &OrderRequest,
    env: &BybitEnvelope,
    rate_limit: Option<BybitRateLimit>,
) -> SendOutcome {
    let kind = kind_of(req);
    let ack = |(symbol, link_id), outcome, code, message: &str| ItemAck {
        symbol,
        link_id,
        kind,
        outcome,
        ret_code: code,
        message: message.to_owned(),
    };
    if !is_batch(req) {
        let acks = match parse_result::<BybitOrderAck>(env) {
            Ok(r) => {
                let order_id = Some(r.order_id.clone()).filter(|s| !s.is_empty());
                acks_all(req, &AckOutcome::Accepted { order_id }, Some(0), "")
            }
            Err(e) => acks_all(req, &AckOutcome::Unknown, None, &e.to_string()),
        };
        return outcome(req, acks, rate_limit, false);
    }
    let rows = match parse_result::<BybitAckList>(env) {
        Ok(r) => r.list,
        Err(e) => {
            let acks = acks_all(req, &AckOutcome::Unknown, None, &e.to_string());
            return outcome(req, acks, rate_limit, false);
        }
    };
    let statuses = parse_ext_info::<BybitBatchExtInfo>(env)
        .map(|x| x.list)
        .unwrap_or_default();
    let mut rate_limited = false;
    let acks = items_of(req)
        .into_iter()
        .enumerate()
        .map(|(i, it)| match (statuses.get(i), rows.get(i)) {
            (Some(st), row) if st.code == 0 => {
                let order_id = row
                    .map(|row| row.order_id.clone())
                    .filter(|s| !s.is_empty());
                ack(it, AckOutcome::Accepted { order_id }, Some(0), "")
            }
            (Some(st), _) => {
                rate_limited |= is_rate_limit_code(st.code);
                ack(it, outcome_for_code(st.code), Some(st.code), &st.msg)
            }
            // No status for this item: its fate is not known.
            (None, _) => ack(it, AckOutcome::Unknown, None, "no item status"),
        })
        .collect();
    outcome(req, acks, rate_limit, rate_limited)
}

/// A whole request refused with `ret_code`.
fn code_outcome(
    req: &OrderRequest,
    ret_code: i64,
    message: &str,
    rate_limit: Option<BybitRateLimit>,
) -> SendOutcome {
    let acks = acks_all(req, &outcome_for_code(ret_code), Some(ret_code), message);
    outcome(req, acks, rate_limit, is_rate_limit_code(ret_code))
}

fn error_outcome(
    req: &OrderRequest,
    err: &RestError,
    rate_limit: Option<BybitRateLimit>,
) -> SendOutcome {
    let acks = acks_all(
        req,
        &outcome_for_error(err),
        err.ret_code(),
        &err.to_string(),
    );
    outcome(req, acks, rate_limit, err.is_rate_limited())
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

    /// The REST text and the trade stream's `Value` say the same for every request kind,
    /// with ids that need escaping and decimals with trailing zeros.
    #[test]
    fn rest_text_equals_the_trade_stream_value() {
        let create = |link: &str, tif| CreateOrder {
            symbol: "BTC\"USDT".into(),
            side: Side::Sell,
            price: dec!(0.00012300),
            qty: dec!(100),
            link_id: id(link),
            time_in_force: tif,
        };
        let amend = |order_id: Option<&str>, price, qty| AmendOrder {
            symbol: "BTCUSDT".into(),
            link_id: id("q1-BTCUSDT-b0-1"),
            order_id: order_id.map(Into::into),
            price,
            qty,
        };
        let cancel = |order_id: Option<&str>| CancelOrder {
            symbol: "BTCUSDT".into(),
            link_id: id("q1-BTCUSDT-s2-9"),
            order_id: order_id.map(Into::into),
        };
        let c = Category::Linear;
        let reqs = [
            OrderRequest::Create(c, create("q1-BTCUSDT-s0-1", TimeInForce::PostOnly)),
            OrderRequest::Create(Category::Spot, create("q1-BTCUSDT-s0-2", TimeInForce::Gtc)),
            OrderRequest::Amend(c, amend(Some("a\\b\u{1}"), Some(dec!(1.50)), Some(dec!(2)))),
            OrderRequest::Amend(c, amend(None, None, Some(dec!(0.010)))),
            OrderRequest::Cancel(c, cancel(None)),
            OrderRequest::Cancel(c, cancel(Some("x"))),
            OrderRequest::CreateBatch(c, vec![create("q1-A-b0-1", TimeInForce::PostOnly); 3]),
            OrderRequest::AmendBatch(c, vec![amend(Some("y"), Some(dec!(3)), None); 2]),
            OrderRequest::CancelBatch(c, vec![cancel(None), cancel(Some("z"))]),
        ];
        for req in &reqs {
            let (_, text) = encode(req);
            let parsed: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, body_of(req), "{text}");
        }
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
    fn the_router_keeps_a_fifth_of_each_limit() {
        let mut rl = rate_limiter();
        let key = LimitKey::new(Endpoint::Create, Category::Linear);
        assert_eq!((rl.limit(key), rl.budget(key)), (10, 8));
        let key = LimitKey::new(Endpoint::CreateBatch, Category::Spot);
        assert_eq!((rl.limit(key), rl.budget(key)), (20, 16));
    }

    fn amends(n: usize) -> OrderRequest {
        OrderRequest::AmendBatch(
            Category::Linear,
            (0..n)
                .map(|i| AmendOrder {
                    symbol: "BTCUSDT".into(),
                    link_id: id(&format!("q1-BTCUSDT-b{i}-1")),
                    order_id: None,
                    price: Some(dec!(1)),
                    qty: None,
                })
                .collect(),
        )
    }

    fn envelope(v: Value) -> BybitEnvelope {
        crate::exchange::bybit::parse::parse_envelope(&v.to_string()).unwrap()
    }

    #[test]
    fn batch_items_over_quota_are_rate_limited() {
        let req = amends(3);
        let env = envelope(json!({
            "retCode": 0, "retMsg": "OK",
            "result": {"list": [{"orderId": "o1", "orderLinkId": "q1-BTCUSDT-b0-1"}, {"orderId": "", "orderLinkId": ""}, {"orderId": "", "orderLinkId": ""}]},
            "retExtInfo": {"list": [{"code": 0, "msg": "OK"}, {"code": 10006, "msg": "Too many visits"}, {"code": 110001, "msg": "order not exists"}]},
        }));
        let out = envelope_outcome(&req, &env, None);
        assert!(out.rate_limited);
        let got: Vec<_> = out
            .acks
            .iter()
            .map(|a| (a.outcome.clone(), a.ret_code))
            .collect();
        assert_eq!(
            got,
            [
                (
                    AckOutcome::Accepted {
                        order_id: Some("o1".into())
                    },
                    Some(0)
                ),
                (AckOutcome::Rejected { order_gone: false }, Some(10006)),
                (AckOutcome::Rejected { order_gone: true }, Some(110001)),
            ]
        );
        // A success whose result does not decode: the orders' fate is unknown.
        let out = envelope_outcome(&req, &envelope(json!({"retCode": 0, "result": {}})), None);
        assert!(out.acks.iter().all(|a| a.outcome == AckOutcome::Unknown));
    }

    #[test]
    fn a_10006_blocks_until_the_reset_read_on_our_clock() {
        // The exchange's clock runs 5 s ahead of ours; its reset is 300 ms after its answer.
        let rate_limit = BybitRateLimit {
            limit: Some(10),
            remaining: Some(0),
            reset_at_ms: Some(105_300),
            server_time_ms: Some(105_000),
        };
        let req = amends(1);
        let out = code_outcome(&req, 10006, "Too many visits", Some(rate_limit));
        assert!(out.rate_limited);
        assert_eq!(
            out.acks[0].outcome,
            AckOutcome::Rejected { order_gone: false }
        );
        let mut rl = rate_limiter();
        assert_eq!(rl.acquire_up_to(out.key, 1, 99_990), 1);
        out.feed(&mut rl, 100_000);
        assert_eq!(rl.blocked_until(out.key, 100_000), Some(100_300));
        assert_eq!(rl.available(out.key, 100_299), 0);
        // The reset frees the block; the exchange's count (10 used) is charged at the
        // answer, so the next units come a window after it.
        assert_eq!(rl.available(out.key, 100_300), 0);
        assert_eq!(rl.available(out.key, 101_000), 8);
        // Without headers (a bare 10006): one full window.
        let out = code_outcome(&req, 10006, "Too many visits", None);
        let mut rl = rate_limiter();
        out.feed(&mut rl, 100_000);
        assert_eq!(rl.blocked_until(out.key, 100_000), Some(101_000));
    }

    #[test]
    fn feeding_an_answer_moves_its_units_to_the_answer_time() {
        let req = amends(4);
        let key = LimitKey::new(Endpoint::AmendBatch, Category::Linear);
        let mut rl = rate_limiter();
        assert_eq!(rl.acquire_up_to(key, 4, 0), 4);
        assert_eq!(rl.available(key, 5_000), 4, "in flight until answered");
        let rate_limit = BybitRateLimit {
            limit: Some(10),
            remaining: Some(6),
            reset_at_ms: Some(5_000),
            server_time_ms: Some(5_000),
        };
        let out = code_outcome(&req, 110001, "gone", Some(rate_limit));
        out.feed(&mut rl, 5_000);
        assert_eq!(rl.in_flight(key, 5_000), 0);
        assert_eq!(rl.available(key, 5_999), 4);
        assert_eq!(rl.available(key, 6_000), 8);
    }

    #[test]
    fn trade_errors_map_to_outcomes() {
        let req = amends(2);
        for (err, want) in [
            (
                TradeError::NotConnected,
                AckOutcome::Rejected { order_gone: false },
            ),
            (
                TradeError::Stopped,
                AckOutcome::Rejected { order_gone: false },
            ),
            (TradeError::Lost, AckOutcome::Unknown),
            (
                TradeError::Timeout(Duration::from_secs(5)),
                AckOutcome::Unknown,
            ),
        ] {
            assert_eq!(outcome_for_trade_error(&err), want, "{err}");
            let acks = acks_all(&req, &want, None, &err.to_string());
            assert_eq!(acks.len(), 2);
        }
        assert_eq!(ws_op(Endpoint::AmendBatch), Some("order.amend-batch"));
        assert_eq!(ws_op(Endpoint::CancelAll), None);
    }
}
