//! Test clients written from Bybit's protocol: a signed REST client (reqwest) and a WS
//! client (tokio-tungstenite) that waits for messages with a timeout.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sim::{Sim, SimConfig, SimHandle};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub const KEY: &str = "simkey";
pub const SECRET: &str = "simsecret";
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn start() -> SimHandle {
    Sim::start(SimConfig::default()).await.expect("sim starts")
}

pub async fn start_with(cfg: SimConfig) -> SimHandle {
    Sim::start(cfg).await.expect("sim starts")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn hmac_hex(secret: &str, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(payload.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Signed REST client.
pub struct Rest {
    pub base: String,
    pub key: String,
    pub secret: String,
    pub http: reqwest::Client,
    pub ts_offset_ms: i64,
}

/// Status, headers and JSON body of a response.
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.body["retCode"].as_i64().unwrap_or(-1)
    }
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers.get(k).map(|v| v.to_str().unwrap().to_string())
    }
}

impl Rest {
    pub fn new(sim: &SimHandle) -> Self {
        Rest {
            base: sim.rest_url(),
            key: KEY.into(),
            secret: SECRET.into(),
            http: reqwest::Client::new(),
            ts_offset_ms: 0,
        }
    }

    async fn finish(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get_public(&self, path: &str, query: &str) -> Resp {
        let r = self
            .http
            .get(format!("{}{}?{}", self.base, path, query))
            .send()
            .await
            .unwrap();
        Self::finish(r).await
    }

    fn sign_headers(&self, payload: &str) -> Vec<(&'static str, String)> {
        let ts = (now_ms() + self.ts_offset_ms).to_string();
        let rw = "5000";
        let sig = hmac_hex(&self.secret, &format!("{ts}{}{rw}{payload}", self.key));
        vec![
            ("X-BAPI-API-KEY", self.key.clone()),
            ("X-BAPI-TIMESTAMP", ts),
            ("X-BAPI-RECV-WINDOW", rw.into()),
            ("X-BAPI-SIGN", sig),
            ("X-BAPI-SIGN-TYPE", "2".into()),
        ]
    }

    pub async fn get(&self, path: &str, query: &str) -> Resp {
        let mut rb = self.http.get(format!("{}{}?{}", self.base, path, query));
        for (k, v) in self.sign_headers(query) {
            rb = rb.header(k, v);
        }
        Self::finish(rb.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        // pybit-style body bytes (", " / ": " separators) to prove the raw body is hashed.
        let text = serde_json::to_string(body)
            .unwrap()
            .replace("\",\"", "\", \"")
            .replace("\":", "\": ");
        let mut rb = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Content-Type", "application/json")
            .body(text.clone());
        for (k, v) in self.sign_headers(&text) {
            rb = rb.header(k, v);
        }
        Self::finish(rb.send().await.unwrap()).await
    }
}

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// WebSocket test client.
pub struct Ws {
    pub s: WsStream,
}

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let (s, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connects");
        Ws { s }
    }

    pub async fn send(&mut self, v: Value) {
        self.s
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// Next JSON text message within `WAIT`.
    pub async fn next(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(WAIT, self.s.next())
                .await
                .expect("message before timeout")
                .expect("stream open")
                .expect("frame ok");
            if let Message::Text(t) = m {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    /// Skip messages until one satisfies `pred` (within `WAIT` overall).
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition not met in time"
            );
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Private/trade auth with a valid signature.
    pub async fn auth(&mut self, key: &str, secret: &str) -> Value {
        let expires = now_ms() + 10_000;
        let sig = hmac_hex(secret, &format!("GET/realtime{expires}"));
        self.send(json!({"req_id": "a1", "op": "auth", "args": [key, expires, sig]}))
            .await;
        self.until(|v| v["op"] == "auth").await
    }
}

/// Best bid/ask from REST.
pub async fn top(rest: &Rest, symbol: &str) -> (f64, f64) {
    let r = rest
        .get_public(
            "/v5/market/orderbook",
            &format!("category=linear&symbol={symbol}&limit=1"),
        )
        .await;
    let p = |side: &str| {
        r.body["result"][side][0][0]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    (p("b"), p("a"))
}

/// Format a price on a tick grid.
pub fn px(v: f64, tick: f64) -> String {
    let decimals = (-tick.log10()).round().max(0.0) as usize;
    format!("{:.*}", decimals, (v / tick).round() * tick)
}
