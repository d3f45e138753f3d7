//! Meta's attachment links read over HTTP(S): a capped download that stops reading at the
//! cap, so a huge or endless answer costs at most `max_bytes` of memory.

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{FetchError, MediaSource};

pub struct HttpMediaSource {
    client: reqwest::Client,
}

impl HttpMediaSource {
    /// A download may take `timeout` in all (a 25 MB video on a slow CDN edge).
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3).min(timeout))
            .timeout(timeout)
            // Meta's links redirect between CDN edges; a few hops, no more.
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .expect("reqwest client builds with rustls");
        HttpMediaSource { client }
    }
}

fn unavailable(e: impl std::fmt::Display) -> FetchError {
    FetchError::Unavailable(e.to_string())
}

#[async_trait]
impl MediaSource for HttpMediaSource {
    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::Gone(0))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(FetchError::Gone(0));
        }
        let mut response = self.client.get(parsed).send().await.map_err(unavailable)?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            400..=499 if status != 408 && status != 429 => return Err(FetchError::Gone(status)),
            _ => return Err(unavailable(format!("status {status}"))),
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(FetchError::TooLarge(max_bytes));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}
