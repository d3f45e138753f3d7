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
use crate::ports::{GraphError, ManagedPage, TokenContext};

use super::Core;

pub const SCOPES: &str =
    "instagram_basic,instagram_manage_messages,pages_show_list,pages_manage_metadata,pages_read_engagement";
const DIALOG_BASE: &str = "https://www.facebook.com";
const STATE_TTL: Duration = Duration::minutes(10);
const INSTAGRAM_DIALOG: &str = "https://www.instagram.com/oauth/authorize";
pub const INSTAGRAM_SCOPES: &str = "instagram_business_basic,instagram_business_manage_messages";

/// The account an OAuth flow found.
struct Link<'a> {
    external_id: &'a str,
    page_id: Option<&'a str>,
    name: Option<String>,
    username: Option<String>,
}

/// The callback's state and code, or why there are none (the user cancelled).
fn callback_parts(params: &CallbackParams) -> Result<(&str, &str), AppError> {
    if let Some(error) = &params.error {
        // Meta's redirect text is the caller's to write: logged, never echoed back.
        let why = params.error_description.as_deref().or(params.error_reason.as_deref()).unwrap_or(error);
        tracing::info!(reason = %why.chars().take(200).collect::<String>(), "OAuth dialog not authorised");
        return Err(AppError::new(ErrorCode::OauthDenied, "the connection was not authorised (cancelled or refused)"));
    }
    let state = params.state.as_deref().ok_or_else(|| AppError::validation("state is required"))?;
    let code = params.code.as_deref().ok_or_else(|| AppError::validation("code is required"))?;
    // Meta sometimes appends `#_` to the code.
    Ok((state, code.trim_end_matches("#_")))
}

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
    /// Replay jobs queued for the events that had arrived for these accounts before they were
    /// connected (one per Instagram id and page id): they reach the inbox shortly after.
    pub replay_queued: usize,
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

    /// A signed state naming `org`, valid for 10 minutes.
    fn new_state(&self, org: &str) -> Result<String, AppError> {
        let claims =
            StateClaims { org: org.to_owned(), nonce: new_id("st"), exp: (self.now() + STATE_TTL).timestamp() };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let mut mac = self.state_key()?;
        mac.update(payload.as_bytes());
        Ok(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())))
    }

    fn instagram_client(&self) -> Result<(&str, &str), AppError> {
        match (self.config.instagram_app_id.as_deref(), self.config.instagram_oauth_redirect_url.as_deref()) {
            (Some(id), Some(redirect)) => Ok((id, redirect)),
            _ => Err(AppError::new(
                ErrorCode::NotConfigured,
                "INSTAGRAM_APP_ID and INSTAGRAM_OAUTH_REDIRECT_URL must be set",
            )),
        }
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
            // A control character no Idempotency-Key may hold: the two never share a key.
            key: format!("\u{1}oauth-state:{}", claims.nonce),
            request_digest: String::new(),
            response: serde_json::Value::Null,
            created_at: self.now(),
        };
        if self.store.reserve_idempotency_key(&spent).await?.is_some() {
            return Err(invalid("was already used"));
        }
        Ok(claims)
    }

    /// Meta's redirect back (Facebook Login). Every Graph call happens before anything is
    /// written, so a failure never leaves a half-connected account; tokens are written before
    /// the account turns ACTIVE.
    pub async fn oauth_callback(&self, params: CallbackParams) -> Result<ConnectResult, AppError> {
        let (state, code) = callback_parts(&params)?;
        let claims = self.redeem_state(state).await?;
        let (_, redirect) = self.oauth_client()?;
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
        let user_expiry = long.expires_in.map(|s| self.now() + Duration::seconds(s));
        let mut outcomes = Vec::new();
        for page in candidates {
            let ig = page.instagram_business_account.as_ref().expect("filtered");
            let link = Link {
                external_id: &ig.id,
                page_id: Some(&page.id),
                name: page.name.clone(),
                username: ig.username.clone(),
            };
            let subscribe = self.graph.set_page_subscription(&page.id, &page.access_token, true);
            let tokens = [
                (TokenKind::Page, page.access_token.as_str(), None),
                (TokenKind::User, &long.access_token, user_expiry),
            ];
            outcomes.push(self.connect(&claims.org, link, subscribe, &tokens).await?);
        }
        self.finish_connect(&claims.org, outcomes).await
    }

    /// Connects one account: refused if another organization holds it, or if subscribing it
    /// to webhooks fails; otherwise its tokens are stored, then it turns ACTIVE.
    async fn connect(
        &self,
        org: &str,
        link: Link<'_>,
        subscribe: impl std::future::Future<Output = Result<(), GraphError>>,
        tokens: &[(TokenKind, &str, Option<chrono::DateTime<chrono::Utc>>)],
    ) -> Result<Result<ConnectedAccount, RefusedAccount>, AppError> {
        let refuse = |code, message: String| {
            Ok(Err(RefusedAccount { external_account_id: link.external_id.to_owned(), code, message }))
        };
        let existing = self.store.find_account_by_external_id(link.external_id).await?;
        if let Some(other) =
            existing.as_ref().filter(|a| a.organization_id != org && a.status != AccountStatus::Disconnected)
        {
            tracing::warn!(account = %link.external_id, owner = %other.organization_id, "account connected to another organization");
            return refuse(
                "ACCOUNT_CONNECTED_ELSEWHERE",
                "this Instagram account is connected to another organization".into(),
            );
        }
        if let Err(e) = subscribe.await {
            return refuse(
                "OAUTH_EXCHANGE_FAILED",
                format!("subscribing the account to webhooks failed: {}", e.message),
            );
        }
        let now = self.now();
        let same_org = existing.filter(|a| a.organization_id == org);
        let account = ConnectedAccount {
            id: same_org.as_ref().map_or_else(|| new_id("acc"), |a| a.id.clone()),
            organization_id: org.to_owned(),
            provider: Provider::Instagram,
            external_account_id: link.external_id.to_owned(),
            page_id: link.page_id.map(str::to_owned),
            display_name: link.name,
            username: link.username,
            status: AccountStatus::Active,
            created_at: same_org.as_ref().map_or(now, |a| a.created_at),
            updated_at: now,
        };
        for (kind, token, expires_at) in tokens {
            self.store_token(&account, *kind, token, *expires_at).await?;
        }
        match self.store.put_account(&account).await {
            Ok(()) => Ok(Ok(account)),
            // Another organization connected it at the same moment and won.
            Err(crate::ports::StoreError::Conflict(_)) => {
                for (kind, _, _) in tokens {
                    self.store.delete_token(org, &account.id, *kind).await?;
                }
                refuse(
                    "ACCOUNT_CONNECTED_ELSEWHERE",
                    "this Instagram account is connected to another organization".into(),
                )
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The callback's answer: an error when nothing connected, else the accounts, the
    /// refusals, and the replay of the events that waited for them, queued.
    async fn finish_connect(
        &self,
        org: &str,
        outcomes: Vec<Result<ConnectedAccount, RefusedAccount>>,
    ) -> Result<ConnectResult, AppError> {
        let mut result =
            ConnectResult { organization_id: org.to_owned(), connected: vec![], refused: vec![], replay_queued: 0 };
        for outcome in outcomes {
            match outcome {
                Ok(account) => result.connected.push(account),
                Err(refused) => result.refused.push(refused),
            }
        }
        if result.connected.is_empty() {
            let first = result.refused.first().ok_or_else(|| AppError::internal("no account to connect"))?;
            let code = if first.code == "ACCOUNT_CONNECTED_ELSEWHERE" {
                ErrorCode::AccountConnectedElsewhere
            } else {
                ErrorCode::OauthExchangeFailed
            };
            return Err(AppError::new(code, first.message.clone()));
        }
        for account in &result.connected {
            result.replay_queued += self.queue_replay(account).await?;
        }
        tracing::info!(organization = %org, connected = result.connected.len(), refused = result.refused.len(), replay_queued = result.replay_queued, "Instagram accounts connected");
        Ok(result)
    }

    /// The Instagram Login dialog (`instagram.com/oauth/authorize`) for `org`, with the same
    /// signed, expiring, single-use state.
    pub async fn instagram_oauth_start(&self, org: &str) -> Result<String, AppError> {
        let (app_id, redirect) = self.instagram_client()?;
        let state = self.new_state(org)?;
        let url = reqwest::Url::parse_with_params(
            INSTAGRAM_DIALOG,
            [
                ("client_id", app_id),
                ("redirect_uri", redirect),
                ("state", &state),
                ("scope", INSTAGRAM_SCOPES),
                ("response_type", "code"),
            ],
        )
        .map_err(|e| AppError::internal(format!("dialog URL: {e}")))?;
        Ok(url.into())
    }

    /// Instagram Login's redirect back: code → short-lived token → long-lived token (60 days,
    /// refreshed by the schedule) → the account's id; the account is subscribed to webhooks.
    pub async fn instagram_oauth_callback(&self, params: CallbackParams) -> Result<ConnectResult, AppError> {
        let (state, code) = callback_parts(&params)?;
        let claims = self.redeem_state(state).await?;
        let (_, redirect) = self.instagram_client()?;
        let short =
            self.graph.instagram_exchange_code(code, redirect).await.map_err(exchange_failed("authorization code"))?;
        let long =
            self.graph.instagram_long_lived(&short.access_token).await.map_err(exchange_failed("token exchange"))?;
        let me = self.graph.instagram_me(&long.access_token).await.map_err(exchange_failed("account lookup"))?;
        let expiry = long.expires_in.map(|s| self.now() + Duration::seconds(s));
        let link =
            Link { external_id: &me.user_id, page_id: None, name: me.username.clone(), username: me.username.clone() };
        let subscribe = self.graph.set_instagram_subscription(&long.access_token, true);
        let tokens = [(TokenKind::InstagramUser, long.access_token.as_str(), expiry)];
        let outcome = self.connect(&claims.org, link, subscribe, &tokens).await?;
        self.finish_connect(&claims.org, vec![outcome]).await
    }

    async fn store_token(
        &self,
        account: &ConnectedAccount,
        kind: TokenKind,
        plaintext: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), AppError> {
        let context = TokenContext { organization_id: &account.organization_id, connected_account_id: &account.id };
        let encrypted = self.cipher.encrypt(plaintext, &context).await.map_err(AppError::unavailable)?;
        let token = OAuthToken::issued(&account.organization_id, &account.id, kind, encrypted, expires_at, self.now());
        Ok(self.store.put_token(&token).await?)
    }

    /// The organization's accounts; in development also the environment's fallback account,
    /// which every organization's webhooks may route to (its conversations name it).
    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        let mut accounts = self.store.list_accounts(org).await?;
        if let Some(fallback) = self.account_of(org, crate::domain::ENV_FALLBACK_ACCOUNT_ID).await? {
            accounts.push(fallback);
        }
        Ok(accounts)
    }

    /// Unsubscribes the Page (best effort), deletes the tokens and marks the account
    /// DISCONNECTED. Its later webhooks wait for a reconnect instead of reaching the inbox.
    pub async fn disconnect_account(&self, org: &str, id: &str) -> Result<ConnectedAccount, AppError> {
        let account = self.store.get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        // Stop Meta's deliveries too (best effort): the Page's, or an Instagram Login account's own.
        if let Ok(Some(token)) = self.access_token(&account).await {
            let unsubscribed = match (token.host, &account.page_id) {
                (crate::ports::GraphHost::Instagram, _) => {
                    self.graph.set_instagram_subscription(&token.token, false).await
                }
                (_, Some(page_id)) => self.graph.set_page_subscription(page_id, &token.token, false).await,
                (_, None) => Ok(()),
            };
            if let Err(e) = unsubscribed {
                tracing::warn!(account = %id, code = ?e.code, "unsubscribing at Meta failed; disconnecting anyway");
            }
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
