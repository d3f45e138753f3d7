use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::JobType;

/// What travels on the jobs queue: one variant per kind of work, each with its typed payload.
/// `Wire` is the one place it becomes JSON (`{"jobType","jobId","organizationId","payload"}`),
/// so messages already on a queue keep their meaning across deployments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub enum QueueMessage {
    /// Send the reply an `IntegrationJob` holds.
    SendMessage { organization_id: String, job_id: String },
    /// Webhook items that could not be stored at once, in lane order.
    ProcessWebhook(QueuedItems),
    /// One page of the events kept for an account, into its inbox.
    ReplayEvents(ReplayPage),
    /// Fetch a new customer's profile and link their lead, off the webhook's path.
    EnrichContact { organization_id: String, conversation_id: String },
    /// An echo of ours arrived in the conversation: a send there that failed unconfirmed may
    /// be its send, delivered after all.
    ConfirmEchoes { organization_id: String, conversation_id: String },
    /// The next page of an account's history import, for the run it names.
    ImportHistory { organization_id: String, account_id: String, run_id: String },
    /// A page of the reconciliation sweep of one account (from Meta's cursor, when not the first).
    SweepAccount { organization_id: String, account_id: String, cursor: Option<String> },
    /// Fetch the conversation's customer's profile again, when a week old.
    RefreshContact { organization_id: String, conversation_id: String },
    /// Copy a new message's attachments from Meta's CDN (whose links expire) into the
    /// deployment's storage.
    CopyMedia { organization_id: String, message_id: String },
    /// Typing, seen or a reaction in a conversation.
    SenderAction(crate::domain::QueuedAction),
}

impl QueueMessage {
    pub fn send(organization_id: &str, job_id: &str) -> Self {
        QueueMessage::SendMessage { organization_id: organization_id.to_owned(), job_id: job_id.to_owned() }
    }

    /// A page of the events kept for `route_key` to replay into its account's inbox.
    pub fn replay(route_key: &str, cursor: Option<String>) -> Self {
        QueueMessage::ReplayEvents(ReplayPage { external_account_id: route_key.to_owned(), cursor })
    }

    pub fn job_type(&self) -> JobType {
        match self {
            QueueMessage::SendMessage { .. } => JobType::SendMessage,
            QueueMessage::ProcessWebhook(_) => JobType::ProcessWebhook,
            QueueMessage::ReplayEvents(_) => JobType::ReplayEvents,
            QueueMessage::EnrichContact { .. } => JobType::EnrichContact,
            QueueMessage::ConfirmEchoes { .. } => JobType::ConfirmEchoes,
            QueueMessage::ImportHistory { .. } => JobType::ImportHistory,
            QueueMessage::SweepAccount { .. } => JobType::SweepAccount,
            QueueMessage::CopyMedia { .. } => JobType::CopyMedia,
            QueueMessage::RefreshContact { .. } => JobType::RefreshContact,
            QueueMessage::SenderAction(_) => JobType::SenderAction,
        }
    }

    /// The queue this kind of work travels on, so one kind's backlog never waits in front of
    /// another's (a viral post's thousands of comments in front of a reply).
    pub fn lane(&self) -> QueueLane {
        match self {
            QueueMessage::SendMessage { .. } | QueueMessage::ConfirmEchoes { .. } | QueueMessage::SenderAction(_) => {
                QueueLane::Sends
            }
            QueueMessage::ProcessWebhook(_) | QueueMessage::ReplayEvents(_) => QueueLane::Webhooks,
            QueueMessage::EnrichContact { .. }
            | QueueMessage::ImportHistory { .. }
            | QueueMessage::SweepAccount { .. }
            | QueueMessage::CopyMedia { .. }
            | QueueMessage::RefreshContact { .. } => QueueLane::Enrichment,
        }
    }
}

