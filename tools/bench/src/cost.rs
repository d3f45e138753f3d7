//! Dollars per million of each path at published us-east-1 prices (on-demand, no free tier),
//! from the work measured: DynamoDB request units (the product's and the relay's), SQS
//! requests (sends counted; Lambda's receive and delete of each job), KMS requests, Lambda
//! requests and GB-seconds (the measured time at the template's memory sizes, arm64), the
//! HTTP API's requests, EventBridge events.

use std::time::Duration;

use crate::aws_work::{Entry, PathWork};

/// us-east-1, on-demand, as published (DynamoDB's after its November 2024 cut).
pub mod price {
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625e-6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125e-6;
    pub const SQS_REQUEST: f64 = 0.40e-6;
    pub const KMS_REQUEST: f64 = 0.03e-4;
    pub const LAMBDA_REQUEST: f64 = 0.20e-6;
    /// arm64 (the template's `Architectures`).
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// HTTP API, first 300 million a month.
    pub const HTTP_API_REQUEST: f64 = 1.00e-6;
    pub const EVENTBRIDGE_EVENT: f64 = 1.00e-6;
}

/// The template's memory sizes: the webhook's 512 MB, every other function's 256 MB.
const WEBHOOK_GB: f64 = 0.5;
const FUNCTION_GB: f64 = 0.25;

/// What one path costs, by service, in dollars per million.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cost {
    pub dynamodb: f64,
    pub sqs: f64,
    pub kms: f64,
    pub lambda: f64,
    pub http_api: f64,
    pub eventbridge: f64,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.dynamodb + self.sqs + self.kms + self.lambda + self.http_api + self.eventbridge
    }
}

/// Lambda's bill for one invocation of `took` at `gb`, rounded up to the millisecond.
fn lambda(took: Duration, gb: f64) -> f64 {
    let billed_ms = (took.as_secs_f64() * 1000.0).ceil().max(1.0);
    price::LAMBDA_REQUEST + billed_ms / 1000.0 * gb * price::LAMBDA_GB_SECOND
}

pub fn of(path: &PathWork) -> Cost {
    let work = &path.work;
    let kms = ["Decrypt", "Encrypt", "GenerateDataKey"].iter().map(|op| work.count(op)).sum::<usize>();
    let sqs_sends = work.count("SendMessage") + work.count("SendMessageBatch");
    let (entry_gb, behind_api) = match path.entry {
        Entry::Webhook => (WEBHOOK_GB, true),
        Entry::InboxApi => (FUNCTION_GB, true),
        Entry::Schedule => (FUNCTION_GB, false),
    };
    let per_job = if path.jobs > 0 { path.jobs_elapsed / path.jobs as u32 } else { Duration::ZERO };
    let cost = Cost {
        dynamodb: (work.write_units + path.relay.write_units) * price::DYNAMODB_WRITE_UNIT
            + (work.read_units + path.relay.read_units) * price::DYNAMODB_READ_UNIT,
        sqs: (sqs_sends + 2 * path.jobs) as f64 * price::SQS_REQUEST,
        kms: kms as f64 * price::KMS_REQUEST,
        lambda: lambda(path.elapsed, entry_gb) + path.jobs as f64 * lambda(per_job, FUNCTION_GB),
        http_api: if behind_api { price::HTTP_API_REQUEST } else { 0.0 },
        eventbridge: path.events as f64 * price::EVENTBRIDGE_EVENT,
    };
    scale(cost, 1e6)
}

fn scale(c: Cost, by: f64) -> Cost {
    Cost {
        dynamodb: c.dynamodb * by,
        sqs: c.sqs * by,
        kms: c.kms * by,
        lambda: c.lambda * by,
        http_api: c.http_api * by,
        eventbridge: c.eventbridge * by,
    }
}
