//! Tokens opened lately, kept in this process for a few minutes so a send does not pay KMS
//! for each one (a `Decrypt` is $3 per million, most of a reply's cost). Keyed by the
//! organization, the account and a digest of the ciphertext itself: the token's record is
//! still read from the store on every send, so a refreshed token (a new ciphertext) is opened
//! afresh and a disconnected account's (record deleted) is never served, in every process at
//! once, without any invalidation message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::domain::EncryptedToken;
use crate::ports::TokenContext;

/// How long an opened token is kept.
pub const OPENED_TOKEN_TTL: Duration = Duration::from_secs(300);
/// The most kept at once; past it, expired entries go, then the oldest.
const MAX_OPENED: usize = 10_000;

#[derive(Default)]
pub struct OpenedTokens {
    entries: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

fn key(stored: &EncryptedToken, context: &TokenContext<'_>) -> [u8; 32] {
    let mut digest = Sha256::new();
    let data_key = stored.encrypted_data_key.as_deref().unwrap_or_default();
    let parts = [context.organization_id, context.connected_account_id, &stored.scheme, &stored.key_id];
    for part in parts.into_iter().chain([stored.nonce.as_str(), stored.ciphertext.as_str(), data_key]) {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    digest.finalize().into()
}

impl OpenedTokens {
    /// The token `stored` opens to, if this process opened it within the TTL.
    pub fn get(&self, stored: &EncryptedToken, context: &TokenContext<'_>, now: Instant) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (token, at) = entries.get(&key(stored, context))?;
        (now.duration_since(*at) < OPENED_TOKEN_TTL).then(|| token.clone())
    }

    pub fn keep(&self, stored: &EncryptedToken, context: &TokenContext<'_>, token: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_OPENED {
            entries.retain(|_, (_, at)| now.duration_since(*at) < OPENED_TOKEN_TTL);
            if entries.len() >= MAX_OPENED
                && let Some(oldest) = entries.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k)
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key(stored, context), (token.to_owned(), now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(ciphertext: &str) -> EncryptedToken {
        EncryptedToken {
            scheme: "KMS_ENVELOPE".into(),
            key_id: "k".into(),
            nonce: "n".into(),
            ciphertext: ciphertext.into(),
            encrypted_data_key: Some("dk".into()),
        }
    }

    #[test]
    fn an_opened_token_is_kept_for_its_ciphertext_its_account_and_five_minutes() {
        let cache = OpenedTokens::default();
        let context = TokenContext { organization_id: "org_a", connected_account_id: "acc_1" };
        let other = TokenContext { organization_id: "org_b", connected_account_id: "acc_1" };
        let now = Instant::now();
        cache.keep(&sealed("c1"), &context, "EAAB-1", now);
        assert_eq!(cache.get(&sealed("c1"), &context, now).as_deref(), Some("EAAB-1"));
        assert_eq!(cache.get(&sealed("c2"), &context, now), None, "a refreshed token is a new ciphertext");
        assert_eq!(cache.get(&sealed("c1"), &other, now), None, "another organization's account");
        assert_eq!(cache.get(&sealed("c1"), &context, now + OPENED_TOKEN_TTL), None, "expired");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = OpenedTokens::default();
        let context = TokenContext { organization_id: "org_a", connected_account_id: "acc_1" };
        let now = Instant::now();
        for i in 0..MAX_OPENED + 5 {
            cache.keep(&sealed(&i.to_string()), &context, "t", now + Duration::from_millis(i as u64));
        }
        assert_eq!(cache.entries.lock().unwrap().len(), MAX_OPENED);
        assert!(cache.get(&sealed("0"), &context, now + Duration::from_secs(20)).is_none(), "the oldest went");
    }
}
