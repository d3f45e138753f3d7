//! Profile lookups queued lately, kept in this process: a burst of DMs into a conversation
//! whose customer is not known yet queues one lookup (one `ENRICH_CONTACT` job), not one a
//! DM. Before, every DM queued its own until the first had run: a queue write each (an SQS
//! send on AWS, a second commit beside the message's on SQLite) and a job each to skip. A
//! lookup that failed for good is queued again by the first DM after `REQUEUE_AFTER`, as
//! every DM did before; one that could not be queued is not remembered.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// How long a queued lookup stands for the conversation's later DMs (it runs in seconds).
const REQUEUE_AFTER: Duration = Duration::seconds(60);
/// Conversations remembered at most; past it, the expired go, then all (a lookup each again).
const MAX_KEPT: usize = 10_000;

#[derive(Default)]
pub(super) struct LookupsQueued {
    /// (organization, conversation) → when its lookup was queued.
    queued: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl LookupsQueued {
    /// Whether a lookup for the conversation should be queued at `now`: none was within
    /// `REQUEUE_AFTER`. A `true` counts as queued from `now`.
    pub(super) fn claim(&self, org: &str, conversation_id: &str, now: DateTime<Utc>) -> bool {
        let mut queued = self.queued.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (org.to_owned(), conversation_id.to_owned());
        if queued.get(&key).is_some_and(|at| now - *at < REQUEUE_AFTER && *at <= now) {
            return false;
        }
        if queued.len() >= MAX_KEPT {
            queued.retain(|_, at| now - *at < REQUEUE_AFTER);
            if queued.len() >= MAX_KEPT {
                queued.clear();
            }
        }
        queued.insert(key, now);
        true
    }

    /// Forgets a claim whose job was not queued: the next DM tries again.
    pub(super) fn release(&self, org: &str, conversation_id: &str) {
        let mut queued = self.queued.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        queued.remove(&(org.to_owned(), conversation_id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn one_claim_a_conversation_until_it_is_old_or_released() {
        let kept = LookupsQueued::default();
        assert!(kept.claim("org_a", "c1", at(0)));
        assert!(!kept.claim("org_a", "c1", at(59)), "the queued lookup stands");
        assert!(kept.claim("org_b", "c1", at(1)), "another organization's conversation is its own");
        assert!(kept.claim("org_a", "c2", at(1)));
        assert!(kept.claim("org_a", "c1", at(60)), "queued again once it is a minute old");
        kept.release("org_a", "c1");
        assert!(kept.claim("org_a", "c1", at(61)), "a lookup that was not queued is not remembered");
        assert!(kept.claim("org_a", "c2", at(-10)), "a clock that went back does not hold it");
    }

    #[test]
    fn a_full_memory_lets_go_of_the_expired_first() {
        let kept = LookupsQueued::default();
        for n in 0..MAX_KEPT - 1 {
            assert!(kept.claim("org_a", &format!("old{n}"), at(0)));
        }
        assert!(kept.claim("org_a", "fresh", at(100)));
        assert!(kept.claim("org_a", "newest", at(100)), "the expired went, not the fresh");
        assert!(!kept.claim("org_a", "fresh", at(101)));
        assert_eq!(kept.queued.lock().unwrap().len(), 2);
    }
}
