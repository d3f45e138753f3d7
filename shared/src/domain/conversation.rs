use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Direction, Provider, ReplyPolicy, SlaStatus, ThreadControl};

/// One conversation per (organization, connected account, customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    pub provider: Provider,
    pub organization_id: String,
    pub connected_account_id: String,
    pub external_thread_id: String,
    /// The customer's Instagram-scoped id (IGSID).
    pub participant_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub lead_id: Option<String>,
    pub unread_count: u32,
    #[serde(serialize_with = "super::time_text::serialize")]
    pub last_message_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time_text::serialize_option")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::time_text::serialize_option")]
    pub last_outbound_at: Option<DateTime<Utc>>,
    pub preview_text: Option<String>,
    pub last_message_direction: Option<Direction>,
    /// Oldest inbound message not yet answered; drives `slaStatus`.
    #[serde(default, serialize_with = "super::time_text::serialize_option")]
    pub awaiting_reply_since: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::time_text::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time_text::serialize")]
    pub updated_at: DateTime<Utc>,
    /// A direct-message thread or a thread of comments under a post.
    #[serde(default)]
    pub kind: ConversationKind,
    /// For a comment thread: its top-level comment and the media it is under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentThread>,
    /// Which app controls the thread at Meta, once heard (none: this deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_control: Option<ThreadControl>,
    /// The stored revision this copy was read at (0: not read from a store). A store that
    /// writes summaries optimistically starts from it instead of reading the item again.
    #[serde(default, skip_serializing)]
    pub version: i64,
}

/// What a conversation is: DMs with one customer, or one top-level comment and its replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversationKind {
    #[default]
    Dm,
    Comment,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Dm => "DM",
            ConversationKind::Comment => "COMMENT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ConversationKind::Dm, ConversationKind::Comment].into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// A comment thread's anchor: the top-level comment (replies nest under it) and its media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentThread {
    pub comment_id: String,
    #[serde(default)]
    pub media_id: Option<String>,
    #[serde(default)]
    pub media_product_type: Option<String>,
    #[serde(default)]
    pub permalink: Option<String>,
    /// A live broadcast's thread (`comment_id` is then the broadcast's media id): every
    /// comment of the broadcast, private replies only while it lasts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

impl CommentThread {
    /// The key its conversation is found by, beside DM threads' customer ids.
    pub fn thread_key(comment_id: &str) -> String {
        format!("comment:{comment_id}")
    }
}

/// A change to a stored conversation's summary, applied alike by every store
/// (`ConversationStore::change_conversation`, under its optimistic write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChange {
    /// The contact details given; those not given stay as they are.
    Contact { handle: Option<String>, display_name: Option<String>, lead_id: Option<String> },
    /// The preview, replaced only while no message newer than `newest_at` has arrived.
    Preview { newest_at: DateTime<Utc>, text: String },
    /// A comment thread's anchor (its media's permalink, once fetched).
    CommentThread(CommentThread),
    /// Read by an agent: nothing unread.
    Read,
    /// Meta's id of the DM thread (its Conversations API id), once learnt.
    MetaThread(String),
    /// Who controls the thread, as last heard (older news changes nothing).
    ThreadControl(ThreadControl),
}

impl ConversationChange {
    /// The contact details given (the others stay).
    pub fn contact(handle: Option<&str>, display_name: Option<&str>, lead_id: Option<&str>) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        ConversationChange::Contact {
            handle: owned(handle),
            display_name: owned(display_name),
            lead_id: owned(lead_id),
        }
    }
}

/// How long after a comment its author may be sent a private reply (Meta's rule).
pub const PRIVATE_REPLY_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// Which conversations a listing wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub provider: Option<Provider>,
    pub kind: Option<ConversationKind>,
}

impl ConversationFilter {
    pub fn admits(&self, c: &Conversation) -> bool {
        self.provider.is_none_or(|p| c.provider == p) && self.kind.is_none_or(|k| c.kind == k)
    }
}

/// The conversation list's one-line preview of a message text.
pub fn preview_text(text: &str) -> String {
    text.chars().take(140).collect()
}

