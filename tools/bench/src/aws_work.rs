//! AWS work per path on the local AWS server: every DynamoDB, SQS and KMS call the product
//! makes (counted by an SDK interceptor), the rounds it waits for, DynamoDB capacity told
//! from the items by DynamoDB's rules, what the event relay then writes and publishes, and
//! how long the path took in the process (the Lambda time it would bill).

use std::sync::Arc;
use std::time::{Duration, Instant};

use inbox_shared::domain::{Caller, TokenKind};
use inbox_shared::relay::Relay;
use inbox_shared::testing::aws_counter::{CallCounter, Work};
use inbox_shared::testing::counted::{ACCOUNT_ID, Counted, ORG, comment, text};
use inbox_shared::testing::local_aws::{CUSTOMER, LocalAws};
use inbox_shared::testing::stream_pump::{RecordingBus, StreamPump};

/// The function a path enters through: what it bills (memory, the HTTP API in front).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The webhook function (512 MB) behind the HTTP API.
    Webhook,
    /// The inbox API function (256 MB) behind the HTTP API.
    InboxApi,
    /// A scheduled function (256 MB).
    Schedule,
}

/// One path: the work of the function that took it, of the jobs it queued, of the relay.
pub struct PathWork {
    pub name: &'static str,
    pub entry: Entry,
    /// Its dollars-per-million target, if the issue set one.
    pub target: Option<f64>,
    pub work: Work,
    pub relay: Work,
    pub events: usize,
    /// The function's own time on the path (its jobs' apart).
    pub elapsed: Duration,
    pub jobs: usize,
    pub jobs_elapsed: Duration,
}

struct Relaying {
    counter: CallCounter,
    bus: Arc<RecordingBus>,
    _pump: StreamPump,
}

impl Relaying {
    async fn start(aws: &LocalAws, table: &str) -> anyhow::Result<Relaying> {
        let counter = CallCounter::default();
        let ddb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&aws.sdk).interceptor(counter.clone()).build(),
        );
        let log = Arc::new(inbox_shared::adapters::dynamodb::DynamoStore::new(ddb, table));
        let bus = Arc::new(RecordingBus::default());
        let relay = Arc::new(Relay::new(log, bus.clone(), chrono::Duration::hours(24)));
        let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
        let pump = StreamPump::start(&aws.sdk, &endpoint, table, relay).await;
        Ok(Relaying { counter, bus, _pump: pump })
    }

    /// What the relay did since the last take, once it has been quiet for a moment.
    async fn settle(&self) -> (Work, usize) {
        let mut seen = usize::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let now = self.bus.events.lock().unwrap().len();
            if now == seen {
                break;
            }
            seen = now;
        }
        let events = std::mem::take(&mut *self.bus.events.lock().unwrap()).len();
        (self.counter.take(), events)
    }
}

/// Runs `path`, then the jobs it queued, then lets the relay catch up.
/// What a path is: its name, the function it enters through, its cost target.
type Path = (&'static str, Entry, Option<f64>);

async fn measure<F: std::future::Future<Output = ()>>(
    rig: &Counted,
    relaying: &Relaying,
    (name, entry, target): Path,
    path: F,
) -> PathWork {
    let started = Instant::now();
    path.await;
    let elapsed = started.elapsed();
    let work = rig.counter.take();
    let started = Instant::now();
    let jobs = rig.run_queued().await;
    // The queue's last empty receive waits a second: not the jobs' time.
    let jobs_elapsed = started.elapsed().saturating_sub(Duration::from_secs(1));
    let job_work = rig.counter.take();
    let (relay, events) = relaying.settle().await;
    let mut work = work;
    for (op, n) in job_work.calls {
        *work.calls.entry(op).or_default() += n;
    }
    work.write_units += job_work.write_units;
    work.read_units += job_work.read_units;
    PathWork {
        name,
        entry,
        target,
        work,
        relay,
        events,
        elapsed,
        jobs,
        jobs_elapsed: if jobs > 0 { jobs_elapsed } else { Duration::ZERO },
    }
}

/// Each path once: a DM opening a conversation, a DM in it, the same DM again, a comment
/// opening its thread and a reply in it, an agent's reply, a token refresh. `None` without the local AWS server.
pub async fn measure_paths() -> anyhow::Result<Option<Vec<PathWork>>> {
    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return Ok(None) };
    let rig = Counted::start(&aws).await;
    let relaying = Relaying::start(&aws, &rig.table).await?;
    relaying.settle().await;
    rig.counter.take();
    let inbound = &rig.services.inbound;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut out = Vec::new();
    let first = inbound.accept_webhook(text(CUSTOMER, "bench-first", now_ms - 2000));
    out.push(
        measure(&rig, &relaying, ("inbound DM, new conversation", Entry::Webhook, None), async { drop(first.await) })
            .await,
    );
    let second = inbound.accept_webhook(text(CUSTOMER, "bench-second", now_ms - 1000));
    out.push(
        measure(&rig, &relaying, ("inbound DM, existing conversation", Entry::Webhook, Some(4.0)), async {
            drop(second.await)
        })
        .await,
    );
    let again = inbound.accept_webhook(text(CUSTOMER, "bench-second", now_ms - 1000));
    out.push(
        measure(&rig, &relaying, ("the same DM redelivered", Entry::Webhook, None), async { drop(again.await) }).await,
    );
    let opened = inbound.accept_webhook(comment(CUSTOMER, "17865799348089039", None));
    out.push(
        measure(&rig, &relaying, ("inbound comment, new thread", Entry::Webhook, None), async { drop(opened.await) })
            .await,
    );
    let answered = inbound.accept_webhook(comment(CUSTOMER, "17865799348089040", Some("17865799348089039")));
    let path = ("inbound comment, a reply in its thread", Entry::Webhook, None);
    out.push(measure(&rig, &relaying, path, async { drop(answered.await) }).await);
    let conversation = rig.adapters.store.find_conversation(ORG, ACCOUNT_ID, CUSTOMER).await?;
    let conversation = conversation.ok_or_else(|| anyhow::anyhow!("no conversation"))?;
    let agent = Caller { organization_id: ORG.into(), subject: Some("agent-1".into()), admin: false };
    let reply = rig.services.outbound.send_text(&agent, &conversation.id, "On its way", None);
    out.push(
        measure(&rig, &relaying, ("reply (API, then the job)", Entry::InboxApi, Some(5.0)), async {
            drop(reply.await)
        })
        .await,
    );
    // A token due for refresh: the scheduled run renews it.
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let sealed = rig.adapters.store.get_token(ORG, ACCOUNT_ID, TokenKind::Page).await?.map(|t| t.encrypted);
    if let Some(sealed) = sealed {
        let due = inbox_shared::domain::OAuthToken::issued(ORG, ACCOUNT_ID, TokenKind::Page, sealed, Some(soon), soon);
        rig.adapters.store.put_token(&due).await?;
    }
    rig.counter.take();
    let refresh = rig.services.accounts.refresh_due_tokens();
    out.push(
        measure(&rig, &relaying, ("token refresh (one token)", Entry::Schedule, None), async { drop(refresh.await) })
            .await,
    );
    drop(rig.graph.take_refusals());
    Ok(Some(out))
}
