//! Rich replies over HTTP (`POST .../send`): quick replies and templates go out on each
//! channel as the strict fake Graph API takes them; what is over a channel's limit is refused
//! with a stable code before anything is stored or queued; a tap comes back as the
//! customer's message with its payload.

use crate::common::oauth::with_both_channels;
use crate::common::*;
use inbox_shared::fixtures;
use serde_json::{Value, json};

const ORG: &str = "org_a";

/// Sends `body` on `conversation`, runs the job, and returns Meta's `message` and the
/// message as the inbox shows it.
async fn sent(app: &TestApp, conversation: &str, body: Value) -> (Value, Value) {
    let (status, accepted) = app.post(ORG, &format!("/api/inbox/conversations/{conversation}/send"), body).await;
    assert_eq!(status, 202, "{accepted}");
    app.run_jobs().await;
    let call = app.graph.calls().into_iter().rfind(|c| c.path.ends_with("/messages")).expect("a send");
    let messages = app.messages(ORG, conversation).await;
    let message = messages.into_iter().find(|m| m["id"] == accepted["messageId"]).unwrap();
    assert_eq!(message["status"], "SENT", "{message}");
    (call.body["message"].clone(), message)
}

fn choice(title: &str) -> Value {
    json!({"type": "TEXT", "title": title, "payload": format!("PICK_{title}")})
}

fn card(title: &str, buttons: usize) -> Value {
    let button = json!({"type": "POSTBACK", "title": "Buy", "payload": "BUY"});
    json!({"title": title, "subtitle": "In stock", "imageUrl": "https://cdn.example.com/s.jpg",
           "defaultUrl": "https://shop.example/s", "buttons": vec![button; buttons]})
}

#[tokio::test]
async fn choices_and_cards_go_out_on_each_channel_as_meta_takes_them() {
    let (app, instagram, messenger) = with_both_channels(ORG).await;
    let body = json!({"text": "Which colour?", "quickReplies": [choice("Red"), {"type": "USER_EMAIL"}]});
    let (meta, shown) = sent(&app, &instagram, body).await;
    assert_eq!(
        meta,
        json!({"text": "Which colour?", "quick_replies": [
            {"content_type": "text", "title": "Red", "payload": "PICK_Red"}, {"content_type": "user_email"}]})
    );
    assert_eq!(shown["text"], "Which colour?");
    assert_eq!(shown["metaJson"]["quickReplies"][1]["type"], "USER_EMAIL");

    let carousel = json!({"template": {"type": "GENERIC", "elements": [card("Sandals", 3), card("Boots", 1)]}});
    let (meta, shown) = sent(&app, &instagram, carousel).await;
    let payload = &meta["attachment"]["payload"];
    assert_eq!(
        (payload["template_type"].as_str(), payload["elements"].as_array().unwrap().len()),
        (Some("generic"), 2)
    );
    assert_eq!(payload["elements"][0]["default_action"], json!({"type": "web_url", "url": "https://shop.example/s"}));
    assert_eq!(payload["elements"][0]["buttons"][2], json!({"type": "postback", "title": "Buy", "payload": "BUY"}));
    assert_eq!((shown["text"].as_str(), &shown["attachments"][0]), (Some("Sandals"), &meta["attachment"]));

    let buttons = json!({"template": {"type": "BUTTON", "text": "What next?", "buttons": [
        {"type": "WEB_URL", "title": "Track order", "url": "https://shop.example/track"}]}});
    let (meta, _) = sent(&app, &messenger, buttons).await;
    assert_eq!(meta["attachment"]["payload"]["buttons"][0]["type"], "web_url");
    let icon = json!({"type": "TEXT", "title": "Red", "payload": "R", "imageUrl": "https://cdn.example.com/red.png"});
    let (meta, _) = sent(&app, &messenger, json!({"text": "Colour?", "quickReplies": [icon]})).await;
    assert_eq!(meta["quick_replies"][0]["image_url"], "https://cdn.example.com/red.png");
    let (status, _) =
        app.post("org_b", &format!("/api/inbox/conversations/{instagram}/send"), json!({"text": "x"})).await;
    assert_eq!(status, 404, "another organization's conversation");
}

