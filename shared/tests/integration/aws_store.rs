//! The store conformance suite against DynamoDB (moto), on a table created from
//! template.yaml's own definition.

use std::sync::Arc;

use inbox_shared::adapters::dynamodb::DynamoStore;

async fn dynamo() -> Option<Arc<DynamoStore>> {
    let aws = inbox_shared::testing::local_aws::local_aws().await?;
    Some(Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), aws.table)))
}

inbox_shared::store_conformance_tests!(dynamo());
