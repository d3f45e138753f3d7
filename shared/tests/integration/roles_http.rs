//! Roles and attribution over HTTP: with a role claim configured (`AUTH_ROLE_CLAIM`), agents
//! read, reply and hide while only admins connect and disconnect channels; what a person does
//! carries their `sub` (a reply's `sentBy`, a hide's `hiddenBy`, a disconnect's
//! `statusChangedBy`).

use crate::common::*;
use chrono::{Duration, Utc};
use inbox_shared::config::AppEnv;
use inbox_shared::fixtures;
use inbox_shared::http::mint_jwt_claims;
use serde_json::{Value, json};

const ORG: &str = "org_a";

fn bearer(sub: &str, roles: Option<Value>) -> String {
    let mut claims = json!({"org_id": ORG, "sub": sub, "exp": (Utc::now() + Duration::hours(1)).timestamp()});
    if let Some(roles) = roles {
        claims["roles"] = roles;
    }
    mint_jwt_claims(JWT_SECRET, &claims)
}

async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let url = format!("{}{path}", app.url);
    let request = app.client.request(method.parse().unwrap(), url).bearer_auth(token);
    let request = if method == "GET" { request } else { request.json(&body) };
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn agents_read_reply_and_hide_while_only_admins_connect_and_disconnect_and_each_act_is_signed() {
    let app = TestApp::with(AppEnv::Production, &[("AUTH_ROLE_CLAIM", "roles")]).await;
    let account = app.connect_account(ORG, "acc_a", IG_ACCOUNT, "EAAB-page-token").await;
    for f in ["text.json", "comment.json"] {
        assert_eq!(app.deliver(&fixtures::webhook(f)).await.status(), 200, "{f}");
    }
    app.run_jobs().await;
    let agent = bearer("agent-ana", Some(json!(["agent"])));
    let admin = bearer("admin-ben", Some(json!("[admin]"))); // API Gateway's form of a list
    let nobody = bearer("no-role", None);
    let dm = app.list_conversations(ORG, "kind=DM").await[0]["id"].as_str().unwrap().to_owned();
    let thread = app.list_conversations(ORG, "kind=COMMENT").await[0]["id"].as_str().unwrap().to_owned();

    // An agent reads, replies and hides, each signed with their sub.
    let (status, page) = call(&app, "GET", "/api/inbox/conversations", &agent, Value::Null).await;
    assert_eq!((status, page["data"].as_array().map(Vec::len)), (200, Some(2)), "{page}");
    let (status, sent) =
        call(&app, "POST", &format!("/api/inbox/conversations/{dm}/send-text"), &agent, json!({"text": "Hi!"})).await;
    assert_eq!(status, 202, "{sent}");
    let reply = app.messages(ORG, &dm).await.into_iter().find(|m| m["id"] == sent["messageId"]).unwrap();
    assert_eq!(reply["metaJson"]["sentBy"], "agent-ana");
    let (status, hidden) =
        call(&app, "POST", &format!("/api/inbox/conversations/{thread}/hide"), &agent, json!({})).await;
    assert_eq!((status, hidden["metaJson"]["hiddenBy"].as_str()), (200, Some("agent-ana")), "{hidden}");

    // Administering the organization's channels is an admin's.
    let disconnect = format!("/api/integrations/connected-accounts/{}", account.id);
    let greeting = format!("{disconnect}/profile");
    let admin_only: [(&str, &str, Value); 6] = [
        ("GET", "/api/integrations/meta/oauth/start", Value::Null),
        ("GET", "/api/integrations/instagram/oauth/start", Value::Null),
        ("POST", "/api/integrations/meta/oauth/complete", json!({"code": "c", "state": "s"})),
        ("DELETE", &disconnect, Value::Null),
        ("GET", &greeting, Value::Null),
        ("PUT", &greeting, json!({})),
    ];
    for (method, path, body) in &admin_only {
        for token in [&agent, &nobody] {
            let (status, refused) = call(&app, method, path, token, body.clone()).await;
            assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{method} {path}");
        }
    }
    let (status, started) = call(&app, "GET", "/api/integrations/meta/oauth/start", &admin, Value::Null).await;
    assert_eq!(status, 200, "{started}");
    let (status, gone) = call(&app, "DELETE", &disconnect, &admin, Value::Null).await;
    assert_eq!((status, gone["statusChangedBy"].as_str()), (200, Some("admin-ben")), "{gone}");
    let (_, listed) = call(&app, "GET", "/api/integrations/connected-accounts", &agent, Value::Null).await;
    assert_eq!(listed["data"][0]["statusChangedBy"], "admin-ben", "shown to the organization");
}

/// Without a role claim configured every caller keeps today's rights.
#[tokio::test]
async fn without_a_role_claim_every_caller_may_administer() {
    let app = TestApp::prod().await;
    let account = app.connect_account(ORG, "acc_a", IG_ACCOUNT, "EAAB-page-token").await;
    let anyone = bearer("agent-ana", Some(json!(["agent"])));
    let path = format!("/api/integrations/connected-accounts/{}", account.id);
    let (status, gone) = call(&app, "DELETE", &path, &anyone, Value::Null).await;
    assert_eq!((status, gone["statusChangedBy"].as_str()), (200, Some("agent-ana")), "{gone}");
}

/// A production server never takes a token signed with the public development secret.
#[tokio::test]
async fn a_production_server_refuses_tokens_signed_with_the_development_secret() {
    let app = TestApp::prod().await;
    let exp = (Utc::now() + Duration::hours(1)).timestamp();
    let forged = mint_jwt_claims(inbox_shared::config::DEVELOPMENT_JWT_SECRET, &json!({"org_id": ORG, "exp": exp}));
    let (status, body) = call(&app, "GET", "/api/inbox/conversations", &forged, Value::Null).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "{body}");
}
