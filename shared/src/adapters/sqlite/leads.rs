//! SQLite store: leads and cached customer profiles.

use rusqlite::params;

use super::*;
use crate::domain::{CustomerProfile, Lead};
use crate::ports::LeadStore;

#[async_trait::async_trait]
impl LeadStore for SqliteStore {
    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        let lead = lead.clone();
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT INTO leads (org, id, sort_key, instagram_user_id, handle, body) VALUES (?, ?, ?, ?, ?, ?)",
                    params![
                        lead.organization_id,
                        lead.id,
                        time(lead.created_at),
                        lead.instagram_user_id,
                        lead.instagram_handle,
                        to_json(&lead)?
                    ],
                )
                .map_err(conflict_or_sql("lead with this Instagram handle or user id"))?;
                Ok(())
            })
            .await
    }

    async fn list_leads(&self, org: &str, request: &PageRequest) -> Result<Page<Lead>, StoreError> {
        let (org, request) = (owned(org), request.clone());
        self.db.read(move |conn| page(conn, "leads", &[("org", &org)], &request, true)).await
    }

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError> {
        let (org, user_id) = (owned(org), owned(user_id));
        self.db
            .read(move |conn| {
                one(conn, "SELECT body FROM leads WHERE org = ? AND instagram_user_id = ?", &[&org, &user_id])
            })
            .await
    }

    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError> {
        let (org, handle) = (owned(org), owned(handle));
        self.db
            .read(move |conn| one(conn, "SELECT body FROM leads WHERE org = ? AND handle = ?", &[&org, &handle]))
            .await
    }

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError> {
        let (org, user_id) = (owned(org), owned(instagram_user_id));
        self.db
            .read(move |conn| {
                one(conn, "SELECT body FROM profiles WHERE org = ? AND instagram_user_id = ?", &[&org, &user_id])
            })
            .await
    }

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError> {
        let profile = profile.clone();
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT OR REPLACE INTO profiles (org, instagram_user_id, body) VALUES (?, ?, ?)",
                    params![profile.organization_id, profile.instagram_user_id, to_json(&profile)?],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn find_profile_by_username(&self, org: &str, username: &str) -> Result<Option<CustomerProfile>, StoreError> {
        let (org, username) = (owned(org), owned(username));
        // `profiles_by_username` indexes this expression.
        let query = "SELECT body FROM profiles WHERE org = ? AND lower(json_extract(body, '$.username')) = ?";
        self.db.read(move |conn| one(conn, query, &[&org, &username])).await
    }
}
