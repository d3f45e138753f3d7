//! CloudWatch Logs, which the dollars leave out: the bytes each function writes for one warm
//! invocation of the event a path begins with (its release binary through the fake Runtime
//! API on the local AWS server: a run answering the event twice, less a run answering it
//! once, so the start's own lines cancel out), plus the platform records Lambda writes for
//! every invocation in the template's JSON log format; dollars per million invocations at the
//! ingestion price.

use std::path::Path;

use inbox_shared::testing::local_aws::{CUSTOMER, EVENTS_ACCOUNT, EVENTS_CONVERSATION, EVENTS_ORG, FunctionRig};
use inbox_shared::testing::runtime_api::{Invocation, event, invoke};
use inbox_shared::testing::seed;

/// us-east-1, CloudWatch Logs Standard, per GB ingested (Lambda's first tier).
pub const PRICE_PER_GB: f64 = 0.50;

/// What each invocation's log costs, by the function a path invokes.
pub struct Logged {
    pub what: &'static str,
    pub function: &'static str,
    pub event: &'static str,
    /// The function's own lines (its log line, its metrics line), for one warm invocation.
    pub app_bytes: usize,
}

impl Logged {
    /// The function's bytes and the platform's, per invocation.
    pub fn bytes(&self) -> usize {
        self.app_bytes + platform_bytes()
    }

    /// Dollars per million invocations.
    pub fn per_million(&self) -> f64 {
        self.bytes() as f64 * 1e6 / 1e9 * PRICE_PER_GB
    }
}

/// The functions a path invokes and the event each is measured with.
const INVOKED: [(&str, &str, &str); 5] = [
    ("inbound DM", "webhook", "webhook/receive-text.json"),
    ("reply: the API's send", "inbox-api", "inbox-api/send-text.json"),
    ("a batch of two jobs (sender actions)", "job-processor", "job-processor/sqs-sender-actions.json"),
    ("token refresh run", "token-refresh", "token-refresh/scheduled.json"),
    ("relay batch", "event-relay", "event-relay/stream-batch.json"),
];

/// Lambda's `platform.start` and `platform.report` records for one invocation, as its JSON log
/// format writes them (the telemetry schema's fields; a request id is a UUID).
fn platform_bytes() -> usize {
    let (time, id) = ("2026-12-04T12:00:00.000Z", "c6af9ac6-7b61-11e6-9a41-93e812345678");
    let start =
        format!(r#"{{"time":"{time}","type":"platform.start","record":{{"requestId":"{id}","version":"$LATEST"}}}}"#);
    let metrics = r#"{"durationMs":12.345,"billedDurationMs":13,"memorySizeMB":256,"maxMemoryUsedMB":12}"#;
    let report = format!(
        r#"{{"time":"{time}","type":"platform.report","record":{{"requestId":"{id}","metrics":{metrics},"status":"success"}}}}"#
    );
    start.len() + 1 + report.len() + 1
}

/// `None` when the local AWS server is not running.
pub async fn measure(bin_dir: &Path) -> anyhow::Result<Option<Vec<Logged>>> {
    let Some(rig) = FunctionRig::start().await else { return Ok(None) };
    rig.connect_events_account("EAAB-bench-logs").await;
    // The conversation the DM lands in and the API's send goes to.
    seed::conversation_with_inbound(&rig.adapters, EVENTS_ORG, EVENTS_ACCOUNT, EVENTS_CONVERSATION, CUSTOMER, "hi")
        .await;
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".to_owned(), "default".to_owned()));
    let mut out = Vec::new();
    for (what, function, file) in INVOKED {
        let binary = bin_dir.join(function);
        let once = invoke(&binary, &env, &[event(file)]).await.logs.len();
        let twice = invoke(&binary, &env, &[event(file), event(file)]).await;
        // An error's lines are not what the path logs.
        for answer in &twice.invocations {
            let Invocation::Response(answer) = answer else { anyhow::bail!("{function} failed {file}: {answer:?}") };
            let status = answer["statusCode"].as_u64().unwrap_or(200);
            anyhow::ensure!(status < 300, "{function} answered {file} with {status}: {answer}");
        }
        let twice = twice.logs.len();
        out.push(Logged { what, function, event: file, app_bytes: twice.saturating_sub(once) });
    }
    drop(rig.graph.take_refusals());
    Ok(Some(out))
}
