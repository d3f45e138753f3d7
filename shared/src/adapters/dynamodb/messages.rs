//! DynamoDB: messages after they are appended: lookups by Meta id, status and content changes, and changes waiting for their message.

use super::*;

#[async_trait]
impl MessageStore for DynamoStore {
    async fn get_message(&self, org: &str, id: &str) -> Result<Option<Message>, StoreError> {
        self.get(keys::org(org), keys::message(id)).await?.map(from_item).transpose()
    }

    async fn find_message_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<Message>, StoreError> {
        self.follow(keys::org(org), keys::mid(external_id), "messageId", keys::message)
            .await?
            .map(from_item)
            .transpose()
    }

    async fn message_id_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        let lookup = self.get(keys::org(org), keys::mid(external_id)).await?;
        Ok(lookup.and_then(|item| item.get("messageId").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        self.query_page(GSI1, keys::messages_of(org, conversation_id), page, false).await
    }

    // The changes waiting for one message share one item, one attribute each (`c_<id>`):
    // a new message finds them with one `GetItem`.
    async fn put_pending_change(&self, org: &str, mid: &str, change: &RawEvent) -> Result<(), StoreError> {
        let attr = format!("c_{}", change.id);
        let ttl = n((change.received_at + PENDING_CHANGE_TTL).timestamp());
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::pending_changes(mid)))
            .update_expression("SET #c = if_not_exists(#c, :c), #ttl = :ttl")
            .expression_attribute_names("#c", attr)
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":c", attr_of(change)?)
            .expression_attribute_values(":ttl", ttl)
            .send()
            .await
            .map(|_| ())
            .map_err(ops::backend)
    }

    async fn pending_changes(&self, org: &str, mid: &str) -> Result<Vec<RawEvent>, StoreError> {
        let Some(item) = self.get(keys::org(org), keys::pending_changes(mid)).await? else { return Ok(vec![]) };
        let changes = item.into_iter().filter(|(k, _)| k.starts_with("c_")).map(|(_, v)| ops::from_attr(v));
        changes.collect()
    }

    async fn delete_pending_change(&self, org: &str, mid: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::pending_changes(mid)))
            .update_expression("REMOVE #c")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#c", format!("c_{id}"))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| if ops::is_conditional_failure(&e) { Ok(()) } else { Err(ops::backend(e)) })
    }

    async fn insert_message(&self, message: &Message) -> Result<(), StoreError> {
        let Some(mid) = &message.external_message_id else {
            let stored = self.put(Self::message_item(message, 0)?, Some("attribute_not_exists(pk)")).await?;
            return if stored { Ok(()) } else { Err(StoreError::Conflict("message")) };
        };
        let tx = vec![
            TxItem::put(Self::message_item(message, 0)?, Some("attribute_not_exists(pk)")),
            TxItem::put(Self::mid_lookup(&message.organization_id, mid, &message.id), Some("attribute_not_exists(pk)")),
        ];
        self.transact(tx).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("message with this Meta id"),
            other => other,
        })
    }

    async fn apply_activity(
        &self,
        org: &str,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, conversation_id, |c| c.apply(activity)).await
    }

    async fn mark_message_sent(
        &self,
        org: &str,
        id: &str,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<MarkSent, StoreError> {
        optimistic("marking a message sent", move || async move {
            if let Some(holder) = self.find_message_by_external_id(org, external_id).await?
                && holder.id != id
            {
                return Ok(Round::Done(MarkSent::IdTakenBy(Box::new(holder))));
            }
            let update = TxItem::update(
                keys::org(org),
                keys::message(id),
                "SET #status = :sent, externalMessageId = :mid, updatedAt = :at REMOVE errorCode ADD rev :one",
                "attribute_exists(pk)",
                vec![("#status", "status")],
                vec![
                    (":sent", attr_of(&MessageStatus::Sent)?),
                    (":mid", s(external_id)),
                    (":at", attr_of(&at)?),
                    (":one", n(1)),
                ],
            );
            let mut lookup = TxItem::put(
                Self::mid_lookup(org, external_id, id),
                Some("attribute_not_exists(pk) OR messageId = :self"),
            );
            lookup.values.push((":self".into(), s(id)));
            match self.transact(vec![lookup, update]).await {
                Ok(()) => {
                    let sent = self.get_message(org, id).await?;
                    Ok(Round::Done(sent.map_or(MarkSent::NotFound, |m| MarkSent::Sent(Box::new(m)))))
                }
                Err(StoreError::Conflict(_)) => match self.get_message(org, id).await? {
                    None => Ok(Round::Done(MarkSent::NotFound)),
                    Some(_) => Ok(Round::Lost),
                },
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn mark_message_failed(
        &self,
        org: &str,
        id: &str,
        code: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let item = self
            .update_returning(
                keys::org(org),
                keys::message(id),
                "SET #status = :failed, errorCode = :code, updatedAt = :at ADD rev :one",
                "attribute_exists(pk)",
                vec![("#status", "status")],
                vec![
                    (":failed", attr_of(&MessageStatus::Failed)?),
                    (":code", s(code)),
                    (":at", attr_of(&at)?),
                    (":one", n(1)),
                ],
            )
            .await?;
        item.map(from_item).transpose()
    }

    async fn update_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        optimistic(&format!("message {id}"), move || async move {
            let Some(item) = self.get(keys::org(org), keys::message(id)).await? else { return Ok(Round::Done(None)) };
            let rev = item.get("rev").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut message: Message = from_item(item)?;
            if !message.apply(change, at) {
                return Ok(Round::Done(Some(message)));
            }
            let mut put = TxItem::put(Self::message_item(&message, rev + 1)?, Some("rev = :rev"));
            put.values.push((":rev".into(), n(rev)));
            match self.transact(vec![put]).await {
                Ok(()) => Ok(Round::Done(Some(message))),
                Err(StoreError::Conflict(_)) => Ok(Round::Lost),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn delete_message(&self, org: &str, id: &str) -> Result<(), StoreError> {
        let Some(message) = self.get_message(org, id).await? else { return Ok(()) };
        let mut tx = vec![TxItem::delete(keys::org(org), keys::message(id), None, vec![])];
        if let Some(mid) = &message.external_message_id {
            let cond = Some("attribute_not_exists(pk) OR messageId = :self");
            tx.push(TxItem::delete(keys::org(org), keys::mid(mid), cond, vec![(":self".into(), s(id))]));
        }
        self.transact(tx).await
    }
}
