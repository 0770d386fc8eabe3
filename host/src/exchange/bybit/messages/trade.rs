//! Wire types of the trade WebSocket (`/v5/trade`): the reply to an order op, auth or ping.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::{BybitEnvelope, BybitRateLimit};
use crate::exchange::bybit::de;
use crate::exchange::bybit::parse::parse_rate_limit_headers;

/// A trade-stream reply: `{reqId, retCode, retMsg, op, data, retExtInfo, header, connId}`.
/// `data` has the shape of the REST `result` of the same operation.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BybitTradeReply {
    /// Our `reqId`, echoed (absent when none was sent, and on auth/pong).
    #[serde(default)]
    pub req_id: Option<String>,
    /// 0 on success.
    #[serde(deserialize_with = "de::int")]
    pub ret_code: i64,
    /// Message.
    #[serde(default)]
    pub ret_msg: String,
    /// The op answered (`order.create`, `auth`, `pong`, ...).
    #[serde(default)]
    pub op: String,
    /// The REST-shaped result (`{}` on errors).
    #[serde(default)]
    pub data: serde_json::Value,
    /// Per-item status of batch ops (absent in some real captures).
    #[serde(default)]
    pub ret_ext_info: serde_json::Value,
    /// `X-Bapi-Limit*`, `Traceid`, `Timenow`; values are strings on the wire.
    #[serde(default)]
    pub header: BTreeMap<String, serde_json::Value>,
    /// Connection id.
    #[serde(default)]
    pub conn_id: Option<String>,
}

impl BybitTradeReply {
    /// The rate-limit state in `header`, read like the REST headers.
    pub fn rate_limit(&self) -> Option<BybitRateLimit> {
        parse_rate_limit_headers(self.header.iter().filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                serde_json::Value::Number(n) => Cow::Owned(n.to_string()),
                _ => return None,
            };
            Some((k.as_str(), v))
        }))
    }

    /// The reply as a REST envelope (`data` as `result`), so both transports decode alike.
    pub fn to_envelope(&self) -> BybitEnvelope {
        BybitEnvelope {
            ret_code: self.ret_code,
            ret_msg: self.ret_msg.clone(),
            result: self.data.clone(),
            ret_ext_info: self.ret_ext_info.clone(),
            time_ms: None,
        }
    }
}
