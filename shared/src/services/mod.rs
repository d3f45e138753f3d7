//! Use cases over the ports. `Core` holds the adapters, built once at start-up; each file
//! adds one family of use cases to it.

mod accounts;
pub mod backoff;
mod changes;
mod comment_replies;
mod comments;
mod confirm;
mod delivery;
mod directory;
mod health;
mod inbound;
mod inbox;
mod ingest;
mod jobs;
mod leads;
mod oauth;
mod oauth_state;
pub mod pacing;
mod receipts;
mod replay;
mod send;
mod tokens;

pub use crate::domain::{OutgoingAttachment, SendRoute};
pub use comment_replies::{PrivateReply, PrivateReplyAccepted};
pub use directory::StoreDirectory;
pub use health::{CheckStatus, HealthCheck, HealthReport};
pub use inbox::ListQuery;
pub use ingest::AcceptReport;
pub use jobs::JobOutcome;
pub use leads::NewLead;
/// The permissions Facebook Login asks for (the doctor checks a token has them all).
pub use oauth::SCOPES as OAUTH_SCOPES;
pub use oauth::{CallbackOutcome, CallbackParams, ConnectResult};
pub use oauth_state::Flow;
pub use send::{Outgoing, SendAccepted};
pub use tokens::RefreshReport;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ports::{
    AccountDirectory, AccountStore, Clock, ConversationStore, GraphApi, IdempotencyStore, Jitter, JobQueue, JobStore,
    LeadStore, MessageStore, RawEventStore, Store, TokenCipher,
};

pub struct Core {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn TokenCipher>,
    pub graph: Arc<dyn GraphApi>,
    /// Which account an event or conversation belongs to, and its token (development adds
    /// the fallback account there, at start-up).
    pub directory: Arc<dyn AccountDirectory>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn Jitter>,
    /// Spaces out sends per account (see `pacing`).
    pub pacer: Arc<pacing::Pacer>,
}

impl Core {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    // One view of the store per aggregate: each use case names the part it works on.
    pub(crate) fn accounts(&self) -> &dyn AccountStore {
        &*self.store
    }

    pub(crate) fn conversations(&self) -> &dyn ConversationStore {
        &*self.store
    }

    pub(crate) fn messages(&self) -> &dyn MessageStore {
        &*self.store
    }

    pub(crate) fn leads(&self) -> &dyn LeadStore {
        &*self.store
    }

    pub(crate) fn raw_events(&self) -> &dyn RawEventStore {
        &*self.store
    }

    pub(crate) fn jobs(&self) -> &dyn JobStore {
        &*self.store
    }

    pub(crate) fn idempotency(&self) -> &dyn IdempotencyStore {
        &*self.store
    }
}
