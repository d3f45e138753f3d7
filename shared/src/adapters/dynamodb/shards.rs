//! DynamoDB: reads of a list partition spread over shards (`keys::shard`), merged by sort key.
//! A GSI key takes about 1 000 write units a second; an organization's conversation lists
//! are re-keyed on every message, so a busy one writes them over several partitions
//! (`INBOX_INDEX_SHARDS`) and a page reads every shard from the cursor and merges. Sort keys
//! are `<time>#<id>`, unique across shards, so the page order and the cursor are what one
//! partition gives.

use std::cmp::Ordering;

use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;

use super::*;

/// The most items one query of a filtered list reads (DynamoDB also stops at 1 MB).
const MAX_READ_AHEAD: usize = 1_000;

/// The items a list keeps: those whose string attribute `attr` is `value`, and with
/// `or_absent` those without it (items written before the attribute was).
#[derive(Clone, Copy)]
pub(super) struct Only<'a> {
    pub attr: &'a str,
    pub value: &'a str,
    pub or_absent: bool,
}

impl DynamoStore {
    /// One page over the shards of a GSI partition (one partition is one shard): newest first
    /// unless `ascending`, resuming after the cursor, keeping only the items `only` keeps (a
    /// filter expression: DynamoDB reads on until the page is full or the partition ends).
    pub(super) async fn query_shards_where<T: DeserializeOwned>(
        &self,
        index: &str,
        partitions: Vec<String>,
        page: &PageRequest,
        ascending: bool,
        only: Option<Only<'_>>,
    ) -> Result<Page<T>, StoreError> {
        let sk_attr = format!("{index}sk");
        let reads = partitions.into_iter().map(|p| self.shard_page(index, p, page, ascending, only));
        // Each shard gives up to one more than the page, in order: the merge's first
        // `limit + 1` are the page and whether another follows.
        let mut items: Vec<Item> = try_join_all(reads).await?.into_iter().flatten().collect();
        items.sort_by(|a, b| if ascending { by_attr(a, b, &sk_attr) } else { by_attr(b, a, &sk_attr) });
        let more = items.len() > page.limit;
        items.truncate(page.limit);
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => Some(ops::cursor_after(last, &sk_attr)?),
            _ => None,
        };
        let data = items.into_iter().map(from_item).collect::<Result<Vec<T>, _>>()?;
        Ok(Page { data, next_cursor })
    }

    /// Up to `page.limit + 1` items of one partition after the cursor, in order.
    async fn shard_page(
        &self,
        index: &str,
        partition: String,
        page: &PageRequest,
        ascending: bool,
        only: Option<Only<'_>>,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk_attr, sk_attr) = (format!("{index}pk"), format!("{index}sk"));
        let mut condition = "#pk = :pk".to_owned();
        let mut values = HashMap::from([(":pk".to_owned(), s(partition))]);
        let mut names = HashMap::from([("#pk".to_owned(), pk_attr)]);
        let filter = only.map(|only| {
            names.insert("#only".into(), only.attr.to_owned());
            values.insert(":only".into(), s(only.value));
            if only.or_absent { "attribute_not_exists(#only) OR #only = :only" } else { "#only = :only" }
        });
        if let Some(after) = &page.after {
            condition.push_str(if ascending { " AND #sk > :after" } else { " AND #sk < :after" });
            values.insert(":after".into(), s(keys::ordered(&after.sort_key, &after.id)));
            names.insert("#sk".into(), sk_attr);
        }
        let mut items: Vec<Item> = Vec::new();
        let (mut start, mut ask) = (None, page.limit + 1);
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(&condition)
                .set_filter_expression(filter.map(str::to_owned))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(ascending)
                .limit(ask as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(ops::backend)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() > page.limit || start.is_none() {
                return Ok(items);
            }
            // The filter left the page short: read twice as far next time, so a list past
            // many filtered-out items (DMs past comment threads) takes a few round trips, not
            // one per page's worth (DynamoDB's `Limit` counts the items it reads).
            ask = (ask * 2).min(MAX_READ_AHEAD).max(page.limit + 1 - items.len());
        }
    }

    /// The first `limit` items over `partitions` of `index` whose sort key (a `<time>#...`
    /// key) is before `before`, oldest first.
    pub(super) async fn index_before<T: DeserializeOwned>(
        &self,
        index: &str,
        partitions: Vec<String>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let reads = partitions.into_iter().map(|partition| async move {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{index}pk = :pk AND {index}sk < :before"))
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":before", s(time_sort_key(before)))
                .scan_index_forward(true)
                .limit(limit as i32)
                .send()
                .await
                .map_err(ops::backend)?;
            Ok::<_, StoreError>(out.items.unwrap_or_default())
        });
        let mut items: Vec<Item> = try_join_all(reads).await?.into_iter().flatten().collect();
        items.sort_by(|a, b| by_attr(a, b, &format!("{index}sk")));
        items.truncate(limit);
        items.into_iter().map(from_item).collect()
    }
}

/// Two items in the order of their string attribute `attr`.
fn by_attr(a: &Item, b: &Item, attr: &str) -> Ordering {
    let key = |item: &Item| item.get(attr).and_then(|v| v.as_s().ok()).cloned();
    key(a).cmp(&key(b))
}
