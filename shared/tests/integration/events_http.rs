//! The inbox's events: published once the change is stored, once per change (a redelivered
//! webhook adds nothing), each organization's only to it, live over Server-Sent Events with
//! positions to resume from.

use std::time::Duration as StdDuration;

use inbox_shared::config::AppEnv;
use inbox_shared::services::inbox::StreamCursor;
use serde_json::{Value, json};

use crate::common::{IG_ACCOUNT, TestApp, text_webhook};

/// One Server-Sent Event: its id (a log position), its type, its JSON.
#[derive(Debug, Clone)]
struct Sse {
    id: String,
    kind: String,
    data: Value,
}

/// An open stream of `org`'s events.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, org: &str, last_event_id: Option<&str>) -> Stream {
        let mut request = app.client.get(format!("{}/api/inbox/events", app.url)).bearer_auth(TestApp::token(org));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream { response, buffer: String::new() }
    }

    /// The events that arrive within `wait` (keep-alive comments skipped).
    async fn read_for(&mut self, wait: StdDuration) -> Vec<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, self.response.chunk()).await {
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_owned())).unwrap_or_default()
            };
            if !field("data:").is_empty() {
                let data = serde_json::from_str(&field("data:")).unwrap();
                events.push(Sse { id: field("id:"), kind: field("event:"), data });
            }
        }
        events
    }
}

#[tokio::test]
async fn a_stored_dm_is_streamed_once_to_its_organization_only() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    app.connect_account("org_a", "acc_a", IG_ACCOUNT, "page-token-a").await;
    let mut ours = Stream::open(&app, "org_a", None).await;
    let mut theirs = Stream::open(&app, "org_b", None).await;
    let now = app.clock_now().timestamp_millis();
    let body = text_webhook(IG_ACCOUNT, "6185000000000001", "m_live_1", "is it in stock?", now);
    assert_eq!(app.deliver(&body).await.status(), 200);
    assert_eq!(app.deliver(&body).await.status(), 200, "Meta redelivers it");
    let got = ours.read_for(StdDuration::from_millis(1500)).await;
    let kinds: Vec<&str> = got.iter().map(|e| e.kind.as_str()).collect();
    // From the oldest kept: the account's connect, then the DM and the conversation it made.
    assert_eq!(kinds, ["account.status_changed", "message.created", "conversation.updated"], "once each: {got:?}");
    let got = &got[1..];
    let created = &got[0].data;
    assert_eq!((created["organizationId"].as_str(), created["provider"].as_str()), (Some("org_a"), Some("INSTAGRAM")));
    assert_eq!((created["direction"].as_str(), created["schemaVersion"].as_u64()), (Some("INBOUND"), Some(1)));
    assert_eq!(created["data"]["externalMessageId"], "m_live_1");
    assert_eq!(got[1].data["data"]["unreadCount"], 1);
    assert!(created["id"].as_str().unwrap().starts_with("evt_") && !got[0].id.is_empty());
    assert!(theirs.read_for(StdDuration::from_millis(200)).await.is_empty(), "another organization sees nothing");

    // An agent reads it, replies; the reply is queued, then sent.
    let conv = created["conversationId"].as_str().unwrap().to_owned();
    assert_eq!(app.post("org_a", &format!("/api/inbox/conversations/{conv}/read"), json!({})).await.0, 200);
    let (status, _) =
        app.post("org_a", &format!("/api/inbox/conversations/{conv}/send-text"), json!({"text": "yes!"})).await;
    assert_eq!(status, 202);
    app.run_jobs().await;
    let got = ours.read_for(StdDuration::from_millis(1500)).await;
    let seen: Vec<(&str, &str)> =
        got.iter().map(|e| (e.kind.as_str(), e.data["data"]["status"].as_str().unwrap_or("-"))).collect();
    // Read; the reply queued; the customer's profile found (the job the first message queued);
    // the reply sent, and the conversation it changed.
    let expected = [
        ("conversation.updated", "-"),
        ("message.created", "QUEUED"),
        ("conversation.updated", "-"),
        ("message.updated", "SENT"),
        ("conversation.updated", "-"),
    ];
    assert_eq!(seen, expected, "{got:?}");
    assert_eq!(got[0].data["data"]["unreadCount"], 0);
    assert_eq!(got[2].data["data"]["displayName"], "Ana Silva");
    assert_eq!(got[4].data["data"]["lastMessageDirection"], "OUTBOUND");

    // A disconnect tells whoever watches the account.
    assert_eq!(app.delete("org_a", "/api/integrations/connected-accounts/acc_a").await.0, 200);
    let got = ours.read_for(StdDuration::from_millis(1500)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].kind.as_str(), got[0].data["data"]["status"].as_str()),
        ("account.status_changed", Some("DISCONNECTED"))
    );
}

