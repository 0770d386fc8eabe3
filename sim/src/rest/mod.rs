//! REST under `/v5/...`: routing, authentication exactly as Bybit (signature over the raw
//! query or body), timestamp window, per-IP and per-account rate limits with the
//! `X-Bapi-Limit*` headers, and the `{retCode, retMsg, result, retExtInfo, time}` envelope.

pub mod account;
pub mod market;
pub mod trade;

use crate::auth;
use crate::engine::ApiError;
use crate::ratelimit::LimitStatus;
use crate::record::RequestRecord;
use crate::state::Shared;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    /// Signed; rate-limited as an order write (batch items count per order).
    Write,
    /// Signed; rate-limited as a query.
    Query,
}

fn route(method: &Method, path: &str) -> Option<Access> {
    use Access::*;
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(match path {
        "/v5/market/time"
        | "/v5/market/instruments-info"
        | "/v5/market/orderbook"
        | "/v5/market/tickers"
        | "/v5/market/recent-trade"
        | "/v5/market/kline"
            if get =>
        {
            Public
        }
        "/v5/order/create"
        | "/v5/order/amend"
        | "/v5/order/cancel"
        | "/v5/order/cancel-all"
        | "/v5/order/create-batch"
        | "/v5/order/amend-batch"
        | "/v5/order/cancel-batch"
        | "/v5/order/disconnected-cancel-all"
        | "/v5/position/trading-stop"
        | "/v5/position/set-leverage"
            if post =>
        {
            Write
        }
        "/v5/order/realtime"
        | "/v5/order/history"
        | "/v5/execution/list"
        | "/v5/position/list"
        | "/v5/account/wallet-balance"
        | "/v5/account/query-dcp-info"
        | "/v5/account/fee-rate"
            if get =>
        {
            Query
        }
        _ => return None,
    })
}

