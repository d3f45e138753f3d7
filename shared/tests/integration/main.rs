//! Every integration test of `inbox-shared` in one test binary (one link of the AWS SDK
//! instead of one per file): HTTP behaviour over HTTP, the stores on memory and DynamoDB (moto),
//! SQS, KMS and SSM, faults, Meta's documented examples, the OpenAPI document. Each module is
//! one family; `common` is the harness.

mod accounts_http;
mod aws_calls;
mod aws_faults;
mod aws_lists;
mod aws_queue_cipher;
mod aws_secrets;
mod aws_store;
mod changes_http;
mod comment_replies_http;
mod comments_http;
mod common;
mod erasure_faults;
mod erasure_http;
mod event_log;
mod events_http;
mod fairness_aws;
mod greeting_http;
mod handover_http;
mod health_http;
mod history_http;
mod inbox_http;
mod isolation_http;
mod lookup_faults;
mod media_faults;
mod media_http;
mod messenger_http;
mod meta_callbacks_http;
mod meta_docs_http;
mod no_panic;
mod oauth_binding_http;
mod openapi_http;
mod outbound_http;
mod profiles_http;
mod refresh_faults;
mod relay_faults;
mod rich_replies_http;
mod roles_http;
mod send_aws_faults;
mod send_faults;
mod sender_actions_http;
mod uploads_http;
mod webhook_edge_http;
mod webhook_http;
