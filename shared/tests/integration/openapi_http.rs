//! The OpenAPI document (`shared/openapi.json`, served at `/api/openapi.json`) against the
//! code: every route the Router has is documented and every documented route is routed, and
//! every answer of a scenario that touches each route matches the documented schema for its
//! status.

use std::collections::BTreeSet;

use crate::common::*;
use inbox_shared::fixtures;
use serde_json::{Value, json};

pub(crate) fn document() -> Value {
    serde_json::from_str(inbox_shared::http::OPENAPI).expect("openapi.json is JSON")
}

/// (METHOD, path) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// (METHOD, path) of every `.route(...)` in the Router's source.
fn routed() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/http/mod.rs");
    let mut ops = BTreeSet::new();
    // A call on one line, or as rustfmt breaks a long one: `.route(\n "path",\n handlers,\n )`.
    for call in source.split(".route(").skip(1) {
        let line = if call.starts_with('\n') {
            call.split("\n        )").next().unwrap()
        } else {
            call.lines().next().unwrap()
        };
        // axum's catch-all `{*key}` is OpenAPI's `{key}`.
        let path = line.split('"').nth(1).unwrap().replace("{*", "{");
        for method in ["get", "post", "delete", "put", "patch"] {
            if line.contains(&format!("{method}(")) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let (doc, code) = (documented(&document()), routed());
    assert_eq!(doc.len(), 48, "{doc:?}");
    assert_eq!(
        doc,
        code,
        "documented but not routed: {:?}; routed but not documented: {:?}",
        doc.difference(&code).collect::<Vec<_>>(),
        code.difference(&doc).collect::<Vec<_>>()
    );
}

/// Checks `body` against the schema documented for (method, path, status).
pub(crate) fn check(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let response = &op["responses"][status.to_string()];
    assert!(response.is_object(), "{method} {path} answered {status}, not documented: {body}");
    let Some(schema) = response["content"]["application/json"]["schema"].as_object() else { return };
    let mut schema = Value::Object(schema.clone());
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{method} {path} {status}: {errors:?}\n{body}");
}

#[tokio::test]
async fn every_answer_matches_the_document() {
    let app = TestApp::dev().await;
    let doc = document();
    let r = app.client.get(format!("{}/api/openapi.json", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "served without a bearer");
    assert_eq!(r.json::<Value>().await.unwrap(), doc);

    assert_eq!(app.deliver(&fixtures::webhook("text.json")).await.status(), 200);
    let conv = app.conversations("org_a").await[0]["id"].as_str().unwrap().to_owned();
    let c = |p: &str| p.replace("{id}", &conv);
    let inbound = app.messages("org_a", &conv).await[0]["id"].as_str().unwrap().to_owned();
    let mut answers: Vec<(&str, &str, u16, Value)> = Vec::new();
    let mut get = async |template: &'static str, path: String| {
        let (status, body) = app.get("org_a", &path).await;
        answers.push(("GET", template, status, body));
    };
    get("/api/inbox/conversations", "/api/inbox/conversations?limit=5".into()).await;
    get("/api/inbox/conversations", "/api/inbox/conversations?limit=0".into()).await;
    get("/api/inbox/conversations/{id}", c("/api/inbox/conversations/{id}")).await;
    get("/api/inbox/conversations/{id}", "/api/inbox/conversations/nope".into()).await;
    get("/api/inbox/conversations/{id}/messages", c("/api/inbox/conversations/{id}/messages")).await;
    get("/api/integrations/connected-accounts", "/api/integrations/connected-accounts".into()).await;
    get("/api/integrations/meta/oauth/start", "/api/integrations/meta/oauth/start".into()).await;
    get("/api/integrations/instagram/oauth/start", "/api/integrations/instagram/oauth/start".into()).await;
    get("/api/leads", "/api/leads".into()).await;
    get("/health", "/health".into()).await;
    get("/api/inbox/contacts/{participantId}", "/api/inbox/contacts/6185000000000001".into()).await;
    get("/api/inbox/contacts/{participantId}", "/api/inbox/contacts/nobody".into()).await;
    get("/api/media/{key}", "/api/media/org_a/conv_1/msg_1/0?expires=1&signature=00".into()).await;
    get("/api/media/{key}", "/api/media/0?expires=null&expires=null&signature=".into()).await;
    get("/api/integrations/meta/oauth/callback", "/api/integrations/meta/oauth/callback?code=c&state=x.y".into()).await;
    get(
        "/api/integrations/instagram/oauth/callback",
        "/api/integrations/instagram/oauth/callback?error=access_denied".into(),
    )
    .await;
    for query in ["expires=1&maxBytes=3&signature=00", "expires=x"] {
        let r = app.client.put(format!("{}/api/media/org_a/c/uploads/u/file?{query}", app.url)).body("abc");
        let r = r.header("content-type", "image/png").send().await.unwrap();
        answers.push(("PUT", "/api/media/{key}", r.status().as_u16(), r.json().await.unwrap()));
    }
    let mut post = async |template: &'static str, path: String, body: Value| {
        let (status, answer) = app.post("org_a", &path, body).await;
        answers.push(("POST", template, status, answer));
    };
    post("/api/inbox/conversations/{id}/read", c("/api/inbox/conversations/{id}/read"), json!({})).await;
    post(
        "/api/inbox/conversations/{id}/send-text",
        c("/api/inbox/conversations/{id}/send-text"),
        json!({"text": "hi"}),
    )
    .await;
    post("/api/inbox/conversations/{id}/send-text", c("/api/inbox/conversations/{id}/send-text"), json!({"text": ""}))
        .await;
    let choices = json!({"text": "?", "quickReplies": [{"type": "TEXT", "title": "Yes", "payload": "Y"}]});
    post("/api/inbox/conversations/{id}/send", c("/api/inbox/conversations/{id}/send"), choices).await;
    let over = json!({"text": "?", "quickReplies": vec![json!({"type": "USER_EMAIL"}); 14]});
    post("/api/inbox/conversations/{id}/send", c("/api/inbox/conversations/{id}/send"), over).await;
    let pass = "/api/inbox/conversations/{id}/pass-thread";
    post(pass, c(pass), json!({})).await;
    post(pass, c(pass), json!({"targetAppId": 5})).await;
    let typing = "/api/inbox/conversations/{id}/typing";
    post(typing, c(typing), json!({"on": true})).await;
    post(typing, c(typing), json!({"on": 1})).await;
    let react = "/api/inbox/conversations/{id}/messages/{messageId}/react";
    let with_message = |p: &str| c(p).replace("{messageId}", &inbound);
    post(react, with_message(react), json!({"reaction": "love"})).await;
    post(react, with_message(react), json!({"reaction": "😂"})).await;
    post(react, c(react).replace("{messageId}", "nope"), json!({"reaction": "love"})).await;
    let attachment = json!({"type": "image", "url": "https://example.com/a.png"});
    post(
        "/api/inbox/conversations/{id}/send-attachment",
        c("/api/inbox/conversations/{id}/send-attachment"),
        attachment,
    )
    .await;
    // Without media storage (this app keeps none) uploads are not configured.
    let uploads = "/api/inbox/conversations/{id}/uploads";
    post(uploads, c(uploads), json!({"fileName": "a.png", "contentType": "image/png", "size": 10})).await;
    post(uploads, c(uploads), json!({"fileName": "a.png"})).await;
    let attach = "/api/inbox/conversations/{id}/send-attachment";
    post(attach, c(attach), json!({"uploadId": "upl_1"})).await;
    post(attach, c(attach), json!({"uploadId": "upl_1", "url": "https://example.com/a.png"})).await;
    post(
        "/api/integrations/instagram/send",
        "/api/integrations/instagram/send".into(),
        json!({"conversationId": conv, "text": "x"}),
    )
    .await;
    post("/api/leads", "/api/leads".into(), json!({"name": "Ana", "instagramHandle": "@ana"})).await;
    // A comment thread: its replies and moderation (and the DM thread's refusal of them).
    assert_eq!(app.deliver(&fixtures::webhook("comment.json")).await.status(), 200);
    let (_, threads) = app.get("org_a", "/api/inbox/conversations?kind=COMMENT").await;
    let thread = threads["data"][0]["id"].as_str().unwrap().to_owned();
    let t = |p: &str| p.replace("{id}", &thread);
    for route in ["/api/inbox/conversations/{id}/reply-public", "/api/inbox/conversations/{id}/reply-private"] {
        post(route, t(route), json!({"text": "Thanks!"})).await;
        post(route, c(route), json!({"text": "Thanks!"})).await;
    }
    let hide = "/api/inbox/conversations/{id}/hide";
    post(hide, t(hide), json!({})).await;
    post(hide, t(hide), json!({"commentId": "nope"})).await;
    post(
        "/api/integrations/meta/oauth/complete",
        "/api/integrations/meta/oauth/complete".into(),
        json!({"code": "c", "state": "x.y"}),
    )
    .await;
    let job = answers.iter().find(|a| a.1.ends_with("send-text") && a.2 == 202).unwrap().3["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app.get("org_a", &format!("/api/integrations/jobs/{job}")).await;
    answers.push(("GET", "/api/integrations/jobs/{id}", status, body));
    let (status, body) = app.post("org_a", &format!("/api/integrations/jobs/{job}/retry"), json!({})).await;
    answers.push(("POST", "/api/integrations/jobs/{id}/retry", status, body));
    let account = "env-fallback";
    for id in [account, "nope"] {
        let (status, body) = app.get("org_a", &format!("/api/integrations/connected-accounts/{id}/health")).await;
        answers.push(("GET", "/api/integrations/connected-accounts/{id}/health", status, body));
        let greeting = format!("/api/integrations/connected-accounts/{id}/profile");
        let (status, body) = app.get("org_a", &greeting).await;
        answers.push(("GET", "/api/integrations/connected-accounts/{id}/profile", status, body));
        let ice =
            json!({"iceBreakers": [{"locale": "default", "questions": [{"question": "Hours?", "payload": "H"}]}]});
        for body in [ice, json!({"iceBreakers": [{"locale": "en_GB", "questions": []}]})] {
            let (status, body) = app.put("org_a", &greeting, body).await;
            answers.push(("PUT", "/api/integrations/connected-accounts/{id}/profile", status, body));
        }
    }
    // The live stream answers as documented (its body never ends: only the head is read).
    let r = app
        .client
        .get(format!("{}/api/inbox/events", app.url))
        .bearer_auth(TestApp::token("org_a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    answers.push(("GET", "/api/inbox/events", r.status().as_u16(), Value::Null));
    app.connect_account_on_page("org_a", "acc_doc", "17841400000000077", "112233445566799", "doc-token").await;
    for id in ["acc_doc", "acc_doc", "nope"] {
        let (status, body) =
            app.post("org_a", &format!("/api/integrations/connected-accounts/{id}/history/import"), json!({})).await;
        answers.push(("POST", "/api/integrations/connected-accounts/{id}/history/import", status, body));
    }
    assert_eq!(answers.iter().rev().take(3).map(|a| a.2).collect::<Vec<_>>(), [404, 409, 202]);
    let r = app
        .client
        .delete(format!("{}/api/integrations/connected-accounts/{account}", app.url))
        .bearer_auth(TestApp::token("org_a"))
        .send()
        .await
        .unwrap();
    let unreact = c("/api/inbox/conversations/{id}/messages/{messageId}/react").replace("{messageId}", &inbound);
    let (status, body) = app.delete("org_a", &unreact).await;
    answers.push(("DELETE", "/api/inbox/conversations/{id}/messages/{messageId}/react", status, body));
    answers.push(("DELETE", "/api/integrations/connected-accounts/{id}", r.status().as_u16(), r.json().await.unwrap()));
    for route in ["/api/webhooks/instagram", "/api/webhooks/meta"] {
        let r = app
            .client
            .get(format!("{}{route}", app.url))
            .query(&[("hub.mode", "subscribe"), ("hub.verify_token", "nope"), ("hub.challenge", "1")])
            .send()
            .await
            .unwrap();
        answers.push(("GET", route, r.status().as_u16(), r.json().await.unwrap_or(Value::Null)));
    }
    let r = app.deliver(&fixtures::webhook("text.json")).await;
    answers.push(("POST", "/api/webhooks/instagram", r.status().as_u16(), r.json().await.unwrap()));
    let r = app.deliver_to("/api/webhooks/meta", &fixtures::webhook("page_message.json")).await;
    answers.push(("POST", "/api/webhooks/meta", r.status().as_u16(), r.json().await.unwrap()));
    let r = app.client.get(format!("{}/api/inbox/conversations", app.url)).send().await.unwrap();
    answers.push(("GET", "/api/inbox/conversations", r.status().as_u16(), r.json().await.unwrap()));
    // Settings: read, set wrongly, set.
    let (status, body) = app.get("org_a", "/api/organizations/current/settings").await;
    answers.push(("GET", "/api/organizations/current/settings", status, body));
    for days in [json!(0), json!(30)] {
        let r = app
            .client
            .put(format!("{}/api/organizations/current/settings", app.url))
            .bearer_auth(TestApp::token("org_a"))
            .json(&json!({ "messageRetentionDays": days }))
            .send()
            .await
            .unwrap();
        answers.push(("PUT", "/api/organizations/current/settings", r.status().as_u16(), r.json().await.unwrap()));
    }
    assert_eq!(answers.iter().rev().take(3).map(|a| a.2).collect::<Vec<_>>(), [200, 400, 200]);
    // Erasure: a customer, then (refused, then done) the organization, last of all.
    let r = app
        .client
        .delete(format!("{}/api/inbox/contacts/6185000000000001", app.url))
        .bearer_auth(TestApp::token("org_a"))
        .send()
        .await
        .unwrap();
    answers.push(("DELETE", "/api/inbox/contacts/{participantId}", r.status().as_u16(), r.json().await.unwrap()));
    for confirm in ["org_b", "org_a"] {
        let r = app
            .client
            .delete(format!("{}/api/organizations/current/data", app.url))
            .bearer_auth(TestApp::token("org_a"))
            .json(&json!({ "confirm": confirm }))
            .send()
            .await
            .unwrap();
        answers.push(("DELETE", "/api/organizations/current/data", r.status().as_u16(), r.json().await.unwrap()));
    }
    assert_eq!(answers.iter().rev().take(3).map(|a| a.2).collect::<Vec<_>>(), [200, 400, 200]);
    // Meta's callbacks: forged, valid, and the status of a code given and of one not given.
    let meta = |path: &str| format!("{}/api/integrations/meta/{path}", app.url);
    let signed = |secret: &str| {
        let payload = json!({"algorithm": "HMAC-SHA256", "user_id": "10220000000000001"});
        inbox_shared::meta::signed_request::sign(secret, &payload)
    };
    let mut code = String::new();
    for (path, secret) in [("deauthorize", "forged"), ("deauthorize", APP_SECRET), ("data-deletion", APP_SECRET)] {
        let r = app.client.post(meta(path)).form(&[("signed_request", signed(secret))]).send().await.unwrap();
        let (status, body): (u16, Value) = (r.status().as_u16(), r.json().await.unwrap());
        code = body["confirmation_code"].as_str().unwrap_or_default().to_owned();
        answers.push((
            "POST",
            if path == "deauthorize" {
                "/api/integrations/meta/deauthorize"
            } else {
                "/api/integrations/meta/data-deletion"
            },
            status,
            body,
        ));
    }
    for code in [code.as_str(), "nope"] {
        let r = app.client.get(meta(&format!("data-deletion/{code}"))).send().await.unwrap();
        answers.push((
            "GET",
            "/api/integrations/meta/data-deletion/{code}",
            r.status().as_u16(),
            r.json().await.unwrap(),
        ));
    }
    assert_eq!(answers.iter().rev().take(5).map(|a| a.2).collect::<Vec<_>>(), [404, 200, 200, 200, 403]);

    let touched: BTreeSet<(String, String)> = answers.iter().map(|a| (a.0.to_owned(), a.1.to_owned())).collect();
    let mut untouched: Vec<_> = documented(&doc).difference(&touched).cloned().collect();
    untouched.retain(|(_, p)| p != "/api/openapi.json");
    assert!(untouched.is_empty(), "routes the scenario does not touch: {untouched:?}");
    // The check can fail: a conversation without its fields is refused.
    let wrong =
        std::panic::catch_unwind(|| check(&doc, "GET", "/api/inbox/conversations/{id}", 200, &json!({"id": 1})));
    assert!(wrong.is_err(), "the schema check refuses a wrong body");
    for (method, template, status, body) in &answers {
        assert_ne!((*status, body["error"]["message"].as_str()), (404, Some("route not found")), "{method} {template}");
        check(&doc, method, template, *status, body);
    }
}
