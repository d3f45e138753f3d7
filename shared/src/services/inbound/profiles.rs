//! Customers' profiles: fetched from Meta when a customer first writes, cached per
//! organization, and refreshed at most weekly (`CustomerProfile::is_stale`) when an agent
//! reads one that is older. A lookup Meta refuses (no consent yet) never fails a message, and
//! never loses what an earlier lookup gave.

use crate::domain::{ConnectedAccount, CustomerProfile, ProfileFacts, ProfilePicture, Provider};
use crate::error::AppError;

use super::Inbound;

impl Inbound {
    /// The customer's profile in the account's organization: the cached one unless stale,
    /// else Meta's answer now (stored); `None` without a token to ask with.
    pub(super) async fn customer_profile(
        &self,
        account: &ConnectedAccount,
        customer_id: &str,
        provider: Provider,
    ) -> Result<Option<CustomerProfile>, AppError> {
        let org = &account.organization_id;
        let now = self.now();
        let cached = self.ports.leads.get_profile(org, customer_id).await?;
        if let Some(p) = cached.as_ref().filter(|p| !p.is_stale(now)) {
            return Ok(Some(self.keep_picture(p.clone()).await?));
        }
        let Some(token) = self.ports.directory.token(account).await? else {
            return Ok(cached);
        };
        let fetched = self.ports.graph.user_profile(token.host, &token.token, customer_id, provider).await;
        let profile = match (fetched, cached) {
            (Ok(p), _) => CustomerProfile {
                organization_id: org.clone(),
                instagram_user_id: customer_id.to_owned(),
                username: p.username,
                name: p.name,
                fetched: true,
                fetched_at: now,
                picture: p.profile_pic.map(|meta_url| ProfilePicture { meta_url, stored_key: None, copy_error: None }),
                facts: ProfileFacts {
                    follower_count: p.follower_count,
                    verified: p.is_verified_user,
                    follows_business: p.is_user_follow_business,
                    followed_by_business: p.is_business_follow_user,
                },
            },
            (Err(e), earlier) => {
                tracing::info!(code = ?e.code, status = e.http_status, "profile lookup failed; will retry later");
                match earlier.filter(|p| p.fetched) {
                    // What Meta gave before stays, asked again only after another week.
                    Some(earlier) => CustomerProfile { fetched_at: now, ..earlier },
                    None => CustomerProfile {
                        organization_id: org.clone(),
                        instagram_user_id: customer_id.to_owned(),
                        username: None,
                        name: None,
                        fetched: false,
                        fetched_at: now,
                        picture: None,
                        facts: ProfileFacts::default(),
                    },
                }
            }
        };
        self.ports.leads.put_profile(&profile).await?;
        Ok(Some(self.keep_picture(profile).await?))
    }
}
