//! The Graph API over HTTPS (reqwest + rustls). Base URL and version come from config, so
//! tests point it at a local fake server.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Client, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::ports::{GraphApi, GraphError, SendTarget, SentMessage, UserProfile};

#[derive(Clone)]
pub struct HttpGraphApi {
    client: Client,
    base_url: String,
    version: String,
}

impl HttpGraphApi {
    pub fn new(base_url: &str, version: &str) -> Self {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest client builds with rustls");
        HttpGraphApi { client, base_url: base_url.trim_end_matches('/').to_owned(), version: version.to_owned() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base_url, self.version, path.trim_start_matches('/'))
    }
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorFields,
}

#[derive(Deserialize)]
struct GraphErrorFields {
    #[serde(default)]
    message: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// The longest `estimated_time_to_regain_access` (minutes) across the business objects of an
/// `X-Business-Use-Case-Usage` header.
pub fn regain_access_minutes(header: &str) -> Option<u64> {
    let usage: Value = serde_json::from_str(header).ok()?;
    usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access").and_then(Value::as_u64))
        .max()
        .filter(|m| *m > 0)
}

/// Turns a non-success answer into a `GraphError` with Meta's fields.
async fn error_from(response: Response) -> GraphError {
    let http_status = response.status().as_u16();
    let retry_after_minutes = response
        .headers()
        .get("x-business-use-case-usage")
        .and_then(|h| h.to_str().ok())
        .and_then(regain_access_minutes);
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<GraphErrorBody>(&body) {
        Ok(b) => GraphError {
            http_status,
            code: b.error.code,
            subcode: b.error.error_subcode,
            is_transient: b.error.is_transient,
            message: b.error.message,
            retry_after_minutes,
        },
        Err(_) => GraphError {
            http_status,
            code: None,
            subcode: None,
            is_transient: false,
            message: format!("HTTP {http_status} without a Graph error body"),
            retry_after_minutes,
        },
    }
}

fn transport_error(e: reqwest::Error) -> GraphError {
    // reqwest's message names the URL, which never carries the token (it travels in a header).
    GraphError {
        http_status: 0,
        code: None,
        subcode: None,
        is_transient: true,
        message: format!("Graph API unreachable: {e}"),
        retry_after_minutes: None,
    }
}

/// Sends a request (the token travels in the `Authorization` header, never in the URL)
/// and reads a success body as `T`, or the failure as a `GraphError`.
async fn call<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder, token: &str) -> Result<T, GraphError> {
    let response = request.bearer_auth(token).send().await.map_err(transport_error)?;
    if !response.status().is_success() {
        return Err(error_from(response).await);
    }
    response.json().await.map_err(transport_error)
}

#[async_trait]
impl GraphApi for HttpGraphApi {
    async fn user_profile(&self, access_token: &str, igsid: &str) -> Result<UserProfile, GraphError> {
        call(self.client.get(self.url(igsid)).query(&[("fields", "name,username")]), access_token).await
    }

    async fn send_message(&self, target: &SendTarget<'_>, body: &Value) -> Result<SentMessage, GraphError> {
        let sender = target.page_id.unwrap_or("me");
        call(self.client.post(self.url(&format!("{sender}/messages"))).json(body), target.access_token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_header_gives_the_longest_wait() {
        let fixture = crate::fixtures::graph("usage_header_x_business_use_case_usage.json");
        assert_eq!(regain_access_minutes(&fixture), Some(3));
        let two = r#"{"1":[{"estimated_time_to_regain_access":2}],"2":[{"estimated_time_to_regain_access":7}]}"#;
        assert_eq!(regain_access_minutes(two), Some(7));
        assert_eq!(regain_access_minutes(r#"{"1":[{"estimated_time_to_regain_access":0}]}"#), None);
        assert_eq!(regain_access_minutes("not json"), None);
    }
}
