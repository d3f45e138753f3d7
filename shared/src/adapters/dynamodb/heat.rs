//! One organization's write heat: where on the table the writes of inbound DMs land, and how
//! hot the hottest partition is once DynamoDB has split every partition it can. A model, for
//! the bench's "one organization at 10 000 DMs/s" table and its test; the items are the ones
//! the store writes (`dm_writes`), so a key change shows here.
//!
//! The model: a partition takes `PARTITION_WRITE_UNITS` a second. DynamoDB splits a hot one
//! at a sort key that divides its traffic (split for heat); so each second of writes sets
//! more split points, and the last second is measured against them. Writes to a key range that
//! only grows at its end (a time-ordered sort key) all fall past the last split point, so no
//! split helps them.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::domain::{InboxEvent, LoggedEvent};

/// What one DynamoDB partition takes, in write units a second.
pub const PARTITION_WRITE_UNITS: f64 = 1000.0;

/// Seconds simulated: two of them to split what runs hot (a part split once can still hold
/// two busy ranges), the last one measured.
const SECONDS: usize = 3;

/// One write: the table or index it lands in, its partition and sort keys, its write units,
/// and what it is (`table MSG#`, `gsi1 CONV#`: the item's kind, for the report).
#[derive(Debug, Clone)]
pub struct Write {
    pub index: &'static str,
    pub partition: String,
    pub sort: String,
    pub units: f64,
    pub what: String,
}

/// How hot one kind of write runs: its units a second in all, and the load of the hottest
/// partition it lands in once split.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    pub what: String,
    pub units_per_second: f64,
    pub hottest: f64,
}

impl DynamoStore {
    /// The writes of one inbound DM appended to an existing conversation (`before` becoming
    /// `after`): the append's transaction (message, conversation, Meta-id lookup, at twice
    /// the units), the index entries they put and the conversation's old entries they delete,
    /// and the relay's log writes (each event and its id guard). `sequence` is the
    /// relay's position counter.
    pub fn dm_writes(
        &self,
        before: &Conversation,
        after: &Conversation,
        message: &Message,
        sequence: u64,
    ) -> Result<Vec<Write>, StoreError> {
        let mid = message.external_message_id.as_deref().unwrap_or(&message.id);
        let mut writes = Vec::new();
        for item in [
            Self::message_item(message, 0)?,
            self.conversation_item(after, after.version)?,
            Self::mid_lookup(&message.organization_id, mid, &message.id),
        ] {
            writes.extend(item_writes(&item, 2.0));
        }
        let old = self.conversation_item(before, before.version)?;
        writes.extend(item_writes(&old, 1.0).into_iter().filter(|w| w.index != "table"));
        let expires = message.created_at + chrono::Duration::days(1);
        let events = [InboxEvent::message_created(message), InboxEvent::conversation_updated(after)];
        for (n, event) in events.into_iter().enumerate() {
            let position = LoggedEvent::position_of(message.created_at, sequence * 2 + n as u64, &event.id);
            let (item, guard) = super::events::log_items(&LoggedEvent { position, event }, expires, self.log_shards)?;
            writes.extend([item, guard].iter().flat_map(|item| item_writes(item, 1.0)));
        }
        Ok(writes)
    }
}

/// An item's writes: in the table (`factor` 2 in a transaction) and in each index it is in.
fn item_writes(item: &Item, factor: f64) -> Vec<Write> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let kind = text(keys::SK).split('#').next().unwrap_or_default().to_owned() + "#";
    let units = item_size(item).max(1).div_ceil(1024) as f64;
    let mut writes = vec![Write {
        index: "table",
        partition: text(keys::PK),
        sort: text(keys::SK),
        units: units * factor,
        what: format!("table {kind}"),
    }];
    for index in [GSI1, GSI2, GSI3] {
        if let Some(partition) = item.get(&format!("{index}pk")).and_then(|v| v.as_s().ok()) {
            let sort = text(&format!("{index}sk"));
            writes.push(Write { index, partition: partition.clone(), sort, units, what: format!("{index} {kind}") });
        }
    }
    writes
}

