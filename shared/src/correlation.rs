//! A correlation id that follows work from the request that started it, through the jobs
//! queue (an SQS message attribute), into the job's logs and the jobs it queues in turn: a
//! reply's send, its retries and its confirmation all log the id of the API request that
//! queued it.

use std::future::Future;

/// The SQS message attribute that carries it.
pub const ATTRIBUTE: &str = "correlationId";

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// Runs `work` with `id` as the correlation id (none: runs it as it is).
pub async fn scope<F: Future>(id: Option<String>, work: F) -> F::Output {
    match id {
        Some(id) => CORRELATION_ID.scope(id, work).await,
        None => work.await,
    }
}

/// The correlation id of the work running now, if any.
pub fn current() -> Option<String> {
    CORRELATION_ID.try_with(Clone::clone).ok()
}
