//! Connecting Instagram accounts with Meta OAuth (Facebook Login for Business or Business
//! Login for Instagram) and queueing the replay of the events that waited for them.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountStatus, Caller, ConnectedAccount, OAuthToken, Provider, TokenKind};
use crate::error::{AppError, ErrorCode};
use crate::ports::{GraphError, ManagedPage, TokenContext};

use super::Accounts;
use super::link::Link;
use super::oauth_state::{Flow, StateClaims};

pub const SCOPES: &str = "instagram_basic,instagram_manage_messages,instagram_manage_comments,pages_show_list,pages_manage_metadata,pages_read_engagement,pages_messaging";
const DIALOG_BASE: &str = "https://www.facebook.com";
const INSTAGRAM_DIALOG: &str = "https://www.instagram.com/oauth/authorize";
pub const INSTAGRAM_SCOPES: &str =
    "instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments";
/// Meta's codes are a few hundred characters; anything far longer is not one.
const MAX_CODE_LEN: usize = 4096;
const MAX_STATE_LEN: usize = 2048;

/// Where Meta's redirect back leads.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// Development without a frontend: connected at once.
    Connected(ConnectResult),
    /// The code waits for its initiator's `POST .../oauth/complete`.
    Authorized { code: String, state: String },
}

fn dialog_url(dialog: &str, app_id: &str, redirect: &str, state: &str, scope: &str) -> Result<String, AppError> {
    let params = [
        ("client_id", app_id),
        ("redirect_uri", redirect),
        ("state", state),
        ("scope", scope),
        ("response_type", "code"),
    ];
    let url =
        url::Url::parse_with_params(dialog, params).map_err(|e| AppError::internal(format!("dialog URL: {e}")))?;
    Ok(url.into())
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
    /// History imports queued (one per account connected, unless one ran already).
    pub history_queued: usize,
}

fn exchange_failed(step: &str) -> impl Fn(GraphError) -> AppError + '_ {
    move |e| {
        tracing::warn!(step, code = ?e.code, status = e.http_status, "OAuth exchange failed");
        AppError::new(ErrorCode::OauthExchangeFailed, format!("Meta refused the {step}: {}", e.message))
    }
}

impl Accounts {
    fn oauth_client(&self) -> Result<(&str, &str), AppError> {
        match (self.ports.config.meta_app_id.as_deref(), self.ports.config.oauth_redirect_url.as_deref()) {
            (Some(id), Some(redirect)) => Ok((id, redirect)),
            _ => Err(AppError::new(ErrorCode::NotConfigured, "META_APP_ID and META_OAUTH_REDIRECT_URL must be set")),
        }
    }

    /// The Meta OAuth dialog URL for `caller`, with a state bound to them.
    pub fn oauth_start(&self, caller: &Caller) -> Result<String, AppError> {
        let (app_id, redirect) = self.oauth_client()?;
        let state = self.new_state(caller, Flow::Facebook)?;
        let dialog = format!("{DIALOG_BASE}/{}/dialog/oauth", self.ports.config.graph_api_version);
        dialog_url(&dialog, app_id, redirect, &state, SCOPES)
    }

    fn instagram_client(&self) -> Result<(&str, &str), AppError> {
        match (self.ports.config.instagram_app_id.as_deref(), self.ports.config.instagram_oauth_redirect_url.as_deref())
        {
            (Some(id), Some(redirect)) => Ok((id, redirect)),
            _ => Err(AppError::new(
                ErrorCode::NotConfigured,
                "INSTAGRAM_APP_ID and INSTAGRAM_OAUTH_REDIRECT_URL must be set",
            )),
        }
    }

    /// Meta's redirect back from either dialog. In development without `OAUTH_RETURN_URL` it
    /// connects at once; otherwise the code waits for the initiator to complete the connection
    /// under their own bearer token, so an approval by anyone else connects nothing.
    pub async fn oauth_callback(&self, flow: Flow, params: CallbackParams) -> Result<CallbackOutcome, AppError> {
        let (state, code) = callback_parts(&params)?;
        if self.ports.config.oauth_connects_on_callback() {
            let claims = self.redeem_state(state, Some(flow), None).await?;
            return self.exchange_and_connect(&claims, code).await.map(CallbackOutcome::Connected);
        }
        self.check_state(state, Some(flow))?;
        Ok(CallbackOutcome::Authorized { code: code.to_owned(), state: state.to_owned() })
    }

