//! Metrics as CloudWatch Embedded Metric Format: one JSON line on stdout per observation,
//! which CloudWatch Logs turns into metrics in the `UnifiedInbox/Meta` namespace. No API
//! call, nothing to fail. On only inside Lambda (`enable` at start-up); the local server's
//! console stays readable.
//!
//! | metric | unit | dimensions | from |
//! |---|---|---|---|
//! | `WebhookItemsStored`, `WebhookItemsUpdated`, `WebhookDuplicates`, `WebhookItemsKeptRaw`, `WebhookItemsQueued`, `WebhookItemsWaiting` | Count | Function | each webhook delivery |
//! | `WebhookAckTime` | Milliseconds | Function | each webhook delivery |
//! | `JobsHandled` | Count | JobType, Outcome | each queue message handled |
//! | `SendsFailed` | Count | ErrorCode | each send that failed for good |
//! | `SendRetries` | Count | Function | each send queued again after a transient failure |
//! | `QueueAge` | Milliseconds | Function | oldest record of each SQS batch, since it was sent |
//! | `TokensDue`, `TokensRefreshed`, `TokenRefreshFailed`, `TokensReauthRequired`, `JobsRequeued` | Count | Function | each maintenance run |

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "UnifiedInbox/Meta";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns metric lines on (the Lambda functions call it at start-up).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF line: `metrics` under one set of `dimensions` (`Function` is added: the Lambda
/// function's name).
pub fn line(dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)], timestamp_ms: i64) -> Value {
    // Read once: the name does not change for the life of the process.
    static FUNCTION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let function =
        FUNCTION.get_or_init(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned()));
    let mut root = Map::new();
    let mut names: Vec<&str> = vec!["Function"];
    root.insert("Function".into(), json!(function));
    for (name, value) in dimensions {
        names.push(name);
        root.insert((*name).into(), json!(value));
    }
    let definitions: Vec<Value> =
        metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()})).collect();
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": definitions}],
        }),
    );
    Value::Object(root)
}

/// Writes one EMF line to stdout, when enabled.
pub fn emit(dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)]) {
    if ENABLED.load(Ordering::Relaxed) && !metrics.is_empty() {
        println!("{}", line(dimensions, metrics, chrono::Utc::now().timestamp_millis()));
    }
}

/// Counts, all under the same dimensions.
pub fn counts(dimensions: &[(&str, &str)], counts: &[(&str, usize)]) {
    let metrics: Vec<(&str, f64, Unit)> = counts.iter().map(|(n, c)| (*n, *c as f64, Unit::Count)).collect();
    emit(dimensions, &metrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_what_cloudwatch_reads_as_embedded_metrics() {
        let l = line(&[("Outcome", "Succeeded")], &[("JobsHandled", 1.0, Unit::Count)], 1_700_000_000_000);
        let aws = &l["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000i64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function", "Outcome"]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "JobsHandled", "Unit": "Count"}]));
        // Every dimension and metric named in the directive is a member of the root.
        assert_eq!((l["Outcome"].as_str(), l["JobsHandled"].as_f64()), (Some("Succeeded"), Some(1.0)));
        assert!(l["Function"].is_string());
    }
}
