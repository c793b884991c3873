//! Serves the browser pages embedded by [`crate::web`] (the softphone of
//! issue 12 item 3 and every other [`crate::web::PAGES`] entry) from the
//! API's address: `GET /softphone` redirects to `/softphone/` (keeping the
//! query, which may carry the test parameters), and `/softphone/`,
//! `/softphone/index.html` and each of the page's files are served.
//!
//! These routes are public, outside the [`super::guard`]: like a login
//! page, a page holds no secret (tokens and SIP passwords are typed by the
//! user, or put in the URL by a test, and go only to the API or the SIP
//! server), and a browser loading a page or a script cannot send a bearer
//! token. They are static pages, not API endpoints, so the OpenAPI
//! document does not list them. Every response carries a restrictive
//! `Content-Security-Policy` ([`crate::web::PAGE_CSP`]), `nosniff` and
//! `Referrer-Policy: no-referrer` (the page's URL may hold a password).
//!
//! Each file has its own route, so a page may share its base with an API
//! area (`/supervisor/` beside `/supervisor/agents`). Any other path under
//! a page's base is a JSON 404 like the API's, except under an API area,
//! where the API's guard and fallback answer it.

use super::error::{self, ApiError};
use super::guard::{area, Area};
use crate::web::{self, Page};
use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The headers every page response carries.
fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(web::PAGE_CSP)),
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

/// `page`'s file at `path`, or the JSON 404.
fn serve(page: &Page, path: &str) -> Response {
    let Some(asset) = page.asset(path) else {
        return (
            security_headers(),
            ApiError::NotFound {
                message: format!("no such file: {}{path}", page.base),
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

/// `GET /softphone`: to `/softphone/`, query kept.
fn redirect(page: &Page, uri: &Uri) -> Response {
    let to = match uri.query() {
        Some(q) => format!("{}?{q}", page.base),
        None => page.base.to_string(),
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

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The routes of one page.
fn page_routes(mut r: Router, page: &'static Page) -> Router {
    let bare = page.base.trim_end_matches('/');
    r = r.route(bare, get(move |uri: Uri| async move { redirect(page, &uri) }));
    for path in page.assets.iter().map(|a| a.path).chain(["index.html"]) {
        let route = format!("{}{path}", page.base);
        r = r.route(&route, get(move || async move { serve(page, path) }));
    }
    if area(page.base) == Area::Any {
        let route = format!("{}{{*path}}", page.base);
        r = r.route(
            &route,
            get(move |axum::extract::Path(path): axum::extract::Path<String>| async move { serve(page, &path) }),
        );
    }
    r
}

/// Every page's routes, public (no guard), errors as JSON.
pub fn router() -> Router {
    web::PAGES
        .iter()
        .fold(Router::new(), page_routes)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(error::json_errors))
}
