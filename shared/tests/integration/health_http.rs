//! `GET /api/integrations/connected-accounts/:id/health` against the strict fake Meta: a
//! healthy setup passes every check; a misconfigured app, Page and account fail the checks
//! that name them, each with its fix; another organization's account is not found.

use crate::common::oauth::{connect, page, script_connect, start};
use crate::common::*;
use inbox_shared::meta::subscriptions::{INSTAGRAM_FIELDS, PAGE_FIELDS};
use inbox_shared::services::OAUTH_SCOPES;
use inbox_shared::testing::fake_graph::{AppSubscription, TokenInfo};
use serde_json::{Value, json};

const ORG: &str = "org_a";
const WEBHOOK_URL: &str = "https://inbox.example.com/api/webhooks/instagram";
const PAGE_TOKEN: &str = "EAAB-page-token";

/// `org_a` connected through Facebook Login, Meta's app set up as the docs say: (Instagram
/// account id, Messenger account id).
async fn healthy() -> (TestApp, String, String) {
    let app = TestApp::with(inbox_shared::config::AppEnv::Production, &[("WEBHOOK_URL", WEBHOOK_URL)]).await;
    script_connect(&app, json!([page(PAGE_ID, IG_ACCOUNT, PAGE_TOKEN)]));
    let (status, body) = connect(&app, ORG, &[("code", "c"), ("state", &start(&app, ORG).await)]).await;
    assert_eq!(status, 200, "{body}");
    let id_of = |provider: &str| {
        let accounts = body["connected"].as_array().unwrap();
        accounts.iter().find(|a| a["provider"] == provider).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let (ig, messenger) = (id_of("INSTAGRAM"), id_of("MESSENGER"));
    {
        let mut world = app.graph.world();
        world.app_secret = Some(APP_SECRET.to_owned());
        for (object, fields) in [("instagram", &INSTAGRAM_FIELDS[..]), ("page", &PAGE_FIELDS[..])] {
            let fields = fields.iter().map(|f| f.to_string()).collect();
            world.app_subscriptions.insert(object.into(), AppSubscription { callback_url: WEBHOOK_URL.into(), fields });
        }
        let scopes = OAUTH_SCOPES.split(',').map(str::to_owned).collect();
        world.token_info.insert(PAGE_TOKEN.into(), TokenInfo { valid: true, scopes, expires_at: 0 });
    }
    (app, ig, messenger)
}

async fn health(app: &TestApp, account: &str) -> Value {
    let (status, body) = app.get(ORG, &format!("/api/integrations/connected-accounts/{account}/health")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id}: {report}"))
}

#[tokio::test]
async fn a_setup_done_as_documented_passes_every_check() {
    let (app, ig, messenger) = healthy().await;
    for account in [&ig, &messenger] {
        let report = health(&app, account).await;
        assert_eq!(report["healthy"], true, "{report:#}");
        for c in report["checks"].as_array().unwrap() {
            assert_eq!(c["status"], "PASS", "{c}");
        }
        let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        let object = if account == &ig { "app.webhooks.instagram" } else { "app.webhooks.page" };
        assert_eq!(
            ids,
            ["app.credentials", "app.token", object, "account.token", "account.subscription", "account.messaging"]
        );
    }
}

#[tokio::test]
async fn a_misconfigured_app_page_and_account_fail_the_checks_that_name_them_with_the_fix() {
    let (app, ig, _) = healthy().await;
    {
        let mut world = app.graph.world();
        let instagram = world.app_subscriptions.get_mut("instagram").unwrap();
        instagram.fields.remove("messaging_seen");
        instagram.callback_url = "https://old.example.com/webhook".into();
        world.page_subscriptions.get_mut(PAGE_ID).unwrap().remove("message_echoes");
        world.token_info.get_mut(PAGE_TOKEN).unwrap().scopes.retain(|s| s != "instagram_manage_messages");
        world.messaging_disabled.insert(PAGE_ID.into());
    }
    let report = health(&app, &ig).await;
    assert_eq!(report["healthy"], false);
    let webhooks = check(&report, "app.webhooks.instagram");
    assert_eq!(webhooks["status"], "FAIL");
    assert!(webhooks["detail"].as_str().unwrap().contains("messaging_seen"), "{webhooks}");
    let subscription = check(&report, "account.subscription");
    assert_eq!(subscription["status"], "FAIL");
    assert!(subscription["detail"].as_str().unwrap().contains("message_echoes"), "{subscription}");
    let token = check(&report, "account.token");
    assert!(token["fix"].as_str().unwrap().contains("instagram_manage_messages"), "{token}");
    let messaging = check(&report, "account.messaging");
    assert!(messaging["fix"].as_str().unwrap().contains("Allow access to messages"), "{messaging}");
    // Once the webhook has its fields, the wrong callback is what it says.
    app.graph.world().app_subscriptions.get_mut("instagram").unwrap().fields.insert("messaging_seen".into());
    let report = health(&app, &ig).await;
    let webhooks = check(&report, "app.webhooks.instagram");
    assert!(webhooks["detail"].as_str().unwrap().contains("https://old.example.com/webhook"), "{webhooks}");
    assert!(webhooks["fix"].as_str().unwrap().contains(WEBHOOK_URL), "{webhooks}");
    // An app secret Meta does not pair with the app id: the app token fails.
    app.graph.world().app_secret = Some("another-secret".into());
    assert_eq!(check(&health(&app, &ig).await, "app.token")["status"], "FAIL");
}

#[tokio::test]
async fn another_organizations_account_has_no_health_here() {
    let (app, ig, _) = healthy().await;
    let (status, body) = app.get("org_b", &format!("/api/integrations/connected-accounts/{ig}/health")).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    assert!(app.graph.calls().iter().all(|c| !c.path.ends_with("debug_token")), "nothing asked of Meta");
}
