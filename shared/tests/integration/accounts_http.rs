//! Production mode end to end: organizations connect their own Instagram accounts through
//! Meta OAuth (against the fake Graph API), webhooks follow the accounts, sends use their
//! tokens, nothing is dropped while an account waits for (re)connection. The same scenario
//! runs on the embedded adapters and on DynamoDB + KMS (moto).

use crate::common::oauth::*;
use crate::common::*;
use chrono::Duration;
use inbox_shared::config::AppEnv;
use inbox_shared::domain::{AccountStatus, PageRequest, TokenKind};
use inbox_shared::fixtures;
use inbox_shared::ports::TokenContext;
use inbox_shared::services::JobOutcome;
use inbox_shared::testing::fake_graph::Host;
use serde_json::{Value, json};

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const IG_B: &str = "17841400000000002";
const PAGE_B: &str = "998877665544332";

async fn accounts(app: &TestApp, org: &str) -> Vec<Value> {
    let (status, body) = app.get(org, "/api/integrations/connected-accounts").await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// Every log line of this test process, as JSON, for the "never logged" checks.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        #[derive(Clone)]
        struct Sink;
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                captured_logs().lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt().json().with_max_level(tracing::Level::DEBUG).with_writer(|| Sink).try_init();
        std::sync::Mutex::new(Vec::new())
    })
}

