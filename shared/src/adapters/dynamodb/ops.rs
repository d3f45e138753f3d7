//! The few DynamoDB calls the store is made of, with errors mapped to `StoreError`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem, Update,
    WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{Cursor, Page, PageRequest};
use crate::ports::StoreError;

use super::{DynamoStore, keys};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn to_item<T: Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Backend(format!("item does not serialise: {e}")))
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(format!("stored item unreadable: {e}")))
}

pub fn from_attr<T: DeserializeOwned>(v: AttributeValue) -> Result<T, StoreError> {
    serde_dynamo::from_attribute_value(v).map_err(|e| StoreError::Backend(format!("stored value unreadable: {e}")))
}

pub fn attr_of<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| StoreError::Backend(format!("value does not serialise: {e}")))
}

pub fn keyed(item: &mut Item, pk: String, sk: String) {
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
}

pub fn backend<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    let detail = e.as_service_error().and_then(|s| s.message().map(str::to_owned)).unwrap_or_else(|| format!("{e:?}"));
    StoreError::Backend(detail)
}

pub fn is_conditional_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// One write of a transaction.
pub struct TxItem {
    kind: TxKind,
    condition: Option<String>,
    pub values: Vec<(String, AttributeValue)>,
    names: Vec<(String, String)>,
}

enum TxKind {
    Put(Item),
    Update { pk: String, sk: String, expression: String },
    Delete { pk: String, sk: String },
}

impl TxItem {
    pub fn put(item: Item, condition: Option<&str>) -> Self {
        TxItem { kind: TxKind::Put(item), condition: condition.map(str::to_owned), values: vec![], names: vec![] }
    }

    /// A put that only succeeds over the item's `version`.
    pub fn put_if_version(item: Item, version: i64) -> Self {
        let mut tx = Self::put(item, Some("version = :v"));
        tx.values.push((":v".into(), n(version)));
        tx
    }

    pub fn update(
        pk: String,
        sk: String,
        expression: &str,
        condition: &str,
        names: Vec<(&str, &str)>,
        values: Vec<(&str, AttributeValue)>,
    ) -> Self {
        TxItem {
            kind: TxKind::Update { pk, sk, expression: expression.to_owned() },
            condition: Some(condition.to_owned()),
            values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            names: names.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        }
    }

    pub fn delete(pk: String, sk: String, condition: Option<&str>, values: Vec<(String, AttributeValue)>) -> Self {
        TxItem { kind: TxKind::Delete { pk, sk }, condition: condition.map(str::to_owned), values, names: vec![] }
    }

    fn build(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let values = (!self.values.is_empty()).then(|| self.values.into_iter().collect::<HashMap<_, _>>());
        let names = (!self.names.is_empty()).then(|| self.names.into_iter().collect::<HashMap<_, _>>());
        let key = |pk: String, sk: String| key_of(&pk, &sk);
        let built = match self.kind {
            TxKind::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_values(values)
                    .set_expression_attribute_names(names)
                    .build()
                    .map_err(build_error)?,
            ),
            TxKind::Update { pk, sk, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression(expression)
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_values(values)
                    .set_expression_attribute_names(names)
                    .build()
                    .map_err(build_error)?,
            ),
            TxKind::Delete { pk, sk } => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, sk)))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?,
            ),
        };
        Ok(built.build())
    }
}

pub(super) fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("request does not build: {e}"))
}

/// An item's key: (pk, sk).
pub type Key = (String, String);

/// Rounds of retrying what DynamoDB left unprocessed (throttling) before giving up.
const UNPROCESSED_ROUNDS: u32 = 8;

/// Between rounds of a batch call that DynamoDB left partly unprocessed: a growing pause, or
/// an error once `UNPROCESSED_ROUNDS` have gone by.
pub(super) async fn before_next_round(round: u32, what: &str) -> Result<(), StoreError> {
    if round >= UNPROCESSED_ROUNDS {
        return Err(StoreError::Backend(format!("DynamoDB left {what} unprocessed")));
    }
    tokio::time::sleep(std::time::Duration::from_millis(50 << round.min(5))).await;
    Ok(())
}

/// An item's string attribute.
pub(super) fn text<'a>(item: &'a Item, attribute: &str) -> Option<&'a str> {
    item.get(attribute).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// DynamoDB's most keys per `BatchGetItem`.
const BATCH_GET: usize = 100;

/// DynamoDB's most requests per `BatchWriteItem`.
const BATCH_WRITE: usize = 25;

/// A `BatchWriteItem` request putting `item` whole, whatever is there.
pub(super) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    Ok(WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(build_error)?)
        .build())
}

/// A `BatchWriteItem` request deleting the item at `key`, if any.
pub(super) fn delete_request((pk, sk): &Key) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder().set_key(Some(key_of(pk, sk))).build().map_err(build_error)?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

pub(super) fn key_of(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(keys::PK.to_owned(), s(pk)), (keys::SK.to_owned(), s(sk))])
}

