//! Errors of REST calls, classified for the router: retry, wait, or reconcile.

use serde::de::DeserializeOwned;

use crate::exchange::bybit::messages::{BybitApiError, BybitEnvelope};
use crate::exchange::bybit::parse::{ParseError, parse_envelope, parse_result};

/// A failed REST call.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The exchange answered with a nonzero `retCode`.
    #[error(transparent)]
    Api(#[from] BybitApiError),
    /// An HTTP status other than 200 without a usable envelope.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No answer in time: the request may or may not have been executed.
    #[error("request timed out")]
    Timeout,
    /// Connection-level failure before or while sending (the message ends with the root
    /// cause: DNS, refused connection, TLS certificate...).
    #[error("transport error: {}{}", .0, root_cause(.0))]
    Transport(#[source] reqwest::Error),
    /// The answer could not be decoded.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The TLS configuration could not be built (nothing was sent).
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}

impl RestError {
    /// The `retCode`, if the exchange sent one.
    pub fn ret_code(&self) -> Option<i64> {
        match self {
            Self::Api(e) => Some(e.ret_code),
            _ => None,
        }
    }

    /// The per-UID rate limit was hit (10006) or the system throttled (HTTP 429, 10429).
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Self::Api(e) => e.is_rate_limited() || e.ret_code == 10429,
            Self::Http { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// The request may have been executed although no success was seen: timeouts, HTTP 5xx,
    /// 10016, or an undecodable answer. Reconcile over REST; never resend blindly.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Api(e) => e.outcome_unknown(),
            Self::Http { status, .. } => *status >= 500,
            Self::Timeout | Self::Parse(_) => true,
            Self::Transport(e) => !e.is_connect(),
            Self::Tls(_) => false,
        }
    }

    /// Worth retrying after a pause (for order actions, only after reconciling when
    /// [`outcome_unknown`](Self::outcome_unknown) is also true).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(e) => e.is_retryable(),
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout | Self::Transport(_) => true,
            Self::Parse(_) | Self::Tls(_) => false,
        }
    }
}

/// `": <innermost source>"` of `err`, or nothing when it has no source.
fn root_cause(err: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(err);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s);
        source = s.source();
    }
    last.map(|s| format!(": {s}")).unwrap_or_default()
}

/// Turn an HTTP status and body into the envelope, or the error it carries.
pub fn decode_response(status: u16, body: &str) -> Result<BybitEnvelope, RestError> {
    match parse_envelope(body) {
        Ok(env) if env.ret_code != 0 => Err(RestError::Api(BybitApiError {
            ret_code: env.ret_code,
            ret_msg: env.ret_msg,
        })),
        Ok(env) if status == 200 => Ok(env),
        Ok(_) | Err(_) if status != 200 => Err(RestError::Http {
            status,
            body: body.chars().take(256).collect(),
        }),
        Ok(env) => Ok(env),
        Err(e) => Err(RestError::Parse(e)),
    }
}

/// [`decode_response`] and decode `result` as `T`.
pub fn decode_result<T: DeserializeOwned>(
    status: u16,
    body: &str,
) -> Result<(T, BybitEnvelope), RestError> {
    let env = decode_response(status, body)?;
    let result = parse_result(&env)?;
    Ok((result, env))
}
