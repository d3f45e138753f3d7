//! One organization at 10 000 inbound DMs a second, simulated: each kind of write's units a
//! second and the hottest partition it lands in once DynamoDB has split what it can
//! (`inbox_shared::adapters::dynamodb::heat`), unsharded and at the fewest conversation-list
//! shards (`INBOX_INDEX_SHARDS`) that keep the lists under a partition's ceiling.

use inbox_shared::adapters::dynamodb::heat::{Heat, PARTITION_WRITE_UNITS, simulate};

pub const RATE: usize = 10_000;
/// Conversations the DMs spread over (two DMs a second each).
pub const CONVERSATIONS: usize = 5_000;
const SHARD_COUNTS: [u32; 8] = [2, 4, 8, 12, 16, 20, 24, 32];
const LISTS: [&str; 3] = ["gsi1 CONV#", "gsi2 CONV#", "gsi3 CONV#"];

pub struct Simulated {
    pub unsharded: Vec<Heat>,
    /// The fewest shards that keep every list under the ceiling, and the heat there.
    pub sharded: Option<(u32, Vec<Heat>)>,
}

pub fn simulate_organization() -> anyhow::Result<Simulated> {
    let unsharded = simulate(RATE, CONVERSATIONS, 1, PARTITION_WRITE_UNITS)?;
    let lists_fit = |heat: &[Heat]| {
        heat.iter().filter(|h| LISTS.contains(&h.what.as_str())).all(|h| h.hottest <= PARTITION_WRITE_UNITS)
    };
    for shards in SHARD_COUNTS {
        let heat = simulate(RATE, CONVERSATIONS, shards, PARTITION_WRITE_UNITS)?;
        if lists_fit(&heat) {
            return Ok(Simulated { unsharded, sharded: Some((shards, heat)) });
        }
    }
    Ok(Simulated { unsharded, sharded: None })
}
