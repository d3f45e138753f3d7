//! DynamoDB: leads and cached customer profiles.

use super::*;

#[async_trait]
impl LeadStore for DynamoStore {
    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        let org = &lead.organization_id;
        let mut item = to_item(lead)?;
        ops::keyed(&mut item, keys::org(org), keys::lead(&lead.id));
        item.insert("gsi1pk".into(), s(keys::leads_of(org)));
        item.insert("gsi1sk".into(), s(keys::ordered(&time_sort_key(lead.created_at), &lead.id)));
        let mut tx = vec![TxItem::put(item, Some("attribute_not_exists(pk)"))];
        for sk in [
            lead.instagram_handle.as_deref().map(keys::lead_handle),
            lead.instagram_user_id.as_deref().map(keys::lead_ig_id),
        ]
        .into_iter()
        .flatten()
        {
            let mut lookup = HashMap::from([("leadId".to_owned(), s(&lead.id))]);
            ops::keyed(&mut lookup, keys::org(org), sk);
            tx.push(TxItem::put(lookup, Some("attribute_not_exists(pk)")));
        }
        self.transact(tx).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("lead with this Instagram handle or user id"),
            other => other,
        })
    }

    async fn list_leads(&self, org: &str, page: &PageRequest) -> Result<Page<Lead>, StoreError> {
        self.query_page(GSI1, keys::leads_of(org), page, false).await
    }

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError> {
        self.follow(keys::org(org), keys::lead_ig_id(user_id), "leadId", keys::lead).await?.map(from_item).transpose()
    }

    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError> {
        self.follow(keys::org(org), keys::lead_handle(handle), "leadId", keys::lead).await?.map(from_item).transpose()
    }

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError> {
        self.get(keys::org(org), keys::profile(instagram_user_id)).await?.map(from_item).transpose()
    }

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError> {
        let mut item = to_item(profile)?;
        ops::keyed(&mut item, keys::org(&profile.organization_id), keys::profile(&profile.instagram_user_id));
        self.put(item, None).await?;
        // A copy under its username, for a lead known by handle only (a stale copy, left by a
        // changed username, is told apart by the profile it holds).
        if let Some(handle) = profile.handle() {
            let mut by_name = to_item(profile)?;
            ops::keyed(&mut by_name, keys::org(&profile.organization_id), keys::profile_by_username(&handle));
            self.put(by_name, None).await?;
        }
        Ok(())
    }

    async fn find_profile_by_username(&self, org: &str, username: &str) -> Result<Option<CustomerProfile>, StoreError> {
        let Some(copy) = self.get(keys::org(org), keys::profile_by_username(username)).await? else { return Ok(None) };
        let copy: CustomerProfile = from_item(copy)?;
        // The profile as it is now must still carry that username.
        let current = self.get_profile(org, &copy.instagram_user_id).await?;
        Ok(current.filter(|p| p.handle().as_deref() == Some(username)))
    }
}
