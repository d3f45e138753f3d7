//! The service layer's one error type: a stable code and a human message. `crate::http`
//! maps it to a status and CONTRACT.md's JSON body in one place.

use serde::Serialize;

use crate::ports::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    ValidationError,
    InvalidSignature,
    PayloadTooLarge,
    /// Content over one of the channel's documented limits (the message names it).
    LimitExceeded,
    /// Something the conversation's channel does not have.
    NotSupportedOnChannel,
    Conflict,
    HistoryImportRunning,
    MessagingWindowClosed,
    InstagramMessagingNotSupported,
    RateLimited,
    AccountReauthRequired,
    RecipientUnavailable,
    AccountDisconnected,
    AccountConnectedElsewhere,
    OauthDenied,
    OauthStateInvalid,
    OauthExchangeFailed,
    /// An OAuth completion by someone other than the agent who started the flow.
    OauthInitiatorMismatch,
    NoInstagramAccount,
    NotConfigured,
    /// Meta kept failing with transient errors until the retries ran out.
    MetaUnavailable,
    /// Meta refused the request for a reason outside the known classes.
    MetaRequestRejected,
    /// Meta's answer to a send was lost and no echo confirmed it: it may or may not have
    /// reached the customer; never resent without an agent's say.
    DeliveryUnconfirmed,
    /// Every attempt at a job ended without an outcome (its workers died).
    SendAttemptsExhausted,
    /// A comment reply or moderation asked of a DM conversation.
    NotACommentThread,
    /// The comment named is not in this thread.
    CommentNotFound,
    /// Meta allows one private reply per comment.
    PrivateReplyAlreadySent,
    /// Meta allows a private reply within 7 days of the comment.
    PrivateReplyWindowClosed,
    /// The comment has nobody to reply to privately (a mention, or the account's own).
    PrivateReplyUnavailable,
    /// A live broadcast's comments take private replies only.
    PublicReplyUnavailable,
    /// Another app (a bot) controls the thread at Meta: a send would be refused unless the
    /// inbox takes control first.
    ThreadOwnedByOtherApp,
    /// A file sent from an upload that is not (whole) in storage yet: PUT it first.
    UploadIncomplete,
    /// Storage or the queue cannot be reached for now: try again (webhooks: Meta redelivers).
    ServiceUnavailable,
    InternalError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::InvalidSignature => "INVALID_SIGNATURE",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCode::NotSupportedOnChannel => "NOT_SUPPORTED_ON_CHANNEL",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::HistoryImportRunning => "HISTORY_IMPORT_RUNNING",
            ErrorCode::MessagingWindowClosed => "MESSAGING_WINDOW_CLOSED",
            ErrorCode::InstagramMessagingNotSupported => "INSTAGRAM_MESSAGING_NOT_SUPPORTED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::AccountReauthRequired => "ACCOUNT_REAUTH_REQUIRED",
            ErrorCode::RecipientUnavailable => "RECIPIENT_UNAVAILABLE",
            ErrorCode::AccountDisconnected => "ACCOUNT_DISCONNECTED",
            ErrorCode::AccountConnectedElsewhere => "ACCOUNT_CONNECTED_ELSEWHERE",
            ErrorCode::OauthDenied => "OAUTH_DENIED",
            ErrorCode::OauthStateInvalid => "OAUTH_STATE_INVALID",
            ErrorCode::OauthExchangeFailed => "OAUTH_EXCHANGE_FAILED",
            ErrorCode::OauthInitiatorMismatch => "OAUTH_INITIATOR_MISMATCH",
            ErrorCode::NoInstagramAccount => "NO_INSTAGRAM_ACCOUNT",
            ErrorCode::NotConfigured => "NOT_CONFIGURED",
            ErrorCode::MetaUnavailable => "META_UNAVAILABLE",
            ErrorCode::MetaRequestRejected => "META_REQUEST_REJECTED",
            ErrorCode::DeliveryUnconfirmed => "DELIVERY_UNCONFIRMED",
            ErrorCode::SendAttemptsExhausted => "SEND_ATTEMPTS_EXHAUSTED",
            ErrorCode::NotACommentThread => "NOT_A_COMMENT_THREAD",
            ErrorCode::CommentNotFound => "COMMENT_NOT_FOUND",
            ErrorCode::PrivateReplyAlreadySent => "PRIVATE_REPLY_ALREADY_SENT",
            ErrorCode::PrivateReplyWindowClosed => "PRIVATE_REPLY_WINDOW_CLOSED",
            ErrorCode::PrivateReplyUnavailable => "PRIVATE_REPLY_UNAVAILABLE",
            ErrorCode::PublicReplyUnavailable => "PUBLIC_REPLY_UNAVAILABLE",
            ErrorCode::ThreadOwnedByOtherApp => "THREAD_OWNED_BY_OTHER_APP",
            ErrorCode::UploadIncomplete => "UPLOAD_INCOMPLETE",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    /// A send or a handover refused because another app controls the thread.
    pub fn thread_owned_elsewhere() -> Self {
        AppError::new(
            ErrorCode::ThreadOwnedByOtherApp,
            "another app controls this thread at Meta; send with \"takeControl\": true to take it first",
        )
    }
}

impl From<crate::domain::rich::Refused> for AppError {
    fn from(r: crate::domain::rich::Refused) -> Self {
        use crate::domain::rich::Refused;
        match r {
            Refused::Invalid(m) => AppError::validation(m),
            Refused::OverLimit(m) => AppError::new(ErrorCode::LimitExceeded, m),
            Refused::Unsupported(m) => AppError::new(ErrorCode::NotSupportedOnChannel, m),
        }
    }
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// A dependency (storage, queue) failed; the detail goes to the log, not the client.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "dependency unavailable");
        Self::new(ErrorCode::ServiceUnavailable, "storage is unavailable, try again")
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => AppError::validation("cursor is not one this API returned"),
            StoreError::Conflict(what) => AppError::new(ErrorCode::Conflict, format!("{what} already exists")),
            StoreError::Backend(why) => AppError::unavailable(format!("store failed: {why}")),
        }
    }
}
