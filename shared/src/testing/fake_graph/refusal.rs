//! What the fake answers to a request Meta would refuse: Meta's own error body and status.

use serde_json::json;

/// A request Meta refuses, as Meta words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub kind: &'static str,
    pub message: String,
}

impl Refusal {
    /// `(#100)`: a parameter missing or invalid.
    pub fn param(message: impl Into<String>) -> Self {
        Refusal {
            status: 400,
            code: 100,
            subcode: None,
            kind: "OAuthException",
            message: format!("(#100) {}", message.into()),
        }
    }

    /// An edge the node type does not have.
    pub fn unknown_path(edge: &str) -> Self {
        Refusal {
            status: 400,
            code: 2500,
            subcode: None,
            kind: "OAuthException",
            message: format!("Unknown path components: /{edge}"),
        }
    }

    /// An object that does not exist for the caller, or a method its type does not have.
    pub fn unsupported(method: &str, id: &str) -> Self {
        Refusal {
            status: 400,
            code: 100,
            subcode: Some(33),
            kind: "GraphMethodException",
            message: format!(
                "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to missing \
                 permissions, or does not support this operation. Please read the Graph API documentation at \
                 https://developers.facebook.com/docs/graph-api",
                method.to_lowercase()
            ),
        }
    }

    pub fn nonexisting_field(field: &str, node: &str) -> Self {
        Self::param(format!("Tried accessing nonexisting field ({field}) on node type ({node})"))
    }

    /// A Send API recipient Meta does not know.
    pub fn no_matching_user() -> Self {
        Refusal {
            status: 400,
            code: 100,
            subcode: Some(2534014),
            kind: "OAuthException",
            message: "No matching user found".into(),
        }
    }

    pub fn no_token() -> Self {
        Refusal {
            status: 400,
            code: 104,
            subcode: None,
            kind: "OAuthException",
            message: "An access token is required to request this resource.".into(),
        }
    }

    /// A request the spec has but this fake does not model: the test, not the product, is
    /// wrong, but it must not pass unnoticed either.
    pub fn not_modelled(what: String) -> Self {
        Refusal { status: 400, code: 1, subcode: None, kind: "FakeGraphNotModelled", message: what }
    }

    /// Meta's error body.
    pub fn body(&self) -> String {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": "FakeGraphStrict",
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error }).to_string()
    }
}
