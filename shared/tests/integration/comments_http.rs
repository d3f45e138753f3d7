//! Comments in, over HTTP: Meta-shaped `comments` and `mentions` webhooks become comment
//! threads (one conversation per top-level comment, `kind: "COMMENT"`), replies nest in their
//! thread, edits and removals update, redeliveries change nothing, and the inbox lists by kind.

use crate::common::*;
use inbox_shared::fixtures;
use serde_json::Value;

const ORG: &str = "org_a";
const TOP: &str = "17865799348089039";
const REPLY: &str = "17865799348089040";

async fn app_with_account() -> TestApp {
    let app = TestApp::prod().await;
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, "EAAB-page-token").await;
    app
}

async fn deliver(app: &TestApp, fixture: &str) {
    assert_eq!(app.deliver(&fixtures::webhook(fixture)).await.status(), 200, "{fixture}");
}

async fn list(app: &TestApp, query: &str) -> Vec<Value> {
    app.list_conversations(ORG, query).await
}

#[tokio::test]
async fn a_comment_and_its_reply_are_one_thread_beside_the_dms_and_listed_by_kind() {
    let app = app_with_account().await;
    deliver(&app, "text.json").await; // a DM from the same customer
    deliver(&app, "comment.json").await;
    deliver(&app, "comment_reply.json").await;
    deliver(&app, "comment.json").await; // redelivered
    let threads = list(&app, "kind=COMMENT").await;
    assert_eq!(threads.len(), 1, "{threads:?}");
    let thread = &threads[0];
    assert_eq!(thread["kind"], "COMMENT");
    assert_eq!(thread["comment"]["commentId"], TOP);
    assert_eq!(thread["comment"]["mediaId"], "17900000000000100");
    assert_eq!(thread["comment"]["mediaProductType"], "FEED");
    assert_eq!(thread["participantId"], CUSTOMER, "the thread's author");
    assert_eq!(thread["handle"], "ana.lisboa", "from the webhook, no profile lookup");
    assert_eq!(thread["unreadCount"], 2);
    assert_eq!(thread["previewText"], "Same question, and in size M?");
    assert_eq!(thread["canReply"], true, "a public reply is always possible");
    let dms = list(&app, "kind=DM").await;
    assert_eq!(dms.len(), 1);
    assert_eq!((dms[0]["kind"].as_str(), dms[0]["participantId"].as_str()), (Some("DM"), Some(CUSTOMER)));
    assert_eq!(list(&app, "").await.len(), 2, "no filter: both");
    assert_eq!(list(&app, "provider=INSTAGRAM&kind=COMMENT").await.len(), 1);

    let comments = app.messages(ORG, thread["id"].as_str().unwrap()).await;
    assert_eq!(comments.len(), 2, "stored once each: {comments:?}");
    let reply = comments.iter().find(|m| m["externalMessageId"] == REPLY).expect("the reply nests in the thread");
    assert_eq!(reply["metaJson"]["parentId"], TOP);
    assert_eq!(reply["metaJson"]["username"], "rui.porto");
    assert_eq!((reply["direction"].as_str(), reply["from"].as_str()), (Some("INBOUND"), Some("6185000000000002")));
    let graph_profile_calls = app.graph.calls().iter().filter(|c| c.path.ends_with(TOP)).count();
    assert_eq!(graph_profile_calls, 0);
    // The media's link, looked up once off the webhook's path.
    app.run_jobs().await;
    let thread = &list(&app, "kind=COMMENT").await[0];
    assert_eq!(thread["comment"]["permalink"], "https://www.instagram.com/p/C0coastshop1/", "{thread}");
    deliver(&app, "comment_reply.json").await;
    app.run_jobs().await;
    let lookups: Vec<GraphCall> =
        app.graph.calls().into_iter().filter(|c| c.query.contains("fields=permalink")).collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].path, "/v21.0/17900000000000100");
}

