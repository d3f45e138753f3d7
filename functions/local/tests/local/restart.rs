//! The local server keeps its data: connect an account through the fake Graph API, receive
//! DMs, queue a reply, kill -9 the server while Meta holds the send, start it again on the
//! same data directory: the account, the conversation and its messages are there, and the
//! reply reaches the customer once (confirmed by Meta's echo, never sent a second time).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use inbox_shared::config::DEVELOPMENT_JWT_SECRET;
use inbox_shared::meta::signature;
use inbox_shared::testing::fake_graph::FakeGraph;
use serde_json::{Value, json};

const ORG: &str = "org_restart";
const APP_SECRET: &str = "restart-app-secret";
const IG_ACCOUNT: &str = "17841400000000001"; // me_accounts.json
const CUSTOMER: &str = "6185000000000001";

struct Server {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl Server {
    /// `inbox-local` on `port`, its data in `dir`, Meta at `graph`; ready when it answers.
    async fn start(dir: &Path, port: u16, graph: &FakeGraph) -> Server {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_inbox-local"))
            .env_clear()
            .envs([
                ("APP_ENV", "development"),
                ("PORT", &port.to_string()),
                ("DATA_DIR", &dir.join("data").display().to_string()),
                ("META_APP_ID", "1234567890"),
                ("META_OAUTH_REDIRECT_URL", "https://inbox.example.com/api/integrations/meta/oauth/callback"),
                ("META_APP_SECRET", APP_SECRET),
                // A dead worker's claim on a send expires after 3 s instead of 5 minutes.
                ("JOB_LEASE_SECS", "3"),
                ("GRAPH_TIMEOUT_MS", "2000"),
                ("RUST_LOG", "info"),
            ])
            .envs(graph.env())
            .current_dir(dir) // no .env
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let server = Server { child, url: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() };
        let started = Instant::now();
        while server.client.get(format!("{}/health", server.url)).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "inbox-local did not start: {}", log_of(dir));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        self.child.wait().unwrap();
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.client.get(format!("{}{path}", self.url)).bearer_auth(token()).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Meta delivers `body` (and knows what it names from then on).
    async fn webhook(&self, graph: &FakeGraph, body: &Value) {
        let body = body.to_string();
        graph.learn_webhook(&body);
        let r = self
            .client
            .post(format!("{}/api/webhooks/instagram", self.url))
            .header("x-hub-signature-256", signature::sign(APP_SECRET, body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        let page = self.get(&format!("/api/inbox/conversations/{conversation}/messages?limit=100")).await;
        page["data"].as_array().unwrap().clone()
    }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

fn token() -> String {
    inbox_shared::http::mint_jwt(DEVELOPMENT_JWT_SECRET, "org_id", ORG, chrono::Utc::now().timestamp() + 3600)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn dm(mid: &str, text: &str, at_ms: i64) -> Value {
    json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": at_ms, "messaging": [
        {"sender": {"id": CUSTOMER}, "recipient": {"id": IG_ACCOUNT}, "timestamp": at_ms,
         "message": {"mid": mid, "text": text}}]}]})
}

/// Meta's echo of our send, as it delivers it to whichever server listens then.
fn echo(text: &str) -> String {
    let at = chrono::Utc::now().timestamp_millis();
    json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": at, "messaging": [
        {"sender": {"id": IG_ACCOUNT}, "recipient": {"id": CUSTOMER}, "timestamp": at,
         "message": {"mid": "m_echo_restart", "text": text, "is_echo": true}}]}]})
    .to_string()
}

async fn connect(server: &Server) {
    let start = server.get("/api/integrations/meta/oauth/start").await;
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let callback = format!("{}/api/integrations/meta/oauth/callback", server.url);
    let r = server.client.get(callback).query(&[("code", "meta-code"), ("state", &state)]).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sends(graph: &FakeGraph) -> usize {
    graph.calls().iter().filter(|c| c.path.ends_with("/messages")).count()
}

#[tokio::test]
async fn a_killed_server_restarts_with_its_data_and_sends_a_queued_reply_once() {
    let dir = std::env::temp_dir().join(inbox_shared::domain::new_id("inbox-local-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let (graph, port) = (FakeGraph::start().await, free_port());
    let first = Server::start(&dir, port, &graph).await;
    connect(&first).await;
    let now = chrono::Utc::now().timestamp_millis();
    for (i, text) in ["Hi", "Is the blue one in stock?", "Size M"].iter().enumerate() {
        first.webhook(&graph, &dm(&format!("m_restart_{i}"), text, now + i as i64)).await;
    }
    let conversation = first.get("/api/inbox/conversations").await["data"][0]["id"].as_str().unwrap().to_owned();
    // Meta takes the send but answers late, and echoes it 2.5 s after it arrived.
    let echo_to = format!("{}/api/webhooks/instagram", first.url);
    let reply = "Yes, size M is in stock";
    *graph.state.echo_after.lock().unwrap() =
        Some((echo_to, echo(reply), APP_SECRET.to_owned(), Duration::from_millis(2500)));
    *graph.state.answer_delay.lock().unwrap() = Some(Duration::from_secs(3600));
    let path = format!("{}/api/inbox/conversations/{conversation}/send-text", first.url);
    let r = first.client.post(path).bearer_auth(token()).json(&json!({ "text": reply })).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let (job_id, message_id) = (accepted["jobId"].as_str().unwrap(), accepted["messageId"].as_str().unwrap());
    wait_for("the send to reach Meta", async || (sends(&graph) == 1).then_some(())).await;
    first.kill_9();
    *graph.state.answer_delay.lock().unwrap() = None;

    let second = Server::start(&dir, port, &graph).await;
    let accounts = second.get("/api/integrations/connected-accounts").await;
    assert_eq!(accounts["data"][0]["externalAccountId"], IG_ACCOUNT, "{accounts}");
    let job = wait_for("the reply to be confirmed", async || {
        let job = second.get(&format!("/api/integrations/jobs/{job_id}")).await;
        (job["status"] != "PENDING" && job["status"] != "PROCESSING").then_some(job)
    })
    .await;
    assert_eq!((job["status"].as_str(), job["attempts"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{job}");
    assert_eq!(sends(&graph), 1, "the customer got the reply once");
    let messages = second.messages(&conversation).await;
    let sent: Vec<&Value> = messages.iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(sent.len(), 1, "the echo folded into the reply: {sent:?}");
    assert_eq!((sent[0]["id"].as_str(), sent[0]["status"].as_str()), (Some(message_id), Some("SENT")));
    assert_eq!(sent[0]["externalMessageId"], "m_echo_restart");
    assert_eq!(messages.len() - sent.len(), 3, "every DM kept");
    second.kill_9();
    let log = log_of(&dir);
    assert!(log.contains("inbox-local listening") && !log.contains('\u{1b}'), "plain text in a file: {log}");
    let _ = std::fs::remove_dir_all(&dir);
}
