//! Media copies in S3 (`MEDIA_BUCKET`): private objects, encrypted by the bucket's default
//! (SSE-S3), handed out as presigned GETs that S3 itself checks (the key, the expiry, the
//! signature), so no request for media reaches a function.
//!
//! Every call is a SigV4 presigned URL made by rusty-s3 and sent by reqwest: the SDK's S3 client
//! links every checksum S3 offers and made each function 0.9 MB larger. What the SDK did
//! besides signing is here: its three attempts at a dropped connection, a timeout or a 5xx,
//! and credentials cached until shortly before they expire.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use base64::Engine;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rusty_s3::actions::{DeleteObjects, ListObjectsV2, ObjectIdentifier};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::ports::{Head, MediaError, MediaStore};

/// DeleteObjects takes at most 1000 keys a call.
const DELETE_BATCH: usize = 1000;
/// How long the URL of one of this adapter's own calls is good for: it is sent at once, and
/// again at most twice.
const CALL_TTL: Duration = Duration::from_secs(300);
/// Attempts at one call, as the SDK's standard retry mode, and the pause before each retry.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];
/// Credentials are taken again this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct S3Media {
    bucket: Bucket,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Credentials, Option<SystemTime>)>>,
    /// Built at the first call, so a cold start that never touches media pays nothing.
    http: OnceLock<Result<reqwest::Client, String>>,
}

fn backend(e: impl std::fmt::Display) -> MediaError {
    MediaError::Backend(e.to_string())
}

impl S3Media {
    /// On `sdk`'s region, credentials and endpoint; against a local AWS-compatible server
    /// (`AWS_ENDPOINT_URL`) keys go in the path, as such servers need, not in the host.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> anyhow::Result<Self> {
        Self::at(sdk, sdk.endpoint_url(), bucket)
    }

    /// On `sdk`'s region and credentials, at `endpoint` (S3's own when `None`): a test's, through
    /// a fault proxy.
    pub fn at(sdk: &aws_config::SdkConfig, endpoint: Option<&str>, bucket: &str) -> anyhow::Result<Self> {
        let region = sdk.region().ok_or_else(|| anyhow::anyhow!("media in S3 needs a region (AWS_REGION)"))?;
        let provider =
            sdk.credentials_provider().ok_or_else(|| anyhow::anyhow!("media in S3 needs AWS credentials"))?;
        let (endpoint, style) = match endpoint {
            Some(url) => (url.to_owned(), UrlStyle::Path),
            None => (format!("https://s3.{region}.amazonaws.com"), UrlStyle::VirtualHost),
        };
        let endpoint = endpoint.parse().map_err(|e| anyhow::anyhow!("the S3 endpoint {endpoint:?}: {e}"))?;
        let bucket = Bucket::new(endpoint, style, bucket.to_owned(), region.to_string())
            .map_err(|e| anyhow::anyhow!("MEDIA_BUCKET {bucket:?}: {e}"))?;
        Ok(S3Media { bucket, provider, cached: Mutex::new(None), http: OnceLock::new() })
    }

    /// Creates the bucket (tests: the product never does; the template makes it).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn create_bucket(&self) -> Result<(), MediaError> {
        let credentials = self.credentials().await?;
        let create = self.bucket.create_bucket(&credentials);
        let (url, body) = (create.sign(CALL_TTL), create.body());
        let put =
            |http: &reqwest::Client| http.put(url.clone()).header("content-length", body.len()).body(body.clone());
        Self::ok("CreateBucket", self.send("CreateBucket", put).await?).await?;
        Ok(())
    }

    async fn credentials(&self) -> Result<Credentials, MediaError> {
        let fresh = |until: &Option<SystemTime>| until.is_none_or(|t| SystemTime::now() + CREDENTIALS_MARGIN < t);
        if let Some((credentials, until)) = self.cached.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && fresh(until)
        {
            return Ok(credentials.clone());
        }
        let got = self.provider.provide_credentials().await.map_err(|e| backend(format!("AWS credentials: {e}")))?;
        let credentials = match got.session_token() {
            Some(token) => Credentials::new_with_token(got.access_key_id(), got.secret_access_key(), token),
            None => Credentials::new(got.access_key_id(), got.secret_access_key()),
        };
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((credentials.clone(), got.expiry()));
        Ok(credentials)
    }

    fn http(&self) -> Result<&reqwest::Client, MediaError> {
        let built = self.http.get_or_init(|| {
            let builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(CALL_TIMEOUT);
            builder.redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|e| backend(format!("S3's HTTP client: {e}")))
    }

    /// Sends what `request` builds, again after a dropped connection, a timeout or a 5xx (S3's
    /// `SlowDown` is a 503); the last answer otherwise, whatever its status.
    async fn send(
        &self,
        op: &str,
        request: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, MediaError> {
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            let failed = match request(self.http()?).send().await {
                Ok(answer) if !answer.status().is_server_error() => return Ok(answer),
                Ok(answer) => format!("S3 {op}: {}", answer.status()),
                Err(e) if e.is_builder() => return Err(backend(format!("S3 {op}: {e}"))),
                Err(e) => format!("S3 {op}: {e}"),
            };
            match pauses.next() {
                Some(pause) => tokio::time::sleep(*pause).await,
                None => return Err(backend(failed)),
            }
        }
    }

    /// The answer when it is a success, else its status and S3's error code.
    async fn ok(op: &str, answer: Response) -> Result<Response, MediaError> {
        if answer.status().is_success() {
            return Ok(answer);
        }
        Err(backend(format!("S3 {op}: {} {}", answer.status(), error_code(&answer.text().await.unwrap_or_default()))))
    }

    async fn body(op: &str, answer: Response) -> Result<Vec<u8>, MediaError> {
        Ok(answer.bytes().await.map_err(|e| backend(format!("S3 {op}: {e}")))?.to_vec())
    }

    async fn text(op: &str, answer: Response) -> Result<String, MediaError> {
        answer.text().await.map_err(|e| backend(format!("S3 {op}: {e}")))
    }
}

