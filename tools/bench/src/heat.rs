//! One organization at 10 000 inbound DMs a second, simulated: each kind of write's units a
//! second and the hottest partition it lands in once DynamoDB has split what it can
//! (`inbox_shared::adapters::dynamodb::heat`), unsharded and at the fewest shards of the
//! conversation lists (`INBOX_INDEX_SHARDS`) and of the event log (`EVENT_LOG_SHARDS`) that
//! keep each under a partition's ceiling.

use inbox_shared::adapters::dynamodb::heat::{Heat, PARTITION_WRITE_UNITS, simulate};

pub const RATE: usize = 10_000;
/// Conversations the DMs spread over (two DMs a second each).
pub const CONVERSATIONS: usize = 5_000;
const SHARD_COUNTS: [u32; 11] = [2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];
const LISTS: [&str; 1] = ["gsi1 CONV#"];
const LOG: [&str; 1] = ["table EVT#"];

pub struct Simulated {
    pub unsharded: Vec<Heat>,
    /// The fewest list and log shards that keep each under the ceiling (the largest tried when
    /// none does), and the heat there.
    pub sharded: ((u32, u32), Vec<Heat>),
}

fn fits(heat: &[Heat], kinds: &[&str]) -> bool {
    heat.iter().filter(|h| kinds.contains(&h.what.as_str())).all(|h| h.hottest <= PARTITION_WRITE_UNITS)
}

pub fn simulate_organization() -> anyhow::Result<Simulated> {
    let run = |shards| simulate(RATE, CONVERSATIONS, shards, PARTITION_WRITE_UNITS);
    let unsharded = run((1, 1))?;
    let (mut lists, mut log) = (None, None);
    for n in SHARD_COUNTS {
        let heat = run((n, n))?;
        lists = lists.or(fits(&heat, &LISTS).then_some(n));
        log = log.or(fits(&heat, &LOG).then_some(n));
        if lists.is_some() && log.is_some() {
            break;
        }
    }
    let most = SHARD_COUNTS[SHARD_COUNTS.len() - 1];
    let shards = (lists.unwrap_or(most), log.unwrap_or(most));
    Ok(Simulated { unsharded, sharded: (shards, run(shards)?) })
}
