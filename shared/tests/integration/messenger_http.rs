//! Facebook Page messages on the same pipeline, over HTTP: connecting a Page with an
//! Instagram account connects both channels; `object: "page"` webhooks (messages, echoes,
//! postbacks, reactions, deliveries, read watermarks) become `MESSENGER` conversations; replies
//! go out through `/{page-id}/messages`; each channel disconnects alone.

use crate::common::oauth::{connect, connect_both_channels, page, script_connect, start};
use crate::common::*;
use inbox_shared::fixtures;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const PSID: &str = "24000000000000001";

/// `org_a` connects `pages` through Facebook Login: the (provider, external id) of each account
/// connected, sorted, and the whole answer.
async fn connect_pages(app: &TestApp, pages: Value) -> (Vec<(String, String)>, Value) {
    script_connect(app, pages);
    let (status, body) = connect(app, ORG, &[("code", "c"), ("state", &start(app, ORG).await)]).await;
    assert_eq!(status, 200, "{body}");
    let pair =
        |a: &Value| (a["provider"].as_str().unwrap().to_owned(), a["externalAccountId"].as_str().unwrap().to_owned());
    let mut connected: Vec<(String, String)> = body["connected"].as_array().unwrap().iter().map(pair).collect();
    connected.sort();
    (connected, body)
}

async fn deliver(app: &TestApp, fixture: &str) {
    assert_eq!(app.deliver(&fixtures::webhook(fixture)).await.status(), 200, "{fixture}");
}

async fn list(app: &TestApp, provider: &str) -> Vec<Value> {
    app.list_conversations(ORG, &format!("provider={provider}")).await
}

#[tokio::test]
async fn page_messages_are_messenger_conversations_beside_instagram_and_replies_go_through_the_page() {
    let app = TestApp::prod().await;
    let (_, messenger) = connect_both_channels(&app, ORG).await;
    let oauth = app.graph.calls();
    let subscribed = oauth.iter().any(|c| c.path.ends_with("/subscribed_apps") && c.query.contains("message_reads"));
    assert!(subscribed, "the Page is subscribed to Messenger's fields too: {oauth:?}");
    deliver(&app, "page_message.json").await;
    // Redelivered on the neutral route (the same handler, both objects): stored once.
    let again = app.deliver_to("/api/webhooks/meta", &fixtures::webhook("page_message.json")).await;
    assert_eq!(again.status(), 200);
    deliver(&app, "text.json").await; // an Instagram DM, to the Instagram account
    let page_threads = list(&app, "MESSENGER").await;
    assert_eq!(page_threads.len(), 1, "{page_threads:?}");
    let thread = &page_threads[0];
    assert_eq!(
        (thread["participantId"].as_str(), thread["connectedAccountId"].as_str()),
        (Some(PSID), Some(messenger.as_str()))
    );
    assert_eq!(thread["unreadCount"], 1);
    assert_eq!(list(&app, "INSTAGRAM").await.len(), 1);
    assert_eq!(list(&app, "ALL").await.len(), 2);
    let conv = thread["id"].as_str().unwrap().to_owned();

    let (status, accepted) =
        app.post(ORG, &format!("/api/inbox/conversations/{conv}/send-text"), json!({"text": "Open 10-16"})).await;
    assert_eq!(status, 202, "{accepted}");
    app.run_jobs().await;
    let sends: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].path, format!("/v21.0/{PAGE_ID}/messages"));
    assert_eq!(sends[0].authorization.as_deref(), Some("Bearer EAAB-page-token"));
    assert_eq!(sends[0].body["recipient"]["id"], PSID);
    let named = format!("job:{}", accepted["jobId"].as_str().unwrap());
    assert_eq!(sends[0].body["message"]["metadata"], named.as_str(), "the echo will name the job");
    let profile: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with(PSID)).collect();
    assert_eq!(profile.len(), 1, "the customer's name, looked up once");
    assert_eq!(profile[0].query, "fields=name%2Cprofile_pic", "Messenger has names and pictures, not usernames");
    let messages = app.messages(ORG, &conv).await;
    let sent = messages.iter().find(|m| m["id"] == accepted["messageId"]).unwrap();
    assert_eq!((sent["provider"].as_str(), sent["status"].as_str()), (Some("MESSENGER"), Some("SENT")));
}

