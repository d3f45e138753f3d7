//! Meta's Conversations API: an account's threads and their recent messages.

use async_trait::async_trait;
use serde_json::Value;

use super::{HttpGraphApi, call};
use crate::domain::Provider;
use crate::meta::conversations::{self, MESSAGE_FIELDS, THREAD_FIELDS};
use crate::ports::{GraphError, GraphHost, GraphThreads, MetaMessage, MetaThreadPage, ThreadQuery};

#[async_trait]
impl GraphThreads for HttpGraphApi {
    async fn list_threads(&self, q: &ThreadQuery<'_>) -> Result<MetaThreadPage, GraphError> {
        let url = self.url_on(q.host, &format!("{}/conversations", q.owner));
        let platform = match q.platform {
            Provider::Instagram => "instagram",
            Provider::Messenger => "messenger",
        };
        let limit = q.limit.to_string();
        let mut query = vec![("platform", platform), ("fields", THREAD_FIELDS), ("limit", &limit)];
        if let Some(after) = q.after {
            query.push(("after", after));
        }
        let body: Value = call(self.client.get(url).query(&query), q.token).await?;
        Ok(conversations::thread_page(&body))
    }

    async fn thread_messages(
        &self,
        host: GraphHost,
        token: &str,
        thread_id: &str,
    ) -> Result<Vec<MetaMessage>, GraphError> {
        let url = self.url_on(host, thread_id);
        let body: Value = call(self.client.get(url).query(&[("fields", MESSAGE_FIELDS)]), token).await?;
        Ok(conversations::thread_messages(&body))
    }
}
