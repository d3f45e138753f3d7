//! The Graph API over HTTPS (reqwest + rustls). Base URL and version come from config, so
//! tests point it at a local fake server.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Client, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::meta::subscriptions;
use crate::meta::usage::Usage;
use crate::ports::{
    GraphApi, GraphError, GraphHost, InstagramGrant, InstagramMe, ManagedPage, SendTarget, SentMessage, TokenGrant,
    UserProfile,
};

/// Our apps' credentials, for the OAuth token exchanges: the Facebook app, and the
/// Instagram app with its own API host (`api.instagram.com`).
#[derive(Clone, Default)]
pub struct AppCredentials {
    pub app_id: String,
    pub app_secret: String,
    pub instagram_app_id: String,
    pub instagram_app_secret: String,
    pub instagram_api_base_url: String,
}

#[derive(Clone)]
pub struct HttpGraphApi {
    client: Client,
    base_url: String,
    instagram_base_url: String,
    version: String,
    app: AppCredentials,
}

impl HttpGraphApi {
    pub fn new(base_url: &str, version: &str) -> Self {
        Self::with_app(base_url, base_url, version, AppCredentials::default())
    }

    pub fn from_config(config: &crate::config::Config) -> Self {
        let app = AppCredentials {
            app_id: config.meta_app_id.clone().unwrap_or_default(),
            app_secret: config.app_secrets.first().cloned().unwrap_or_default(),
            instagram_app_id: config.instagram_app_id.clone().unwrap_or_default(),
            instagram_app_secret: config.instagram_app_secret.clone().unwrap_or_default(),
            instagram_api_base_url: config.instagram_api_base_url.clone(),
        };
        let mut api = Self::with_app(
            &config.graph_api_base_url,
            &config.instagram_graph_base_url,
            &config.graph_api_version,
            app,
        );
        api.client = Self::client(config.limits.graph_timeout);
        api
    }

    fn client(timeout: Duration) -> Client {
        Client::builder()
            .connect_timeout(Duration::from_secs(3).min(timeout))
            .timeout(timeout)
            .build()
            .expect("reqwest client builds with rustls")
    }

    pub fn with_app(base_url: &str, instagram_base_url: &str, version: &str, app: AppCredentials) -> Self {
        let client = Self::client(Duration::from_secs(10));
        HttpGraphApi {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            instagram_base_url: instagram_base_url.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
            app,
        }
    }

    fn url(&self, path: &str) -> String {
        self.url_on(GraphHost::Facebook, path)
    }

    fn url_on(&self, host: GraphHost, path: &str) -> String {
        let base = match host {
            GraphHost::Facebook => &self.base_url,
            GraphHost::Instagram => &self.instagram_base_url,
        };
        format!("{base}/{}/{}", self.version, path.trim_start_matches('/'))
    }
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorFields,
}

#[derive(Deserialize)]
struct GraphErrorFields {
    #[serde(default)]
    message: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// What Meta's usage headers on an answer say.
fn usage_of(response: &Response) -> Option<Usage> {
    Usage::from_headers(response.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))))
}

/// Turns a non-success answer into a `GraphError` with Meta's fields.
async fn error_from(response: Response) -> GraphError {
    let http_status = response.status().as_u16();
    let usage = usage_of(&response);
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<GraphErrorBody>(&body) {
        Ok(b) => GraphError {
            http_status,
            code: b.error.code,
            subcode: b.error.error_subcode,
            is_transient: b.error.is_transient,
            message: b.error.message,
            usage,
            // Meta's own error body: its refusal, nothing sent.
            outcome_unknown: false,
        },
        Err(_) => GraphError {
            http_status,
            code: None,
            subcode: None,
            is_transient: false,
            message: format!("HTTP {http_status} without a Graph error body"),
            usage,
            // A gateway's 5xx (HTML, empty) may hide a send Meta did make.
            outcome_unknown: http_status >= 500,
        },
    }
}

fn transport_error(e: reqwest::Error) -> GraphError {
    GraphError {
        http_status: 0,
        code: None,
        subcode: None,
        is_transient: true,
        // Only a refused connection proves the request never reached Meta.
        outcome_unknown: !e.is_connect(),
        // Without the URL: some OAuth endpoints carry tokens in the query string.
        message: format!("Graph API unreachable: {}", e.without_url()),
        usage: None,
    }
}

/// Sends a request and reads a success body as `T`, or the failure as a `GraphError`.
async fn fetch<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, GraphError> {
    Ok(fetch_with_usage(request).await?.0)
}

