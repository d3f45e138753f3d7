//! DynamoDB: conversations: one per (organization, account, customer), and appending messages to them.

use super::shards::Only;
use super::*;
use crate::domain::ConversationChange;

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.conversation_versioned(org, id).await?.map(|(c, _)| c))
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        // One lookup by the derived id; conversations created before ids were derived are
        // found through their lookup item.
        let derived = Conversation::id_for(org, account_id, thread_key);
        if let Some(c) = self.get_conversation(org, &derived).await? {
            return Ok(Some(c));
        }
        let sk = keys::conversation_key(account_id, thread_key);
        self.follow(keys::org(org), sk, "conversationId", keys::conversation).await?.map(from_item).transpose()
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        let (org, account, thread) =
            (&conversation.organization_id, &conversation.connected_account_id, conversation.thread_key());
        let absent = Some("attribute_not_exists(pk)");
        let item = self.conversation_item(conversation, 1)?;
        // A derived id is found by its key alone and is unique by its own condition: one put,
        // not a transaction of two items at twice their units. Any other id (one drawn before
        // ids were derived, or by a caller of the port) is found through its lookup item.
        let created = if conversation.id == Conversation::id_for(org, account, thread) {
            self.put(item, absent).await?
        } else {
            let mut lookup = HashMap::from([("conversationId".to_owned(), s(&conversation.id))]);
            ops::keyed(&mut lookup, keys::org(org), keys::conversation_key(account, thread));
            match self.transact(vec![TxItem::put(lookup, absent), TxItem::put(item, absent)]).await {
                Ok(()) => true,
                Err(StoreError::Conflict(_)) => false,
                Err(e) => return Err(e),
            }
        };
        if created {
            return Ok(Conversation { version: 1, ..conversation.clone() });
        }
        self.find_conversation(org, account, thread)
            .await?
            .ok_or_else(|| StoreError::Backend("conversation key without conversation".into()))
    }

    async fn change_conversation(
        &self,
        org: &str,
        id: &str,
        change: &ConversationChange,
    ) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, id, |c| c.change(change)).await
    }

    async fn list_conversations(
        &self,
        org: &str,
        filter: ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let provider = filter.provider.map(Provider::as_str);
        if filter.kind == Some(ConversationKind::Comment) {
            // Comment threads have a list of their own; a provider is a filter on it.
            let only = provider.map(|p| Only { attr: "provider", value: p, or_absent: false });
            let shards = self.inbox_partitions(&keys::conversations_of_kind(org, ConversationKind::Comment.as_str()));
            return self.query_shards_where(GSI3, shards, page, false, only).await;
        }
        let shards = match provider {
            Some(p) => self.inbox_partitions(&keys::conversations_of(org, p)),
            None => self.all_conversation_partitions(org),
        };
        // DMs are the providers' lists without their comment threads: a DM's message then
        // moves it in one list, not two (conversations stored before kinds were are DMs).
        let dm = ConversationKind::Dm.as_str();
        let only = filter.kind.map(|_| Only { attr: "kind", value: dm, or_absent: true });
        self.query_shards_where(GSI1, shards, page, false, only).await
    }

    async fn append_message(
        &self,
        seen: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError> {
        let org = &message.organization_id;
        // First try over the revision the caller read (the caller looked for a duplicate
        // beside that read); after a cancelled transaction, find out why and read again.
        let mut known = (seen.version > 0 && seen.id == message.conversation_id).then(|| seen.clone());
        optimistic("message append", move || {
            let known = known.take();
            async move {
                let (mut conversation, version) = match known {
                    Some(c) => {
                        let v = c.version;
                        (c, v)
                    }
                    None => {
                        if let Some(mid) = &message.external_message_id
                            && let Some(existing) = self.find_message_by_external_id(org, mid).await?
                        {
                            return Ok(Round::Done(Appended::Duplicate(Box::new(existing))));
                        }
                        self.conversation_versioned(org, &message.conversation_id).await?.ok_or_else(|| {
                            StoreError::Backend(format!("conversation {} not found", message.conversation_id))
                        })?
                    }
                };
                conversation.apply(activity);
                conversation.version = version + 1;
                let mut tx = vec![
                    TxItem::put(Self::message_item(message, 0)?, Some("attribute_not_exists(pk)")),
                    TxItem::put_if_version(self.conversation_item(&conversation, version + 1)?, version),
                ];
                if let Some(mid) = &message.external_message_id {
                    tx.push(TxItem::put(Self::mid_lookup(org, mid, &message.id), Some("attribute_not_exists(pk)")));
                }
                match self.transact(tx).await {
                    Ok(()) => Ok(Round::Done(Appended::New {
                        message: Box::new(message.clone()),
                        conversation: Box::new(conversation),
                    })),
                    Err(StoreError::Conflict(_)) => Ok(Round::Lost), // a duplicate or a concurrent update: look again
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }
}
