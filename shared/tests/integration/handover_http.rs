//! Thread handover over HTTP: Meta's handover webhooks and messages on standby keep the
//! thread's owner on the conversation; a send there is refused with 409 unless it takes
//! control first (once, even when Meta fails the first take); passing the thread back is a
//! route. The fake Graph API refuses a send to a thread another app controls, as Meta does.

use crate::common::oauth::with_both_channels;
use crate::common::*;
use inbox_shared::services::JobOutcome;
use inbox_shared::testing::fake_graph::TEST_APP_ID;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const PSID: &str = "24000000000000001";
const BOT: &str = "5550000000000001";

/// A Page webhook about the Messenger customer: `field` (`messaging` or `standby`) holds `item`.
fn page_webhook(field: &str, item: Value, at_ms: i64) -> String {
    let mut event = json!({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": at_ms});
    event.as_object_mut().unwrap().extend(item.as_object().unwrap().clone());
    json!({"object": "page", "entry": [{"id": PAGE_ID, "time": at_ms, field: [event]}]}).to_string()
}

fn passed_to(app: &str, from: &str, at_ms: i64) -> String {
    let control = json!({"new_owner_app_id": app, "previous_owner_app_id": from, "metadata": "bot flow"});
    page_webhook("messaging", json!({ "pass_thread_control": control }), at_ms)
}

async fn control(app: &TestApp, conversation: &str) -> Value {
    app.get(ORG, &format!("/api/inbox/conversations/{conversation}")).await.1["threadControl"].clone()
}

fn calls_to(app: &TestApp, edge: &str) -> Vec<Value> {
    app.graph.calls().into_iter().filter(|c| c.path.ends_with(edge)).map(|c| c.body).collect()
}

#[tokio::test]
async fn a_bot_s_thread_refuses_sends_until_the_inbox_takes_it_and_passes_it_back() {
    let (app, _, messenger) = with_both_channels(ORG).await;
    let now = app.clock_now().timestamp_millis();
    assert_eq!(app.deliver(&passed_to(BOT, TEST_APP_ID, now)).await.status(), 200);
    let held = control(&app, &messenger).await;
    assert_eq!((held["ownerAppId"].as_str(), held["ours"].as_bool()), (Some(BOT), Some(false)), "{held}");

    let send = format!("/api/inbox/conversations/{messenger}/send-text");
    let (status, body) = app.post(ORG, &send, json!({"text": "Hi, a person here"})).await;
    assert_eq!((status, error_code(&body)), (409, "THREAD_OWNED_BY_OTHER_APP"));
    // The customer writes to the bot: Meta gives the inbox their message on standby.
    let standby = page_webhook("standby", json!({"message": {"mid": "m_standby_1", "text": "human please"}}), now + 1);
    assert_eq!(app.deliver(&standby).await.status(), 200);
    assert!(app.messages(ORG, &messenger).await.iter().any(|m| m["text"] == "human please"));
    assert_eq!(control(&app, &messenger).await["ownerAppId"], BOT, "standby keeps the named owner");
    app.run_jobs().await;
    assert!(calls_to(&app, "/messages").is_empty(), "nothing sent");

    // Taking control: Meta fails the first take; the retry takes it and sends once.
    app.graph.fail_next("take_thread_control", 500);
    let (status, _) = app.post(ORG, &send, json!({"text": "Hi, a person here", "takeControl": true})).await;
    assert_eq!(status, 202);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/take_thread_control").len(), 2, "tried again after Meta's 500");
    let sent = calls_to(&app, "/messages");
    assert_eq!(sent.len(), 1, "sent once: {sent:?}");
    assert_eq!(sent[0]["message"]["text"], "Hi, a person here");
    let taken = control(&app, &messenger).await;
    assert_eq!((taken["ours"].as_bool(), taken["previousOwnerAppId"].as_str()), (Some(true), Some(BOT)), "{taken}");

    let pass = format!("/api/inbox/conversations/{messenger}/pass-thread");
    let (status, body) = app.post(ORG, &pass, json!({})).await;
    assert_eq!((status, &body["threadControl"]["ownerAppId"]), (200, &json!(BOT)), "back to the bot by default");
    assert_eq!(calls_to(&app, "/pass_thread_control")[0], json!({"recipient": {"id": PSID}, "target_app_id": BOT}));
    let (status, body) = app.post(ORG, &pass, json!({})).await;
    assert_eq!((status, error_code(&body)), (409, "THREAD_OWNED_BY_OTHER_APP"), "not ours to pass any more");
    assert_eq!(app.post("org_b", &pass, json!({})).await.0, 404, "another organization");
}

#[tokio::test]
async fn a_reply_queued_before_a_bot_took_the_thread_fails_without_reaching_meta() {
    let (app, _, messenger) = with_both_channels(ORG).await;
    let send = format!("/api/inbox/conversations/{messenger}/send-text");
    let (status, accepted) = app.post(ORG, &send, json!({"text": "Queued first"})).await;
    assert_eq!(status, 202);
    let taken = json!({"take_thread_control": {"previous_owner_app_id": TEST_APP_ID, "new_owner_app_id": BOT}});
    let webhook = page_webhook("messaging", taken, app.clock_now().timestamp_millis());
    assert_eq!(app.deliver(&webhook).await.status(), 200);
    let ran = app.run_jobs().await;
    assert_eq!(ran.last().unwrap().1, JobOutcome::Failed(inbox_shared::error::ErrorCode::ThreadOwnedByOtherApp));
    assert!(calls_to(&app, "/messages").is_empty(), "Meta was never asked");
    let job = app.get(ORG, &format!("/api/integrations/jobs/{}", accepted["jobId"].as_str().unwrap())).await.1;
    assert_eq!(job["lastError"]["code"], "THREAD_OWNED_BY_OTHER_APP");

    // Control passed back to the inbox (a newer handover): sends go through again.
    let back = passed_to(TEST_APP_ID, BOT, app.clock_now().timestamp_millis() + 1000);
    assert_eq!(app.deliver(&back).await.status(), 200);
    assert_eq!(control(&app, &messenger).await["ours"], true);
    assert_eq!(app.post(ORG, &send, json!({"text": "Back with you"})).await.0, 202);
    app.run_jobs().await;
    assert_eq!(calls_to(&app, "/messages").len(), 1);
}

#[tokio::test]
async fn instagram_s_documented_handover_and_a_message_on_standby_mark_the_thread_held() {
    let (app, instagram, _) = with_both_channels(ORG).await;
    let standby =
        text_webhook(IG_ACCOUNT, CUSTOMER, "m_ig_standby", "still there?", app.clock_now().timestamp_millis());
    let standby = standby.replacen("\"messaging\"", "\"standby\"", 1);
    assert_eq!(app.deliver(&standby).await.status(), 200);
    let held = control(&app, &instagram).await;
    assert_eq!((held["ours"].as_bool(), held.get("ownerAppId")), (Some(false), None), "{held}");
    let (status, body) =
        app.post(ORG, &format!("/api/inbox/conversations/{instagram}/send-text"), json!({"text": "hi"})).await;
    assert_eq!((status, error_code(&body)), (409, "THREAD_OWNED_BY_OTHER_APP"));
    // Meta's documented `messaging_handover` change, for this account and customer.
    let later = (app.clock_now().timestamp_millis() + 1000).to_string();
    let doc = inbox_shared::fixtures::documented("ig_reference_messaging_handover.json")
        .payload
        .replace("17841405822304914", IG_ACCOUNT)
        .replace("1914093632120823", CUSTOMER)
        .replace("263902037430900", TEST_APP_ID)
        .replace("1569262485349", &later);
    assert_eq!(app.deliver(&doc).await.status(), 200);
    assert_eq!(control(&app, &instagram).await["ours"], true, "passed to this app: {doc}");
}