async fn scenario(app: TestApp) {
    captured_logs();
    // An event for an account nobody has connected yet: acknowledged and kept.
    assert_eq!(app.deliver(&fixtures::webhook("text.json")).await.status(), 200);
    assert!(app.conversations(ORG_A).await.is_empty());

    // org_a connects it (Meta's fixtures: page 112233445566778, Instagram 17841400000000001).
    let state = start(&app, ORG_A).await;
    let (status, connected) = connect(&app, ORG_A, &[("code", "AQD-code#_"), ("state", &state)]).await;
    assert_eq!(status, 200, "{connected}");
    assert_eq!(connected["organizationId"], ORG_A);
    assert_eq!(connected["connected"][0]["externalAccountId"], IG_ACCOUNT);
    assert_eq!(connected["connected"][0]["pageId"], PAGE_ID);
    assert_eq!(connected["connected"][0]["status"], "ACTIVE");
    assert_eq!(connected["connected"][1]["provider"], "MESSENGER", "the Page's own DMs: {connected}");
    assert_eq!(connected["replayQueued"], 3, "replay queued for the Instagram id, the page id, the Page's Messenger");
    assert!(app.conversations(ORG_A).await.is_empty(), "replayed by the job processor, not the callback");
    app.run_jobs().await;
    let calls = app.graph.calls();
    assert!(
        calls[0].path.ends_with("/oauth/access_token") && calls[0].query.ends_with("&code=AQD-code"),
        "{:?}",
        calls[0]
    );
    assert!(calls[1].query.contains("grant_type=fb_exchange_token"));
    assert!(calls.iter().any(|c| c.method == "POST" && c.path == format!("/v21.0/{PAGE_ID}/subscribed_apps")));
    // Each channel's history imported from the Page's conversations on its platform.
    assert_eq!(connected["historyQueued"], 2, "{connected}");
    for platform in ["instagram", "messenger"] {
        let listed = |c: &&inbox_shared::testing::fake_graph::GraphCall| {
            c.path == format!("/v21.0/{PAGE_ID}/conversations") && c.query.contains(&format!("platform={platform}"))
        };
        assert!(calls.iter().any(|c| listed(&c)), "{platform} history read");
    }
    assert_eq!(accounts(&app, ORG_A).await[0]["history"]["status"], "DONE");
    let conversations = app.conversations(ORG_A).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["previewText"], "Hello! Do you ship to Lisbon?");
    let account_a = connected["connected"][0]["id"].as_str().unwrap().to_owned();
    let messenger_a = connected["connected"][1]["id"].as_str().unwrap().to_owned();

    // The state is single-use, signed and expiring.
    let (status, body) = connect(&app, ORG_A, &[("code", "again"), ("state", &state)]).await;
    assert_eq!((status, error_code(&body)), (400, "OAUTH_STATE_INVALID"), "replayed state");
    let mut forged = state.clone();
    forged.replace_range(3..4, if &state[3..4] == "A" { "B" } else { "A" });
    assert_eq!(error_code(&callback(&app, &[("code", "c"), ("state", &forged)]).await.1), "OAUTH_STATE_INVALID");
    let late = start(&app, ORG_A).await;
    app.clock.advance(Duration::minutes(11));
    let (status, body) = connect(&app, ORG_A, &[("code", "c"), ("state", &late)]).await;
    assert_eq!((status, error_code(&body)), (400, "OAUTH_STATE_INVALID"), "expired state");
    let cancelled = start(&app, ORG_B).await;
    let injected = "Your inbox moved: log in at https://evil.example";
    let (status, body) = callback(
        &app,
        &[
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", injected),
            ("state", &cancelled),
        ],
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "OAUTH_DENIED"));
    assert!(!body.to_string().contains("evil.example"), "Meta's redirect text is not echoed: {body}");
    assert!(accounts(&app, ORG_B).await.is_empty(), "a cancel connects nothing");

    // org_b connects its own account; an attempt to take org_a's is refused.
    script_connect(&app, json!([page(PAGE_B, IG_B, "EAAB-page-token-b")]));
    let (status, body) = connect(&app, ORG_B, &[("code", "b"), ("state", &start(&app, ORG_B).await)]).await;
    assert_eq!(status, 200, "{body}");
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-stolen")]));
    let (status, body) = connect(&app, ORG_B, &[("code", "c"), ("state", &start(&app, ORG_B).await)]).await;
    assert_eq!((status, error_code(&body)), (409, "ACCOUNT_CONNECTED_ELSEWHERE"));
    let a_accounts = accounts(&app, ORG_A).await;
    let b_accounts = accounts(&app, ORG_B).await;
    // Each Page's Instagram account and its Messenger channel.
    let external = |accounts: &[Value]| accounts.iter().map(|a| a["externalAccountId"].clone()).collect::<Vec<_>>();
    assert_eq!(external(&a_accounts), [json!(IG_ACCOUNT), json!(PAGE_ID)]);
    assert_eq!(external(&b_accounts), [json!(IG_B), json!(PAGE_B)]);
    let ctx = TokenContext { organization_id: ORG_A, connected_account_id: &account_a };
    let stored = app.store.get_token(ORG_A, &account_a, TokenKind::Page).await.unwrap().unwrap();
    assert_eq!(
        app.cipher.decrypt(&stored.encrypted, &ctx).await.unwrap(),
        "EAAB-page-token",
        "not overwritten by the refused attempt"
    );
    let user = app.store.get_token(ORG_A, &account_a, TokenKind::User).await.unwrap().unwrap();
    assert!(user.expires_at.is_some(), "the long-lived user token is kept for the refresh");

    // Webhooks follow the accounts; each organization sees only its own.
    app.deliver(&text_webhook(IG_B, "42", "mid-b", "hello b", 1732460050000)).await;
    assert_eq!(app.conversations(ORG_B).await.len(), 1);
    assert_eq!(app.conversations(ORG_A).await.len(), 1);
    let conv_a = app.conversations(ORG_A).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.get(ORG_B, &format!("/api/inbox/conversations/{conv_a}")).await;
    assert_eq!(status, 404);

    // Sends use the organization's own decrypted page token.
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "mid-fresh", "still there?", 1732460070000)).await;
    app.clock.set(start_time());
    let (status, _) =
        app.post(ORG_A, &format!("/api/inbox/conversations/{conv_a}/send-text"), json!({"text": "yes!"})).await;
    assert_eq!(status, 202);
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    let send = app.graph.calls().into_iter().rfind(|c| c.path.ends_with("/messages")).unwrap();
    assert_eq!(send.authorization.as_deref(), Some("Bearer EAAB-page-token"));

    // No token in any answer.
    let mut answers = format!("{connected}{body}{}{}", json!(a_accounts), json!(b_accounts));
    answers.push_str(&app.get(ORG_A, &format!("/api/inbox/conversations/{conv_a}/messages")).await.1.to_string());
    assert!(!answers.contains("EAAB"), "{answers}");

    // A token Meta refuses flags the account: inbound keeps flowing, sends fail fast...
    app.graph.answer(400, &[], &fixtures::graph("error_token_expired.json"));
    app.post(ORG_A, &format!("/api/inbox/conversations/{conv_a}/send-text"), json!({"text": "again"})).await;
    app.run_jobs().await;
    assert_eq!(accounts(&app, ORG_A).await[0]["status"], "REAUTH_REQUIRED");
    assert_eq!(
        app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "mid-reauth", "hello?", 1732460080000)).await.status(),
        200
    );
    assert_eq!(app.conversations(ORG_A).await[0]["previewText"], "hello?");
    let (status, body) =
        app.post(ORG_A, &format!("/api/inbox/conversations/{conv_a}/send-text"), json!({"text": "x"})).await;
    assert_eq!((status, error_code(&body)), (422, "ACCOUNT_REAUTH_REQUIRED"));
    // ...until the owner reconnects: same account, ACTIVE again.
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token-2")]));
    let (status, body) = connect(&app, ORG_A, &[("code", "r"), ("state", &start(&app, ORG_A).await)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connected"][0]["id"], account_a.as_str());
    assert_eq!(accounts(&app, ORG_A).await[0]["status"], "ACTIVE");
    assert_eq!(app.get(ORG_A, &format!("/api/inbox/conversations/{conv_a}")).await.1["canReply"], true);

    // Disconnect: unsubscribed (once the Page's Messenger channel is gone too), tokens gone,
    // later events wait for a reconnect.
    let (status, _) = app.delete(ORG_A, &format!("/api/integrations/connected-accounts/{messenger_a}")).await;
    assert_eq!(status, 200);
    assert!(!app.graph.calls().iter().any(|c| c.method == "DELETE"), "the Instagram account still uses the Page");
    let (status, _) = app.delete(ORG_B, &format!("/api/integrations/connected-accounts/{account_a}")).await;
    assert_eq!(status, 404, "another organization cannot disconnect it");
    let (status, disconnected) = app.delete(ORG_A, &format!("/api/integrations/connected-accounts/{account_a}")).await;
    assert_eq!((status, disconnected["status"].as_str()), (200, Some("DISCONNECTED")));
    assert!(
        app.graph.calls().iter().any(|c| c.method == "DELETE" && c.path == format!("/v21.0/{PAGE_ID}/subscribed_apps"))
    );
    assert_eq!(app.store.get_token(ORG_A, &account_a, TokenKind::Page).await.unwrap(), None);
    assert_eq!(app.store.get_account(ORG_A, &account_a).await.unwrap().unwrap().status, AccountStatus::Disconnected);
    app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "mid-after", "anyone?", 1732460090000)).await;
    assert_ne!(app.conversations(ORG_A).await[0]["previewText"], "anyone?", "not in the inbox while disconnected");
    assert_eq!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().len(), 1, "kept for replay");
    // Now org_b may connect it, and gets the waiting event.
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, "EAAB-page-token-b2")]));
    let (status, body) = connect(&app, ORG_B, &[("code", "t"), ("state", &start(&app, ORG_B).await)]).await;
    assert_eq!((status, body["replayQueued"].as_u64()), (200, Some(3)), "{body}");
    app.run_jobs().await;
    assert!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().is_empty(), "deleted once replayed");
    assert!(app.conversations(ORG_B).await.iter().any(|c| c["previewText"] == "anyone?"));

    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("Instagram accounts connected"), "logs were captured");
    assert!(
        !logs.contains("EAAB"),
        "no token in any log line: {}",
        logs.lines().filter(|l| l.contains("EAAB")).collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test]