impl DynamoStore {
    /// Which of `wanted` exist, by strongly consistent `BatchGetItem`s of 100 keys (what
    /// DynamoDB leaves unprocessed is asked again).
    pub(super) async fn existing(&self, wanted: &[Key]) -> Result<std::collections::BTreeSet<Key>, StoreError> {
        let mut found = std::collections::BTreeSet::new();
        for chunk in wanted.chunks(BATCH_GET) {
            let ask = |keys: Vec<HashMap<String, AttributeValue>>| {
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression("pk, sk")
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)
            };
            let mut asking = ask(chunk.iter().map(|(pk, sk)| key_of(pk, sk)).collect())?;
            for round in 0.. {
                let out =
                    self.client.batch_get_item().request_items(&self.table, asking).send().await.map_err(backend)?;
                let items = out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default();
                let key = |item: &Item| {
                    let text = |k| text(item, k).unwrap_or_default().to_owned();
                    (text(keys::PK), text(keys::SK))
                };
                found.extend(items.iter().map(key));
                match out.unprocessed_keys.unwrap_or_default().remove(&self.table) {
                    Some(left) if !left.keys.is_empty() => asking = left,
                    _ => break,
                }
                before_next_round(round, "reads").await?;
            }
        }
        Ok(found)
    }

    /// `requests` (unconditional puts and deletes) in `BatchWriteItem`s of 25; what DynamoDB
    /// leaves unprocessed is sent again.
    pub(super) async fn write_batches(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut left = requests.into_iter().peekable();
        while left.peek().is_some() {
            let mut sending: Vec<WriteRequest> = left.by_ref().take(BATCH_WRITE).collect();
            for round in 0.. {
                let out =
                    self.client.batch_write_item().request_items(&self.table, sending).send().await.map_err(backend)?;
                sending = out.unprocessed_items.unwrap_or_default().remove(&self.table).unwrap_or_default();
                if sending.is_empty() {
                    break;
                }
                before_next_round(round, "writes").await?;
            }
        }
        Ok(())
    }

    /// A strongly consistent `GetItem`.
    pub(super) async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item)
    }

    /// `PutItem`; `false` when the condition did not hold.
    pub(super) async fn put(&self, item: Item, condition: Option<&str>) -> Result<bool, StoreError> {
        self.put_where(item, condition, &[], Vec::new()).await
    }

    /// `PutItem` on a condition naming attributes (`names`) and values; `false` when it did
    /// not hold.
    pub(super) async fn put_where(
        &self,
        item: Item,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        put = put.set_condition_expression(condition.map(str::to_owned));
        for (name, attribute) in names {
            put = put.expression_attribute_names(*name, *attribute);
        }
        for (name, value) in values {
            put = put.expression_attribute_values(name, value);
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    /// `DeleteItem`; nothing there is not an error.
    pub(super) async fn delete(&self, pk: String, sk: String) -> Result<(), StoreError> {
        let delete = self.client.delete_item().table_name(&self.table).key(keys::PK, s(pk)).key(keys::SK, s(sk));
        delete.send().await.map(|_| ()).map_err(backend)
    }

    /// `TransactWriteItems`; `Conflict` when a condition did not hold (the whole transaction
    /// was cancelled).
    pub(super) async fn transact(&self, items: Vec<TxItem>) -> Result<(), StoreError> {
        let items = items.into_iter().map(|i| i.build(&self.table)).collect::<Result<Vec<_>, _>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("TransactionCanceledException") => {
                Err(StoreError::Conflict("item"))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// `UpdateItem` returning the new item; `None` when the condition did not hold.
    pub(super) async fn update_returning(
        &self,
        pk: String,
        sk: String,
        expression: &str,
        condition: &str,
        names: Vec<(&str, &str)>,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(expression)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew);
        for (k, v) in names {
            update = update.expression_attribute_names(k, v);
        }
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        match update.send().await {
            Ok(out) => Ok(out.attributes),
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    /// One page of a GSI partition, newest first, resuming after the cursor (`shards.rs`).
    pub(super) async fn query_page<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: String,
        page: &PageRequest,
        ascending: bool,
    ) -> Result<Page<T>, StoreError> {
        self.query_shards_where(index, vec![partition], page, ascending, None).await
    }

    /// Every item a query matches, following `LastEvaluatedKey` (small result sets only).
    pub(super) async fn query_to_end(&self, query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start).send().await.map_err(backend)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every item of a GSI partition (small partitions only: raw events of one account).
    pub(super) async fn query_all(
        &self,
        index: &str,
        partition: String,
        ascending: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", format!("{index}pk"))
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(ascending);
        self.query_to_end(query).await
    }

    /// Items of one partition whose sort key starts with `prefix`.
    pub(super) async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        self.query_to_end(query).await
    }
}

/// The cursor of the page after `last`, from its index sort key (`<sort key>#<id>`).
pub(super) fn cursor_after(last: &Item, sk_attr: &str) -> Result<String, StoreError> {
    let order = last
        .get(sk_attr)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Backend(format!("item without {sk_attr}")))?;
    let (sort_key, id) = order.split_once('#').unwrap_or((order.as_str(), ""));
    Ok(Cursor { sort_key: sort_key.to_owned(), id: id.to_owned() }.encode())
}
