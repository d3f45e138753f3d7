//! Meta OAuth as the tests drive it: start, Meta's redirect back, the initiator's completion.

use inbox_shared::fixtures;
use serde_json::{Value, json};

use super::{IG_ACCOUNT, PAGE_ID, TestApp};

/// Starts OAuth for `org` and returns the state from the dialog URL.
pub async fn start(app: &TestApp, org: &str) -> String {
    start_as(app, &TestApp::token(org)).await
}

/// Starts OAuth as the holder of `bearer` and returns the state from the dialog URL.
pub async fn start_as(app: &TestApp, bearer: &str) -> String {
    let url = format!("{}/api/integrations/meta/oauth/start", app.url);
    let r = app.client.get(url).bearer_auth(bearer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.host_str(), Some("www.facebook.com"));
    assert_eq!(url.path(), "/v21.0/dialog/oauth");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "1234567890");
    assert_eq!(q["redirect_uri"], "https://inbox.example.com/api/integrations/meta/oauth/callback");
    assert!(q["scope"].contains("instagram_manage_messages") && q["scope"].contains("pages_manage_metadata"));
    q["state"].clone()
}

/// Meta's redirect back, without a bearer token.
pub async fn callback(app: &TestApp, query: &[(&str, &str)]) -> (u16, Value) {
    let r =
        app.client.get(format!("{}/api/integrations/meta/oauth/callback", app.url)).query(query).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Meta's redirect back, then (as the frontend does in production) the completion under the
/// bearer of `org`, the organization that started the flow.
pub async fn connect(app: &TestApp, org: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = callback(app, query).await;
    if body["status"] != "AUTHORIZED" {
        return (status, body);
    }
    assert_eq!(status, 200, "{body}");
    complete_as(app, &TestApp::token(org), &body).await
}

/// `POST .../oauth/complete` with what the callback authorised, as the holder of `bearer`.
pub async fn complete_as(app: &TestApp, bearer: &str, authorized: &Value) -> (u16, Value) {
    let completion = json!({"code": authorized["code"], "state": authorized["state"]});
    let url = format!("{}/api/integrations/meta/oauth/complete", app.url);
    let r = app.client.post(url).bearer_auth(bearer).json(&completion).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The Graph answers of one connection listing `pages`, by Meta's default login user.
pub fn script_connect(app: &TestApp, pages: Value) {
    script_connect_as(app, inbox_shared::testing::fake_graph::LOGIN_USER, pages);
}

/// The Graph answers of one connection by the Facebook user `user` listing `pages`.
pub fn script_connect_as(app: &TestApp, user: &str, pages: Value) {
    app.graph.answer(200, &[], &fixtures::graph("oauth_code_exchange.json"));
    app.graph.answer(200, &[], &fixtures::graph("oauth_long_lived.json"));
    app.graph.answer(200, &[], &json!({ "id": user }).to_string());
    app.graph.answer(200, &[], &json!({ "data": pages }).to_string());
    app.graph.answer(200, &[], &fixtures::graph("subscribed_apps_ok.json"));
}

pub fn page(id: &str, ig: &str, token: &str) -> Value {
    json!({"id": id, "name": format!("Page {id}"), "access_token": token,
           "instagram_business_account": {"id": ig, "username": format!("shop{ig}")}})
}

/// The Graph answers of an Instagram Login connection of the account `ig_id`: the code
/// exchange inside `data[]` with a numeric id (as Meta sometimes answers), the 60-day token
/// `IGAA-long`, the account, the subscription.
pub fn script_instagram_connect(app: &TestApp, ig_id: &str) {
    let numeric: u64 = ig_id.parse().expect("an Instagram id is a number");
    let grant = json!({"data": [{"access_token": "IGAA-short", "user_id": numeric,
        "permissions": "instagram_business_basic,instagram_business_manage_messages"}]});
    app.graph.answer(200, &[], &grant.to_string());
    app.graph.answer(200, &[], r#"{"access_token":"IGAA-long","token_type":"bearer","expires_in":5183944}"#);
    app.graph.answer(200, &[], &json!({"user_id": ig_id, "username": "coast.ig"}).to_string());
    app.graph.answer(200, &[], r#"{"success":true}"#);
}

/// Connects `ig_id` to `org` with Instagram Login: start, Meta's redirect back, completion.
pub async fn connect_instagram_login(app: &TestApp, org: &str, ig_id: &str) -> (u16, Value) {
    let (status, body) = app.get(org, "/api/integrations/instagram/oauth/start").await;
    assert_eq!(status, 200, "{body}");
    let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    script_instagram_connect(app, ig_id);
    let r = app
        .client
        .get(format!("{}/api/integrations/instagram/oauth/callback", app.url))
        .query(&[("code", "AQB-ig#_"), ("state", &state)])
        .send()
        .await
        .unwrap();
    let authorized: Value = r.json().await.unwrap();
    complete_as(app, &TestApp::token(org), &authorized).await
}

/// `org` connected through Facebook Login to a Page with an Instagram account: (Instagram
/// account id, Messenger account id).
pub async fn connect_both_channels(app: &TestApp, org: &str) -> (String, String) {
    script_connect(app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token")]));
    let (status, body) = connect(app, org, &[("code", "c"), ("state", &start(app, org).await)]).await;
    assert_eq!(status, 200, "{body}");
    let connected = body["connected"].as_array().unwrap();
    let id_of = |provider: &str| {
        let a = connected.iter().find(|a| a["provider"] == provider).unwrap_or_else(|| panic!("{provider}: {body}"));
        (a["id"].as_str().unwrap().to_owned(), a["externalAccountId"].as_str().unwrap().to_owned())
    };
    let ((ig, ig_external), (messenger, page_external)) = (id_of("INSTAGRAM"), id_of("MESSENGER"));
    assert_eq!((ig_external.as_str(), page_external.as_str()), (IG_ACCOUNT, PAGE_ID));
    (ig, messenger)
}

/// A production app where `org` has both channels of one Page and a conversation on each:
/// (app, Instagram conversation, Messenger conversation), the Graph calls so far forgotten.
pub async fn with_both_channels(org: &str) -> (TestApp, String, String) {
    let app = TestApp::prod().await;
    let (instagram, messenger) = both_channels_on(&app, org).await;
    (app, instagram, messenger)
}

/// `with_both_channels` on an app of the caller's: (Instagram conversation, Messenger
/// conversation).
pub async fn both_channels_on(app: &TestApp, org: &str) -> (String, String) {
    connect_both_channels(app, org).await;
    for fixture in ["text.json", "page_message.json"] {
        assert_eq!(app.deliver(&fixtures::webhook(fixture)).await.status(), 200);
    }
    app.run_jobs().await;
    let mut ids = Vec::new();
    for provider in ["INSTAGRAM", "MESSENGER"] {
        let list = app.list_conversations(org, &format!("provider={provider}")).await;
        ids.push(list[0]["id"].as_str().unwrap().to_owned());
    }
    app.graph.state.calls.lock().unwrap().clear();
    (ids[0].clone(), ids[1].clone())
}
