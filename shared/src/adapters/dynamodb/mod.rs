//! The production store: one DynamoDB table (see `keys` for the design). Every method is
//! `GetItem`, `Query`, or a conditional write; uniqueness (Meta ids, conversation per
//! customer, lead identities, idempotency keys) is enforced by conditional puts in
//! transactions, and a conversation's summary is updated under an optimistic `version`
//! condition, so concurrent writers retry instead of overwriting each other.

mod keys;
mod ops;
mod route_cache;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, CustomerProfile, IdempotencyRecord, IntegrationJob,
    JobExpectation, JobStatus, Lead, Message, MessageChange, MessageStatus, OAuthToken, Page, PageRequest, Provider,
    TokenKind, time_sort_key,
};
use crate::ports::{Appended, MarkSent, RawEvent, Store, StoreError};

pub use keys::{GSI1, GSI2};
use ops::{Item, TxItem, attr_of, from_item, n, s, to_item};
use route_cache::RouteCache;

/// A change whose message never comes is dropped by DynamoDB's TTL after this long.
const PENDING_CHANGE_TTL: chrono::Duration = chrono::Duration::days(30);

/// How often a write that lost a race re-reads and tries again.
const MAX_RETRIES: u32 = 16;

/// Before retry `attempt` (none before the first try): a random pause growing with the
/// attempts, so writers that collided do not collide again in lockstep.
async fn contention_pause(attempt: u32) {
    if attempt > 0 {
        let ceiling_ms = (1u64 << attempt.min(7)).min(100);
        let pause = rand::random::<u64>() % (ceiling_ms + 1);
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    routes: RouteCache,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into(), routes: RouteCache::default() }
    }

    fn conversation_item(c: &Conversation, version: i64) -> Result<Item, StoreError> {
        let order = keys::ordered(&time_sort_key(c.last_message_at), &c.id);
        let mut item = to_item(c)?;
        ops::keyed(&mut item, keys::org(&c.organization_id), keys::conversation(&c.id));
        item.insert("gsi1pk".into(), s(keys::conversations_of(&c.organization_id, Some(c.provider.as_str()))));
        item.insert("gsi1sk".into(), s(order.clone()));
        item.insert("gsi2pk".into(), s(keys::conversations_of(&c.organization_id, None)));
        item.insert("gsi2sk".into(), s(order));
        item.insert("version".into(), n(version));
        Ok(item)
    }

    /// A message item at revision `rev`: every write to a message moves its revision, so a
    /// change applied from a read (`update_message`) never overwrites a concurrent one.
    fn message_item(m: &Message, rev: i64) -> Result<Item, StoreError> {
        let mut item = to_item(m)?;
        item.insert("rev".into(), n(rev));
        ops::keyed(&mut item, keys::org(&m.organization_id), keys::message(&m.id));
        item.insert("gsi1pk".into(), s(keys::messages_of(&m.organization_id, &m.conversation_id)));
        item.insert("gsi1sk".into(), s(keys::ordered(&time_sort_key(m.created_at), &m.id)));
        Ok(item)
    }

    fn mid_lookup(org: &str, mid: &str, message_id: &str) -> Item {
        let mut item = HashMap::from([("messageId".to_owned(), s(message_id))]);
        ops::keyed(&mut item, keys::org(org), keys::mid(mid));
        item
    }

    /// The lookup of `account` by one of its external ids, written only if the id is free,
    /// already this organization's, or held by an account disconnected elsewhere (`ownerActive`
    /// mirrors the owner's status; lookups written before it existed do not block).
    fn account_lookup(account: &ConnectedAccount, external_id: &str) -> TxItem {
        let mut lookup = HashMap::from([
            ("organizationId".to_owned(), s(&account.organization_id)),
            ("accountId".to_owned(), s(&account.id)),
            ("ownerActive".to_owned(), AttributeValue::Bool(account.status != AccountStatus::Disconnected)),
        ]);
        ops::keyed(&mut lookup, keys::external_account(external_id), "EXTACC".to_owned());
        let mut put = TxItem::put(
            lookup,
            Some(
                "attribute_not_exists(pk) OR organizationId = :org OR ownerActive = :no \
                 OR attribute_not_exists(ownerActive)",
            ),
        );
        put.values.push((":org".into(), s(&account.organization_id)));
        put.values.push((":no".into(), AttributeValue::Bool(false)));
        put
    }

    fn job_item(job: &IntegrationJob) -> Result<Item, StoreError> {
        let mut item = to_item(job)?;
        ops::keyed(&mut item, keys::org(&job.organization_id), keys::job(&job.id));
        // Numbers, so the claim condition compares times exactly.
        if let Some(t) = job.next_attempt_at {
            item.insert("nextAttemptMs".into(), n(t.timestamp_millis()));
        }
        if let Some(t) = job.lease_expires_at {
            item.insert("leaseMs".into(), n(t.timestamp_millis()));
        }
        if let Some(at) = job.open_until() {
            item.insert("gsi1pk".into(), s(keys::open_jobs(keys::open_job_shard(&job.id))));
            item.insert("gsi1sk".into(), s(keys::open_job_order(at, &job.organization_id, &job.id)));
        }
        Ok(item)
    }

    async fn conversation_versioned(&self, org: &str, id: &str) -> Result<Option<(Conversation, i64)>, StoreError> {
        let Some(item) = self.get(keys::org(org), keys::conversation(id)).await? else { return Ok(None) };
        // `version` is read into the conversation too (`Conversation::version`).
        let c: Conversation = from_item(item)?;
        let version = c.version;
        Ok(Some((c, version)))
    }

    /// Read, change, write back under the read `version`; on a lost race, again.
    async fn update_conversation(
        &self,
        org: &str,
        id: &str,
        change: impl Fn(&mut Conversation),
    ) -> Result<Option<Conversation>, StoreError> {
        for attempt in 0..MAX_RETRIES {
            contention_pause(attempt).await;
            let Some((mut c, version)) = self.conversation_versioned(org, id).await? else { return Ok(None) };
            change(&mut c);
            let item = Self::conversation_item(&c, version + 1)?;
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(version));
            match put.send().await {
                Ok(_) => return Ok(Some(c)),
                Err(e) if ops::is_conditional_failure(&e) => continue,
                Err(e) => return Err(ops::backend(e)),
            }
        }
        Err(StoreError::Backend(format!("conversation {id} is too contended")))
    }

    /// The item a lookup item points at (`attr` names the target's id).
    async fn follow(
        &self,
        pk: String,
        sk: String,
        attr: &str,
        target: impl Fn(&str) -> String,
    ) -> Result<Option<Item>, StoreError> {
        let Some(lookup) = self.get(pk.clone(), sk).await? else { return Ok(None) };
        let Some(id) = lookup.get(attr).and_then(|v| v.as_s().ok()) else { return Ok(None) };
        let org = lookup.get("organizationId").and_then(|v| v.as_s().ok()).map(|o| keys::org(o)).unwrap_or(pk);
        self.get(org, target(id)).await
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        let previous: Option<ConnectedAccount> = self.get_account(&account.organization_id, &account.id).await?;
        let mut item = to_item(account)?;
        ops::keyed(&mut item, keys::org(&account.organization_id), keys::account(&account.id));
        let mut tx = vec![TxItem::put(item, None)];
        let external_ids: Vec<&str> =
            [Some(account.external_account_id.as_str()), account.page_id.as_deref()].into_iter().flatten().collect();
        for ext in &external_ids {
            tx.push(Self::account_lookup(account, ext));
        }
        // The lookups are conditional: an account is one organization's while connected there.
        self.transact(tx).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("account connected to another organization"),
            other => other,
        })?;
        self.routes.clear();
        // Lookups of ids the account no longer has (a page re-linked): removed if still ours.
        let mut stale: Vec<String> = Vec::new();
        if let Some(p) = previous {
            stale.push(p.external_account_id);
            stale.extend(p.page_id);
        }
        stale.retain(|e| !external_ids.contains(&e.as_str()));
        for ext in stale {
            let delete = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::external_account(&ext)))
                .key(keys::SK, s("EXTACC"))
                .condition_expression("accountId = :id AND organizationId = :org")
                .expression_attribute_values(":id", s(&account.id))
                .expression_attribute_values(":org", s(&account.organization_id));
            if let Err(e) = delete.send().await
                && !ops::is_conditional_failure(&e)
            {
                return Err(ops::backend(e));
            }
        }
        Ok(())
    }

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        self.get(keys::org(org), keys::account(id)).await?.map(from_item).transpose()
    }

    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        if let Some(account) = self.routes.get(external_id) {
            return Ok(Some(account));
        }
        let found =
            self.follow(keys::external_account(external_id), "EXTACC".into(), "accountId", keys::account).await?;
        let account: Option<ConnectedAccount> = found.map(from_item).transpose()?;
        if let Some(a) = &account {
            self.routes.put(external_id, a);
        }
        Ok(account)
    }

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let items = self.query_prefix(keys::org(org), "ACCOUNT#").await?;
        let mut accounts: Vec<ConnectedAccount> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        accounts.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(accounts)
    }

    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.conversation_versioned(org, id).await?.map(|(c, _)| c))
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        participant_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        // One lookup by the derived id; conversations created before ids were derived are
        // found through their lookup item.
        let derived = Conversation::id_for(org, account_id, participant_id);
        if let Some(c) = self.get_conversation(org, &derived).await? {
            return Ok(Some(c));
        }
        let sk = keys::conversation_key(account_id, participant_id);
        self.follow(keys::org(org), sk, "conversationId", keys::conversation).await?.map(from_item).transpose()
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        let org = &conversation.organization_id;
        let mut lookup = HashMap::from([("conversationId".to_owned(), s(&conversation.id))]);
        let key_sk = keys::conversation_key(&conversation.connected_account_id, &conversation.participant_id);
        ops::keyed(&mut lookup, keys::org(org), key_sk);
        let tx = vec![
            TxItem::put(lookup, Some("attribute_not_exists(pk)")),
            TxItem::put(Self::conversation_item(conversation, 1)?, Some("attribute_not_exists(pk)")),
        ];
        match self.transact(tx).await {
            Ok(()) => Ok(Conversation { version: 1, ..conversation.clone() }),
            Err(StoreError::Conflict(_)) => self
                .find_conversation(org, &conversation.connected_account_id, &conversation.participant_id)
                .await?
                .ok_or_else(|| StoreError::Backend("conversation key without conversation".into())),
            Err(e) => Err(e),
        }
    }

    async fn set_conversation_contact(
        &self,
        org: &str,
        id: &str,
        handle: Option<&str>,
        display_name: Option<&str>,
        lead_id: Option<&str>,
    ) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, id, |c| {
            if let Some(h) = handle {
                c.handle = Some(h.to_owned());
            }
            if let Some(n) = display_name {
                c.display_name = Some(n.to_owned());
            }
            if let Some(l) = lead_id {
                c.lead_id = Some(l.to_owned());
            }
        })
        .await
    }

    async fn set_conversation_preview(
        &self,
        org: &str,
        id: &str,
        newest_at: DateTime<Utc>,
        preview: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, id, |c| c.set_preview_if_newest(newest_at, preview)).await
    }

    async fn mark_conversation_read(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, id, |c| c.unread_count = 0).await
    }

    async fn list_conversations(
        &self,
        org: &str,
        provider: Option<Provider>,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let index = if provider.is_some() { GSI1 } else { GSI2 };
        self.query_page(index, keys::conversations_of(org, provider.map(Provider::as_str)), page, false).await
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
        for attempt in 0..MAX_RETRIES {
            contention_pause(attempt).await;
            let (mut conversation, version) = match known.take() {
                Some(c) => {
                    let v = c.version;
                    (c, v)
                }
                None => {
                    if let Some(mid) = &message.external_message_id
                        && let Some(existing) = self.find_message_by_external_id(org, mid).await?
                    {
                        return Ok(Appended::Duplicate(Box::new(existing)));
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
                TxItem::put_if_version(Self::conversation_item(&conversation, version + 1)?, version),
            ];
            if let Some(mid) = &message.external_message_id {
                tx.push(TxItem::put(Self::mid_lookup(org, mid, &message.id), Some("attribute_not_exists(pk)")));
            }
            match self.transact(tx).await {
                Ok(()) => {
                    return Ok(Appended::New {
                        message: Box::new(message.clone()),
                        conversation: Box::new(conversation),
                    });
                }
                Err(StoreError::Conflict(_)) => continue, // a duplicate or a concurrent update: look again
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend("message append is too contended".into()))
    }

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

    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        let org = &lead.organization_id;
        let mut item = to_item(lead)?;
        ops::keyed(&mut item, keys::org(org), keys::lead(&lead.id));
        item.insert("gsi1pk".into(), s(keys::leads_of(org)));
        item.insert("gsi1sk".into(), s(keys::ordered(&time_sort_key(lead.created_at), &lead.id)));
        let mut tx = vec![TxItem::put(item, Some("attribute_not_exists(pk)"))];
        for sk in [
            lead.instagram_handle.as_deref().map(keys::lead_handle),
            lead.instagram_user_id.as_deref().map(keys::lead_ig_id),
        ]
        .into_iter()
        .flatten()
        {
            let mut lookup = HashMap::from([("leadId".to_owned(), s(&lead.id))]);
            ops::keyed(&mut lookup, keys::org(org), sk);
            tx.push(TxItem::put(lookup, Some("attribute_not_exists(pk)")));
        }
        self.transact(tx).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("lead with this Instagram handle or user id"),
            other => other,
        })
    }

    async fn list_leads(&self, org: &str, page: &PageRequest) -> Result<Page<Lead>, StoreError> {
        self.query_page(GSI1, keys::leads_of(org), page, false).await
    }

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError> {
        self.follow(keys::org(org), keys::lead_ig_id(user_id), "leadId", keys::lead).await?.map(from_item).transpose()
    }

    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError> {
        self.follow(keys::org(org), keys::lead_handle(handle), "leadId", keys::lead).await?.map(from_item).transpose()
    }

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError> {
        self.get(keys::org(org), keys::profile(instagram_user_id)).await?.map(from_item).transpose()
    }

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError> {
        let mut item = to_item(profile)?;
        ops::keyed(&mut item, keys::org(&profile.organization_id), keys::profile(&profile.instagram_user_id));
        self.put(item, None).await.map(|_| ())
    }

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
        for attempt in 0..MAX_RETRIES {
            contention_pause(attempt).await;
            if let Some(holder) = self.find_message_by_external_id(org, external_id).await?
                && holder.id != id
            {
                return Ok(MarkSent::IdTakenBy(Box::new(holder)));
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
                    return Ok(sent.map_or(MarkSent::NotFound, |m| MarkSent::Sent(Box::new(m))));
                }
                Err(StoreError::Conflict(_)) => {
                    if self.get_message(org, id).await?.is_none() {
                        return Ok(MarkSent::NotFound);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend("marking a message sent is too contended".into()))
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
        for attempt in 0..MAX_RETRIES {
            contention_pause(attempt).await;
            let Some(item) = self.get(keys::org(org), keys::message(id)).await? else { return Ok(None) };
            let rev = item.get("rev").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut message: Message = from_item(item)?;
            if !message.apply(change, at) {
                return Ok(Some(message));
            }
            let mut put = TxItem::put(Self::message_item(&message, rev + 1)?, Some("rev = :rev"));
            put.values.push((":rev".into(), n(rev)));
            match self.transact(vec![put]).await {
                Ok(()) => return Ok(Some(message)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(format!("message {id} is too contended")))
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

    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError> {
        self.put(Self::job_item(job)?, None).await.map(|_| ())
    }

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
        self.get(keys::org(org), keys::job(id)).await?.map(from_item).transpose()
    }

    async fn replace_job(&self, job: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError> {
        let item = Self::job_item(job)?;
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        put = match expected {
            JobExpectation::Absent => put.condition_expression("attribute_not_exists(pk)"),
            JobExpectation::ClaimedBy(claim) => {
                put.condition_expression("claimId = :claim").expression_attribute_values(":claim", s(claim))
            }
            JobExpectation::Status(status) => put
                .condition_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", attr_of(&status)?),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if ops::is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(ops::backend(e)),
        }
    }

    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError> {
        let item = self
            .update_returning(
                keys::org(org),
                keys::job(id),
                "SET #status = :processing, leaseMs = :leaseMs, leaseExpiresAt = :lease, updatedAt = :now, \
                 gsi1sk = :openUntil, claimId = :claim ADD attempts :one",
                "(#status = :pending AND (attribute_not_exists(nextAttemptMs) OR nextAttemptMs <= :nowMs)) \
                 OR (#status = :processing AND leaseMs <= :nowMs)",
                vec![("#status", "status")],
                vec![
                    (":processing", attr_of(&JobStatus::Processing)?),
                    (":pending", attr_of(&JobStatus::Pending)?),
                    (":leaseMs", n(lease_until.timestamp_millis())),
                    (":lease", attr_of(&lease_until)?),
                    (":now", attr_of(&now)?),
                    (":nowMs", n(now.timestamp_millis())),
                    (":one", n(1)),
                    (":openUntil", s(keys::open_job_order(lease_until, org, id))),
                    (":claim", s(claim_id)),
                ],
            )
            .await?;
        item.map(from_item).transpose()
    }

    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError> {
        let mut stranded = Vec::new();
        for shard in 0..keys::OPEN_JOB_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :open AND gsi1sk < :before")
                .expression_attribute_values(":open", s(keys::open_jobs(shard)))
                .expression_attribute_values(":before", s(time_sort_key(before)))
                .limit(limit as i32)
                .send()
                .await
                .map_err(ops::backend)?;
            for item in out.items.unwrap_or_default() {
                stranded.push(from_item::<IntegrationJob>(item)?);
            }
        }
        stranded.sort_by_key(|j| (j.open_until(), j.organization_id.clone(), j.id.clone()));
        stranded.truncate(limit);
        Ok(stranded)
    }

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

    async fn put_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        let mut item = to_item(token)?;
        ops::keyed(&mut item, keys::org(&token.organization_id), keys::token(&token.connected_account_id, token.kind));
        if let (Some(expires), None) = (token.expires_at, token.refresh_failed_at) {
            item.insert("gsi2pk".into(), s(keys::TOKENS));
            let owner = format!("{}#{}#{}", token.organization_id, token.connected_account_id, token.kind.as_str());
            item.insert("gsi2sk".into(), s(keys::ordered(&time_sort_key(expires), &owner)));
        }
        self.put(item, None).await.map(|_| ())
    }

    async fn get_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError> {
        self.get(keys::org(org), keys::token(account_id, kind)).await?.map(from_item).transpose()
    }

    async fn delete_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::token(account_id, kind)))
            .send()
            .await
            .map_err(ops::backend)?;
        Ok(())
    }

    async fn list_tokens_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OAuthToken>, StoreError> {
        // gsi2sk starts with the expiry: everything below `before` is due, soonest first.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI2)
            .key_condition_expression("gsi2pk = :tokens AND gsi2sk < :before")
            .expression_attribute_values(":tokens", s(keys::TOKENS))
            .expression_attribute_values(":before", s(time_sort_key(before)))
            .scan_index_forward(true)
            .limit(limit as i32)
            .send()
            .await
            .map_err(ops::backend)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    async fn claim_token_refresh(
        &self,
        org: &str,
        account_id: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .update_returning(
                keys::org(org),
                keys::token(account_id, kind),
                "SET refreshLeaseUntil = :until, refreshLeaseMs = :untilMs",
                "attribute_exists(pk) AND (attribute_not_exists(refreshLeaseMs) OR refreshLeaseMs <= :nowMs)",
                vec![],
                vec![
                    (":until", attr_of(&lease_until)?),
                    (":untilMs", n(lease_until.timestamp_millis())),
                    (":nowMs", n(now.timestamp_millis())),
                ],
            )
            .await?;
        Ok(claimed.is_some())
    }

    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        let item = self
            .update_returning(
                keys::org(org),
                keys::account(id),
                "SET #status = :status, updatedAt = :at",
                "attribute_exists(pk)",
                vec![("#status", "status")],
                vec![(":status", attr_of(&status)?), (":at", attr_of(&at)?)],
            )
            .await?;
        self.routes.clear();
        let account: Option<ConnectedAccount> = item.map(from_item).transpose()?;
        if let Some(a) = &account {
            // The lookups mirror whether the owner still holds the id.
            for ext in [Some(a.external_account_id.as_str()), a.page_id.as_deref()].into_iter().flatten() {
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::external_account(ext)))
                    .key(keys::SK, s("EXTACC"))
                    .update_expression("SET ownerActive = :active")
                    .condition_expression("accountId = :id AND organizationId = :org")
                    .expression_attribute_values(":active", AttributeValue::Bool(status != AccountStatus::Disconnected))
                    .expression_attribute_values(":id", s(&a.id))
                    .expression_attribute_values(":org", s(&a.organization_id));
                if let Err(e) = update.send().await
                    && !ops::is_conditional_failure(&e)
                {
                    return Err(ops::backend(e));
                }
            }
        }
        Ok(account)
    }
}
