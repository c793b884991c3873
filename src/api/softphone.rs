//! Serves the browser softphone (issue 12 item 3) from the API's address:
//! `GET /softphone` redirects to `/softphone/` (keeping the query, which
//! may carry the test parameters), and `/softphone/`,
//! `/softphone/softphone.js`, `/softphone/softphone.css` and
//! `/softphone/vendor/jssip-<version>.min.js` are the files embedded by
//! [`crate::web`].
//!
//! These routes are public, outside the [`super::guard`]: like a login
//! page, the softphone holds no secret (the SIP password is typed by the
//! user, or put in the URL by a test, and goes only to the SIP server over
//! the WebSocket), and a browser loading a page or a script cannot send a
//! bearer token. They are static pages, not API endpoints, so the OpenAPI
//! document does not list them. Every response carries a restrictive
//! `Content-Security-Policy` ([`crate::web::SOFTPHONE_CSP`]), `nosniff`
//! and `Referrer-Policy: no-referrer` (the page's URL may hold a password);
//! any other path under `/softphone/` is a JSON 404 like the API's.

use super::error::{self, ApiError};
use crate::web;
use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The headers every softphone response carries.
fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(web::SOFTPHONE_CSP),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("microphone=(self), camera=(), geolocation=()"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// One embedded file, or the JSON 404.
fn serve(path: &str) -> Response {
    let Some(asset) = web::asset(path) else {
        return (
            security_headers(),
            ApiError::NotFound {
                message: format!("no such file: {}{path}", web::SOFTPHONE_PATH),
                field: None,
            },
        )
            .into_response();
    };
    (
        security_headers(),
        [
            (header::CONTENT_TYPE, asset.kind.content_type()),
            (header::CACHE_CONTROL, asset.caching.cache_control()),
        ],
        asset.body,
    )
        .into_response()
}

/// `GET /softphone`: to the page, query kept.
async fn redirect(uri: Uri) -> Response {
    let to = match uri.query() {
        Some(q) => format!("{}?{q}", web::SOFTPHONE_PATH),
        None => web::SOFTPHONE_PATH.to_string(),
    };
    match HeaderValue::try_from(to) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
            security_headers(),
        )
            .into_response(),
        Err(_) => ApiError::BadRequest {
            message: "the query is not a valid URL query".into(),
            field: None,
        }
        .into_response(),
    }
}

async fn page() -> Response {
    serve("")
}

async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The softphone's routes, public (no guard), errors as JSON.
pub fn router() -> Router {
    Router::new()
        .route("/softphone", get(redirect))
        .route("/softphone/", get(page))
        .route("/softphone/{*path}", get(file))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(error::json_errors))
}
