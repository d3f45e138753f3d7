//! The Graph API over HTTPS (reqwest + rustls). Base URL and version come from config, so
//! tests point it at a local fake server. One file per port: `messaging`, `oauth`, `setup`;
//! here the client and how answers and failures are read.

use std::time::Duration;

use reqwest::{Client, Response};
use serde::Deserialize;

use crate::meta::usage;
use crate::ports::Usage;
use crate::ports::{GraphError, GraphHost};

mod messaging;
mod oauth;
mod setup;
mod threads;

/// Our apps' credentials, for the OAuth token exchanges: the Facebook app, and the
/// Instagram app with its own API host (`api.instagram.com`).
#[derive(Clone, Default)]
pub struct AppCredentials {
    pub app_id: String,
    pub app_secret: String,
    pub instagram_app_id: String,
    pub instagram_app_secret: String,
    pub instagram_api_base_url: String,
}

#[derive(Clone)]
pub struct HttpGraphApi {
    client: Client,
    base_url: String,
    instagram_base_url: String,
    version: String,
    app: AppCredentials,
}

impl HttpGraphApi {
    pub fn new(base_url: &str, version: &str) -> Self {
        Self::with_app(base_url, base_url, version, AppCredentials::default())
    }

    pub fn from_config(config: &crate::config::Config) -> Self {
        let app = AppCredentials {
            app_id: config.meta_app_id.clone().unwrap_or_default(),
            app_secret: config.app_secrets.first().cloned().unwrap_or_default(),
            instagram_app_id: config.instagram_app_id.clone().unwrap_or_default(),
            instagram_app_secret: config.instagram_app_secret.clone().unwrap_or_default(),
            instagram_api_base_url: config.instagram_api_base_url.clone(),
        };
        let mut api = Self::with_app(
            &config.graph_api_base_url,
            &config.instagram_graph_base_url,
            &config.graph_api_version,
            app,
        );
        api.client = Self::client(config.limits.graph_timeout);
        api
    }

    fn client(timeout: Duration) -> Client {
        Client::builder()
            .connect_timeout(Duration::from_secs(3).min(timeout))
            .timeout(timeout)
            .build()
            .expect("reqwest client builds with rustls")
    }

    pub fn with_app(base_url: &str, instagram_base_url: &str, version: &str, app: AppCredentials) -> Self {
        let client = Self::client(Duration::from_secs(10));
        HttpGraphApi {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            instagram_base_url: instagram_base_url.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
            app,
        }
    }

    fn url(&self, path: &str) -> String {
        self.url_on(GraphHost::Facebook, path)
    }

    fn url_on(&self, host: GraphHost, path: &str) -> String {
        let base = match host {
            GraphHost::Facebook => &self.base_url,
            GraphHost::Instagram => &self.instagram_base_url,
        };
        format!("{base}/{}/{}", self.version, path.trim_start_matches('/'))
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

/// What Meta's usage headers on an answer say.
fn usage_of(response: &Response) -> Option<Usage> {
    usage::from_headers(response.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))))
}

/// Turns a non-success answer into a `GraphError` with Meta's fields.
async fn error_from(response: Response) -> GraphError {
    let http_status = response.status().as_u16();
    let usage = usage_of(&response);
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<GraphErrorBody>(&body) {
        Ok(b) => GraphError {
            http_status,
            code: b.error.code,
            subcode: b.error.error_subcode,
            is_transient: b.error.is_transient,
            message: b.error.message,
            usage,
            // Meta's own error body: a refusal below 500; on a 5xx ("an unexpected error has
            // occurred", code 1 or 2) it may have sent it all the same.
            outcome_unknown: http_status >= 500,
        },
        Err(_) => GraphError {
            http_status,
            code: None,
            subcode: None,
            is_transient: false,
            message: format!("HTTP {http_status} without a Graph error body"),
            usage,
            // A gateway's 5xx (HTML, empty) may hide a send Meta did make.
            outcome_unknown: http_status >= 500,
        },
    }
}

fn transport_error(e: reqwest::Error) -> GraphError {
    GraphError {
        http_status: 0,
        code: None,
        subcode: None,
        is_transient: true,
        // Only a refused connection proves the request never reached Meta.
        outcome_unknown: !e.is_connect(),
        // Without the URL: some OAuth endpoints carry tokens in the query string.
        message: format!("Graph API unreachable: {}", e.without_url()),
        usage: None,
    }
}

/// Sends a request and reads a success body as `T`, or the failure as a `GraphError`.
async fn fetch<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, GraphError> {
    Ok(fetch_with_usage(request).await?.0)
}

/// `fetch`, with what the answer's usage headers say.
async fn fetch_with_usage<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<(T, Option<Usage>), GraphError> {
    let response = request.send().await.map_err(transport_error)?;
    let http_status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(error_from(response).await);
    }
    let usage = usage_of(&response);
    let body = response.bytes().await.map_err(transport_error)?;
    let parsed = serde_json::from_slice(&body).map_err(|e| GraphError { usage, ..unreadable_body(http_status, &e) })?;
    Ok((parsed, usage))
}

/// A success whose body we cannot read: it still succeeded at Meta. The message names where
/// reading failed, never what it read (serde's text quotes values, and the body may hold a
/// token).
fn unreadable_body(http_status: u16, e: &serde_json::Error) -> GraphError {
    GraphError {
        http_status,
        code: None,
        subcode: None,
        is_transient: true,
        outcome_unknown: true,
        message: format!(
            "HTTP {http_status} with an unreadable body ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
        usage: None,
    }
}

/// A call authorised by a token in the `Authorization` header.
async fn call<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder, token: &str) -> Result<T, GraphError> {
    fetch(request.bearer_auth(token)).await
}

#[derive(Deserialize)]
struct Paged<T> {
    data: Vec<T>,
}

impl HttpGraphApi {
    /// The app's own token (`{app-id}|{app-secret}`), for what Meta asks of the app itself.
    fn app_token(&self) -> String {
        format!("{}|{}", self.app.app_id, self.app.app_secret)
    }
}

fn unreadable(what: &str) -> GraphError {
    GraphError {
        http_status: 200,
        code: None,
        subcode: None,
        is_transient: false,
        message: format!("{what}: answer without the expected fields"),
        usage: None,
        outcome_unknown: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::TokenGrant;

    #[test]
    fn an_unreadable_answer_never_quotes_what_it_held() {
        // A token where a number was expected: serde's own message would quote it.
        let e =
            serde_json::from_str::<TokenGrant>(r#"{"access_token":"EAAB-secret","expires_in":"EAAB-x"}"#).unwrap_err();
        assert!(e.to_string().contains("EAAB"), "serde quotes values: {e}");
        let error = unreadable_body(200, &e);
        assert!(!error.message.contains("EAAB"), "{}", error.message);
        assert!(error.message.contains("line 1"), "{}", error.message);
    }
}
