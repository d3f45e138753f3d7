//! The local server's commands: `inbox-local token <org>` prints a bearer token the local
//! server accepts for that organization; `inbox-local doctor` checks a live setup at Meta.
//! (These tests also make `cargo test` build the binary that the test command then runs
//! schemathesis against.)

use std::process::Command;

#[test]
fn the_token_command_prints_a_token_for_the_organization() {
    let out = Command::new(env!("CARGO_BIN_EXE_inbox-local"))
        .args(["token", "org_cli"])
        .env("APP_ENV", "development")
        .env_remove("AUTH_JWT_SECRET")
        .current_dir(std::env::temp_dir()) // no .env
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let config = inbox_shared::config::Config::from_lookup(inbox_shared::config::AppEnv::Development, |k| {
        (k == "APP_ENV").then(|| "development".to_owned())
    })
    .unwrap();
    let caller = inbox_shared::http::caller_from_jwt(&config, token.trim()).unwrap();
    assert_eq!(caller.organization_id, "org_cli");
}

mod doctor {
    //! `inbox-local doctor` against the strict fake Meta: the development account of a
    //! healthy setup passes every check (exit 0); a misconfigured app and Page fail the checks
    //! that name them, each with its fix (exit 1).

    use inbox_shared::meta::subscriptions::{INSTAGRAM_FIELDS, PAGE_FIELDS};
    use inbox_shared::testing::fake_graph::{AppSubscription, FakeGraph, TEST_APP_ID, TokenInfo};

    const PAGE: &str = "112233445566778";
    const PAGE_TOKEN: &str = "EAAB-dev-page-token";
    const WEBHOOK_URL: &str = "https://inbox.example.com/api/webhooks/instagram";
    const SECRET: &str = "doctor-app-secret";

    async fn doctor(graph: &FakeGraph) -> (bool, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_inbox-local"))
            .arg("doctor")
            .env_clear()
            .envs([
                ("APP_ENV", "development"),
                ("STORE", "memory"),
                ("DEFAULT_ORGANIZATION_ID", "org_demo"),
                ("META_APP_ID", TEST_APP_ID),
                ("META_APP_SECRET", SECRET),
                ("META_PAGE_ACCESS_TOKEN", PAGE_TOKEN),
                ("INSTAGRAM_PAGE_ID", PAGE),
                ("INSTAGRAM_USER_ID", "17841400000000001"),
                ("WEBHOOK_URL", WEBHOOK_URL),
            ])
            .envs(graph.env())
            .current_dir(std::env::temp_dir()) // no .env
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.code().is_some(), "{}", String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    async fn healthy_meta() -> FakeGraph {
        let graph = FakeGraph::start().await;
        let mut world = graph.world();
        world.page(PAGE, PAGE_TOKEN);
        world.app_secret = Some(SECRET.into());
        for (object, fields) in [("instagram", &INSTAGRAM_FIELDS[..]), ("page", &PAGE_FIELDS[..])] {
            let fields = fields.iter().map(|f| f.to_string()).collect();
            world.app_subscriptions.insert(object.into(), AppSubscription { callback_url: WEBHOOK_URL.into(), fields });
        }
        world.page_subscriptions.insert(PAGE.into(), PAGE_FIELDS.iter().map(|f| f.to_string()).collect());
        let scopes = inbox_shared::services::OAUTH_SCOPES.split(',').map(str::to_owned).collect();
        world.token_info.insert(PAGE_TOKEN.into(), TokenInfo { valid: true, scopes, expires_at: 0 });
        drop(world);
        graph
    }

    #[tokio::test]
    async fn a_healthy_setup_passes_and_a_misconfigured_one_fails_with_the_fix() {
        let graph = healthy_meta().await;
        let (ok, text) = doctor(&graph).await;
        println!("{text}");
        assert!(ok, "{text}");
        assert!(!text.contains("FAIL") && text.contains("healthy: every check passed"), "{text}");
        for id in ["app.token", "app.webhooks.instagram", "app.webhooks.page", "account.token", "account.subscription"]
        {
            assert!(text.lines().any(|l| l.contains("PASS") && l.contains(id)), "{id}: {text}");
        }

        {
            let mut world = graph.world();
            world.app_subscriptions.remove("page");
            world.app_subscriptions.get_mut("instagram").unwrap().fields.remove("comments");
            world.page_subscriptions.remove(PAGE);
        }
        let (ok, text) = doctor(&graph).await;
        println!("{text}");
        assert!(!ok, "{text}");
        let failed = |id: &str| text.lines().any(|l| l.contains("FAIL") && l.contains(id));
        for id in ["app.webhooks.instagram", "app.webhooks.page", "account.subscription"] {
            assert!(failed(id), "{id}: {text}");
        }
        assert!(text.contains("fix: App Dashboard > Webhooks > instagram: subscribe to comments"), "{text}");
        assert!(text.contains("unhealthy: 3 check(s) failed"), "{text}");
    }
}