#[tokio::test]
async fn echoes_postbacks_reactions_deliveries_and_read_watermarks_apply() {
    let app = TestApp::prod().await;
    connect_both_channels(&app, ORG).await;
    // The delivery comes before the echo it names: it waits for it.
    for f in ["page_message.json", "page_delivery.json", "page_echo.json", "page_postback.json", "page_reaction.json"] {
        deliver(&app, f).await;
    }
    let conv = list(&app, "MESSENGER").await[0]["id"].as_str().unwrap().to_owned();
    let by_mid =
        |messages: &[Value], mid: &str| messages.iter().find(|m| m["externalMessageId"] == mid).cloned().unwrap();
    let messages = app.messages(ORG, &conv).await;
    assert_eq!(messages.len(), 3, "message, echo, postback: {messages:?}");
    let echo = by_mid(&messages, "m_page_echo_1");
    assert_eq!((echo["direction"].as_str(), echo["status"].as_str()), (Some("OUTBOUND"), Some("DELIVERED")), "{echo}");
    assert_eq!(echo["metaJson"]["reactions"][PSID]["emoji"], "❤️");
    assert_eq!(by_mid(&messages, "m_page_postback_1")["metaJson"]["postback"]["payload"], "HOURS");
    deliver(&app, "page_read.json").await;
    let read = by_mid(&app.messages(ORG, &conv).await, "m_page_echo_1");
    assert_eq!(read["status"], "READ", "read up to the watermark: {read}");
    assert_eq!(by_mid(&app.messages(ORG, &conv).await, "m_page_in_1")["status"], "RECEIVED", "inbound untouched");
}

#[tokio::test]
async fn each_channel_of_a_page_disconnects_alone() {
    let app = TestApp::prod().await;
    let (ig, messenger) = connect_both_channels(&app, ORG).await;
    app.graph.state.calls.lock().unwrap().clear();
    let (status, _) = app.delete(ORG, &format!("/api/integrations/connected-accounts/{messenger}")).await;
    assert_eq!(status, 200);
    assert!(
        !app.graph.calls().iter().any(|c| c.method == "DELETE"),
        "the Page stays subscribed for its Instagram account: {:?}",
        app.graph.calls()
    );
    deliver(&app, "page_message.json").await;
    deliver(&app, "text.json").await;
    assert!(list(&app, "MESSENGER").await.is_empty(), "the Page's DMs wait for a reconnect");
    assert_eq!(app.store.list_raw_events(&format!("messenger:{PAGE_ID}")).await.unwrap().len(), 1, "kept for replay");
    assert_eq!(list(&app, "INSTAGRAM").await.len(), 1, "Instagram still flows");
    let (_, accounts) = app.get(ORG, "/api/integrations/connected-accounts").await;
    let status =
        |id: &str| accounts["data"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap()["status"].clone();
    assert_eq!((status(&ig), status(&messenger)), (json!("ACTIVE"), json!("DISCONNECTED")));
}

/// The development account takes a Page's messages too: the customer's profile is asked as
/// Messenger has it (a name; a page-scoped person has no username, and Meta refuses the field).
#[tokio::test]
async fn in_development_a_messenger_customer_is_asked_only_for_what_messenger_profiles_have() {
    let app = TestApp::with(
        inbox_shared::config::AppEnv::Development,
        &[
            ("DEFAULT_ORGANIZATION_ID", ORG),
            ("META_PAGE_ACCESS_TOKEN", "dev-page-token"),
            ("INSTAGRAM_PAGE_ID", PAGE_ID),
        ],
    )
    .await;
    deliver(&app, "page_message.json").await;
    app.run_jobs().await;
    let lookups: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with(PSID)).collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].params["fields"], "name,profile_pic");
    let conversation = &list(&app, "MESSENGER").await[0];
    assert_eq!(conversation["displayName"], "Rui Costa", "{conversation}");
}

