//! DynamoDB: idempotency keys (and spent OAuth states, in their own key space).

use super::*;

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn reserve_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (pk, sk) = (keys::org(&record.organization_id), keys::idempotency(&record.key));
        let mut item = to_item(record)?;
        ops::keyed(&mut item, pk.clone(), sk.clone());
        // Expired by DynamoDB's TTL a day later.
        item.insert("ttl".into(), n(record.created_at.timestamp() + 24 * 3600));
        if self.put(item, Some("attribute_not_exists(pk)")).await? {
            return Ok(None);
        }
        self.get(pk, sk).await?.map(from_item).transpose()
    }
}
