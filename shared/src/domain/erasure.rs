//! How far an erasure got: the records one request removed, and whether anything is left.

use serde::Serialize;

/// Store calls one erasure request makes at most, each bounded to `ERASURE_PAGE` records, so
/// a request ends well inside API Gateway's 30 s; the caller asks again until `done`.
pub const ERASURE_CALLS_PER_REQUEST: usize = 200;
/// Records one store call removes at most.
pub const ERASURE_PAGE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureProgress {
    /// Records this request removed (or unlinked).
    pub removed: usize,
    /// Nothing is left to remove: a later request removes nothing more.
    pub done: bool,
}

/// Runs `page` (one bounded store call: how many records it removed, 0 when none is left)
/// until nothing is left or `calls` runs out; what it removed and whether it finished.
pub async fn erase_in_pages<F, Fut, E>(calls: &mut usize, mut page: F) -> Result<ErasureProgress, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, E>>,
{
    let mut removed = 0;
    while *calls > 0 {
        *calls -= 1;
        match page().await? {
            0 => return Ok(ErasureProgress { removed, done: true }),
            n => removed += n,
        }
    }
    Ok(ErasureProgress { removed, done: false })
}