async fn organizations_connect_their_own_accounts_on_the_embedded_adapters() {
    scenario(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn organizations_connect_their_own_accounts_on_dynamodb_and_kms() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    scenario(app).await;
}

#[tokio::test]
async fn the_scheduled_refresh_renews_exactly_the_due_tokens() {
    let app = TestApp::with(AppEnv::Production, &[("TOKEN_REFRESH_HORIZON_HOURS", "48")]).await;
    let state = start(&app, ORG_A).await;
    assert_eq!(connect(&app, ORG_A, &[("code", "c"), ("state", &state)]).await.0, 200);
    let account = accounts(&app, ORG_A).await[0]["id"].as_str().unwrap().to_owned();
    // The long-lived token lives ~60 days: not due now.
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.due, report.refreshed), (0, 0));
    // Two days before it expires it is due, and refreshed once however many runs overlap.
    app.clock.advance(Duration::seconds(5183944) - Duration::hours(47));
    let (first, second) =
        tokio::join!(app.services.accounts.refresh_due_tokens(), app.services.accounts.refresh_due_tokens());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.refreshed + second.refreshed, 1, "{first:?} {second:?}");
    let exchanges = app
        .graph
        .calls()
        .into_iter()
        .filter(|c| c.query.contains("fb_exchange_token=EAAB-long-lived-user-token"))
        .count();
    assert_eq!(exchanges, 1, "the stored token was exchanged once");
    let token = app.store.get_token(ORG_A, &account, TokenKind::User).await.unwrap().unwrap();
    assert_eq!(token.refreshed_at, app.clock_now());
    // Meta calls the user token invalid (190): it is no longer due, but the Page token still
    // sends, so the account stays ACTIVE.
    app.clock.advance(Duration::seconds(5183944) - Duration::hours(47));
    app.graph.answer(400, &[], &fixtures::graph("error_token_expired.json"));
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.refreshed, report.failed, report.reauth_required), (0, 1, 0), "{report:?}");
    assert_eq!(report.reasons.get("token_invalid"), Some(&1));
    assert_eq!(accounts(&app, ORG_A).await[0]["status"], "ACTIVE");
    assert_eq!(app.services.accounts.refresh_due_tokens().await.unwrap().due, 0, "not tried again");
}

