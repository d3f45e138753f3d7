//! Webhook routing (external account id → account) served from memory for a short time: a
//! 1000-item backlog for one account then costs one lookup, not a thousand (DynamoDB), and a
//! DM's routing does not wait for the lock another DM's write holds (the memory store). Every
//! account write made through the store empties the cache, so only other processes' writes
//! wait out `ROUTE_CACHE_TTL`. An id that routes nowhere is kept only by a store no other
//! process writes (`keeping_absent`); elsewhere an account connected by another process is
//! seen at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::domain::ConnectedAccount;
use crate::ports::ROUTE_CACHE_TTL;

/// External id → when it was looked up, and what it routed to.
type Routes = HashMap<String, (Instant, Option<ConnectedAccount>)>;

#[derive(Clone, Default)]
pub struct RouteCache {
    routes: Arc<Mutex<Routes>>,
    keeps_absent: bool,
}

impl RouteCache {
    /// For a store every write goes through (one process, `clear` on each account write): an
    /// id found to route nowhere is kept too.
    pub fn keeping_absent() -> Self {
        RouteCache { keeps_absent: true, ..Self::default() }
    }

    /// `Some` when the cache answers: the account, or (`keeping_absent`) that there is none.
    pub fn get(&self, external_id: &str) -> Option<Option<ConnectedAccount>> {
        let routes = self.routes.lock().expect("route cache poisoned");
        let (at, found) = routes.get(external_id)?;
        (at.elapsed() < ROUTE_CACHE_TTL).then(|| found.clone())
    }

    pub fn put(&self, external_id: &str, found: Option<&ConnectedAccount>) {
        if found.is_none() && !self.keeps_absent {
            return;
        }
        let mut routes = self.routes.lock().expect("route cache poisoned");
        routes.retain(|_, (at, _)| at.elapsed() < ROUTE_CACHE_TTL);
        routes.insert(external_id.to_owned(), (Instant::now(), found.cloned()));
    }

    pub fn clear(&self) {
        self.routes.lock().expect("route cache poisoned").clear();
    }
}
