//! Test harness: the real Router on a bound loopback port, a controllable clock, and a fake
//! Graph API server that records what it was asked and answers from a script.
#![allow(dead_code, unused_imports)]

pub mod oauth;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::media_folder::MediaFolder;
use inbox_shared::adapters::memory_queue::MemoryQueue;
use inbox_shared::adapters::memory_store::MemoryStore;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::{AccountStatus, ConnectedAccount, OAuthToken, Provider, TokenKind};
use inbox_shared::http::{mint_jwt, router};
use inbox_shared::meta::signature;
use inbox_shared::ports::{FixedJitter, ManualClock, Store, TokenCipher, TokenContext};
use inbox_shared::runtime::{Adapters, services_on};
use inbox_shared::services::{JobOutcome, Services};
pub use inbox_shared::testing::fake_graph::{FakeGraph, GraphCall, Host, Object};
use serde_json::Value;

pub const APP_SECRET: &str = "test-app-secret";
pub const JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const IG_ACCOUNT: &str = "17841400000000001";
pub const CUSTOMER: &str = "6185000000000001";
pub const PAGE_ID: &str = "112233445566778";
/// Backoff jitter of every test app: delays are 62.5 % of the exponential value.
pub const JITTER: f64 = 0.25;

pub fn start_time() -> DateTime<Utc> {
    // Just after the fixtures' timestamps (2024-11-24T14:53:20Z).
    DateTime::from_timestamp(1_732_460_060, 0).unwrap()
}

pub struct TestApp {
    pub url: String,
    pub services: Services,
    /// What the services run on (for `seed`).
    pub adapters: Adapters,
    pub store: Arc<dyn Store>,
    pub queue: Arc<MemoryQueue>,
    pub cipher: Arc<dyn TokenCipher>,
    pub clock: Arc<ManualClock>,
    pub graph: FakeGraph,
    pub client: reqwest::Client,
    /// On DynamoDB, the table's stream into the event relay (as Lambda would run it).
    pub relay: Option<inbox_shared::testing::stream_pump::StreamPump>,
    /// Where the store keeps its data, for tests that look under it.
    pub backing: Backing,
}

/// Where a test app keeps media copies.
enum Media {
    None,
    /// A fresh folder, served by the app's own signed route (the local server's way).
    Folder,
    Store(Arc<dyn inbox_shared::ports::MediaStore>),
}

/// Which store a test app keeping media runs on.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    Memory,
    Sqlite,
    Aws,
}

/// What backs a test app's store.
#[derive(Debug, Clone, Default)]
pub enum Backing {
    #[default]
    Memory,
    Sqlite(std::path::PathBuf),
    DynamoDb(String),
}

