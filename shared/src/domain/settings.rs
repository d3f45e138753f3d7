//! What an organization sets for itself: how long its conversations are kept, and whether
//! its customers see "Seen" when an agent reads their messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest retention an organization may set (ten years); none is unlimited.
pub const MAX_RETENTION_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSettings {
    pub organization_id: String,
    /// A conversation with no message for this many days is erased whole by the scheduled
    /// run (its messages, their lookups and the events about it); none keeps everything.
    #[serde(default)]
    pub message_retention_days: Option<u32>,
    /// An agent marking a conversation read sends Meta's `mark_seen` (the customer sees
    /// "Seen"). On unless turned off.
    #[serde(default = "on")]
    pub mark_seen_on_read: bool,
    pub updated_at: DateTime<Utc>,
}

fn on() -> bool {
    true
}

impl OrganizationSettings {
    /// An organization that never set anything: everything kept.
    pub fn defaults(organization_id: &str, at: DateTime<Utc>) -> Self {
        OrganizationSettings {
            organization_id: organization_id.to_owned(),
            message_retention_days: None,
            mark_seen_on_read: true,
            updated_at: at,
        }
    }

    /// Before when a conversation's last message makes it expire, at `now`.
    pub fn retention_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.message_retention_days.map(|days| now - chrono::Duration::days(i64::from(days)))
    }
}
