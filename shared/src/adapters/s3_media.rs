//! Media copies in S3 (`MEDIA_BUCKET`): private objects, encrypted by the bucket's default
//! (SSE-S3), handed out as presigned GETs that S3 itself checks (the key, the expiry, the
//! signature), so no request for media reaches a function.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::ports::{Head, MediaError, MediaStore};

/// DeleteObjects takes at most 1000 keys a call.
const DELETE_BATCH: usize = 1000;

pub struct S3Media {
    client: Client,
    bucket: String,
}

fn backend(e: impl std::fmt::Debug) -> MediaError {
    MediaError::Backend(format!("{e:?}"))
}

impl S3Media {
    /// On `sdk`; against a local AWS-compatible server (`AWS_ENDPOINT_URL`) keys go in the
    /// path, as such servers need, not in the host.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        Self::from_conf(config, bucket)
    }

    /// On a client configuration of the caller's (a test's, through a fault proxy).
    pub fn from_conf(config: aws_sdk_s3::Config, bucket: &str) -> Self {
        S3Media { client: Client::from_conf(config), bucket: bucket.to_owned() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl MediaStore for S3Media {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), MediaError> {
        let put = self.client.put_object().bucket(&self.bucket).key(key).content_type(content_type);
        put.body(ByteStream::from(bytes)).send().await.map_err(backend)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, MediaError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            keys.extend(page.map_err(backend)?.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        Ok(keys)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError> {
        let keys = self.list(prefix).await?;
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch.iter().map(|k| ObjectIdentifier::builder().key(k).build().map_err(backend));
            let delete = Delete::builder().set_objects(Some(objects.collect::<Result<_, _>>()?)).quiet(true);
            let answer = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete.build().map_err(backend)?)
                .send()
                .await
                .map_err(backend)?;
            // DeleteObjects answers 200 with the keys it could not delete listed.
            if let Some(failed) = answer.errors().first() {
                return Err(backend(format!("{} of {} not deleted: {:?}", answer.errors().len(), batch.len(), failed)));
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, MediaError> {
        let got = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(got) => got,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        Ok(Some(got.body.collect().await.map_err(backend)?.to_vec()))
    }

    /// One ranged GET: the first `n` bytes, and the size from its `Content-Range`.
    async fn head(&self, key: &str, n: usize) -> Result<Option<Head>, MediaError> {
        let range = format!("bytes=0-{}", n.max(1) - 1);
        let got = match self.client.get_object().bucket(&self.bucket).key(key).range(range).send().await {
            Ok(got) => got,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            // An empty object has no byte 0: S3 answers 416.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                return Ok(Some(Head { size: 0, first_bytes: Vec::new() }));
            }
            Err(e) => return Err(backend(e)),
        };
        let total = got.content_range().and_then(|r| r.rsplit('/').next()).and_then(|t| t.parse().ok());
        let size = total.or(got.content_length().map(|l| l as u64)).unwrap_or_default();
        let first_bytes = got.body.collect().await.map_err(backend)?.to_vec();
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
        let presigning = PresigningConfig::expires_in(ttl).map_err(backend)?;
        let put = self.client.put_object().bucket(&self.bucket).key(key).content_type(content_type);
        Ok(put.presigned(presigning).await.map_err(backend)?.uri().to_owned())
    }

    async fn signed_url(&self, key: &str, ttl: Duration) -> Result<String, MediaError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(backend)?;
        let get = self.client.get_object().bucket(&self.bucket).key(key);
        Ok(get.presigned(presigning).await.map_err(backend)?.uri().to_owned())
    }
}
