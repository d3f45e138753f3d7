//! DynamoDB: erasure of a customer's or an organization's data, a page at a time. Every item
//! of an organization is under `ORG#<org>`; only the webhook routes (`EXTACC#`) are not, and
//! they go with their account. Deletes go out 25 to a `BatchWriteItem`.

use super::*;
use crate::domain::OrganizationSettings;
use crate::ports::{ErasureStore, SettingsStore};

impl DynamoStore {
    /// Deletes every key, 25 to a `BatchWriteItem`.
    async fn delete_keys(&self, keys: &[Key]) -> Result<usize, StoreError> {
        self.write_batches(keys.iter().map(ops::delete_request).collect::<Result<_, _>>()?).await?;
        Ok(keys.len())
    }

    /// Deletes the webhook routes of an account being erased, those still its own.
    async fn delete_routes(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        for ext in account.route_keys() {
            self.delete_route_if_owned(&ext, account).await?;
        }
        self.routes.clear();
        Ok(())
    }

    /// The organization's logged events about a conversation (every shard of its log), with
    /// their id guards.
    async fn event_keys_about(&self, org: &str, conversation_id: &str) -> Result<Vec<Key>, StoreError> {
        let mut found = Vec::new();
        for shard in 0..self.log_shards {
            let log = keys::event_log(org, shard);
            let about = s(format!("\"conversationId\":\"{conversation_id}\""));
            let query = self
                .log_query(org, shard, None)
                .filter_expression("contains(body, :about)")
                .expression_attribute_values(":about", about);
            for item in self.query_to_end(query).await? {
                let event: Option<crate::domain::InboxEvent> =
                    ops::text(&item, "body").and_then(|b| serde_json::from_str(b).ok());
                if let Some(event) = event.filter(|e| e.conversation_id.as_deref() == Some(conversation_id)) {
                    found.push((keys::org(org), keys::event_id(&event.id)));
                }
                found.push((log.clone(), ops::text(&item, keys::SK).unwrap_or_default().to_owned()));
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl ErasureStore for DynamoStore {
    async fn conversations_of_participant(
        &self,
        org: &str,
        participant_id: &str,
    ) -> Result<Vec<Conversation>, StoreError> {
        // The organization's conversation lists (every provider's, every shard), filtered:
        // erasure requests are rare.
        let mut found: Vec<Conversation> = Vec::new();
        for shard in self.all_conversation_partitions(org) {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :convs")
                .filter_expression("participantId = :p")
                .expression_attribute_values(":convs", s(shard))
                .expression_attribute_values(":p", s(participant_id));
            for item in self.query_to_end(query).await? {
                found.push(from_item(item)?);
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    async fn inactive_conversations(
        &self,
        org: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        // The organization's conversation lists run by last message: their merged start is
        // the longest inactive.
        self.index_before(GSI1, self.all_conversation_partitions(org), before, limit).await
    }

    async fn erase_conversation(&self, org: &str, id: &str, limit: usize) -> Result<usize, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :msgs")
            .expression_attribute_values(":msgs", s(keys::messages_of(org, id)))
            .limit(limit as i32)
            .send()
            .await
            .map_err(ops::backend)?;
        let mut doomed: Vec<Key> = Vec::new();
        for item in out.items.unwrap_or_default() {
            doomed.push((keys::org(org), ops::text(&item, keys::SK).unwrap_or_default().to_owned()));
            if let Some(mid) = ops::text(&item, "externalMessageId") {
                doomed.push((keys::org(org), keys::mid(mid)));
                doomed.push((keys::org(org), keys::pending_changes(mid)));
            }
        }
        if !doomed.is_empty() {
            return self.delete_keys(&doomed).await;
        }
        // The conversation, then its events: the relay checks a record after logging what it
        // tells (`events::take_back_erased`), so what it logged before this delete is found
        // below and what it logs after takes itself back.
        let Some(conversation) = self.get_conversation(org, id).await? else { return Ok(0) };
        let lookup = keys::conversation_key(&conversation.connected_account_id, conversation.thread_key());
        let erased = self.delete_keys(&[(keys::org(org), keys::conversation(id)), (keys::org(org), lookup)]).await?;
        Ok(erased + self.delete_keys(&self.event_keys_about(org, id).await?).await?)
    }

    async fn erase_customer(&self, org: &str, participant_id: &str) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        if let Some(profile) = self.get_profile(org, participant_id).await? {
            doomed.push((keys::org(org), keys::profile(participant_id)));
            if let Some(handle) = profile.handle() {
                doomed.push((keys::org(org), keys::profile_by_username(&handle)));
            }
        }
        let mut changed = 0;
        if let Some(lead) = self.find_lead_by_instagram_user_id(org, participant_id).await? {
            self.update_returning(
                keys::org(org),
                keys::lead(&lead.id),
                "REMOVE instagramUserId, instagramHandle",
                "attribute_exists(pk)",
                vec![],
                vec![],
            )
            .await?;
            changed = 1;
            doomed.push((keys::org(org), keys::lead_ig_id(participant_id)));
            if let Some(handle) = &lead.instagram_handle {
                doomed.push((keys::org(org), keys::lead_handle(handle)));
            }
        }
        Ok(changed + self.delete_keys(&doomed).await?)
    }

    async fn erase_organization(&self, org: &str, limit: usize) -> Result<usize, StoreError> {
        // The organization's partition (its records, and the log's shard 0) first, then the
        // log's other shards, each a partition of its own: an event the relay logs once the
        // records are gone takes itself back (`events::take_back_erased`), and one logged before
        // is found here.
        for shard in 0..self.log_shards {
            let pk = keys::event_log(org, shard);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(&pk))
                .limit(limit as i32)
                .consistent_read(true)
                .send()
                .await
                .map_err(ops::backend)?;
            let items = out.items.unwrap_or_default();
            if items.is_empty() {
                continue;
            }
            for item in items.iter().filter(|i| ops::text(i, keys::SK).is_some_and(|sk| sk.starts_with("ACCOUNT#"))) {
                self.delete_routes(&from_item(item.clone())?).await?;
            }
            let doomed: Vec<Key> =
                items.iter().map(|i| (pk.clone(), ops::text(i, keys::SK).unwrap_or_default().to_owned())).collect();
            return self.delete_keys(&doomed).await;
        }
        Ok(0)
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(&self, org: &str) -> Result<Option<OrganizationSettings>, StoreError> {
        self.get(keys::org(org), keys::SETTINGS.to_owned()).await?.map(from_item).transpose()
    }

    async fn put_settings(&self, settings: &OrganizationSettings) -> Result<(), StoreError> {
        let org = &settings.organization_id;
        let mut item = to_item(settings)?;
        ops::keyed(&mut item, keys::org(org), keys::SETTINGS.to_owned());
        if settings.message_retention_days.is_some() {
            item.insert("gsi1pk".into(), s(keys::RETENTION));
            item.insert("gsi1sk".into(), s(org));
        }
        self.put(item, None).await.map(|_| ())
    }

    async fn organizations_with_retention(&self) -> Result<Vec<OrganizationSettings>, StoreError> {
        let items = self.query_all(GSI1, keys::RETENTION.to_owned(), true).await?;
        items.into_iter().map(from_item).collect()
    }
}
