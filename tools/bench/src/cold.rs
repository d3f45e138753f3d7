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

/// `None` when the local AWS server is not running.
pub async fn measure(bin_dir: &Path) -> anyhow::Result<Option<Vec<ColdStart>>> {
    let Some(rig) = FunctionRig::start().await else { return Ok(None) };
    let mut env = rig.env();
    // The relay's bus: the account's default one (every account has it).
    env.push(("EVENT_BUS_NAME".into(), "default".into()));
    let mut out = Vec::new();
    for (function, event_file) in FUNCTIONS {
        let binary = bin_dir.join(function);
        let size_bytes = std::fs::metadata(&binary)?.len();
        let events = [event(event_file)];
        let (mut polls, mut answers, mut rss) = (Vec::new(), Vec::new(), None);
        for _ in 0..RUNS {
            let timed = invoke_timed(&binary, &env, &events).await;
            polls.push(timed.first_poll);
            answers.push(timed.answered);
            rss = rss.max(timed.peak_rss_kib);
        }
        out.push(ColdStart {
            function,
            first_poll: median(polls),
            answered: median(answers),
            size_bytes,
            peak_rss_kib: rss,
        });
    }
    drop(rig.graph.take_refusals());
    Ok(Some(out))
}
