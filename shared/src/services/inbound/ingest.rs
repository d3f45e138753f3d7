//! A webhook's items, worked on concurrently within a time budget; what the budget leaves,
//! and what fails, goes to the jobs queue, so the answer to Meta is fast and only ever says
//! 200 once every item is stored or durably queued.
//!
//! Items are grouped in lanes, one per conversation (account, customer), run up to
//! `webhook_concurrency` at a time; a lane's items run in order, so a reaction never
//! overtakes the message it names. A lane stops when the deadline passes or an item fails:
//! the rest of the lane is queued, still in order. A queued item is delivered at most
//! `ITEM_MAX_DELIVERIES` times, then kept raw.

use std::time::Instant;

use chrono::Duration;
use futures_util::StreamExt;

use crate::error::AppError;
use crate::meta::webhook::{Envelope, Item};
use crate::ports::{QueueMessage, QueuedItem, QueuedItems};

use super::{Inbound, Outcome};
use crate::services::backoff::retry_delay;

/// A queue message holds at most this much item JSON (SQS takes 256 KiB per message).
const SPILL_BYTES: usize = 200 * 1024;

/// An item still in flight this long after the deadline is abandoned and queued: storing is
/// idempotent (by Meta id), so one that did land is recognised as a duplicate later.
const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// A queued webhook item is delivered at most this many times (SQS's own redeliveries of a
/// message that failed aside): one that is still neither stored nor otherwise done after its
/// last delivery, failed or cut off by the time budget alike, is kept raw instead of queued
/// once more, so a burst never circulates for ever.
const ITEM_MAX_DELIVERIES: u32 = 3;

/// What one lane left undone.
#[derive(Default)]
struct LaneEnd {
    report: AcceptReport,
    /// Not reached before the deadline: queued to run at once.
    unreached: Vec<Item>,
    /// From the item that failed on: queued to be tried again after a backoff.
    failed: Vec<Item>,
    error: Option<AppError>,
}

impl Inbound {
    /// Accepts a verified webhook within the configured budget (`WEBHOOK_ACK_BUDGET_MS`).
    pub async fn accept_webhook(&self, envelope: Envelope) -> Result<AcceptReport, AppError> {
        self.accept_webhook_until(envelope, Instant::now() + self.ports.config.limits.webhook_ack_budget).await
    }