    /// `POST .../oauth/complete`: the initiator (same organization and subject as the state)
    /// turns an authorised code into connected accounts. Anyone else is refused with
    /// `OAUTH_INITIATOR_MISMATCH` and the state stays usable by its owner.
    pub async fn oauth_complete(&self, caller: &Caller, code: &str, state: &str) -> Result<ConnectResult, AppError> {
        if code.is_empty() || code.len() > MAX_CODE_LEN || state.len() > MAX_STATE_LEN {
            return Err(AppError::validation("code and state are required, as the callback gave them"));
        }
        let claims = self.redeem_state(state, None, Some(caller)).await?;
        self.exchange_and_connect(&claims, code.trim_end_matches("#_")).await
    }

    async fn exchange_and_connect(&self, claims: &StateClaims, code: &str) -> Result<ConnectResult, AppError> {
        match claims.flow {
            Flow::Facebook => self.connect_facebook(&claims.org, code).await,
            Flow::Instagram => self.connect_instagram(&claims.org, code).await,
        }
    }

    /// Facebook Login: every Graph call happens before anything is written, so a failure
    /// never leaves a half-connected account; tokens are written before the account turns ACTIVE.
    async fn connect_facebook(&self, org: &str, code: &str) -> Result<ConnectResult, AppError> {
        let (_, redirect) = self.oauth_client()?;
        let short =
            self.ports.graph.exchange_code(code, redirect).await.map_err(exchange_failed("authorization code"))?;
        let long = self
            .ports
            .graph
            .exchange_long_lived(&short.access_token)
            .await
            .map_err(exchange_failed("token exchange"))?;
        // Whom Meta's deauthorize and data deletion callbacks will name.
        let user = self.ports.graph.user_id(&long.access_token).await.map_err(exchange_failed("user lookup"))?;
        let pages =
            self.ports.graph.managed_pages(&long.access_token).await.map_err(exchange_failed("page listing"))?;
        if pages.is_empty() {
            return Err(AppError::new(
                ErrorCode::NoInstagramAccount,
                "no Facebook Page was authorised: choose at least one Page in Meta's dialog",
            ));
        }
        let user_expiry = long.expires_in.map(|s| self.now() + Duration::seconds(s));
        let mut outcomes = Vec::new();
        for page in &pages {
            let subscribe = self.ports.graph.set_page_subscription(&page.id, &page.access_token, true);
            let tokens = [
                (TokenKind::Page, page.access_token.as_str(), None),
                (TokenKind::User, &long.access_token, user_expiry),
            ];
            let Some(ig) = &page.instagram_business_account else {
                // A Page without an Instagram account: its Messenger DMs are its one channel.
                outcomes.push(self.connect(org, messenger_link(page, &user), subscribe, &tokens).await?);
                continue;
            };
            let link = Link {
                provider: Provider::Instagram,
                external_id: &ig.id,
                page_id: Some(&page.id),
                name: page.name.clone(),
                username: ig.username.clone(),
                meta_user_id: Some(&user),
            };
            let instagram = self.connect(org, link, subscribe, &tokens).await?;
            let instagram_connected = instagram.is_ok();
            outcomes.push(instagram);
            // The Page's Messenger DMs: a channel of their own beside the Instagram account,
            // on the same Page token and subscription (a Page token does not expire).
            if instagram_connected {
                let page_token = [(TokenKind::Page, page.access_token.as_str(), None)];
                outcomes.push(self.connect(org, messenger_link(page, &user), async { Ok(()) }, &page_token).await?);
            }
        }
        self.finish_connect(org, outcomes).await
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
        let external_id = link.external_id;
        let refuse = |code, message: String| {
            Ok(Err(RefusedAccount { external_account_id: external_id.to_owned(), code, message }))
        };
        let route_key = ConnectedAccount::route_key(link.provider, link.external_id);
        let existing = self.ports.accounts.find_account_by_external_id(&route_key).await?;
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
        let account = link.into_account(org, existing.filter(|a| a.organization_id == org), self.now());
        for (kind, token, expires_at) in tokens {
            self.store_token(&account, *kind, token, *expires_at).await?;
        }
        match self.ports.accounts.put_account(&account).await {
            Ok(()) => Ok(Ok(account)),
            // Another organization connected it at the same moment and won.
            Err(crate::ports::StoreError::Conflict(_)) => {
                for (kind, _, _) in tokens {
                    self.ports.accounts.delete_token(org, &account.id, *kind).await?;
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
        let mut result = ConnectResult {
            organization_id: org.to_owned(),
            connected: vec![],
            refused: vec![],
            replay_queued: 0,
            history_queued: 0,
        };
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
        for account in &mut result.connected {
            result.replay_queued += self.queue_replay(account).await?;
            if let Some(run) = self.queue_history(account).await? {
                result.history_queued += 1;
                account.history = Some(run);
            }
        }
        tracing::info!(organization = %org, connected = result.connected.len(), refused = result.refused.len(), replay_queued = result.replay_queued, "Instagram accounts connected");
        Ok(result)
    }

    /// The Instagram Login dialog (`instagram.com/oauth/authorize`) for `caller`, with a state
    /// bound to them.
    pub fn instagram_oauth_start(&self, caller: &Caller) -> Result<String, AppError> {
        let (app_id, redirect) = self.instagram_client()?;
        let state = self.new_state(caller, Flow::Instagram)?;
        dialog_url(INSTAGRAM_DIALOG, app_id, redirect, &state, INSTAGRAM_SCOPES)
    }

    /// Instagram Login's redirect back: code → short-lived token → long-lived token (60 days,
    /// refreshed by the schedule) → the account's id; the account is subscribed to webhooks.
    async fn connect_instagram(&self, org: &str, code: &str) -> Result<ConnectResult, AppError> {
        let (_, redirect) = self.instagram_client()?;
        let short = self
            .ports
            .graph
            .instagram_exchange_code(code, redirect)
            .await
            .map_err(exchange_failed("authorization code"))?;
        let long = self
            .ports
            .graph
            .instagram_long_lived(&short.access_token)
            .await
            .map_err(exchange_failed("token exchange"))?;
        let me = self.ports.graph.instagram_me(&long.access_token).await.map_err(exchange_failed("account lookup"))?;
        let expiry = long.expires_in.map(|s| self.now() + Duration::seconds(s));
        let link = Link {
            provider: Provider::Instagram,
            external_id: &me.user_id,
            page_id: None,
            name: me.username.clone(),
            username: me.username.clone(),
            // Instagram Login's callbacks name the account itself.
            meta_user_id: Some(&me.user_id),
        };
        let subscribe = self.ports.graph.set_instagram_subscription(&long.access_token, true);
        let tokens = [(TokenKind::InstagramUser, long.access_token.as_str(), expiry)];
        let outcome = self.connect(org, link, subscribe, &tokens).await?;
        self.finish_connect(org, vec![outcome]).await
    }

    async fn store_token(
        &self,
        account: &ConnectedAccount,
        kind: TokenKind,
        plaintext: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), AppError> {
        let context = TokenContext { organization_id: &account.organization_id, connected_account_id: &account.id };
        let encrypted = self.ports.cipher.encrypt(plaintext, &context).await.map_err(AppError::unavailable)?;
        let token = OAuthToken::issued(&account.organization_id, &account.id, kind, encrypted, expires_at, self.now());
        Ok(self.ports.accounts.put_token(&token).await?)
    }
}

/// The Messenger channel of a Page: its DMs, on its own Page token.
fn messenger_link<'a>(page: &'a ManagedPage, user: &'a str) -> Link<'a> {
    Link {
        provider: Provider::Messenger,
        external_id: &page.id,
        page_id: Some(&page.id),
        name: page.name.clone(),
        username: None,
        meta_user_id: Some(user),
    }
}
