use async_trait::async_trait;

use crate::domain::EncryptedToken;

/// What a ciphertext is bound to: opening it under any other organization or account fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenContext<'a> {
    pub organization_id: &'a str,
    pub connected_account_id: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("token cannot be decrypted (wrong key or context, or tampered)")]
    Undecryptable,
    #[error("token cipher unavailable: {0}")]
    Backend(String),
}

/// Encrypts tokens at rest (static AES-256-GCM key locally, KMS envelope in production).
#[async_trait]
pub trait TokenCipher: Send + Sync {
    async fn encrypt(&self, plaintext: &str, context: &TokenContext<'_>) -> Result<EncryptedToken, CipherError>;
    async fn decrypt(&self, token: &EncryptedToken, context: &TokenContext<'_>) -> Result<String, CipherError>;
}
