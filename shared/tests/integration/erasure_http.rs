//! Erasure on request over HTTP, on memory, SQLite and DynamoDB (moto): one customer's data
//! in one organization, then a whole organization's, each shown gone by the API and, where
//! there is one, by a scan under the store; the other customer and the other organization
//! keep everything.

use crate::common::*;
use inbox_shared::config::AppEnv;
use serde_json::{Value, json};

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const BOB: &str = "6185000000000002";
const IG_B: &str = "17841400000000002";
const PAGE_B: &str = "998877665544332";

async fn erase(app: &TestApp, org: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.delete(format!("{}{path}", app.url)).bearer_auth(TestApp::token(org));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Waits until the organization's event log stops growing: on DynamoDB the relay logs
/// events from the table's stream a moment after the writes, and an erasure removes what is
/// logged by then.
async fn settle_events(app: &TestApp, org: &str) {
    let count = || async { app.store.events_after(org, None, 10_000, app.clock_now()).await.unwrap().len() };
    let (mut last, mut same) = (count().await, 0);
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = count().await;
        same = if now == last { same + 1 } else { 0 };
        last = now;
        if same >= 5 {
            return;
        }
    }
    panic!("the event log of {org} kept growing");
}

fn participants(conversations: &[Value]) -> Vec<&str> {
    let mut found: Vec<&str> = conversations.iter().map(|c| c["participantId"].as_str().unwrap()).collect();
    found.sort();
    found
}

