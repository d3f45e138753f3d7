//! What a Graph API failure means for a send (META_FACTS.md's table).

use crate::error::ErrorCode;
use crate::ports::GraphError;

/// A Graph call an API request waits on (not a queued job) failed: how the API answers it.
/// `what` names the call for the message.
pub fn answer_for(e: &GraphError, what: &str) -> crate::error::AppError {
    let code = match classify(e) {
        FailureClass::Permanent(ErrorCode::AccountReauthRequired) => ErrorCode::AccountReauthRequired,
        FailureClass::Permanent(_) => ErrorCode::MetaRequestRejected,
        FailureClass::Transient | FailureClass::Throttled => ErrorCode::MetaUnavailable,
    };
    crate::error::AppError::new(code, format!("{what}: {}", e.message))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Try again after a backoff (1, 2, `is_transient`, 5xx, no answer).
    Transient,
    /// Meta is throttling us: try again after a backoff or the usage header's time.
    Throttled,
    /// Retrying cannot help; the job fails at once with this code.
    Permanent(ErrorCode),
}

impl FailureClass {
    /// The code a job ends with when it stops on this class.
    pub fn final_code(self) -> ErrorCode {
        match self {
            FailureClass::Transient => ErrorCode::MetaUnavailable,
            FailureClass::Throttled => ErrorCode::RateLimited,
            FailureClass::Permanent(code) => code,
        }
    }
}

pub fn classify(e: &GraphError) -> FailureClass {
    use ErrorCode::*;
    use FailureClass::*;
    let (code, sub) = (e.code, e.subcode);
    match (code, sub) {
        (Some(190), _) => Permanent(AccountReauthRequired),
        (Some(10), Some(2534022 | 2018278)) => Permanent(MessagingWindowClosed),
        (Some(551), _) | (_, Some(1545041)) => Permanent(RecipientUnavailable),
        (Some(100), Some(2534014)) => Permanent(RecipientUnavailable),
        (Some(200), Some(2534041)) | (Some(10), None) | (Some(3), _) => Permanent(InstagramMessagingNotSupported),
        (Some(4 | 17 | 32 | 613 | 80001 | 80002 | 80006), _) => Throttled,
        (Some(200..=299), _) => Permanent(InstagramMessagingNotSupported),
        _ if e.http_status == 429 => Throttled,
        (Some(1 | 2), _) => Transient,
        _ if e.is_transient || e.http_status == 0 || e.http_status >= 500 => Transient,
        _ => Permanent(MetaRequestRejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn from_fixture(name: &str, http_status: u16) -> GraphError {
        let v: serde_json::Value = serde_json::from_str(&fixtures::graph(name)).unwrap();
        let e = &v["error"];
        GraphError {
            http_status,
            code: e["code"].as_i64(),
            subcode: e["error_subcode"].as_i64(),
            is_transient: e["is_transient"].as_bool().unwrap_or(false),
            message: e["message"].as_str().unwrap().to_owned(),
            usage: None,
            outcome_unknown: false,
        }
    }

    #[test]
    fn every_fixture_error_lands_in_its_class() {
        use ErrorCode::*;
        use FailureClass::*;
        let cases = [
            ("error_app_rate_limit.json", Throttled),
            ("error_custom_rate_limit.json", Throttled),
            ("error_ig_buc_rate_limit.json", Throttled),
            ("error_temporary.json", Transient),
            ("error_outside_window.json", Permanent(MessagingWindowClosed)),
            ("error_user_unavailable.json", Permanent(RecipientUnavailable)),
            ("error_no_matching_user.json", Permanent(RecipientUnavailable)),
            ("error_token_expired.json", Permanent(AccountReauthRequired)),
            ("error_messaging_disabled.json", Permanent(InstagramMessagingNotSupported)),
        ];
        for (name, class) in cases {
            assert_eq!(classify(&from_fixture(name, 400)), class, "{name}");
        }
    }

    #[test]
    fn http_status_alone_decides_when_there_is_no_graph_body() {
        let bare = |http_status| GraphError {
            http_status,
            code: None,
            subcode: None,
            is_transient: false,
            message: String::new(),
            usage: None,
            outcome_unknown: false,
        };
        assert_eq!(classify(&bare(429)), FailureClass::Throttled);
        assert_eq!(classify(&bare(503)), FailureClass::Transient);
        assert_eq!(classify(&bare(0)), FailureClass::Transient);
        assert_eq!(classify(&bare(400)), FailureClass::Permanent(ErrorCode::MetaRequestRejected));
        let mut perm = bare(400);
        perm.code = Some(10);
        assert_eq!(classify(&perm), FailureClass::Permanent(ErrorCode::InstagramMessagingNotSupported));
        perm.code = Some(230);
        assert_eq!(classify(&perm), FailureClass::Permanent(ErrorCode::InstagramMessagingNotSupported));
    }
}
