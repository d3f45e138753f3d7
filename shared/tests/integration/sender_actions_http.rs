//! Sender actions over HTTP: reactions (what each channel takes, shown on the message once
//! Meta took them, removed again), typing, and the seen mark an agent's read sends; through the
//! sends queue, a late typing or seen dropped, a reaction retried, nothing outside the window.

use crate::common::oauth::with_both_channels;
use crate::common::*;
use chrono::Duration;
use inbox_shared::services::JobOutcome;
use serde_json::{Value, json};

const ORG: &str = "org_a";

/// Meta's `sender_action` calls so far: (action, the whole body).
fn actions(app: &TestApp) -> Vec<(String, Value)> {
    let calls = app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages"));
    calls.filter_map(|c| Some((c.body["sender_action"].as_str()?.to_owned(), c.body))).collect()
}

/// The conversation's customer's newest message: (our id, Meta's id).
async fn customer_message(app: &TestApp, conversation: &str) -> (String, String) {
    let messages = app.messages(ORG, conversation).await;
    let m = messages.iter().find(|m| m["direction"] == "INBOUND").expect("an inbound message");
    (m["id"].as_str().unwrap().to_owned(), m["externalMessageId"].as_str().unwrap().to_owned())
}

async fn reactions(app: &TestApp, conversation: &str, id: &str) -> Value {
    let messages = app.messages(ORG, conversation).await;
    messages.into_iter().find(|m| m["id"] == id).unwrap()["metaJson"]["reactions"].clone()
}

#[tokio::test]
async fn a_reaction_goes_out_as_each_channel_takes_it_and_shows_on_the_message() {
    let (app, instagram, messenger) = with_both_channels(ORG).await;
    let (id, mid) = customer_message(&app, &instagram).await;
    let react = format!("/api/inbox/conversations/{instagram}/messages/{id}/react");
    let (status, body) = app.post(ORG, &react, json!({"reaction": "😂"})).await;
    assert_eq!((status, error_code(&body)), (400, "NOT_SUPPORTED_ON_CHANNEL"), "Instagram takes love only");
    let (status, body) = app.post(ORG, &react, json!({"reaction": "❤️"})).await;
    assert_eq!((status, &body), (202, &json!({"status": "QUEUED"})));
    assert_eq!(reactions(&app, &instagram, &id).await, Value::Null, "shown once Meta took it");
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    assert_eq!(
        actions(&app),
        [(
            "react".to_owned(),
            json!({"recipient": {"id": CUSTOMER}, "sender_action": "react",
                   "payload": {"message_id": mid, "reaction": "love"}})
        )]
    );
    assert_eq!(reactions(&app, &instagram, &id).await[IG_ACCOUNT]["reaction"], "love");
    let (status, _) = app.delete(ORG, &react).await;
    assert_eq!(status, 202);
    app.run_jobs().await;
    assert_eq!(actions(&app)[1].1["payload"], json!({"message_id": mid}));
    assert_eq!(reactions(&app, &instagram, &id).await, json!({}), "removed");

    let (id, _) = customer_message(&app, &messenger).await;
    let react = format!("/api/inbox/conversations/{messenger}/messages/{id}/react");
    assert_eq!(app.post(ORG, &react, json!({"reaction": "😂"})).await.0, 202);
    app.run_jobs().await;
    assert_eq!(reactions(&app, &messenger, &id).await[PAGE_ID]["emoji"], "😂");
    for (path, code) in [
        (format!("/api/inbox/conversations/{messenger}/messages/msg_nope/react"), 404),
        (format!("/api/inbox/conversations/{instagram}/messages/{id}/react"), 404), // another thread's message
    ] {
        assert_eq!(app.post(ORG, &path, json!({"reaction": "love"})).await.0, code, "{path}");
    }
    assert_eq!(app.post("org_b", &react, json!({"reaction": "😂"})).await.0, 404, "another organization");
    let (status, body) = app.post(ORG, &react, json!({"reaction": "lol"})).await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"));
}

#[tokio::test]
async fn typing_goes_out_at_once_or_not_at_all_and_never_outside_the_window() {
    let (app, instagram, _) = with_both_channels(ORG).await;
    let typing = format!("/api/inbox/conversations/{instagram}/typing");
    assert_eq!(app.post(ORG, &typing, json!({"on": true})).await.0, 202);
    app.run_jobs().await;
    assert_eq!(actions(&app).iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["typing_on"]);

    // Queued, then the worker comes to it six seconds later: it means nothing any more.
    assert_eq!(app.post(ORG, &typing, json!({"on": false})).await.0, 202);
    app.clock.advance(Duration::seconds(6));
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Skipped);
    assert_eq!(actions(&app).len(), 1, "a late typing_off is dropped");

    // Meta fails one: not retried.
    app.graph.fail_next("/messages", 500);
    assert_eq!(app.post(ORG, &typing, json!({"on": true})).await.0, 202);
    let ran = app.run_jobs().await;
    assert_eq!(ran.len(), 1, "tried once: {ran:?}");
    assert!(matches!(ran[0].1, JobOutcome::Failed(_)), "{ran:?}");

    app.clock.advance(Duration::hours(25));
    let (status, body) = app.post(ORG, &typing, json!({"on": true})).await;
    assert_eq!((status, error_code(&body)), (422, "MESSAGING_WINDOW_CLOSED"));
    assert_eq!(app.post(ORG, &typing, json!({"on": "yes"})).await.0, 400);
}

#[tokio::test]
async fn a_reaction_meta_fails_for_now_is_retried_and_sent() {
    let (app, instagram, _) = with_both_channels(ORG).await;
    let (id, _) = customer_message(&app, &instagram).await;
    app.graph.fail_next("/messages", 503);
    let react = format!("/api/inbox/conversations/{instagram}/messages/{id}/react");
    assert_eq!(app.post(ORG, &react, json!({"reaction": "love"})).await.0, 202);
    let ran: Vec<JobOutcome> = app.run_jobs().await.into_iter().map(|r| r.1).collect();
    assert!(matches!(ran[..], [JobOutcome::Retrying { .. }, JobOutcome::Succeeded]), "{ran:?}");
    assert_eq!(reactions(&app, &instagram, &id).await[IG_ACCOUNT]["reaction"], "love");
}

#[tokio::test]
async fn reading_a_conversation_sends_seen_unless_the_organization_turned_it_off() {
    let (app, instagram, messenger) = with_both_channels(ORG).await;
    assert_eq!(app.post(ORG, &format!("/api/inbox/conversations/{instagram}/read"), json!({})).await.0, 200);
    app.run_jobs().await;
    let seen = actions(&app);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, json!({"recipient": {"id": CUSTOMER}, "sender_action": "mark_seen"}));

    let settings = "/api/organizations/current/settings";
    assert_eq!(app.get(ORG, settings).await.1["markSeenOnRead"], true, "on by default");
    let (status, set) = app.put(ORG, settings, json!({"markSeenOnRead": false})).await;
    assert_eq!((status, &set["markSeenOnRead"]), (200, &json!(false)), "{set}");
    assert_eq!(app.post(ORG, &format!("/api/inbox/conversations/{messenger}/read"), json!({})).await.0, 200);
    assert!(app.run_jobs().await.is_empty(), "nothing queued");
    assert_eq!(actions(&app).len(), 1);

    app.put(ORG, settings, json!({})).await;
    app.clock.advance(Duration::hours(25));
    assert_eq!(app.post(ORG, &format!("/api/inbox/conversations/{instagram}/read"), json!({})).await.0, 200);
    assert!(app.run_jobs().await.is_empty(), "outside the window Meta takes no seen mark");
}
