//! Bybit V5 request signing and verification (HMAC-SHA256, lowercase hex).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Default `X-BAPI-RECV-WINDOW` when the header is absent.
pub const DEFAULT_RECV_WINDOW_MS: i64 = 5000;

/// HMAC-SHA256 of `payload` keyed by `secret`, lowercase hex.
pub fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The REST signature: `timestamp + api_key + recv_window + payload`, where payload is the raw
/// query string (GET) or the raw body (POST).
pub fn rest_signature(
    secret: &str,
    timestamp: &str,
    api_key: &str,
    recv_window: &str,
    payload: &str,
) -> String {
    sign(
        secret,
        &format!("{timestamp}{api_key}{recv_window}{payload}"),
    )
}

/// The WebSocket auth signature over `"GET/realtime" + expires`.
pub fn ws_signature(secret: &str, expires: i64) -> String {
    sign(secret, &format!("GET/realtime{expires}"))
}

/// Constant-time-ish comparison of two hex signatures (case-insensitive).
pub fn signatures_match(expected: &str, given: &str) -> bool {
    let g = given.to_ascii_lowercase();
    if expected.len() != g.len() {
        return false;
    }
    expected
        .bytes()
        .zip(g.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Bybit's timestamp window: accepted iff `server - recv_window <= ts < server + 1000`.
pub fn timestamp_ok(server_ms: i64, ts_ms: i64, recv_window_ms: i64) -> bool {
    server_ms - recv_window_ms <= ts_ms && ts_ms < server_ms + 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from the reference (§2.2), matching nautilus_trader's tests.
    #[test]
    fn rest_get_vector() {
        assert_eq!(
            rest_signature(
                "test_secret",
                "1700000000000",
                "test_api_key",
                "5000",
                "category=linear&symbol=BTCUSDT"
            ),
            "fd4f31228a46109dc6673062328693696df9a96c7ff04e6491a45e7f63a0fdd7"
        );
    }

    #[test]
    fn rest_post_vector() {
        assert_eq!(
            rest_signature(
                "test_secret",
                "1700000000000",
                "test_api_key",
                "5000",
                r#"{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "test-order-1"}"#
            ),
            "2df4a0603d69c08d5dea29ba85b46eb7db64ce9e9ebd34a7802a3d69700cb2a1"
        );
    }

    #[test]
    fn ws_vector() {
        assert_eq!(
            ws_signature("test_secret", 1700000000000),
            "bacffe7500499eb829bb58c45d36d1b3e5ac67c14eaeba91df5e99ccee013925"
        );
    }

    #[test]
    fn window() {
        assert!(timestamp_ok(10_000, 5_000, 5000));
        assert!(!timestamp_ok(10_000, 4_999, 5000));
        assert!(timestamp_ok(10_000, 10_999, 5000));
        assert!(!timestamp_ok(10_000, 11_000, 5000));
        assert!(signatures_match("ab", "AB"));
        assert!(!signatures_match("ab", "ac"));
    }
}
