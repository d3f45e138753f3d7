//! `GET /api/media/<key>?expires=&signature=`: the local server's signed media URLs (in AWS,
//! S3 serves its presigned URLs and this route refuses every request). No bearer: an
//! `<img>` cannot send one, so the signature is the whole permission, and it names one copy
//! until one time. `PUT` to the same route with `maxBytes` in the query takes an agent's
//! upload, likewise signed (the key, the expiry, the type, the size).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::domain::media::DEFAULT_MEDIA_MAX_BYTES;
use crate::error::{AppError, ErrorCode};
use crate::ports::SignedPut;
use crate::services::Inbox;

use super::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct Signed {
    expires: Option<i64>,
    signature: Option<String>,
    #[serde(rename = "maxBytes")]
    max_bytes: Option<u64>,
}

fn refused() -> AppError {
    AppError::new(ErrorCode::Forbidden, "this media link is not valid or has expired")
}

pub async fn serve(
    State(inbox): State<Arc<Inbox>>,
    Path(key): Path<String>,
    ApiQuery(signed): ApiQuery<Signed>,
) -> Result<Response, AppError> {
    let (Some(expires), Some(signature)) = (signed.expires, signed.signature) else { return Err(refused()) };
    let (bytes, content_type) = inbox.open_media(&key, expires, &signature).await.ok_or_else(refused)?;
    let headers = [
        (header::CONTENT_TYPE, content_type),
        // The type was told from the bytes when the copy was made; the browser must not guess another.
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
    ];
    Ok((headers, bytes).into_response())
}

/// `PUT /api/media/<key>?expires=&maxBytes=&signature=` with the declared `Content-Type`: the
/// file kept (`200`), or 403 for a link that does not name this key, type and size until now.
pub async fn accept_upload(
    State(inbox): State<Arc<Inbox>>,
    Path(key): Path<String>,
    ApiQuery(signed): ApiQuery<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    let (Some(expires), Some(signature), Some(max_bytes)) = (signed.expires, signed.signature, signed.max_bytes) else {
        return Err(refused());
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    // Read no more than the signed size (and never more than Meta's largest file) before the
    // signature is checked.
    let limit = max_bytes.min(DEFAULT_MEDIA_MAX_BYTES) as usize;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AppError::new(ErrorCode::PayloadTooLarge, format!("the file is larger than the {max_bytes} bytes declared"))
    })?;
    let put = SignedPut { key: &key, content_type, max_bytes, expires, signature: &signature };
    match inbox.put_media(&put, bytes.to_vec()).await.map_err(AppError::unavailable)? {
        true => Ok(StatusCode::OK),
        false => Err(refused()),
    }
}
