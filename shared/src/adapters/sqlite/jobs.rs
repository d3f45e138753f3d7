//! SQLite store: integration jobs: claims, leases and the stranded-job index.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::domain::{IntegrationJob, JobExpectation};
use crate::ports::JobStore;

fn save_job(conn: &Connection, job: &IntegrationJob) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT OR REPLACE INTO jobs (org, id, open_until, body) VALUES (?, ?, ?, ?)",
        params![job.organization_id, job.id, job.open_until().map(time), to_json(job)?],
    )
    .map_err(sql)?;
    Ok(())
}

fn job(conn: &Connection, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
    one(conn, "SELECT body FROM jobs WHERE org = ? AND id = ?", &[&org, &id])
}

#[async_trait::async_trait]
impl JobStore for SqliteStore {
    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError> {
        let job = job.clone();
        self.db.call(move |conn| save_job(conn, &job)).await
    }

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.read(move |conn| job(conn, &org, &id)).await
    }

    async fn replace_job(&self, new: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError> {
        // The expectation borrows, so it is checked here, between two calls: the second
        // writes only if the stored row is still the one the first read.
        let (org, id) = (new.organization_id.clone(), new.id.clone());
        let read = move |conn: &Connection| -> Result<Option<String>, StoreError> {
            conn.query_row_cached("SELECT body FROM jobs WHERE org = ? AND id = ?", params![org, id], |r| r.get(0))
                .optional()
                .map_err(sql)
        };
        let seen = self.db.call(read.clone()).await?;
        let stored: Option<IntegrationJob> = seen.as_deref().map(from_json).transpose()?;
        if !expected.holds_for(stored.as_ref()) {
            return Ok(false);
        }
        let new = new.clone();
        self.db
            .call(move |conn| {
                if read(conn)? != seen {
                    return Ok(false);
                }
                save_job(conn, &new)?;
                Ok(true)
            })
            .await
    }

    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError> {
        let (org, id, claim_id) = (owned(org), owned(id), owned(claim_id));
        self.db
            .call(move |conn| {
                let Some(mut j) = job(conn, &org, &id)?.filter(|j| j.claimable(now)) else { return Ok(None) };
                j.claim(&claim_id, now, lease_until);
                save_job(conn, &j)?;
                Ok(Some(j))
            })
            .await
    }

    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError> {
        self.db
            .call(move |conn| {
                all(
                    conn,
                    "SELECT body FROM jobs WHERE open_until IS NOT NULL AND open_until < ? \
                     ORDER BY open_until, org, id LIMIT ?",
                    &[&time(before), &(limit as i64)],
                )
            })
            .await
    }
}
