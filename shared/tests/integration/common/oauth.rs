//! Meta OAuth as the tests drive it: start, Meta's redirect back, the initiator's completion.

use inbox_shared::fixtures;
use serde_json::{Value, json};

use super::TestApp;

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

/// The Graph answers of one connection listing `pages`.
pub fn script_connect(app: &TestApp, pages: Value) {
    app.graph.answer(200, &[], &fixtures::graph("oauth_code_exchange.json"));
    app.graph.answer(200, &[], &fixtures::graph("oauth_long_lived.json"));
    app.graph.answer(200, &[], &json!({ "data": pages }).to_string());
    app.graph.answer(200, &[], &fixtures::graph("subscribed_apps_ok.json"));
}

pub fn page(id: &str, ig: &str, token: &str) -> Value {
    json!({"id": id, "name": format!("Page {id}"), "access_token": token,
           "instagram_business_account": {"id": ig, "username": format!("shop{ig}")}})
}
