//! Memory store: leads and cached customer profiles.

use super::*;

#[async_trait]
impl LeadStore for MemoryStore {
    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        self.with(|t| {
            let taken = t.leads.values().any(|l| {
                l.organization_id == lead.organization_id
                    && ((lead.instagram_handle.is_some() && l.instagram_handle == lead.instagram_handle)
                        || (lead.instagram_user_id.is_some() && l.instagram_user_id == lead.instagram_user_id))
            });
            if taken {
                return Err(StoreError::Conflict("lead with this Instagram handle or user id"));
            }
            t.leads.insert(key(&lead.organization_id, &lead.id), lead.clone());
            Ok(())
        })
    }

    async fn list_leads(&self, org: &str, page: &PageRequest) -> Result<Page<Lead>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .leads
                .values()
                .filter(|l| l.organization_id == org)
                .map(|l| (time_sort_key(l.created_at), l.id.clone(), l.clone()))
                .collect();
            page_desc(items, page)
        }))
    }

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|t| {
            t.leads
                .values()
                .find(|l| l.organization_id == org && l.instagram_user_id.as_deref() == Some(user_id))
                .cloned()
        }))
    }

    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|t| {
            t.leads
                .values()
                .find(|l| l.organization_id == org && l.instagram_handle.as_deref() == Some(handle))
                .cloned()
        }))
    }

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError> {
        Ok(self.with(|t| t.profiles.get(&key(org, instagram_user_id)).cloned()))
    }

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError> {
        self.with(|t| {
            t.profiles.insert(key(&profile.organization_id, &profile.instagram_user_id), profile.clone());
        });
        Ok(())
    }

    async fn find_profile_by_username(&self, org: &str, username: &str) -> Result<Option<CustomerProfile>, StoreError> {
        Ok(self.with(|t| {
            t.profiles.values().find(|p| p.organization_id == org && p.handle().as_deref() == Some(username)).cloned()
        }))
    }
}
