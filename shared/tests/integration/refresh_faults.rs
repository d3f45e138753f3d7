//! The scheduled token refresh rides out blips: a Meta 503, throttling, a cipher (KMS)
//! failure leave the account ACTIVE and the token due for the next run; only Meta's 190 on
//! a token that sends flags REAUTH_REQUIRED. On the embedded adapters and on DynamoDB + KMS.

use crate::common::*;
use chrono::Duration;
use inbox_shared::config::AppEnv;
use inbox_shared::domain::{AccountStatus, TokenKind};
use inbox_shared::fixtures;
use inbox_shared::testing::seed;

const ORG: &str = "org_refresh";

async fn instagram_login_account(app: &TestApp) {
    let expires = app.clock_now() + Duration::hours(24);
    seed::connect_account(
        &app.adapters,
        ORG,
        "acc_r",
        IG_ACCOUNT,
        PAGE_ID,
        TokenKind::InstagramUser,
        "IGAA-t",
        Some(expires),
    )
    .await;
}

async fn status(app: &TestApp) -> AccountStatus {
    app.store.get_account(ORG, "acc_r").await.unwrap().unwrap().status
}

async fn blips_leave_the_account_active_and_only_190_flags_it(app: TestApp) {
    instagram_login_account(&app).await;
    // Meta 503, then Meta throttling: failed for now, account untouched.
    app.graph.answer(503, &[], "<html>Service Unavailable</html>");
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.failed, report.reauth_required), (1, 0), "{report:?}");
    assert_eq!(report.reasons.get("graph_unavailable"), Some(&1));
    assert_eq!(status(&app).await, AccountStatus::Active);
    app.clock.advance(Duration::minutes(15)); // the next scheduled run
    app.graph.answer(400, &[], &fixtures::graph("error_app_rate_limit.json"));
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.due, report.failed, report.reauth_required), (1, 1, 0), "still due: {report:?}");
    assert_eq!(status(&app).await, AccountStatus::Active);
    // The run after that succeeds.
    app.clock.advance(Duration::minutes(15));
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(status(&app).await, AccountStatus::Active);
    // Days later Meta calls the token invalid: the account needs its owner.
    app.clock.advance(Duration::days(58));
    app.graph.answer(400, &[], &fixtures::graph("error_token_expired.json"));
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.failed, report.reauth_required), (1, 1), "{report:?}");
    assert_eq!(status(&app).await, AccountStatus::ReauthRequired);
}

#[tokio::test]
async fn refresh_blips_on_the_embedded_adapters() {
    blips_leave_the_account_active_and_only_190_flags_it(TestApp::with(AppEnv::Production, &[]).await).await;
}

#[tokio::test]
async fn refresh_blips_on_dynamodb_and_kms() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    blips_leave_the_account_active_and_only_190_flags_it(app).await;
}

#[tokio::test]
async fn a_token_the_cipher_cannot_open_is_retried_not_flagged() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    instagram_login_account(&app).await;
    // Ciphertext KMS refuses to open (as when KMS throttles or fails): a blip, not a verdict.
    let mut token = app.store.get_token(ORG, "acc_r", TokenKind::InstagramUser).await.unwrap().unwrap();
    token.encrypted.encrypted_data_key = Some("bm90IGEga2V5".into());
    app.store.put_token(&token).await.unwrap();
    let report = app.services.accounts.refresh_due_tokens().await.unwrap();
    assert_eq!((report.failed, report.reauth_required), (1, 0), "{report:?}");
    assert_eq!(report.reasons.get("cipher_failed"), Some(&1));
    assert_eq!(status(&app).await, AccountStatus::Active);
    assert!(app.graph.calls().is_empty(), "Meta was not asked");
}
