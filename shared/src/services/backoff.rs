//! When a failed job is tried again.

use chrono::Duration;

/// SQS delays top out at 15 minutes; our own schedule stays under it. Meta's own
/// "regain access in N minutes" is honoured even when longer.
pub const MAX_BACKOFF: Duration = Duration::minutes(15);

/// The delay before attempt `attempt + 1`, after `attempt` failed ones (1-based):
/// `base * 2^(attempt-1)`, capped, with "equal jitter" (half fixed, half random) so a burst of
/// failures does not retry in lockstep; never sooner than Meta's `retry_after`.
pub fn retry_delay(base_ms: u64, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
    let capped = exp.min(MAX_BACKOFF.num_milliseconds() as u64) as f64;
    let jittered = capped / 2.0 + capped / 2.0 * jitter.clamp(0.0, 1.0);
    let delay = Duration::milliseconds(jittered.round() as i64);
    retry_after.map_or(delay, |r| delay.max(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_attempt_with_half_of_it_jittered() {
        let ms = |attempt, jitter| retry_delay(2000, attempt, jitter, None).num_milliseconds();
        assert_eq!([ms(1, 0.0), ms(2, 0.0), ms(3, 0.0), ms(4, 0.0)], [1000, 2000, 4000, 8000]);
        assert_eq!([ms(1, 1.0), ms(2, 1.0), ms(3, 0.5)], [2000, 4000, 6000]);
    }

    #[test]
    fn is_capped_but_honours_metas_longer_wait() {
        assert_eq!(retry_delay(2000, 40, 1.0, None), MAX_BACKOFF);
        assert_eq!(retry_delay(2000, 1, 0.0, Some(Duration::minutes(3))), Duration::minutes(3));
        assert_eq!(retry_delay(2000, 1, 0.0, Some(Duration::minutes(30))), Duration::minutes(30));
    }
}
