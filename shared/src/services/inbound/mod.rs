//! The inbound flow: Meta's webhook items become messages, comment threads, receipts and
//! changes in the inbox. What cannot be stored yet is kept raw and replayed; what the
//! webhook's time budget leaves goes to the jobs queue and comes back here. An account's
//! history, and the messages whose webhook Meta lost, come from its Conversations API (the
//! import, the sweep).

mod changes;
mod comments;
mod events;
mod handover;
mod history;
mod ingest;
mod lookups_queued;
mod media;
mod meta_threads;
mod permalinks;
mod profiles;
mod receipts;
mod replay;
mod sweep;

pub use ingest::AcceptReport;
pub use sweep::{SweepReport, SweepRound};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ports::{
    AccountDirectory, AccountStore, Clock, ConversationStore, GraphApi, Jitter, JobQueue, LeadStore, MediaSource,
    MediaStore, MessageStore, RawEventStore,
};

/// Why an event waits for replay: nobody has connected its account (yet).
const NO_ACCOUNT: &str = "no connected account";

/// What became of one webhook item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stored,
    /// Applied to a stored message (reaction, read, edit, deletion).
    Updated,
    Duplicate,
    KeptRaw,
    /// Kept raw because no organization has its account (yet): replayed on connect.
    NoAccount,
    /// A change kept until the message it names arrives.
    Waiting,
    /// Of no use to an inbox: acknowledged, kept nowhere.
    Ignored,
}

/// Exactly the ports the inbound flow uses.
pub struct InboundPorts {
    pub config: Arc<Config>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    /// Customer profiles and the leads a conversation links to.
    pub leads: Arc<dyn LeadStore>,
    pub raw_events: Arc<dyn RawEventStore>,
    /// What the webhook's budget leaves, contact enrichment, replay pages.
    pub queue: Arc<dyn JobQueue>,
    /// Profiles and permalinks.
    pub graph: Arc<dyn GraphApi>,
    /// Which account an event belongs to, and its token.
    pub directory: Arc<dyn AccountDirectory>,
    /// The history import's progress on the account, and the sweep's round of accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Where copies of messages' files are kept, when the deployment keeps them.
    pub media: Option<Arc<dyn MediaStore>>,
    /// Where Meta's attachment links are read.
    pub media_source: Arc<dyn MediaSource>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn Jitter>,
}

pub struct Inbound {
    ports: InboundPorts,
    /// Comment threads' media links, one lookup per media (see `permalinks`).
    permalinks: permalinks::Permalinks,
    /// Profile lookups this process queued lately, one a conversation.
    lookups_queued: lookups_queued::LookupsQueued,
}

impl Inbound {
    pub fn new(ports: InboundPorts) -> Self {
        Self { ports, permalinks: Default::default(), lookups_queued: Default::default() }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }
}