#[tokio::test]
async fn oauth_is_refused_clearly_when_it_cannot_work() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    let (status, body) = callback(&app, &[("code", "c")]).await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"));
    // Meta refuses the code: nothing is connected.
    app.graph.answer(
        400,
        &[],
        r#"{"error":{"message":"Invalid verification code format.","type":"OAuthException","code":100}}"#,
    );
    let (status, body) = connect(&app, ORG_A, &[("code", "bad"), ("state", &start(&app, ORG_A).await)]).await;
    assert_eq!((status, error_code(&body)), (502, "OAUTH_EXCHANGE_FAILED"));
    // No Page chosen in Meta's dialog: nothing to connect.
    script_connect(&app, json!([]));
    let (status, body) = connect(&app, ORG_A, &[("code", "c"), ("state", &start(&app, ORG_A).await)]).await;
    assert_eq!((status, error_code(&body)), (422, "NO_INSTAGRAM_ACCOUNT"));
    let _ = app.graph.state.script.lock().unwrap().pop_front(); // the subscription no Page needed
    assert!(accounts(&app, ORG_A).await.is_empty());
    let (status, _) = app
        .client
        .get(format!("{}/api/integrations/meta/oauth/start", app.url))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401, "starting needs a bearer");
}

#[tokio::test]
async fn an_instagram_login_account_connects_and_sends_through_graph_instagram_com() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    const IG_LOGIN: &str = "17841400000000009";
    // An event that arrives before the account is connected waits for it.
    app.deliver(&text_webhook(IG_LOGIN, CUSTOMER, "mid-ig-1", "hi there", 1732460040000)).await;

    let (status, body) = app.get(ORG_A, "/api/integrations/instagram/oauth/start").await;
    assert_eq!(status, 200, "{body}");
    let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
    assert_eq!((url.host_str(), url.path()), (Some("www.instagram.com"), "/oauth/authorize"));
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "9876543210");
    assert_eq!(
        q["scope"],
        "instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments"
    );

    // The code exchange answers inside `data[]` with a numeric id, as Meta sometimes does.
    script_instagram_connect(&app, IG_LOGIN);
    let r = app
        .client
        .get(format!("{}/api/integrations/instagram/oauth/callback", app.url))
        .query(&[("code", "AQB-ig#_"), ("state", &q["state"])])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let authorized: Value = r.json().await.unwrap();
    assert_eq!((authorized["status"].as_str(), authorized["code"].as_str()), (Some("AUTHORIZED"), Some("AQB-ig")));
    assert!(app.graph.calls().is_empty(), "nothing is exchanged before the initiator completes");
    let completion = json!({"code": authorized["code"], "state": authorized["state"]});
    let (status, connected) = app.post(ORG_A, "/api/integrations/meta/oauth/complete", completion).await;
    assert_eq!(status, 200, "{connected}");
    assert_eq!(connected["connected"][0]["externalAccountId"], IG_LOGIN);
    assert_eq!(connected["connected"][0]["pageId"], Value::Null);
    assert_eq!(connected["connected"][0]["username"], "coast.ig");
    assert_eq!(connected["replayQueued"], 1, "an Instagram Login account has no page id");
    app.run_jobs().await;
    let calls = app.graph.calls();
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/oauth/access_token"));
    assert!(calls[1].path == "/access_token" && calls[1].query.contains("grant_type=ig_exchange_token"));
    assert_eq!(calls[2].authorization.as_deref(), Some("Bearer IGAA-long"));
    assert_eq!((calls[3].method.as_str(), calls[3].path.as_str()), ("POST", "/v21.0/me/subscribed_apps"));
    assert_eq!(connected["historyQueued"], 1);
    let history = calls.iter().find(|c| c.path == "/v21.0/me/conversations").expect("history read");
    assert!(history.host == Host::Instagram && history.query.contains("platform=instagram"), "{history:?}");
    let account = connected["connected"][0]["id"].as_str().unwrap();
    let token = app.store.get_token(ORG_A, account, TokenKind::InstagramUser).await.unwrap().unwrap();
    assert!(token.expires_at.is_some(), "the 60-day token is refreshed by the schedule");

    let conv = app.conversations(ORG_A).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        app.post(ORG_A, &format!("/api/inbox/conversations/{conv}/send-text"), json!({"text": "hello!"})).await;
    assert_eq!(status, 202);
    app.run_jobs().await;
    let send = app.graph.calls().into_iter().rfind(|c| c.path.ends_with("/messages")).unwrap();
    assert_eq!(send.path, format!("/v21.0/{IG_LOGIN}/messages"));
    assert_eq!(send.authorization.as_deref(), Some("Bearer IGAA-long"));

    // Disconnecting stops Meta's deliveries for the account itself (it has no Page).
    let (status, _) = app.delete(ORG_A, &format!("/api/integrations/connected-accounts/{account}")).await;
    assert_eq!(status, 200);
    let unsubscribe = app.graph.calls().into_iter().rfind(|c| c.method == "DELETE").expect("an unsubscribe call");
    assert_eq!(unsubscribe.path, "/v21.0/me/subscribed_apps");
    assert_eq!(unsubscribe.authorization.as_deref(), Some("Bearer IGAA-long"));
}

