//! How long a Lambda invocation may still work, for the webhook and the job processor alike.

/// How long a Lambda invocation may still work: its time left less what answering needs
/// (queueing the rest of a webhook, reporting a batch's failures).
pub fn time_to_work(ctx: &lambda_runtime::Context) -> std::time::Duration {
    const ANSWER_RESERVE: std::time::Duration = std::time::Duration::from_secs(2);
    let left = ctx.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    left.saturating_sub(ANSWER_RESERVE)
}
