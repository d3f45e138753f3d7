//! Comments in: each comment on an account's media becomes a message in its thread's
//! conversation (one per top-level comment: the comment and every reply to it), beside the
//! account's DM conversations. Redeliveries are recognised by the comment id (the message's
//! Meta id); edits and removals change the stored comment, or wait for it.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::{
    Activity, CommentThread, ConnectedAccount, Conversation, ConversationChange, Direction, Message, MessageStatus,
    Provider, preview_text,
};
use crate::error::AppError;
use crate::meta::comments::Comment;
use crate::meta::webhook::Item;

use super::{Inbound, Outcome};

impl Inbound {
    pub(super) async fn accept_comment(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        c: &Comment,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        // (Edits and removals are changes: `inbound::change_of` routes them.)
        let org = &account.organization_id;
        if self.ports.messages.message_id_by_external_id(org, &c.id).await?.is_some() {
            return Ok(Outcome::Duplicate);
        }
        let conversation = self.comment_thread_for(account, item, c, at).await?;
        let now = self.now();
        // Our own reply, as Meta notifies it too: the account's side of the thread, and the
        // echo that confirms a public reply whose answer was lost (`confirm.rs`).
        let ours = [Some(&item.event.sender), c.from_id.as_ref()]
            .into_iter()
            .flatten()
            .any(|id| *id == account.external_account_id);
        let direction = if ours { Direction::Outbound } else { Direction::Inbound };
        let to = if ours { &conversation.participant_id } else { &account.external_account_id };
        let message = Message {
            id: Message::new_id(),
            organization_id: org.clone(),
            conversation_id: conversation.id.clone(),
            provider: Provider::Instagram,
            direction,
            from: item.event.sender.clone(),
            to: to.clone(),
            text: c.text.clone(),
            attachments: Vec::new(),
            status: if direction == Direction::Inbound { MessageStatus::Received } else { MessageStatus::Sent },
            error_code: None,
            external_message_id: Some(c.id.clone()),
            meta_json: comment_meta(c, ours),
            created_at: at,
            updated_at: now,
        };
        let preview = match (&c.text, c.mention) {
            (Some(text), _) => preview_text(text),
            (None, true) => "Mentioned you in a comment".to_owned(),
            (None, false) => String::new(),
        };
        let activity = Activity::live(direction, at, Some(preview), now);
        self.append_new(&conversation, &message, &activity).await
    }

    /// The conversation of the comment's thread (its top-level comment), opened by the first
    /// comment of it that arrives; the commenter's handle comes with the webhook.
    async fn comment_thread_for(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        c: &Comment,
        at: DateTime<Utc>,
    ) -> Result<Conversation, AppError> {
        let org = &account.organization_id;
        let key = CommentThread::thread_key(c.thread_root());
        if let Some(found) = self.ports.conversations.find_conversation(org, &account.id, &key).await? {
            return Ok(found);
        }
        let thread = CommentThread {
            comment_id: c.thread_root().to_owned(),
            media_id: c.media_id.clone(),
            media_product_type: c.media_product_type.clone(),
            permalink: None,
            live: c.live,
        };
        let mut fresh = Conversation::comment_thread(org, &account.id, &item.event.sender, thread, at, self.now());
        // The thread is named after its first commenter, but a broadcast's has many.
        fresh.handle = c.username.clone().filter(|_| c.parent_id.is_none() && !c.live);
        Ok(self.ports.conversations.create_conversation(&fresh).await?)
    }
}

impl Inbound {
    /// A comment thread's media link, fetched once per media (a failure is tried again with
    /// the thread's next comment; the thread does without it meanwhile).
    pub(super) async fn fetch_permalink(&self, account: &ConnectedAccount, c: &Conversation) -> Result<(), AppError> {
        let Some(thread) = c.comment.as_ref().filter(|t| t.permalink.is_none()) else { return Ok(()) };
        let Some(media_id) = thread.media_id.as_deref() else { return Ok(()) };
        let Some(token) = self.ports.directory.token(account).await? else { return Ok(()) };
        let lookup = || self.ports.graph.media_permalink(token.host, &token.token, media_id);
        match self.permalinks.get(&c.organization_id, media_id, lookup).await {
            Ok(permalink) => {
                let thread = CommentThread { permalink: Some(permalink), ..thread.clone() };
                let change = ConversationChange::CommentThread(thread);
                self.ports.conversations.change_conversation(&c.organization_id, &c.id, &change).await?;
            }
            Err(e) => tracing::info!(code = ?e.code, status = e.http_status, "media permalink lookup failed"),
        }
        Ok(())
    }
}

/// What the inbox shows of a comment beside its text.
fn comment_meta(c: &Comment, ours: bool) -> serde_json::Value {
    let mut meta = json!({
        "commentId": c.id,
        "parentId": c.parent_id,
        "mediaId": c.media_id,
        "mediaProductType": c.media_product_type,
        "username": c.username,
    });
    if c.mention {
        meta["mention"] = true.into();
    }
    if ours {
        meta["isEcho"] = true.into();
    }
    meta
}
