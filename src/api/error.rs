//! Every refusal of the API as one JSON body (issue 4 item 4): `{"error":
//! "<kind>", "message": "...", "field": "<request field>"}`, `field` only
//! when one request field is to blame. CAD-3's conflict adds the current
//! `version` and the `overwritten` values.
//!
//! [`ApiError`] is what handlers and extractors return; [`json_errors`]
//! is the outermost layer that turns the plain-text refusals axum itself
//! produces (bad percent-encoding in a path, a refused WebSocket upgrade...)
//! into the same JSON shape, so no 4xx ever leaves as text.

use crate::engine::desk::DeskError;
use crate::engine::ControlError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

/// Why the API refused a request; each maps to one HTTP status and a JSON
/// body (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: a malformed path parameter or body, or a value the engine refused.
    #[error("{message}")]
    BadRequest {
        /// Why.
        message: String,
        /// The request field to blame (`state`, `values.account`, `offer`).
        field: Option<String>,
    },
    /// 401: no bearer token, or one no agent or supervisor has.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the principal may not do this (an agent on a supervisor route).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such endpoint, call, offer or interaction.
    #[error("{message}")]
    NotFound {
        /// What was not found.
        message: String,
        /// The request field that named it.
        field: Option<String>,
    },
    /// 405: the path exists, the method does not.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// 409: the current state forbids it (AGENT-3, CALL-HOLD-1, ...).
    #[error("{0}")]
    Conflict(String),
    /// 409: CAD-3, someone saved the interaction's data first.
    #[error("the data changed since version {base}: now version {current}")]
    DataConflict {
        /// The version the edits were made on.
        base: u64,
        /// The current version.
        current: u64,
        /// Variables saved by someone else since, with their current values.
        overwritten: Vec<(String, String)>,
    },
    /// 409: CB-8, an `Idempotency-Key` already used with another request.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// 413: the body is larger than [`super::BODY_LIMIT`].
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 429: a token's request rate or stream count is over its limit, or
    /// an address presented too many unknown tokens (issue 11 item 5).
    #[error("{message}")]
    TooManyRequests {
        /// What limit, for whom.
        message: String,
        /// The `Retry-After` value.
        retry_after_s: u64,
    },
    /// 503: the engine task is gone (shutting down).
    #[error("the switch is shutting down")]
    Unavailable,
    /// 500: the engine answered with the wrong kind of reply.
    #[error("{0}")]
    Internal(String),
    /// Any other status axum produced (405 for a non-GET upgrade, 426...).
    #[error("{message}")]
    Other {
        /// The status.
        status: StatusCode,
        /// axum's text.
        message: String,
    },
}

impl ApiError {
    /// A 400 naming `field`.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::DataConflict { .. } => StatusCode::CONFLICT,
            ApiError::IdempotencyConflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Other { status, .. } => *status,
        }
    }

    /// The body's `error` value.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::DataConflict { .. } => "data_conflict",
            ApiError::IdempotencyConflict(_) => "idempotency_conflict",
            ApiError::Other { status, .. } => kind_of(*status),
            other => kind_of(other.status()),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::NotFound { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

/// The `error` kind of a status.
fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        426 => "upgrade_required",
        429 => "rate_limited",
        503 => "unavailable",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// The JSON body of an [`ApiError`].
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// CAD-3: the current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    /// CAD-3: the version the edits were made on.
    #[serde(skip_serializing_if = "Option::is_none")]
    base: Option<u64>,
    /// CAD-3: the values saved by someone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    overwritten: Option<BTreeMap<&'a str, &'a str>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (version, base, overwritten) = match &self {
            ApiError::DataConflict {
                base,
                current,
                overwritten,
            } => (
                Some(*current),
                Some(*base),
                Some(overwritten.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()),
            ),
            _ => (None, None, None),
        };
        let body = ErrorBody {
            error: self.kind(),
            message: self.to_string(),
            field: self.field(),
            version,
            base,
            overwritten,
        };
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyRequests { retry_after_s, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}

impl From<DeskError> for ApiError {
    /// Unauthorized 401, Forbidden 403, NotFound 404, Invalid 400,
    /// Conflict and DataConflict 409.
    fn from(e: DeskError) -> ApiError {
        match e {
            DeskError::Unauthorized => ApiError::Unauthorized(e.to_string()),
            DeskError::Forbidden(m) => ApiError::Forbidden(m),
            DeskError::NotFound { field, message } => ApiError::NotFound {
                message,
                field: Some(field.to_string()),
            },
            DeskError::Invalid { field, message } => ApiError::BadRequest {
                message,
                field: Some(field),
            },
            DeskError::Conflict(m) => ApiError::Conflict(m),
            DeskError::DataConflict {
                base,
                current,
                overwritten,
            } => ApiError::DataConflict {
                base,
                current,
                overwritten,
            },
        }
    }
}

impl From<ControlError> for ApiError {
    /// An unknown call is 404 naming `id`; every other refusal is 409.
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::NoSuchCall(_) => ApiError::NotFound {
                message: e.to_string(),
                field: Some("id".into()),
            },
            _ => ApiError::Conflict(e.to_string()),
        }
    }
}

/// The largest error text [`json_errors`] copies into a JSON body.
const MAX_TEXT: usize = 4096;

/// Outermost layer: an error response that is not JSON yet (axum's own
/// rejections are text) becomes `{"error", "message"}` with the same status.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::Other { status, message }.into_response();
    // Keep headers such as `Allow` or `WWW-Authenticate`.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (u16, serde_json::Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    /// Each DeskError maps to its status, and the body names the field.
    #[tokio::test]
    async fn desk_errors_map_to_statuses() {
        let cases = [
            (DeskError::Unauthorized, 401, "unauthorized"),
            (DeskError::Forbidden("no".into()), 403, "forbidden"),
            (
                DeskError::NotFound {
                    field: "offer",
                    message: "no offer 7".into(),
                },
                404,
                "not_found",
            ),
            (
                DeskError::Invalid {
                    field: "reasons".into(),
                    message: "pick one".into(),
                },
                400,
                "bad_request",
            ),
            (DeskError::Conflict("ringing".into()), 409, "conflict"),
        ];
        for (e, status, kind) in cases {
            let (s, b) = body(e.into()).await;
            assert_eq!(s, status);
            assert_eq!(b["error"], kind);
            assert!(b["message"].is_string());
        }
        let (_, b) = body(
            DeskError::NotFound {
                field: "offer",
                message: "x".into(),
            }
            .into(),
        )
        .await;
        assert_eq!(b["field"], "offer");
    }

    /// spec: CAD-3 — the conflict body carries the current version and
    /// the overwritten values.
    #[tokio::test]
    async fn data_conflict_body() {
        let (s, b) = body(
            DeskError::DataConflict {
                base: 3,
                current: 4,
                overwritten: vec![("account".into(), "A-9".into())],
            }
            .into(),
        )
        .await;
        assert_eq!(s, 409);
        assert_eq!(b["error"], "data_conflict");
        assert_eq!(b["version"], 4);
        assert_eq!(b["base"], 3);
        assert_eq!(b["overwritten"]["account"], "A-9");
    }

    /// Text errors from axum become JSON with the same status.
    #[tokio::test]
    async fn text_errors_become_json() {
        let text = (StatusCode::UPGRADE_REQUIRED, "needs an upgrade").into_response();
        let r = json_errors(text).await;
        assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.expect("body");
        let b: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(b["error"], "upgrade_required");
        assert_eq!(b["message"], "needs an upgrade");
    }
}
