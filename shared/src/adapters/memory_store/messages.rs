//! Memory store: messages after they are appended: lookups by Meta id, status and content changes, and changes waiting for their message.

use super::*;

#[async_trait]
impl MessageStore for MemoryStore {
    async fn get_message(&self, org: &str, id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.messages.get(&key(org, id)).cloned()))
    }

    async fn find_message_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.message_with_external_id(org, external_id).cloned()))
    }

    async fn message_id_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.with(|t| t.message_with_external_id(org, external_id).map(|m| m.id.clone())))
    }

    async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        Ok(self.with(|t| t.message_page(org, conversation_id, page)))
    }

    async fn put_pending_change(&self, org: &str, mid: &str, change: &RawEvent) -> Result<(), StoreError> {
        self.with(|t| {
            let waiting = t.pending.entry((org.to_owned(), mid.to_owned())).or_default();
            if !waiting.iter().any(|e| e.id == change.id) {
                waiting.push(change.clone());
            }
        });
        Ok(())
    }

    async fn pending_changes(&self, org: &str, mid: &str) -> Result<Vec<RawEvent>, StoreError> {
        Ok(self.with(|t| t.pending.get(&(org.to_owned(), mid.to_owned())).cloned().unwrap_or_default()))
    }

    async fn delete_pending_change(&self, org: &str, mid: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| {
            if let Some(waiting) = t.pending.get_mut(&(org.to_owned(), mid.to_owned())) {
                waiting.retain(|e| e.id != id);
            }
        });
        Ok(())
    }

    async fn insert_message(&self, message: &Message) -> Result<(), StoreError> {
        self.with(|t| {
            let taken = message
                .external_message_id
                .as_deref()
                .is_some_and(|mid| t.message_with_external_id(&message.organization_id, mid).is_some());
            if taken {
                return Err(StoreError::Conflict("message with this Meta id"));
            }
            if t.messages.contains_key(&key(&message.organization_id, &message.id)) {
                return Err(StoreError::Conflict("message"));
            }
            t.insert_message(message);
            Ok(())
        })
    }

    async fn apply_activity(
        &self,
        org: &str,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.update_conversation(org, conversation_id, |c| c.apply(activity))))
    }

    async fn mark_message_sent(
        &self,
        org: &str,
        id: &str,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<MarkSent, StoreError> {
        Ok(self.with(|t| {
            if let Some(holder) = t.message_with_external_id(org, external_id)
                && holder.id != id
            {
                return MarkSent::IdTakenBy(Box::new(holder.clone()));
            }
            let Some(((), m)) = t.change_message(org, id, |m| m.mark_sent(external_id, at)) else {
                return MarkSent::NotFound;
            };
            t.message_ids.insert(key(org, external_id), id.to_owned());
            MarkSent::Sent(Box::new(m))
        }))
    }

    async fn mark_message_failed(
        &self,
        org: &str,
        id: &str,
        code: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.change_message(org, id, |m| m.mark_failed(code, at)).map(|(_, m)| m)))
    }

    async fn update_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.change_message(org, id, |m| m.apply(change, at)).map(|(_, m)| m)))
    }

    async fn delete_message(&self, org: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| {
            let removed = t.remove_message(org, id);
            if let Some(mid) = removed.and_then(|m| m.external_message_id) {
                t.message_ids.remove(&key(org, &mid));
            }
        });
        Ok(())
    }
}
