use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The first answer given to an `Idempotency-Key` of an organization, with a digest of the
/// request it answered, so a retry gets the same answer and a reused key with another body
/// is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub organization_id: String,
    pub key: String,
    pub request_digest: String,
    pub response: Value,
    pub created_at: DateTime<Utc>,
}
