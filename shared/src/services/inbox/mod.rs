//! The inbox flow: what agents read (conversations and their messages, within one
//! organization), marking a conversation read, the organization's leads, and its live
//! stream of events.

mod erasure;
mod leads;
mod media;
mod reads;
mod retention;
pub mod stream;

pub use leads::NewLead;
pub use media::ContactView;
pub use reads::ListQuery;
pub use retention::{RetentionReport, SettingsInput};
pub use stream::{STREAM_LOOKBACK, StreamCursor};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ports::{
    AccountDirectory, Clock, ConversationStore, ErasureStore, EventStore, JobQueue, LeadStore, MediaStore,
    MessageStore, SettingsStore,
};

/// Exactly the ports the inbox flow uses.
pub struct InboxPorts {
    /// The reply policy (whether a conversation can be answered now).
    pub config: Arc<Config>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub leads: Arc<dyn LeadStore>,
    /// The organization's event log, read by the live stream.
    pub log: Arc<dyn EventStore>,
    /// A customer's data removed on request, and conversations past their retention.
    pub erasure: Arc<dyn ErasureStore>,
    /// Each organization's settings (its retention).
    pub settings: Arc<dyn SettingsStore>,
    /// A week-old profile an agent reads is fetched again, off the request's path.
    pub queue: Arc<dyn JobQueue>,
    /// Media copies, shown as signed URLs and erased with their conversations.
    pub media: Option<Arc<dyn MediaStore>>,
    /// Whether a conversation's account is active; the accounts a lead's conversations are on.
    pub directory: Arc<dyn AccountDirectory>,
    pub clock: Arc<dyn Clock>,
}

pub struct Inbox {
    ports: InboxPorts,
}

impl Inbox {
    pub fn new(ports: InboxPorts) -> Self {
        Self { ports }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }
}
