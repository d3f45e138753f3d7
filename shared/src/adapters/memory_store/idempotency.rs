//! Memory store: idempotency keys (and spent OAuth states, in their own key space).

use super::*;

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn reserve_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.with(|t| {
            let k = key(&record.organization_id, &record.key);
            if let Some(existing) = t.idempotency.get(&k) {
                return Some(existing.clone());
            }
            t.idempotency.insert(k, record.clone());
            None
        }))
    }
}
