//! Counts the AWS calls a path makes (an SDK interceptor on the DynamoDB, SQS, KMS and S3
//! clients), the rounds they take one after another, and the DynamoDB capacity they cost,
//! told from the items sent and read by DynamoDB's own rules (a write unit per KiB written,
//! again for each index the item is in and twice in a transaction; half a read unit per
//! 4 KiB read eventually consistent, one strongly). A local AWS server reports no capacity
//! of its own worth counting; this is what the same requests would cost on DynamoDB.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::Value;

/// The table's global secondary indexes: an item is in one when it has its partition key.
const INDEX_KEYS: [&str; 3] = ["gsi1pk", "gsi2pk", "gsi3pk"];

#[derive(Debug, Clone)]
struct Call {
    operation: String,
    sent: Instant,
    answered: Option<Instant>,
    write_units: f64,
    read_units: f64,
    strong: bool,
}

/// What a path cost: calls by operation, rounds, DynamoDB's write and read request units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Work {
    pub calls: BTreeMap<String, usize>,
    pub rounds: usize,
    pub write_units: f64,
    pub read_units: f64,
}

impl Work {
    pub fn total(&self) -> usize {
        self.calls.values().sum()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.calls.get(operation).copied().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<Vec<Call>>>);

/// Which entry of the counter a call in flight is.
#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

/// DynamoDB's size of an attribute value (its name counted by the caller): strings and
/// binaries their bytes, numbers about their digits, containers their contents and 3 bytes.
fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else { return 1 };
    match (kind.as_str(), inner) {
        ("S" | "B", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => n.len().div_ceil(2) + 1,
        ("M", Value::Object(map)) => 3 + map.iter().map(|(k, v)| k.len() + value_size(v)).sum::<usize>(),
        ("L", Value::Array(items)) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        ("SS" | "NS" | "BS", Value::Array(items)) => items.iter().map(|v| v.as_str().map_or(1, str::len)).sum(),
        _ => 1,
    }
}

fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |attrs| attrs.iter().map(|(k, v)| k.len() + value_size(v)).sum())
}

/// Write units of a `Put` request: per KiB, `table` times in the table (2 in a transaction,
/// which prepares and commits each item; its index entries are written once, after it) and
/// in each index the item belongs to, twice there when the put replaces an item (the old
/// entry deleted, the new one put: taken as moved, so an upper bound).
fn put_units(put: &Value, table: f64) -> f64 {
    let item = &put["Item"];
    let indexes = INDEX_KEYS.iter().filter(|k| item.get(**k).is_some()).count() as f64;
    let condition = put["ConditionExpression"].as_str();
    let replaces = condition.is_some_and(|c| !c.contains("attribute_not_exists"));
    let kib = item_size(item).max(1).div_ceil(1024) as f64;
    kib * (table + indexes * if replaces { 2.0 } else { 1.0 })
}

/// An update or a delete: its key's KiB (the item's size is not sent), `table` times in the
/// table, and an index copy for each index key it sets.
fn keyed_units(request: &Value, table: f64) -> f64 {
    let expression = request["UpdateExpression"].as_str().unwrap_or_default();
    let copies = INDEX_KEYS.iter().filter(|k| expression.contains(**k)).count() as f64;
    item_size(&request["Key"]).max(1).div_ceil(1024) as f64 * (table + copies)
}

/// The write units of a request, and whether its reads are strongly consistent.
fn request_units(operation: &str, body: &Value) -> (f64, bool) {
    let batch = body["RequestItems"].as_object().into_iter().flat_map(|tables| tables.values());
    let strong = body["ConsistentRead"].as_bool().unwrap_or(false)
        || batch.into_iter().any(|t| t["ConsistentRead"].as_bool().unwrap_or(false));
    let units = match operation {
        "PutItem" => put_units(body, 1.0),
        "UpdateItem" | "DeleteItem" => keyed_units(body, 1.0),
        "TransactWriteItems" => {
            let items = body["TransactItems"].as_array().into_iter().flatten();
            items
                .map(|t| match (t.get("Put"), t.get("Update").or(t.get("Delete")).or(t.get("ConditionCheck"))) {
                    (Some(put), _) => put_units(put, 2.0),
                    (None, Some(keyed)) => keyed_units(keyed, 2.0),
                    _ => 0.0,
                })
                .sum::<f64>()
        }
        "BatchWriteItem" => {
            let requests = body["RequestItems"].as_object().into_iter().flat_map(|t| t.values());
            let each = requests.flat_map(|r| r.as_array().into_iter().flatten());
            each.map(|r| r.get("PutRequest").map_or(1.0, |p| put_units(p, 1.0))).sum()
        }
        _ => 0.0,
    };
    (units, strong)
}