    /// Accepts every item of a verified webhook, working on them until `deadline` and
    /// queueing the rest. Fails (so Meta redelivers; de-duplication makes that harmless)
    /// only when something could be neither stored nor queued.
    pub async fn accept_webhook_until(&self, envelope: Envelope, deadline: Instant) -> Result<AcceptReport, AppError> {
        let kept = futures_util::stream::iter(envelope.rejected)
            .map(|rejected| {
                tracing::warn!(reason = %rejected.reason, "webhook item kept raw");
                self.keep_raw_rejected(rejected)
            })
            .buffer_unordered(self.ports.config.limits.webhook_concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut report = self.ingest(envelope.items, deadline, 0).await?;
        report.ignored += envelope.ignored;
        for result in kept {
            result?;
            report.kept_raw += 1;
        }
        Ok(report)
    }

    /// Works on `items` (tried `tries` times before: 0 from the webhook, else the queue
    /// deliveries so far) until `deadline`; queues what is left, or keeps it raw after its
    /// last delivery. `Err` only when the queue or the store refused what had to go there.
    async fn ingest(&self, items: Vec<Item>, deadline: Instant, tries: u32) -> Result<AcceptReport, AppError> {
        let mut lanes = lanes(items);
        let ends = match lanes.len() {
            // Most deliveries are one thread's: run inline, not as a task of its own (a heap
            // block the size of the whole item's work, each delivery).
            1 => vec![self.run_lane(lanes.remove(0), deadline).await],
            _ => {
                futures_util::stream::iter(lanes)
                    .map(|lane| self.run_lane(lane, deadline))
                    .buffer_unordered(self.ports.config.limits.webhook_concurrency)
                    .collect::<Vec<_>>()
                    .await
            }
        };
        let (mut report, mut unreached, mut failed) = (AcceptReport::default(), Vec::new(), Vec::new());
        for end in ends {
            report.add(&end.report);
            if let Some(e) = &end.error {
                tracing::warn!(error = %e, items = end.failed.len(), tries, "webhook items failed; queued again");
            }
            unreached.extend(end.unreached);
            failed.extend(end.failed);
        }
        if tries >= ITEM_MAX_DELIVERIES {
            // Out of deliveries: kept raw rather than queued for ever.
            for item in unreached.iter().chain(&failed) {
                self.keep_raw(&item.route_key(), "processing failed repeatedly", &item.raw).await?;
                report.kept_raw += 1;
            }
            return Ok(report);
        }
        report.deferred += unreached.len() + failed.len();
        self.spill(unreached, tries + 1, Duration::zero()).await?;
        if !failed.is_empty() {
            let limits = &self.ports.config.limits;
            let delay = retry_delay(limits.job_retry_base_delay_ms, tries + 1, self.ports.jitter.sample(), None);
            self.spill(failed, tries + 1, delay).await?;
        }
        Ok(report)
    }

    async fn run_lane(&self, lane: Vec<Item>, deadline: Instant) -> LaneEnd {
        let mut end = LaneEnd::default();
        let mut items = lane.into_iter();
        while let Some(item) = items.next() {
            if Instant::now() >= deadline {
                end.unreached.push(item);
                end.unreached.extend(items);
                break;
            }
            let hard_stop = tokio::time::Instant::from_std(deadline + IN_FLIGHT_GRACE);
            match tokio::time::timeout_at(hard_stop, self.accept_item(&item)).await {
                Err(_) => {
                    end.unreached.push(item);
                    end.unreached.extend(items);
                    break;
                }
                Ok(Ok(outcome)) => end.report.count(outcome),
                Ok(Err(e)) => {
                    end.error = Some(e);
                    end.failed.push(item);
                    end.failed.extend(items);
                    break;
                }
            }
        }
        end
    }

    /// Queues items as `PROCESS_WEBHOOK` messages of at most `SPILL_BYTES` each, all at once.
    async fn spill(&self, items: Vec<Item>, attempt: u32, delay: Duration) -> Result<(), AppError> {
        let mut messages = Vec::new();
        let mut current = QueuedItems { attempt, ..Default::default() };
        let mut bytes = 0;
        for item in items {
            let size = item.raw.to_string().len() + item.entry_id.len() + 64;
            if bytes + size > SPILL_BYTES && !current.items.is_empty() {
                let next = QueuedItems { attempt, ..Default::default() };
                messages.push(std::mem::replace(&mut current, next));
                bytes = 0;
            }
            bytes += size;
            current.items.push(QueuedItem { entry_id: item.route_key(), entry_time: item.entry_time, item: item.raw });
        }
        if !current.items.is_empty() {
            messages.push(current);
        }
        let sent = futures_util::future::join_all(messages.iter().map(|m| {
            let message = QueueMessage::ProcessWebhook(m.clone());
            async move { self.ports.queue.enqueue(&message, delay).await }
        }))
        .await;
        for result in sent {
            result.map_err(|e| AppError::unavailable(format!("webhook items could not be queued: {e}")))?;
        }
        Ok(())
    }

    /// The `PROCESS_WEBHOOK` job: the queued items, worked on until `deadline`.
    pub(in crate::services) async fn process_queued_items(
        &self,
        queued: &QueuedItems,
        deadline: Instant,
    ) -> Result<AcceptReport, AppError> {
        let queued = queued.clone();
        let mut items = Vec::new();
        let mut report = AcceptReport::default();
        let older = queued.item.clone().map(|item| QueuedItem {
            entry_id: queued.entry_id.clone().unwrap_or_else(|| "unknown".into()),
            entry_time: queued.entry_time,
            item,
        });
        for q in queued.items.into_iter().chain(older) {
            match Item::from_raw(&q.entry_id, q.entry_time, q.item.clone()) {
                Ok(item) => items.push(item),
                Err(_) => {
                    self.keep_raw(&q.entry_id, "unreadable queued webhook item", &q.item).await?;
                    report.kept_raw += 1;
                }
            }
        }
        let done = self.ingest(items, deadline, queued.attempt).await?;
        report.add(&done);
        Ok(report)
    }
}

/// What became of a webhook's items.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AcceptReport {
    pub stored: usize,
    /// Reactions, reads, edits and deletions applied to stored messages.
    pub updated: usize,
    pub duplicates: usize,
    /// Unknown account, unreadable, or a kind not turned into a message: kept raw for replay.
    pub kept_raw: usize,
    /// Failed for now, or not reached within the time budget: queued to be processed.
    pub deferred: usize,
    /// Changes kept until the message they name arrives.
    pub waiting: usize,
    /// Of no use to an inbox (referrals without a message, thread handovers, plugin users):
    /// acknowledged, kept nowhere.
    pub ignored: usize,
}

impl AcceptReport {
    /// The delivery's counts and how long it took to answer, as metrics.
    pub fn emit_metrics(&self, ack_time: std::time::Duration) {
        use crate::metrics::Unit::{Count, Milliseconds};
        let count = |n: usize| n as f64;
        crate::metrics::emit(
            &[],
            &[
                ("WebhookItemsStored", count(self.stored), Count),
                ("WebhookItemsUpdated", count(self.updated), Count),
                ("WebhookDuplicates", count(self.duplicates), Count),
                ("WebhookItemsKeptRaw", count(self.kept_raw), Count),
                ("WebhookItemsQueued", count(self.deferred), Count),
                ("WebhookItemsWaiting", count(self.waiting), Count),
                ("WebhookItemsIgnored", count(self.ignored), Count),
                ("WebhookAckTime", ack_time.as_secs_f64() * 1000.0, Milliseconds),
            ],
        );
    }
}

impl AcceptReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Stored => self.stored += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::KeptRaw | Outcome::NoAccount => self.kept_raw += 1,
            Outcome::Waiting => self.waiting += 1,
            Outcome::Ignored => self.ignored += 1,
        }
    }

    fn add(&mut self, other: &AcceptReport) {
        self.stored += other.stored;
        self.updated += other.updated;
        self.duplicates += other.duplicates;
        self.kept_raw += other.kept_raw;
        self.deferred += other.deferred;
        self.waiting += other.waiting;
        self.ignored += other.ignored;
    }
}

/// Items grouped by conversation (account, customer), each group in arrival order.
fn lanes(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut index: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
    let mut lanes: Vec<Vec<Item>> = Vec::new();
    for item in items {
        let key = (item.route_key(), item.event.thread_key().into_owned());
        let at = *index.entry(key).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        lanes[at].push(item);
    }
    lanes
}