/// DynamoDB's size of an item: names and values' bytes, numbers about half their digits.
fn item_size(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + value(v)).sum::<usize>(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value(v)).sum::<usize>(),
            AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

/// Where each partition is split: per (index, partition key), the sorted split points.
type Cuts = HashMap<(&'static str, String), Vec<String>>;

/// A part of a partition: the index, the partition key, the part's number.
type Part<'a> = (&'static str, &'a str, usize);

/// A write's part: its partition, and how many split points are at or below its key.
fn part<'a>(cuts: &Cuts, w: &'a Write) -> Part<'a> {
    let at = cuts.get(&(w.index, w.partition.clone()));
    let n = at.map_or(0, |c| c.partition_point(|cut| cut.as_str() <= w.sort.as_str()));
    (w.index, w.partition.as_str(), n)
}

/// The hottest partition each kind of write lands in during the last of `seconds`, once
/// after each second before it every part that ran above half `ceiling`
/// (`PARTITION_WRITE_UNITS`) was split at the sort keys that divide that second's traffic, as DynamoDB splits for heat.
pub fn heat(seconds: &[Vec<Write>], ceiling: f64) -> Vec<Heat> {
    let mut cuts = Cuts::new();
    let Some((last, before)) = seconds.split_last() else { return Vec::new() };
    for second in before {
        let mut parts: HashMap<Part, Vec<(&str, f64)>> = HashMap::new();
        for w in second {
            parts.entry(part(&cuts, w)).or_default().push((&w.sort, w.units));
        }
        for ((index, partition, _), mut writes) in parts {
            writes.sort_by(|a, b| a.0.cmp(b.0));
            let at = cuts.entry((index, partition.to_owned())).or_default();
            split(&writes, ceiling, at);
            at.sort();
            at.dedup();
        }
    }
    let mut load: HashMap<Part, f64> = HashMap::new();
    for w in last {
        *load.entry(part(&cuts, w)).or_default() += w.units;
    }
    let mut by_kind: BTreeMap<&str, Heat> = BTreeMap::new();
    for w in last {
        let heat = by_kind.entry(&w.what).or_insert_with(|| Heat {
            what: w.what.clone(),
            units_per_second: 0.0,
            hottest: 0.0,
        });
        heat.units_per_second += w.units;
        heat.hottest = heat.hottest.max(load[&part(&cuts, w)]);
    }
    by_kind.into_values().collect()
}

/// Split points for one partition's sorted writes: at the key that halves the units, again in
/// each half, while a part runs above half the ceiling (DynamoDB splits a partition that stays
/// busy before it is full, and traffic varies from second to second) and has two keys to split
/// between.
fn split(writes: &[(&str, f64)], ceiling: f64, cuts: &mut Vec<String>) {
    let total: f64 = writes.iter().map(|w| w.1).sum();
    if total <= ceiling / 2.0 || writes.len() < 2 {
        return;
    }
    let mut run = 0.0;
    let mut at = writes.iter().position(|w| {
        run += w.1;
        run >= total / 2.0
    });
    // A split point is a key: the writes at it and above go right.
    if let Some(i) = at.as_mut() {
        *i = (*i).max(1);
        while *i < writes.len() && writes[*i].0 == writes[*i - 1].0 {
            *i += 1;
        }
    }
    match at {
        Some(i) if i < writes.len() => {
            cuts.push(writes[i].0.to_owned());
            split(&writes[..i], ceiling, cuts);
            split(&writes[i..], ceiling, cuts);
        }
        _ => {}
    }
}

