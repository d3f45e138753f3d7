//! CONTRACT.md's inbox API rules, over HTTP against the real Router.

use crate::common::*;
use axum::body::Body;
use chrono::{Duration, Utc};
use inbox_shared::http::mint_jwt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn app_with_conversation() -> (TestApp, String) {
    let app = TestApp::dev().await;
    assert_eq!(app.deliver(&inbox_shared::fixtures::webhook("text.json")).await.status(), 200);
    let id = app.conversations("org_a").await[0]["id"].as_str().unwrap().to_owned();
    (app, id)
}

#[tokio::test]
async fn every_inbox_route_needs_a_valid_bearer_token() {
    let (app, id) = app_with_conversation().await;
    let expired = mint_jwt(JWT_SECRET, "org_id", "org_a", (Utc::now() - Duration::minutes(5)).timestamp());
    let wrong_key = mint_jwt("not-the-secret", "org_id", "org_a", (Utc::now() + Duration::hours(1)).timestamp());
    let no_claim = mint_jwt(JWT_SECRET, "tenant", "org_a", (Utc::now() + Duration::hours(1)).timestamp());
    let routes = [
        ("GET", "/api/inbox/conversations".to_owned()),
        ("GET", format!("/api/inbox/conversations/{id}")),
        ("GET", format!("/api/inbox/conversations/{id}/messages")),
        ("POST", format!("/api/inbox/conversations/{id}/read")),
        ("GET", "/api/leads".to_owned()),
        ("POST", "/api/leads".to_owned()),
    ];
    for (method, path) in &routes {
        for auth in [
            None,
            Some("Bearer garbage".to_owned()),
            Some(format!("Bearer {expired}")),
            Some(format!("Bearer {wrong_key}")),
            Some(format!("Bearer {no_claim}")),
            Some(format!("Basic {}", TestApp::token("org_a"))),
        ] {
            let mut req =
                app.client.request(method.parse().unwrap(), format!("{}{path}", app.url)).json(&json!({"name": "x"}));
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(error_code(&r.json().await.unwrap()), "UNAUTHORIZED");
        }
    }
}

#[tokio::test]
async fn another_organizations_ids_answer_404_on_every_route() {
    let (app, id) = app_with_conversation().await;
    for (status, body) in [
        app.get("org_b", &format!("/api/inbox/conversations/{id}")).await,
        app.get("org_b", &format!("/api/inbox/conversations/{id}/messages")).await,
        app.post("org_b", &format!("/api/inbox/conversations/{id}/read"), json!({})).await,
        app.get("org_a", "/api/inbox/conversations/conv_does_not_exist").await,
    ] {
        assert_eq!(status, 404, "{body}");
        assert_eq!(error_code(&body), "NOT_FOUND");
    }
    assert!(app.conversations("org_b").await.is_empty());
    // The owner's unread count was not touched by the other organization's "read".
    assert_eq!(app.get("org_a", &format!("/api/inbox/conversations/{id}")).await.1["unreadCount"], 1);
}

#[tokio::test]
async fn conversations_page_newest_first_with_cursors() {
    let app = TestApp::dev().await;
    for i in 0..5 {
        let body = text_webhook(
            IG_ACCOUNT,
            &format!("{}", 7000 + i),
            &format!("mid-{i}"),
            &format!("hi {i}"),
            1732460000000 + i * 1000,
        );
        assert_eq!(app.deliver(&body).await.status(), 200);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, body) = app.get("org_a", &format!("/api/inbox/conversations?provider=INSTAGRAM&limit=2{q}")).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(body["data"].as_array().unwrap().iter().map(|c| c["previewText"].as_str().unwrap().to_owned()));
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["hi 4", "hi 3", "hi 2", "hi 1", "hi 0"]);
    let (_, all) = app.get("org_a", "/api/inbox/conversations").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 5, "provider filter is optional");
    assert_eq!(all["nextCursor"], Value::Null);
}

