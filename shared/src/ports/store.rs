use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::RawEvent;

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, ConversationChange, ConversationFilter, CustomerProfile,
    HistoryExpectation, HistoryImport, IdempotencyRecord, IntegrationJob, JobExpectation, Lead, LoggedEvent, Message,
    MessageChange, OAuthToken, Page, PageRequest, TokenKind,
};

/// How long a webhook's account routing may be served from a process's cache.
pub const ROUTE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid pagination cursor")]
    InvalidCursor,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// Outcome of appending a message: new, or the one already stored under the same Meta id.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    New { message: Box<Message>, conversation: Box<Conversation> },
    Duplicate(Box<Message>),
}

/// Outcome of recording Meta's id on a sent message.
#[derive(Debug, Clone, PartialEq)]
pub enum MarkSent {
    Sent(Box<Message>),
    /// Another message of the organization already holds that Meta id: the webhook echo of
    /// this very send, stored before the send call returned.
    IdTakenBy(Box<Message>),
    NotFound,
}

/// Persistence, shaped by the access patterns: every method is one key lookup or one ordered
/// range read (DynamoDB `GetItem`/`Query`/conditional writes), never a full iteration.
/// Every read made for a user is keyed by the organization id.
///
/// One trait per aggregate: a service names the ones it uses; `Store` is all of them, for
/// the adapters (each implements every part, one file per aggregate) and the conformance suite.
pub trait Store:
    AccountStore
    + ConversationStore
    + MessageStore
    + LeadStore
    + super::RawEventStore
    + JobStore
    + IdempotencyStore
    + EventStore
    + super::ErasureStore
    + super::SettingsStore
{
}

impl<
    T: AccountStore
        + ConversationStore
        + MessageStore
        + LeadStore
        + super::RawEventStore
        + JobStore
        + IdempotencyStore
        + EventStore
        + super::ErasureStore
        + super::SettingsStore
        + ?Sized,
> Store for T
{
}

/// Each organization's log of inbox events, in the order they were appended: what the live
/// stream reads. An event is in it once (by its id); entries expire after `retain`.
///
/// The log is made of the store's own writes (`StoredChange`): the embedded stores append a
/// write's events in the write's transaction; on DynamoDB the event relay appends them from
/// the table's stream. No flow publishes, so no crash between a change and its event can
/// lose the event.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// How long the events a store logs of its own writes are kept (`EVENT_RETENTION_HOURS`;
    /// 24 hours until told). DynamoDB's relay is told by its own configuration.
    fn keep_events_for(&self, _retain: chrono::Duration) {}

    /// Appends each event its organization's log does not hold yet (by id) at its position
    /// (`LoggedEvent::position_of`: the log reads in append order, processes' clocks aside,
    /// so readers look back a little); the others are left where they are. Kept until
    /// `expires_at`. An event whose record (`InboxEvent::record`) is no longer stored is not
    /// logged, none outliving an erasure: the ids of those are answered.
    async fn append_events(&self, events: &[LoggedEvent], expires_at: DateTime<Utc>)
    -> Result<Vec<String>, StoreError>;

    /// The organization's events after position `after`, oldest first, at most `limit`;
    /// from the oldest kept without `after`. None past `now`'s expiry.
    async fn events_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
}

