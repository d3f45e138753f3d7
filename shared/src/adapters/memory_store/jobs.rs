//! Memory store: integration jobs: claims, leases and the stranded-job index.

use super::*;

#[async_trait]
impl JobStore for MemoryStore {
    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError> {
        self.with(|t| t.jobs.insert(key(&job.organization_id, &job.id), job.clone()));
        Ok(())
    }

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
        Ok(self.with(|t| t.jobs.get(&key(org, id)).cloned()))
    }

    async fn replace_job(&self, job: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError> {
        Ok(self.with(|t| {
            let k = key(&job.organization_id, &job.id);
            if !expected.holds_for(t.jobs.get(&k)) {
                return false;
            }
            t.jobs.insert(k, job.clone());
            true
        }))
    }

    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError> {
        Ok(self.with(|t| {
            let job = t.jobs.get_mut(&key(org, id)).filter(|j| j.claimable(now))?;
            job.claim(claim_id, now, lease_until);
            Some(job.clone())
        }))
    }

    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError> {
        Ok(self.with(|t| {
            let mut open: Vec<_> =
                t.jobs.values().filter(|j| j.open_until().is_some_and(|at| at < before)).cloned().collect();
            open.sort_by_key(|j| (j.open_until(), j.organization_id.clone(), j.id.clone()));
            open.truncate(limit);
            open
        }))
    }
}
