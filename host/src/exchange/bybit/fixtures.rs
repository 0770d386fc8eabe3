//! The one loader of the shared Bybit samples, and a test that every sample is accounted for.

use std::path::PathBuf;

/// Folder of the real Bybit V5 samples (beside the repository root).
pub(crate) fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bybit-v5/samples")
}

/// The text of sample `name`.
pub(crate) fn load(name: &str) -> String {
    let path = samples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("sample {}: {e}", path.display()))
}

/// Samples that are requests we send (or topics we do not consume); they are not parsed.
pub(crate) const NOT_PARSED: &[&str] = &[
    "rest-batch-create-request.json",
    "rest-create-order-request-linear.json",
    "rest-create-order-request-spot-postonly.json",
    "rest-trading-stop-request.json",
    "rest-response-headers-sample.json", // a header map, covered by the rate-limit header test
    "ws-dcp-subscribe-request.json",
    "ws-private-auth-request.json",
    "ws-subscribe-request.json",
    "ws-unsubscribe-request.json",
    "ws-trade-auth-request.json",
    "ws-trade-create-batch-request.json",
    "ws-trade-create-request.json",
    "ws-trade-ping-request.json",
    "ws-kline.json",
    "ws-all-liquidation.json",
];
