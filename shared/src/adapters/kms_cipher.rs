//! Envelope encryption with KMS: a fresh AES-256 data key per token (`GenerateDataKey`),
//! AES-256-GCM locally, the KMS-encrypted data key stored beside the ciphertext. The
//! organization and account are both the KMS encryption context and the GCM associated
//! data, so a ciphertext copied to another account fails to decrypt.

use std::collections::HashMap;

use aes_gcm::{Aes256Gcm, KeyInit};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::adapters::static_cipher::{associated_data, open, seal};
use crate::domain::EncryptedToken;
use crate::ports::{CipherError, TokenCipher, TokenContext};

pub const SCHEME: &str = "KMS_ENVELOPE";

#[derive(Clone)]
pub struct KmsCipher {
    client: Client,
    key_id: String,
}

impl KmsCipher {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        KmsCipher { client, key_id: key_id.into() }
    }
}

fn encryption_context(c: &TokenContext<'_>) -> HashMap<String, String> {
    HashMap::from([
        ("organizationId".to_owned(), c.organization_id.to_owned()),
        ("connectedAccountId".to_owned(), c.connected_account_id.to_owned()),
    ])
}

fn data_key_cipher(plaintext_key: &[u8]) -> Result<Aes256Gcm, CipherError> {
    Aes256Gcm::new_from_slice(plaintext_key).map_err(|_| CipherError::Backend("KMS data key is not 256 bits".into()))
}

#[async_trait]
impl TokenCipher for KmsCipher {
    async fn encrypt(&self, plaintext: &str, context: &TokenContext<'_>) -> Result<EncryptedToken, CipherError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(|e| CipherError::Backend(e.message().unwrap_or("GenerateDataKey failed").to_owned()))?;
        let (Some(key), Some(wrapped)) = (out.plaintext(), out.ciphertext_blob()) else {
            return Err(CipherError::Backend("GenerateDataKey returned no key".into()));
        };
        let (nonce, sealed) = seal(&data_key_cipher(key.as_ref())?, plaintext.as_bytes(), &associated_data(context))?;
        Ok(EncryptedToken {
            scheme: SCHEME.to_owned(),
            key_id: out.key_id().unwrap_or(&self.key_id).to_owned(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(sealed),
            encrypted_data_key: Some(B64.encode(wrapped.as_ref())),
        })
    }

    async fn decrypt(&self, token: &EncryptedToken, context: &TokenContext<'_>) -> Result<String, CipherError> {
        if token.scheme != SCHEME {
            return Err(CipherError::Undecryptable);
        }
        let wrapped = token.encrypted_data_key.as_deref().ok_or(CipherError::Undecryptable)?;
        let wrapped = B64.decode(wrapped).map_err(|_| CipherError::Undecryptable)?;
        let out = self
            .client
            .decrypt()
            .key_id(&token.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("InvalidCiphertextException" | "IncorrectKeyException") => CipherError::Undecryptable,
                _ => CipherError::Backend(e.message().unwrap_or("Decrypt failed").to_owned()),
            })?;
        let key = out.plaintext().ok_or(CipherError::Undecryptable)?;
        open(&data_key_cipher(key.as_ref())?, token, &associated_data(context))
    }
}
