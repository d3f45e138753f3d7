//! Token encryption with static AES-256-GCM keys: the current one (`TOKEN_ENCRYPTION_KEY`,
//! base64 of 32 bytes, and its id `TOKEN_ENCRYPTION_KEY_ID`) encrypts; earlier ones
//! (`TOKEN_ENCRYPTION_KEYS`, `id:base64,...`) still decrypt, so rotating the key does not
//! make stored tokens unreadable. The organization and account are the associated data, so a
//! ciphertext copied to another account does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::domain::EncryptedToken;
use crate::ports::{CipherError, TokenCipher, TokenContext};

pub const SCHEME: &str = "AES256GCM";

pub struct StaticKeyCipher {
    key_id: String,
    cipher: Aes256Gcm,
    /// Earlier keys by id, for decrypting what they encrypted.
    earlier: std::collections::HashMap<String, Aes256Gcm>,
}

fn key_from_base64(key_b64: &str) -> Result<Aes256Gcm, String> {
    let key = B64.decode(key_b64.trim()).map_err(|e| format!("TOKEN_ENCRYPTION_KEY is not base64: {e}"))?;
    Aes256Gcm::new_from_slice(&key).map_err(|_| format!("TOKEN_ENCRYPTION_KEY must be 32 bytes, got {}", key.len()))
}

impl StaticKeyCipher {
    /// `key_b64` must decode to exactly 32 bytes.
    pub fn from_base64(key_id: &str, key_b64: &str) -> Result<Self, String> {
        Ok(StaticKeyCipher {
            key_id: key_id.to_owned(),
            cipher: key_from_base64(key_b64)?,
            earlier: Default::default(),
        })
    }

    /// Adds earlier keys, `id:base64` separated by commas (`TOKEN_ENCRYPTION_KEYS`), that
    /// decrypt what they encrypted; the current key still encrypts.
    pub fn with_earlier_keys(mut self, keys: &str) -> Result<Self, String> {
        for entry in keys.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once(':').ok_or("TOKEN_ENCRYPTION_KEYS entries are id:base64")?;
            if id.trim() != self.key_id {
                self.earlier.insert(id.trim().to_owned(), key_from_base64(key)?);
            }
        }
        Ok(self)
    }

    /// A random key for one process (development without a configured key).
    pub fn ephemeral() -> Self {
        let key: [u8; 32] = rand::random();
        Self::from_base64("ephemeral", &B64.encode(key)).expect("32 random bytes")
    }
}

/// The associated data binding a ciphertext to its owner.
pub fn associated_data(context: &TokenContext<'_>) -> Vec<u8> {
    format!("org={};account={}", context.organization_id, context.connected_account_id).into_bytes()
}

/// AES-256-GCM with a fresh random nonce: (nonce, ciphertext+tag).
pub fn seal(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CipherError> {
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .map_err(|_| CipherError::Backend("AES-GCM encryption failed".into()))?;
    Ok((nonce.to_vec(), sealed))
}

pub fn open(cipher: &Aes256Gcm, token: &EncryptedToken, aad: &[u8]) -> Result<String, CipherError> {
    let nonce = B64.decode(&token.nonce).map_err(|_| CipherError::Undecryptable)?;
    let sealed = B64.decode(&token.ciphertext).map_err(|_| CipherError::Undecryptable)?;
    if nonce.len() != 12 {
        return Err(CipherError::Undecryptable);
    }
    let plain = cipher
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: &sealed, aad })
        .map_err(|_| CipherError::Undecryptable)?;
    String::from_utf8(plain).map_err(|_| CipherError::Undecryptable)
}

#[async_trait]
impl TokenCipher for StaticKeyCipher {
    async fn encrypt(&self, plaintext: &str, context: &TokenContext<'_>) -> Result<EncryptedToken, CipherError> {
        let (nonce, sealed) = seal(&self.cipher, plaintext.as_bytes(), &associated_data(context))?;
        Ok(EncryptedToken {
            scheme: SCHEME.to_owned(),
            key_id: self.key_id.clone(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(sealed),
            encrypted_data_key: None,
        })
    }

    async fn decrypt(&self, token: &EncryptedToken, context: &TokenContext<'_>) -> Result<String, CipherError> {
        let cipher = match &token.key_id {
            id if *id == self.key_id => &self.cipher,
            id => self.earlier.get(id).ok_or(CipherError::Undecryptable)?,
        };
        if token.scheme != SCHEME {
            return Err(CipherError::Undecryptable);
        }
        open(cipher, token, &associated_data(context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(org: &'a str, account: &'a str) -> TokenContext<'a> {
        TokenContext { organization_id: org, connected_account_id: account }
    }

    #[tokio::test]
    async fn round_trips_only_in_its_own_context() {
        let c = StaticKeyCipher::from_base64("k1", &B64.encode([7u8; 32])).unwrap();
        let sealed = c.encrypt("EAAB-page-token", &ctx("org_a", "acc_1")).await.unwrap();
        assert!(!sealed.ciphertext.contains("EAAB"));
        assert_eq!(c.decrypt(&sealed, &ctx("org_a", "acc_1")).await.unwrap(), "EAAB-page-token");
        assert_eq!(c.decrypt(&sealed, &ctx("org_b", "acc_1")).await, Err(CipherError::Undecryptable));
        assert_eq!(c.decrypt(&sealed, &ctx("org_a", "acc_2")).await, Err(CipherError::Undecryptable));
        let other_key = StaticKeyCipher::from_base64("k1", &B64.encode([8u8; 32])).unwrap();
        assert_eq!(other_key.decrypt(&sealed, &ctx("org_a", "acc_1")).await, Err(CipherError::Undecryptable));
        let mut tampered = sealed.clone();
        tampered.ciphertext = B64.encode(b"garbage-garbage-garbage");
        assert_eq!(c.decrypt(&tampered, &ctx("org_a", "acc_1")).await, Err(CipherError::Undecryptable));
    }

    #[tokio::test]
    async fn a_rotated_key_still_opens_what_the_earlier_key_sealed() {
        let old = StaticKeyCipher::from_base64("k1", &B64.encode([7u8; 32])).unwrap();
        let sealed = old.encrypt("EAAB-old", &ctx("org_a", "acc_1")).await.unwrap();
        let rotated = StaticKeyCipher::from_base64("k2", &B64.encode([9u8; 32]))
            .unwrap()
            .with_earlier_keys(&format!("k1:{}", B64.encode([7u8; 32])))
            .unwrap();
        assert_eq!(rotated.decrypt(&sealed, &ctx("org_a", "acc_1")).await.unwrap(), "EAAB-old");
        let fresh = rotated.encrypt("EAAB-new", &ctx("org_a", "acc_1")).await.unwrap();
        assert_eq!(fresh.key_id, "k2", "the current key encrypts");
        let without = StaticKeyCipher::from_base64("k2", &B64.encode([9u8; 32])).unwrap();
        assert_eq!(without.decrypt(&sealed, &ctx("org_a", "acc_1")).await, Err(CipherError::Undecryptable));
        assert!(StaticKeyCipher::from_base64("k2", &B64.encode([9u8; 32])).unwrap().with_earlier_keys("k1").is_err());
    }

    #[test]
    fn rejects_keys_of_the_wrong_size() {
        assert!(StaticKeyCipher::from_base64("k", &B64.encode([1u8; 16])).is_err());
        assert!(StaticKeyCipher::from_base64("k", "%%%").is_err());
    }
}