#[tokio::test]
async fn bad_list_parameters_are_validation_errors() {
    let (app, id) = app_with_conversation().await;
    for path in [
        "/api/inbox/conversations?limit=0".to_owned(),
        "/api/inbox/conversations?limit=101".to_owned(),
        "/api/inbox/conversations?limit=ten".to_owned(),
        "/api/inbox/conversations?cursor=not-a-cursor".to_owned(),
        "/api/inbox/conversations?provider=FAXMACHINE".to_owned(),
        "/api/inbox/conversations?provider=WHATSAPP&limit=0".to_owned(),
        format!("/api/inbox/conversations/{id}/messages?cursor=%%%"),
        "/api/leads?limit=-1".to_owned(),
    ] {
        let (status, body) = app.get("org_a", &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(&body), "VALIDATION_ERROR");
    }
}

/// A unified inbox asks every channel alike: one this service does not own has nothing here.
#[tokio::test]
async fn another_services_channel_answers_an_empty_page() {
    let (app, _) = app_with_conversation().await;
    for provider in ["WHATSAPP", "whatsapp", "EMAIL"] {
        let (status, body) = app.get("org_a", &format!("/api/inbox/conversations?provider={provider}")).await;
        assert_eq!((status, body), (200, serde_json::json!({"data": [], "nextCursor": null})), "{provider}");
    }
}

#[tokio::test]
async fn reply_window_and_sla_follow_the_clock() {
    let (app, id) = app_with_conversation().await;
    // The inbound message is at 14:53:20.123; the test clock starts a minute later.
    let path = format!("/api/inbox/conversations/{id}");
    let get = || app.get("org_a", &path);
    let (_, c) = get().await;
    assert_eq!(c["canReply"], true);
    assert_eq!(c["replyWindowEndsAt"], "2024-11-25T14:53:20.123Z");
    assert_eq!(c["slaStatus"], "ON_TRACK");
    app.clock.set("2024-11-24T15:41:20.123Z".parse().unwrap()); // 48 min: 80 %
    assert_eq!(get().await.1["slaStatus"], "AT_RISK");
    app.clock.set("2024-11-24T15:53:20.123Z".parse().unwrap()); // 60 min
    assert_eq!(get().await.1["slaStatus"], "BREACHED");
    app.clock.set("2024-11-25T14:53:20.123Z".parse().unwrap()); // 24 h
    let (_, c) = get().await;
    assert_eq!(c["canReply"], false);
    assert_eq!(c["requiresTemplate"], false);
}

#[tokio::test]
async fn human_agent_tag_keeps_the_window_open_for_seven_days() {
    let app = TestApp::with(
        inbox_shared::config::AppEnv::Development,
        &[("DEFAULT_ORGANIZATION_ID", "org_a"), ("INSTAGRAM_HUMAN_AGENT_TAG", "true"), ("SLA_RESPONSE_MINUTES", "10")],
    )
    .await;
    app.deliver(&inbox_shared::fixtures::webhook("text.json")).await;
    app.clock.set("2024-11-30T14:53:20.000Z".parse().unwrap());
    let c = &app.conversations("org_a").await[0];
    assert_eq!(c["canReply"], true);
    assert_eq!(c["replyWindowEndsAt"], "2024-12-01T14:53:20.123Z");
    assert_eq!(c["slaStatus"], "BREACHED");
}

