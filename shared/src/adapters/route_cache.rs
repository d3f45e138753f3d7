//! Webhook routing (external account id → account) served from memory for a short time: a
//! 1000-item backlog for one account then costs one lookup, not a thousand (DynamoDB), and a
//! DM's routing does not wait for the lock another DM's write holds (the memory store). Only
//! accounts found are kept (an account connected elsewhere is seen at once), and every account
//! write made through the store empties the cache, so only other processes' writes wait out
//! `ROUTE_CACHE_TTL`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::domain::ConnectedAccount;
use crate::ports::ROUTE_CACHE_TTL;

#[derive(Clone, Default)]
pub struct RouteCache(Arc<Mutex<HashMap<String, (Instant, ConnectedAccount)>>>);

impl RouteCache {
    pub fn get(&self, external_id: &str) -> Option<ConnectedAccount> {
        let routes = self.0.lock().expect("route cache poisoned");
        let (at, account) = routes.get(external_id)?;
        (at.elapsed() < ROUTE_CACHE_TTL).then(|| account.clone())
    }

    pub fn put(&self, external_id: &str, account: &ConnectedAccount) {
        let mut routes = self.0.lock().expect("route cache poisoned");
        routes.retain(|_, (at, _)| at.elapsed() < ROUTE_CACHE_TTL);
        routes.insert(external_id.to_owned(), (Instant::now(), account.clone()));
    }

    pub fn clear(&self) {
        self.0.lock().expect("route cache poisoned").clear();
    }
}
