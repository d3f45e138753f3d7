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
        _seen: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError> {
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
            t.insert_message(message);
            let conversation = t.update_conversation(org, id, |c| c.apply(activity)).expect("checked above");
            Ok(Appended::New { message: Box::new(message.clone()), conversation: Box::new(conversation) })
        })
    }
}