/// `fetch`, with what the answer's usage headers say.
async fn fetch_with_usage<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<(T, Option<Usage>), GraphError> {
    let response = request.send().await.map_err(transport_error)?;
    let http_status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(error_from(response).await);
    }
    let usage = usage_of(&response);
    let body = response.bytes().await.map_err(transport_error)?;
    let parsed = serde_json::from_slice(&body).map_err(|e| GraphError { usage, ..unreadable_body(http_status, &e) })?;
    Ok((parsed, usage))
}

/// A success whose body we cannot read: it still succeeded at Meta. The message names where
/// reading failed, never what it read (serde's text quotes values, and the body may hold a
/// token).
fn unreadable_body(http_status: u16, e: &serde_json::Error) -> GraphError {
    GraphError {
        http_status,
        code: None,
        subcode: None,
        is_transient: true,
        outcome_unknown: true,
        message: format!(
            "HTTP {http_status} with an unreadable body ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
        usage: None,
    }
}

/// A call authorised by a token in the `Authorization` header.
async fn call<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder, token: &str) -> Result<T, GraphError> {
    fetch(request.bearer_auth(token)).await
}

#[derive(Deserialize)]
struct Paged<T> {
    data: Vec<T>,
}

#[async_trait]
impl GraphApi for HttpGraphApi {
    async fn user_profile(
        &self,
        host: GraphHost,
        access_token: &str,
        user_id: &str,
        provider: crate::domain::Provider,
    ) -> Result<UserProfile, GraphError> {
        let fields = match provider {
            crate::domain::Provider::Instagram => "name,username",
            crate::domain::Provider::Messenger => "name",
        };
        call(self.client.get(self.url_on(host, user_id)).query(&[("fields", fields)]), access_token).await
    }

    async fn live_media(
        &self,
        host: GraphHost,
        access_token: &str,
        account_id: &str,
    ) -> Result<Vec<String>, GraphError> {
        #[derive(Deserialize)]
        struct Media {
            id: String,
        }
        let url = self.url_on(host, &format!("{account_id}/live_media"));
        let live: Paged<Media> = call(self.client.get(url).query(&[("fields", "id")]), access_token).await?;
        Ok(live.data.into_iter().map(|m| m.id).collect())
    }

