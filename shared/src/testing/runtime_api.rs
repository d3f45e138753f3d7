//! A fake Lambda Runtime API: serves events to a function binary started as a process with
//! `AWS_LAMBDA_RUNTIME_API` pointing here, and records what it answers. This is how the
//! functions are tested without `sam local` (which needs Docker).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::Notify;

/// What the function did with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Response(Value),
    Error(Value),
}

impl Invocation {
    pub fn response(&self) -> &Value {
        match self {
            Invocation::Response(v) => v,
            Invocation::Error(e) => panic!("the function failed: {e}"),
        }
    }
}

#[derive(Default)]
struct Runtime {
    pending: Mutex<VecDeque<(String, Value)>>,
    done: Mutex<HashMap<String, Invocation>>,
    init_error: Mutex<Option<Value>>,
    changed: Notify,
    /// When the function first asked for an event: its cold start done.
    first_poll: Mutex<Option<std::time::Instant>>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    rt.first_poll.lock().unwrap().get_or_insert_with(std::time::Instant::now);
    loop {
        let notified = rt.changed.notified();
        if let Some((id, event)) = rt.pending.lock().unwrap().pop_front() {
            let mut headers = HeaderMap::new();
            let deadline = (chrono::Utc::now() + chrono::Duration::seconds(30)).timestamp_millis();
            headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&id).unwrap());
            headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:test"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793"),
            );
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        // Long poll, as the real Runtime API does between invocations.
        notified.await;
    }
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(State(rt): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    rt.done.lock().unwrap().insert(id, Invocation::Response(parse(&body)));
    rt.changed.notify_waiters();
    StatusCode::ACCEPTED
}

async fn fail(State(rt): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    rt.done.lock().unwrap().insert(id, Invocation::Error(parse(&body)));
    rt.changed.notify_waiters();
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Arc<Runtime>>, body: Bytes) -> StatusCode {
    *rt.init_error.lock().unwrap() = Some(parse(&body));
    rt.changed.notify_waiters();
    StatusCode::ACCEPTED
}

/// What a run of a function gave: its answer to each event, in order, and what it logged.
pub struct Run {
    pub invocations: Vec<Invocation>,
    pub logs: String,
}

/// Starts `binary` against a fake Runtime API, hands it `events` one at a time, and returns
/// what it answered to each. The process gets `env` on top of the test's own environment
/// and the Lambda variables; it is killed at the end.
pub async fn invoke(binary: impl AsRef<Path>, env: &[(String, String)], events: &[Value]) -> Run {
    invoke_timed(binary, env, events).await.run
}

/// A run, and how long its cold start took: from the process's start to its first poll of
/// the Runtime API, and to its last answer; its peak resident memory (Linux), in KiB.
pub struct Timed {
    pub run: Run,
    pub first_poll: Duration,
    pub answered: Duration,
    pub peak_rss_kib: Option<u64>,
}

/// `VmHWM` of a process: the most memory it held resident.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `invoke`, timed.
pub async fn invoke_timed(binary: impl AsRef<Path>, env: &[(String, String)], events: &[Value]) -> Timed {
    let rt = Arc::new(Runtime::default());
    let ids: Vec<String> = (0..events.len()).map(|i| format!("req-{i}-{}", uuid::Uuid::now_v7().simple())).collect();
    rt.pending.lock().unwrap().extend(ids.iter().cloned().zip(events.iter().cloned()));
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut cmd = lambda_process(binary.as_ref(), &addr.to_string(), env);
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().expect("function binary starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let logs = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out).await;
        out
    });
    let all_done = async {
        loop {
            let notified = rt.changed.notified();
            if let Some(e) = rt.init_error.lock().unwrap().clone() {
                panic!("the function failed to start: {e}");
            }
            if rt.done.lock().unwrap().len() == ids.len() {
                return;
            }
            notified.await;
        }
    };
    let exited = async {
        let status = child.wait().await;
        panic!("the function exited before answering every event: {status:?}");
    };
    tokio::select! {
        _ = all_done => {}
        _ = exited => {}
        _ = tokio::time::sleep(Duration::from_secs(60)) => panic!("the function did not answer within 60 s"),
    }
    let answered = started.elapsed();
    let peak_rss_kib = child.id().and_then(peak_rss_kib);
    let _ = child.kill().await;
    server.abort();
    let logs = logs.await.unwrap_or_default();
    let done = rt.done.lock().unwrap();
    let run = Run { invocations: ids.iter().map(|id| done[id].clone()).collect(), logs };
    let first_poll = rt.first_poll.lock().unwrap().map_or(answered, |at| at.duration_since(started));
    Timed { run, first_poll, answered, peak_rss_kib }
}

/// The function's process as Lambda starts it: the Runtime API address and the Lambda
/// variables, on top of the test's environment and `env`.
fn lambda_process(binary: &Path, runtime_api: &str, env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "test-function")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test-stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test-group")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl Run {
    /// The Embedded Metric Format lines the function printed (CloudWatch's metrics).
    pub fn metric_lines(&self) -> Vec<Value> {
        let lines = self.logs.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok());
        lines.filter(|l| l.get("_aws").is_some()).collect()
    }

    /// The sum of `metric` over every line whose dimensions include `dims`.
    pub fn metric_sum(&self, metric: &str, dims: &[(&str, &str)]) -> f64 {
        let lines = self.metric_lines().into_iter();
        let matching = lines.filter(|l| dims.iter().all(|(k, v)| l[*k] == *v));
        matching.filter_map(|l| l[metric].as_f64()).sum()
    }
}

/// An event from `events/` of the checkout.
pub fn event(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("event {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// An API Gateway answer's status and body (as JSON when it is JSON).
pub fn http_answer(invocation: &Invocation) -> (u16, Value) {
    let r = invocation.response();
    let status = r["statusCode"].as_u64().expect("statusCode") as u16;
    let body = r["body"].as_str().unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned())))
}
