//! A fake Graph API for tests, as strict as Meta: every request is checked against Meta's
//! published spec and the Send API's rules (`../shared/fixtures/meta/specs/`) and about the
//! objects Meta has told the app of; what Meta would refuse is answered with Meta's error
//! and fails the test that made it (when the fake is dropped), unless the test takes the
//! refusals with `take_refusals`. What it takes is recorded and answered from a script, or
//! as Meta would.
//!
//! It listens as Meta's three hosts (graph.facebook.com, graph.instagram.com,
//! api.instagram.com), one port each: `env()` gives the variables that point a config at them.

mod answers;
mod attachment_rules;
mod greeting_rules;
mod refusal;
mod routes;
mod send_rules;
mod spec;
mod thread;
mod threads;
mod world;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub use refusal::Refusal;
pub use routes::{Endpoint, Host};
pub use spec::Params;
pub use thread::{Thread, ThreadMessage};
pub use threads::DETAILED_MESSAGES;
pub use world::{AppSubscription, LOGIN_USER, Object, TEST_APP_ID, TokenInfo, World};

use crate::meta::signature;

/// One recorded request to the fake Graph API.
#[derive(Debug, Clone)]
pub struct GraphCall {
    pub host: Host,
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    /// A JSON body; `Null` for a form or no body (its fields are in `params`).
    pub body: Value,
    /// Query, form and JSON body parameters together, as Meta reads them.
    pub params: Params,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// Status, extra headers, body.
pub type ScriptedAnswer = (u16, Vec<(String, String)>, String);

/// A webhook the fake delivers to the app: URL, body, signing secret.
pub type Webhook = (String, String, String);

#[derive(Default)]
pub struct FakeGraphState {
    pub calls: Mutex<Vec<GraphCall>>,
    /// Scripted answers, taken in order by requests Meta would take; when empty, Meta's own.
    pub script: Mutex<VecDeque<ScriptedAnswer>>,
    /// What Meta knows and keeps (objects, tokens, subscriptions).
    pub world: Mutex<World>,
    /// Requests Meta would have refused, with the refusal: each fails the test unless taken.
    pub refusals: Mutex<Vec<(String, Refusal)>>,
    /// Headers added to every answer (Meta's usage headers).
    pub usage_headers: Mutex<Vec<(String, String)>>,
    /// When set, a send first delivers this webhook to the app and waits for its answer: the
    /// echo arriving before the send call returns.
    pub echo_before_answer: Mutex<Option<Webhook>>,
    /// When set, every request is taken (a send echoed, see `echo_after`) but answered only
    /// after this long: the client may have given up by then, as on a Meta incident.
    pub answer_delay: Mutex<Option<std::time::Duration>>,
    /// Requests (by a part of their path) answered once with Meta's transient error and this
    /// status instead of their answer: an outage that hits one call.
    pub faults: Mutex<Vec<(String, u16)>>,
    /// When set, every send is echoed as Meta does: this webhook is delivered to the app this
    /// long after the send arrived, whatever the answer.
    pub echo_after: Mutex<Option<(String, String, String, std::time::Duration)>>,
}

pub struct FakeGraph {
    /// graph.facebook.com
    pub url: String,
    /// graph.instagram.com
    pub instagram_url: String,
    /// api.instagram.com
    pub instagram_api_url: String,
    pub state: Arc<FakeGraphState>,
}

impl FakeGraph {
    pub async fn start() -> Self {
        let state = Arc::new(FakeGraphState { world: Mutex::new(World::with_app(TEST_APP_ID)), ..Default::default() });
        let url = serve(state.clone(), Host::Facebook).await;
        let instagram_url = serve(state.clone(), Host::Instagram).await;
        let instagram_api_url = serve(state.clone(), Host::InstagramApi).await;
        FakeGraph { url, instagram_url, instagram_api_url, state }
    }

