//! How a live setup stands at Meta: tokens, the app's webhooks, subscriptions, messaging.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::{HttpGraphApi, Paged, call, fetch};
use crate::domain::greeting::Greeting;
use crate::meta::messenger_profile;
use crate::ports::{AppWebhook, GraphError, GraphHost, GraphSetup, SendTarget, SubscribedApp, TokenDebug};

#[async_trait]
impl GraphSetup for HttpGraphApi {
    async fn debug_token(&self, token: &str) -> Result<TokenDebug, GraphError> {
        #[derive(Deserialize)]
        struct Debug {
            data: Value,
        }
        let query = [("input_token", token), ("access_token", &self.app_token())];
        let Debug { data } = fetch(self.client.get(self.url("debug_token")).query(&query)).await?;
        let text = |k: &str| data.get(k).and_then(crate::meta::id_string);
        let expires = data.get("expires_at").and_then(Value::as_i64).filter(|t| *t > 0);
        Ok(TokenDebug {
            valid: data.get("is_valid").and_then(Value::as_bool).unwrap_or(false),
            app_id: text("app_id"),
            kind: text("type"),
            scopes: data["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            expires_at: expires.and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
        })
    }

    async fn greeting(&self, target: &SendTarget<'_>, platform: Option<&str>) -> Result<Greeting, GraphError> {
        let url = self.url_on(target.host, &format!("{}/messenger_profile", target.sender_id));
        let mut query = vec![("fields", messenger_profile::FIELDS.join(","))];
        query.extend(platform.map(|p| ("platform", p.to_owned())));
        let answer: Value = call(self.client.get(url).query(&query), target.access_token).await?;
        Ok(messenger_profile::read(&answer))
    }

    async fn set_greeting(
        &self,
        target: &SendTarget<'_>,
        platform: Option<&str>,
        greeting: &Greeting,
    ) -> Result<(), GraphError> {
        let url = self.url_on(target.host, &format!("{}/messenger_profile", target.sender_id));
        let mut body = messenger_profile::body(greeting);
        if body.as_object().is_some_and(|b| !b.is_empty()) {
            if let Some(p) = platform {
                body["platform"] = p.into();
            }
            let _: Value = call(self.client.post(&url).json(&body), target.access_token).await?;
        }
        let emptied = messenger_profile::emptied(greeting);
        if !emptied.is_empty() {
            let mut delete = serde_json::json!({ "fields": emptied });
            if let Some(p) = platform {
                delete["platform"] = p.into();
            }
            let _: Value = call(self.client.delete(&url).json(&delete), target.access_token).await?;
        }
        Ok(())
    }

    async fn app_webhooks(&self) -> Result<Vec<AppWebhook>, GraphError> {
        let url = self.url(&format!("{}/subscriptions", self.app.app_id));
        let page: Paged<Value> = fetch(self.client.get(url).query(&[("access_token", self.app_token())])).await?;
        Ok(page
            .data
            .iter()
            .map(|o| AppWebhook {
                object: o["object"].as_str().unwrap_or_default().to_owned(),
                callback_url: o["callback_url"].as_str().unwrap_or_default().to_owned(),
                active: o["active"].as_bool().unwrap_or(false),
                fields: o["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["name"].as_str().map(str::to_owned))
                    .collect(),
            })
            .collect())
    }

    async fn subscribed_apps(
        &self,
        host: GraphHost,
        owner: &str,
        token: &str,
    ) -> Result<Vec<SubscribedApp>, GraphError> {
        let url = self.url_on(host, &format!("{owner}/subscribed_apps"));
        let page: Paged<SubscribedApp> = call(self.client.get(url), token).await?;
        Ok(page.data)
    }

    async fn read_conversations(
        &self,
        host: GraphHost,
        owner: &str,
        platform: &str,
        token: &str,
    ) -> Result<(), GraphError> {
        let url = self.url_on(host, &format!("{owner}/conversations"));
        let _: Value = call(self.client.get(url).query(&[("platform", platform), ("limit", "1")]), token).await?;
        Ok(())
    }
}