#[tokio::test]
async fn with_a_return_url_the_callback_sends_the_browser_back_to_the_frontend() {
    let app =
        TestApp::with(AppEnv::Production, &[("OAUTH_RETURN_URL", "https://app.example.com/settings/instagram")]).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = |query: Vec<(&'static str, String)>| {
        let (browser, url) = (browser.clone(), format!("{}/api/integrations/meta/oauth/callback", app.url));
        async move {
            let r = browser.get(url).query(&query).send().await.unwrap();
            assert_eq!(r.status(), 303);
            let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
            assert_eq!((location.host_str(), location.path()), (Some("app.example.com"), "/settings/instagram"));
            location.query_pairs().into_owned().collect::<std::collections::HashMap<_, _>>()
        }
    };
    let cancelled = back(vec![("error", "access_denied".into()), ("state", start(&app, ORG_A).await)]).await;
    assert_eq!((cancelled["status"].as_str(), cancelled["code"].as_str()), ("error", "OAUTH_DENIED"));
    let authorized = back(vec![("code", "AQD-c#_".into()), ("state", start(&app, ORG_A).await)]).await;
    assert_eq!((authorized["status"].as_str(), authorized["code"].as_str()), ("authorized", "AQD-c"));
    assert!(app.graph.calls().is_empty(), "the callback alone exchanges nothing");
    // The frontend completes under the agent's own bearer.
    let completion = json!({"code": authorized["code"], "state": authorized["state"]});
    let (status, connected) = app.post(ORG_A, "/api/integrations/meta/oauth/complete", completion).await;
    assert_eq!((status, connected["connected"].as_array().map(Vec::len)), (200, Some(2)), "{connected}");
    assert!(!connected.to_string().contains("EAAB"), "no token in the answer");
}

