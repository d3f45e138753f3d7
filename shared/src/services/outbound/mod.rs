//! The outbound flow: an agent's reply (a DM, a public or a private comment reply) is queued
//! as a job, sent through the Graph API by the job processor with retries and pacing, and
//! confirmed exactly once (by Meta's answer, or by its echo when the answer was lost).

mod actions;
mod comment_replies;
mod confirm;
mod delivery;
mod handover;
mod jobs;
pub mod pacing;
mod send;
mod uploads;

pub use comment_replies::{PrivateReply, PrivateReplyAccepted};
pub use jobs::JobOutcome;
pub use send::{Outgoing, SendAccepted, SendAs};
pub use uploads::{NewUpload, UploadTicket};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::{AccountStatus, ConnectedAccount, Conversation};
use crate::error::{AppError, ErrorCode};
use crate::ports::{
    AccountDirectory, AccountStore, Clock, ConversationStore, GraphApi, IdempotencyStore, Jitter, JobQueue, JobStore,
    MediaStore, MessageStore,
};

/// Exactly the ports the outbound flow uses.
pub struct OutboundPorts {
    pub config: Arc<Config>,
    pub conversations: Arc<dyn ConversationStore>,
    pub messages: Arc<dyn MessageStore>,
    pub jobs: Arc<dyn JobStore>,
    /// Idempotency keys and a comment's one private reply.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Only to flag an account whose token Meta refused (`REAUTH_REQUIRED`).
    pub accounts: Arc<dyn AccountStore>,
    pub queue: Arc<dyn JobQueue>,
    pub graph: Arc<dyn GraphApi>,
    /// The account a conversation belongs to, and its token.
    pub directory: Arc<dyn AccountDirectory>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn Jitter>,
    /// Where agents' uploads are kept (none: sending files from the computer is off).
    pub media: Option<Arc<dyn MediaStore>>,
}

pub struct Outbound {
    ports: OutboundPorts,
    /// Spaces out sends per account (see `pacing`); this process's own.
    pacer: pacing::Pacer,
}

impl Outbound {
    pub fn new(ports: OutboundPorts) -> Self {
        Self { ports, pacer: pacing::Pacer::default() }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// The account of `conversation`, if it may send now; a stable error when not.
    async fn sending_account(&self, conversation: &Conversation) -> Result<ConnectedAccount, AppError> {
        let account =
            self.ports.directory.account(&conversation.organization_id, &conversation.connected_account_id).await?;
        match account {
            Some(a) if a.status == AccountStatus::Active => Ok(a),
            Some(a) if a.status == AccountStatus::ReauthRequired => Err(AppError::new(
                ErrorCode::AccountReauthRequired,
                "the Instagram account must be reconnected before it can send",
            )),
            _ => Err(AppError::new(ErrorCode::AccountDisconnected, "the Instagram account is not connected")),
        }
    }
}
