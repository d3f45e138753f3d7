//! Copies of media kept in the deployment's own storage (S3 in production, a folder under
//! `DATA_DIR` locally), keyed by organization (`domain::media_key`), handed out as short-lived
//! signed URLs.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("media storage unavailable: {0}")]
    Backend(String),
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Keeps `bytes` under `key` (replacing what was there).
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), MediaError>;

    /// Forgets the copy under `key`; nothing there is not an error.
    async fn delete(&self, key: &str) -> Result<(), MediaError>;

    /// Forgets every copy whose key starts with `prefix` (`domain::media::media_prefix`: a
    /// conversation's or an organization's, when they are erased).
    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError>;

    /// The keys of every copy under `prefix`, in no particular order (what an erasure
    /// leaves, for its checks).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, MediaError>;

    /// A URL that serves the copy under `key` for `ttl`, to whoever holds it, and refuses any
    /// other key or a later time: S3 presigned, or the local server's signed route.
    async fn signed_url(&self, key: &str, ttl: std::time::Duration) -> Result<String, MediaError>;

    /// The whole copy under `key` (a small record: an upload's), `None` when nothing is there.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, MediaError>;

    /// The size of the copy under `key` and its first `n` bytes (to tell its type), without
    /// reading the rest; `None` when nothing is there.
    async fn head(&self, key: &str, n: usize) -> Result<Option<Head>, MediaError>;

    /// A URL that takes one `PUT` of a `content_type` file under `key` until `ttl` from now:
    /// S3 presigned, or the local server's signed route (which refuses any other key, type or
    /// a body over `max_bytes`).
    async fn signed_put_url(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl: std::time::Duration,
    ) -> Result<String, MediaError>;

    /// Keeps `bytes` under `key` when a signed PUT URL of this store names them (the local
    /// folder; S3 takes its presigned PUTs itself): `Ok(false)` when the signature, the
    /// expiry, the type or the size do not hold.
    async fn put_signed(&self, _signed: &SignedPut<'_>, _bytes: Vec<u8>) -> Result<bool, MediaError> {
        Ok(false)
    }

    /// The copy (bytes, content type) a signed URL of this store names, when the store serves
    /// its own URLs (the local folder) and the signature and expiry hold; `None` otherwise
    /// (S3 serves its presigned URLs itself).
    async fn open_signed(&self, _key: &str, _expires: i64, _signature: &str) -> Option<(Vec<u8>, String)> {
        None
    }
}

/// What `MediaStore::head` tells of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub first_bytes: Vec<u8>,
}

/// A `PUT` to the local server's signed upload URL, as it came.
#[derive(Debug, Clone, Copy)]
pub struct SignedPut<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub max_bytes: u64,
    pub expires: i64,
    pub signature: &'a str,
}

/// Why a file could not be fetched from Meta's CDN.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Larger than the cap (told by `Content-Length` or counted): never kept.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// The CDN refuses it for good (403, 404, 410: its signed link expired).
    #[error("the CDN answered {0}")]
    Gone(u16),
    /// Slow, cut, or a 5xx: worth another try.
    #[error("the CDN is unavailable: {0}")]
    Unavailable(String),
}

/// Where Meta's attachment links are read (Meta's CDN, over HTTPS).
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// The bytes at `url`, at most `max_bytes` of them (a larger file is `TooLarge`, read no
    /// further than the cap).
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError>;
}
