//! A signed Bybit V5 REST client on reqwest.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use tracing::debug;

use super::error::{RestError, decode_response};
use crate::exchange::bybit::messages::{BybitEnvelope, BybitRateLimit};
use crate::exchange::bybit::parse::{parse_rate_limit_headers, parse_result};
use crate::exchange::bybit::sign::Credentials;

/// Default `X-BAPI-RECV-WINDOW`, ms.
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5_000;

/// What came back besides the result.
#[derive(Clone, Debug, PartialEq)]
pub struct RestReply<T> {
    /// The decoded `result`.
    pub result: T,
    /// The whole envelope (`retExtInfo` holds batch item statuses).
    pub envelope: BybitEnvelope,
    /// Rate-limit headers, when sent.
    pub rate_limit: Option<BybitRateLimit>,
}

/// An answer before decoding: what a caller needs to keep the rate-limit headers even when the
/// envelope carries an error.
#[derive(Clone, Debug, PartialEq)]
pub struct RestRawReply {
    /// HTTP status.
    pub status: u16,
    /// The body text.
    pub body: String,
    /// Rate-limit headers, when sent.
    pub rate_limit: Option<BybitRateLimit>,
}

/// A REST client for one base URL and (optionally) one account.
#[derive(Clone, Debug)]
pub struct RestClient {
    http: reqwest::Client,
    base_url: String,
    credentials: Option<Credentials>,
    recv_window_ms: u64,
}

impl RestClient {
    /// A client for `base_url` (e.g. `https://api.bybit.com`) with a per-request timeout.
    pub fn new(
        base_url: impl Into<String>,
        credentials: Option<Credentials>,
        timeout: Duration,
    ) -> Result<Self, RestError> {
        let tls = crate::exchange::bybit::tls::client_config()?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
            .build()
            .map_err(RestError::Transport)?;
        Ok(Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            credentials,
            recv_window_ms: DEFAULT_RECV_WINDOW_MS,
        })
    }

    /// Change the receive window.
    pub fn with_recv_window_ms(mut self, recv_window_ms: u64) -> Self {
        self.recv_window_ms = recv_window_ms;
        self
    }

    /// `GET path?query` without signing (market data).
    pub async fn get_public<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<RestReply<T>, RestError> {
        let req = self.http.get(self.url(path, query));
        self.send(req, path).await
    }

    /// Signed `GET path?query`; `query` is signed exactly as sent.
    pub async fn get_signed<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<RestReply<T>, RestError> {
        let mut req = self.http.get(self.url(path, query));
        for (name, value) in self.auth_headers(query)? {
            req = req.header(name, value);
        }
        self.send(req, path).await
    }

    /// Signed `POST path` with the JSON `body` (signed byte for byte).
    pub async fn post_signed<T: DeserializeOwned>(
        &self,
        path: &str,
        body: String,
    ) -> Result<RestReply<T>, RestError> {
        let req = self.signed_post(path, body)?;
        self.send(req, path).await
    }

    /// Signed `POST path` like [`post_signed`](Self::post_signed), returning the answer
    /// undecoded; errors are transport failures and timeouts only.
    pub async fn post_signed_raw(
        &self,
        path: &'static str,
        body: String,
    ) -> Result<RestRawReply, RestError> {
        self.send_prepared(self.prepare_post(path, body)?).await
    }

    /// The signed `POST path` of [`post_signed_raw`](Self::post_signed_raw), built (body,
    /// timestamp, signature, headers) but not sent: the caller sends it with
    /// [`send_prepared`](Self::send_prepared), e.g. from another task.
    pub fn prepare_post(
        &self,
        path: &'static str,
        body: String,
    ) -> Result<PreparedPost, RestError> {
        Ok(PreparedPost {
            path,
            request: self.signed_post(path, body)?,
        })
    }

    /// Send a request built by [`prepare_post`](Self::prepare_post), returning the answer
    /// undecoded; errors are transport failures and timeouts only.
    pub async fn send_prepared(&self, post: PreparedPost) -> Result<RestRawReply, RestError> {
        let path = post.path;
        let raw = self.send_raw(post.request).await?;
        debug!(%path, status = raw.status, remaining = ?raw.rate_limit.and_then(|r| r.remaining), "bybit REST reply");
        Ok(raw)
    }

    fn signed_post(&self, path: &str, body: String) -> Result<reqwest::RequestBuilder, RestError> {
        let mut req = self
            .http
            .post(self.url(path, ""))
            .header("Content-Type", "application/json");
        for (name, value) in self.auth_headers(&body)? {
            req = req.header(name, value);
        }
        Ok(req.body(body))
    }

    fn url(&self, path: &str, query: &str) -> String {
        if query.is_empty() {
            format!("{}{path}", self.base_url)
        } else {
            format!("{}{path}?{query}", self.base_url)
        }
    }

    fn auth_headers(&self, payload: &str) -> Result<[(&'static str, String); 4], RestError> {
        let creds = self.credentials.as_ref().ok_or(RestError::Http {
            status: 401,
            body: "no credentials configured".into(),
        })?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Ok(creds.rest_headers(now_ms, self.recv_window_ms, payload))
    }

    async fn send_raw(&self, req: reqwest::RequestBuilder) -> Result<RestRawReply, RestError> {
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let rate_limit = parse_rate_limit_headers(
            resp.headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), Cow::Borrowed(v.to_str().ok()?)))),
        );
        let body = resp.text().await.map_err(classify)?;
        Ok(RestRawReply {
            status,
            body,
            rate_limit,
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<RestReply<T>, RestError> {
        let RestRawReply {
            status,
            body,
            rate_limit,
        } = self.send_raw(req).await?;
        debug!(%path, status, remaining = ?rate_limit.and_then(|r| r.remaining), "bybit REST reply");
        let envelope = decode_response(status, &body)?;
        let result = parse_result(&envelope)?;
        Ok(RestReply {
            result,
            envelope,
            rate_limit,
        })
    }
}

/// A signed POST ready to send (see [`RestClient::prepare_post`]).
#[derive(Debug)]
pub struct PreparedPost {
    path: &'static str,
    request: reqwest::RequestBuilder,
}

fn classify(err: reqwest::Error) -> RestError {
    if err.is_timeout() {
        RestError::Timeout
    } else {
        RestError::Transport(err)
    }
}
