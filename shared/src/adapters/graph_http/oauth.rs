//! Connecting accounts: the OAuth exchanges, token refresh, webhook subscriptions.

use async_trait::async_trait;
use serde_json::Value;

use super::{HttpGraphApi, Paged, call, fetch, unreadable};
use crate::meta::subscriptions;
use crate::ports::{GraphError, GraphHost, GraphOAuth, InstagramGrant, InstagramMe, ManagedPage, TokenGrant};

#[async_trait]
impl GraphOAuth for HttpGraphApi {
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

    async fn user_id(&self, user_token: &str) -> Result<String, GraphError> {
        let me: Value = call(self.client.get(self.url("me")).query(&[("fields", "id")]), user_token).await?;
        me.get("id").and_then(crate::meta::id_string).ok_or_else(|| unreadable("user lookup"))
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
        self.subscription(url, &subscriptions::PAGE_FIELDS, page_token, subscribe).await
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
        self.subscription(url, &subscriptions::INSTAGRAM_FIELDS, token, subscribe).await
    }
}

impl HttpGraphApi {
    /// Subscribes the app to `fields` at `url` (a `subscribed_apps` edge), or unsubscribes it.
    async fn subscription(&self, url: String, fields: &[&str], token: &str, subscribe: bool) -> Result<(), GraphError> {
        let request = match subscribe {
            true => self.client.post(url).query(&[("subscribed_fields", fields.join(","))]),
            false => self.client.delete(url),
        };
        let _: Value = call(request, token).await?;
        Ok(())
    }
}
