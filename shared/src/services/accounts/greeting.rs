//! An account's greeting (ice breakers and persistent menu), read from and written to Meta's
//! messenger profile: Meta holds it, so what the API answers is what customers see.

use crate::domain::greeting::Greeting;
use crate::domain::{Caller, ConnectedAccount, Provider};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::answer_for;
use crate::ports::{AccountToken, GraphHost};

const PROFILE: &str = "Meta's messenger profile";

use super::Accounts;

impl Accounts {
    /// The account's greeting as Meta has it now.
    pub async fn greeting(&self, org: &str, account_id: &str) -> Result<Greeting, AppError> {
        let (account, token) = self.profile_owner(org, account_id).await?;
        let target = token.send_target(&account);
        self.ports.graph.greeting(&target, platform(&account, &token)).await.map_err(|e| answer_for(&e, PROFILE))
    }

    /// Sets the account's greeting at Meta (checked against the channel's rules first) and
    /// answers it as Meta then has it.
    pub async fn set_greeting(
        &self,
        caller: &Caller,
        account_id: &str,
        greeting: Greeting,
    ) -> Result<Greeting, AppError> {
        let (account, token) = self.profile_owner(&caller.organization_id, account_id).await?;
        greeting.check(account.provider)?;
        let target = token.send_target(&account);
        let platform = platform(&account, &token);
        self.ports.graph.set_greeting(&target, platform, &greeting).await.map_err(|e| answer_for(&e, PROFILE))?;
        tracing::info!(account = %account.id, by = ?caller.subject, "greeting set at Meta");
        self.ports.graph.greeting(&target, platform).await.map_err(|e| answer_for(&e, PROFILE))
    }

    /// The organization's active account and its token.
    async fn profile_owner(&self, org: &str, account_id: &str) -> Result<(ConnectedAccount, AccountToken), AppError> {
        let account = self.ports.directory.account(org, account_id).await?;
        let account = account.ok_or_else(|| AppError::not_found("connected account"))?;
        if !account.is_active() {
            return Err(AppError::new(ErrorCode::AccountDisconnected, "the account is not connected"));
        }
        let Some(token) = self.ports.directory.token(&account).await? else {
            return Err(AppError::new(ErrorCode::AccountReauthRequired, "no usable access token for the account"));
        };
        Ok((account, token))
    }
}

/// An Instagram account's profile through its Page names the platform; a Page's own
/// (Messenger) and an Instagram Login account's do not.
fn platform(account: &ConnectedAccount, token: &AccountToken) -> Option<&'static str> {
    (account.provider == Provider::Instagram && token.host == GraphHost::Facebook).then_some("instagram")
}