    /// The variables that point a configuration at this fake's three hosts.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("GRAPH_API_BASE_URL", self.url.clone()),
            ("INSTAGRAM_GRAPH_API_BASE_URL", self.instagram_url.clone()),
            ("INSTAGRAM_API_BASE_URL", self.instagram_api_url.clone()),
        ]
    }

    pub fn calls(&self) -> Vec<GraphCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Queues the next answer: status, extra headers, body.
    pub fn answer(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.state.script.lock().unwrap().push_back((status, headers, body.to_owned()));
    }

    /// What Meta knows, to set up or inspect.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.state.world.lock().unwrap()
    }

    /// Meta learns what a webhook it delivers names (the harness calls it for every webhook).
    pub fn learn_webhook(&self, body: &str) {
        learn_webhook(&self.state, body);
    }

    /// The next request whose path contains `path_part` fails with Meta's transient error
    /// (`status`, e.g. 500), once.
    pub fn fail_next(&self, path_part: &str, status: u16) {
        self.state.faults.lock().unwrap().push((path_part.to_owned(), status));
    }

    /// The refusals so far, taken: a test that expects Meta to refuse a request says so.
    pub fn take_refusals(&self) -> Vec<(String, Refusal)> {
        std::mem::take(&mut *self.state.refusals.lock().unwrap())
    }
}

impl Drop for FakeGraph {
    /// A request Meta would refuse fails the test that made it.
    fn drop(&mut self) {
        let refusals = self.take_refusals();
        if !refusals.is_empty() && !std::thread::panicking() {
            let list: Vec<String> = refusals.iter().map(|(call, r)| format!("{call}: {}", r.message)).collect();
            panic!("Meta would refuse {} request(s) this test made:\n{}", list.len(), list.join("\n"));
        }
    }
}

async fn serve(state: Arc<FakeGraphState>, host: Host) -> String {
    let app = axum::Router::new().fallback(handle).with_state((state, host));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn handle(State((state, host)): State<(Arc<FakeGraphState>, Host)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let call = GraphCall {
        host,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        params: params_of(&query, content_type, &bytes),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        query,
        authorization,
        at: std::time::Instant::now(),
    };
    state.calls.lock().unwrap().push(call.clone());
    let token = bearer(&call);
    let request =
        routes::Request { host, method: &call.method, path: &call.path, params: &call.params, token: token.as_deref() };
    let checked = routes::check(&request, &state.world.lock().unwrap());
    let endpoint = match checked {
        Ok(endpoint) => endpoint,
        Err(refusal) => {
            let named = format!("{host:?} {} {} {:?}", call.method, call.path, call.params);
            // Shown at once too: an assertion may fail the test before the fake is dropped.
            eprintln!("fake Graph API: Meta would refuse {named}: {}", refusal.message);
            state.refusals.lock().unwrap().push((named, refusal.clone()));
            return respond(refusal.status, &[], refusal.body());
        }
    };
    if let Endpoint::Graph { edge, .. } = &endpoint
        && edge.ends_with("attachments")
        && let Err(refusal) = fetch_upload(&call.params).await
    {
        let named = format!("{host:?} {} {} {:?}", call.method, call.path, call.params);
        eprintln!("fake Graph API: Meta would refuse {named}: {}", refusal.message);
        state.refusals.lock().unwrap().push((named, refusal.clone()));
        return respond(refusal.status, &[], refusal.body());
    }
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        let at = faults.iter().position(|(part, _)| call.path.contains(part.as_str()));
        at.map(|i| faults.remove(i).1)
    };
    if let Some(status) = fault {
        let body = r#"{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"Afake"}}"#;
        return respond(status, &[], body.to_owned());
    }
    if matches!(&endpoint, Endpoint::Graph { edge, .. } if edge == "messages") {
        echo_send(&state).await;
    }
    let delay = *state.answer_delay.lock().unwrap();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let scripted = state.script.lock().unwrap().pop_front();
    // What Meta does (a subscription made) happens whenever it says yes, scripted or not.
    let succeeded = scripted.as_ref().is_none_or(|(status, _, _)| (200..300).contains(status));
    let own = || answers::answer(&endpoint, &request, &mut state.world.lock().unwrap());
    let (status, mut headers, body) = match scripted {
        Some(answer) => {
            if succeeded {
                own();
            }
            answer
        }
        None => {
            let (status, body) = own();
            (status, vec![], body)
        }
    };
    if (200..300).contains(&status) {
        let exchanged = call.params.get("fb_exchange_token").map(spec::scalar);
        learn_answer(&state, &endpoint, &body, token.as_deref(), exchanged.as_deref());
    }
    headers.extend(state.usage_headers.lock().unwrap().iter().cloned());
    respond(status, &headers, body)
}

