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
    /// Their profile picture: Meta's link (which expires within days) and the copy kept of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<ProfilePicture>,
    /// What Instagram tells of them beside their name (none on Messenger).
    #[serde(default, skip_serializing_if = "ProfileFacts::is_empty")]
    pub facts: ProfileFacts,
}

/// An Instagram customer's public standing, as the profile API gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// They follow the business's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows_business: Option<bool>,
    /// The business's account follows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followed_by_business: Option<bool>,
}

impl ProfileFacts {
    pub fn is_empty(&self) -> bool {
        *self == ProfileFacts::default()
    }
}

/// A profile picture: Meta's link, and where its copy is kept (`domain::media::contact_media_key`),
/// or why none is (`copyError`, as for attachments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePicture {
    pub meta_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_error: Option<String>,
}

impl ProfilePicture {
    /// Neither copied nor refused yet.
    pub fn pending(&self) -> bool {
        self.stored_key.is_none() && self.copy_error.is_none()
    }
}

/// A profile Meta gave is asked again after this long; a lookup Meta refused, after a day.
pub const PROFILE_REFRESH_AFTER: chrono::Duration = chrono::Duration::days(7);
pub const PROFILE_RETRY_AFTER: chrono::Duration = chrono::Duration::hours(24);

impl CustomerProfile {
    /// Whether it is time to ask Meta again.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let keep = if self.fetched { PROFILE_REFRESH_AFTER } else { PROFILE_RETRY_AFTER };
        now - self.fetched_at >= keep
    }

    /// The username as a lead's handle is written (normalised), if the profile has one.
    pub fn handle(&self) -> Option<String> {
        self.username.as_deref().map(Lead::normalize_handle).filter(|h| !h.is_empty())
    }
}
