//! Domain types: what the inbox stores and shows. No I/O here.

mod account;
mod caller;
mod conversation;
mod erasure;
mod event;
pub mod greeting;
mod history;
mod idempotency;
mod job;
mod lead;
pub mod media;
mod message;
pub mod page;
mod reply_window;
pub mod rich;
mod send;
pub mod sender_action;
mod settings;
mod story;
mod thread_control;
pub mod time_text;
mod token;
pub mod upload;

pub use account::{AccountStatus, ConnectedAccount, ENV_FALLBACK_ACCOUNT_ID};
pub use caller::Caller;
pub use conversation::{
    Activity, CommentThread, Conversation, ConversationChange, ConversationFilter, ConversationKind, ConversationView,
    PRIVATE_REPLY_WINDOW, preview_text, time_sort_key,
};
pub use erasure::{ERASURE_CALLS_PER_REQUEST, ERASURE_PAGE, ErasureProgress, erase_in_pages};
pub use event::{EVENT_SCHEMA_VERSION, EventData, EventType, InboxEvent, LoggedEvent, RecordKind, StoredChange};
pub use history::{HISTORY_STALE_AFTER, HistoryExpectation, HistoryImport, HistoryStatus};
pub use idempotency::IdempotencyRecord;
pub use job::{IntegrationJob, JobError, JobExpectation, JobStatus, JobType, SendAttempt, UnclearAnswer};
pub use lead::{CustomerProfile, Lead, ProfileFacts, ProfilePicture};
pub use message::{
    Direction, Message, MessageChange, MessageStatus, SPREAD_MESSAGE_ID, UNSENT_PREVIEW, message_preview,
};
pub use page::{Cursor, Page, PageRequest};
pub use reply_window::{Author, MessagingBasis, ReplyPolicy, SlaStatus};
pub use rich::{Button, Element, QuickReply, Template};
pub use send::{OutgoingAttachment, SendPayload, SendRoute};
pub use sender_action::{QueuedAction, SenderAction};
pub use settings::{MAX_RETENTION_DAYS, OrganizationSettings};
pub use story::STORY_LIFETIME;
pub use thread_control::ThreadControl;
pub use token::{EncryptedToken, OAuthToken, TokenKind};

use serde::{Deserialize, Serialize};

/// The channel a record belongs to: Instagram, or the Messenger DMs of the Facebook Page an
/// Instagram account is linked to. Every record carries it so the unified inbox can list
/// channels side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Provider {
    Instagram,
    Messenger,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Instagram, Provider::Messenger];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Instagram => "INSTAGRAM",
            Provider::Messenger => "MESSENGER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Provider::Instagram, Provider::Messenger].into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// A fresh, time-ordered identifier (UUID v7) with a readable prefix.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