/// The read units of an answer: what it returned, per 4 KiB (a query's items together, a
/// batch's each on its own; an item read with a projection counts as what came back, so a
/// lower bound).
fn answer_units(operation: &str, body: &Value, strong: bool) -> f64 {
    let per_4k = |bytes: usize| bytes.max(1).div_ceil(4096) as f64;
    let units = match operation {
        "GetItem" => per_4k(item_size(&body["Item"])),
        "Query" | "Scan" => per_4k(body["Items"].as_array().into_iter().flatten().map(item_size).sum()),
        "BatchGetItem" => {
            let responses = body["Responses"].as_object().into_iter().flat_map(|t| t.values());
            responses.flat_map(|r| r.as_array().into_iter().flatten()).map(|item| per_4k(item_size(item))).sum()
        }
        _ => return 0.0,
    };
    if strong { units } else { units / 2.0 }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        // The JSON protocols of DynamoDB, SQS and KMS name the operation in `X-Amz-Target`;
        // S3 names it by method.
        let target = request.headers().get("x-amz-target").map(|t| t.rsplit('.').next().unwrap_or(t).to_owned());
        let operation = target.unwrap_or_else(|| format!("S3 {}", request.method()));
        let body: Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let (write_units, strong) = request_units(&operation, &body);
        let mut calls = self.0.lock().unwrap();
        cfg.interceptor_state().store_put(CallIndex(calls.len()));
        calls.push(Call { operation, sent: Instant::now(), answered: None, write_units, read_units: 0.0, strong });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(i)) = cfg.load::<CallIndex>() {
            self.0.lock().unwrap()[*i].answered = Some(Instant::now());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response().and_then(|r| r.body().bytes()).and_then(|b| serde_json::from_slice(b).ok());
        if let (Some(CallIndex(i)), Some(body)) = (cfg.load::<CallIndex>(), body) {
            let mut calls = self.0.lock().unwrap();
            let call = &mut calls[*i];
            call.read_units = answer_units(&call.operation, &body, call.strong);
        }
        Ok(())
    }
}

impl CallCounter {
    /// What was called since the last take. A call starts a round when every call before it
    /// had been answered.
    pub fn take(&self) -> Work {
        let calls: Vec<Call> = self.0.lock().unwrap().drain(..).collect();
        let mut work = Work::default();
        let mut answered_by: Option<Instant> = None;
        for call in &calls {
            *work.calls.entry(call.operation.clone()).or_default() += 1;
            work.write_units += call.write_units;
            work.read_units += call.read_units;
            if answered_by.is_none_or(|t| call.sent >= t) {
                work.rounds += 1;
            }
            let end = call.answered.unwrap_or(call.sent);
            answered_by = Some(answered_by.map_or(end, |t| t.max(end)));
        }
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capacity_follows_dynamodbs_rules() {
        let small = json!({"pk": {"S": "ORG#a"}, "sk": {"S": "MSG#1"}, "n": {"N": "12345"}});
        assert_eq!(put_units(&json!({"Item": small}), 1.0), 1.0);
        let indexed = json!({"pk": {"S": "a"}, "gsi1pk": {"S": "b"}, "gsi2pk": {"S": "c"}});
        assert_eq!(put_units(&json!({"Item": indexed}), 1.0), 3.0, "the table and two indexes");
        let big = json!({"pk": {"S": "a"}, "body": {"S": "x".repeat(3000)}});
        assert_eq!(put_units(&json!({"Item": big}), 1.0), 3.0, "3 KiB");
        let transaction = json!({"TransactItems": [{"Put": {"Item": small}}, {"Update": {"Key": {"pk": {"S": "a"}}}}]});
        assert_eq!(request_units("TransactWriteItems", &transaction), (4.0, false), "twice each in a transaction");
        let moved = json!({"TransactItems": [
            {"Put": {"Item": indexed, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": indexed, "ConditionExpression": "version = :v"}},
        ]});
        // New: 2 in the table and 1 in each index. Replaced: its entries deleted and put again.
        assert_eq!(request_units("TransactWriteItems", &moved), (4.0 + 6.0, false), "indexes once, after the commit");
        let read = json!({"Item": {"body": {"S": "x".repeat(5000)}}});
        assert_eq!(answer_units("GetItem", &read, false), 1.0, "two 4 KiB halves");
        assert_eq!(answer_units("GetItem", &read, true), 2.0);
        assert_eq!(answer_units("Query", &json!({"Items": []}), false), 0.5, "an empty read costs half a unit");
        let two = json!({"Responses": {"t": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]}});
        assert_eq!(answer_units("BatchGetItem", &two, true), 2.0, "a batch's items each on its own");
        let consistent = json!({"RequestItems": {"t": {"Keys": [], "ConsistentRead": true}}});
        assert_eq!(request_units("BatchGetItem", &consistent), (0.0, true));
    }
}
