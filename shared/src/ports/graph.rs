use async_trait::async_trait;
use serde::Deserialize;

use crate::domain::greeting::Greeting;

/// An Instagram user's profile (`GET /{igsid}?fields=name,username,profile_pic`), or a Messenger user's
/// (`fields=name`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserProfile {
    #[serde(default)]
    pub username: Option<String>,
    pub name: Option<String>,
    /// Meta's link to their picture (it expires within days).
    #[serde(default)]
    pub profile_pic: Option<String>,
    /// Instagram only: how many follow them, whether Meta verified them, whether they follow
    /// the business and it follows them.
    #[serde(default)]
    pub follower_count: Option<u64>,
    #[serde(default)]
    pub is_verified_user: Option<bool>,
    #[serde(default)]
    pub is_user_follow_business: Option<bool>,
    #[serde(default)]
    pub is_business_follow_user: Option<bool>,
}

/// The highest use any header reports, and the longest wait it asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// The highest of every percentage given (0 to 100, or more once over).
    pub percent: f64,
    /// Minutes until a throttled object regains access (`estimated_time_to_regain_access`).
    pub regain_minutes: u64,
}

/// A Graph API failure, with Meta's error fields when the body carried them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Graph API error (HTTP {http_status}, code {code:?}/{subcode:?}): {message}")]
pub struct GraphError {
    /// 0 when no HTTP answer came back (timeout, connection refused).
    pub http_status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub is_transient: bool,
    pub message: String,
    /// What Meta's usage headers on the answer said (how close to its limits, how long until
    /// a throttled account regains access).
    pub usage: Option<Usage>,
    /// Meta may have acted on the request all the same: no answer after it was sent (a
    /// timeout, a reset), any 5xx (a gateway's, or Meta's own "unexpected error", which Meta
    /// gives for blips that sometimes did send), or a 2xx whose body could not be read. (A
    /// Graph error body below 500 is Meta's refusal.) A send that ends so must be confirmed
    /// (by its echo), never blindly repeated.
    pub outcome_unknown: bool,
}

/// Which Graph API an account talks to: Facebook Login accounts use graph.facebook.com and
/// their Page; Instagram Login accounts use graph.instagram.com and their own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphHost {
    Facebook,
    Instagram,
}

/// Who sends: `/{sender_id}/messages` on the account's host, with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTarget<'a> {
    pub host: GraphHost,
    /// The Page id (or `me`) on Facebook; the Instagram account id on Instagram.
    pub sender_id: &'a str,
    pub access_token: &'a str,
}

/// Whom a send addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient<'a> {
    /// A person, by the id the channel gives them (IGSID, PSID).
    Person(&'a str),
    /// A comment's author, by the comment (Meta's private reply).
    CommentAuthor(&'a str),
}

/// What a send carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingContent<'a> {
    Text(&'a str),
    /// Media Meta fetches from `url`: `image`, `video`, `audio`, `file`.
    Attachment {
        kind: &'a str,
        url: &'a str,
    },
    /// A file uploaded to Meta before (`upload_attachment`), by its `attachment_id`.
    Uploaded {
        kind: &'a str,
        attachment_id: &'a str,
    },
    /// A text with choices under it.
    Choices {
        text: &'a str,
        replies: &'a [crate::domain::QuickReply],
    },
    Template(&'a crate::domain::Template),
}

/// A sender action as Meta takes it (`sender_action`, and for reactions `payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCall<'a> {
    TypingOn,
    TypingOff,
    MarkSeen,
    /// On Meta's message `message_id`.
    React {
        message_id: &'a str,
        reaction: &'a str,
    },
    Unreact {
        message_id: &'a str,
    },
}

/// The handover protocol's calls on a thread (the Page's `take_thread_control`,
/// `pass_thread_control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadCall<'a> {
    Take,
    Pass { target_app_id: &'a str },
}

/// One Send API message: to whom, what, and on what basis (`messaging_type`, and the tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingMessage<'a> {
    pub recipient: Recipient<'a>,
    pub content: OutgoingContent<'a>,
    pub basis: crate::domain::MessagingBasis,
    /// Ours, carried to Meta and back on the send's echo (Messenger's `message.metadata`):
    /// names the job, so its echo is recognised beyond doubt.
    pub metadata: Option<&'a str>,
}

/// Meta's answer to a send: `{"recipient_id", "message_id"}`, and its usage headers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SentMessage {
    pub message_id: String,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(skip)]
    pub usage: Option<Usage>,
}

