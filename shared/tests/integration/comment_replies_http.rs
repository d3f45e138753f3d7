//! Answering comments over HTTP: public replies under the comment, private replies into the
//! commenter's DMs (once per comment, within 7 days), hiding, each error code, and a public
//! reply whose answer is lost confirmed by Meta's notification of it, never posted twice.

use std::time::Duration as StdDuration;

use crate::common::*;
use chrono::Duration;
use inbox_shared::fixtures;
use inbox_shared::services::JobOutcome;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const TOP: &str = "17865799348089039";
const REPLY: &str = "17865799348089040";
const REPLY_ID: &str = "17870000000000001"; // comment_reply_ok.json

async fn thread_app() -> (TestApp, String) {
    // A lost answer is given up on after 300 ms, not 10 s.
    let app = TestApp::with(inbox_shared::config::AppEnv::Production, &[("GRAPH_TIMEOUT_MS", "300")]).await;
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, "EAAB-page-token").await;
    for f in ["comment.json", "comment_reply.json", "mention.json", "text.json"] {
        assert_eq!(app.deliver(&fixtures::webhook(f)).await.status(), 200, "{f}");
    }
    app.run_jobs().await;
    app.graph.state.calls.lock().unwrap().clear();
    let (_, page) = app.get(ORG, "/api/inbox/conversations?kind=COMMENT").await;
    let thread = page["data"].as_array().unwrap().iter().find(|c| c["comment"]["commentId"] == TOP).unwrap().clone();
    (app, thread["id"].as_str().unwrap().to_owned())
}

fn calls_to(app: &TestApp, suffix: &str) -> Vec<GraphCall> {
    app.graph.calls().into_iter().filter(|c| c.path.ends_with(suffix)).collect()
}

/// Meta's `comments` notification of our own reply.
fn our_reply_notified(id: &str, text: &str) -> String {
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460700000i64,"changes":[{"field":"comments",
        "value":{"from":{"id":IG_ACCOUNT,"username":"coast.shop"},"media":{"id":"17900000000000100"},
                 "id":id,"parent_id":TOP,"text":text}}]}]})
    .to_string()
}

#[tokio::test]
async fn a_public_reply_is_posted_under_the_comment_once_and_its_notification_folds_into_it() {
    let (app, thread) = thread_app().await;
    let (status, accepted) =
        app.post(ORG, &format!("/api/inbox/conversations/{thread}/reply-public"), json!({"text": "45 EUR"})).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    let posted = calls_to(&app, &format!("{TOP}/replies"));
    assert_eq!(posted.len(), 1, "{:?}", app.graph.calls());
    assert_eq!(posted[0].authorization.as_deref(), Some("Bearer EAAB-page-token"));
    assert_eq!((posted[0].method.as_str(), posted[0].query.as_str()), ("POST", "message=45+EUR"));
    assert!(calls_to(&app, "/messages").is_empty(), "no DM sent");
    app.deliver(&our_reply_notified(REPLY_ID, "45 EUR")).await;
    let messages = app.messages(ORG, &thread).await;
    let ours: Vec<&Value> = messages.iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!((ours[0]["id"].as_str(), ours[0]["status"].as_str()), (accepted["messageId"].as_str(), Some("SENT")));
    assert_eq!(ours[0]["externalMessageId"], REPLY_ID);
    assert_eq!(ours[0]["metaJson"]["route"], json!({"type": "PUBLIC_REPLY", "commentId": TOP}));
}

#[tokio::test]
async fn a_public_reply_whose_answer_is_lost_is_confirmed_by_its_notification_not_posted_again() {
    let (app, thread) = thread_app().await;
    app.post(ORG, &format!("/api/inbox/conversations/{thread}/reply-public"), json!({"text": "In stock"})).await;
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_secs(3600)); // no answer
    let first = app.queue.take_due();
    let outcome = app.services.process(&first[0]).await.unwrap();
    assert!(matches!(outcome, JobOutcome::AwaitingConfirmation { .. }), "{outcome:?}");
    app.deliver(&our_reply_notified("17870000000000999", "In stock")).await;
    let ran = app.run_jobs().await;
    // The echo also queued a check of its conversation: the send succeeded among the runs.
    assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
    assert_eq!(calls_to(&app, "/replies").len(), 1, "posted once");
    let messages = app.messages(ORG, &thread).await;
    let ours: Vec<&Value> = messages.iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0]["externalMessageId"], "17870000000000999");
}

