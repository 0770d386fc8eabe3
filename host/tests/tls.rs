//! TLS end to end on loopback: a local `wss://` / `https://` server whose certificate comes
//! from a test CA (`fixtures/tls/`, test-only keys, valid until 2126). The host's own
//! configuration (the compiled-in Mozilla roots) must refuse it; the same code path with the
//! test CA as its root must complete the handshake and carry WebSocket frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use host::exchange::bybit::rest::{RestClient, RestError};
use host::exchange::bybit::tls::{connect_ws, connect_ws_with};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_tungstenite::tungstenite::Message;

const CA: &str = include_str!("fixtures/tls/ca.crt");
const LEAF: &str = include_str!("fixtures/tls/localhost.crt");
const LEAF_KEY: &str = include_str!("fixtures/tls/localhost.key");

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS WebSocket echo server on 127.0.0.1:0 (certificate for `localhost` / `127.0.0.1`).
async fn echo_server() -> SocketAddr {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(LEAF.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return; // the client refused our certificate
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn test_root_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(CA.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The error and its sources, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[tokio::test]
async fn wss_handshake_completes_with_a_trusted_root() {
    let addr = echo_server().await;
    let url = format!("wss://127.0.0.1:{}/v5/trade", addr.port());
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        connect_ws_with(&url, test_root_config()),
    )
    .await
    .expect("handshake in time")
    .expect("TLS and WebSocket handshakes");
    ws.send(Message::text(r#"{"op":"ping"}"#)).await.unwrap();
    let echo = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("echo in time")
        .expect("a frame")
        .unwrap();
    assert_eq!(echo.into_text().unwrap().as_str(), r#"{"op":"ping"}"#);
}

#[tokio::test]
async fn the_compiled_in_roots_refuse_an_unknown_issuer() {
    let addr = echo_server().await;
    let err = connect_ws(&format!("wss://127.0.0.1:{}/v5/trade", addr.port()))
        .await
        .expect_err("a certificate outside the Mozilla roots");
    let text = chain(&err);
    assert!(text.contains("UnknownIssuer"), "{text}");

    let client = RestClient::new(
        format!("https://127.0.0.1:{}", addr.port()),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    let err = client
        .get_public::<serde_json::Value>("/v5/market/time", "")
        .await
        .expect_err("a certificate outside the Mozilla roots");
    assert!(matches!(err, RestError::Transport(_)), "{err:?}");
    let text = chain(&err);
    assert!(text.contains("UnknownIssuer"), "{text}");
}