async fn scenario(app: TestApp) {
    app.connect_account(ORG_A, "acc_a", IG_ACCOUNT, "EAAB-page-a").await;
    app.connect_account_on_page(ORG_B, "acc_b", IG_B, PAGE_B, "EAAB-page-b").await;
    for (account, customer, mid, text) in [
        (IG_ACCOUNT, CUSTOMER, "mid-ana-1", "my address is Rua Augusta 1"),
        (IG_ACCOUNT, CUSTOMER, "mid-ana-2", "and my phone is 912 345 678"),
        (IG_ACCOUNT, BOB, "mid-bob-1", "hello"),
        (IG_B, CUSTOMER, "mid-ana-b", "hi other shop"),
    ] {
        assert_eq!(app.deliver(&text_webhook(account, customer, mid, text, 1732460040000)).await.status(), 200);
    }
    app.run_jobs().await;
    let lead = json!({"name": "Ana Silva", "email": "ana@example.com", "instagramUserId": CUSTOMER});
    assert_eq!(app.post(ORG_A, "/api/leads", lead.clone()).await.0, 201);
    assert_eq!(app.post(ORG_B, "/api/leads", lead).await.0, 201);
    let before = app.conversations(ORG_A).await;
    assert_eq!(participants(&before), [CUSTOMER, BOB]);
    let ana = before.iter().find(|c| c["participantId"] == CUSTOMER).unwrap()["id"].as_str().unwrap().to_owned();

    settle_events(&app, ORG_A).await;
    if let Some(found) = app.scan_for("Rua Augusta").await {
        assert!(found.len() >= 2, "the message and its event, before: {found:#?}");
    }

    // One customer: their conversation, messages and lead link go; Bob's and org_b's stay.
    let (status, body) = erase(&app, ORG_A, &format!("/api/inbox/contacts/{CUSTOMER}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["done"], true);
    assert!(body["removed"].as_u64().unwrap() >= 4, "two messages, the conversation, the lead link: {body}");
    assert_eq!(participants(&app.conversations(ORG_A).await), [BOB]);
    let (status, body) = app.get(ORG_A, &format!("/api/inbox/conversations/{ana}/messages")).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    let (_, leads) = app.get(ORG_A, "/api/leads").await;
    assert_eq!(leads["data"][0]["instagramUserId"], Value::Null, "{leads}");
    assert_eq!(leads["data"][0]["email"], "ana@example.com", "the lead's other details are the organization's");
    assert_eq!(
        erase(&app, ORG_A, &format!("/api/inbox/contacts/{CUSTOMER}"), None).await.1,
        json!({"removed": 0, "done": true})
    );
    if let Some(left) = app.scan_for("Rua Augusta").await {
        assert!(left.is_empty(), "the customer's words are gone from the storage: {left:#?}");
    }
    assert_eq!(participants(&app.conversations(ORG_B).await), [CUSTOMER], "the same person elsewhere stays");

    // A whole organization: refused without its own id repeated.
    for body in [None, Some(json!({})), Some(json!({"confirm": ORG_B}))] {
        let (status, answer) = erase(&app, ORG_A, "/api/organizations/current/data", body).await;
        assert_eq!((status, error_code(&answer)), (400, "VALIDATION_ERROR"), "{answer}");
    }
    assert_eq!(app.conversations(ORG_A).await.len(), 1);
    let confirm = Some(json!({"confirm": ORG_A}));
    let (status, body) = erase(&app, ORG_A, "/api/organizations/current/data", confirm.clone()).await;
    assert_eq!((status, &body["done"]), (200, &json!(true)), "{body}");
    let unsubscribed =
        app.graph.calls().into_iter().any(|c| c.method == "DELETE" && c.path.ends_with("/subscribed_apps"));
    assert!(unsubscribed, "Meta stops delivering for the organization's Page");
    assert!(app.conversations(ORG_A).await.is_empty());
    assert_eq!(app.get(ORG_A, "/api/integrations/connected-accounts").await.1["data"], json!([]));
    assert_eq!(app.get(ORG_A, "/api/leads").await.1["data"], json!([]));
    if let Some(left) = app.scan_for(ORG_A).await {
        assert!(left.is_empty(), "nothing of the organization is left in the storage: {left:#?}");
    }
    assert_eq!(
        erase(&app, ORG_A, "/api/organizations/current/data", confirm).await.1,
        json!({"removed": 0, "done": true})
    );
    // Its account's later webhooks reach nobody's inbox; org_b's still reach org_b.
    app.deliver(&text_webhook(IG_ACCOUNT, BOB, "mid-bob-late", "still there?", 1732460050000)).await;
    app.deliver(&text_webhook(IG_B, BOB, "mid-bob-b", "hello b", 1732460050000)).await;
    app.run_jobs().await;
    assert!(app.conversations(ORG_A).await.is_empty());
    assert_eq!(participants(&app.conversations(ORG_B).await), [CUSTOMER, BOB]);
    assert_eq!(app.get(ORG_B, "/api/leads").await.1["data"][0]["instagramUserId"], CUSTOMER);
}

#[tokio::test]
async fn erasure_removes_one_customer_then_one_organization_in_memory() {
    scenario(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn erasure_removes_one_customer_then_one_organization_on_sqlite() {
    scenario(TestApp::on_sqlite(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn erasure_removes_one_customer_then_one_organization_on_dynamodb() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    scenario(app).await;
}

async fn put_settings(app: &TestApp, org: &str, body: Value) -> (u16, Value) {
    app.put(org, "/api/organizations/current/settings", body).await
}

async fn retention_scenario(app: TestApp) {
    app.connect_account(ORG_A, "acc_a", IG_ACCOUNT, "EAAB-page-a").await;
    app.connect_account_on_page(ORG_B, "acc_b", IG_B, PAGE_B, "EAAB-page-b").await;
    let now_ms = app.clock_now().timestamp_millis();
    let days_ago = |days: i64| now_ms - days * 86_400_000;
    for (account, customer, mid, at) in [
        (IG_ACCOUNT, CUSTOMER, "mid-old", days_ago(40)),
        (IG_ACCOUNT, BOB, "mid-old-bob", days_ago(45)),
        (IG_ACCOUNT, BOB, "mid-recent-bob", days_ago(2)),
        (IG_B, CUSTOMER, "mid-old-b", days_ago(40)),
    ] {
        assert_eq!(app.deliver(&text_webhook(account, customer, mid, "an old line", at)).await.status(), 200);
    }
    app.run_jobs().await;
    assert_eq!(app.get(ORG_A, "/api/organizations/current/settings").await.1["messageRetentionDays"], Value::Null);
    for wrong in [json!({"messageRetentionDays": 0}), json!({"messageRetentionDays": 4000}), json!({"days": 3})] {
        let (status, body) = put_settings(&app, ORG_A, wrong.clone()).await;
        assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{wrong}");
    }
    let (status, set) = put_settings(&app, ORG_A, json!({"messageRetentionDays": 30})).await;
    assert_eq!((status, &set["messageRetentionDays"]), (200, &json!(30)), "{set}");
    assert_eq!(app.get(ORG_A, "/api/organizations/current/settings").await.1["messageRetentionDays"], 30);

    let run = inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    assert_eq!(run["conversationsExpired"], 1, "{run}");
    assert_eq!(participants(&app.conversations(ORG_A).await), [BOB], "Bob wrote two days ago: his thread stays whole");
    assert_eq!(app.conversations(ORG_B).await.len(), 1, "org_b keeps everything");
    let again = inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    assert_eq!(again["conversationsExpired"], 0);
    // Back to unlimited: nothing more expires, whatever its age.
    app.clock.advance(chrono::Duration::days(60));
    assert_eq!(put_settings(&app, ORG_A, json!({"messageRetentionDays": null})).await.0, 200);
    assert_eq!(inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap()["conversationsExpired"], 0);
    assert_eq!(app.conversations(ORG_A).await.len(), 1);
}

#[tokio::test]
async fn retention_erases_conversations_inactive_past_the_organization_s_days_in_memory() {
    retention_scenario(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn retention_erases_conversations_inactive_past_the_organization_s_days_on_sqlite() {
    retention_scenario(TestApp::on_sqlite(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn retention_erases_conversations_inactive_past_the_organization_s_days_on_dynamodb() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    retention_scenario(app).await;
}
