//! TLS for `https://` and `wss://` endpoints: one rustls client configuration (aws-lc-rs
//! provider, TLS 1.2 and 1.3, certificate and host-name verification against the Mozilla roots
//! compiled in from `webpki-roots`: no system certificate store is read), shared by the REST
//! client and every WebSocket. Plain `http://` / `ws://` URLs (the simulator) skip it.

use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::{Error, TlsError};
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// A client WebSocket, plain or TLS.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The shared client configuration (built once).
pub fn client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, rustls::Error>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// Bytes the WebSocket codec reads at most per socket read.
const WS_READ_BUFFER: usize = 16 * 1024;

/// Open a WebSocket to `url` (`ws://` or `wss://`, the latter with [`client_config`]).
pub async fn connect_ws(url: &str) -> Result<(WsStream, Response), Error> {
    let config = client_config().map_err(|e| Error::Tls(TlsError::from(e)))?;
    connect_ws_with(url, config).await
}

/// Open a WebSocket to `url`, `wss://` with `config` (tests pass their own roots).
pub async fn connect_ws_with(
    url: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<(WsStream, Response), Error> {
    let connector = Connector::Rustls(config);
    // The codec zero-fills its whole free read buffer before every socket read: Bybit's
    // frames are a few KiB at most, so a small buffer saves that work on every message
    // (larger frames just take more reads).
    let ws = WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER);
    tokio_tungstenite::connect_async_tls_with_config(url, Some(ws), false, Some(connector)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_carries_the_compiled_in_roots() {
        let config = client_config().unwrap();
        assert!(
            webpki_roots::TLS_SERVER_ROOTS.len() > 100,
            "Mozilla's root set"
        );
        assert!(
            Arc::ptr_eq(&config, &client_config().unwrap()),
            "built once"
        );
    }

    #[tokio::test]
    async fn unreachable_tls_hosts_fail_with_a_network_error() {
        // Nothing listens on port 1 of the loopback: the connect fails before any TLS.
        let err = connect_ws("wss://127.0.0.1:1/v5/public/linear")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err:?}");
        let client = crate::exchange::bybit::rest::RestClient::new(
            "https://127.0.0.1:1",
            None,
            std::time::Duration::from_secs(2),
        )
        .unwrap();
        let err = client
            .get_public::<serde_json::Value>("/v5/market/time", "")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, crate::exchange::bybit::rest::RestError::Transport(e) if e.is_connect()),
            "{err:?}"
        );
    }
}
