use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A token as stored: only ever the ciphertext. The cipher that made it says how to open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedToken {
    /// `AES256GCM` (static key) or `KMS_ENVELOPE`.
    pub scheme: String,
    /// The static key's id, or the KMS key id.
    pub key_id: String,
    /// base64 of the 96-bit nonce.
    pub nonce: String,
    /// base64 of ciphertext and tag.
    pub ciphertext: String,
    /// base64 of the KMS-encrypted data key (envelope encryption only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_data_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenKind {
    /// A Facebook Page token (Facebook Login flavour): sends and profile lookups.
    Page,
    /// A long-lived Facebook user token, from which page tokens are listed.
    User,
    /// An Instagram Login user token (`graph.instagram.com`).
    InstagramUser,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Page => "PAGE",
            TokenKind::User => "USER",
            TokenKind::InstagramUser => "INSTAGRAM_USER",
        }
    }
}

/// `OAuthToken`: an account's token, encrypted and bound (by the cipher's context) to its
/// organization and account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthToken {
    pub organization_id: String,
    pub connected_account_id: String,
    pub kind: TokenKind,
    pub encrypted: EncryptedToken,
    pub expires_at: Option<DateTime<Utc>>,
    pub refreshed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Set when a refresh failed: the token is no longer due (only a reconnect helps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_failed_at: Option<DateTime<Utc>>,
    /// While a refresh runs: until when its claim holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_lease_until: Option<DateTime<Utc>>,
}

impl OAuthToken {
    /// Takes the refresh lease until `lease_until`, unless another run holds it at `now`.
    pub fn take_refresh_lease(&mut self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> bool {
        if self.refresh_lease_until.is_some_and(|l| l > now) {
            return false;
        }
        self.refresh_lease_until = Some(lease_until);
        true
    }

    /// A token just obtained (or refreshed) at `now`.
    pub fn issued(
        organization_id: &str,
        connected_account_id: &str,
        kind: TokenKind,
        encrypted: EncryptedToken,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        OAuthToken {
            organization_id: organization_id.to_owned(),
            connected_account_id: connected_account_id.to_owned(),
            kind,
            encrypted,
            expires_at,
            refreshed_at: now,
            created_at: now,
            refresh_failed_at: None,
            refresh_lease_until: None,
        }
    }

    /// Whether the scheduled refresh should take this token when looking up to `before`.
    pub fn due_before(&self, before: DateTime<Utc>) -> bool {
        self.refresh_failed_at.is_none() && self.expires_at.is_some_and(|t| t < before)
    }
}
