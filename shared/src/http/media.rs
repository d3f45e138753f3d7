//! `GET /api/media/<key>?expires=&signature=`: the local server's signed media URLs (in AWS,
//! S3 serves its presigned URLs and this route refuses every request). No bearer: an
//! `<img>` cannot send one, so the signature is the whole permission, and it names one copy
//! until one time.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::{AppError, ErrorCode};
use crate::services::Inbox;

use super::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct Signed {
    expires: Option<i64>,
    signature: Option<String>,
}

pub async fn serve(
    State(inbox): State<Arc<Inbox>>,
    Path(key): Path<String>,
    ApiQuery(signed): ApiQuery<Signed>,
) -> Result<Response, AppError> {
    let refused = || AppError::new(ErrorCode::Forbidden, "this media link is not valid or has expired");
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
