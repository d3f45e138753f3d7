//! Meta's deauthorize and data deletion callbacks over HTTP, on memory, SQLite and DynamoDB +
//! KMS (moto): accounts connected through the strict fake Graph API by two Facebook users and
//! one Instagram Login account; a forged or broken `signed_request` changes nothing; each
//! callback touches only the accounts of the person it names, in every organization, and
//! twice is the same as once.

use crate::common::oauth::*;
use crate::common::*;
use AccountStatus::{Active, Disconnected};
use inbox_shared::config::AppEnv;
use inbox_shared::domain::{AccountStatus, ConnectedAccount, TokenKind};
use inbox_shared::meta::signed_request::sign;
use inbox_shared::testing::fake_graph::LOGIN_USER;
use serde_json::{Value, json};

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const OTHER_USER: &str = "10220000000000002";
const IG_B: &str = "17841400000000002";
const PAGE_B: &str = "998877665544332";
const IG_LOGIN: &str = "17841400000000009";
const INSTAGRAM_APP_SECRET: &str = "test-instagram-app-secret";

fn signed_for(secret: &str, user: &str) -> String {
    sign(secret, &json!({"algorithm": "HMAC-SHA256", "issued_at": 1732460000, "user_id": user}))
}

async fn callback(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.client.post(format!("{}/api/integrations/meta/{path}", app.url)).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &TestApp, code: &str) -> (u16, Value) {
    let r = app.client.get(format!("{}/api/integrations/meta/data-deletion/{code}", app.url)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The organization's accounts by external id (they were all created at one clock time).
async fn stored(app: &TestApp, org: &str) -> Vec<ConnectedAccount> {
    let mut accounts = app.store.list_accounts(org).await.unwrap();
    accounts.sort_by(|a, b| a.external_account_id.cmp(&b.external_account_id));
    accounts
}

/// How many tokens the organization's accounts still hold.
async fn tokens(app: &TestApp, org: &str) -> usize {
    let mut held = 0;
    for account in stored(app, org).await {
        for kind in [TokenKind::Page, TokenKind::User, TokenKind::InstagramUser] {
            held += usize::from(app.store.get_token(org, &account.id, kind).await.unwrap().is_some());
        }
    }
    held
}

fn statuses(accounts: &[ConnectedAccount]) -> Vec<(&str, AccountStatus)> {
    accounts.iter().map(|a| (a.external_account_id.as_str(), a.status)).collect()
}

async fn scenario(app: TestApp) {
    // org_a's Page by Meta's default login user, through the fake's own answers.
    let (status, body) = connect(&app, ORG_A, &[("code", "a"), ("state", &start(&app, ORG_A).await)]).await;
    assert_eq!(status, 200, "{body}");
    let asked = app.graph.calls().into_iter().find(|c| c.path == "/v21.0/me" && c.query.contains("fields=id"));
    assert_eq!(asked.expect("who logged in").authorization.as_deref(), Some("Bearer EAAB-long-lived-user-token"));
    // org_b's Page by another person, and an Instagram Login account.
    script_connect_as(&app, OTHER_USER, json!([page(PAGE_B, IG_B, "EAAB-page-token-b")]));
    let (status, body) = connect(&app, ORG_B, &[("code", "b"), ("state", &start(&app, ORG_B).await)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(connect_instagram_login(&app, ORG_B, IG_LOGIN).await.0, 200);
    let users: Vec<Option<String>> = stored(&app, ORG_B).await.into_iter().map(|a| a.meta_user_id).collect();
    assert_eq!(users, [Some(OTHER_USER.into()), Some(IG_LOGIN.into()), Some(OTHER_USER.into())]);
    assert!(stored(&app, ORG_A).await.iter().all(|a| a.meta_user_id.as_deref() == Some(LOGIN_USER)));
    let (_, listed) = app.get(ORG_A, "/api/integrations/connected-accounts").await;
    assert_eq!(listed["data"][0]["metaUserId"], LOGIN_USER);
    // A customer's DM in org_a: the organization's record, which no callback removes.
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "mid-kept", "hi", 1732460040000)).await.status(), 200);
    app.run_jobs().await;
    assert_eq!(app.conversations(ORG_A).await.len(), 1);
    let (tokens_a, tokens_b) = (tokens(&app, ORG_A).await, tokens(&app, ORG_B).await);
    assert_eq!((tokens_a, tokens_b), (3, 4), "page + user, page; page + user, page; Instagram Login");

    // Forged, broken or missing: refused, nothing changes.
    for (path, form, expected) in [
        ("deauthorize", vec![("signed_request", signed_for("not-our-secret", LOGIN_USER))], (403, "INVALID_SIGNATURE")),
        (
            "data-deletion",
            vec![("signed_request", signed_for("not-our-secret", LOGIN_USER))],
            (403, "INVALID_SIGNATURE"),
        ),
        ("deauthorize", vec![("signed_request", "no-dot-here".to_owned())], (400, "VALIDATION_ERROR")),
        ("data-deletion", vec![("something", "else".to_owned())], (400, "VALIDATION_ERROR")),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = callback(&app, path, &form).await;
        assert_eq!((status, error_code(&body)), expected, "{path} {body}");
    }
    assert_eq!((tokens(&app, ORG_A).await, tokens(&app, ORG_B).await), (tokens_a, tokens_b));

    // Deauthorize of the first person: their two channels, theirs only; twice is once.
    let signed = signed_for(APP_SECRET, LOGIN_USER);
    assert_eq!(callback(&app, "deauthorize", &[("signed_request", &signed)]).await, (200, json!({"disconnected": 2})));
    assert_eq!(statuses(&stored(&app, ORG_A).await), [(PAGE_ID, Disconnected), (IG_ACCOUNT, Disconnected)]);
    assert_eq!(tokens(&app, ORG_A).await, 0);
    assert_eq!(tokens(&app, ORG_B).await, tokens_b, "another person's accounts keep theirs");
    assert_eq!(callback(&app, "deauthorize", &[("signed_request", &signed)]).await, (200, json!({"disconnected": 0})));
    // Signed with the Instagram app's secret, naming the Instagram Login account.
    let instagram = signed_for(INSTAGRAM_APP_SECRET, IG_LOGIN);
    assert_eq!(callback(&app, "deauthorize", &[("signed_request", &instagram)]).await.1, json!({"disconnected": 1}));
    assert_eq!(statuses(&stored(&app, ORG_B).await), [(IG_B, Active), (IG_LOGIN, Disconnected), (PAGE_B, Active)]);

    // Data deletion of the second person: disconnected, tokens gone, no longer named.
    let (status, answer) =
        callback(&app, "data-deletion", &[("signed_request", &signed_for(APP_SECRET, OTHER_USER))]).await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["confirmation_code"].as_str().expect("Meta's field name").to_owned();
    assert_eq!(answer["url"], format!("https://inbox.example.com/api/integrations/meta/data-deletion/{code}"));
    let erased = stored(&app, ORG_B).await;
    assert_eq!(statuses(&erased), [(IG_B, Disconnected), (IG_LOGIN, Disconnected), (PAGE_B, Disconnected)]);
    let named: Vec<Option<&str>> = erased.iter().map(|a| a.meta_user_id.as_deref()).collect();
    assert_eq!(named, [None, Some(IG_LOGIN), None], "another person stays named");
    assert_eq!(tokens(&app, ORG_B).await, 0);
    assert!(app.store.accounts_of_meta_user(OTHER_USER).await.unwrap().is_empty());
    assert_eq!(status_of(&app, &code).await, (200, json!({"confirmationCode": code, "status": "COMPLETED"})));
    let again = callback(&app, "data-deletion", &[("signed_request", &signed_for(APP_SECRET, OTHER_USER))]).await;
    assert_eq!(again, (200, answer.clone()), "the same request, the same code");

    // The first person, already deauthorized, is erased too; their status is theirs alone.
    let first = callback(&app, "data-deletion", &[("signed_request", &signed)]).await.1;
    let first_code = first["confirmation_code"].as_str().unwrap();
    assert_ne!(first_code, code);
    assert!(app.store.accounts_of_meta_user(LOGIN_USER).await.unwrap().is_empty());
    assert_eq!(status_of(&app, first_code).await.1["status"], "COMPLETED");
    // The Instagram Login account's person, signed with the Instagram app's secret.
    let instagram_erased = callback(&app, "data-deletion", &[("signed_request", &instagram)]).await.1;
    assert_eq!(status_of(&app, instagram_erased["confirmation_code"].as_str().unwrap()).await.1["status"], "COMPLETED");
    assert!(stored(&app, ORG_B).await.iter().all(|a| a.meta_user_id.is_none()));

    // A code this app did not give is unknown.
    let forged = format!("{}x", &code[..code.len() - 1]);
    assert_eq!(error_code(&status_of(&app, &forged).await.1), "NOT_FOUND");
    assert_eq!(error_code(&status_of(&app, "not-a-code").await.1), "NOT_FOUND");
    // The organization's inbox is untouched.
    assert_eq!(app.conversations(ORG_A).await.len(), 1);

    // The status tells what is stored now: the same person connecting again is named again,
    // so their request reads PENDING until they ask once more.
    script_connect_as(&app, OTHER_USER, json!([page(PAGE_B, IG_B, "EAAB-page-token-b2")]));
    let (status, body) = connect(&app, ORG_B, &[("code", "b2"), ("state", &start(&app, ORG_B).await)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&app, &code).await.1["status"], "PENDING");
    let signed = signed_for(APP_SECRET, OTHER_USER);
    assert_eq!(callback(&app, "data-deletion", &[("signed_request", &signed)]).await.1["confirmation_code"], code);
    assert_eq!(status_of(&app, &code).await.1["status"], "COMPLETED");
}

#[tokio::test]
async fn meta_s_callbacks_disconnect_and_forget_only_the_person_they_name_in_memory() {
    scenario(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn meta_s_callbacks_disconnect_and_forget_only_the_person_they_name_on_sqlite() {
    scenario(TestApp::on_sqlite(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn meta_s_callbacks_disconnect_and_forget_only_the_person_they_name_on_dynamodb() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    scenario(app).await;
}
