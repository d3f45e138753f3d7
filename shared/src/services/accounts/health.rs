//! How a live setup really stands at Meta, asked of the real Graph API with the configured app
//! and each account's token: the app's credentials and webhook subscriptions (objects,
//! fields, callback URL), each account's token (valid, scopes, expiry), its own subscription
//! (a Page's `subscribed_apps`, an Instagram Login account's), and whether its messages can be
//! read. Each check passes or fails with the fix. `inbox-local doctor` prints them;
//! `GET /api/integrations/connected-accounts/:id/health` answers them for one account.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::{ConnectedAccount, Provider};
use crate::error::AppError;
use crate::meta::subscriptions::{INSTAGRAM_FIELDS, PAGE_FIELDS};
use crate::ports::{GraphError, GraphHost};

use super::Accounts;
use super::oauth::SCOPES;
use crate::ports::AccountToken;

/// A token expiring sooner than this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::days(7);
/// Meta's error subcode for an Instagram account whose owner turned off access to messages.
const MESSAGING_DISABLED_SUBCODE: i64 = 2534041;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckStatus {
    Pass,
    /// Works for now, but will not for long (a token about to expire).
    Warn,
    Fail,
    /// Could not be asked (what it needs failed first).
    Skipped,
}

/// One check: what was asked, what Meta said, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub id: String,
    pub status: CheckStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl HealthCheck {
    fn pass(id: &str, detail: impl Into<String>) -> Self {
        HealthCheck { id: id.to_owned(), status: CheckStatus::Pass, detail: detail.into(), fix: None }
    }

    fn fail(id: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        HealthCheck { id: id.to_owned(), status: CheckStatus::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    fn warn(id: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        HealthCheck { status: CheckStatus::Warn, ..Self::fail(id, detail, fix) }
    }

    fn skipped(id: &str, why: impl Into<String>) -> Self {
        HealthCheck { id: id.to_owned(), status: CheckStatus::Skipped, detail: why.into(), fix: None }
    }

    /// Meta could not be asked, or refused: the check fails with Meta's word.
    fn unreachable(id: &str, e: &GraphError, fix: &str) -> Self {
        Self::fail(id, format!("Meta answered HTTP {} ({:?}): {}", e.http_status, e.code, e.message), fix)
    }
}

/// Every check of one account, or of the app alone (`account_id` none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub account_id: Option<String>,
    /// No check failed.
    pub healthy: bool,
    pub checks: Vec<HealthCheck>,
}

impl HealthReport {
    fn of(account_id: Option<String>, checks: Vec<HealthCheck>) -> Self {
        HealthReport { account_id, healthy: checks.iter().all(|c| c.status != CheckStatus::Fail), checks }
    }
}

impl Accounts {
    /// The app's checks, then `account`'s: what one account needs to work.
    pub async fn account_health(&self, org: &str, account_id: &str) -> Result<HealthReport, AppError> {
        let account = self
            .ports
            .directory
            .account(org, account_id)
            .await?
            .ok_or_else(|| AppError::not_found("connected account"))?;
        let mut checks = self.app_checks(&[account.provider]).await;
        checks.extend(self.account_checks(&account).await?);
        Ok(HealthReport::of(Some(account.id), checks))
    }

    /// The doctor's run: the app's checks (both webhook objects), then every account of the
    /// organization's.
    pub async fn setup_health(&self, org: &str) -> Result<Vec<HealthReport>, AppError> {
        let app = self.app_checks(&[Provider::Instagram, Provider::Messenger]).await;
        let mut reports = vec![HealthReport::of(None, app)];
        for account in self.list_connected_accounts(org).await? {
            reports.push(HealthReport::of(Some(account.id.clone()), self.account_checks(&account).await?));
        }
        Ok(reports)
    }

    /// The app's credentials, its own token, and its webhook objects for `channels`.
    async fn app_checks(&self, channels: &[Provider]) -> Vec<HealthCheck> {
        let (Some(app_id), Some(_)) = (&self.ports.config.meta_app_id, self.ports.config.app_secrets.first()) else {
            return vec![HealthCheck::fail(
                "app.credentials",
                "META_APP_ID or META_APP_SECRET is not set",
                "set both from the Meta app's dashboard (App settings > Basic)",
            )];
        };
        let mut checks = vec![HealthCheck::pass("app.credentials", format!("app {app_id}"))];
        let app_token = format!("{app_id}|{}", self.ports.config.app_secrets[0]);
        match self.ports.graph.debug_token(&app_token).await {
            Ok(t) if t.valid => checks.push(HealthCheck::pass("app.token", "Meta accepts the app's id and secret")),
            Ok(_) => checks.push(HealthCheck::fail(
                "app.token",
                "Meta does not accept the app's id and secret together",
                "META_APP_SECRET must be the secret of app META_APP_ID (App settings > Basic > App secret)",
            )),
            Err(e) => {
                checks.push(HealthCheck::unreachable("app.token", &e, "check META_APP_ID and META_APP_SECRET"));
                return checks;
            }
        }
        match self.ports.graph.app_webhooks().await {
            Ok(webhooks) => {
                for channel in channels {
                    checks.push(self.webhook_check(*channel, &webhooks));
                }
            }
            Err(e) => checks.push(HealthCheck::unreachable(
                "app.webhooks",
                &e,
                "the app token must be able to read its webhooks (GET /{app-id}/subscriptions)",
            )),
        }
        checks
    }

    /// The app's webhook object for a channel: subscribed, active, to our callback, with
    /// every field the product needs.
    fn webhook_check(&self, channel: Provider, webhooks: &[crate::ports::AppWebhook]) -> HealthCheck {
        let (object, needed): (&str, &[&str]) = match channel {
            Provider::Instagram => ("instagram", &INSTAGRAM_FIELDS),
            Provider::Messenger => ("page", &PAGE_FIELDS),
        };
        let id = format!("app.webhooks.{object}");
        let dashboard = format!("App Dashboard > Webhooks > {object}");
        let Some(hook) = webhooks.iter().find(|w| w.object == object) else {
            return HealthCheck::fail(
                &id,
                format!("the app has no {object} webhook"),
                format!(
                    "{dashboard}: subscribe with callback {} and fields {}",
                    self.webhook_url().unwrap_or_else(|| "<this deployment>/api/webhooks/instagram".into()),
                    needed.join(", ")
                ),
            );
        };
        let missing: Vec<&str> = needed.iter().filter(|f| !hook.fields.iter().any(|h| h == *f)).copied().collect();
        if !hook.active {
            return HealthCheck::fail(
                &id,
                format!("the {object} webhook is inactive"),
                format!("{dashboard}: reactivate it"),
            );
        }
        if !missing.is_empty() {
            return HealthCheck::fail(
                &id,
                format!("the {object} webhook lacks {}: those events never arrive", missing.join(", ")),
                format!("{dashboard}: subscribe to {}", missing.join(", ")),
            );
        }
        match self.webhook_url() {
            Some(url) if url != hook.callback_url => HealthCheck::fail(
                &id,
                format!("the {object} webhook calls {}, not this deployment ({url})", hook.callback_url),
                format!("{dashboard}: Edit subscription, callback URL {url}"),
            ),
            Some(_) => HealthCheck::pass(&id, format!("{} fields to {}", hook.fields.len(), hook.callback_url)),
            None => HealthCheck::warn(
                &id,
                format!("calls {} (this deployment's own URL is not configured)", hook.callback_url),
                "set WEBHOOK_URL to this deployment's webhook URL to check it",
            ),
        }
    }

    /// Where Meta should call: `WEBHOOK_URL`, else the OAuth callback's origin with the
    /// webhook route.
    fn webhook_url(&self) -> Option<String> {
        if let Some(url) = &self.ports.config.webhook_url {
            return Some(url.clone());
        }
        let redirect = self.ports.config.oauth_redirect_url.as_deref()?;
        let parsed = url::Url::parse(redirect).ok()?;
        Some(format!("{}/api/webhooks/instagram", parsed.origin().ascii_serialization()))
    }

    /// One account: its token, its subscription, its messaging.
    async fn account_checks(&self, account: &ConnectedAccount) -> Result<Vec<HealthCheck>, AppError> {
        let Some(token) = self.ports.directory.token(account).await? else {
            return Ok(vec![HealthCheck::fail(
                "account.token",
                "no usable token is stored for the account",
                "reconnect the account (Connect with Facebook or Instagram)",
            )]);
        };
        let mut checks = vec![match token.host {
            GraphHost::Facebook => self.token_check(&token).await,
            GraphHost::Instagram => self.instagram_token_check(account, &token).await,
        }];
        checks.push(self.subscription_check(account, &token).await);
        checks.push(self.messaging_check(account, &token).await);
        Ok(checks)
    }

    /// A Facebook Login token: valid, with every scope the connect asks for, not about to
    /// expire.
    async fn token_check(&self, token: &AccountToken) -> HealthCheck {
        let id = "account.token";
        let debug = match self.ports.graph.debug_token(&token.token).await {
            Ok(d) => d,
            Err(e) => return HealthCheck::unreachable(id, &e, "check the app's credentials first"),
        };
        if !debug.valid {
            return HealthCheck::fail(id, "Meta says the token is invalid", "reconnect the account");
        }
        let missing: Vec<&str> = SCOPES.split(',').filter(|s| !debug.scopes.iter().any(|g| g == s)).collect();
        if !missing.is_empty() {
            return HealthCheck::fail(
                id,
                format!("the token lacks {}", missing.join(", ")),
                format!("reconnect the account and grant {} (app review may be needed)", missing.join(", ")),
            );
        }
        self.expiry_check(debug.expires_at, "valid, every scope granted")
    }

    /// A valid token's expiry: passed (it fails), within `EXPIRY_WARNING` (it warns), or ahead.
    fn expiry_check(&self, expires_at: Option<DateTime<Utc>>, valid: &str) -> HealthCheck {
        let id = "account.token";
        match expires_at {
            Some(at) if at <= self.now() => {
                HealthCheck::fail(id, format!("the token expired at {at}"), "reconnect the account")
            }
            Some(at) if at - self.now() < EXPIRY_WARNING => HealthCheck::warn(
                id,
                format!("{valid}; it expires at {at}"),
                "the scheduled refresh renews it; if it keeps failing, reconnect the account",
            ),
            Some(at) => HealthCheck::pass(id, format!("{valid}; valid until {at}")),
            None => HealthCheck::pass(id, format!("{valid}; it does not expire")),
        }
    }

    /// An Instagram Login token (which `debug_token` does not read): Meta answers with it, and
    /// the expiry stored with it is ahead.
    async fn instagram_token_check(&self, account: &ConnectedAccount, token: &AccountToken) -> HealthCheck {
        let id = "account.token";
        if let Err(e) = self.ports.graph.instagram_me(&token.token).await {
            return HealthCheck::unreachable(id, &e, "reconnect the account (Connect with Instagram)");
        }
        let org = &account.organization_id;
        let stored = self.ports.accounts.get_token(org, &account.id, crate::domain::TokenKind::InstagramUser).await;
        // The expiry is ours (what the grant said); unreadable, the check says what it can.
        self.expiry_check(stored.ok().flatten().and_then(|t| t.expires_at), "Meta accepts the token")
    }

    /// The Page (Facebook Login) or the Instagram Login account sends its webhooks to this
    /// app, with the fields the product needs.
    async fn subscription_check(&self, account: &ConnectedAccount, token: &AccountToken) -> HealthCheck {
        let id = "account.subscription";
        let (owner, needed, how): (&str, &[&str], &str) = match (token.host, &account.page_id) {
            (GraphHost::Instagram, _) => ("me", &INSTAGRAM_FIELDS, "POST graph.instagram.com/me/subscribed_apps"),
            (GraphHost::Facebook, Some(page)) => (page, &PAGE_FIELDS, "POST /{page-id}/subscribed_apps"),
            (GraphHost::Facebook, None) => return HealthCheck::skipped(id, "the account names no Page"),
        };
        let apps = match self.ports.graph.subscribed_apps(token.host, owner, &token.token).await {
            Ok(apps) => apps,
            Err(e) => return HealthCheck::unreachable(id, &e, "reconnect the account"),
        };
        // Instagram Login accounts subscribe the Instagram app (its own id).
        let app_id = match token.host {
            GraphHost::Facebook => self.ports.config.meta_app_id.as_deref(),
            GraphHost::Instagram => self.ports.config.instagram_app_id.as_deref(),
        };
        let Some(ours) = apps.iter().find(|a| Some(a.id.as_str()) == app_id) else {
            return HealthCheck::fail(
                id,
                format!("{owner} does not send its webhooks to this app"),
                format!("reconnect the account (it subscribes), or {how}"),
            );
        };
        let missing: Vec<&str> =
            needed.iter().filter(|f| !ours.subscribed_fields.iter().any(|s| s == *f)).copied().collect();
        match missing.is_empty() {
            true => HealthCheck::pass(id, format!("{owner} sends {} to this app", ours.subscribed_fields.join(", "))),
            false => HealthCheck::fail(
                id,
                format!("{owner} does not send {}", missing.join(", ")),
                format!("reconnect the account (it subscribes to every field), or {how}"),
            ),
        }
    }

    /// Meta lets the account's conversations be read: for Instagram, its owner allows access
    /// to messages.
    async fn messaging_check(&self, account: &ConnectedAccount, token: &AccountToken) -> HealthCheck {
        let id = "account.messaging";
        let owner = match token.host {
            GraphHost::Instagram => "me",
            GraphHost::Facebook => match &account.page_id {
                Some(page) => page.as_str(),
                None => return HealthCheck::skipped(id, "the account names no Page"),
            },
        };
        let platform = match account.provider {
            Provider::Instagram => "instagram",
            Provider::Messenger => "messenger",
        };
        match self.ports.graph.read_conversations(token.host, owner, platform, &token.token).await {
            Ok(()) => HealthCheck::pass(id, format!("{platform} conversations can be read")),
            Err(e) if e.subcode == Some(MESSAGING_DISABLED_SUBCODE) => HealthCheck::fail(
                id,
                "the account's owner turned off access to messages",
                "in the Instagram app: Settings > Messages and story replies > Message controls > Connected tools > \
                 Allow access to messages",
            ),
            Err(e) => HealthCheck::unreachable(id, &e, "reconnect the account, granting messaging"),
        }
    }
}