/// A post with many comment threads (a viral one) costs one permalink lookup, however many of
/// its threads are enriched at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_media_with_many_threads_is_looked_up_once() {
    let app = app_with_account().await;
    for i in 0..40 {
        let comment = serde_json::json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460200000i64,
            "changes":[{"field":"comments","value":{"from":{"id":format!("61850000007{i:05}"),"username":format!("fan{i}")},
            "media":{"id":"17900000000000100","media_product_type":"FEED"},"id":format!("178657993482{i:05}"),"text":"Love it"}}]}]});
        assert_eq!(app.deliver(&comment.to_string()).await.status(), 200);
    }
    let enrichments = app.queue.take_due();
    assert_eq!(enrichments.len(), 40, "one enrichment per new thread");
    let runs = enrichments.iter().map(|m| app.services.process(m));
    for outcome in futures_util::future::join_all(runs).await {
        outcome.unwrap();
    }
    let lookups = app.graph.calls().into_iter().filter(|c| c.query.contains("fields=permalink")).count();
    assert_eq!(lookups, 1, "one lookup for the media");
    let threads = list(&app, "kind=COMMENT").await;
    assert_eq!(threads.len(), 40);
    assert!(threads.iter().all(|t| t["comment"]["permalink"] == "https://www.instagram.com/p/C0coastshop1/"));
}

/// A failed permalink lookup is not remembered: the media's next thread looks it up again.
#[tokio::test]
async fn a_failed_permalink_lookup_is_tried_again_by_the_next_thread() {
    let app = app_with_account().await;
    let thread = |i: usize| {
        serde_json::json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460200000i64,
            "changes":[{"field":"comments","value":{"from":{"id":format!("61850000006{i:05}"),"username":"fan"},
            "media":{"id":"17900000000000100","media_product_type":"FEED"},"id":format!("178657993483{i:05}"),"text":"Nice"}}]}]})
        .to_string()
    };
    app.graph.answer(500, &[], &fixtures::graph("error_temporary.json"));
    assert_eq!(app.deliver(&thread(1)).await.status(), 200);
    app.run_jobs().await;
    assert!(list(&app, "kind=COMMENT").await[0]["comment"]["permalink"].is_null(), "the lookup failed");
    assert_eq!(app.deliver(&thread(2)).await.status(), 200);
    app.run_jobs().await;
    let lookups = app.graph.calls().into_iter().filter(|c| c.query.contains("fields=permalink")).count();
    assert_eq!(lookups, 2, "looked up again after the failure");
    let threads = list(&app, "kind=COMMENT").await;
    assert!(threads.iter().any(|t| t["comment"]["permalink"] == "https://www.instagram.com/p/C0coastshop1/"));
}

#[tokio::test]
async fn edited_and_removed_comments_update_even_when_the_change_comes_first() {
    let app = app_with_account().await;
    deliver(&app, "comment_removed.json").await; // the reply's removal, before the reply
    deliver(&app, "comment.json").await;
    deliver(&app, "comment_reply.json").await;
    deliver(&app, "comment_edited.json").await;
    let thread = &list(&app, "kind=COMMENT").await[0];
    let comments = app.messages(ORG, thread["id"].as_str().unwrap()).await;
    let top = comments.iter().find(|m| m["externalMessageId"] == TOP).unwrap();
    assert_eq!(top["text"], "How much is the blue jacket in size S?", "{top}");
    let reply = comments.iter().find(|m| m["externalMessageId"] == REPLY).unwrap();
    assert_eq!(reply["status"], "DELETED", "{reply}");
    assert_ne!(reply["text"], "Same question, and in size M?", "a removed comment's text is gone");
}

#[tokio::test]
async fn a_mention_opens_a_thread_of_its_own_and_bad_comment_changes_are_kept_raw() {
    let app = app_with_account().await;
    deliver(&app, "mention.json").await;
    let threads = list(&app, "kind=COMMENT").await;
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["comment"]["commentId"], "17865799348089100");
    assert_eq!(threads[0]["previewText"], "Mentioned you in a comment");
    let messages = app.messages(ORG, threads[0]["id"].as_str().unwrap()).await;
    assert_eq!(messages[0]["metaJson"]["mention"], true);
    assert!(app.graph.calls().is_empty(), "a mention names nobody to look up");

    let bad = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1732460600000,
        "changes":[{"field":"comments","value":{"id":"1","text":"who wrote me?"}}]}]}"#;
    assert_eq!(app.deliver(bad).await.status(), 200);
    let kept = app.store.list_raw_events(IG_ACCOUNT).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].reason.contains("without its author"), "{}", kept[0].reason);
    let (status, body) = app.get(ORG, "/api/inbox/conversations?kind=STORY").await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{body}");
}
