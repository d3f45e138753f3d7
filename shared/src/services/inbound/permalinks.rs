//! Media permalinks, looked up once per media in this process, however many comment threads
//! it has (a viral post's thousands of threads share one Graph call) and however many of them
//! are enriched at once. A failed lookup is not kept: the next thread tries again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::ports::GraphError;

/// Media remembered at most; past it the memory starts afresh (a lookup each, again).
const MAX_KNOWN: usize = 10_000;

/// One media's link: known, or being looked up.
type Link = Arc<OnceCell<String>>;

#[derive(Default)]
pub(super) struct Permalinks {
    /// By (organization, media id).
    known: Mutex<HashMap<(String, String), Link>>,
}

impl Permalinks {
    /// The organization's media `media_id` permalink: known, being looked up by another task
    /// (awaited), or looked up now with `lookup`.
    pub(super) async fn get<F, Fut>(&self, org: &str, media_id: &str, lookup: F) -> Result<String, GraphError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, GraphError>>,
    {
        let cell = {
            let mut known = self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
            known.entry((org.to_owned(), media_id.to_owned())).or_default().clone()
        };
        cell.get_or_try_init(lookup).await.cloned()
    }
}