/// Sort key for "newest first" listings: fixed-width RFC 3339, so text order is time order.
pub fn time_sort_key(t: DateTime<Utc>) -> String {
    super::time_text::millis(t)
}

impl Conversation {
    /// A conversation with nothing in it yet: (organization, account, customer), its thread
    /// named by the customer's id, as of `at`, recorded at `now`.
    pub fn opened(
        id: String,
        org: &str,
        account_id: &str,
        customer_id: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Conversation {
            id,
            provider: Provider::Instagram,
            organization_id: org.to_owned(),
            connected_account_id: account_id.to_owned(),
            external_thread_id: customer_id.to_owned(),
            participant_id: customer_id.to_owned(),
            // The sender's id until their username is known (a Messenger person has none).
            handle: (!customer_id.is_empty()).then(|| customer_id.to_owned()),
            display_name: None,
            lead_id: None,
            unread_count: 0,
            last_message_at: at,
            last_inbound_at: None,
            last_outbound_at: None,
            preview_text: None,
            last_message_direction: None,
            awaiting_reply_since: None,
            created_at: now,
            updated_at: now,
            kind: ConversationKind::Dm,
            comment: None,
            thread_control: None,
            version: 0,
        }
    }

    /// A comment thread under `thread` (its top-level comment), opened by `commenter`.
    pub fn comment_thread(
        org: &str,
        account_id: &str,
        commenter: &str,
        thread: CommentThread,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let key = CommentThread::thread_key(&thread.comment_id);
        let id = Self::id_for(org, account_id, &key);
        Conversation {
            external_thread_id: key,
            kind: ConversationKind::Comment,
            comment: Some(thread),
            ..Self::opened(id, org, account_id, commenter, at, now)
        }
    }

    /// What the conversation is found by within its account: the customer's id for DMs,
    /// `comment:<id>` for a comment thread (as `external_thread_id` starts; a DM thread's
    /// becomes Meta's conversation id once known, its key stays the customer's id).
    pub fn thread_key(&self) -> &str {
        match self.kind {
            ConversationKind::Dm if !self.participant_id.is_empty() => &self.participant_id,
            _ => &self.external_thread_id,
        }
    }

    /// Meta's id of this DM thread, when known (its Conversations API id).
    pub fn meta_thread_id(&self) -> Option<&str> {
        (self.kind == ConversationKind::Dm && self.external_thread_id != self.participant_id)
            .then_some(self.external_thread_id.as_str())
    }

    /// The id of the conversation of (organization, account, customer): derived, not drawn,
    /// so finding it is one key lookup and concurrent first messages name the same one.
    pub fn id_for(org: &str, account_id: &str, customer_id: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(org)
            .chain_update([0])
            .chain_update(account_id)
            .chain_update([0])
            .chain_update(customer_id)
            .finalize();
        format!("conv_{}", hex::encode(&digest[..16]))
    }

    /// Applies `change` (every store does it this way).
    pub fn change(&mut self, change: &ConversationChange) {
        match change {
            ConversationChange::Contact { handle, display_name, lead_id } => {
                self.set_contact(handle.as_deref(), display_name.as_deref(), lead_id.as_deref())
            }
            ConversationChange::Preview { newest_at, text } => self.set_preview_if_newest(*newest_at, text),
            ConversationChange::CommentThread(thread) => self.comment = Some(thread.clone()),
            ConversationChange::Read => self.unread_count = 0,
            ConversationChange::MetaThread(id) if self.kind == ConversationKind::Dm => {
                self.external_thread_id = id.clone()
            }
            ConversationChange::MetaThread(_) => {}
            ConversationChange::ThreadControl(next) => {
                if let Some(control) = ThreadControl::merged(self.thread_control.as_ref(), next) {
                    self.thread_control = Some(control);
                }
            }
        }
    }

    /// The preview, replaced only while no message newer than `newest_at` has arrived.
    fn set_preview_if_newest(&mut self, newest_at: DateTime<Utc>, preview: &str) {
        if self.last_message_at <= newest_at {
            self.preview_text = Some(preview.to_owned());
        }
    }

