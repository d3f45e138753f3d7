//! DynamoDB: webhook events kept for replay.

use super::*;

#[async_trait]
impl RawEventStore for DynamoStore {
    async fn put_raw_event(&self, event: &RawEvent) -> Result<(), StoreError> {
        let mut item = to_item(event)?;
        ops::keyed(&mut item, keys::raw(&event.external_account_id), keys::raw_event(&event.id));
        item.insert("gsi1pk".into(), s(keys::raw(&event.external_account_id)));
        item.insert("gsi1sk".into(), s(keys::ordered(&time_sort_key(event.received_at), &event.id)));
        if let Some(expires) = event.expires_at {
            item.insert("ttl".into(), n(expires.timestamp()));
        }
        // Kept once: a redelivery finds it there already.
        self.put(item, Some("attribute_not_exists(pk)")).await.map(|_| ())
    }

    async fn raw_events_page(
        &self,
        external_account_id: &str,
        page: &PageRequest,
    ) -> Result<Page<RawEvent>, StoreError> {
        self.query_page(GSI1, keys::raw(external_account_id), page, true).await
    }

    async fn list_raw_events(&self, external_account_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        let items = self.query_all(GSI1, keys::raw(external_account_id), true).await?;
        items.into_iter().map(from_item).collect()
    }

    async fn delete_raw_event(&self, external_account_id: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::raw(external_account_id)))
            .key(keys::SK, s(keys::raw_event(id)))
            .send()
            .await
            .map_err(ops::backend)?;
        Ok(())
    }
}