#[tokio::test]
async fn a_large_backlog_that_waited_for_its_account_is_replayed_by_queued_jobs_a_page_at_a_time() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    let items: Vec<Value> = (0..150)
        .map(|i| {
            json!({"sender":{"id":format!("6185{i:012}")},"recipient":{"id":IG_ACCOUNT},
                   "timestamp":1_732_460_000_000i64 + i,"message":{"mid":format!("waiting-{i}"),"text":"hi"}})
        })
        .collect();
    let body = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"messaging":items}]}).to_string();
    assert_eq!(app.deliver(&body).await.status(), 200);
    assert_eq!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().len(), 150);

    let (status, connected) = connect(&app, ORG_A, &[("code", "c"), ("state", &start(&app, ORG_A).await)]).await;
    assert_eq!((status, connected["replayQueued"].as_u64()), (200, Some(3)), "{connected}");
    app.run_jobs().await;
    assert!(app.store.list_raw_events(IG_ACCOUNT).await.unwrap().is_empty(), "each deleted once replayed");
    let first = app.store.list_conversations(ORG_A, Default::default(), &PageRequest::first(100)).await.unwrap();
    let after = first.next_cursor.as_deref().and_then(inbox_shared::domain::Cursor::decode);
    let second =
        app.store.list_conversations(ORG_A, Default::default(), &PageRequest { limit: 100, after }).await.unwrap();
    assert_eq!(first.data.len() + second.data.len(), 150, "every waiting message reached the inbox once");
}

/// A Page's subscription is the app's, shared by every organization's channels on it: one
/// organization's Instagram account and another's Messenger channel on the same Page keep
/// it subscribed until the last of them is disconnected, in either order, on both stores.
#[tokio::test]
async fn a_page_shared_by_two_organizations_is_unsubscribed_only_when_neither_uses_it() {
    for instagram_first in [true, false] {
        shared_page_case(TestApp::prod().await, instagram_first).await;
        if let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await {
            shared_page_case(app, instagram_first).await;
        }
    }
}

async fn shared_page_case(app: TestApp, instagram_first: bool) {
    let instagram = app.connect_account(ORG_A, "acc_ig", IG_ACCOUNT, "EAAB-page-token").await;
    let messenger = app.connect_messenger(ORG_B, "acc_fb", PAGE_ID, "EAAB-page-token").await;
    let [(first_org, first), (last_org, last)] = match instagram_first {
        true => [(ORG_A, &instagram), (ORG_B, &messenger)],
        false => [(ORG_B, &messenger), (ORG_A, &instagram)],
    };
    let unsubscribes = || {
        let path = format!("/v21.0/{PAGE_ID}/subscribed_apps");
        app.graph.calls().into_iter().filter(|c| c.method == "DELETE" && c.path == path).count()
    };
    let gone = app.delete(first_org, &format!("/api/integrations/connected-accounts/{}", first.id)).await;
    assert_eq!((gone.0, gone.1["status"].as_str()), (200, Some("DISCONNECTED")));
    assert_eq!(unsubscribes(), 0, "the other organization's channel still uses the Page");
    let gone = app.delete(last_org, &format!("/api/integrations/connected-accounts/{}", last.id)).await;
    assert_eq!(gone.0, 200);
    assert_eq!(unsubscribes(), 1, "nobody uses the Page any more");
}