/// Connected accounts and their encrypted tokens.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // Connected accounts.
    /// Creates or replaces the account and its lookup by external id (and page id).
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError>;

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError>;

    /// The account whose Instagram account id or page id is `external_id`, in any organization.
    /// May answer from a per-process cache up to `ROUTE_CACHE_TTL` old (webhook routing), so
    /// a disconnect made by another process stops routing within that time.
    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError>;

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError>;

    /// The accounts, in any organization, that the Meta user `meta_user_id` connected (as
    /// Meta's deauthorize and data deletion callbacks name them), ordered by (organization, id).
    async fn accounts_of_meta_user(&self, meta_user_id: &str) -> Result<Vec<ConnectedAccount>, StoreError>;

    /// The account no longer names the Meta user who connected it (data deletion): the
    /// account after, or `None` when there is none.
    async fn forget_meta_user(
        &self,
        org: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError>;

    // Tokens and account status.
    async fn put_token(&self, token: &OAuthToken) -> Result<(), StoreError>;

    /// An account holds one token of each kind.
    async fn get_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError>;

    async fn delete_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<(), StoreError>;

    /// The account's status becomes `status`, changed by `by` (an agent's `sub`, or none).
    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError>;

    /// Tokens expiring before `before` whose refresh has not failed, soonest first.
    async fn list_tokens_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OAuthToken>, StoreError>;

    /// Claims a token for refreshing until `lease_until`, unless another run holds it.
    async fn claim_token_refresh(
        &self,
        org: &str,
        account_id: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Writes the account's history import (only that field) if the stored one meets
    /// `expected`; false when it does not (or there is no such account), and nothing is written.
    async fn put_history(
        &self,
        org: &str,
        account_id: &str,
        history: &HistoryImport,
        expected: HistoryExpectation<'_>,
    ) -> Result<bool, StoreError>;

    /// Every organization's ACTIVE accounts, ordered by (organization, id), a page at a time:
    /// the scheduled sweep's round. `after` is the previous page's `next_cursor`.
    async fn list_active_accounts(&self, page: &PageRequest) -> Result<Page<ConnectedAccount>, StoreError>;
}

/// Conversations: one per (organization, account, customer), and appending messages to them.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    // Conversations.
    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError>;

    /// The conversation of (organization, account, thread key), if one exists: the thread key
    /// is the customer's id for DMs, `comment:<id>` for a comment thread
    /// (`Conversation::thread_key`).
    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Creates the conversation unless one exists for its (organization, account, thread key);
    /// returns whichever is stored, so concurrent first messages share one conversation.
    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError>;

    /// Applies `change` to the organization's conversation (`Conversation::apply`, under the
    /// store's concurrency rule): the conversation after, or `None` when there is none.
    async fn change_conversation(
        &self,
        org: &str,
        id: &str,
        change: &ConversationChange,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Newest `lastMessageAt` first, those `filter` admits.
    async fn list_conversations(
        &self,
        org: &str,
        filter: ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError>;

    // Messages.
    /// Stores the message unless its organization already has one with the same
    /// `externalMessageId`, and applies `activity` to its conversation in the same step, so a
    /// redelivered event changes nothing and a stored message always counted. `conversation`
    /// is the message's conversation as the caller read it: a store may write over that
    /// revision without reading it again (and reads again if it moved).
    async fn append_message(
        &self,
        conversation: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError>;
}

/// Messages after they are appended: lookups by Meta id, status and content changes, and changes waiting for their message.
#[async_trait]
pub trait MessageStore: Send + Sync {
    async fn get_message(&self, org: &str, id: &str) -> Result<Option<Message>, StoreError>;

    /// The id of the organization's message with this Meta id: one key lookup, the cheapest
    /// way to recognise a redelivery.
    async fn message_id_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<String>, StoreError>;

    async fn find_message_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<Message>, StoreError>;

    /// Newest `createdAt` first.
    async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError>;

    // Changes waiting for their message (a reaction, edit, unsend or read receipt that
    // arrived before the message it names), keyed by the organization and the message's Meta id.
    /// Keeps the change once (its `id` is a digest: a redelivery overwrites nothing).
    async fn put_pending_change(&self, org: &str, mid: &str, change: &RawEvent) -> Result<(), StoreError>;

    async fn pending_changes(&self, org: &str, mid: &str) -> Result<Vec<RawEvent>, StoreError>;

    async fn delete_pending_change(&self, org: &str, mid: &str, id: &str) -> Result<(), StoreError>;

    // Outbound messages.
    /// Stores a message without touching its conversation (an outbound message waiting to
    /// be sent). `Conflict` if its id or its `externalMessageId` is taken: a message once
    /// stored is never overwritten by a second insert.
    async fn insert_message(&self, message: &Message) -> Result<(), StoreError>;

    /// Applies one message's effect to its conversation's summary (see `Conversation::apply`).
    async fn apply_activity(
        &self,
        org: &str,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Status SENT with Meta's id, unless another message holds the id.
    async fn mark_message_sent(
        &self,
        org: &str,
        id: &str,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<MarkSent, StoreError>;

    /// Status FAILED with the stable error code.
    async fn mark_message_failed(
        &self,
        org: &str,
        id: &str,
        code: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;

    /// Applies a later event (reaction, read, edit, deletion) to a stored message; `None`
    /// when there is no such message.
    async fn update_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;

    /// Removes a message and its Meta id.
    async fn delete_message(&self, org: &str, id: &str) -> Result<(), StoreError>;
}

/// Leads and cached customer profiles.
#[async_trait]
pub trait LeadStore: Send + Sync {
    // Leads and customer profiles.
    /// Fails with `Conflict` when the Instagram handle or user id already names another lead.
    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError>;

    /// Newest first.
    async fn list_leads(&self, org: &str, page: &PageRequest) -> Result<Page<Lead>, StoreError>;

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError>;

    /// `handle` is normalised (lower case, no `@`).
    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError>;

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError>;

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError>;

    /// The profile whose username is `username` (normalised: lower case, no `@`) now.
    async fn find_profile_by_username(&self, org: &str, username: &str) -> Result<Option<CustomerProfile>, StoreError>;
}

/// Integration jobs: claims, leases and the stranded-job index.
#[async_trait]
pub trait JobStore: Send + Sync {
    // Jobs.
    /// Creates or replaces the job.
    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError>;

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError>;

    /// Writes the job only if the stored one meets `expected` (not there yet, held by a
    /// claim, in a status); false when it does not, and nothing is written.
    async fn replace_job(&self, job: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError>;

    /// Atomically moves a claimable job (see `IntegrationJob::claimable`) to PROCESSING with
    /// one more attempt, a lease until `lease_until` and `claim_id` as its claim. `None` when
    /// it is not claimable, so two workers given the same queue message never both send.
    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError>;

    /// Jobs still open whose time (`IntegrationJob::open_until`) is before `before`, oldest
    /// first: their queue message was lost, and they are queued again.
    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError>;
}

/// Idempotency keys (and spent OAuth states, in their own key space).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    // Idempotency keys.
    /// Stores the record unless the organization already used its key; returns the earlier
    /// record in that case.
    async fn reserve_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}
