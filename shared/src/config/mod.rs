//! One typed configuration, parsed from the environment at start-up. A malformed value stops
//! start-up with a message naming the variable.

use chrono::Duration;

use crate::domain::ReplyPolicy;

mod auth;
mod limits;
mod media;

pub use auth::{Auth, DEFAULT_ORG_CLAIM};
pub use limits::{HistoryLimits, Limits};
use limits::{parse_bool, parse_num};
pub use media::MediaConfig;

pub const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
/// Graph API v26.0 (July 2026) is current; v21.0 stops working in January 2027.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v26.0";
/// Used only in development when `AUTH_JWT_SECRET` is unset, so the local server works on a
/// fresh clone; production refuses to start without a real one.
pub const DEVELOPMENT_JWT_SECRET: &str = "development-only-jwt-secret";
/// HS256 is only as strong as its key: production refuses a shorter one.
pub const MIN_PRODUCTION_JWT_SECRET_BYTES: usize = 32;
/// Development defaults, so a fresh clone runs with no `.env`: webhooks must still be signed
/// (with this secret), and land in this organization.
pub const DEVELOPMENT_APP_SECRET: &str = "development-app-secret";
pub const DEVELOPMENT_VERIFY_TOKEN: &str = "development-verify-token";
pub const DEVELOPMENT_ORGANIZATION_ID: &str = "org_demo";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required in production")]
    Missing(&'static str),
    #[error("{name} is malformed: {why}")]
    Malformed { name: &'static str, why: String },
}

/// The development fallback account (`INSTAGRAM_USER_ID`, `INSTAGRAM_PAGE_ID`,
/// `META_PAGE_ACCESS_TOKEN`), used only when no connected account matches.
#[derive(Clone, PartialEq, Eq)]
pub struct FallbackAccount {
    pub instagram_user_id: Option<String>,
    pub page_id: Option<String>,
    pub access_token: Option<String>,
}

impl std::fmt::Debug for FallbackAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackAccount")
            .field("instagram_user_id", &self.instagram_user_id)
            .field("page_id", &self.page_id)
            .field("access_token", &self.access_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Clone)]
pub struct Config {
    pub app_env: AppEnv,
    pub verify_token: Option<String>,
    /// `META_APP_SECRET` first, then `INSTAGRAM_APP_SECRET` (Instagram Login signs with it).
    pub app_secrets: Vec<String>,
    pub meta_app_id: Option<String>,
    pub oauth_redirect_url: Option<String>,
    /// Instagram Login: its own app id and secret, callback URL and API host.
    pub instagram_app_id: Option<String>,
    pub instagram_app_secret: Option<String>,
    pub instagram_oauth_redirect_url: Option<String>,
    pub instagram_api_base_url: String,
    /// Where the OAuth callbacks send the browser back, with the outcome in the query; unset,
    /// they answer JSON.
    pub oauth_return_url: Option<String>,
    /// This deployment's webhook URL as Meta should call it (`WEBHOOK_URL`); the doctor
    /// compares the app's subscriptions with it.
    pub webhook_url: Option<String>,
    /// How bearer tokens are read: secret, issuer, audience, the organization and role claims.
    pub auth: Auth,
    pub default_organization_id: Option<String>,
    pub fallback_account: FallbackAccount,
    pub graph_api_base_url: String,
    pub graph_api_version: String,
    /// `graph.instagram.com` (Instagram Login token refresh); `INSTAGRAM_GRAPH_API_BASE_URL`.
    pub instagram_graph_base_url: String,
    /// Budgets, rates and retry limits (each from its own variable, with a default).
    pub limits: Limits,
    /// Media copies: where, how large, how long a signed URL works.
    pub media: MediaConfig,
    /// Webhook source ranges allowed (`WEBHOOK_ALLOWED_CIDRS`); empty: any.
    pub webhook_allowed_cidrs: Vec<crate::cidr::Cidr>,
    pub sla_response_minutes: i64,
    pub human_agent_tag: bool,
    pub token_encryption_key: Option<String>,
    pub token_encryption_key_id: Option<String>,
    /// Earlier static keys, `id:base64,...`, that still decrypt (`TOKEN_ENCRYPTION_KEYS`).
    pub token_encryption_keys: Option<String>,
    /// Production encrypts tokens with KMS; a static key there needs `ALLOW_STATIC_TOKEN_KEY=true`.
    pub allow_static_token_key: bool,
    pub kms_key_id: Option<String>,
    pub table_name: Option<String>,
    pub jobs_queue_url: Option<String>,
    /// Queues of their own for webhook items and replays, and enrichment (`ports::QueueLane`).
    pub webhook_queue_url: Option<String>,
    pub enrichment_queue_url: Option<String>,
    /// Without `TABLE_NAME`: which embedded store (`STORE`); unset, the process decides
    /// (the local server keeps its data in SQLite, tests and Lambda use memory).
    pub store: Option<EmbeddedStore>,
    /// Where the SQLite store keeps its file (`DATA_DIR`, default `./data`).
    pub data_dir: std::path::PathBuf,
}

