//! Meta's callbacks about a person who used the app to connect accounts: deauthorize (they
//! removed the app) and data deletion (they asked Meta to have their data deleted). Both name
//! the person in a `signed_request` signed with the app secret; both are idempotent.
//!
//! What is that person's here: the tokens they granted and the record that they connected
//! each account (`metaUserId`). The conversations are the organization's records of its own
//! customers and stay; they are erased per customer or per organization.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::domain::{AccountStatus, ConnectedAccount};
use crate::error::{AppError, ErrorCode};
use crate::meta::signed_request::{self, SignedRequestError};

use super::Accounts;

/// Where Meta's data deletion status page points: this route, under the API's own origin.
const STATUS_PATH: &str = "/api/integrations/meta/data-deletion/";
/// Keeps the confirmation code's MAC apart from any other use of the app secret.
const CODE_CONTEXT: &[u8] = b"inbox data deletion v1:";

/// The answer Meta's data deletion callback expects, in Meta's own field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletionRequest {
    /// Where the person can see how their request stands.
    pub url: String,
    pub confirmation_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeletionStatus {
    /// An account still names the person (an erasure failed part way, and Meta retries).
    Pending,
    /// No account names them any more.
    Completed,
}

impl Accounts {
    /// Deauthorize: every account the person connected, in any organization, is disconnected
    /// and its tokens deleted (Meta has revoked them already). How many were connected.
    pub async fn meta_deauthorize(&self, signed: &str) -> Result<usize, AppError> {
        let user = self.signed_user(signed)?;
        let accounts = self.ports.accounts.accounts_of_meta_user(&user).await?;
        let mut ended = 0;
        for account in &accounts {
            ended += usize::from(self.end_connection(account).await?);
        }
        tracing::info!(accounts = accounts.len(), disconnected = ended, "Meta deauthorize callback");
        Ok(ended)
    }

    /// Data deletion: as deauthorize, and then no account names the person any more. The code
    /// is the person's id under a MAC, so the status needs no record of the request.
    pub async fn meta_data_deletion(&self, signed: &str) -> Result<DeletionRequest, AppError> {
        let user = self.signed_user(signed)?;
        let accounts = self.ports.accounts.accounts_of_meta_user(&user).await?;
        for account in &accounts {
            self.end_connection(account).await?;
            self.ports.accounts.forget_meta_user(&account.organization_id, &account.id, self.now()).await?;
        }
        tracing::info!(accounts = accounts.len(), "Meta data deletion callback");
        let confirmation_code = self.deletion_code(&user)?;
        Ok(DeletionRequest { url: self.status_url(&confirmation_code), confirmation_code })
    }

    /// How the data deletion request of `code` stands; a code this app did not give is 404.
    pub async fn meta_data_deletion_status(&self, code: &str) -> Result<DeletionStatus, AppError> {
        let unknown = || AppError::not_found("data deletion request");
        let (user, mac) = code.split_once('.').ok_or_else(unknown)?;
        let user = URL_SAFE_NO_PAD.decode(user).ok().and_then(|u| String::from_utf8(u).ok()).ok_or_else(unknown)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| unknown())?;
        if !self.secrets().any(|secret| code_mac(secret, &user).verify_slice(&mac).is_ok()) {
            return Err(unknown());
        }
        let named = self.ports.accounts.accounts_of_meta_user(&user).await?;
        Ok(if named.is_empty() { DeletionStatus::Completed } else { DeletionStatus::Pending })
    }

    /// Ends the account's connection for Meta: its tokens and history import gone, and
    /// DISCONNECTED (by the service) unless it already was. Whether it was connected until now.
    async fn end_connection(&self, account: &ConnectedAccount) -> Result<bool, AppError> {
        self.drop_grants(account).await?;
        if account.status == AccountStatus::Disconnected {
            return Ok(false);
        }
        let (org, id) = (account.organization_id.as_str(), account.id.as_str());
        let disconnected =
            self.ports.accounts.set_account_status(org, id, AccountStatus::Disconnected, None, self.now()).await?;
        Ok(disconnected.is_some())
    }

    /// The person a `signed_request` names, if this app's secret signed it.
    fn signed_user(&self, signed: &str) -> Result<String, AppError> {
        let secrets: Vec<String> = self.secrets().map(str::to_owned).collect();
        match signed_request::verify(signed, &secrets) {
            Ok(request) => Ok(request.user_id),
            Err(SignedRequestError::BadSignature) => {
                Err(AppError::new(ErrorCode::InvalidSignature, "signed_request is not signed with this app's secret"))
            }
            Err(e) => Err(AppError::validation(e.to_string())),
        }
    }

    fn secrets(&self) -> impl Iterator<Item = &str> {
        self.ports.config.app_secrets.iter().map(String::as_str).filter(|s| !s.is_empty())
    }

    fn deletion_code(&self, user: &str) -> Result<String, AppError> {
        let secret = self.secrets().next().ok_or_else(|| AppError::internal("no app secret to sign with"))?;
        let mac = code_mac(secret, user).finalize().into_bytes();
        Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(user), URL_SAFE_NO_PAD.encode(mac)))
    }

    /// The status page under the API's public origin, as its OAuth callback URL names it
    /// (stage prefix included); a path alone when none is configured.
    fn status_url(&self, code: &str) -> String {
        let config = &self.ports.config;
        let callback = config.oauth_redirect_url.as_deref().or(config.instagram_oauth_redirect_url.as_deref());
        let base = callback.and_then(|url| url.find("/api/").map(|at| &url[..at])).unwrap_or_default();
        format!("{base}{STATUS_PATH}{code}")
    }
}

fn code_mac(secret: &str, user: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(CODE_CONTEXT);
    mac.update(user.as_bytes());
    mac
}
