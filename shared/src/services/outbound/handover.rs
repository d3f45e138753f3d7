//! The inbox's side of the handover protocol: taking a thread from the app that controls it
//! (before a send that asked to), and passing it back.

use crate::domain::{Conversation, ConversationChange, ConversationKind, SendPayload, ThreadControl};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::{answer_for, classify};
use crate::ports::{GraphHost, SendTarget, ThreadCall};
use crate::services::threads::conversation;

use super::Outbound;
use super::delivery::SendFailure;

impl Outbound {
    /// Before a DM's attempt: a bot app may have taken the thread since the reply was queued;
    /// only a send that asked to take it back does so, any other fails without calling Meta.
    pub(super) async fn ensure_control(
        &self,
        conversation: &Conversation,
        p: &SendPayload,
        target: &SendTarget<'_>,
    ) -> Result<(), SendFailure> {
        if !ThreadControl::held_elsewhere(conversation.thread_control.as_ref()) {
            return Ok(());
        }
        if !p.take_control {
            return Err(SendFailure::permanent(
                ErrorCode::ThreadOwnedByOtherApp,
                "another app took control of the thread before the reply went out",
            ));
        }
        self.take_thread(conversation, target).await
    }

    /// Takes the conversation's thread for this app, from the app that has it.
    async fn take_thread(&self, conversation: &Conversation, target: &SendTarget<'_>) -> Result<(), SendFailure> {
        if target.host == GraphHost::Instagram {
            return Err(SendFailure::permanent(
                ErrorCode::NotSupportedOnChannel,
                "an Instagram Login account cannot take thread control (Meta offers it through a Page)",
            ));
        }
        let taken = self.ports.graph.thread_control(target, &conversation.participant_id, ThreadCall::Take).await;
        taken.map_err(|e| SendFailure::of(classify(&e), e.message))?;
        let previous = conversation.thread_control.as_ref().and_then(|c| c.owner_app_id.clone());
        self.record_control(conversation, self.ports.config.meta_app_id.clone(), true, previous).await?;
        Ok(())
    }

    /// Passes the conversation's thread to `target_app_id`, or back to the app it was taken
    /// from; answers what is known of the thread then.
    pub async fn pass_thread(
        &self,
        org: &str,
        conversation_id: &str,
        target_app_id: Option<String>,
    ) -> Result<ThreadControl, AppError> {
        let conversation = conversation(&*self.ports.conversations, org, conversation_id).await?;
        if conversation.kind != ConversationKind::Dm {
            return Err(AppError::new(ErrorCode::NotSupportedOnChannel, "only a DM thread has a controlling app"));
        }
        let held = conversation.thread_control.as_ref();
        if ThreadControl::held_elsewhere(held) {
            return Err(AppError::thread_owned_elsewhere());
        }
        let Some(target_app) = target_app_id.or_else(|| held.and_then(|c| c.previous_owner_app_id.clone())) else {
            return Err(AppError::validation("targetAppId is required: no app had this thread before the inbox"));
        };
        let account = self.sending_account(&conversation).await?;
        let Some(token) = self.ports.directory.token(&account).await? else {
            return Err(AppError::new(ErrorCode::AccountReauthRequired, "no usable access token for the account"));
        };
        let target = token.send_target(&account);
        if target.host == GraphHost::Instagram {
            return Err(AppError::new(ErrorCode::NotSupportedOnChannel, "Instagram Login accounts have no handover"));
        }
        let call = ThreadCall::Pass { target_app_id: &target_app };
        self.ports
            .graph
            .thread_control(&target, &conversation.participant_id, call)
            .await
            .map_err(|e| answer_for(&e, "Meta refused to pass the thread"))?;
        let ours = self.ports.config.meta_app_id.clone();
        self.record_control(&conversation, Some(target_app), false, ours).await
    }

    async fn record_control(
        &self,
        conversation: &Conversation,
        owner_app_id: Option<String>,
        ours: bool,
        previous_owner_app_id: Option<String>,
    ) -> Result<ThreadControl, AppError> {
        let control = ThreadControl { owner_app_id, ours, previous_owner_app_id, at: self.now() };
        let change = ConversationChange::ThreadControl(control.clone());
        self.ports.conversations.change_conversation(&conversation.organization_id, &conversation.id, &change).await?;
        Ok(control)
    }
}