#[tokio::test]
async fn a_client_resumes_after_its_last_event_id_and_sees_each_event_once_by_id() {
    resumes(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn a_client_resumes_on_dynamodb() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    resumes(app).await;
}

async fn resumes(app: TestApp) {
    app.connect_account("org_a", "acc_a", IG_ACCOUNT, "page-token-a").await;
    let now = app.clock_now().timestamp_millis();
    let first = text_webhook(IG_ACCOUNT, "6185000000000001", "m_1", "one", now);
    assert_eq!(app.deliver(&first).await.status(), 200);
    let mut stream = Stream::open(&app, "org_a", None).await;
    let before = stream.read_for(StdDuration::from_millis(1000)).await;
    let kinds: Vec<&str> = before.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.len(), 3, "the connect, the message, its conversation: {before:?}");
    drop(stream);
    // Disconnected, the client misses a message; it reconnects with the last id it saw.
    let second = text_webhook(IG_ACCOUNT, "6185000000000002", "m_2", "two", now + 1000);
    assert_eq!(app.deliver(&second).await.status(), 200);
    let mut resumed = Stream::open(&app, "org_a", Some(&before[2].id)).await;
    let after = resumed.read_for(StdDuration::from_millis(1000)).await;
    let mut ids: Vec<&str> = after.iter().map(|e| e.data["id"].as_str().unwrap()).collect();
    let new: Vec<&Sse> = after.iter().filter(|e| before.iter().all(|b| b.data["id"] != e.data["id"])).collect();
    assert_eq!(new.len(), 2, "the missed message and its conversation: {after:?}");
    assert_eq!(new[0].data["data"]["externalMessageId"], "m_2");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), after.len(), "no event twice in one stream");

    // The reader itself: a cursor past everything reads nothing new; another org's, nothing.
    let mut cursor = StreamCursor::resume(Some(&after.last().unwrap().id));
    let again = app.services.inbox.next_events("org_a", &mut cursor).await.unwrap();
    assert!(again.len() <= before.len() + new.len(), "at most the look-back's repeats: {again:?}");
    assert!(app.services.inbox.next_events("org_a", &mut cursor).await.unwrap().is_empty());
    let mut other = StreamCursor::resume(None);
    assert!(app.services.inbox.next_events("org_b", &mut other).await.unwrap().is_empty());
}

#[tokio::test]
async fn behind_a_buffering_host_the_stream_answers_with_what_it_has_and_the_client_comes_back() {
    let app = TestApp::with(AppEnv::Production, &[("EVENT_STREAM_BUFFERED", "true")]).await;
    app.connect_account("org_a", "acc_a", IG_ACCOUNT, "page-token-a").await;
    let now = app.clock_now().timestamp_millis();
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, "6185000000000001", "m_b", "hi", now)).await.status(), 200);
    let r = app.client.get(format!("{}/api/inbox/events", app.url)).bearer_auth(TestApp::token("org_a"));
    // The whole answer arrives (it ends), as API Gateway needs it.
    let body = tokio::time::timeout(StdDuration::from_secs(5), async { r.send().await.unwrap().text().await.unwrap() })
        .await
        .expect("the answer ends once it told something");
    assert_eq!(body.matches("event: message.created").count(), 1, "{body}");
    assert_eq!(body.matches("event: conversation.updated").count(), 1, "{body}");
    assert!(body.contains("retry: 500"), "the client reconnects at once: {body}");
}

#[tokio::test]
async fn the_development_server_serves_its_inbox_page_and_production_does_not() {
    let dev = TestApp::dev().await;
    let page = dev.client.get(format!("{}/", dev.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    for needed in [r#"<label for="token">"#, r#"<label for="reply-text">"#, r#"src="/dev/inbox.js""#] {
        assert!(html.contains(needed), "{needed}");
    }
    let script = dev.client.get(format!("{}/dev/inbox.js", dev.url)).send().await.unwrap().text().await.unwrap();
    assert!(script.contains("/api/inbox/events") && script.contains("last-event-id"), "live, resuming");
    let prod = TestApp::with(AppEnv::Production, &[]).await;
    assert_eq!(prod.client.get(format!("{}/", prod.url)).send().await.unwrap().status(), 404);
}