/// The store used without DynamoDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedStore {
    /// Lost with the process (tests).
    Memory,
    /// `DATA_DIR/inbox.sqlite3`, with the jobs queue in the same file.
    Sqlite,
}

impl std::fmt::Debug for Config {
    // Secrets are never printed, not even in a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("app_env", &self.app_env)
            .field("graph_api_base_url", &self.graph_api_base_url)
            .field("graph_api_version", &self.graph_api_version)
            .field("default_organization_id", &self.default_organization_id)
            .field("fallback_account", &self.fallback_account)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// In development without a frontend to return to (`OAUTH_RETURN_URL`), Meta's redirect
    /// back connects the account at once.
    pub fn oauth_connects_on_callback(&self) -> bool {
        self.is_development() && self.oauth_return_url.is_none()
    }

    /// Reads the process environment. `default_env` is the environment when neither
    /// `APP_ENV` nor `NODE_ENV` says (production in Lambda, development locally).
    pub fn from_env(default_env: AppEnv) -> Result<Self, ConfigError> {
        Self::from_lookup(default_env, |k| std::env::var(k).ok())
    }

    pub fn from_lookup(default_env: AppEnv, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_needing(default_env, &["META_APP_SECRET"], lookup)
    }

    /// As `from_lookup`, for a process that uses the secrets `needs`: production refuses to
    /// start without them (the job processor uses none, the webhook its signing secret...).
    pub fn from_lookup_needing(
        default_env: AppEnv,
        needs: &[&'static str],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let app_env = app_env(get("APP_ENV").or_else(|| get("NODE_ENV")).as_deref(), default_env)?;
        let production = app_env == AppEnv::Production;
        if let Some(missing) = needs.iter().find(|n| production && get(n).is_none()) {
            return Err(ConfigError::Missing(missing));
        }
        let dev_default = |v: &str| (!production).then(|| v.to_owned());
        Ok(Config {
            app_env,
            verify_token: get("INSTAGRAM_VERIFY_TOKEN").or_else(|| dev_default(DEVELOPMENT_VERIFY_TOKEN)),
            app_secrets: app_secrets(&get, production),
            meta_app_id: get("META_APP_ID"),
            oauth_redirect_url: get("META_OAUTH_REDIRECT_URL"),
            oauth_return_url: get("OAUTH_RETURN_URL"),
            webhook_url: get("WEBHOOK_URL"),
            instagram_app_id: get("INSTAGRAM_APP_ID"),
            instagram_app_secret: get("INSTAGRAM_APP_SECRET"),
            instagram_oauth_redirect_url: get("INSTAGRAM_OAUTH_REDIRECT_URL"),
            instagram_api_base_url: base_url(get("INSTAGRAM_API_BASE_URL"), "https://api.instagram.com"),
            auth: Auth::from_lookup(&get, production)?,
            default_organization_id: match production {
                true => None, // routing by header or default organization is development-only
                false => get("DEFAULT_ORGANIZATION_ID").or_else(|| dev_default(DEVELOPMENT_ORGANIZATION_ID)),
            },
            fallback_account: FallbackAccount {
                instagram_user_id: get("INSTAGRAM_USER_ID"),
                page_id: get("INSTAGRAM_PAGE_ID"),
                access_token: get("META_PAGE_ACCESS_TOKEN"),
            },
            graph_api_base_url: base_url(get("GRAPH_API_BASE_URL"), DEFAULT_GRAPH_API_BASE_URL),
            graph_api_version: get("GRAPH_API_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned()),
            instagram_graph_base_url: base_url(get("INSTAGRAM_GRAPH_API_BASE_URL"), "https://graph.instagram.com"),
            limits: Limits::from_lookup(&get)?,
            media: MediaConfig::from_lookup(&get)?,
            webhook_allowed_cidrs: crate::cidr::parse_list(&get("WEBHOOK_ALLOWED_CIDRS").unwrap_or_default())
                .map_err(|why| ConfigError::Malformed { name: "WEBHOOK_ALLOWED_CIDRS", why })?,
            sla_response_minutes: parse_num(&get, "SLA_RESPONSE_MINUTES", 60)?.max(1),
            human_agent_tag: parse_bool(&get, "INSTAGRAM_HUMAN_AGENT_TAG")?,
            token_encryption_key: get("TOKEN_ENCRYPTION_KEY"),
            token_encryption_key_id: get("TOKEN_ENCRYPTION_KEY_ID"),
            token_encryption_keys: get("TOKEN_ENCRYPTION_KEYS"),
            allow_static_token_key: parse_bool(&get, "ALLOW_STATIC_TOKEN_KEY")?,
            kms_key_id: get("KMS_KEY_ID"),
            table_name: get("TABLE_NAME"),
            jobs_queue_url: get("JOBS_QUEUE_URL"),
            webhook_queue_url: get("WEBHOOK_QUEUE_URL"),
            enrichment_queue_url: get("ENRICHMENT_QUEUE_URL"),
            store: embedded_store(get("STORE").as_deref())?,
            data_dir: get("DATA_DIR").unwrap_or_else(|| "./data".to_owned()).into(),
        })
    }

    pub fn is_development(&self) -> bool {
        self.app_env == AppEnv::Development
    }

    /// Whether any AWS resource is named (the table, the jobs queue, the KMS key, the media
    /// bucket), so the process needs an AWS SDK configuration.
    pub fn uses_aws(&self) -> bool {
        self.table_name.is_some()
            || self.jobs_queue_url.is_some()
            || self.kms_key_id.is_some()
            || self.media.bucket.is_some()
    }

    pub fn reply_policy(&self) -> ReplyPolicy {
        ReplyPolicy { human_agent_tag: self.human_agent_tag, sla: Duration::minutes(self.sla_response_minutes) }
    }
}

/// `APP_ENV` (or `NODE_ENV`) as given, or `default` when neither is set.
fn app_env(given: Option<&str>, default: AppEnv) -> Result<AppEnv, ConfigError> {
    match given {
        None => Ok(default),
        Some(v) if ["development", "dev", "test"].iter().any(|d| v.eq_ignore_ascii_case(d)) => Ok(AppEnv::Development),
        Some(v) if ["production", "prod"].iter().any(|p| v.eq_ignore_ascii_case(p)) => Ok(AppEnv::Production),
        Some(v) => {
            Err(ConfigError::Malformed { name: "APP_ENV", why: format!("{v:?} is not development or production") })
        }
    }
}

/// The secrets webhook signatures may be made with (Facebook Login's app, Business Login for
/// Instagram's); development without one signs with the development secret.
fn app_secrets(get: &impl Fn(&str) -> Option<String>, production: bool) -> Vec<String> {
    let mut secrets: Vec<String> = ["META_APP_SECRET", "INSTAGRAM_APP_SECRET"].iter().filter_map(|k| get(k)).collect();
    if get("META_APP_SECRET").is_none() && !production {
        secrets.insert(0, DEVELOPMENT_APP_SECRET.to_owned());
    }
    secrets
}

fn embedded_store(given: Option<&str>) -> Result<Option<EmbeddedStore>, ConfigError> {
    match given.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("memory") => Ok(Some(EmbeddedStore::Memory)),
        Some("sqlite") => Ok(Some(EmbeddedStore::Sqlite)),
        Some(v) => Err(ConfigError::Malformed { name: "STORE", why: format!("{v:?} is not memory or sqlite") }),
    }
}

/// A base URL without its trailing slash.
fn base_url(given: Option<String>, default: &str) -> String {
    given.as_deref().unwrap_or(default).trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(default: AppEnv, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(default, |k| map.get(k).cloned())
    }

    #[test]
    fn production_refuses_to_start_without_the_app_secret() {
        assert_eq!(cfg(AppEnv::Production, &[]).unwrap_err(), ConfigError::Missing("META_APP_SECRET"));
        assert_eq!(
            cfg(AppEnv::Development, &[("APP_ENV", "production")]).unwrap_err(),
            ConfigError::Missing("META_APP_SECRET")
        );
        assert!(cfg(AppEnv::Production, &[("META_APP_SECRET", "x")]).is_ok());
        // A process that uses no secret (the job processor) starts without any.
        assert!(Config::from_lookup_needing(AppEnv::Production, &[], |_| None).is_ok());
        let webhook =
            Config::from_lookup_needing(AppEnv::Production, &["META_APP_SECRET", "INSTAGRAM_VERIFY_TOKEN"], |k| {
                (k == "META_APP_SECRET").then(|| "x".to_owned())
            });
        assert_eq!(webhook.unwrap_err(), ConfigError::Missing("INSTAGRAM_VERIFY_TOKEN"));
    }

    #[test]
    fn production_refuses_a_jwt_secret_shorter_than_32_bytes() {
        let short = cfg(AppEnv::Production, &[("META_APP_SECRET", "x"), ("AUTH_JWT_SECRET", "too-short")]);
        assert!(matches!(short, Err(ConfigError::Malformed { name: "AUTH_JWT_SECRET", .. })), "{short:?}");
        let long = "k".repeat(MIN_PRODUCTION_JWT_SECRET_BYTES);
        assert!(cfg(AppEnv::Production, &[("META_APP_SECRET", "x"), ("AUTH_JWT_SECRET", &long)]).is_ok());
        assert!(cfg(AppEnv::Development, &[("AUTH_JWT_SECRET", "short-is-fine-locally")]).is_ok());
        // The public development secret never signs a production token.
        let public = cfg(AppEnv::Production, &[("META_APP_SECRET", "x"), ("AUTH_JWT_SECRET", DEVELOPMENT_JWT_SECRET)]);
        assert!(matches!(public, Err(ConfigError::Malformed { name: "AUTH_JWT_SECRET", .. })), "{public:?}");
    }

    #[test]
    fn production_takes_a_custom_organization_claim_only_when_it_is_said_to_be_trusted() {
        let custom = [("META_APP_SECRET", "x"), ("AUTH_ORG_CLAIM", "custom:tenant")];
        let refused = cfg(AppEnv::Production, &custom);
        assert!(matches!(refused, Err(ConfigError::Malformed { name: "AUTH_ORG_CLAIM", .. })), "{refused:?}");
        let trusted = cfg(AppEnv::Production, &[custom[0], custom[1], ("AUTH_ORG_CLAIM_TRUSTED", "true")]).unwrap();
        assert_eq!(trusted.auth.org_claim, "custom:tenant");
        assert!(cfg(AppEnv::Development, &[("AUTH_ORG_CLAIM", "custom:tenant")]).is_ok());
    }

    #[test]
    fn without_a_role_claim_every_caller_is_an_admin_and_with_one_only_the_admin_roles() {
        let open = cfg(AppEnv::Development, &[]).unwrap();
        assert!(open.auth.is_admin(["agent"].into_iter()));
        let roles = cfg(AppEnv::Development, &[("AUTH_ROLE_CLAIM", "roles"), ("AUTH_ADMIN_ROLES", "Owner, admin")]);
        let roles = roles.unwrap();
        assert!(roles.auth.is_admin(["agent", "OWNER"].into_iter()));
        assert!(!roles.auth.is_admin(["agent"].into_iter()));
        assert!(!roles.auth.is_admin(std::iter::empty()));
    }

    #[test]
    fn node_env_is_read_when_app_env_is_unset() {
        let c = cfg(AppEnv::Production, &[("NODE_ENV", "development")]).unwrap();
        assert!(c.is_development());
        assert_eq!(c.auth.jwt_secret.as_deref(), Some(DEVELOPMENT_JWT_SECRET));
    }

    #[test]
    fn malformed_numbers_name_the_variable() {
        let err = cfg(AppEnv::Development, &[("JOB_MAX_ATTEMPTS", "many")]).unwrap_err();
        assert!(err.to_string().starts_with("JOB_MAX_ATTEMPTS is malformed"), "{err}");
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = cfg(AppEnv::Development, &[]).unwrap();
        assert_eq!(
            (c.limits.job_max_attempts, c.limits.job_retry_base_delay_ms, c.sla_response_minutes),
            (12, 2000, 60)
        );
        assert_eq!(c.auth.org_claim, "org_id");
        assert_eq!(c.graph_api_base_url, DEFAULT_GRAPH_API_BASE_URL);
    }
}
