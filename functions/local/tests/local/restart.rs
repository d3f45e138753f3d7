//! The local server keeps its data: connect an account through the fake Graph API, receive
//! DMs, queue a reply, kill -9 the server while Meta holds the send, start it again on the
//! same data directory: the account, the conversation and its messages are there, and the
//! reply reaches the customer once (confirmed by Meta's echo, never sent a second time).

use std::time::Duration;

use serde_json::{Value, json};

use super::server::*;
use inbox_shared::testing::fake_graph::FakeGraph;

/// Meta's echo of our send, as it delivers it to whichever server listens then.
fn echo(text: &str) -> String {
    let at = chrono::Utc::now().timestamp_millis();
    json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": at, "messaging": [
        {"sender": {"id": IG_ACCOUNT}, "recipient": {"id": CUSTOMER}, "timestamp": at,
         "message": {"mid": "m_echo_restart", "text": text, "is_echo": true}}]}]})
    .to_string()
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