impl QueueMessage {
    /// Whose work it is, for fairness between tenants: the organization, or for webhook work
    /// (whose organization is only known once routed) the account it is addressed to.
    pub fn tenant(&self) -> &str {
        match self {
            QueueMessage::SendMessage { organization_id, .. }
            | QueueMessage::EnrichContact { organization_id, .. }
            | QueueMessage::ConfirmEchoes { organization_id, .. }
            | QueueMessage::ImportHistory { organization_id, .. }
            | QueueMessage::SweepAccount { organization_id, .. }
            | QueueMessage::CopyMedia { organization_id, .. }
            | QueueMessage::RefreshContact { organization_id, .. } => organization_id,
            QueueMessage::ProcessWebhook(queued) => {
                queued.items.first().map(|i| i.entry_id.as_str()).or(queued.entry_id.as_deref()).unwrap_or_default()
            }
            QueueMessage::ReplayEvents(page) => &page.external_account_id,
            QueueMessage::SenderAction(queued) => &queued.organization_id,
        }
    }
}

/// The queues work is split over (`JOBS_QUEUE_URL` for sends, and every lane without a queue
/// of its own; `WEBHOOK_QUEUE_URL`; `ENRICHMENT_QUEUE_URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueLane {
    /// Agents' replies: the work a customer waits for.
    Sends,
    /// Webhook items the webhook's budget left, and replays of kept events.
    Webhooks,
    /// Customer profiles, permalinks and media copies, fetched off the webhook's path;
    /// history imports and sweeps.
    Enrichment,
}

/// One webhook item as it travels on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedItem {
    pub entry_id: String,
    #[serde(default)]
    pub entry_time: Option<DateTime<Utc>>,
    pub item: Value,
}

/// The payload of `ProcessWebhook`: items in lane order, and how many times they were
/// tried already (the webhook's own try counts; this delivery is try `attempt + 1`). (A single `item` with `entryId` is the older form, still read.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedItems {
    #[serde(default)]
    pub items: Vec<QueuedItem>,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing)]
    pub entry_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub entry_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    pub item: Option<Value>,
}

/// The payload of `ReplayEvents`: whose kept events, from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayPage {
    pub external_account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The JSON shape on the queue.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    job_type: JobType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

impl From<QueueMessage> for Wire {
    fn from(m: QueueMessage) -> Self {
        let job_type = m.job_type();
        let payload = |v: Result<Value, serde_json::Error>| v.ok();
        match m {
            QueueMessage::SendMessage { organization_id, job_id } => {
                Wire { job_type, job_id: Some(job_id), organization_id: Some(organization_id), payload: None }
            }
            QueueMessage::ProcessWebhook(items) => {
                Wire { job_type, job_id: None, organization_id: None, payload: payload(serde_json::to_value(items)) }
            }
            QueueMessage::ReplayEvents(page) => {
                Wire { job_type, job_id: None, organization_id: None, payload: payload(serde_json::to_value(page)) }
            }
            QueueMessage::EnrichContact { organization_id, conversation_id }
            | QueueMessage::ConfirmEchoes { organization_id, conversation_id }
            | QueueMessage::RefreshContact { organization_id, conversation_id } => Wire {
                job_type,
                job_id: None,
                organization_id: Some(organization_id),
                payload: Some(serde_json::json!({ "conversationId": conversation_id })),
            },
            QueueMessage::ImportHistory { organization_id, account_id, run_id } => Wire {
                job_type,
                job_id: None,
                organization_id: Some(organization_id),
                payload: Some(serde_json::json!({ "accountId": account_id, "runId": run_id })),
            },
            QueueMessage::SweepAccount { organization_id, account_id, cursor } => Wire {
                job_type,
                job_id: None,
                organization_id: Some(organization_id),
                payload: Some(serde_json::json!({ "accountId": account_id, "cursor": cursor })),
            },
            QueueMessage::SenderAction(queued) => Wire {
                job_type,
                job_id: None,
                organization_id: Some(queued.organization_id.clone()),
                payload: payload(serde_json::to_value(queued)),
            },
            QueueMessage::CopyMedia { organization_id, message_id } => Wire {
                job_type,
                job_id: None,
                organization_id: Some(organization_id),
                payload: Some(serde_json::json!({ "messageId": message_id })),
            },
        }
    }
}

