//! Answering comments: a public reply under the thread's comment, a private reply to a
//! comment's author (their DM conversation, opened or joined), and hiding a comment.
//!
//! Both replies are queued sends (`send::queue_send`): the same job, retries, pacing and
//! exactly-once rules as DMs; only the Graph call differs (`SendRoute`). A private reply is
//! allowed once per comment and within `PRIVATE_REPLY_WINDOW` of it, as Meta allows.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{
    Author, Caller, ConnectedAccount, Conversation, ConversationKind, Message, MessageChange, PRIVATE_REPLY_WINDOW,
};
use crate::error::{AppError, ErrorCode};

use super::Outbound;
use super::send::{Ids, Outgoing, Queued, Reserved, SendAccepted};
use crate::domain::SendRoute;
use crate::services::threads::{conversation, open_conversation};

/// The answer of `reply-private`: the send, and the DM conversation it went into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateReplyAccepted {
    #[serde(flatten)]
    pub accepted: SendAccepted,
    pub conversation_id: String,
}

impl Outbound {
    /// Queues a public reply in the comment thread `conversation_id`, under its top-level
    /// comment (Instagram nests replies one level: a reply to a reply joins the same list).
    /// With an Idempotency-Key, the same key and request answer the same and post once.
    pub async fn reply_public(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: String,
        idempotency_key: Option<&str>,
    ) -> Result<SendAccepted, AppError> {
        let org = caller.organization_id.as_str();
        let content = Outgoing::Text(text);
        let (thread, account) = self.comment_reply_target(org, conversation_id).await?;
        content.validate(thread.provider)?;
        if thread.comment.as_ref().is_some_and(|t| t.live) {
            return Err(AppError::new(
                ErrorCode::PublicReplyUnavailable,
                "a live broadcast's comments take private replies only",
            ));
        }
        let fingerprint = format!("public\0{}", content.fingerprint());
        let ids = match self.send_ids(org, idempotency_key, conversation_id, &fingerprint).await? {
            Ids::Go(ids) => ids,
            Ids::Done(first) => return Ok(first),
        };
        let comment_id = thread.comment.as_ref().map(|c| c.comment_id.clone()).unwrap_or_default();
        let queued = Queued {
            conversation: &thread,
            account: Some(&account),
            author: Author::Person,
            route: SendRoute::PublicReply { comment_id },
            by: caller.subject.as_deref(),
            take_control: false,
        };
        self.queue_send(org, queued, content, ids).await
    }

    /// Queues a private reply to the author of `comment_id` (by default the thread's
    /// top-level comment), into their DM conversation with the account. With an
    /// Idempotency-Key, the same key and request answer the same (not 409).
    pub async fn reply_private(
        &self,
        caller: &Caller,
        conversation_id: &str,
        reply: PrivateReply<'_>,
    ) -> Result<PrivateReplyAccepted, AppError> {
        let org = caller.organization_id.as_str();
        let content = Outgoing::Text(reply.text.to_owned());
        let (thread, account) = self.comment_reply_target(org, conversation_id).await?;
        content.validate(thread.provider)?;
        let live = thread.comment.as_ref().is_some_and(|t| t.live);
        if live && reply.comment_id.is_none() {
            return Err(AppError::validation("commentId is required in a live broadcast's thread"));
        }
        let comment = self.thread_comment(&thread, reply.comment_id).await?;
        let comment_id = comment.external_message_id.clone().unwrap_or_default();
        let fingerprint = format!("private\0{comment_id}\0{}", content.fingerprint());
        let ids = match self.send_ids(org, reply.idempotency_key, conversation_id, &fingerprint).await? {
            Ids::Go(ids) => ids,
            Ids::Done(first) => {
                let sent = self.ports.messages.get_message(org, &first.message_id).await?;
                let conversation_id = sent.map(|m| m.conversation_id).unwrap_or_default();
                return Ok(PrivateReplyAccepted { accepted: first, conversation_id });
            }
        };
        if comment.from.is_empty() || comment.from == account.external_account_id {
            return Err(AppError::new(
                ErrorCode::PrivateReplyUnavailable,
                "this comment has no author to reply to privately (a mention, or the account's own)",
            ));
        }
        let open = match thread.comment.as_ref().filter(|t| t.live) {
            Some(broadcast) => self.broadcast_is_live(&account, &broadcast.comment_id).await?,
            None => self.now() < comment.created_at + PRIVATE_REPLY_WINDOW,
        };
        if !open {
            return Err(AppError::new(
                ErrorCode::PrivateReplyWindowClosed,
                "Meta allows a private reply within 7 days of the comment, or during the live broadcast",
            ));
        }
        let accepted = self.reserve_private_reply(org, &comment_id, &fingerprint, ids).await?;
        let dm = open_conversation(&*self.ports.conversations, &account, &comment.from, self.now(), self.now()).await?;
        let queued = Queued {
            conversation: &dm,
            account: Some(&account),
            author: Author::Person,
            route: SendRoute::PrivateReply { comment_id },
            by: caller.subject.as_deref(),
            take_control: false,
        };
        let accepted = self.queue_send(org, queued, content, accepted).await?;
        Ok(PrivateReplyAccepted { accepted, conversation_id: dm.id })
    }

