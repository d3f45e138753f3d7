//! The one place errors become HTTP answers: `{"error":{"code","message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{AppError, ErrorCode};

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound | ErrorCode::CommentNotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::ValidationError | ErrorCode::LimitExceeded | ErrorCode::NotSupportedOnChannel => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::InvalidSignature | ErrorCode::Forbidden | ErrorCode::OauthInitiatorMismatch => StatusCode::FORBIDDEN,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Conflict
        | ErrorCode::PrivateReplyAlreadySent
        | ErrorCode::HistoryImportRunning
        | ErrorCode::ThreadOwnedByOtherApp
        | ErrorCode::UploadIncomplete => StatusCode::CONFLICT,
        ErrorCode::MessagingWindowClosed
        | ErrorCode::InstagramMessagingNotSupported
        | ErrorCode::AccountReauthRequired
        | ErrorCode::RecipientUnavailable
        | ErrorCode::AccountDisconnected
        | ErrorCode::MetaRequestRejected
        | ErrorCode::NotACommentThread
        | ErrorCode::PrivateReplyWindowClosed
        | ErrorCode::PrivateReplyUnavailable
        | ErrorCode::PublicReplyUnavailable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MetaUnavailable | ErrorCode::OauthExchangeFailed | ErrorCode::DeliveryUnconfirmed => {
            StatusCode::BAD_GATEWAY
        }
        ErrorCode::OauthDenied | ErrorCode::OauthStateInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::AccountConnectedElsewhere => StatusCode::CONFLICT,
        ErrorCode::NoInstagramAccount => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::NotConfigured | ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::InternalError | ErrorCode::SendAttemptsExhausted => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // Internal detail (library errors, AWS text) goes to the log, never to the client.
        let message = match self.code {
            ErrorCode::InternalError => {
                tracing::error!(error = %self.message, "internal error");
                "internal error; try again".to_owned()
            }
            _ => self.message,
        };
        let body = json!({"error": {"code": self.code.as_str(), "message": message}});
        (status_of(self.code), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_detail_never_reaches_the_client() {
        let response = AppError::internal("DispatchFailure: dynamodb.us-east-1 said no").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
        assert!(!body.to_string().contains("dynamodb"), "{body}");
    }
}