impl TryFrom<Wire> for QueueMessage {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        let payload = w.payload.unwrap_or(Value::Null);
        let unreadable = |e: serde_json::Error| format!("{:?} payload: {e}", w.job_type);
        Ok(match w.job_type {
            JobType::SendMessage => QueueMessage::SendMessage {
                organization_id: w.organization_id.ok_or("SEND_MESSAGE without organizationId")?,
                job_id: w.job_id.ok_or("SEND_MESSAGE without jobId")?,
            },
            JobType::ProcessWebhook => {
                QueueMessage::ProcessWebhook(serde_json::from_value(payload).map_err(unreadable)?)
            }
            JobType::ReplayEvents => QueueMessage::ReplayEvents(serde_json::from_value(payload).map_err(unreadable)?),
            JobType::EnrichContact | JobType::ConfirmEchoes | JobType::RefreshContact => {
                let organization_id = w.organization_id.ok_or(format!("{:?} without organizationId", w.job_type))?;
                let conversation_id = payload["conversationId"].as_str().map(str::to_owned);
                let conversation_id = conversation_id.ok_or(format!("{:?} without conversationId", w.job_type))?;
                match w.job_type {
                    JobType::EnrichContact => QueueMessage::EnrichContact { organization_id, conversation_id },
                    JobType::RefreshContact => QueueMessage::RefreshContact { organization_id, conversation_id },
                    _ => QueueMessage::ConfirmEchoes { organization_id, conversation_id },
                }
            }
            JobType::ImportHistory | JobType::SweepAccount => {
                let organization_id = w.organization_id.ok_or(format!("{:?} without organizationId", w.job_type))?;
                let text =
                    |k: &str| payload[k].as_str().map(str::to_owned).ok_or(format!("{:?} without {k}", w.job_type));
                let account_id = text("accountId")?;
                match w.job_type {
                    JobType::ImportHistory => {
                        QueueMessage::ImportHistory { organization_id, account_id, run_id: text("runId")? }
                    }
                    _ => {
                        let cursor = payload["cursor"].as_str().map(str::to_owned);
                        QueueMessage::SweepAccount { organization_id, account_id, cursor }
                    }
                }
            }
            JobType::SenderAction => QueueMessage::SenderAction(serde_json::from_value(payload).map_err(unreadable)?),
            JobType::CopyMedia => QueueMessage::CopyMedia {
                organization_id: w.organization_id.ok_or("COPY_MEDIA without organizationId")?,
                message_id: payload["messageId"].as_str().map(str::to_owned).ok_or("COPY_MEDIA without messageId")?,
            },
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("job queue failed: {0}")]
pub struct QueueError(pub String);

/// The jobs queue. Delivery is at least once; a message becomes visible after `delay`
/// (SQS caps a delay at 15 minutes: the processor re-enqueues a job that is not yet due).
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError>;
}

/// One delivery of a message from a queue this process drains itself (the local server's).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub body: String,
    pub correlation: Option<String>,
}

/// A jobs queue drained in this process (`worker::run_local_worker`): the in-memory one,
/// or the durable one in the SQLite file. A taken message is the worker's until settled:
/// handled, it is gone; not handled, it comes back after `retry_in`.
#[async_trait]
pub trait LocalQueue: JobQueue {
    /// Every message due now, each leased to the caller.
    async fn take_due(&self) -> Result<Vec<Delivery>, QueueError>;

    async fn settle(&self, delivery: &Delivery, handled: bool, retry_in: Duration) -> Result<(), QueueError>;

    /// When the next message becomes due, if any waits.
    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, QueueError>;

    /// Woken when a message is enqueued.
    fn wakeup(&self) -> &tokio::sync::Notify;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(m: &QueueMessage) -> Value {
        serde_json::to_value(m).unwrap()
    }

