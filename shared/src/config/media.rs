//! Where media copies are kept and how they are handed out.

use super::ConfigError;
use super::limits::parse_num;
use crate::domain::media::DEFAULT_MEDIA_MAX_BYTES;

/// S3 refuses a presigned URL valid for longer than 7 days.
const LONGEST_URL_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The S3 bucket copies are kept in (`MEDIA_BUCKET`); without it, the local server keeps
    /// them under `DATA_DIR/media` and a Lambda keeps none (Meta's links only).
    pub bucket: Option<String>,
    /// A larger file is not kept (`MEDIA_MAX_BYTES`, default 25 MB, Meta's own DM limit).
    pub max_bytes: u64,
    /// How long a signed URL the API hands out works (`MEDIA_URL_TTL_SECONDS`, default 900).
    pub url_ttl: std::time::Duration,
    /// How long one download from Meta's CDN may take (`MEDIA_DOWNLOAD_TIMEOUT_MS`, 60 s).
    pub download_timeout: std::time::Duration,
    /// The local server's own address, where its signed media URLs lead (`PUBLIC_URL`,
    /// default `http://127.0.0.1:<PORT>`).
    pub public_url: String,
}

impl MediaConfig {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ttl = parse_num(get, "MEDIA_URL_TTL_SECONDS", 900u64)?;
        if !(1..=LONGEST_URL_TTL_SECS).contains(&ttl) {
            let why = format!("{ttl} is not 1 to {LONGEST_URL_TTL_SECS} seconds");
            return Err(ConfigError::Malformed { name: "MEDIA_URL_TTL_SECONDS", why });
        }
        let port = get("PORT").unwrap_or_else(|| "3000".to_owned());
        Ok(MediaConfig {
            bucket: get("MEDIA_BUCKET").filter(|b| !b.is_empty()),
            max_bytes: parse_num(get, "MEDIA_MAX_BYTES", DEFAULT_MEDIA_MAX_BYTES)?.max(1),
            url_ttl: std::time::Duration::from_secs(ttl),
            download_timeout: std::time::Duration::from_millis(
                parse_num(get, "MEDIA_DOWNLOAD_TIMEOUT_MS", 60_000u64)?.max(1),
            ),
            public_url: get("PUBLIC_URL").unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
        })
    }
}