/// A token grant (`{"access_token","token_type","expires_in"}`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    /// Seconds; absent for tokens that do not expire.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl GraphError {
    /// Minutes until a throttled account regains access, when Meta said.
    pub fn retry_after_minutes(&self) -> Option<u64> {
        self.usage.map(|u| u.regain_minutes).filter(|m| *m > 0)
    }
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant").field("access_token", &"<redacted>").field("expires_in", &self.expires_in).finish()
    }
}

/// The Instagram professional account linked to a Page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinkedInstagram {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
}

/// A Facebook Page the user manages (`/me/accounts`), with its page token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct ManagedPage {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub access_token: String,
    #[serde(default)]
    pub instagram_business_account: Option<LinkedInstagram>,
}

impl std::fmt::Debug for ManagedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedPage")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("instagram_business_account", &self.instagram_business_account)
            .finish_non_exhaustive()
    }
}

/// Instagram Login's code exchange answer (flat, or inside `data[]`): a short-lived token and
/// the Instagram account's id.
#[derive(Clone, PartialEq, Eq)]
pub struct InstagramGrant {
    pub access_token: String,
    pub user_id: String,
}

impl std::fmt::Debug for InstagramGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstagramGrant").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// `GET graph.instagram.com/me?fields=user_id,username`: the id webhooks name the account by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramMe {
    pub user_id: String,
    pub username: Option<String>,
}

/// What `GET /debug_token` says of a token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenDebug {
    pub valid: bool,
    pub app_id: Option<String>,
    /// `USER`, `PAGE`, `APP`...
    pub kind: Option<String>,
    pub scopes: Vec<String>,
    /// `None`: it does not expire.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One webhook object of the app (`GET /{app-id}/subscriptions`): `instagram`, `page`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppWebhook {
    pub object: String,
    pub callback_url: String,
    pub active: bool,
    pub fields: Vec<String>,
}

/// An app subscribed to a Page's or an Instagram account's webhooks, with its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscribedApp {
    pub id: String,
    #[serde(default)]
    pub subscribed_fields: Vec<String>,
}

/// The part of the Graph API the core uses: messaging, OAuth and the account's subscriptions,
/// reading how a live setup stands, and the Conversations API.
pub trait GraphApi: GraphMessaging + GraphOAuth + GraphSetup + super::GraphThreads {}

impl<T: GraphMessaging + GraphOAuth + GraphSetup + super::GraphThreads> GraphApi for T {}

