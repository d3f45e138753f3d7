//! Meta's wire formats: webhook signatures and payloads.

pub mod comments;
pub mod conversations;
pub mod event;
pub mod graph_errors;
pub mod messenger_profile;
pub mod send_api;
pub mod signature;
pub mod signed_request;
pub mod subscriptions;
pub mod usage;
pub mod webhook;

/// An id that JSON may give as a string or a (big) number (Meta's ids, token claims): the one
/// parser of such ids. An empty string is no id.
pub fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
