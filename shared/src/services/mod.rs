//! The use cases, as four flow services over the ports: `Inbound` (webhooks into the inbox),
//! `Outbound` (agents' replies out, exactly once), `Accounts` (OAuth, tokens, the account
//! directory) and `Inbox` (what agents read, leads). Each holds exactly the ports it uses and
//! none reaches into another: what two flows share is a port (the account directory, the
//! queue) or a rule in `threads`. `Services` is the four side by side, and the router of
//! queue messages to the flow that owns them.

pub mod accounts;
pub mod backoff;
pub mod inbound;
pub mod inbox;
pub mod outbound;
mod threads;

pub use crate::domain::{OutgoingAttachment, SendRoute};
pub use accounts::{
    Accounts, AccountsPorts, CallbackOutcome, CallbackParams, CheckStatus, ConnectResult, DeletionRequest,
    DeletionStatus, Flow, HealthCheck, HealthReport, OAUTH_SCOPES, RefreshReport, StoreDirectory,
};
pub use inbound::{AcceptReport, Inbound, InboundPorts, SweepReport, SweepRound};
pub use inbox::{ContactView, Inbox, InboxPorts, ListQuery, NewLead, RetentionReport, SettingsInput};
pub use outbound::{
    JobOutcome, NewUpload, Outbound, OutboundPorts, Outgoing, PrivateReply, PrivateReplyAccepted, SendAccepted, SendAs,
    UploadTicket,
};

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::AppError;
use crate::ports::QueueMessage;

/// How long one queue message of webhook items is worked on before the rest is queued
/// again: well inside the processor's timeout.
const QUEUED_ITEMS_BUDGET: Duration = Duration::from_secs(20);

/// The four flows of one process, built once at start-up (`runtime::services_on`). An HTTP
/// handler takes the one it needs; the job processor routes each queue message.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub inbound: Arc<Inbound>,
    pub outbound: Arc<Outbound>,
    pub accounts: Arc<Accounts>,
    pub inbox: Arc<Inbox>,
}

impl Services {
    /// Handles one queue message. An `Err` means the message should be delivered again
    /// (the store or queue failed); every outcome of the job itself is an `Ok`.
    pub async fn process(&self, message: &QueueMessage) -> Result<JobOutcome, AppError> {
        self.process_until(message, Instant::now() + QUEUED_ITEMS_BUDGET).await
    }

    /// `process`, with work that can stop part-way (queued webhook items) stopping at
    /// `deadline` and queueing the rest. Sends and late echoes belong to the outbound flow;
    /// webhook items, replays and contact enrichment to the inbound flow.
    pub async fn process_until(&self, message: &QueueMessage, deadline: Instant) -> Result<JobOutcome, AppError> {
        match message {
            QueueMessage::SendMessage { organization_id, job_id } => {
                self.outbound.run_send_job(organization_id, job_id).await
            }
            QueueMessage::ProcessWebhook(items) => {
                let deadline = deadline.min(Instant::now() + QUEUED_ITEMS_BUDGET);
                let report = self.inbound.process_queued_items(items, deadline).await?;
                tracing::info!(?report, "queued webhook items processed");
                Ok(JobOutcome::Succeeded)
            }
            QueueMessage::ReplayEvents(page) => {
                let replayed = self.inbound.replay_kept_events(page).await?;
                tracing::info!(replayed, "kept events replayed");
                Ok(JobOutcome::Succeeded)
            }
            QueueMessage::ConfirmEchoes { organization_id, conversation_id } => {
                match self.outbound.confirm_echoes(organization_id, conversation_id).await? {
                    0 => Ok(JobOutcome::Skipped),
                    _ => Ok(JobOutcome::Succeeded),
                }
            }
            QueueMessage::ImportHistory { organization_id, account_id, run_id } => {
                match self.inbound.import_history_page(organization_id, account_id, run_id).await? {
                    true => Ok(JobOutcome::Succeeded),
                    false => Ok(JobOutcome::Skipped),
                }
            }
            QueueMessage::SweepAccount { organization_id, account_id, cursor } => {
                let report = self.inbound.sweep_account(organization_id, account_id, cursor.as_deref()).await?;
                tracing::info!(?report, "account swept");
                Ok(JobOutcome::Succeeded)
            }
            QueueMessage::RefreshContact { organization_id, conversation_id } => {
                match self.inbound.enrich_conversation(organization_id, conversation_id, true).await? {
                    true => Ok(JobOutcome::Succeeded),
                    false => Ok(JobOutcome::Skipped),
                }
            }
            QueueMessage::SenderAction(queued) => self.outbound.run_action(queued).await,
            QueueMessage::CopyMedia { organization_id, message_id } => {
                match self.inbound.copy_media(organization_id, message_id).await? {
                    true => Ok(JobOutcome::Succeeded),
                    false => Ok(JobOutcome::Skipped),
                }
            }
            QueueMessage::EnrichContact { organization_id, conversation_id } => {
                match self.inbound.enrich_conversation(organization_id, conversation_id, false).await? {
                    true => Ok(JobOutcome::Succeeded),
                    false => Ok(JobOutcome::Skipped),
                }
            }
        }
    }
}