/// Parse a raw query string (percent-decoded values).
pub fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Offset pagination: (rows to skip from `cursor`, and the `nextPageCursor` for a page of
/// `limit` out of `total`). Bybit's cursors are opaque; ours are `page_args%3D{offset}`
/// as sent (decoded `page_args={offset}`).
pub fn page(query: &HashMap<String, String>, limit: usize, total: usize) -> (usize, String) {
    let skip = query
        .get("cursor")
        .and_then(|c| c.strip_prefix("page_args="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0usize);
    let next = if skip + limit < total {
        format!("page_args%3D{}", skip + limit)
    } else {
        String::new()
    };
    (skip, next)
}

/// The envelope.
pub fn envelope(code: i64, msg: &str, result: Value, ext: Value, time: i64) -> Value {
    // Built by hand: `json!` would deep-copy `result` and `ext`.
    let mut m = serde_json::Map::new();
    m.insert("retCode".into(), code.into());
    m.insert("retMsg".into(), msg.into());
    m.insert("result".into(), result);
    m.insert("retExtInfo".into(), ext);
    m.insert("time".into(), time.into());
    Value::Object(m)
}

/// Result of an endpoint: result object and retExtInfo.
pub type Answer = Result<(Value, Value), ApiError>;

/// A request as the endpoints see it.
pub struct Req<'a> {
    /// Shared state.
    pub shared: &'a Shared,
    /// Account index (signed endpoints).
    pub acct: usize,
    /// Parsed query.
    pub query: HashMap<String, String>,
    /// Parsed JSON body (POST).
    pub body: Value,
    /// Units granted by the rate limiter (batch items beyond fail with 10006).
    pub granted: u32,
}

fn limit_headers(h: &mut HeaderMap, s: &LimitStatus, now: i64) {
    h.insert("X-Bapi-Limit", HeaderValue::from(s.limit));
    h.insert("X-Bapi-Limit-Status", HeaderValue::from(s.remaining));
    h.insert(
        "X-Bapi-Limit-Reset-Timestamp",
        HeaderValue::from(s.reset_ms),
    );
    h.insert("Timenow", HeaderValue::from(now));
}

fn json_response(status: StatusCode, v: &Value, ret_code: i64, extra: HeaderMap) -> Response {
    let mut resp = (status, v.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert("Ret_code", HeaderValue::from(ret_code));
    h.extend(extra);
    resp
}

/// Number of items of a batch body (1 for other requests).
fn batch_units(path: &str, body: &Value) -> u32 {
    if path.ends_with("-batch") {
        body.get("request")
            .and_then(Value::as_array)
            .map(|a| a.len().max(1) as u32)
            .unwrap_or(1)
    } else {
        1
    }
}

/// The single REST handler (fallback for everything under `/v5`).
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = shared.faults().delay_ms;
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let raw_query = uri.query().unwrap_or("").to_string();
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let path = uri.path().to_string();
    let (status, v, code, key, hdrs) = process(
        &shared, peer, &method, &path, &raw_query, &raw_body, &headers,
    );
    let now = shared.now_ms();
    shared.record().push(
        &key,
        RequestRecord {
            time_ms: now,
            method: method.to_string(),
            path,
            query: raw_query,
            body: raw_body,
            ret_code: code,
            http_status: status.as_u16(),
        },
    );
    match v {
        Some(v) => json_response(status, &v, code, hdrs),
        None => (status, "access too frequent").into_response(),
    }
}

type Processed = (StatusCode, Option<Value>, i64, String, HeaderMap);

fn process(
    shared: &Shared,
    peer: SocketAddr,
    method: &Method,
    path: &str,
    raw_query: &str,
    raw_body: &str,
    headers: &HeaderMap,
) -> Processed {
    let now = shared.now_ms();
    let err = |code: i64, msg: &str| -> Option<Value> {
        Some(envelope(code, msg, json!({}), json!({}), now))
    };
    // Per-IP limit → HTTP 403 (Bybit's body is not JSON; **UNCERTAIN**, plain text here).
    let ip = shared.limiter().take(
        &format!("ip:{}", peer.ip()),
        shared.limits.ip_per_5s,
        5000,
        now,
        1,
    );
    if ip.granted == 0 {
        return (
            StatusCode::FORBIDDEN,
            None,
            403,
            String::new(),
            HeaderMap::new(),
        );
    }
    let Some(access) = route(method, path) else {
        return (
            StatusCode::NOT_FOUND,
            err(10017, "route not found"),
            10017,
            String::new(),
            HeaderMap::new(),
        );
    };
    // Injected failures.
    {
        let mut f = shared.faults();
        if f.fail_next > 0 {
            f.fail_next -= 1;
            let code = f.fail_code;
            drop(f);
            if (500..600).contains(&code) {
                let st = StatusCode::from_u16(code as u16).unwrap_or(StatusCode::BAD_GATEWAY);
                return (
                    st,
                    err(10016, "Internal server error"),
                    10016,
                    String::new(),
                    HeaderMap::new(),
                );
            }
            let msg = if code == 10006 {
                "Too many visits"
            } else {
                "Internal server error"
            };
            return (
                StatusCode::OK,
                err(code, msg),
                code,
                String::new(),
                HeaderMap::new(),
            );
        }
    }
    let query = parse_query(raw_query);
    let body: Value = if method == Method::POST {
        match serde_json::from_str(raw_body) {
            Ok(v @ Value::Object(_)) => v,
            _ if raw_body.trim().is_empty() => json!({}),
            _ => {
                return (
                    StatusCode::OK,
                    err(10001, "Request parameter error."),
                    10001,
                    String::new(),
                    HeaderMap::new(),
                );
            }
        }
    } else {
        Value::Null
    };
    let mut hdrs = HeaderMap::new();
    let (acct, key, granted) = if access == Access::Public {
        limit_headers(&mut hdrs, &ip, now);
        (0, String::new(), 1)
    } else {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let api_key = h("x-bapi-api-key");
        let Some((acct, secret)) = shared.keys.get(api_key).cloned() else {
            return (
                StatusCode::OK,
                err(10003, "API key is invalid."),
                10003,
                String::new(),
                hdrs,
            );
        };
        let ts_s = h("x-bapi-timestamp");
        let rw_s = h("x-bapi-recv-window");
        let sign = h("x-bapi-sign");
        let payload = if method == Method::GET {
            raw_query
        } else {
            raw_body
        };
        let expected = auth::rest_signature(&secret, ts_s, api_key, rw_s, payload);
        if !auth::signatures_match(&expected, sign) {
            let msg = format!("error sign! origin_string[{ts_s}{api_key}{rw_s}{payload}]");
            return (
                StatusCode::OK,
                err(10004, &msg),
                10004,
                api_key.to_string(),
                hdrs,
            );
        }
        let rw: i64 = if rw_s.is_empty() {
            auth::DEFAULT_RECV_WINDOW_MS
        } else {
            rw_s.parse().unwrap_or(-1)
        };
        let ts: Option<i64> = ts_s.parse().ok();
        match ts {
            Some(ts) if rw >= 0 && auth::timestamp_ok(now, ts, rw) => {}
            _ => {
                let msg = format!(
                    "invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts_s}],server_timestamp[{now}],recv_window[{rw_s}]"
                );
                return (
                    StatusCode::OK,
                    err(10002, &msg),
                    10002,
                    api_key.to_string(),
                    hdrs,
                );
            }
        }
        let units = batch_units(path, &body);
        let limit = if access == Access::Write {
            shared.limits.order_per_s
        } else {
            shared.limits.query_per_s
        };
        let st = shared
            .limiter()
            .take(&format!("{api_key}:{path}"), limit, 1000, now, units);
        limit_headers(&mut hdrs, &st, now);
        if st.granted == 0 {
            shared.record().rejected(api_key, units as u64);
            return (
                StatusCode::OK,
                err(10006, "Too many visits"),
                10006,
                api_key.to_string(),
                hdrs,
            );
        }
        if st.granted < units {
            shared
                .record()
                .rejected(api_key, (units - st.granted) as u64);
        }
        (acct, api_key.to_string(), st.granted)
    };
    let req = Req {
        shared,
        acct,
        query,
        body,
        granted,
    };
    let answer = dispatch(path, &req);
    let (code, v) = match answer {
        Ok((result, ext)) => (0, envelope(0, "OK", result, ext, now)),
        Err(e) => (e.code, envelope(e.code, &e.msg, json!({}), json!({}), now)),
    };
    (StatusCode::OK, Some(v), code, key, hdrs)
}

fn dispatch(path: &str, r: &Req) -> Answer {
    match path {
        "/v5/market/time" => market::time(r),
        "/v5/market/instruments-info" => market::instruments(r),
        "/v5/market/orderbook" => market::orderbook(r),
        "/v5/market/tickers" => market::tickers(r),
        "/v5/market/recent-trade" => market::recent_trades(r),
        "/v5/market/kline" => market::kline(r),
        "/v5/order/create" => trade::create(r),
        "/v5/order/amend" => trade::amend(r),
        "/v5/order/cancel" => trade::cancel(r),
        "/v5/order/cancel-all" => trade::cancel_all(r),
        "/v5/order/create-batch" => trade::create_batch(r),
        "/v5/order/amend-batch" => trade::amend_batch(r),
        "/v5/order/cancel-batch" => trade::cancel_batch(r),
        "/v5/order/realtime" => trade::realtime(r),
        "/v5/order/history" => trade::history(r),
        "/v5/order/disconnected-cancel-all" => account::dcp_set(r),
        "/v5/execution/list" => account::executions(r),
        "/v5/position/list" => account::positions(r),
        "/v5/position/trading-stop" => account::trading_stop(r),
        "/v5/position/set-leverage" => Ok((json!({}), json!({}))),
        "/v5/account/wallet-balance" => account::wallet(r),
        "/v5/account/query-dcp-info" => account::dcp_info(r),
        "/v5/account/fee-rate" => account::fee_rate(r),
        _ => Err(ApiError::new(10017, "route not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_decodes() {
        let q = parse_query("category=linear&symbol=BTCUSDT&cursor=a%3D1%26");
        assert_eq!(q["category"], "linear");
        assert_eq!(q["cursor"], "a=1&");
        assert!(parse_query("").is_empty());
        // Truncated escapes don't panic.
        assert_eq!(parse_query("x=%2")["x"], "%2");
    }
}
