//! A fake Graph API for tests: records every request and answers from a script, or with
//! the fixtures' success bodies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::meta::signature;

/// One recorded request to the fake Graph API.
#[derive(Debug, Clone)]
pub struct GraphCall {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// Status, extra headers, body.
pub type ScriptedAnswer = (u16, Vec<(String, String)>, String);

#[derive(Default)]
pub struct FakeGraphState {
    pub calls: Mutex<Vec<GraphCall>>,
    /// Scripted answers, taken in order; when empty, the default for the path.
    pub script: Mutex<VecDeque<ScriptedAnswer>>,
    /// When set, a send first delivers this webhook (URL, body, signing secret) to the app
    /// and waits for its answer: the echo arriving before the send call returns.
    pub echo_before_answer: Mutex<Option<(String, String, String)>>,
    /// When set, every send is accepted (and echoed, see `echo_after`) but answered only
    /// after this long: the client may have given up by then, as on a Meta incident.
    pub answer_delay: Mutex<Option<std::time::Duration>>,
    /// When set, every send is echoed as Meta does: this webhook (URL, body, signing secret)
    /// is delivered to the app this long after the send arrived, whatever the answer.
    pub echo_after: Mutex<Option<(String, String, String, std::time::Duration)>>,
}

pub struct FakeGraph {
    pub url: String,
    pub state: Arc<FakeGraphState>,
}

impl FakeGraph {
    pub async fn start() -> Self {
        let state = Arc::new(FakeGraphState::default());
        let app = axum::Router::new().fallback(fake_graph_handler).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGraph { url, state }
    }

    pub fn calls(&self) -> Vec<GraphCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Queues the next answer: status, extra headers, body.
    pub fn answer(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.state.script.lock().unwrap().push_back((status, headers, body.to_owned()));
    }
}

async fn fake_graph_handler(State(state): State<Arc<FakeGraphState>>, req: Request) -> impl IntoResponse {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_owned();
    state.calls.lock().unwrap().push(GraphCall {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        authorization: parts.headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let echo = state.echo_before_answer.lock().unwrap().take();
    if let Some((url, body, secret)) = echo {
        let r = reqwest::Client::new()
            .post(url)
            .header("x-hub-signature-256", signature::sign(&secret, body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "echo delivered during the send");
    }
    let echo_later = state.echo_after.lock().unwrap().clone();
    if let Some((url, body, secret, after)) = echo_later.filter(|_| path.ends_with("/messages")) {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = reqwest::Client::new()
                .post(url)
                .header("x-hub-signature-256", signature::sign(&secret, body.as_bytes()))
                .body(body)
                .send()
                .await;
        });
    }
    let delay = *state.answer_delay.lock().unwrap();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let scripted = state.script.lock().unwrap().pop_front();
    let (status, headers, body) = scripted.unwrap_or_else(|| {
        (200, vec![], crate::fixtures::graph(default_fixture(&path, parts.uri.query().unwrap_or_default())))
    });
    let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    for (k, v) in headers {
        response.headers_mut().insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    response
}

/// The success body Meta gives for a path.
fn default_fixture(path: &str, query: &str) -> &'static str {
    if path.ends_with("/messages") {
        "send_ok.json"
    } else if path.ends_with("/replies") {
        "comment_reply_ok.json"
    } else if query.contains("fields=permalink") {
        "media_permalink.json"
    } else if query.contains("hide=") {
        "success.json"
    } else if path.ends_with("/oauth/access_token") && query.contains("fb_exchange_token") {
        "oauth_long_lived.json"
    } else if path.ends_with("/oauth/access_token") {
        "oauth_code_exchange.json"
    } else if path.ends_with("/refresh_access_token") {
        "oauth_long_lived.json"
    } else if path.ends_with("/me/accounts") {
        "me_accounts.json"
    } else if path.ends_with("/subscribed_apps") {
        "subscribed_apps_ok.json"
    } else if path.ends_with("/debug_token") {
        "debug_token.json"
    } else {
        "user_profile.json"
    }
}
