//! DynamoDB: what a write of the table tells, read from the images its stream carries (before
//! and after). The event relay makes the log of these, as the embedded stores make theirs in
//! the write itself: a write that committed is told, whatever happened to its writer next.

use serde::de::DeserializeOwned;

use crate::domain::{ConnectedAccount, Conversation, InboxEvent, Message, StoredChange};
use crate::ports::StoreError;

use super::keys;

/// An item as the table's stream carries it.
pub type Image = serde_dynamo::Item;

/// The events a write of the item keyed `sk` tells, from its image before (none for a new
/// item) and after; none for items that are not messages, conversations or accounts.
pub fn told_by_write(sk: &str, before: Option<Image>, after: Image) -> Result<Vec<InboxEvent>, StoreError> {
    fn read<T: DeserializeOwned>(image: Image) -> Result<T, StoreError> {
        serde_dynamo::from_item(image).map_err(|e| StoreError::Backend(format!("stream image unreadable: {e}")))
    }
    let before = before.filter(|b| !b.is_empty());
    if sk.starts_with(&keys::message("")) {
        let (before, after): (Option<Message>, Message) = (before.map(read).transpose()?, read(after)?);
        Ok(StoredChange::Message { before: before.as_ref(), after: &after }.events())
    } else if sk.starts_with(&keys::conversation("")) {
        let (before, after): (Option<Conversation>, Conversation) = (before.map(read).transpose()?, read(after)?);
        Ok(StoredChange::Conversation { before: before.as_ref(), after: &after }.events())
    } else if sk.starts_with(&keys::account("")) {
        let (before, after): (Option<ConnectedAccount>, ConnectedAccount) =
            (before.map(read).transpose()?, read(after)?);
        Ok(StoredChange::Account { before: before.as_ref(), after: &after }.events())
    } else {
        Ok(Vec::new())
    }
}

/// The prefixes of the keys whose writes tell something (the relay's filter in
/// `template.yaml` lists the same).
pub fn told_prefixes() -> [String; 3] {
    [keys::message(""), keys::conversation(""), keys::account("")]
}
