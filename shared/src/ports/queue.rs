use async_trait::async_trait;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::JobType;

/// What travels on the jobs queue: a reference to an `IntegrationJob`, or (for webhook items
/// that could not be processed at once) the item itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMessage {
    pub job_type: JobType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl QueueMessage {
    pub fn job(job_type: JobType, organization_id: &str, job_id: &str) -> Self {
        QueueMessage {
            job_type,
            job_id: Some(job_id.to_owned()),
            organization_id: Some(organization_id.to_owned()),
            payload: None,
        }
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