#[tokio::test]
async fn a_private_reply_opens_the_commenters_dms_once_per_comment() {
    let (app, thread) = thread_app().await;
    let path = format!("/api/inbox/conversations/{thread}/reply-private");
    let (status, accepted) = app.post(ORG, &path, json!({"text": "Sent you the price list"})).await;
    assert_eq!(status, 202, "{accepted}");
    app.run_jobs().await;
    let sent = calls_to(&app, "/messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["recipient"], json!({"comment_id": TOP}), "addressed by the comment");
    let dm = accepted["conversationId"].as_str().unwrap();
    let (_, conversation) = app.get(ORG, &format!("/api/inbox/conversations/{dm}")).await;
    assert_eq!((conversation["kind"].as_str(), conversation["participantId"].as_str()), (Some("DM"), Some(CUSTOMER)));
    let dms = app.messages(ORG, dm).await;
    let reply = dms.iter().find(|m| m["id"] == accepted["messageId"]).expect("the reply is in the DM thread");
    assert_eq!(reply["status"], "SENT");
    assert_eq!(reply["metaJson"]["route"]["type"], "PRIVATE_REPLY");
    assert_eq!(dms.len(), 2, "joined the customer's existing DM thread (text.json)");

    let (status, again) = app.post(ORG, &path, json!({"text": "again"})).await;
    assert_eq!((status, error_code(&again)), (409, "PRIVATE_REPLY_ALREADY_SENT"), "{again}");
    // Another commenter in the thread: their own private reply, their own DM conversation.
    let (status, other) = app.post(ORG, &path, json!({"text": "Hi Rui", "commentId": REPLY})).await;
    assert_eq!(status, 202, "{other}");
    assert_ne!(other["conversationId"], accepted["conversationId"]);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/messages").len(), 2);
}

#[tokio::test]
async fn comment_routes_answer_clear_errors() {
    let (app, thread) = thread_app().await;
    let (_, page) = app.get(ORG, "/api/inbox/conversations").await;
    let by = |kind: &str, pick: &dyn Fn(&Value) -> bool| {
        page["data"].as_array().unwrap().iter().find(|c| c["kind"] == kind && pick(c)).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let dm = by("DM", &|_| true);
    let mention = by("COMMENT", &|c| c["comment"]["commentId"] != TOP);
    let post = |path: String, body: Value| {
        let app = &app;
        async move { app.post(ORG, &path, body).await }
    };
    let cases = [
        (format!("/api/inbox/conversations/{dm}/reply-public"), json!({"text":"x"}), 422, "NOT_A_COMMENT_THREAD"),
        (
            format!("/api/inbox/conversations/{mention}/reply-private"),
            json!({"text":"x"}),
            422,
            "PRIVATE_REPLY_UNAVAILABLE",
        ),
        (
            format!("/api/inbox/conversations/{thread}/reply-private"),
            json!({"text":"x","commentId":"1"}),
            404,
            "COMMENT_NOT_FOUND",
        ),
        (format!("/api/inbox/conversations/{thread}/reply-public"), json!({"text":""}), 400, "VALIDATION_ERROR"),
        (format!("/api/inbox/conversations/{thread}/hide"), json!({"commentId":"1"}), 404, "COMMENT_NOT_FOUND"),
        ("/api/inbox/conversations/conv_nope/reply-public".into(), json!({"text":"x"}), 404, "NOT_FOUND"),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = post(path.clone(), body).await;
        assert_eq!((got, error_code(&answer)), (status, code), "{path}: {answer}");
    }
    let (status, _) =
        app.post("org_b", &format!("/api/inbox/conversations/{thread}/reply-public"), json!({"text":"x"})).await;
    assert_eq!(status, 404, "another organization's thread is not found");
    app.clock.advance(Duration::days(8));
    let (status, late) = post(format!("/api/inbox/conversations/{thread}/reply-private"), json!({"text":"x"})).await;
    assert_eq!((status, error_code(&late)), (422, "PRIVATE_REPLY_WINDOW_CLOSED"), "{late}");
    assert!(calls_to(&app, "/messages").is_empty() && calls_to(&app, "/replies").is_empty(), "nothing sent");
}

#[tokio::test]
async fn hiding_a_comment_calls_meta_at_once_and_marks_it() {
    let (app, thread) = thread_app().await;
    let path = format!("/api/inbox/conversations/{thread}/hide");
    let (status, hidden) = app.post(ORG, &path, json!({"commentId": REPLY})).await;
    assert_eq!(status, 200, "{hidden}");
    assert_eq!(
        (hidden["externalMessageId"].as_str(), hidden["metaJson"]["hidden"].as_bool()),
        (Some(REPLY), Some(true))
    );
    let call = calls_to(&app, REPLY);
    assert_eq!((call.len(), call[0].query.as_str()), (1, "hide=true"));
    app.graph.answer(500, &[], r#"{"error":{"message":"try later","code":2,"is_transient":true}}"#);
    let (status, failed) = app.post(ORG, &path, json!({"hidden": false})).await;
    assert_eq!((status, error_code(&failed)), (502, "META_UNAVAILABLE"), "{failed}");
    let (status, shown) = app.post(ORG, &path, json!({"commentId": REPLY, "hidden": false})).await;
    assert_eq!((status, shown["metaJson"]["hidden"].as_bool()), (200, Some(false)), "{shown}");
}

#[tokio::test]
async fn two_agents_replying_privately_at_once_send_one_reply() {
    let (app, thread) = thread_app().await;
    let path = format!("/api/inbox/conversations/{thread}/reply-private");
    let (a, b) = tokio::join!(
        app.post(ORG, &path, json!({"text": "From Ana's colleague"})),
        app.post("org_a", &path, json!({"text": "From another agent"}))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [202, 409], "{a:?} {b:?}");
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/messages").len(), 1, "the customer gets one private reply");
}

/// A comment under the thread's top-level comment, by its own commenter.
fn commenter_reply(i: usize) -> (String, String) {
    let id = format!("178657993481{i:05}");
    let body = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460200000i64,"changes":[{"field":"comments",
        "value":{"from":{"id":format!("61850000009{i:05}"),"username":format!("buyer{i}")},
                 "media":{"id":"17900000000000100","media_product_type":"FEED"},
                 "id":id,"parent_id":TOP,"text":"Is this in stock?"}}]}]});
    (id, body.to_string())
}