    #[test]
    fn every_kind_keeps_the_json_shape_messages_already_queued_have() {
        let send = QueueMessage::send("org_a", "job_1");
        assert_eq!(wire(&send), json!({"jobType": "SEND_MESSAGE", "jobId": "job_1", "organizationId": "org_a"}));
        let enrich = QueueMessage::EnrichContact { organization_id: "org_a".into(), conversation_id: "c1".into() };
        assert_eq!(
            wire(&enrich),
            json!({"jobType": "ENRICH_CONTACT", "organizationId": "org_a", "payload": {"conversationId": "c1"}})
        );
        let replay = QueueMessage::ReplayEvents(ReplayPage { external_account_id: "178".into(), cursor: None });
        assert_eq!(wire(&replay), json!({"jobType": "REPLAY_EVENTS", "payload": {"externalAccountId": "178"}}));
        let items = QueuedItems {
            items: vec![QueuedItem { entry_id: "178".into(), entry_time: None, item: json!({"x": 1}) }],
            attempt: 2,
            ..Default::default()
        };
        let webhook = QueueMessage::ProcessWebhook(items);
        assert_eq!(
            wire(&webhook),
            json!({"jobType": "PROCESS_WEBHOOK", "payload": {"items": [{"entryId": "178", "entryTime": null, "item": {"x": 1}}], "attempt": 2}})
        );
        let confirm = QueueMessage::ConfirmEchoes { organization_id: "org_a".into(), conversation_id: "c1".into() };
        assert_eq!(
            wire(&confirm),
            json!({"jobType": "CONFIRM_ECHOES", "organizationId": "org_a", "payload": {"conversationId": "c1"}})
        );
        let import = QueueMessage::ImportHistory {
            organization_id: "org_a".into(),
            account_id: "acc_1".into(),
            run_id: "run_1".into(),
        };
        assert_eq!(
            wire(&import),
            json!({"jobType": "IMPORT_HISTORY", "organizationId": "org_a", "payload": {"accountId": "acc_1", "runId": "run_1"}})
        );
        let sweep = QueueMessage::SweepAccount {
            organization_id: "org_a".into(),
            account_id: "acc_1".into(),
            cursor: Some("QVFI".into()),
        };
        let copy = QueueMessage::CopyMedia { organization_id: "org_a".into(), message_id: "msg_1".into() };
        assert_eq!(
            wire(&copy),
            json!({"jobType": "COPY_MEDIA", "organizationId": "org_a", "payload": {"messageId": "msg_1"}})
        );
        assert_eq!(copy.lane(), QueueLane::Enrichment);
        let refresh = QueueMessage::RefreshContact { organization_id: "org_a".into(), conversation_id: "c1".into() };
        assert_eq!(
            wire(&refresh),
            json!({"jobType": "REFRESH_CONTACT", "organizationId": "org_a", "payload": {"conversationId": "c1"}})
        );
        for m in [send, enrich, replay, webhook, confirm, import, sweep, copy, refresh] {
            assert_eq!(serde_json::from_value::<QueueMessage>(wire(&m)).unwrap(), m, "round trip");
        }
    }

    #[test]
    fn a_message_missing_what_its_kind_needs_is_unreadable_not_a_default() {
        for bad in [
            json!({"jobType": "SEND_MESSAGE", "organizationId": "org_a"}),
            json!({"jobType": "ENRICH_CONTACT", "organizationId": "org_a", "payload": {}}),
            json!({"jobType": "CONFIRM_ECHOES", "payload": {"conversationId": "c1"}}),
            json!({"jobType": "REPLAY_EVENTS", "payload": {"cursor": "x"}}),
            json!({"jobType": "PROCESS_WEBHOOK", "payload": {"items": "not a list"}}),
            json!({"jobType": "IMPORT_HISTORY", "organizationId": "org_a", "payload": {"accountId": "acc_1"}}),
            json!({"jobType": "SWEEP_ACCOUNT", "payload": {"accountId": "acc_1"}}),
            json!({"jobType": "COPY_MEDIA", "organizationId": "org_a", "payload": {}}),
            json!({"jobType": "SOMETHING_ELSE"}),
        ] {
            assert!(serde_json::from_value::<QueueMessage>(bad.clone()).is_err(), "{bad}");
        }
    }
}