    /// Hides (or shows again) a comment of the thread, at once (no queue: nothing is sent to
    /// anyone, and the agent wants to see it done). Answers the comment as stored after.
    pub async fn hide_comment(
        &self,
        caller: &Caller,
        conversation_id: &str,
        comment_id: Option<&str>,
        hidden: bool,
    ) -> Result<Message, AppError> {
        let org = caller.organization_id.as_str();
        let (thread, account) = self.comment_reply_target(org, conversation_id).await?;
        let comment = self.thread_comment(&thread, comment_id).await?;
        let Some(token) = self.ports.directory.token(&account).await? else {
            return Err(AppError::new(ErrorCode::AccountReauthRequired, "no usable access token for the account"));
        };
        let external_id = comment.external_message_id.as_deref().unwrap_or_default();
        self.ports
            .graph
            .hide_comment(&token.send_target(&account), external_id, hidden)
            .await
            .map_err(graph_refusal)?;
        let change = MessageChange::Hidden { hidden, by: caller.subject.clone() };
        let stored = self.ports.messages.update_message(org, &comment.id, &change, self.now()).await?;
        let stored = stored.ok_or_else(|| AppError::not_found("comment"))?;
        Ok(stored)
    }

    /// Whether the account's live broadcast `media_id` is still on the air (Meta lists the
    /// account's live media while they broadcast).
    async fn broadcast_is_live(&self, account: &ConnectedAccount, media_id: &str) -> Result<bool, AppError> {
        let Some(token) = self.ports.directory.token(account).await? else {
            return Err(AppError::new(ErrorCode::AccountReauthRequired, "no usable access token for the account"));
        };
        let live = self.ports.graph.live_media(token.host, &token.token, &account.external_account_id).await;
        Ok(live.map_err(graph_refusal)?.iter().any(|id| id == media_id))
    }

    /// The comment thread and its account, if the account can send.
    pub(super) async fn comment_reply_target(
        &self,
        org: &str,
        conversation_id: &str,
    ) -> Result<(Conversation, ConnectedAccount), AppError> {
        let thread = conversation(&*self.ports.conversations, org, conversation_id).await?;
        if thread.kind != ConversationKind::Comment {
            return Err(AppError::new(ErrorCode::NotACommentThread, "this conversation is not a comment thread"));
        }
        let account = self.sending_account(&thread).await?;
        Ok((thread, account))
    }

    /// The thread's comment `comment_id` (a Meta comment id), or its top-level comment.
    async fn thread_comment(&self, thread: &Conversation, comment_id: Option<&str>) -> Result<Message, AppError> {
        let top = thread.comment.as_ref().map(|c| c.comment_id.as_str());
        let wanted = comment_id.or(top).unwrap_or_default();
        let found = self.ports.messages.find_message_by_external_id(&thread.organization_id, wanted).await?;
        found
            .filter(|m| m.conversation_id == thread.id)
            .ok_or_else(|| AppError::new(ErrorCode::CommentNotFound, "no such comment in this thread"))
    }

    /// Claims the comment's one private reply for the send `fresh` of `fingerprint` (its
    /// text), in one conditional write: of two agents at once, one wins and the other is
    /// refused, whatever each wrote. The same reply whose first try died before its job
    /// existed is finished under its ids; anything else is refused.
    async fn reserve_private_reply(
        &self,
        org: &str,
        comment_id: &str,
        fingerprint: &str,
        fresh: SendAccepted,
    ) -> Result<SendAccepted, AppError> {
        let key = format!("private-reply#{comment_id}");
        let digest = hex::encode(Sha256::digest(fingerprint));
        match self.claim_ids(org, &key, &digest, &fresh).await? {
            Reserved::New => Ok(fresh),
            Reserved::Unfinished(first) => Ok(first),
            Reserved::Done(first) | Reserved::Taken(first) => Err(AppError::new(
                ErrorCode::PrivateReplyAlreadySent,
                format!("this comment already has its private reply (job {})", first.job_id),
            )),
        }
    }
}

/// What an agent's private reply says, to which comment, under which Idempotency-Key.
pub struct PrivateReply<'a> {
    pub text: &'a str,
    pub comment_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

/// A Graph refusal of a call made on the agent's behalf, as the API answers it.
fn graph_refusal(e: crate::ports::GraphError) -> AppError {
    match e.code {
        Some(190) => AppError::new(ErrorCode::AccountReauthRequired, "Meta refused the account's token"),
        _ if e.is_transient || e.http_status >= 500 || e.http_status == 0 => {
            AppError::new(ErrorCode::MetaUnavailable, "Meta did not answer; try again")
        }
        _ => AppError::new(ErrorCode::MetaRequestRejected, format!("Meta refused: {}", e.message)),
    }
}
