//! Connecting Instagram accounts with Meta OAuth (Facebook Login for Business), listing and
//! disconnecting them, and replaying the events that waited for them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{AccountStatus, ConnectedAccount, IdempotencyRecord, OAuthToken, Provider, TokenKind, new_id};
use crate::error::{AppError, ErrorCode};
use crate::meta::webhook::{Item, MessagingEvent, Source};
use crate::ports::{GraphError, ManagedPage, TokenContext, TokenGrant};

use super::Core;
use super::inbound::NO_ACCOUNT;

pub const SCOPES: &str =
    "instagram_basic,instagram_manage_messages,pages_show_list,pages_manage_metadata,pages_read_engagement";
const DIALOG_BASE: &str = "https://www.facebook.com";
const STATE_TTL: Duration = Duration::minutes(10);

/// What the signed `state` carries through Meta's dialog.
#[derive(Debug, Serialize, Deserialize)]
struct StateClaims {
    org: String,
    nonce: String,
    exp: i64,
}

/// The callback's query: `code` and `state`, or Meta's error when the user cancelled.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_reason: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusedAccount {
    pub external_account_id: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectResult {
    pub organization_id: String,
    pub connected: Vec<ConnectedAccount>,
    pub refused: Vec<RefusedAccount>,
    /// Events that had arrived for these accounts before they were connected, now in the inbox.
    pub replayed: usize,
}

fn exchange_failed(step: &str) -> impl Fn(GraphError) -> AppError + '_ {
    move |e| {
        tracing::warn!(step, code = ?e.code, status = e.http_status, "OAuth exchange failed");
        AppError::new(ErrorCode::OauthExchangeFailed, format!("Meta refused the {step}: {}", e.message))
    }
}

impl Core {
    fn state_key(&self) -> Result<Hmac<Sha256>, AppError> {
        let secret = self
            .config
            .app_secrets
            .first()
            .ok_or_else(|| AppError::new(ErrorCode::NotConfigured, "META_APP_SECRET is not configured"))?;
        // A key of its own, derived from the app secret, so state signatures never double as webhook signatures.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(b"oauth-state-v1");
        Ok(Hmac::<Sha256>::new_from_slice(&mac.finalize().into_bytes()).expect("any key length"))
    }

    fn oauth_client(&self) -> Result<(&str, &str), AppError> {
        match (self.config.meta_app_id.as_deref(), self.config.oauth_redirect_url.as_deref()) {
            (Some(id), Some(redirect)) => Ok((id, redirect)),
            _ => Err(AppError::new(ErrorCode::NotConfigured, "META_APP_ID and META_OAUTH_REDIRECT_URL must be set")),
        }
    }

    /// The Meta OAuth dialog URL for `org`, with a signed, expiring, single-use state.
    pub fn oauth_start(&self, org: &str) -> Result<String, AppError> {
        let (app_id, redirect) = self.oauth_client()?;
        let claims =
            StateClaims { org: org.to_owned(), nonce: new_id("st"), exp: (self.now() + STATE_TTL).timestamp() };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let mut mac = self.state_key()?;
        mac.update(payload.as_bytes());
        let state = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        let dialog = format!("{DIALOG_BASE}/{}/dialog/oauth", self.config.graph_api_version);
        let url = reqwest::Url::parse_with_params(
            &dialog,
            [
                ("client_id", app_id),
                ("redirect_uri", redirect),
                ("state", &state),
                ("scope", SCOPES),
                ("response_type", "code"),
            ],
        )
        .map_err(|e| AppError::internal(format!("dialog URL: {e}")))?;
        Ok(url.into())
    }

