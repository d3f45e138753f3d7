//! Sends to one account are spaced out so a flood of replies stays under Meta's per-account
//! limits (about 100 text sends/s with Instagram Login, 300/s with a Page; 10/s for audio
//! and video) instead of running into throttling. Per process: with the job processor's
//! reserved concurrency `C` (template parameter) an account gets at most `C × rate` sends/s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Each account's next free send slot.
#[derive(Default)]
pub struct Pacer {
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// Takes the account's next slot at `per_second` sends a second: how long to wait for it.
    pub fn reserve(&self, account: &str, per_second: u32, now: Instant) -> Duration {
        let spacing = Duration::from_secs(1) / per_second.max(1);
        let mut slots = self.next_slot.lock().expect("pacer poisoned");
        if slots.len() > 10_000 {
            slots.retain(|_, slot| *slot > now);
        }
        let slot = slots.get(account).copied().filter(|s| *s > now).unwrap_or(now);
        slots.insert(account.to_owned(), slot + spacing);
        slot - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_one_account_are_spaced_and_other_accounts_do_not_wait() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let waits: Vec<_> = (0..4).map(|_| pacer.reserve("acc_a", 20, t0)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 50, 100, 150], "20 a second: one every 50 ms");
        assert_eq!(pacer.reserve("acc_b", 20, t0), Duration::ZERO, "another account has its own slots");
        // Once the queue of slots has passed, no wait.
        assert_eq!(pacer.reserve("acc_a", 20, t0 + Duration::from_secs(1)), Duration::ZERO);
    }
}