#[tokio::test]
async fn messages_list_newest_first_and_read_resets_unread() {
    let app = TestApp::dev().await;
    app.deliver(&inbox_shared::fixtures::webhook("batch.json")).await;
    let c = app.conversations("org_a").await.into_iter().find(|c| c["participantId"] == CUSTOMER).unwrap();
    let id = c["id"].as_str().unwrap();
    let (_, page) = app.get("org_a", &format!("/api/inbox/conversations/{id}/messages?limit=1")).await;
    assert_eq!(page["data"][0]["text"], "second");
    let cursor = page["nextCursor"].as_str().unwrap();
    let (_, page2) = app.get("org_a", &format!("/api/inbox/conversations/{id}/messages?limit=1&cursor={cursor}")).await;
    assert_eq!(page2["data"][0]["text"], "first");
    assert_eq!(page2["nextCursor"], Value::Null);
    let (status, read) = app.post("org_a", &format!("/api/inbox/conversations/{id}/read"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(read["unreadCount"], 0);
    assert_eq!(read["id"], id);
    assert_eq!(app.get("org_a", &format!("/api/inbox/conversations/{id}")).await.1["unreadCount"], 0);
}

#[tokio::test]
async fn leads_are_created_listed_and_validated_per_organization() {
    let app = TestApp::dev().await;
    let (status, lead) = app
        .post(
            "org_a",
            "/api/leads",
            json!({"name": "Ana", "instagramHandle": "@Ana.Silva", "email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    assert_eq!(lead["instagramHandle"], "ana.silva");
    assert_eq!(lead["organizationId"], "org_a");
    let (status, dup) = app.post("org_a", "/api/leads", json!({"name": "Ana 2", "instagramHandle": "ana.silva"})).await;
    assert_eq!((status, error_code(&dup)), (409, "CONFLICT"));
    let (status, _) = app.post("org_b", "/api/leads", json!({"name": "Ana", "instagramHandle": "ana.silva"})).await;
    assert_eq!(status, 201, "another organization has its own leads");
    for bad in [
        json!({}),
        json!({"name": "x", "instagramHandle": "not a handle!"}),
        json!({"name": "x", "instagramUserId": "abc"}),
        json!({"name": 5}),
        json!({"name": "x", "unknown": 1}),
        json!([1]),
        json!({"name": "n".repeat(201)}),
        json!({"name": "x", "email": "e".repeat(255)}),
        json!({"name": "x", "phone": "1".repeat(33)}),
        json!({"name": "x", "instagramUserId": "1".repeat(33)}),
    ] {
        let (status, body) = app.post("org_a", "/api/leads", bad.clone()).await;
        assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{bad}");
    }
    let r = app
        .client
        .post(format!("{}/api/leads", app.url))
        .bearer_auth(TestApp::token("org_a"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(&r.json().await.unwrap()), "VALIDATION_ERROR");
    let (_, list) = app.get("org_a", "/api/leads").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], lead["id"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::dev().await;
    let r = app.client.get(format!("{}/api/nope", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(&r.json().await.unwrap()), "NOT_FOUND");
    let r = app.client.delete(format!("{}/api/leads", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(&r.json().await.unwrap()), "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn api_gateway_authorizer_claims_name_the_organization() {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequestContext,
    };
    use lambda_http::request::RequestContext;
    let (app, _) = app_with_conversation().await;
    let router = inbox_shared::http::router(app.services.clone());
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims.insert("org_id".into(), "org_a".into());
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.authorizer = Some(authorizer);
    let mut req = axum::http::Request::get("/api/inbox/conversations").body(Body::empty()).unwrap();
    req.extensions_mut().insert(RequestContext::ApiGatewayV2(ctx.clone()));
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    // A context without the claim is not enough, and no bearer either: 401.
    ctx.authorizer = Some(ApiGatewayRequestAuthorizer::default());
    let mut req = axum::http::Request::get("/api/inbox/conversations").body(Body::empty()).unwrap();
    req.extensions_mut().insert(RequestContext::ApiGatewayV2(ctx));
    assert_eq!(router.oneshot(req).await.unwrap().status(), 401);
}

#[tokio::test]
async fn development_lists_the_fallback_account_its_conversations_name() {
    let (app, _) = app_with_conversation().await;
    let (status, body) = app.get("org_a", "/api/integrations/connected-accounts").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["id"], app.conversations("org_a").await[0]["connectedAccountId"]);
    assert_eq!(body["data"][0]["externalAccountId"], IG_ACCOUNT);
    assert!(!body.to_string().contains("dev-page-token"), "no token material");
    let prod = TestApp::prod().await;
    assert_eq!(
        prod.get("org_a", "/api/integrations/connected-accounts").await.1["data"],
        json!([]),
        "never in production"
    );
}

#[tokio::test]
async fn bearer_tokens_need_exp_a_plain_organization_id_and_the_configured_issuer_and_audience() {
    let app = TestApp::with(
        inbox_shared::config::AppEnv::Production,
        &[("AUTH_JWT_ISSUER", "https://auth.example.com"), ("AUTH_JWT_AUDIENCE", "inbox")],
    )
    .await;
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let exp = (Utc::now() + Duration::hours(1)).timestamp();
    let good = json!({"org_id": "org_a", "exp": exp, "iss": "https://auth.example.com", "aud": "inbox"});
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(key),
            v => claims.as_object_mut().unwrap().insert(key.to_owned(), v),
        };
        sign(claims)
    };
    let status = |token: String| {
        let req = app.client.get(format!("{}/api/inbox/conversations", app.url)).bearer_auth(token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(sign(good.clone())).await, 200);
    assert_eq!(status(with("exp", Value::Null)).await, 401, "exp is required");
    assert_eq!(status(with("iss", json!("https://elsewhere.example.com"))).await, 401, "wrong issuer");
    assert_eq!(status(with("iss", Value::Null)).await, 401, "issuer required when configured");
    assert_eq!(status(with("aud", json!("another-app"))).await, 401, "wrong audience");
    for org in ["", "org#1", "../org_b", "org a", "ö", &"o".repeat(65)] {
        assert_eq!(status(with("org_id", json!(org))).await, 401, "organization id {org:?}");
    }
}

#[tokio::test]
async fn every_error_names_its_request_id_as_the_header_and_the_log_do() {
    let app = TestApp::dev().await;
    for (path, status) in [("/api/nowhere", 404), ("/api/inbox/conversations", 401)] {
        let r = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        let header = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["requestId"], header.as_str(), "{body}");
    }
    let ok = app.client.get(format!("{}/health", app.url)).send().await.unwrap();
    assert!(ok.headers().contains_key("x-request-id"));
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"status": "ok"}), "success bodies are untouched");
}

#[tokio::test]
async fn story_links_keep_meta_s_url_and_say_when_they_expired() {
    let app = TestApp::dev().await;
    for fixture in ["story_mention.json", "story_reply.json"] {
        assert_eq!(app.deliver(&inbox_shared::fixtures::webhook(fixture)).await.status(), 200, "{fixture}");
    }
    let id = app.conversations("org_a").await[0]["id"].as_str().unwrap().to_owned();
    let story_links = |messages: &[Value]| -> Vec<Value> {
        let mention = messages.iter().find_map(|m| m["attachments"].as_array()?.first().cloned()).unwrap();
        let reply = messages.iter().find_map(|m| m["metaJson"]["replyTo"].get("story").cloned()).unwrap();
        vec![mention, reply]
    };
    let fresh = story_links(&app.messages("org_a", &id).await);
    // The fixtures' timestamp is 2024-11-24T14:53:20.123Z: a day later, both links stop.
    for link in &fresh {
        let url = link.get("payload").unwrap_or(link)["url"].as_str().unwrap();
        assert!(url.starts_with("https://lookaside.fbsbx.com/"), "Meta's link kept: {link}");
        assert_eq!(link["expiresAt"], "2024-11-25T14:53:20.123Z", "{link}");
        assert_eq!(link.get("expired"), None, "{link}");
    }
    app.clock.advance(Duration::hours(25));
    for link in story_links(&app.messages("org_a", &id).await) {
        assert_eq!(link["expired"], true, "a placeholder now: {link}");
    }
}
