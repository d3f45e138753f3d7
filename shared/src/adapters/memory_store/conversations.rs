//! Memory store: conversations: one per (organization, account, customer), and appending messages to them.

use super::*;
use crate::domain::ConversationChange;

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.conversations.get(&key(org, id)).cloned()))
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.conversation_of(org, account_id, thread_key).cloned()))
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        Ok(self.with(|t| {
            let c = conversation;
            if let Some(existing) = t.conversation_of(&c.organization_id, &c.connected_account_id, c.thread_key()) {
                return existing.clone();
            }
            let owner = (c.organization_id.clone(), c.connected_account_id.clone(), c.thread_key().to_owned());
            t.conversation_keys.insert(owner, c.id.clone());
            t.insert_conversation(c);
            conversation.clone()
        }))
    }

    async fn change_conversation(
        &self,
        org: &str,
        id: &str,
        change: &ConversationChange,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.update_conversation(org, id, |c| c.change(change))))
    }

    async fn list_conversations(
        &self,
        org: &str,
        filter: ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        Ok(self.with(|t| t.conversation_page(org, filter, page)))
    }

    async fn append_message(
        &self,
        seen: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError> {
        // What the append tells, built before the lock from the conversation the caller read
        // (the lock is then held for the store's own work: a busy store's threads queued on
        // it); told again inside if the stored conversation has changed since.
        let told_message = StoredChange::Message { before: None, after: message }.events();
        let mut expected = seen.clone();
        expected.apply(activity);
        let told_conversation = StoredChange::Conversation { before: Some(seen), after: &expected }.events();
        self.with(|t| {
            if let Some(mid) = &message.external_message_id
                && let Some(existing) = t.message_with_external_id(&message.organization_id, mid)
            {
                return Ok(Appended::Duplicate(Box::new(existing.clone())));
            }
            let (org, id) = (&message.organization_id, &message.conversation_id);
            if !t.conversations.contains_key(&key(org, id)) {
                return Err(StoreError::Backend(format!("conversation {id} not found")));
            }
            // The message first, then the conversation that counts it: the order they are told.
            t.insert_message_telling(message, Some(told_message));
            let foretold = Some((seen, told_conversation));
            let conversation =
                t.update_conversation_telling(org, id, |c| c.apply(activity), foretold).expect("checked above");
            Ok(Appended::New { message: Box::new(message.clone()), conversation: Box::new(conversation) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{append, conversation, t};
    use crate::domain::{Direction, InboxEvent};
    use crate::ports::EventStore;

    /// Appends from a read that another append has since moved on tell the conversation as it
    /// is stored, not as that read would have made it.
    #[tokio::test]
    async fn appends_from_a_stale_read_tell_the_conversation_as_stored() {
        let store = MemoryStore::new();
        let read = store.create_conversation(&conversation("org_a", "acc_1", "6185", t(0))).await.unwrap();
        append(&store, &read, "m1", Direction::Inbound, t(10), "hi").await;
        append(&store, &read, "m2", Direction::Inbound, t(11), "hi").await;
        let stored = store.get_conversation("org_a", &read.id).await.unwrap().unwrap();
        assert_eq!(stored.unread_count, 2);
        let logged = store.events_after("org_a", None, 10, t(0)).await.unwrap();
        let told: Vec<&InboxEvent> = logged.iter().map(|l| &l.event).filter(|e| e.message_id.is_none()).collect();
        assert_eq!(told.last().map(|e| e.data.get()), Some(InboxEvent::conversation_updated(&stored).data.get()));
        assert_eq!(logged.len(), 4, "each message and each change of the conversation once");
    }
}
