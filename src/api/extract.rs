//! Request extractors shared by the desktop routes: the bearer token, JSON
//! bodies with the offending field named in errors, and numeric path ids.
//!
//! Order of checks (documented in the OpenAPI document too): the guard
//! ([`super::guard`]) has admitted the token (else 401, 403 or 429), then
//! path and body must be well formed (else 400 naming the field), and only
//! then does the engine resolve the token to its agent and decide (403,
//! 404, 409).
//!
//! Field names in 400s come from `serde_path_to_error` (the path to the
//! value that failed, `values.account`, `reasons[1]`, an unknown field's
//! own name), completed for a missing field by the name serde puts in its
//! message (serde reports it at the enclosing object).

use super::error::ApiError;
use super::BODY_LIMIT;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// The `Authorization: Bearer <token>` of a desktop request (AGENT and SUP
/// routes); a missing or non-Bearer header is refused with 401.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bearer(pub String);

/// The bearer token of `headers`: `Ok(None)` without an `Authorization`
/// header, 401 for one that is not `Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || ApiError::Unauthorized("the Authorization header is not `Bearer <token>`".into());
    let value = value.to_str().map_err(|_| bad())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(bad)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(bad());
    }
    Ok(Some(token.to_string()))
}

/// The 401 for a request without a token.
pub fn missing_token() -> ApiError {
    ApiError::Unauthorized("missing `Authorization: Bearer <token>`".into())
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        bearer_token(&parts.headers)?.map(Bearer).ok_or_else(missing_token)
    }
}

/// A JSON body decoded into `T` (which denies unknown fields); a 400 names
/// the offending field, a body over [`BODY_LIMIT`] is 413.
#[derive(Clone, Debug)]
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty (or all-whitespace) body is `None`.
#[derive(Clone, Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

/// The raw body, with the 413 of an oversized one as JSON, and a 408 when
/// it trickles in slower than [`super::HEADER_TIMEOUT`] allows.
#[derive(Clone, Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let read = tokio::time::timeout(super::HEADER_TIMEOUT, Bytes::from_request(req, state));
        let Ok(read) = read.await else {
            return Err(ApiError::Other {
                status: StatusCode::REQUEST_TIMEOUT,
                message: format!(
                    "the request body did not arrive within {} s",
                    super::HEADER_TIMEOUT.as_secs()
                ),
            });
        };
        read.map(RawBody).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(BODY_LIMIT)
            } else {
                ApiError::BadRequest {
                    message: e.body_text(),
                    field: None,
                }
            }
        })
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if is_blank(&bytes) {
            return Err(ApiError::BadRequest {
                message: "a JSON body is required".into(),
                field: None,
            });
        }
        parse_json(&bytes).map(JsonBody)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if is_blank(&bytes) {
            return Ok(OptionalJsonBody(None));
        }
        parse_json(&bytes).map(|v| OptionalJsonBody(Some(v)))
    }
}

/// True for an empty or all-whitespace body.
pub fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Decodes `bytes` as one JSON value of type `T`; the 400 names the field
/// when serde can tell which one is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(&path, &inner)
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

/// The 400 for a serde error at `path` (`.` for the top level).
fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    let message = e.to_string();
    let mut field = match path {
        "." | "" => None,
        p => Some(p.to_string()),
    };
    // serde reports a missing field at the enclosing object: its message
    // names the field between backticks (an unknown one is in the path).
    if message.starts_with("missing field `") {
        if let Some(name) = message.split('`').nth(1) {
            field = Some(match field {
                Some(parent) => format!("{parent}.{name}"),
                None => name.to_string(),
            });
        }
    }
    let message = if e.is_syntax() || e.is_eof() {
        format!("the body is not valid JSON: {message}")
    } else {
        message
    };
    ApiError::BadRequest { message, field }
}

/// A numeric id from the path (an offer number), or the 400 naming `field`.
pub fn parse_number(field: &'static str, value: &str) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .map_err(|_| ApiError::bad_field(field, format!("{field} `{value}` is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        reasons: Vec<String>,
        #[serde(default)]
        values: BTreeMap<String, String>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        seconds: u64,
    }

    fn field(body: &str) -> Option<String> {
        match parse_json::<Body>(body.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected a 400 for {body}: {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(r#"{"reasons": "x"}"#).as_deref(), Some("reasons"));
        assert_eq!(field(r#"{"reasons": ["a", 5]}"#).as_deref(), Some("reasons[1]"));
        assert_eq!(field(r#"{"reasons": [], "colour": 1}"#).as_deref(), Some("colour"));
        assert_eq!(field(r#"{}"#).as_deref(), Some("reasons"));
        assert_eq!(
            field(r#"{"reasons": [], "values": {"account": 7}}"#).as_deref(),
            Some("values.account")
        );
        assert_eq!(
            field(r#"{"reasons": [], "inner": {"seconds": 1, "x": 2}}"#).as_deref(),
            Some("inner.x")
        );
        assert_eq!(
            field(r#"{"reasons": [], "inner": {}}"#).as_deref(),
            Some("inner.seconds")
        );
        assert_eq!(field(r#"{"reasons": ["#).as_deref(), Some("reasons"));
        assert_eq!(field(r#"{"reasons" ["#), None);
        assert_eq!(field(r#"{"reasons": []} trailing"#), None);
        assert!(parse_json::<Body>(br#"{"reasons": ["a"]}"#).is_ok());
    }

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), Ok(None));
        h.insert(header::AUTHORIZATION, "Bearer  abc ".parse().expect("value"));
        assert_eq!(bearer_token(&h), Ok(Some("abc".into())));
        h.insert(header::AUTHORIZATION, "bearer abc".parse().expect("value"));
        assert_eq!(bearer_token(&h), Ok(Some("abc".into())));
        for bad in ["Basic abc", "Bearer", "Bearer  ", "abc"] {
            h.insert(header::AUTHORIZATION, bad.parse().expect("value"));
            assert!(matches!(bearer_token(&h), Err(ApiError::Unauthorized(_))), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("offer", "42"), Ok(42));
        let e = parse_number("offer", "x1").expect_err("not a number");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(matches!(e, ApiError::BadRequest { field: Some(f), .. } if f == "offer"));
    }
}