/// Customers, comments and sends.
#[async_trait]
pub trait GraphMessaging: Send + Sync {
    /// A customer's profile: an Instagram user's name and username, or a Messenger user's
    /// (page-scoped id) name, which is all Messenger has.
    async fn user_profile(
        &self,
        host: GraphHost,
        access_token: &str,
        user_id: &str,
        provider: crate::domain::Provider,
    ) -> Result<UserProfile, GraphError>;
    /// The media an Instagram account is broadcasting live now (`GET /{ig-id}/live_media`).
    async fn live_media(
        &self,
        host: GraphHost,
        access_token: &str,
        account_id: &str,
    ) -> Result<Vec<String>, GraphError>;
    /// A media's public link (`GET /{media-id}?fields=permalink`).
    async fn media_permalink(&self, host: GraphHost, access_token: &str, media_id: &str) -> Result<String, GraphError>;
    /// Sends `message` through the Send API (`/{sender}/messages`); Meta's message id.
    async fn send(&self, target: &SendTarget<'_>, message: &OutgoingMessage<'_>) -> Result<SentMessage, GraphError>;
    /// Meta's attachment upload API: Meta fetches the `kind` file at `url` and keeps it for
    /// the account, reusable (`is_reusable`); its `attachment_id`, which sends name from then
    /// on. Facebook Login: `/{page}/message_attachments` (`platform=instagram` for an
    /// Instagram account); Instagram Login: `/{ig-id}/messageattachments`.
    async fn upload_attachment(
        &self,
        target: &SendTarget<'_>,
        provider: crate::domain::Provider,
        kind: &str,
        url: &str,
    ) -> Result<String, GraphError>;
    /// Takes or passes control of the thread with `recipient_id`.
    async fn thread_control(
        &self,
        target: &SendTarget<'_>,
        recipient_id: &str,
        call: ThreadCall<'_>,
    ) -> Result<(), GraphError>;
    /// A sender action to the person `recipient_id` (typing, seen, a reaction).
    async fn send_action(
        &self,
        target: &SendTarget<'_>,
        recipient_id: &str,
        action: ActionCall<'_>,
    ) -> Result<(), GraphError>;
    /// A public reply under a comment (`POST /{comment-id}/replies`); the reply comment's id.
    async fn reply_to_comment(
        &self,
        target: &SendTarget<'_>,
        comment_id: &str,
        text: &str,
    ) -> Result<SentMessage, GraphError>;
    /// Hides (or shows again) a comment on the account's media (`POST /{comment-id}?hide=`).
    async fn hide_comment(&self, target: &SendTarget<'_>, comment_id: &str, hide: bool) -> Result<(), GraphError>;
}

/// Connecting accounts: OAuth exchanges, token refresh, webhook subscriptions.
#[async_trait]
pub trait GraphOAuth: Send + Sync {
    /// OAuth: the authorization code for a (short-lived) user token.
    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, GraphError>;
    /// `grant_type=fb_exchange_token`: a long-lived user token (also how one is refreshed).
    async fn exchange_long_lived(&self, user_token: &str) -> Result<TokenGrant, GraphError>;
    /// `grant_type=ig_refresh_token` on graph.instagram.com (Instagram Login tokens).
    async fn refresh_instagram_token(&self, token: &str) -> Result<TokenGrant, GraphError>;
    /// `/me?fields=id`: the app-scoped id of the Facebook user a user token stands for, whom
    /// Meta's deauthorize and data deletion callbacks name.
    async fn user_id(&self, user_token: &str) -> Result<String, GraphError>;
    /// `/me/accounts` with page tokens and linked Instagram accounts.
    async fn managed_pages(&self, user_token: &str) -> Result<Vec<ManagedPage>, GraphError>;
    /// Subscribes (or, with `subscribe = false`, unsubscribes) the app to the Page's webhooks.
    async fn set_page_subscription(&self, page_id: &str, page_token: &str, subscribe: bool) -> Result<(), GraphError>;
    /// Instagram Login: the authorization code for a short-lived token (`api.instagram.com`).
    async fn instagram_exchange_code(&self, code: &str, redirect_uri: &str) -> Result<InstagramGrant, GraphError>;
    /// Instagram Login: `grant_type=ig_exchange_token`, a 60-day token.
    async fn instagram_long_lived(&self, short_token: &str) -> Result<TokenGrant, GraphError>;
    async fn instagram_me(&self, token: &str) -> Result<InstagramMe, GraphError>;
    /// Instagram Login: subscribes (or unsubscribes) the account's own webhooks.
    async fn set_instagram_subscription(&self, token: &str, subscribe: bool) -> Result<(), GraphError>;
}

/// How a live setup stands at Meta (the doctor's questions).
#[async_trait]
pub trait GraphSetup: Send + Sync {
    /// What Meta says of `token` (asked with the app's own token).
    async fn debug_token(&self, token: &str) -> Result<TokenDebug, GraphError>;
    /// The app's webhook objects, their callback URL and fields (asked with the app's token).
    async fn app_webhooks(&self) -> Result<Vec<AppWebhook>, GraphError>;
    /// The apps a Page (`owner`: its id, Facebook host) or an Instagram Login account (`me`,
    /// Instagram host) sends its webhooks to.
    async fn subscribed_apps(
        &self,
        host: GraphHost,
        owner: &str,
        token: &str,
    ) -> Result<Vec<SubscribedApp>, GraphError>;
    /// The account's ice breakers and persistent menu (its messenger profile); `platform`
    /// (`instagram`) when an Instagram account's profile is asked through its Page.
    async fn greeting(&self, target: &SendTarget<'_>, platform: Option<&str>) -> Result<Greeting, GraphError>;
    /// Sets them: what `greeting` has is posted, what it leaves empty deleted.
    async fn set_greeting(
        &self,
        target: &SendTarget<'_>,
        platform: Option<&str>,
        greeting: &Greeting,
    ) -> Result<(), GraphError>;
    /// Reads one conversation of `owner` on `platform` (`instagram`, `messenger`): Meta
    /// refuses it when the account's owner turned off access to messages.
    async fn read_conversations(
        &self,
        host: GraphHost,
        owner: &str,
        platform: &str,
        token: &str,
    ) -> Result<(), GraphError>;
}
