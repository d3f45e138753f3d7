//! Adapters of the ports: embedded ones (memory, SQLite, static key, in-process queue) and
//! production ones (DynamoDB, SQS, KMS, the Graph API over HTTPS, the AWS SDK's transport).

pub mod aws_transport;
pub mod development;
pub mod dynamodb;
pub mod eventbridge;
pub mod graph_http;
pub mod kms_cipher;
pub mod media_download;
pub mod media_folder;
pub mod memory_queue;
pub mod memory_store;
pub(crate) mod route_cache;
pub mod s3_media;
/// A scripted loopback server for the HTTP adapters' own failure tests.
#[cfg(test)]
mod scripted_server;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod sqs_queue;
pub mod static_cipher;
