//! DynamoDB: integration jobs: claims, leases and the stranded-job index.

use super::*;

#[async_trait]
impl JobStore for DynamoStore {
    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError> {
        self.put(Self::job_item(job)?, None).await.map(|_| ())
    }

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
        self.get(keys::org(org), keys::job(id)).await?.map(from_item).transpose()
    }

    async fn replace_job(&self, job: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError> {
        let item = Self::job_item(job)?;
        match expected {
            JobExpectation::Absent => self.put(item, Some("attribute_not_exists(pk)")).await,
            JobExpectation::ClaimedBy(claim) => {
                self.put_where(item, Some("claimId = :claim"), &[], vec![(":claim", s(claim))]).await
            }
            JobExpectation::Status(status) => {
                let names = [("#status", "status")];
                self.put_where(item, Some("#status = :status"), &names, vec![(":status", attr_of(&status)?)]).await
            }
        }
    }

    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError> {
        let item = self
            .update_returning(
                keys::org(org),
                keys::job(id),
                "SET #status = :processing, leaseMs = :leaseMs, leaseExpiresAt = :lease, updatedAt = :now, \
                 gsi1sk = :openUntil, claimId = :claim ADD attempts :one",
                "(#status = :pending AND (attribute_not_exists(nextAttemptMs) OR nextAttemptMs <= :nowMs)) \
                 OR (#status = :processing AND leaseMs <= :nowMs)",
                vec![("#status", "status")],
                vec![
                    (":processing", attr_of(&JobStatus::Processing)?),
                    (":pending", attr_of(&JobStatus::Pending)?),
                    (":leaseMs", n(lease_until.timestamp_millis())),
                    (":lease", attr_of(&lease_until)?),
                    (":now", attr_of(&now)?),
                    (":nowMs", n(now.timestamp_millis())),
                    (":one", n(1)),
                    (":openUntil", s(keys::open_job_order(lease_until, org, id))),
                    (":claim", s(claim_id)),
                ],
            )
            .await?;
        item.map(from_item).transpose()
    }

    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError> {
        let mut stranded = Vec::new();
        for shard in 0..keys::OPEN_JOB_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :open AND gsi1sk < :before")
                .expression_attribute_values(":open", s(keys::open_jobs(shard)))
                .expression_attribute_values(":before", s(time_sort_key(before)))
                .limit(limit as i32)
                .send()
                .await
                .map_err(ops::backend)?;
            for item in out.items.unwrap_or_default() {
                stranded.push(from_item::<IntegrationJob>(item)?);
            }
        }
        stranded.sort_by_key(|j| (j.open_until(), j.organization_id.clone(), j.id.clone()));
        stranded.truncate(limit);
        Ok(stranded)
    }
}