/// The race for a comment's one private reply, where it can really happen (threads of a
/// multi-thread runtime): in each of 100 rounds two agents answer the same comment at once
/// with different texts; one gets 202, the other 409, and the customer receives the text of
/// the one that won, as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_agents_racing_for_a_private_reply_always_end_with_one_reply_of_the_stored_text() {
    let (app, thread) = thread_app().await;
    let path = format!("/api/inbox/conversations/{thread}/reply-private");
    let mut winners = Vec::new();
    for i in 0..100 {
        let (comment, webhook) = commenter_reply(i);
        assert_eq!(app.deliver(&webhook).await.status(), 200);
        let texts = [format!("Agent A on {i}"), format!("Agent B on {i}")];
        let (a, b) = tokio::join!(
            app.post(ORG, &path, json!({"text": texts[0], "commentId": comment})),
            app.post(ORG, &path, json!({"text": texts[1], "commentId": comment}))
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [202, 409], "round {i}: {a:?} {b:?}");
        let (won, text) = if a.0 == 202 { (a.1, &texts[0]) } else { (b.1, &texts[1]) };
        winners.push((comment, text.clone(), won));
    }
    app.run_jobs().await;
    let sent = calls_to(&app, "/messages");
    for (comment, text, won) in &winners {
        let to_comment: Vec<&GraphCall> =
            sent.iter().filter(|c| c.body["recipient"]["comment_id"] == comment.as_str()).collect();
        assert_eq!(to_comment.len(), 1, "one private reply to {comment}");
        assert_eq!(to_comment[0].body["message"]["text"], text.as_str(), "Meta received the winner's text");
        let dm = app.messages(ORG, won["conversationId"].as_str().unwrap()).await;
        let stored = dm.iter().find(|m| m["id"] == won["messageId"]).expect("the reply is stored");
        assert_eq!((stored["text"].as_str(), stored["status"].as_str()), (Some(text.as_str()), Some("SENT")));
    }
    assert_eq!(sent.len(), 100, "nothing else went out");
}

#[tokio::test]
async fn a_reply_retried_under_its_idempotency_key_answers_the_same_and_goes_out_once() {
    let (app, thread) = thread_app().await;
    for route in ["reply-public", "reply-private"] {
        let path = format!("/api/inbox/conversations/{thread}/{route}");
        let first = app.post_with_key(ORG, &path, &format!("{route}-1"), json!({"text": "Thanks!"})).await;
        let again = app.post_with_key(ORG, &path, &format!("{route}-1"), json!({"text": "Thanks!"})).await;
        assert_eq!(first.0, 202, "{route}: {first:?}");
        assert_eq!(first, again, "{route}: the first answer again, not a second reply (nor a 409)");
        let other = app.post_with_key(ORG, &path, &format!("{route}-1"), json!({"text": "Other"})).await;
        assert_eq!((other.0, error_code(&other.1)), (409, "CONFLICT"), "{route}: the key names another request");
    }
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/replies").len(), 1);
    assert_eq!(calls_to(&app, "/messages").len(), 1);
}

