//! The AWS SDK's HTTP transport on reqwest, the client the Graph API adapter already links.
//!
//! The SDK's own client (aws-smithy-http-client) brings a second hyper connector, HTTP/2 (h2)
//! and the system's certificate store, read when each SDK client is built; every function
//! then carries two HTTPS stacks. On reqwest they share one (HTTP/1.1, rustls with ring,
//! Mozilla's roots compiled in). The SDK keeps what it owns: signing, retries, the attempt
//! and operation timeouts. This transport applies the connector settings it is given
//! (connect and read timeouts) and says which failures are worth a retry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// One reqwest client (one connection pool) for each distinct set of connector timeouts the
/// SDK asks for; a deployment sets one, so in practice there is one pool.
#[derive(Debug, Default, Clone)]
pub struct ReqwestTransport {
    pools: Arc<Mutex<HashMap<Timeouts, SharedHttpConnector>>>,
}

/// A connector's connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for ReqwestTransport {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut pools = self.pools.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pools.entry(key).or_insert_with(|| SharedHttpConnector::new(Connector::new(key.0, key.1))).clone()
    }
}

#[derive(Debug)]
struct Connector {
    client: Result<reqwest::Client, Arc<reqwest::Error>>,
}

impl Connector {
    fn new(connect: Option<Duration>, read: Option<Duration>) -> Self {
        // Redirects are the SDK's to see (S3 answers 301 for a bucket in another region).
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = connect {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = read {
            builder = builder.read_timeout(timeout);
        }
        Self { client: builder.build().map_err(Arc::new) }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(built) => return HttpConnectorFuture::ready(Err(ConnectorError::user(built.to_string().into()))),
        };
        let request = match request.try_into_http1x().map(|r| r.map(reqwest::Body::wrap)) {
            Ok(request) => reqwest::Request::try_from(request),
            Err(refused) => return HttpConnectorFuture::ready(Err(ConnectorError::user(refused.into()))),
        };
        HttpConnectorFuture::new(async move {
            let answer = client.execute(request.map_err(|e| ConnectorError::user(e.into()))?).await;
            let answer = http::Response::from(answer.map_err(classify)?);
            HttpResponse::try_from(answer.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK retries timeouts and I/O failures (a refused or cut connection, an answer cut
/// short) and nothing else a transport reports; a request reqwest could not build is the
/// caller's.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_builder() {
        ConnectorError::user(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use crate::adapters::scripted_server::{Reply, ScriptedServer};

    /// DynamoDB's answer to `ListTables` on an empty account.
    const NO_TABLES: &str = r#"{"TableNames":[]}"#;

    /// A server that hangs up on its first `cut` requests and answers `body` to the others.
    async fn server(cut: usize, body: &'static str) -> ScriptedServer {
        let answer = Reply::Answer(200, "application/x-amz-json-1.0", body);
        ScriptedServer::start(move |n| if n < cut { Reply::HangUp } else { answer }).await
    }

    async fn dynamodb(url: &str) -> aws_sdk_dynamodb::Client {
        let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test");
        let sdk = crate::runtime::aws_config_loader()
            .endpoint_url(url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&sdk)
    }

    #[tokio::test]
    async fn a_call_goes_through_and_its_answer_comes_back_parsed() {
        let server = server(0, NO_TABLES).await;
        let tables = dynamodb(&server.url).await.list_tables().send().await.expect("answered");
        assert!(tables.table_names().is_empty());
        assert_eq!(server.requests(), 1);
    }

    #[tokio::test]
    async fn a_connection_cut_before_the_answer_is_retried_by_the_sdk() {
        let server = server(1, NO_TABLES).await;
        let tables = dynamodb(&server.url).await.list_tables().send().await.expect("answered on the second attempt");
        assert!(tables.table_names().is_empty());
        assert_eq!(server.requests(), 2, "one cut, one answered");
    }

    #[tokio::test]
    async fn a_server_that_always_hangs_up_fails_the_call_after_the_sdk_s_attempts() {
        let server = server(usize::MAX, NO_TABLES).await;
        let failed = dynamodb(&server.url).await.list_tables().send().await.expect_err("never answered");
        assert!(matches!(failed, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)), "{failed:?}");
        assert_eq!(server.requests(), 3, "the configured 3 attempts");
    }

    #[tokio::test]
    async fn nobody_listening_is_an_io_failure_the_sdk_retries() {
        let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", free.local_addr().unwrap());
        drop(free);
        let failed = dynamodb(&url).await.list_tables().send().await.expect_err("refused");
        let aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) = &failed else {
            panic!("{failed:?}");
        };
        assert!(failure.is_io(), "{failed:?}");
    }
}
