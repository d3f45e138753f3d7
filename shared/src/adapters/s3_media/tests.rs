//! The S3 adapter against a scripted S3 (its retries, refusals and answers) and its presigned
//! URLs against AWS's own signer.

use std::time::UNIX_EPOCH;

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
};

use super::*;
use crate::adapters::scripted_server::{Reply, ScriptedServer};

const XML: &str = "application/xml";
const NO_SUCH_KEY: Reply = Reply::Answer(404, XML, "<Error><Code>NoSuchKey</Code></Error>");
const SLOW_DOWN: Reply = Reply::Answer(503, XML, "<Error><Code>SlowDown</Code></Error>");

/// The store on a scripted S3 at `server`.
fn at(server: &ScriptedServer) -> S3Media {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials()))
        .build();
    S3Media::at(&sdk, Some(&server.url), "media").unwrap()
}

#[tokio::test]
async fn a_cut_connection_and_a_slow_down_are_tried_again_and_the_put_lands_once() {
    let server = ScriptedServer::start(|n| match n {
        0 => Reply::HangUp,
        1 => SLOW_DOWN,
        _ => Reply::Answer(200, XML, ""),
    })
    .await;
    at(&server).put("org/k", b"bytes".to_vec(), "image/png").await.expect("the third attempt lands");
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn an_s3_that_stays_down_fails_the_call_after_three_attempts() {
    let server = ScriptedServer::start(|_| SLOW_DOWN).await;
    let failed = at(&server).put("org/k", b"bytes".to_vec(), "image/png").await.expect_err("down");
    assert_eq!(failed, MediaError::Backend("S3 PutObject: 503 Service Unavailable".into()));
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_refusal_is_not_tried_again_and_names_s3_s_code() {
    let server = ScriptedServer::start(|_| Reply::Answer(403, XML, "<Error><Code>AccessDenied</Code></Error>")).await;
    let failed = at(&server).delete("org/k").await.expect_err("refused");
    assert_eq!(failed, MediaError::Backend("S3 DeleteObject: 403 Forbidden AccessDenied".into()));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn nothing_under_a_key_is_none_and_a_garbled_listing_is_an_error() {
    let server = ScriptedServer::start(|_| NO_SUCH_KEY).await;
    assert_eq!(at(&server).get("org/k").await, Ok(None));
    assert_eq!(at(&server).head("org/k", 8).await, Ok(None));
    let garbled = ScriptedServer::start(|_| Reply::Answer(200, XML, "<ListBucketResult><Contents>")).await;
    let failed = at(&garbled).list("org/").await.expect_err("garbled");
    assert!(matches!(&failed, MediaError::Backend(m) if m.starts_with("S3 ListObjectsV2: ")), "{failed:?}");
}

#[test]
fn an_error_s_code_is_read_and_nothing_else() {
    let xml = "<Error><Code>NoSuchBucket</Code><Message>m</Message><AWSAccessKeyId>AKIA</AWSAccessKeyId></Error>";
    assert_eq!(error_code(xml), "NoSuchBucket");
    assert_eq!(error_code("<html>bad gateway</html>"), "");
}

fn credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("the-session's token".into()),
        None,
        "test",
    )
}

/// The store as a Lambda function has it: S3's own endpoint, session credentials.
fn on_aws() -> S3Media {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials()))
        .build();
    S3Media::new(&sdk, "inbox-media-123").unwrap()
}

/// The signature AWS's own signer (the SDK's) gives `method` on `url` with `headers`, at
/// the URL's own `X-Amz-Date` and `X-Amz-Expires`, and the URL's.
fn signatures(method: &str, url: &str, headers: &[(&str, &str)]) -> (String, String) {
    let url = url::Url::parse(url).unwrap();
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    let at = chrono::NaiveDateTime::parse_from_str(&param("X-Amz-Date"), "%Y%m%dT%H%M%SZ").unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(at.and_utc().timestamp() as u64);
    let mut unsigned = url.clone();
    unsigned.query_pairs_mut().clear().extend_pairs(url.query_pairs().filter(|(k, _)| !k.starts_with("X-Amz-")));
    let unsigned = unsigned.as_str().trim_end_matches('?').to_owned();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(param("X-Amz-Expires").parse().unwrap()));
    let identity = credentials().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("s3")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = url.host_str().unwrap().to_owned();
    let headers = [("host", host.as_str())].into_iter().chain(headers.iter().copied());
    let request = SignableRequest::new(method, unsigned, headers, SignableBody::UnsignedPayload).unwrap();
    let theirs = aws_sigv4::http_request::sign(request, &params).unwrap().signature().to_owned();
    (param("X-Amz-Signature"), theirs)
}

#[tokio::test]
async fn presigned_urls_carry_the_signature_aws_s_own_signer_computes() {
    let media = on_aws();
    let key = "org_a/conv 1/ünï+code photo.jpg";
    let get = media.signed_url(key, Duration::from_secs(600)).await.unwrap();
    assert!(get.starts_with("https://inbox-media-123.s3.eu-west-1.amazonaws.com/org_a/conv%201/"), "{get}");
    let (ours, aws) = signatures("GET", &get, &[]);
    assert_eq!(ours, aws, "{get}");
    let put = media.signed_put_url(key, "image/png", 1, Duration::from_secs(600)).await.unwrap();
    let (ours, aws) = signatures("PUT", &put, &[("content-type", "image/png")]);
    assert_eq!(ours, aws, "the type is signed in: {put}");
    let (ours, other) = signatures("PUT", &put, &[("content-type", "image/jpeg")]);
    assert_ne!(ours, other, "another type is another signature");
}

#[test]
fn without_a_region_or_credentials_the_store_is_refused_at_start() {
    let no_region =
        aws_config::SdkConfig::builder().credentials_provider(SharedCredentialsProvider::new(credentials())).build();
    let refused = S3Media::new(&no_region, "media").err().expect("no region");
    assert!(refused.to_string().contains("AWS_REGION"), "{refused}");
    let no_credentials = aws_config::SdkConfig::builder().region(aws_config::Region::new("eu-west-1")).build();
    let refused = S3Media::new(&no_credentials, "media").err().expect("no credentials");
    assert!(refused.to_string().contains("credentials"), "{refused}");
}
