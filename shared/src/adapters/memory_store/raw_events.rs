//! Memory store: webhook events kept for replay.

use super::*;

#[async_trait]
impl RawEventStore for MemoryStore {
    async fn put_raw_event(&self, event: &RawEvent) -> Result<(), StoreError> {
        self.with(|t| {
            if !t.raw_events.iter().any(|e| e.id == event.id) {
                t.raw_events.push(event.clone());
            }
        });
        Ok(())
    }

    async fn raw_events_page(
        &self,
        external_account_id: &str,
        page: &PageRequest,
    ) -> Result<Page<RawEvent>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .raw_events
                .iter()
                .filter(|e| e.external_account_id == external_account_id)
                .map(|e| (crate::domain::time_sort_key(e.received_at), e.id.clone(), e.clone()))
                .collect();
            page_ordered(items, page, false)
        }))
    }

    async fn list_raw_events(&self, external_account_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        Ok(self.with(|t| {
            let mut v: Vec<_> =
                t.raw_events.iter().filter(|e| e.external_account_id == external_account_id).cloned().collect();
            v.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
            v
        }))
    }

    async fn delete_raw_event(&self, external_account_id: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| t.raw_events.retain(|e| !(e.external_account_id == external_account_id && e.id == id)));
        Ok(())
    }
}
