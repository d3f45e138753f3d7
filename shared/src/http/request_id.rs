//! Every request gets an id: Lambda's request id (or a fresh one locally). It names the
//! request's log span, comes back in `X-Request-Id`, and stands in every error body
//! (`error.requestId`), so a client's report can be found in the logs while the body itself
//! carries no internal detail.

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Error bodies are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    // The id also follows the work this request queues (see `correlation`).
    let mut response = crate::correlation::scope(Some(id.clone()), next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut json) if json.get("error").is_some_and(|e| e.is_object()) => {
            json["error"]["requestId"] = serde_json::Value::String(id);
            Body::from(json.to_string())
        }
        _ => Body::from(bytes),
    };
    let mut response = Response::from_parts(parts, body);
    response.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
    response
}