/// Meta fetches an uploaded attachment's file at once, and refuses what it cannot use.
async fn fetch_upload(params: &spec::Params) -> Result<(), Refusal> {
    let (kind, url) = attachment_rules::check_upload(params)?;
    attachment_rules::check_fetched(&kind, &attachment_rules::fetch(&url).await?)
}

/// Meta's echo of a send, before or after the answer, as a test set it.
async fn echo_send(state: &FakeGraphState) {
    let echo = state.echo_before_answer.lock().unwrap().take();
    if let Some((url, body, secret)) = echo {
        learn_webhook(state, &body);
        let r = deliver(&url, &body, &secret).await.expect("echo delivered during the send");
        assert_eq!(r.status(), 200, "echo delivered during the send");
    }
    let echo_later = state.echo_after.lock().unwrap().clone();
    if let Some((url, body, secret, after)) = echo_later {
        learn_webhook(state, &body);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = deliver(&url, &body, &secret).await;
        });
    }
}

async fn deliver(url: &str, body: &str, secret: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .post(url)
        .header("x-hub-signature-256", signature::sign(secret, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
}

fn learn_webhook(state: &FakeGraphState, body: &str) {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        state.world.lock().unwrap().learn_webhook(&json);
    }
}

/// What an answer Meta gave names becomes known (Pages, tokens, a reply's comment id).
fn learn_answer(state: &FakeGraphState, endpoint: &Endpoint, body: &str, token: Option<&str>, exchanged: Option<&str>) {
    let Ok(json) = serde_json::from_str::<Value>(body) else { return };
    let mut world = state.world.lock().unwrap();
    match endpoint {
        Endpoint::CodeExchange | Endpoint::LongLivedExchange => world.learn_user_grant(&json, exchanged),
        _ => world.learn_answer(&json, token),
    }
    if let (Endpoint::Graph { edge, .. }, Some(id)) = (endpoint, json.get("id").and_then(crate::meta::id_string))
        && edge == "replies"
    {
        world.know(&id, Object::InstagramComment);
    }
}

fn respond(status: u16, headers: &[(String, String)], body: String) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    for (k, v) in headers {
        response.headers_mut().insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    response
}

/// The token a request carries: `Authorization: Bearer`, or `access_token`.
fn bearer(call: &GraphCall) -> Option<String> {
    let header = call.authorization.as_deref().and_then(|h| h.strip_prefix("Bearer ")).map(str::to_owned);
    header.or_else(|| call.params.get("access_token").map(spec::scalar))
}

/// Query, form and JSON body parameters, as Meta reads them.
fn params_of(query: &str, content_type: &str, body: &[u8]) -> Params {
    let pairs = |s: &str| -> Vec<(String, Value)> {
        reqwest::Url::parse(&format!("http://graph/?{s}"))
            .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect())
            .unwrap_or_default()
    };
    let mut params: Params = pairs(query).into_iter().collect();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend(pairs(&String::from_utf8_lossy(body)));
    } else if let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(body) {
        params.extend(json);
    }
    params
}
