//! Request signing: REST (HMAC-SHA256 over timestamp + key + recv window + payload) and
//! WebSocket auth (over `"GET/realtime" + expires`). Secrets never reach logs.

use std::fmt;

use hmac::{Hmac, Mac};

use crate::model::text;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// An API secret. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], which signing code calls. It also holds the HMAC state already keyed
/// with it, so a signature hashes only the message (the key's two blocks are done once).
#[derive(Clone)]
pub struct Secret {
    value: String,
    keyed: HmacSha256,
}

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        // HMAC accepts keys of any length, so construction cannot fail.
        let keyed = match HmacSha256::new_from_slice(value.as_bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        };
        Self { value, keyed }
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An API key and its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The public API key (sent in `X-BAPI-API-KEY`).
    pub api_key: String,
    /// The secret.
    pub secret: Secret,
}

impl Credentials {
    /// Credentials from a key and a secret.
    pub fn new(api_key: impl Into<String>, secret: Secret) -> Self {
        Self {
            api_key: api_key.into(),
            secret,
        }
    }

    /// The four auth headers of a REST request whose payload (raw query string for GET, raw
    /// body for POST) is `payload`.
    pub fn rest_headers(
        &self,
        timestamp_ms: i64,
        recv_window_ms: u64,
        payload: &str,
    ) -> [(&'static str, String); 4] {
        let mut ts = String::with_capacity(20);
        text::push_i64(&mut ts, timestamp_ms);
        let mut rw = String::with_capacity(20);
        text::push_u64(&mut rw, recv_window_ms);
        let sign = hmac_hex(
            &self.secret,
            &[
                ts.as_bytes(),
                self.api_key.as_bytes(),
                rw.as_bytes(),
                payload.as_bytes(),
            ],
        );
        [
            ("X-BAPI-API-KEY", self.api_key.clone()),
            ("X-BAPI-TIMESTAMP", ts),
            ("X-BAPI-RECV-WINDOW", rw),
            ("X-BAPI-SIGN", sign),
        ]
    }

    /// The private/trade WebSocket auth request `{"op":"auth","args":[key, expires, sign]}`.
    pub fn ws_auth_request(&self, expires_ms: i64) -> String {
        serde_json::json!({
            "op": "auth",
            "args": [self.api_key, expires_ms, sign_ws_auth(&self.secret, expires_ms)],
        })
        .to_string()
    }
}

fn hmac_hex(secret: &Secret, parts: &[&[u8]]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac = secret.keyed.clone();
    for part in parts {
        mac.update(part);
    }
    let digest = mac.finalize().into_bytes();
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    // Only ASCII hex digits.
    String::from_utf8_lossy(&out).into_owned()
}

/// REST signature: lowercase hex HMAC-SHA256 of `timestamp + api_key + recv_window + payload`,
/// where `payload` is the query string exactly as sent (GET) or the raw body (POST).
pub fn sign_rest(
    secret: &Secret,
    timestamp_ms: i64,
    api_key: &str,
    recv_window_ms: u64,
    payload: &str,
) -> String {
    let ts = timestamp_ms.to_string();
    let rw = recv_window_ms.to_string();
    hmac_hex(
        secret,
        &[
            ts.as_bytes(),
            api_key.as_bytes(),
            rw.as_bytes(),
            payload.as_bytes(),
        ],
    )
}

/// WebSocket auth signature: lowercase hex HMAC-SHA256 of `"GET/realtime" + expires_ms`.
pub fn sign_ws_auth(secret: &Secret, expires_ms: i64) -> String {
    hmac_hex(
        secret,
        &[b"GET/realtime", expires_ms.to_string().as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed independently with Python's hmac module:
    // hmac.new(secret, msg, hashlib.sha256).hexdigest()
    #[test]
    fn rest_signatures_match_independent_vectors() {
        let cases: &[(&str, i64, &str, u64, &str, &str)] = &[
            (
                "test_secret",
                1_700_000_000_000,
                "test_api_key",
                5000,
                "category=linear&symbol=BTCUSDT",
                "fd4f31228a46109dc6673062328693696df9a96c7ff04e6491a45e7f63a0fdd7",
            ),
            (
                "test_secret",
                1_700_000_000_000,
                "test_api_key",
                5000,
                r#"{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "test-order-1"}"#,
                "2df4a0603d69c08d5dea29ba85b46eb7db64ce9e9ebd34a7802a3d69700cb2a1",
            ),
            (
                "S3cr3t-quoter",
                1_712_345_678_901,
                "quoterKey",
                20000,
                r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"0.01","price":"2500.5","timeInForce":"PostOnly"}"#,
                "3952f50c57c2bebce2044a9a0b891738fa5a5abf581e1d15ef1820ce75c43b56",
            ),
            (
                "S3cr3t-quoter",
                1_712_345_678_901,
                "quoterKey",
                20000,
                "",
                "286b8af072581db61f7e3b408176ddd1fcaf96f1de66539ccfc6e52f9a31a850",
            ),
        ];
        for &(secret, ts, key, rw, payload, want) in cases {
            assert_eq!(
                sign_rest(&Secret::new(secret), ts, key, rw, payload),
                want,
                "{payload}"
            );
        }
    }

    #[test]
    fn ws_auth_signatures_match_independent_vectors() {
        let s = Secret::new("test_secret");
        assert_eq!(
            sign_ws_auth(&s, 1_700_000_000_000),
            "bacffe7500499eb829bb58c45d36d1b3e5ac67c14eaeba91df5e99ccee013925"
        );
        let s = Secret::new("S3cr3t-quoter");
        assert_eq!(
            sign_ws_auth(&s, 1_712_345_688_901),
            "039b0b761dd1edac2ee332284224150213067a3054db55090f55fe8b95eab804"
        );
    }

    #[test]
    fn secret_never_prints() {
        let creds = Credentials::new("key", Secret::new("hunter2"));
        assert_eq!(format!("{}", creds.secret), "***");
        let debug = format!("{creds:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("***"),
            "{debug}"
        );
    }

    #[test]
    fn headers_and_ws_auth_request_carry_the_signature() {
        let creds = Credentials::new("test_api_key", Secret::new("test_secret"));
        let headers = creds.rest_headers(1_700_000_000_000, 5000, "category=linear&symbol=BTCUSDT");
        assert_eq!(headers[0], ("X-BAPI-API-KEY", "test_api_key".to_string()));
        assert_eq!(headers[1].1, "1700000000000");
        assert_eq!(headers[2].1, "5000");
        assert_eq!(
            headers[3].1,
            "fd4f31228a46109dc6673062328693696df9a96c7ff04e6491a45e7f63a0fdd7"
        );
        let req: serde_json::Value =
            serde_json::from_str(&creds.ws_auth_request(1_700_000_000_000)).unwrap();
        assert_eq!(req["op"], "auth");
        assert_eq!(req["args"][0], "test_api_key");
        assert_eq!(req["args"][1], 1_700_000_000_000i64);
        assert_eq!(
            req["args"][2],
            "bacffe7500499eb829bb58c45d36d1b3e5ac67c14eaeba91df5e99ccee013925"
        );
    }
}
