use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A contact of the organization's CRM; conversations link to it by Instagram handle or id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lead {
    pub id: String,
    pub organization_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Lower-case, without a leading `@`.
    pub instagram_handle: Option<String>,
    pub instagram_user_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Lead {
    pub fn normalize_handle(handle: &str) -> String {
        handle.trim().trim_start_matches('@').to_lowercase()
    }
}

/// An Instagram user's public profile as the Graph API gave it, cached per organization so it
/// is fetched once. `fetched` is false when the lookup failed (consent, unavailable): we do not
/// ask again for every message, only after `retry_after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfile {
    pub organization_id: String,
    pub instagram_user_id: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub fetched: bool,
    pub fetched_at: DateTime<Utc>,
}

impl CustomerProfile {
    /// The username as a lead's handle is written (normalised), if the profile has one.
    pub fn handle(&self) -> Option<String> {
        self.username.as_deref().map(Lead::normalize_handle).filter(|h| !h.is_empty())
    }
}