#[tokio::test]
async fn what_a_channel_refuses_is_refused_before_anything_is_queued() {
    let (app, instagram, messenger) = with_both_channels(ORG).await;
    let before = (app.messages(ORG, &instagram).await.len(), app.messages(ORG, &messenger).await.len());
    let icon = json!({"type": "TEXT", "title": "Red", "payload": "R", "imageUrl": "https://cdn.example.com/r.png"});
    let template = |t: Value| json!({ "template": t });
    let cases = [
        (&instagram, json!({"text": "?", "quickReplies": vec![choice("Yes"); 14]}), "LIMIT_EXCEEDED"),
        (&instagram, json!({"text": "?", "quickReplies": [choice(&"x".repeat(21))]}), "LIMIT_EXCEEDED"),
        (&instagram, json!({"text": "?", "quickReplies": [icon]}), "NOT_SUPPORTED_ON_CHANNEL"),
        (&instagram, json!({"text": "?", "quickReplies": []}), "VALIDATION_ERROR"),
        (&instagram, json!({"quickReplies": [choice("Yes")]}), "VALIDATION_ERROR"),
        (&instagram, json!({"text": "é".repeat(501)}), "VALIDATION_ERROR"),
        (&messenger, json!({"text": "x".repeat(2001)}), "VALIDATION_ERROR"),
        (&instagram, template(json!({"type": "GENERIC", "elements": vec![card("A", 1); 11]})), "LIMIT_EXCEEDED"),
        (&messenger, template(json!({"type": "GENERIC", "elements": [card("A", 4)]})), "LIMIT_EXCEEDED"),
        (&messenger, template(json!({"type": "GENERIC", "elements": [card(&"t".repeat(81), 1)]})), "LIMIT_EXCEEDED"),
        (&messenger, template(json!({"type": "BUTTON", "text": "t", "buttons": [choice("x")]})), "VALIDATION_ERROR"),
        (
            &messenger,
            template(
                json!({"type": "BUTTON", "text": "t", "buttons": [{"type": "WEB_URL", "title": "Go", "url": "ftp://x"}]}),
            ),
            "VALIDATION_ERROR",
        ),
        (
            &instagram,
            json!({"text": "hi", "template": {"type": "GENERIC", "elements": [card("A", 0)]}}),
            "VALIDATION_ERROR",
        ),
        (&instagram, template(json!({"type": "RECEIPT"})), "VALIDATION_ERROR"),
    ];
    for (conversation, body, code) in cases {
        let (status, answer) =
            app.post(ORG, &format!("/api/inbox/conversations/{conversation}/send"), body.clone()).await;
        assert_eq!((status, error_code(&answer)), (400, code), "{body}: {answer}");
    }
    let long_button = json!({"type": "BUTTON", "text": "t".repeat(641),
                             "buttons": [{"type": "POSTBACK", "title": "Go", "payload": "GO"}]});
    let (status, answer) =
        app.post(ORG, &format!("/api/inbox/conversations/{messenger}/send"), template(long_button)).await;
    assert_eq!((status, error_code(&answer)), (400, "LIMIT_EXCEEDED"), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("640"), "the limit is named: {answer}");
    let after = (app.messages(ORG, &instagram).await.len(), app.messages(ORG, &messenger).await.len());
    assert_eq!(after, before, "nothing stored");
    assert!(app.run_jobs().await.is_empty(), "nothing queued");
    assert!(app.graph.calls().is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_tap_comes_back_as_the_customer_s_message_with_its_payload() {
    let (app, instagram, _) = with_both_channels(ORG).await;
    let mut tap: Value = serde_json::from_str(&fixtures::webhook("text.json")).unwrap();
    let message = &mut tap["entry"][0]["messaging"][0]["message"];
    *message = json!({"mid": "aWdfZAG1fdGFwXzE", "text": "Red",
                      "quick_reply": {"payload": "PICK_Red"}});
    assert_eq!(app.deliver(&tap.to_string()).await.status(), 200);
    let mut postback: Value = serde_json::from_str(&fixtures::webhook("text.json")).unwrap();
    let event = postback["entry"][0]["messaging"][0].as_object_mut().unwrap();
    event.remove("message");
    event.insert("postback".into(), json!({"mid": "aWdfZAG1fcG9zdGJhY2tfMQ", "title": "Buy", "payload": "BUY"}));
    assert_eq!(app.deliver(&postback.to_string()).await.status(), 200);
    let messages = app.messages(ORG, &instagram).await;
    let by_mid = |mid: &str| messages.iter().find(|m| m["externalMessageId"] == mid).unwrap().clone();
    let chosen = by_mid("aWdfZAG1fdGFwXzE");
    assert_eq!((chosen["direction"].as_str(), chosen["text"].as_str()), (Some("INBOUND"), Some("Red")));
    assert_eq!(chosen["metaJson"]["quickReply"]["payload"], "PICK_Red");
    assert_eq!(by_mid("aWdfZAG1fcG9zdGJhY2tfMQ")["metaJson"]["postback"]["payload"], "BUY");
}
