//! The tunable numbers (each from its own variable, with a default), and how a number or a
//! yes/no is read from the environment.

use chrono::Duration;

use super::ConfigError;

/// The tunable numbers: how long, how many, how fast.
#[derive(Debug, Clone)]
pub struct Limits {
    pub job_max_attempts: u32,
    /// How far ahead the scheduled refresh looks for expiring tokens.
    pub token_refresh_horizon: Duration,
    pub job_retry_base_delay_ms: u64,
    /// How long a webhook request works on its items before queueing the rest
    /// (`WEBHOOK_ACK_BUDGET_MS`); Meta wants an answer within 5 s.
    pub webhook_ack_budget: std::time::Duration,
    /// A send is retried no longer than this after it was queued (`JOB_MAX_AGE_MINUTES`).
    pub job_max_age: Duration,
    /// Sends a second per account per processor instance (`SEND_RATE_PER_ACCOUNT`, default 20;
    /// audio and video at most 10).
    pub send_rate_per_account: u32,
    /// How long a Graph API call may take (`GRAPH_TIMEOUT_MS`, default 10 s).
    pub graph_timeout: std::time::Duration,
    /// How long a send whose outcome is unknown waits for its echo before it is reported
    /// `DELIVERY_UNCONFIRMED` (`SEND_CONFIRM_WAIT_SECS`, default 300).
    pub send_confirm_wait: Duration,
    /// How long events kept raw (unknown account, unreadable) are kept (`RAW_EVENT_TTL_DAYS`).
    pub raw_event_ttl: Duration,
    /// Conversations of one webhook worked on at once (`WEBHOOK_CONCURRENCY`).
    pub webhook_concurrency: usize,
    /// How long a worker's claim on a send holds (`JOB_LEASE_SECS`, default 300): longer
    /// than any function timeout, so a claim only expires when its worker died.
    pub job_lease: Duration,
    /// What a history import and the sweep read of Meta's Conversations API.
    pub history: HistoryLimits,
    /// How long each organization's event log keeps an event (`EVENT_RETENTION_HOURS`,
    /// default 24): how far back a live stream resumes.
    pub event_retention: Duration,
    /// Behind a host that buffers whole responses (API Gateway in front of Lambda,
    /// `EVENT_STREAM_BUFFERED=true`), the event stream answers with what it has as soon as it
    /// has something, or after 10 s, and the client reconnects at once (`retry`).
    pub event_stream_buffered: bool,
    /// How many partitions each of DynamoDB's conversation-list indexes spreads an
    /// organization over (`INBOX_INDEX_SHARDS`, 1 to 128, default 1): one partition takes about
    /// 500 conversation updates a second; lists read every shard and merge. Raise it, never
    /// lower it (a conversation stays in its old shard until its next message).
    pub inbox_index_shards: u32,
    /// How many partitions DynamoDB's event log spreads an organization over
    /// (`EVENT_LOG_SHARDS`, 1 to 128, default 1): one partition's growing end takes about 150
    /// DMs a second; a read takes every shard's next events and merges them.
    pub event_log_shards: u32,
}

/// How far back and how fast the history import and the reconciliation sweep read.
#[derive(Debug, Clone)]
pub struct HistoryLimits {
    /// Conversations quiet for longer are not imported (`HISTORY_IMPORT_DAYS`, default 90).
    pub import_window: Duration,
    /// At most this many conversations per import (`HISTORY_IMPORT_MAX_CONVERSATIONS`, 1000).
    pub max_conversations: u32,
    /// Conversations API calls a second per account (`HISTORY_CALLS_PER_SECOND`, default 2:
    /// Meta's limit for this API).
    pub calls_per_second: f64,
    /// The sweep looks at conversations active this recently (`SWEEP_WINDOW_HOURS`, 48).
    pub sweep_window: Duration,
}

impl Limits {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Limits {
            // 12 attempts from 2 s doubling (capped at 15 min): about 47 minutes in all, so
            // a send outlasts a Meta incident of 15 minutes and more (CONTRACT.md said 5).
            job_max_attempts: parse_num(&get, "JOB_MAX_ATTEMPTS", 12)?.max(1),
            token_refresh_horizon: Duration::hours(parse_num(&get, "TOKEN_REFRESH_HORIZON_HOURS", 7 * 24)?),
            job_retry_base_delay_ms: parse_num(&get, "JOB_RETRY_BASE_DELAY_MS", 2000)?,
            webhook_ack_budget: std::time::Duration::from_millis(parse_num(&get, "WEBHOOK_ACK_BUDGET_MS", 1000)?),
            job_max_age: Duration::minutes(parse_num(&get, "JOB_MAX_AGE_MINUTES", 60)?.max(1)),
            send_rate_per_account: parse_num(&get, "SEND_RATE_PER_ACCOUNT", 20)?.max(1),
            graph_timeout: std::time::Duration::from_millis(parse_num(&get, "GRAPH_TIMEOUT_MS", 10_000)?.max(1)),
            send_confirm_wait: Duration::seconds(parse_num(&get, "SEND_CONFIRM_WAIT_SECS", 300)?.max(1)),
            raw_event_ttl: Duration::days(parse_num(&get, "RAW_EVENT_TTL_DAYS", 30)?.max(1)),
            webhook_concurrency: parse_num(&get, "WEBHOOK_CONCURRENCY", 32)?.max(1),
            job_lease: Duration::seconds(parse_num(&get, "JOB_LEASE_SECS", 300)?.max(1)),
            history: HistoryLimits {
                import_window: Duration::days(parse_num(&get, "HISTORY_IMPORT_DAYS", 90)?.max(1)),
                max_conversations: parse_num(&get, "HISTORY_IMPORT_MAX_CONVERSATIONS", 1000)?.max(1),
                calls_per_second: parse_num(&get, "HISTORY_CALLS_PER_SECOND", 2.0f64)?.clamp(0.01, 1000.0),
                sweep_window: Duration::hours(parse_num(&get, "SWEEP_WINDOW_HOURS", 48)?.max(1)),
            },
            event_retention: Duration::hours(parse_num(&get, "EVENT_RETENTION_HOURS", 24)?.max(1)),
            event_stream_buffered: parse_bool(&get, "EVENT_STREAM_BUFFERED")?,
            inbox_index_shards: parse_shards(&get, "INBOX_INDEX_SHARDS")?,
            event_log_shards: parse_shards(&get, "EVENT_LOG_SHARDS")?,
        })
    }
}

pub(super) fn parse_num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Malformed { name, why: e.to_string() }),
    }
}

/// A shard count: 1 (the default) to 128.
fn parse_shards(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<u32, ConfigError> {
    match parse_num(get, name, 1u32)? {
        n @ 1..=128 => Ok(n),
        n => Err(ConfigError::Malformed { name, why: format!("{n} is not between 1 and 128") }),
    }
}

pub(super) fn parse_bool(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(v) => Err(ConfigError::Malformed { name, why: format!("{v:?} is not true or false") }),
    }
}