/// One organization receiving `rate` DMs a second over `conversations` conversations for
/// `SECONDS` seconds, on a table whose conversation lists and event log have `shards` shards (lists,
/// log): each kind of write's
/// heat in the last second, against partitions that take `ceiling` write units a second
/// (`PARTITION_WRITE_UNITS`; a smaller rate against a proportionally smaller ceiling tells the
/// same). Meta's message ids are taken as unordered.
pub fn simulate(rate: usize, conversations: usize, shards: (u32, u32), ceiling: f64) -> Result<Vec<Heat>, StoreError> {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let store =
        DynamoStore::new(Client::from_conf(config), "simulated").with_inbox_shards(shards.0).with_log_shards(shards.1);
    let (org, account) = ("org_busy", "acc_busy");
    let start = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let mut open: Vec<Conversation> = (0..conversations.max(1))
        .map(|i| {
            let customer = (17_841_400_000_000_000u64 + i as u64).to_string();
            let id = Conversation::id_for(org, account, &customer);
            Conversation::opened(id, org, account, &customer, start, start)
        })
        .collect();
    let text = "Hi! Is the blue one still in stock in size M?";
    let mut seconds = vec![Vec::new(); SECONDS];
    for (second, writes) in seconds.iter_mut().enumerate() {
        for i in 0..rate {
            let at = start
                + chrono::Duration::seconds(second as i64 + 1)
                + chrono::Duration::microseconds((i * 1_000_000 / rate.max(1)) as i64);
            let n = open.len();
            let conversation = &mut open[(i * 7_919 + second * 13) % n];
            let before = conversation.clone();
            let mid = format!("aWdfZAG1faXRlbToxOkl{:032x}", rand::random::<u128>());
            let message = Message {
                id: Message::new_id(),
                organization_id: org.into(),
                conversation_id: conversation.id.clone(),
                provider: Provider::Instagram,
                direction: crate::domain::Direction::Inbound,
                from: conversation.participant_id.clone(),
                to: account.into(),
                text: Some(text.into()),
                attachments: vec![],
                status: MessageStatus::Received,
                error_code: None,
                external_message_id: Some(mid.clone()),
                meta_json: serde_json::json!({ "messageId": mid }),
                created_at: at,
                updated_at: at,
            };
            conversation.apply(&Activity::live(crate::domain::Direction::Inbound, at, Some(text.into()), at));
            conversation.version += 1;
            writes.extend(store.dm_writes(&before, conversation, &message, (second * rate + i) as u64)?);
        }
    }
    Ok(heat(&seconds, ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hottest(heat: &[Heat], what: &str) -> f64 {
        heat.iter().find(|h| h.what == what).unwrap_or_else(|| panic!("no {what} in {heat:?}")).hottest
    }

    #[test]
    fn a_time_ordered_key_range_stays_hot_and_a_spread_one_splits() {
        let write = |sort: String| Write { index: "table", partition: "p".into(), sort, units: 1.0, what: "w".into() };
        let ordered = |from: usize| (from..from + 4_000).map(|i| write(format!("{i:08}"))).collect::<Vec<_>>();
        let seconds = [ordered(0), ordered(4_000), ordered(8_000)];
        assert_eq!(heat(&seconds, PARTITION_WRITE_UNITS)[0].hottest, 4_000.0);
        let spread =
            |seed: usize| (0..4_000).map(|i| write(format!("{:08}", (i * 7_919 + seed) % 100_000))).collect::<Vec<_>>();
        let seconds = [spread(0), spread(1), spread(2)];
        assert!(heat(&seconds, PARTITION_WRITE_UNITS)[0].hottest <= PARTITION_WRITE_UNITS);
    }

    #[test]
    fn one_organization_at_10_000_dms_a_second() {
        // A fifth of the rate against a fifth of the ceiling: the same load, five times faster.
        let (rate, conversations, ceiling) = (2_000, 4_000, PARTITION_WRITE_UNITS / 5.0);
        let unsharded = simulate(rate, conversations, (1, 1), ceiling).unwrap();
        for hot in ["gsi1 CONV#", "table EVT#"] {
            assert!(hottest(&unsharded, hot) > 5.0 * ceiling, "{hot}: {unsharded:?}");
        }
        // Every write spread: messages by their id's random end, the lists and the log by shard.
        let sharded = simulate(rate, conversations, (32, 96), ceiling).unwrap();
        assert_eq!(sharded.len(), 7, "{sharded:?}");
        assert!(sharded.iter().all(|h| !h.what.starts_with("gsi3")), "DMs are not in the kind index: {sharded:?}");
        for heat in &sharded {
            assert!(heat.hottest <= ceiling, "{heat:?}");
        }
    }
}
