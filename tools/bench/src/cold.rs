//! Cold start of each Lambda function (release build) through a fake Runtime API, on the
//! local AWS-compatible server, against the floor binary (`lambda-floor`): time to its first
//! poll (init done) and to its answer to one event from `events/`, binary size, peak memory.

use std::path::Path;
use std::time::Duration;

use inbox_shared::testing::local_aws::FunctionRig;
use inbox_shared::testing::runtime_api::{event, invoke_timed};

/// How many cold starts each figure is the median of.
const RUNS: usize = 5;

pub struct ColdStart {
    pub function: &'static str,
    pub first_poll: Duration,
    pub answered: Duration,
    pub size_bytes: u64,
    pub peak_rss_kib: Option<u64>,
}

/// The functions and the event each answers.
pub const FUNCTIONS: [(&str, &str); 6] = [
    ("lambda-floor", "webhook/verify.json"),
    ("webhook", "webhook/verify.json"),
    ("inbox-api", "inbox-api/list-conversations.json"),
    ("job-processor", "job-processor/sqs-sender-actions.json"),
    ("token-refresh", "token-refresh/scheduled.json"),
    ("event-relay", "event-relay/stream-batch.json"),
];

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

/// The row of the webhook started with its secrets in the plain environment (no SSM read).
pub const PLAIN_SECRETS: &str = "webhook, secrets in plain env (no SSM read)";

/// `RUNS` cold starts of `binary` answering `event_file`, as the row `function`.
async fn measure_one(
    bin_dir: &Path,
    binary: &str,
    function: &'static str,
    event_file: &str,
    env: &[(String, String)],
) -> anyhow::Result<ColdStart> {
    let binary = bin_dir.join(binary);
    let size_bytes = std::fs::metadata(&binary)?.len();
    let events = [event(event_file)];
    let (mut polls, mut answers, mut rss) = (Vec::new(), Vec::new(), None);
    for _ in 0..RUNS {
        let timed = invoke_timed(&binary, env, &events).await;
        polls.push(timed.first_poll);
        answers.push(timed.answered);
        rss = rss.max(timed.peak_rss_kib);
    }
    Ok(ColdStart { function, first_poll: median(polls), answered: median(answers), size_bytes, peak_rss_kib: rss })
}

/// `None` when the local AWS server is not running.
pub async fn measure(bin_dir: &Path) -> anyhow::Result<Option<Vec<ColdStart>>> {
    let Some(rig) = FunctionRig::start().await else { return Ok(None) };
    // The relay's bus: the account's default one (every account has it).
    let bus = ("EVENT_BUS_NAME".to_owned(), "default".to_owned());
    let (mut env, mut plain) = (rig.env(), rig.plain_env());
    env.push(bus.clone());
    plain.push(bus);
    let mut out = Vec::new();
    for (function, event_file) in FUNCTIONS {
        out.push(measure_one(bin_dir, function, function, event_file, &env).await?);
    }
    // What the secrets' Parameter Store read adds: the webhook again with them in plain.
    let (webhook, verify) = FUNCTIONS[1];
    out.push(measure_one(bin_dir, webhook, PLAIN_SECRETS, verify, &plain).await?);
    drop(rig.graph.take_refusals());
    Ok(Some(out))
}