/// S3's `<Code>` from an error's XML (its other fields can echo the request's signing details).
fn error_code(xml: &str) -> &str {
    let code = xml.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>"));
    code.map_or("", |(code, _)| code)
}

#[async_trait]
impl MediaStore for S3Media {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), MediaError> {
        let credentials = self.credentials().await?;
        let url = self.bucket.put_object(Some(&credentials), key).sign(CALL_TTL);
        // S3 refuses a body that does not match its MD5 (the SDK's client sent a CRC instead).
        let md5 = base64::engine::general_purpose::STANDARD.encode(<md5::Md5 as md5::Digest>::digest(&bytes));
        let bytes = bytes::Bytes::from(bytes);
        let put = |http: &reqwest::Client| {
            let put = http.put(url.clone()).header("content-type", content_type).header("content-md5", &md5);
            // S3 answers 411 to a PUT without a length, which reqwest leaves out of an empty one.
            put.header("content-length", bytes.len()).body(bytes.clone())
        };
        Self::ok("PutObject", self.send("PutObject", put).await?).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        let credentials = self.credentials().await?;
        let url = self.bucket.delete_object(Some(&credentials), key).sign(CALL_TTL);
        let answer = self.send("DeleteObject", |http| http.delete(url.clone())).await?;
        Self::ok("DeleteObject", answer).await?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, MediaError> {
        let credentials = self.credentials().await?;
        let (mut keys, mut token) = (Vec::new(), None::<String>);
        loop {
            let mut list = ListObjectsV2::new(&self.bucket, Some(&credentials));
            list.with_prefix(prefix);
            if let Some(token) = &token {
                list.with_continuation_token(token.as_str());
            }
            let url = list.sign(CALL_TTL);
            let answer = self.send("ListObjectsV2", |http| http.get(url.clone())).await?;
            let answer = Self::ok("ListObjectsV2", answer).await?;
            let page = ListObjectsV2::parse_response(&Self::text("ListObjectsV2", answer).await?)
                .map_err(|e| backend(format!("S3 ListObjectsV2: {e}")))?;
            keys.extend(page.contents.into_iter().map(|o| o.key));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(keys),
            }
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError> {
        let keys = self.list(prefix).await?;
        let credentials = self.credentials().await?;
        for batch in keys.chunks(DELETE_BATCH) {
            let objects: Vec<_> = batch.iter().map(|k| ObjectIdentifier::new(k.clone())).collect();
            let mut delete = DeleteObjects::new(&self.bucket, Some(&credentials), objects.iter());
            delete.set_quiet(true);
            let url = delete.sign(CALL_TTL);
            let (body, md5) = delete.body_with_md5();
            let post = |http: &reqwest::Client| http.post(url.clone()).header("content-md5", &md5).body(body.clone());
            let answer = Self::ok("DeleteObjects", self.send("DeleteObjects", post).await?).await?;
            let answer = rusty_s3::actions::DeleteObjectsResponse::parse(&Self::text("DeleteObjects", answer).await?)
                .map_err(|e| backend(format!("S3 DeleteObjects: {e}")))?;
            // DeleteObjects answers 200 with the keys it could not delete listed.
            if let Some(failed) = answer.errors.first() {
                let n = answer.errors.len();
                return Err(backend(format!("{n} of {} not deleted: {} {}", batch.len(), failed.key, failed.code)));
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, MediaError> {
        let credentials = self.credentials().await?;
        let url = self.bucket.get_object(Some(&credentials), key).sign(CALL_TTL);
        let answer = self.send("GetObject", |http| http.get(url.clone())).await?;
        if answer.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(Self::body("GetObject", Self::ok("GetObject", answer).await?).await?))
    }

    /// One ranged GET: the first `n` bytes, and the size from its `Content-Range`.
    async fn head(&self, key: &str, n: usize) -> Result<Option<Head>, MediaError> {
        let credentials = self.credentials().await?;
        let url = self.bucket.get_object(Some(&credentials), key).sign(CALL_TTL);
        let range = format!("bytes=0-{}", n.max(1) - 1);
        let answer =
            self.send("GetObject", |http| http.request(Method::GET, url.clone()).header("range", &range)).await?;
        match answer.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            // An empty object has no byte 0.
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Some(Head { size: 0, first_bytes: Vec::new() })),
            _ => {}
        }
        let answer = Self::ok("GetObject", answer).await?;
        let header = |name| answer.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let total = header("content-range").and_then(|r| r.rsplit('/').next()?.parse().ok());
        let length = header("content-length").and_then(|l| l.parse().ok());
        let mut first_bytes = Self::body("GetObject", answer).await?;
        let size = total.or(length).unwrap_or(first_bytes.len() as u64);
        first_bytes.truncate(n);
        Ok(Some(Head { size, first_bytes }))
    }

    /// A presigned PutObject with the type signed in, so S3 refuses another; the size the
    /// send checks afterwards (S3 does not sign a limit into a PUT).
    async fn signed_put_url(
        &self,
        key: &str,
        content_type: &str,
        _max_bytes: u64,
        ttl: Duration,
    ) -> Result<String, MediaError> {
        let credentials = self.credentials().await?;
        let mut put = self.bucket.put_object(Some(&credentials), key);
        put.headers_mut().insert("content-type", content_type);
        Ok(put.sign(ttl).into())
    }

    async fn signed_url(&self, key: &str, ttl: Duration) -> Result<String, MediaError> {
        let credentials = self.credentials().await?;
        Ok(self.bucket.get_object(Some(&credentials), key).sign(ttl).into())
    }
}

#[cfg(test)]
mod tests;
