//! Changes that arrive before their message, unsent messages and redelivered postbacks, over
//! HTTP on the embedded store (the store methods behind them pass the conformance suite on
//! DynamoDB too).

use crate::common::*;
use inbox_shared::fixtures;
use serde_json::{Value, json};

fn text(mid: &str, ts: i64, text: &str) -> String {
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":ts,"messaging":[{"sender":{"id":CUSTOMER},
        "recipient":{"id":IG_ACCOUNT},"timestamp":ts,"message":{"mid":mid,"text":text}}]}]})
    .to_string()
}

fn change(ts: i64, event: Value) -> String {
    let mut item = json!({"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":ts});
    item.as_object_mut().unwrap().extend(event.as_object().unwrap().clone());
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":ts,"messaging":[item]}]}).to_string()
}

async fn only_conversation(app: &TestApp) -> (Value, Vec<Value>) {
    let conversations = app.conversations("org_a").await;
    assert_eq!(conversations.len(), 1);
    let c = conversations[0].clone();
    let messages = app.messages("org_a", c["id"].as_str().unwrap()).await;
    (c, messages)
}

#[tokio::test]
async fn a_reaction_and_a_read_receipt_before_their_message_apply_when_it_arrives() {
    let app = TestApp::dev().await;
    for f in ["reaction_react.json", "read.json"] {
        assert_eq!(app.deliver(&fixtures::webhook(f)).await.status(), 200, "{f}");
    }
    assert!(app.conversations("org_a").await.is_empty(), "a change alone opens no conversation");
    app.deliver(&fixtures::webhook("echo.json")).await;
    // Redelivered changes after the message: applied once, in effect.
    app.deliver(&fixtures::webhook("reaction_react.json")).await;
    let (_, messages) = only_conversation(&app).await;
    assert_eq!(messages.len(), 1);
    let ours = &messages[0];
    assert_eq!(ours["metaJson"]["reactions"][CUSTOMER]["emoji"], "❤️", "{ours}");
    assert_eq!(ours["metaJson"]["reactions"].as_object().unwrap().len(), 1);
    assert_eq!(ours["status"], "READ");
    assert!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().is_empty(), "nothing left waiting raw");
    assert!(
        app.store.pending_changes("org_a", "aWdfZAG1fZWNobw").await.unwrap().is_empty(),
        "waiting changes forgotten"
    );
}

#[tokio::test]
async fn a_message_unsent_before_it_arrives_arrives_unsent_and_stays_so() {
    let app = TestApp::dev().await;
    let ts = 1_732_460_000_123i64;
    app.deliver(&change(ts + 50, json!({"message":{"mid":"m-gone","is_deleted":true}}))).await;
    assert_eq!(app.deliver(&text("m-gone", ts, "my phone number is 555")).await.status(), 200);
    app.deliver(&text("m-gone", ts, "my phone number is 555")).await; // a late redelivery
    let (c, messages) = only_conversation(&app).await;
    assert_eq!(messages.len(), 1);
    assert_eq!((messages[0]["status"].as_str(), messages[0]["text"].as_str()), (Some("DELETED"), None));
    assert!(
        !c.to_string().contains("phone number") && !messages[0].to_string().contains("phone number"),
        "{c} {messages:?}"
    );
    assert_eq!(c["previewText"], "[message unsent]");
}

#[tokio::test]
async fn an_unsent_message_leaves_no_trace_and_the_preview_falls_back() {
    let app = TestApp::dev().await;
    let ts = 1_732_460_000_123i64;
    app.deliver(&text("m-1", ts, "hello there")).await;
    app.deliver(&text("m-2", ts + 10, "secret draft")).await;
    app.deliver(&change(ts + 20, json!({"message_edit":{"mid":"m-2","text":"secret, edited","num_edit":1}}))).await;
    app.deliver(&change(ts + 30, json!({"message":{"mid":"m-2","is_deleted":true}}))).await;
    // Meta redelivers the original and the edit late: neither brings the content back.
    app.deliver(&text("m-2", ts + 10, "secret draft")).await;
    app.deliver(&change(ts + 20, json!({"message_edit":{"mid":"m-2","text":"secret, edited","num_edit":1}}))).await;
    let (c, messages) = only_conversation(&app).await;
    assert_eq!(c["previewText"], "hello there", "the newest visible message takes the preview");
    let unsent = messages.iter().find(|m| m["externalMessageId"] == "m-2").unwrap();
    assert_eq!(unsent["status"], "DELETED");
    assert!(unsent["metaJson"].get("previousText").is_none(), "{unsent}");
    assert!(!c.to_string().contains("secret") && !unsent.to_string().contains("secret"), "{c} {unsent}");
    assert_eq!(c["unreadCount"], 2, "counted once each");
}

#[tokio::test]
async fn a_postback_without_a_mid_redelivered_is_stored_once() {
    let app = TestApp::dev().await;
    let ts = 1_732_460_000_123i64;
    let body = change(ts, json!({"postback": {"title": "Track my order", "payload": "TRACK"}}));
    for _ in 0..3 {
        assert_eq!(app.deliver(&body).await.status(), 200);
    }
    // Another tap of the same button later is another message.
    app.deliver(&change(ts + 60_000, json!({"postback": {"title": "Track my order", "payload": "TRACK"}}))).await;
    let (c, messages) = only_conversation(&app).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(c["unreadCount"], 2);
}

#[tokio::test]
async fn an_edit_of_the_newest_message_reaches_the_inbox_list_and_an_older_one_does_not() {
    let app = TestApp::dev().await;
    let ts = 1_732_460_000_123i64;
    app.deliver(&text("m-old", ts, "Do you ship to Lisbon?")).await;
    app.deliver(&text("m-new", ts + 10, "And to Porto?")).await;
    app.deliver(&change(ts + 20, json!({"message_edit":{"mid":"m-new","text":"And to Faro?","num_edit":1}}))).await;
    let (c, _) = only_conversation(&app).await;
    assert_eq!(c["previewText"], "And to Faro?");
    // An edit of an older message changes that message only.
    app.deliver(&change(ts + 30, json!({"message_edit":{"mid":"m-old","text":"Do you ship to Madrid?","num_edit":1}})))
        .await;
    let (c, messages) = only_conversation(&app).await;
    assert_eq!(c["previewText"], "And to Faro?");
    assert_eq!(messages[1]["text"], "Do you ship to Madrid?");
    // An edit that arrives before its message: the preview follows once both are in.
    app.deliver(&change(ts + 50, json!({"message_edit":{"mid":"m-late","text":"Or Braga?","num_edit":1}}))).await;
    app.deliver(&text("m-late", ts + 40, "Or Coimbra?")).await;
    let (c, _) = only_conversation(&app).await;
    assert_eq!(c["previewText"], "Or Braga?");
}