#[tokio::test]
async fn a_private_reply_whose_answer_is_lost_is_confirmed_by_its_dm_echo_not_sent_again() {
    let (app, thread) = thread_app().await;
    let path = format!("/api/inbox/conversations/{thread}/reply-private");
    let (_, accepted) = app.post(ORG, &path, json!({"text": "Check your DMs"})).await;
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_secs(3600)); // no answer
    let first = app.queue.take_due();
    let outcome = app.services.process(&first[0]).await.unwrap();
    assert!(matches!(outcome, JobOutcome::AwaitingConfirmation { .. }), "{outcome:?}");
    // Meta's echo of the private reply, in the commenter's DM thread.
    let echo = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460800000i64,"messaging":[
        {"sender":{"id":IG_ACCOUNT},"recipient":{"id":CUSTOMER},"timestamp":1732460800000i64,
         "message":{"mid":"m_private_echo","text":"Check your DMs","is_echo":true}}]}]});
    assert_eq!(app.deliver(&echo.to_string()).await.status(), 200);
    let ran = app.run_jobs().await;
    // The echo also queued a check of its conversation: the send succeeded among the runs.
    assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
    assert_eq!(calls_to(&app, "/messages").len(), 1, "sent once");
    let dm = app.messages(ORG, accepted["conversationId"].as_str().unwrap()).await;
    let ours: Vec<&Value> = dm.iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(ours.len(), 1, "the echo folded into the reply: {ours:?}");
    assert_eq!(
        (ours[0]["externalMessageId"].as_str(), ours[0]["status"].as_str()),
        (Some("m_private_echo"), Some("SENT"))
    );
}

fn live_comment(id: &str, from: &str, username: &str, text: &str) -> String {
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460100000i64,"changes":[{"field":"live_comments",
        "value":{"id":id,"from":{"id":from,"username":username},"text":text,
                 "media":{"id":"17895695668004551","media_product_type":"LIVE"}}}]}]})
    .to_string()
}

/// A live broadcast's comments share one thread; a private reply is allowed only while the
/// broadcast lasts (Meta lists the account's live media then), a public one never.
#[tokio::test]
async fn a_live_broadcast_is_one_thread_whose_comments_take_private_replies_while_it_lasts() {
    let (app, _) = thread_app().await;
    app.graph.world().live_media.insert(IG_ACCOUNT.into(), vec!["17895695668004551".into()]);
    app.deliver(&live_comment("17865799348089050", "1394710235447892", "live.viewer", "Hello from the live!")).await;
    app.deliver(&live_comment("17865799348089051", "1394710235447893", "another", "Which size is that?")).await;
    let live: Vec<Value> = app
        .list_conversations(ORG, "kind=COMMENT")
        .await
        .into_iter()
        .filter(|c| c["comment"]["live"] == true)
        .collect();
    assert_eq!(live.len(), 1, "one thread for the broadcast: {live:?}");
    assert_eq!(live[0]["comment"]["commentId"], "17895695668004551");
    assert!(live[0]["handle"].is_null(), "a broadcast's thread is nobody's: {}", live[0]);
    let thread = live[0]["id"].as_str().unwrap();
    assert_eq!(app.messages(ORG, thread).await.len(), 2);

    let public = app.post(ORG, &format!("/api/inbox/conversations/{thread}/reply-public"), json!({"text": "M"})).await;
    assert_eq!((public.0, error_code(&public.1)), (422, "PUBLIC_REPLY_UNAVAILABLE"));
    let private = format!("/api/inbox/conversations/{thread}/reply-private");
    let unnamed = app.post(ORG, &private, json!({"text": "Size M"})).await;
    assert_eq!((unnamed.0, error_code(&unnamed.1)), (400, "VALIDATION_ERROR"));
    let body = json!({"text": "It is an M", "commentId": "17865799348089051"});
    let (status, accepted) = app.post(ORG, &private, body).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    let sent = calls_to(&app, "/messages");
    assert_eq!(sent[0].body["recipient"], json!({"comment_id": "17865799348089051"}));

    // The broadcast ends: however young the comment, no private reply.
    app.graph.world().live_media.clear();
    let late = json!({"text": "Thanks for watching", "commentId": "17865799348089050"});
    let (status, body) = app.post(ORG, &private, late).await;
    assert_eq!((status, error_code(&body)), (422, "PRIVATE_REPLY_WINDOW_CLOSED"));
    let asked = calls_to(&app, &format!("{IG_ACCOUNT}/live_media"));
    assert_eq!(asked.len(), 2, "Meta asked once per private reply");

    // Meta failing to say whether the broadcast is live: a clear 502, nothing queued.
    app.graph.world().live_media.insert(IG_ACCOUNT.into(), vec!["17895695668004551".into()]);
    app.graph.answer(500, &[], &fixtures::graph("error_temporary.json"));
    let (status, body) = app.post(ORG, &private, json!({"text": "Hi", "commentId": "17865799348089050"})).await;
    assert_eq!((status, error_code(&body)), (502, "META_UNAVAILABLE"));
    assert!(app.queue.take_due().is_empty(), "nothing queued");
    // Asked again once Meta answers, the one private reply of that comment goes out.
    let (status, again) = app.post(ORG, &private, json!({"text": "Hi", "commentId": "17865799348089050"})).await;
    assert_eq!(status, 202, "{again}");
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/messages").len(), 2, "each private reply sent once");
}
