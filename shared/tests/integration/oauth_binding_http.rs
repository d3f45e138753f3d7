//! An OAuth link connects accounts only for the agent who started it: a link forwarded to
//! someone else ("reconnect your inbox") and approved there connects nothing, whoever tries
//! to complete it.

use crate::common::oauth::*;
use crate::common::*;
use chrono::{Duration, Utc};
use inbox_shared::config::AppEnv;
use inbox_shared::http::mint_jwt_for;
use serde_json::{Value, json};

fn bearer(org: &str, sub: &str) -> String {
    mint_jwt_for(JWT_SECRET, "org_id", org, sub, (Utc::now() + Duration::hours(1)).timestamp())
}

async fn connected(app: &TestApp, org: &str) -> usize {
    let (status, body) = app.get(org, "/api/integrations/connected-accounts").await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn only_the_initiator_completes_a_connection() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    let alice = bearer("org_a", "alice");
    let state = start_as(&app, &alice).await;

    // The owner of the Instagram account approves a link Alice sent them: Meta redirects
    // their browser back with a code, and nothing is exchanged or connected yet.
    let (status, authorized) = callback(&app, &[("code", "AQD-victim#_"), ("state", &state)]).await;
    assert_eq!((status, authorized["status"].as_str()), (200, Some("AUTHORIZED")), "{authorized}");
    assert!(app.graph.calls().is_empty(), "no code exchanged by the callback");
    assert_eq!(connected(&app, "org_a").await, 0);

    // Anyone but Alice is refused with a stable code, and connects nothing.
    for (who, token) in [("another organization", bearer("org_b", "alice")), ("a colleague", bearer("org_a", "bob"))] {
        let (status, body) = complete_as(&app, &token, &authorized).await;
        assert_eq!((status, error_code(&body)), (403, "OAUTH_INITIATOR_MISMATCH"), "{who}: {body}");
    }
    let (status, body) = complete_as(&app, "not-a-token", &authorized).await;
    assert_eq!((status, error_code(&body)), (401, "UNAUTHORIZED"));
    assert!(app.graph.calls().is_empty(), "no refused completion reached Meta");
    assert_eq!(connected(&app, "org_a").await + connected(&app, "org_b").await, 0);

    // Alice herself completes it (the refusals did not spend her state), once.
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token")]));
    let (status, body) = complete_as(&app, &alice, &authorized).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["organizationId"].as_str(), body["connected"][0]["externalAccountId"].as_str()),
        (Some("org_a"), Some(IG_ACCOUNT))
    );
    assert!(app.graph.calls()[0].query.ends_with("&code=AQD-victim"), "the code Meta gave is exchanged");
    let (status, body) = complete_as(&app, &alice, &authorized).await;
    assert_eq!((status, error_code(&body)), (400, "OAUTH_STATE_INVALID"), "single use");
}

#[tokio::test]
async fn a_completion_is_checked_before_anything_is_spent_or_exchanged() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    let alice = bearer("org_a", "alice");
    let completion = |code: &str, state: &str| json!({"code": code, "state": state});
    let post = |body: Value| {
        let (client, url, alice) =
            (app.client.clone(), format!("{}/api/integrations/meta/oauth/complete", app.url), alice.clone());
        async move {
            let r = client.post(url).bearer_auth(alice).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let state = start_as(&app, &alice).await;
    for (why, body) in [
        ("no code", json!({"state": state})),
        ("empty code", completion("", &state)),
        ("huge code", completion(&"x".repeat(10_000), &state)),
        ("not a string", json!({"code": 5, "state": state})),
    ] {
        let (status, answer) = post(body).await;
        assert_eq!((status, error_code(&answer)), (400, "VALIDATION_ERROR"), "{why}: {answer}");
    }
    for (why, state) in [("forged", format!("{state}x")), ("garbage", "a.b".into()), ("no dot", "abc".into())] {
        let (status, answer) = post(completion("c", &state)).await;
        assert_eq!((status, error_code(&answer)), (400, "OAUTH_STATE_INVALID"), "{why}: {answer}");
    }
    // A state from the Instagram Login dialog is refused on the Facebook callback, and the
    // reverse: each callback exchanges with its own client.
    let (_, body) = app.get("org_a", "/api/integrations/instagram/oauth/start").await;
    let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
    let ig_state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let (status, body) = callback(&app, &[("code", "c"), ("state", &ig_state)]).await;
    assert_eq!((status, error_code(&body)), (400, "OAUTH_STATE_INVALID"), "{body}");
    assert!(app.graph.calls().is_empty());
    // Nothing above spent Alice's state.
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token")]));
    assert_eq!(post(completion("c", &state)).await.0, 200);
}

#[tokio::test]
async fn in_development_without_a_frontend_the_callback_connects_at_once() {
    let app = TestApp::with(AppEnv::Development, &[]).await;
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token")]));
    let (status, body) = callback(&app, &[("code", "c"), ("state", &start(&app, "org_a").await)]).await;
    assert_eq!((status, body["connected"][0]["externalAccountId"].as_str()), (200, Some(IG_ACCOUNT)), "{body}");
}
