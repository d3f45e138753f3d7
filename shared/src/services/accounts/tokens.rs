//! The scheduled token refresh: tokens nearing expiry are exchanged for fresh ones before
//! they lapse. Only a token Meta calls invalid (code 190) or one already expired flags its
//! account for re-auth, and only when sends use it (the Page token, or the Instagram Login
//! token): a blip (Meta 5xx or throttling, KMS, DynamoDB) leaves the account ACTIVE and the
//! token due, so the next run (every 15 minutes) tries again.

use chrono::Duration;
use serde::Serialize;

use crate::domain::{AccountStatus, OAuthToken, TokenKind};
use crate::error::AppError;
use crate::ports::{GraphError, TokenContext, TokenGrant};

use super::Accounts;

/// How long one run's claim on a token holds.
const REFRESH_LEASE: Duration = Duration::minutes(5);
/// Tokens refreshed per run at most; the next run takes the rest.
const BATCH: usize = 200;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshReport {
    pub due: usize,
    pub refreshed: usize,
    pub failed: usize,
    /// Of the failed: accounts flagged REAUTH_REQUIRED (their sending token is invalid).
    pub reauth_required: usize,
    /// Claimed by a concurrent run.
    pub skipped: usize,
    /// Why the failed ones failed: `token_invalid`, `token_expired`, `graph_unavailable`,
    /// `cipher_failed`, `store_failed`, `not_refreshable`.
    pub reasons: std::collections::BTreeMap<&'static str, usize>,
}

/// Why a token was not refreshed.
enum RefreshFailure {
    /// Meta will never take this token again: only the owner reconnecting helps.
    Invalid(&'static str),
    /// Worth another try at the next run.
    Transient(&'static str, String),
}

impl Accounts {
    pub async fn refresh_due_tokens(&self) -> Result<RefreshReport, AppError> {
        let now = self.now();
        let due =
            self.ports.accounts.list_tokens_due(now + self.ports.config.limits.token_refresh_horizon, BATCH).await?;
        let mut report = RefreshReport { due: due.len(), ..Default::default() };
        for token in due {
            let (org, account) = (token.organization_id.clone(), token.connected_account_id.clone());
            match self.ports.accounts.claim_token_refresh(&org, &account, token.kind, now, now + REFRESH_LEASE).await {
                Ok(true) => {}
                Ok(false) => {
                    report.skipped += 1;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, account = %account, "token not claimed; next run");
                    report.failed += 1;
                    *report.reasons.entry("store_failed").or_default() += 1;
                    continue;
                }
            }
            let reason = match self.refresh_one(&token).await {
                Ok(()) => {
                    report.refreshed += 1;
                    continue;
                }
                Err(RefreshFailure::Transient(reason, detail)) => {
                    // The claim lapses and the token stays due: the next run tries again.
                    tracing::warn!(organization = %org, account = %account, reason, detail = %detail, "token refresh failed for now");
                    reason
                }
                Err(RefreshFailure::Invalid(reason)) => {
                    match self.give_up_on(&token, now).await {
                        Ok(flagged) => report.reauth_required += usize::from(flagged),
                        Err(e) => {
                            tracing::error!(error = %e, account = %account, "invalid token not recorded; next run")
                        }
                    }
                    reason
                }
            };
            report.failed += 1;
            *report.reasons.entry(reason).or_default() += 1;
        }
        tracing::info!(?report, "token refresh run");
        Ok(report)
    }

    /// A token Meta will not refresh: no longer due; its account needs re-auth if sends use
    /// it (a Facebook account's User token only lists Pages: its Page token still sends).
    /// Whether the account was flagged.
    async fn give_up_on(&self, token: &OAuthToken, now: chrono::DateTime<chrono::Utc>) -> Result<bool, AppError> {
        let (org, account) = (&token.organization_id, &token.connected_account_id);
        let mut failed = token.clone();
        failed.refresh_failed_at = Some(now);
        failed.refresh_lease_until = None;
        self.ports.accounts.put_token(&failed).await?;
        let sends_with_it = matches!(token.kind, TokenKind::Page | TokenKind::InstagramUser);
        if sends_with_it {
            tracing::warn!(organization = %org, account = %account, "token invalid; account needs re-auth");
            self.ports.accounts.set_account_status(org, account, AccountStatus::ReauthRequired, None, now).await?;
        } else {
            tracing::warn!(organization = %org, account = %account, "user token invalid; sends go on with the Page token");
        }
        Ok(sends_with_it)
    }

    /// Exchanges one token for a fresh one and stores it encrypted. `Err` says why not.
    async fn refresh_one(&self, token: &OAuthToken) -> Result<(), RefreshFailure> {
        let now = self.now();
        if token.expires_at.is_some_and(|t| t <= now) {
            return Err(RefreshFailure::Invalid("token_expired"));
        }
        let context =
            TokenContext { organization_id: &token.organization_id, connected_account_id: &token.connected_account_id };
        let cipher_failed = |e: crate::ports::CipherError| RefreshFailure::Transient("cipher_failed", e.to_string());
        let plaintext = self.ports.cipher.decrypt(&token.encrypted, &context).await.map_err(cipher_failed)?;
        let grant: Result<TokenGrant, GraphError> = match token.kind {
            TokenKind::User => self.ports.graph.exchange_long_lived(&plaintext).await,
            TokenKind::InstagramUser => self.ports.graph.refresh_instagram_token(&plaintext).await,
            // Page tokens from a long-lived user token do not expire; one that does cannot be
            // refreshed here: it waits for its expiry (then `token_expired`) or a reconnect.
            TokenKind::Page => return Err(RefreshFailure::Transient("not_refreshable", "page token".into())),
        };
        let grant = grant.map_err(|e| match e.code {
            Some(190) => RefreshFailure::Invalid("token_invalid"),
            _ => RefreshFailure::Transient("graph_unavailable", format!("HTTP {} code {:?}", e.http_status, e.code)),
        })?;
        let encrypted = self.ports.cipher.encrypt(&grant.access_token, &context).await.map_err(cipher_failed)?;
        let expires_at = grant.expires_in.map(|s| now + Duration::seconds(s));
        let refreshed = OAuthToken {
            created_at: token.created_at,
            ..OAuthToken::issued(
                &token.organization_id,
                &token.connected_account_id,
                token.kind,
                encrypted,
                expires_at,
                now,
            )
        };
        self.ports
            .accounts
            .put_token(&refreshed)
            .await
            .map_err(|e| RefreshFailure::Transient("store_failed", e.to_string()))
    }
}
