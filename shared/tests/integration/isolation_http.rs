//! Tenant isolation, tried exhaustively: two organizations with data of every kind; every
//! route is called as one of them with every id and cursor of the other (and malformed ones).
//! Ids answer 404 or 400, and no body ever carries anything of the other organization.

use crate::common::*;
use serde_json::{Value, json};

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const B_ACCOUNT: &str = "17841400000000002";
const B_CUSTOMER: &str = "6185000000000009";
const B_SECRET_TEXT: &str = "org-b-private-words";

/// Org B's ids and cursors, after it received DMs, replied and created a lead.
async fn org_b_data(app: &TestApp) -> (Vec<String>, Vec<String>) {
    app.connect_account_on_page(ORG_B, "acc_b", B_ACCOUNT, "112233445566779", "EAAB-b").await;
    for i in 0..3 {
        let body = json!({"object":"instagram","entry":[{"id":B_ACCOUNT,"messaging":[{"sender":{"id":format!("{B_CUSTOMER}{i}")},
            "recipient":{"id":B_ACCOUNT},"timestamp":1732460050000i64 + i,"message":{"mid":format!("b-mid-{i}"),"text":B_SECRET_TEXT}}]}]});
        assert_eq!(app.deliver(&body.to_string()).await.status(), 200);
    }
    // A comment under one of its posts: a thread of its own.
    let comment = json!({"object":"instagram","entry":[{"id":B_ACCOUNT,"time":1732460100000i64,"changes":[{"field":"comments",
        "value":{"from":{"id":B_CUSTOMER,"username":"orgb.customer"},"media":{"id":"17900000000000999","media_product_type":"FEED"},
                 "id":"17865799348000999","text":B_SECRET_TEXT}}]}]});
    assert_eq!(app.deliver(&comment.to_string()).await.status(), 200);
    app.run_jobs().await;
    let (_, threads) = app.get(ORG_B, "/api/inbox/conversations?kind=COMMENT").await;
    let thread = threads["data"][0]["id"].as_str().expect("org b's comment thread").to_owned();
    let (_, convs) = app.get(ORG_B, "/api/inbox/conversations?provider=INSTAGRAM&kind=DM&limit=1").await;
    let conv = convs["data"][0]["id"].as_str().unwrap().to_owned();
    let mut cursors = vec![convs["nextCursor"].as_str().unwrap().to_owned()];
    let (_, sent) =
        app.post(ORG_B, &format!("/api/inbox/conversations/{conv}/send-text"), json!({"text": B_SECRET_TEXT})).await;
    let (_, lead) =
        app.post(ORG_B, "/api/leads", json!({"name": B_SECRET_TEXT, "instagramHandle": "orgb.customer"})).await;
    let (_, messages) = app.get(ORG_B, &format!("/api/inbox/conversations/{conv}/messages?limit=1")).await;
    cursors.extend(messages["nextCursor"].as_str().map(str::to_owned));
    let mut ids =
        vec![conv, sent["messageId"].as_str().unwrap().to_owned(), sent["jobId"].as_str().unwrap().to_owned()];
    ids.extend(lead["id"].as_str().map(str::to_owned));
    ids.push("acc_b".to_owned());
    ids.push(thread);
    (ids, cursors)
}

#[tokio::test]
async fn on_the_embedded_store_no_route_crosses_organizations() {
    every_route_with_every_id_of_another_organization_answers_404_or_400_and_leaks_nothing(TestApp::prod().await).await;
}

#[tokio::test]
async fn on_dynamodb_no_route_crosses_organizations() {
    let Some(app) = TestApp::on_aws(inbox_shared::config::AppEnv::Production, &[]).await else { return };
    every_route_with_every_id_of_another_organization_answers_404_or_400_and_leaks_nothing(app).await;
}