    /// Checks the state's signature (constant time) and expiry, then spends it.
    async fn redeem_state(&self, state: &str) -> Result<StateClaims, AppError> {
        let invalid =
            |why: &str| AppError::new(ErrorCode::OauthStateInvalid, format!("state {why}; start the connection again"));
        let (payload, signature) = state.split_once('.').ok_or_else(|| invalid("is malformed"))?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid("is malformed"))?;
        let mut mac = self.state_key()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| invalid("is not ours"))?;
        let claims: StateClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| invalid("is malformed"))?;
        if self.now().timestamp() >= claims.exp {
            return Err(invalid("has expired"));
        }
        let spent = IdempotencyRecord {
            organization_id: claims.org.clone(),
            key: format!("oauth-state:{}", claims.nonce),
            request_digest: String::new(),
            response: serde_json::Value::Null,
            created_at: self.now(),
        };
        if self.store.reserve_idempotency_key(&spent).await?.is_some() {
            return Err(invalid("was already used"));
        }
        Ok(claims)
    }

    /// Meta's redirect back. Every Graph call happens before anything is written, so a
    /// failure never leaves a half-connected account; tokens are written before the account
    /// turns ACTIVE.
    pub async fn oauth_callback(&self, params: CallbackParams) -> Result<ConnectResult, AppError> {
        if let Some(error) = &params.error {
            let why = params.error_description.as_deref().or(params.error_reason.as_deref()).unwrap_or(error);
            return Err(AppError::new(ErrorCode::OauthDenied, format!("the connection was not authorised: {why}")));
        }
        let state = params.state.as_deref().ok_or_else(|| AppError::validation("state is required"))?;
        let code = params.code.as_deref().ok_or_else(|| AppError::validation("code is required"))?;
        let claims = self.redeem_state(state).await?;
        let (_, redirect) = self.oauth_client()?;
        // Meta sometimes appends `#_` to the code.
        let code = code.trim_end_matches("#_");
        let short = self.graph.exchange_code(code, redirect).await.map_err(exchange_failed("authorization code"))?;
        let long =
            self.graph.exchange_long_lived(&short.access_token).await.map_err(exchange_failed("token exchange"))?;
        let pages = self.graph.managed_pages(&long.access_token).await.map_err(exchange_failed("page listing"))?;
        let candidates: Vec<&ManagedPage> = pages.iter().filter(|p| p.instagram_business_account.is_some()).collect();
        if candidates.is_empty() {
            return Err(AppError::new(
                ErrorCode::NoInstagramAccount,
                "none of the authorised Facebook Pages has an Instagram professional account linked",
            ));
        }
        let mut result =
            ConnectResult { organization_id: claims.org.clone(), connected: vec![], refused: vec![], replayed: 0 };
        for page in candidates {
            match self.connect_page(&claims.org, page, &long).await? {
                Ok(account) => result.connected.push(account),
                Err(refused) => result.refused.push(refused),
            }
        }
        if result.connected.is_empty() {
            let first = &result.refused[0];
            let code = if first.code == "ACCOUNT_CONNECTED_ELSEWHERE" {
                ErrorCode::AccountConnectedElsewhere
            } else {
                ErrorCode::OauthExchangeFailed
            };
            return Err(AppError::new(code, first.message.clone()));
        }
        for account in &result.connected {
            result.replayed += self.replay_waiting_events(account).await?;
        }
        tracing::info!(organization = %claims.org, connected = result.connected.len(), refused = result.refused.len(), replayed = result.replayed, "Instagram accounts connected");
        Ok(result)
    }

    /// Connects one Page's Instagram account, or says why not.
    async fn connect_page(
        &self,
        org: &str,
        page: &ManagedPage,
        user_token: &TokenGrant,
    ) -> Result<Result<ConnectedAccount, RefusedAccount>, AppError> {
        let ig = page.instagram_business_account.as_ref().expect("filtered");
        let existing = self.store.find_account_by_external_id(&ig.id).await?;
        if let Some(other) =
            existing.as_ref().filter(|a| a.organization_id != org && a.status != AccountStatus::Disconnected)
        {
            tracing::warn!(account = %ig.id, owner = %other.organization_id, "account connected to another organization");
            return Ok(Err(RefusedAccount {
                external_account_id: ig.id.clone(),
                code: "ACCOUNT_CONNECTED_ELSEWHERE",
                message: "this Instagram account is connected to another organization".into(),
            }));
        }
        if let Err(e) = self.graph.set_page_subscription(&page.id, &page.access_token, true).await {
            return Ok(Err(RefusedAccount {
                external_account_id: ig.id.clone(),
                code: "OAUTH_EXCHANGE_FAILED",
                message: format!("subscribing the Page to webhooks failed: {}", e.message),
            }));
        }
        let now = self.now();
        let same_org = existing.filter(|a| a.organization_id == org);
        let account = ConnectedAccount {
            id: same_org.as_ref().map_or_else(|| new_id("acc"), |a| a.id.clone()),
            organization_id: org.to_owned(),
            provider: Provider::Instagram,
            external_account_id: ig.id.clone(),
            page_id: Some(page.id.clone()),
            display_name: page.name.clone(),
            username: ig.username.clone(),
            status: AccountStatus::Active,
            created_at: same_org.as_ref().map_or(now, |a| a.created_at),
            updated_at: now,
        };
        let user_expiry = user_token.expires_in.map(|s| now + Duration::seconds(s));
        self.store_token(&account, TokenKind::Page, &page.access_token, None).await?;
        self.store_token(&account, TokenKind::User, &user_token.access_token, user_expiry).await?;
        self.store.put_account(&account).await?;
        Ok(Ok(account))
    }

    async fn store_token(
        &self,
        account: &ConnectedAccount,
        kind: TokenKind,
        plaintext: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), AppError> {
        let context = TokenContext { organization_id: &account.organization_id, connected_account_id: &account.id };
        let encrypted =
            self.cipher.encrypt(plaintext, &context).await.map_err(|e| AppError::internal(e.to_string()))?;
        let token = OAuthToken::issued(&account.organization_id, &account.id, kind, encrypted, expires_at, self.now());
        Ok(self.store.put_token(&token).await?)
    }

    /// Puts the events kept for an account nobody had connected into its new inbox.
    async fn replay_waiting_events(&self, account: &ConnectedAccount) -> Result<usize, AppError> {
        let mut replayed = 0;
        let ids = [Some(account.external_account_id.as_str()), account.page_id.as_deref()];
        for external_id in ids.into_iter().flatten() {
            for event in self.store.list_raw_events(external_id).await? {
                if event.reason != NO_ACCOUNT {
                    continue;
                }
                let Ok(parsed) = serde_json::from_value::<MessagingEvent>(event.payload.clone()) else { continue };
                let item = Item {
                    entry_id: external_id.to_owned(),
                    entry_time: None,
                    source: Source::Messaging,
                    event: parsed,
                    raw: event.payload.clone(),
                };
                // Removed first: an event still not turned into a message is kept again, under its new reason.
                self.store.delete_raw_event(external_id, &event.id).await?;
                if let Err(e) = self.accept_item(&item, None).await {
                    self.store.put_raw_event(&event).await?;
                    return Err(e);
                }
                replayed += 1;
            }
        }
        Ok(replayed)
    }

    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        Ok(self.store.list_accounts(org).await?)
    }

    /// Unsubscribes the Page (best effort), deletes the tokens and marks the account
    /// DISCONNECTED. Its later webhooks wait for a reconnect instead of reaching the inbox.
    pub async fn disconnect_account(&self, org: &str, id: &str) -> Result<ConnectedAccount, AppError> {
        let account = self.store.get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        if let (Some(page_id), Ok(Some(token))) = (&account.page_id, self.access_token(&account).await)
            && let Err(e) = self.graph.set_page_subscription(page_id, &token.token, false).await
        {
            tracing::warn!(account = %id, code = ?e.code, "unsubscribing the Page failed; disconnecting anyway");
        }
        for kind in [TokenKind::Page, TokenKind::User, TokenKind::InstagramUser] {
            self.store.delete_token(org, id, kind).await?;
        }
        self.store
            .set_account_status(org, id, AccountStatus::Disconnected, self.now())
            .await?
            .ok_or_else(|| AppError::not_found("connected account"))
    }
}