    async fn media_permalink(&self, host: GraphHost, access_token: &str, media_id: &str) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct Media {
            permalink: String,
        }
        let url = self.url_on(host, media_id);
        let media: Media = call(self.client.get(url).query(&[("fields", "permalink")]), access_token).await?;
        Ok(media.permalink)
    }

    async fn send_message(&self, target: &SendTarget<'_>, body: &Value) -> Result<SentMessage, GraphError> {
        let url = self.url_on(target.host, &format!("{}/messages", target.sender_id));
        let (sent, usage): (SentMessage, _) =
            fetch_with_usage(self.client.post(url).json(body).bearer_auth(target.access_token)).await?;
        Ok(SentMessage { usage, ..sent })
    }

    async fn reply_to_comment(
        &self,
        target: &SendTarget<'_>,
        comment_id: &str,
        text: &str,
    ) -> Result<SentMessage, GraphError> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let url = self.url_on(target.host, &format!("{comment_id}/replies"));
        let request = self.client.post(url).query(&[("message", text)]).bearer_auth(target.access_token);
        let (created, usage): (Created, _) = fetch_with_usage(request).await?;
        Ok(SentMessage { message_id: created.id, recipient_id: None, usage })
    }

    async fn hide_comment(&self, target: &SendTarget<'_>, comment_id: &str, hide: bool) -> Result<(), GraphError> {
        let url = self.url_on(target.host, comment_id);
        let _: Value = call(self.client.post(url).query(&[("hide", hide)]), target.access_token).await?;
        Ok(())
    }

    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, GraphError> {
        let query = [
            ("client_id", self.app.app_id.as_str()),
            ("client_secret", self.app.app_secret.as_str()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ];
        fetch(self.client.get(self.url("oauth/access_token")).query(&query)).await
    }

    async fn exchange_long_lived(&self, user_token: &str) -> Result<TokenGrant, GraphError> {
        let query = [
            ("grant_type", "fb_exchange_token"),
            ("client_id", self.app.app_id.as_str()),
            ("client_secret", self.app.app_secret.as_str()),
            ("fb_exchange_token", user_token),
        ];
        fetch(self.client.get(self.url("oauth/access_token")).query(&query)).await
    }

    async fn refresh_instagram_token(&self, token: &str) -> Result<TokenGrant, GraphError> {
        let url = format!("{}/refresh_access_token", self.instagram_base_url);
        fetch(self.client.get(url).query(&[("grant_type", "ig_refresh_token"), ("access_token", token)])).await
    }

    async fn managed_pages(&self, user_token: &str) -> Result<Vec<ManagedPage>, GraphError> {
        let fields = "id,name,access_token,instagram_business_account{id,username}";
        let page: Paged<ManagedPage> =
            call(self.client.get(self.url("me/accounts")).query(&[("fields", fields), ("limit", "100")]), user_token)
                .await?;
        Ok(page.data)
    }

    async fn set_page_subscription(&self, page_id: &str, page_token: &str, subscribe: bool) -> Result<(), GraphError> {
        let url = self.url(&format!("{page_id}/subscribed_apps"));
        let request = if subscribe {
            let fields = subscriptions::joined(&subscriptions::PAGE_FIELDS);
            self.client.post(url).query(&[("subscribed_fields", fields)])
        } else {
            self.client.delete(url)
        };
        let _: Value = call(request, page_token).await?;
        Ok(())
    }

    async fn instagram_exchange_code(&self, code: &str, redirect_uri: &str) -> Result<InstagramGrant, GraphError> {
        let form = [
            ("client_id", self.app.instagram_app_id.as_str()),
            ("client_secret", self.app.instagram_app_secret.as_str()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ];
        let url = format!("{}/oauth/access_token", self.app.instagram_api_base_url);
        let reply: Value = fetch(self.client.post(url).form(&form)).await?;
        // Flat, or the first of `data[]`; `user_id` a number or a string.
        let grant = reply.get("data").and_then(|d| d.get(0)).unwrap_or(&reply);
        let access_token = grant.get("access_token").and_then(Value::as_str);
        let user_id = grant.get("user_id").and_then(crate::meta::id_string);
        match (access_token, user_id) {
            (Some(t), Some(id)) => Ok(InstagramGrant { access_token: t.to_owned(), user_id: id }),
            _ => Err(unreadable("Instagram code exchange")),
        }
    }

    async fn instagram_long_lived(&self, short_token: &str) -> Result<TokenGrant, GraphError> {
        let url = format!("{}/access_token", self.instagram_base_url);
        let query = [
            ("grant_type", "ig_exchange_token"),
            ("client_secret", self.app.instagram_app_secret.as_str()),
            ("access_token", short_token),
        ];
        fetch(self.client.get(url).query(&query)).await
    }

    async fn instagram_me(&self, token: &str) -> Result<InstagramMe, GraphError> {
        let me: Value = call(
            self.client.get(self.url_on(GraphHost::Instagram, "me")).query(&[("fields", "user_id,username")]),
            token,
        )
        .await?;
        let user_id = me.get("user_id").and_then(crate::meta::id_string);
        let username = me.get("username").and_then(Value::as_str).map(str::to_owned);
        user_id.map(|user_id| InstagramMe { user_id, username }).ok_or_else(|| unreadable("Instagram account lookup"))
    }

    async fn set_instagram_subscription(&self, token: &str, subscribe: bool) -> Result<(), GraphError> {
        let url = self.url_on(GraphHost::Instagram, "me/subscribed_apps");
        let request = if subscribe {
            let fields = subscriptions::joined(&subscriptions::INSTAGRAM_FIELDS);
            self.client.post(url).query(&[("subscribed_fields", fields)])
        } else {
            self.client.delete(url)
        };
        let _: Value = call(request, token).await?;
        Ok(())
    }
}

fn unreadable(what: &str) -> GraphError {
    GraphError {
        http_status: 200,
        code: None,
        subcode: None,
        is_transient: false,
        message: format!("{what}: answer without the expected fields"),
        usage: None,
        outcome_unknown: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_answer_never_quotes_what_it_held() {
        // A token where a number was expected: serde's own message would quote it.
        let e =
            serde_json::from_str::<TokenGrant>(r#"{"access_token":"EAAB-secret","expires_in":"EAAB-x"}"#).unwrap_err();
        assert!(e.to_string().contains("EAAB"), "serde quotes values: {e}");
        let error = unreadable_body(200, &e);
        assert!(!error.message.contains("EAAB"), "{}", error.message);
        assert!(error.message.contains("line 1"), "{}", error.message);
    }
}
