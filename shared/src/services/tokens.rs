//! The scheduled token refresh: tokens nearing expiry are exchanged for fresh ones before
//! they lapse; a token that cannot be refreshed flags its account for re-auth.

use chrono::Duration;
use serde::Serialize;

use crate::domain::{AccountStatus, OAuthToken, TokenKind};
use crate::error::AppError;
use crate::ports::{GraphError, TokenContext, TokenGrant};

use super::Core;

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
    /// Claimed by a concurrent run.
    pub skipped: usize,
}

impl Core {
    pub async fn refresh_due_tokens(&self) -> Result<RefreshReport, AppError> {
        let now = self.now();
        let due = self.store.list_tokens_due(now + self.config.token_refresh_horizon, BATCH).await?;
        let mut report = RefreshReport { due: due.len(), ..Default::default() };
        for token in due {
            let (org, account) = (token.organization_id.clone(), token.connected_account_id.clone());
            if !self.store.claim_token_refresh(&org, &account, token.kind, now, now + REFRESH_LEASE).await? {
                report.skipped += 1;
                continue;
            }
            match self.refresh_one(&token).await {
                Ok(()) => report.refreshed += 1,
                Err(why) => {
                    tracing::warn!(organization = %org, account = %account, reason = %why, "token refresh failed; account needs re-auth");
                    let mut failed = token.clone();
                    failed.refresh_failed_at = Some(now);
                    failed.refresh_lease_until = None;
                    self.store.put_token(&failed).await?;
                    self.store.set_account_status(&org, &account, AccountStatus::ReauthRequired, now).await?;
                    report.failed += 1;
                }
            }
        }
        tracing::info!(?report, "token refresh run");
        Ok(report)
    }

    /// Exchanges one token for a fresh one and stores it encrypted. `Err` says why not.
    async fn refresh_one(&self, token: &OAuthToken) -> Result<(), String> {
        let now = self.now();
        if token.expires_at.is_some_and(|t| t <= now) {
            return Err("token already expired".into());
        }
        let context =
            TokenContext { organization_id: &token.organization_id, connected_account_id: &token.connected_account_id };
        let plaintext = self.cipher.decrypt(&token.encrypted, &context).await.map_err(|e| e.to_string())?;
        let grant: Result<TokenGrant, GraphError> = match token.kind {
            TokenKind::User => self.graph.exchange_long_lived(&plaintext).await,
            TokenKind::InstagramUser => self.graph.refresh_instagram_token(&plaintext).await,
            TokenKind::Page => return Err("page tokens are not refreshed".into()),
        };
        let grant = grant.map_err(|e| format!("Graph API refused: code {:?}", e.code))?;
        let encrypted = self.cipher.encrypt(&grant.access_token, &context).await.map_err(|e| e.to_string())?;
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
        self.store.put_token(&refreshed).await.map_err(|e| e.to_string())
    }
}
