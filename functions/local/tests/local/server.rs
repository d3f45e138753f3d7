//! The local server as a process for the tests: started on a data directory with the fake
//! Graph API as Meta, signed webhooks, the inbox API with a development token, OAuth connect.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use inbox_shared::config::DEVELOPMENT_JWT_SECRET;
use inbox_shared::meta::signature;
use inbox_shared::testing::fake_graph::FakeGraph;
use serde_json::{Value, json};

pub const ORG: &str = "org_local";
pub const APP_SECRET: &str = "restart-app-secret";
pub const IG_ACCOUNT: &str = "17841400000000001"; // me_accounts.json
pub const CUSTOMER: &str = "6185000000000001";

pub struct Server {
    child: Child,
    pub url: String,
    pub client: reqwest::Client,
}

impl Server {
    /// `inbox-local` on `port`, its data in `dir`, Meta at `graph`; ready when it answers.
    pub async fn start(dir: &Path, port: u16, graph: &FakeGraph) -> Server {
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

    pub fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        self.child.wait().unwrap();
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self.client.get(format!("{}{path}", self.url)).bearer_auth(token()).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Meta delivers `body` (and knows what it names from then on).
    pub async fn webhook(&self, graph: &FakeGraph, body: &Value) {
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

    pub async fn messages(&self, conversation: &str) -> Vec<Value> {
        let page = self.get(&format!("/api/inbox/conversations/{conversation}/messages?limit=100")).await;
        page["data"].as_array().unwrap().clone()
    }
}

pub fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

pub fn token() -> String {
    inbox_shared::http::mint_jwt(DEVELOPMENT_JWT_SECRET, "org_id", ORG, chrono::Utc::now().timestamp() + 3600)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn dm(mid: &str, text: &str, at_ms: i64) -> Value {
    json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": at_ms, "messaging": [
        {"sender": {"id": CUSTOMER}, "recipient": {"id": IG_ACCOUNT}, "timestamp": at_ms,
         "message": {"mid": mid, "text": text}}]}]})
}

pub async fn connect(server: &Server) {
    let start = server.get("/api/integrations/meta/oauth/start").await;
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let callback = format!("{}/api/integrations/meta/oauth/callback", server.url);
    let r = server.client.get(callback).query(&[("code", "meta-code"), ("state", &state)]).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

pub async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Messages sent (sender actions, such as the seen mark a read sends, are not counted).
pub fn sends(graph: &FakeGraph) -> usize {
    graph.calls().iter().filter(|c| c.path.ends_with("/messages") && c.body.get("message").is_some()).count()
}