    /// Sets the contact details given; those not given stay as they are.
    fn set_contact(&mut self, handle: Option<&str>, display_name: Option<&str>, lead_id: Option<&str>) {
        if let Some(h) = handle {
            self.handle = Some(h.to_owned());
        }
        if let Some(n) = display_name {
            self.display_name = Some(n.to_owned());
        }
        if let Some(l) = lead_id {
            self.lead_id = Some(l.to_owned());
        }
    }

    pub fn sort_key(&self) -> String {
        time_sort_key(self.last_message_at)
    }

    /// Applies one message to the conversation's summary. Events may arrive out of order
    /// (Meta's retries), so every timestamp only moves forward and the preview follows the
    /// newest message, not the last delivered one. Every store adapter must give exactly this
    /// result (the DynamoDB one with conditional update expressions).
    pub fn apply(&mut self, a: &Activity) {
        let newest = a.at >= self.last_message_at;
        if newest {
            self.last_message_at = a.at;
            self.last_message_direction = Some(a.direction);
            if a.preview.is_some() {
                self.preview_text = a.preview.clone();
            }
        }
        match a.direction {
            // History from before the account was connected: read, and answered or not, long ago.
            Direction::Inbound if a.historical => {
                self.last_inbound_at = Some(self.last_inbound_at.map_or(a.at, |t| t.max(a.at)));
            }
            Direction::Inbound => {
                self.unread_count += 1;
                self.last_inbound_at = Some(self.last_inbound_at.map_or(a.at, |t| t.max(a.at)));
                let answered_after = self.last_outbound_at.is_some_and(|t| t >= a.at);
                if !answered_after && self.awaiting_reply_since.is_none_or(|t| a.at < t) {
                    self.awaiting_reply_since = Some(a.at);
                }
            }
            Direction::Outbound => {
                self.last_outbound_at = Some(self.last_outbound_at.map_or(a.at, |t| t.max(a.at)));
                if self.awaiting_reply_since.is_some_and(|t| t <= a.at) {
                    self.awaiting_reply_since = None;
                }
            }
        }
        self.updated_at = self.updated_at.max(a.recorded_at);
    }
}

/// What one message does to its conversation's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub direction: Direction,
    /// When the message happened.
    pub at: DateTime<Utc>,
    pub preview: Option<String>,
    /// When we recorded it (`updatedAt`).
    pub recorded_at: DateTime<Utc>,
    /// Imported history: not unread, and not waiting for a reply.
    pub historical: bool,
}

impl Activity {
    /// A message as it happens (a webhook, a send).
    pub fn live(direction: Direction, at: DateTime<Utc>, preview: Option<String>, recorded_at: DateTime<Utc>) -> Self {
        Activity { direction, at, preview, recorded_at, historical: false }
    }
}

/// A conversation as the inbox API shows it: the stored fields plus what the reply window and
/// SLA say at this moment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub can_reply: bool,
    pub requires_template: bool,
    pub sla_status: SlaStatus,
    pub reply_window_ends_at: Option<DateTime<Utc>>,
}

impl ConversationView {
    /// A comment thread can always be answered in public; its window is the private reply's
    /// (7 days after the newest comment). A DM thread's is Instagram's messaging window.
    pub fn new(conversation: Conversation, account_active: bool, policy: &ReplyPolicy, now: DateTime<Utc>) -> Self {
        let (reply_window_ends_at, public) = match conversation.kind {
            ConversationKind::Dm => (policy.window_ends_at(conversation.last_inbound_at), false),
            ConversationKind::Comment => (conversation.last_inbound_at.map(|t| t + PRIVATE_REPLY_WINDOW), true),
        };
        ConversationView {
            can_reply: account_active && (public || reply_window_ends_at.is_some_and(|end| now < end)),
            requires_template: false,
            sla_status: policy.sla_status(conversation.awaiting_reply_since, now),
            reply_window_ends_at,
            conversation,
        }
    }
}
