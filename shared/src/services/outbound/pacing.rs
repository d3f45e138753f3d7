//! Sends to one account are spaced out so a flood of replies stays under Meta's per-account
//! limits (about 100 text sends/s with Instagram Login, 300/s with a Page; 10/s for audio
//! and video) instead of running into throttling. Per process: with the job processor's
//! reserved concurrency `C` (template parameter) an account gets at most `C × rate` sends/s.
//!
//! Meta's usage headers on each answer (`meta::usage`) tighten that before Meta throttles:
//! above 80 % of a limit the account sends at half its rate, above 90 % at a quarter, and a
//! wait Meta names (`estimated_time_to_regain_access`) holds its sends until it has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::ports::Usage;

/// Use above which an account's sends slow down.
pub const SLOW_DOWN_ABOVE_PERCENT: f64 = 80.0;

/// Each account's next free send slot, and what Meta's usage headers last said of it.
#[derive(Default)]
pub struct Pacer {
    next_slot: Mutex<HashMap<String, Instant>>,
    pressure: Mutex<HashMap<String, Pressure>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Pressure {
    /// The rate is divided by this (1: full rate).
    divisor: u32,
    hold_until: Option<DateTime<Utc>>,
}

impl Pacer {
    /// Takes the account's next slot at `per_second` sends a second (less under pressure):
    /// how long to wait for it.
    pub fn reserve(&self, account: &str, per_second: u32, now: Instant) -> Duration {
        let divisor = self.pressure.lock().expect("pacer poisoned").get(account).map_or(1, |p| p.divisor);
        let spacing = Duration::from_secs(1) * divisor / per_second.max(1);
        let mut slots = self.next_slot.lock().expect("pacer poisoned");
        if slots.len() > 10_000 {
            slots.retain(|_, slot| *slot > now);
        }
        let slot = slots.get(account).copied().filter(|s| *s > now).unwrap_or(now);
        slots.insert(account.to_owned(), slot + spacing);
        slot - now
    }

    /// What Meta's usage headers said on an answer for `account` at `now`; the latest word
    /// replaces the one before (use comes down again).
    pub fn observe(&self, account: &str, usage: &Usage, now: DateTime<Utc>) {
        let divisor = match usage.percent {
            p if p > 90.0 => 4,
            p if p > SLOW_DOWN_ABOVE_PERCENT => 2,
            _ => 1,
        };
        let hold_until =
            (usage.regain_minutes > 0).then(|| now + chrono::Duration::minutes(usage.regain_minutes as i64));
        let mut pressure = self.pressure.lock().expect("pacer poisoned");
        if pressure.len() > 10_000 {
            pressure.retain(|_, p| p.divisor > 1 || p.hold_until.is_some_and(|t| t > now));
        }
        pressure.insert(account.to_owned(), Pressure { divisor, hold_until });
    }

    /// Until when Meta asked the account's sends to wait, if that is still ahead of `now`.
    pub fn held_until(&self, account: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pressure.lock().expect("pacer poisoned").get(account).and_then(|p| p.hold_until).filter(|t| *t > now)
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

    #[test]
    fn usage_near_the_limit_slows_the_account_and_a_named_wait_holds_it() {
        let pacer = Pacer::default();
        let (t0, now) = (Instant::now(), DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        // The wait between two sends taken at once, a minute after the last.
        let minute = std::cell::Cell::new(0);
        let spacing = |pacer: &Pacer, account: &str| {
            minute.set(minute.get() + 60);
            let t = t0 + Duration::from_secs(minute.get());
            pacer.reserve(account, 20, t);
            pacer.reserve(account, 20, t).as_millis()
        };
        pacer.observe("acc_a", &Usage { percent: 79.0, regain_minutes: 0 }, now);
        assert_eq!(spacing(&pacer, "acc_a"), 50, "under 80 %: the full rate");
        pacer.observe("acc_b", &Usage { percent: 85.0, regain_minutes: 0 }, now);
        assert_eq!(spacing(&pacer, "acc_b"), 100, "above 80 %: half");
        pacer.observe("acc_c", &Usage { percent: 96.0, regain_minutes: 3 }, now);
        assert_eq!(spacing(&pacer, "acc_c"), 200, "above 90 %: a quarter");
        let until = now + chrono::Duration::minutes(3);
        assert_eq!(pacer.held_until("acc_c", now), Some(until));
        assert_eq!(pacer.held_until("acc_c", until), None, "waited out");
        assert_eq!(pacer.held_until("acc_a", now), None);
        pacer.observe("acc_c", &Usage { percent: 10.0, regain_minutes: 0 }, now);
        assert_eq!((pacer.held_until("acc_c", now), spacing(&pacer, "acc_c")), (None, 50), "use came down");
    }
}