async fn every_route_with_every_id_of_another_organization_answers_404_or_400_and_leaks_nothing(app: TestApp) {
    app.connect_account(ORG_A, "acc_a", IG_ACCOUNT, "EAAB-a").await;
    assert_eq!(app.deliver(&inbox_shared::fixtures::webhook("text.json")).await.status(), 200);
    let (b_ids, b_cursors) = org_b_data(&app).await;
    assert_eq!(b_ids.len(), 6, "conversation, message, job, lead, account, comment thread: {b_ids:?}");
    assert_eq!(b_cursors.len(), 2, "conversations and messages cursors: {b_cursors:?}");
    let malformed = ["", "%00", "..%2F..%2Fx", "%F0%9F%92%A9", "conv_%27%3B--", &"x".repeat(2000)];
    let ids: Vec<String> = b_ids.iter().cloned().chain(malformed.iter().map(|s| s.to_string())).collect();
    let leaks = |body: &str| body.contains(B_SECRET_TEXT) || b_ids.iter().any(|id| body.contains(id.as_str()));

    for id in &ids {
        let calls: Vec<(&str, String, Value)> = vec![
            ("GET", format!("/api/inbox/conversations/{id}"), Value::Null),
            ("GET", format!("/api/inbox/conversations/{id}/messages"), Value::Null),
            ("POST", format!("/api/inbox/conversations/{id}/read"), json!({})),
            ("POST", format!("/api/inbox/conversations/{id}/send-text"), json!({"text": "hi"})),
            (
                "POST",
                format!("/api/inbox/conversations/{id}/send-attachment"),
                json!({"type": "image", "url": "https://example.com/a.png"}),
            ),
            ("POST", "/api/integrations/instagram/send".to_owned(), json!({"conversationId": id, "text": "hi"})),
            ("GET", format!("/api/integrations/jobs/{id}"), Value::Null),
            ("POST", format!("/api/integrations/jobs/{id}/retry"), json!({})),
            ("DELETE", format!("/api/integrations/connected-accounts/{id}"), Value::Null),
            ("GET", format!("/api/integrations/connected-accounts/{id}/health"), Value::Null),
            ("POST", format!("/api/inbox/conversations/{id}/reply-public"), json!({"text": "hi"})),
            ("POST", format!("/api/inbox/conversations/{id}/reply-private"), json!({"text": "hi"})),
            ("POST", format!("/api/inbox/conversations/{id}/hide"), json!({})),
        ];
        for (method, path, body) in calls {
            let mut req = app
                .client
                .request(method.parse().unwrap(), format!("{}{path}", app.url))
                .bearer_auth(TestApp::token(ORG_A));
            if !body.is_null() {
                req = req.json(&body);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert!(status == 404 || status == 400, "{method} {path}: {status} {text}");
            assert!(!leaks(&text), "{method} {path} leaked: {text}");
        }
    }
    // Org B's cursors (and malformed ones) on org A's listings: org A's data or 400, never B's.
    let a_conv = app.conversations(ORG_A).await[0]["id"].as_str().unwrap().to_owned();
    for cursor in b_cursors.iter().map(String::as_str).chain(["garbage", "eyJrIjoiIiwiaSI6IiJ9", "%FF"]) {
        for path in [
            format!("/api/inbox/conversations?provider=INSTAGRAM&cursor={cursor}"),
            format!("/api/inbox/conversations?cursor={cursor}"),
            format!("/api/inbox/conversations/{a_conv}/messages?cursor={cursor}"),
            format!("/api/leads?cursor={cursor}"),
        ] {
            let (status, body) = app.get(ORG_A, &path).await;
            assert!(status == 200 || status == 400, "{path}: {status} {body}");
            assert!(!leaks(&body.to_string()), "{path} leaked: {body}");
        }
    }
    // And org A's own lists hold nothing of org B.
    for path in ["/api/inbox/conversations", "/api/integrations/connected-accounts", "/api/leads"] {
        let (status, body) = app.get(ORG_A, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!leaks(&body.to_string()), "{path} leaked: {body}");
    }
}