/// One organization, two Pages each with an Instagram account: one connection connects all
/// four channels, subscribes both Pages (with a Page's own fields), and each channel's events
/// and replies stay with its Page.
#[tokio::test]
async fn two_pages_connect_to_one_organization_and_keep_their_own_channels() {
    use inbox_shared::meta::subscriptions::PAGE_FIELDS;
    const PAGE_B: &str = "998877665544332";
    const IG_B: &str = "17841400000000002";
    let app = TestApp::prod().await;
    let pages = json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token"), page(PAGE_B, IG_B, "EAAB-page-b")]);
    let (connected, _) = connect_pages(&app, pages).await;
    let want = [("INSTAGRAM", IG_ACCOUNT), ("INSTAGRAM", IG_B), ("MESSENGER", PAGE_ID), ("MESSENGER", PAGE_B)];
    assert_eq!(connected, want.map(|(p, e)| (p.to_owned(), e.to_owned())));
    for page_id in [PAGE_ID, PAGE_B] {
        let fields: Vec<String> = app.graph.world().page_subscriptions[page_id].iter().cloned().collect();
        let mut expected: Vec<String> = PAGE_FIELDS.iter().map(|f| f.to_string()).collect();
        expected.sort();
        assert_eq!(fields, expected, "{page_id}");
    }
    // A customer of Page B's Messenger and of Page B's Instagram account: their own threads.
    let on_b = fixtures::webhook("page_message.json").replace(PAGE_ID, PAGE_B);
    assert_eq!(app.deliver(&on_b).await.status(), 200);
    assert_eq!(app.deliver(&text_webhook(IG_B, CUSTOMER, "m-b", "hi B", 1_732_460_000_500)).await.status(), 200);
    app.run_jobs().await;
    let messenger = list(&app, "MESSENGER").await;
    let instagram = list(&app, "INSTAGRAM").await;
    assert_eq!((messenger.len(), instagram.len()), (1, 1));
    for conversation in [&messenger[0], &instagram[0]] {
        let id = conversation["id"].as_str().unwrap();
        let (status, _) =
            app.post(ORG, &format!("/api/inbox/conversations/{id}/send-text"), json!({"text": "hello"})).await;
        assert_eq!(status, 202);
    }
    app.run_jobs().await;
    let sends: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect();
    assert_eq!(sends.len(), 2);
    for send in &sends {
        assert!(send.path.contains(PAGE_B), "{}", send.path);
        assert_eq!(send.authorization.as_deref(), Some("Bearer EAAB-page-b"));
    }
}

#[tokio::test]
async fn a_page_without_an_instagram_account_connects_as_a_messenger_channel_in_a_mixed_list() {
    const LONE_PAGE: &str = "556677889900112";
    let app = TestApp::prod().await;
    let lone = json!({"id": LONE_PAGE, "name": "Padaria Lone", "access_token": "EAAB-lone"});
    let (connected, body) = connect_pages(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token"), lone])).await;
    let expected = [("INSTAGRAM", IG_ACCOUNT), ("MESSENGER", PAGE_ID), ("MESSENGER", LONE_PAGE)];
    assert_eq!(connected, expected.map(|(p, id)| (p.to_owned(), id.to_owned())), "{body}");
    assert_eq!(body["refused"], json!([]));
    // Meta delivers the lone Page's DMs: subscribed with its own Page token.
    let subscribed = app.graph.world().page_subscriptions.get(LONE_PAGE).cloned().unwrap_or_default();
    assert!(subscribed.contains("messages"), "{subscribed:?}");

    // A DM to it is a Messenger conversation of the organization, answered through that Page.
    let now = 1_732_460_040_000i64;
    let dm = json!({"object": "page", "entry": [{"id": LONE_PAGE, "time": now, "messaging": [
        {"sender": {"id": PSID}, "recipient": {"id": LONE_PAGE}, "timestamp": now,
         "message": {"mid": "m-lone-1", "text": "Ainda têm pão?"}}]}]});
    assert_eq!(app.deliver(&dm.to_string()).await.status(), 200);
    app.run_jobs().await;
    let conversations = list(&app, "MESSENGER").await;
    let lone_dm = conversations.iter().find(|c| c["participantId"] == PSID).expect("the lone Page's DM");
    let (status, sent) = app
        .post(
            ORG,
            &format!("/api/inbox/conversations/{}/send-text", lone_dm["id"].as_str().unwrap()),
            json!({"text": "Sim!"}),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    app.run_jobs().await;
    let sends: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect();
    assert_eq!(sends.len(), 1);
    assert!(sends[0].path.ends_with(&format!("/{LONE_PAGE}/messages")), "{}", sends[0].path);
    assert_eq!(sends[0].authorization.as_deref(), Some("Bearer EAAB-lone"));
}