/// A configuration with Meta's hosts at `graph` (`FakeGraph::env`).
pub fn config(env: AppEnv, extra: &[(&str, &str)], graph: &[(&str, String)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("META_APP_SECRET", APP_SECRET),
        ("AUTH_JWT_SECRET", JWT_SECRET),
        ("INSTAGRAM_VERIFY_TOKEN", VERIFY_TOKEN),
        ("GRAPH_API_VERSION", "v21.0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.extend(graph.iter().map(|(k, v)| (k.to_string(), v.clone())));
    vars.insert("META_APP_ID".into(), "1234567890".to_owned());
    // Meta's pace for the Conversations API is measured by its own test; the rest go fast.
    vars.insert("HISTORY_CALLS_PER_SECOND".into(), "1000".to_owned());
    vars.insert("INSTAGRAM_APP_ID".into(), "9876543210".to_owned());
    vars.insert("INSTAGRAM_APP_SECRET".into(), "test-instagram-app-secret".to_owned());
    vars.insert(
        "INSTAGRAM_OAUTH_REDIRECT_URL".into(),
        "https://inbox.example.com/api/integrations/instagram/oauth/callback".to_owned(),
    );
    vars.insert(
        "META_OAUTH_REDIRECT_URL".into(),
        "https://inbox.example.com/api/integrations/meta/oauth/callback".to_owned(),
    );
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(env, |k| vars.get(k).cloned()).unwrap()
}

fn static_cipher() -> Arc<dyn TokenCipher> {
    Arc::new(StaticKeyCipher::from_base64("test-key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap())
}

impl TestApp {
    /// Development mode with the env fallback account (the fixtures' Instagram account and
    /// Page) and `org_a` as default organization.
    pub async fn dev() -> Self {
        Self::with(
            AppEnv::Development,
            &[
                ("DEFAULT_ORGANIZATION_ID", "org_a"),
                ("META_PAGE_ACCESS_TOKEN", "dev-page-token"),
                ("INSTAGRAM_USER_ID", IG_ACCOUNT),
                ("INSTAGRAM_PAGE_ID", PAGE_ID),
            ],
        )
        .await
    }

    pub async fn prod() -> Self {
        Self::with(AppEnv::Production, &[]).await
    }

    pub async fn with(env: AppEnv, extra: &[(&str, &str)]) -> Self {
        Self::on(env, extra, Arc::new(MemoryStore::new()), static_cipher(), Media::None).await
    }

    /// On `backing` (`None`: the local AWS server is not running), keeping media copies as
    /// that backing's deployment does: in a folder beside the embedded stores, in S3 beside
    /// DynamoDB.
    pub async fn keeping_media(backing: Keep, env: AppEnv, extra: &[(&str, &str)]) -> Option<Self> {
        match backing {
            Keep::Memory => {
                Some(Self::on(env, extra, Arc::new(MemoryStore::new()), static_cipher(), Media::Folder).await)
            }
            Keep::Sqlite => Some(Self::sqlite(env, extra, Media::Folder).await),
            Keep::Aws => Self::aws(env, extra, true).await,
        }
    }

    /// On the local server's SQLite store, in a fresh file.
    pub async fn on_sqlite(env: AppEnv, extra: &[(&str, &str)]) -> Self {
        Self::sqlite(env, extra, Media::None).await
    }

    async fn sqlite(env: AppEnv, extra: &[(&str, &str)], media: Media) -> Self {
        use inbox_shared::adapters::sqlite::{DEFAULT_GROUP, Db, SqliteStore};
        let dir = std::env::temp_dir().join(inbox_shared::domain::new_id("sqlite-app"));
        let file = dir.join("inbox.sqlite3");
        let store = Arc::new(SqliteStore::new(Db::open(&file, DEFAULT_GROUP).unwrap()));
        TestApp { backing: Backing::Sqlite(file), ..Self::on(env, extra, store, static_cipher(), media).await }
    }

    /// On DynamoDB (a fresh table with the template's keys) and KMS, on the local
    /// AWS-compatible server; `None` when it is not running.
    pub async fn on_aws(env: AppEnv, extra: &[(&str, &str)]) -> Option<Self> {
        Self::aws(env, extra, false).await
    }

    async fn aws(env: AppEnv, extra: &[(&str, &str)], keep_media: bool) -> Option<Self> {
        let aws = inbox_shared::testing::local_aws::local_aws().await?;
        let table = aws.fresh_table().await;
        let store = Arc::new(inbox_shared::adapters::dynamodb::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&aws.sdk),
            &table,
        ));
        let cipher = Arc::new(inbox_shared::adapters::kms_cipher::KmsCipher::new(
            aws_sdk_kms::Client::new(&aws.sdk),
            &aws.kms_key_id,
        ));
        let bus = Arc::new(inbox_shared::testing::stream_pump::RecordingBus::default());
        let relay = Arc::new(inbox_shared::relay::Relay::new(store.clone(), bus, chrono::Duration::hours(24)));
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the local AWS endpoint");
        let pump = inbox_shared::testing::stream_pump::StreamPump::start(&aws.sdk, &endpoint, &table, relay).await;
        let backing = Backing::DynamoDb(table);
        let media = match keep_media {
            true => Media::Store(aws.fresh_media_bucket().await),
            false => Media::None,
        };
        Some(TestApp { relay: Some(pump), backing, ..Self::on(env, extra, store, cipher, media).await })
    }

    async fn on(
        env: AppEnv,
        extra: &[(&str, &str)],
        store: Arc<dyn Store>,
        cipher: Arc<dyn TokenCipher>,
        media: Media,
    ) -> Self {
        let graph = FakeGraph::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = config(env, extra, &graph.env());
        // The development fallback account's Page exists at Meta, with its token.
        let fallback = &config.fallback_account;
        if let (Some(page), Some(token)) = (&fallback.page_id, &fallback.access_token) {
            graph.world().page(page, token);
        }
        let clock = Arc::new(ManualClock::new(start_time()));
        let queue = Arc::new(MemoryQueue::new(clock.clone()));
        let adapters = Adapters {
            graph: Arc::new(HttpGraphApi::from_config(&config)),
            store: store.clone(),
            queue: queue.clone(),
            cipher: cipher.clone(),
            clock: clock.clone(),
            jitter: Arc::new(FixedJitter(JITTER)),
            media: match media {
                Media::None => None,
                Media::Folder => {
                    let root = std::env::temp_dir().join(inbox_shared::domain::new_id("media"));
                    Some(Arc::new(MediaFolder::open(&root, &url, clock.clone()).unwrap()))
                }
                Media::Store(store) => Some(store),
            },
        };
        let services = services_on(config, adapters.clone());
        let app = router(services.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestApp {
            url,
            services,
            adapters,
            store,
            queue,
            cipher,
            clock,
            graph,
            client: reqwest::Client::new(),
            relay: None,
            backing: Backing::Memory,
        }
    }

    /// Everything the backing storage holds that names `needle` (an organization's id), read
    /// under the store rather than through it: every item of the DynamoDB table (a `Scan`),
    /// every row of every SQLite table. `None` for the memory store.
    pub async fn scan_for(&self, needle: &str) -> Option<Vec<String>> {
        match &self.backing {
            Backing::Memory => None,
            Backing::Sqlite(file) => {
                let conn = rusqlite::Connection::open(file).unwrap();
                let tables: Vec<String> = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let mut found = Vec::new();
                for table in tables {
                    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
                    let width = stmt.column_count();
                    let rows = stmt
                        .query_map([], |r| {
                            let cells: Vec<String> = (0..width)
                                .map(|i| match r.get_ref(i).unwrap() {
                                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                    other => format!("{other:?}"),
                                })
                                .collect();
                            Ok(cells.join(" | "))
                        })
                        .unwrap();
                    found.extend(
                        rows.map(Result::unwrap).filter(|row| row.contains(needle)).map(|r| format!("{table}: {r}")),
                    );
                }
                Some(found)
            }
            Backing::DynamoDb(table) => {
                let aws = inbox_shared::testing::local_aws::local_aws().await.expect("moto");
                let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
                let mut found = Vec::new();
                let mut start = None;
                loop {
                    let out = client.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
                    for item in out.items.unwrap_or_default() {
                        let text = format!("{item:?}");
                        if text.contains(needle) {
                            found.push(text);
                        }
                    }
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        return Some(found);
                    }
                }
            }
        }
    }

    /// Connects `external_id` to `org` with an encrypted page token, as OAuth would.
    pub async fn connect_account(
        &self,
        org: &str,
        account_id: &str,
        external_id: &str,
        token: &str,
    ) -> ConnectedAccount {
        self.connect_account_on_page(org, account_id, external_id, PAGE_ID, token).await
    }

    /// `connect_account` through another Facebook Page.
    pub async fn connect_account_on_page(
        &self,
        org: &str,
        account_id: &str,
        external_id: &str,
        page_id: &str,
        token: &str,
    ) -> ConnectedAccount {
        self.connect_channel(Provider::Instagram, org, account_id, external_id, page_id, token).await
    }

    /// Connects a Page's Messenger channel (`external_id` the Page id), as OAuth would.
    pub async fn connect_messenger(&self, org: &str, account_id: &str, page_id: &str, token: &str) -> ConnectedAccount {
        self.connect_channel(Provider::Messenger, org, account_id, page_id, page_id, token).await
    }

    async fn connect_channel(
        &self,
        provider: Provider,
        org: &str,
        account_id: &str,
        external_id: &str,
        page_id: &str,
        token: &str,
    ) -> ConnectedAccount {
        let now = self.clock_now();
        let account = ConnectedAccount {
            id: account_id.into(),
            organization_id: org.into(),
            provider,
            external_account_id: external_id.into(),
            page_id: Some(page_id.into()),
            display_name: Some("Shop".into()),
            username: Some("shop".into()),
            status: AccountStatus::Active,
            meta_user_id: None,
            status_changed_by: None,
            history: None,
            created_at: now,
            updated_at: now,
        };
        self.store.put_account(&account).await.unwrap();
        self.graph.world().page(page_id, token);
        if provider == Provider::Instagram {
            self.graph.world().know(external_id, Object::InstagramAccount);
        }
        let ctx = TokenContext { organization_id: org, connected_account_id: account_id };
        let encrypted = self.cipher.encrypt(token, &ctx).await.unwrap();
        self.store
            .put_token(&OAuthToken::issued(org, account_id, TokenKind::Page, encrypted, None, now))
            .await
            .unwrap();
        account
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use inbox_shared::ports::Clock;
        self.clock.now()
    }

    /// Runs queued jobs, moving the clock to each next due time, until the queue is empty.
    /// Returns each outcome with the time it ran at.
    pub async fn run_jobs(&self) -> Vec<(DateTime<Utc>, JobOutcome)> {
        let mut ran = Vec::new();
        // Enough for a send through a long outage: each ambiguous attempt is checked for
        // its echo every 15 s before the next.
        for _ in 0..400 {
            let due = self.queue.take_due();
            if due.is_empty() {
                match self.queue.next_due_at() {
                    Some(at) => {
                        self.clock.set(at);
                        continue;
                    }
                    None => return ran,
                }
            }
            for m in due {
                ran.push((self.clock_now(), self.services.process(&m).await.unwrap()));
            }
        }
        panic!("queue never drained: {ran:?}");
    }

    pub fn token(org: &str) -> String {
        mint_jwt(JWT_SECRET, "org_id", org, (Utc::now() + Duration::hours(1)).timestamp())
    }

    /// POSTs a webhook body signed with the app secret.
    pub async fn deliver(&self, body: &str) -> reqwest::Response {
        self.deliver_with(body, &[]).await
    }

    pub async fn deliver_with(&self, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.deliver_on("/api/webhooks/instagram", body, headers).await
    }

    /// `deliver` on another webhook route (`/api/webhooks/meta`).
    pub async fn deliver_to(&self, route: &str, body: &str) -> reqwest::Response {
        self.deliver_on(route, body, &[]).await
    }

    async fn deliver_on(&self, route: &str, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        // Meta knows what it delivers: the people, comments and media it names.
        self.graph.learn_webhook(body);
        let mut req = self
            .client
            .post(format!("{}{route}", self.url))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature::sign(APP_SECRET, body.as_bytes()))
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, org: &str, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.url)).bearer_auth(Self::token(org)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// `post` under an `Idempotency-Key`.
    pub async fn post_with_key(&self, org: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let request = self.client.post(url).bearer_auth(Self::token(org)).header("idempotency-key", key);
        let r = request.json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, org: &str, path: &str) -> (u16, Value) {
        let r = self.client.delete(format!("{}{path}", self.url)).bearer_auth(Self::token(org)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// One page of the organization's conversations for `query` (`kind=COMMENT`, `provider=ALL`...).
    pub async fn list_conversations(&self, org: &str, query: &str) -> Vec<Value> {
        let (status, page) = self.get(org, &format!("/api/inbox/conversations?limit=100&{query}")).await;
        assert_eq!(status, 200, "{page}");
        page["data"].as_array().unwrap().clone()
    }

    pub async fn put(&self, org: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self.client.put(format!("{}{path}", self.url)).bearer_auth(Self::token(org)).json(&body).send().await;
        let r = r.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, org: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(Self::token(org))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn conversations(&self, org: &str) -> Vec<Value> {
        let (status, body) = self.get(org, "/api/inbox/conversations?provider=INSTAGRAM").await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().unwrap().clone()
    }

    pub async fn messages(&self, org: &str, conversation_id: &str) -> Vec<Value> {
        let (status, body) =
            self.get(org, &format!("/api/inbox/conversations/{conversation_id}/messages?limit=100")).await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().unwrap().clone()
    }
}

/// Serves every route of `services` on a loopback port: the webhook's URL there.
pub async fn serve_webhook(services: &Services) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/webhooks/instagram", listener.local_addr().unwrap());
    let app = router(services.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A messaging item body for one inbound text.
pub fn text_webhook(account: &str, customer: &str, mid: &str, text: &str, timestamp_ms: i64) -> String {
    serde_json::json!({"object":"instagram","entry":[{"id":account,"time":timestamp_ms,"messaging":[
        {"sender":{"id":customer},"recipient":{"id":account},"timestamp":timestamp_ms,
         "message":{"mid":mid,"text":text}}]}]})
    .to_string()
}
