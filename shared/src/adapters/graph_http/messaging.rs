//! Customers, comments and sends.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::{HttpGraphApi, Paged, call, fetch_with_usage};
use crate::ports::{
    ActionCall, GraphError, GraphHost, GraphMessaging, OutgoingMessage, SendTarget, SentMessage, ThreadCall,
    UserProfile,
};

#[async_trait]
impl GraphMessaging for HttpGraphApi {
    async fn user_profile(
        &self,
        host: GraphHost,
        access_token: &str,
        user_id: &str,
        provider: crate::domain::Provider,
    ) -> Result<UserProfile, GraphError> {
        let fields = match provider {
            crate::domain::Provider::Instagram => {
                "name,username,profile_pic,follower_count,is_verified_user,is_user_follow_business,is_business_follow_user"
            }
            crate::domain::Provider::Messenger => "name,profile_pic",
        };
        call(self.client.get(self.url_on(host, user_id)).query(&[("fields", fields)]), access_token).await
    }

    async fn live_media(
        &self,
        host: GraphHost,
        access_token: &str,
        account_id: &str,
    ) -> Result<Vec<String>, GraphError> {
        #[derive(Deserialize)]
        struct Media {
            id: String,
        }
        let url = self.url_on(host, &format!("{account_id}/live_media"));
        let live: Paged<Media> = call(self.client.get(url).query(&[("fields", "id")]), access_token).await?;
        Ok(live.data.into_iter().map(|m| m.id).collect())
    }

    async fn media_permalink(&self, host: GraphHost, access_token: &str, media_id: &str) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct Media {
            permalink: String,
        }
        let url = self.url_on(host, media_id);
        let media: Media = call(self.client.get(url).query(&[("fields", "permalink")]), access_token).await?;
        Ok(media.permalink)
    }

    async fn send(&self, target: &SendTarget<'_>, message: &OutgoingMessage<'_>) -> Result<SentMessage, GraphError> {
        let body = crate::meta::send_api::body(message);
        let url = self.url_on(target.host, &format!("{}/messages", target.sender_id));
        let (sent, usage): (SentMessage, _) =
            fetch_with_usage(self.client.post(url).json(&body).bearer_auth(target.access_token)).await?;
        Ok(SentMessage { usage, ..sent })
    }

    async fn upload_attachment(
        &self,
        target: &SendTarget<'_>,
        provider: crate::domain::Provider,
        kind: &str,
        url: &str,
    ) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct Uploaded {
            attachment_id: String,
        }
        let (edge, platform) = match (target.host, provider) {
            (GraphHost::Instagram, _) => ("messageattachments", None),
            (GraphHost::Facebook, crate::domain::Provider::Instagram) => ("message_attachments", Some("instagram")),
            (GraphHost::Facebook, crate::domain::Provider::Messenger) => ("message_attachments", None),
        };
        let body = crate::meta::send_api::attachment_upload_body(kind, url, platform);
        let url = self.url_on(target.host, &format!("{}/{edge}", target.sender_id));
        let uploaded: Uploaded = call(self.client.post(url).json(&body), target.access_token).await?;
        Ok(uploaded.attachment_id)
    }

    async fn thread_control(
        &self,
        target: &SendTarget<'_>,
        recipient_id: &str,
        request: ThreadCall<'_>,
    ) -> Result<(), GraphError> {
        let (edge, body) = match request {
            ThreadCall::Take => ("take_thread_control", serde_json::json!({ "recipient": { "id": recipient_id } })),
            ThreadCall::Pass { target_app_id } => (
                "pass_thread_control",
                serde_json::json!({ "recipient": { "id": recipient_id }, "target_app_id": target_app_id }),
            ),
        };
        let url = self.url_on(target.host, &format!("{}/{edge}", target.sender_id));
        let _: Value = call(self.client.post(url).json(&body), target.access_token).await?;
        Ok(())
    }

    async fn send_action(
        &self,
        target: &SendTarget<'_>,
        recipient_id: &str,
        action: ActionCall<'_>,
    ) -> Result<(), GraphError> {
        let body = crate::meta::send_api::action_body(recipient_id, action);
        let url = self.url_on(target.host, &format!("{}/messages", target.sender_id));
        let _: Value = call(self.client.post(url).json(&body), target.access_token).await?;
        Ok(())
    }

    async fn reply_to_comment(
        &self,
        target: &SendTarget<'_>,
        comment_id: &str,
        text: &str,
    ) -> Result<SentMessage, GraphError> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let url = self.url_on(target.host, &format!("{comment_id}/replies"));
        let request = self.client.post(url).query(&[("message", text)]).bearer_auth(target.access_token);
        let (created, usage): (Created, _) = fetch_with_usage(request).await?;
        Ok(SentMessage { message_id: created.id, recipient_id: None, usage })
    }

    async fn hide_comment(&self, target: &SendTarget<'_>, comment_id: &str, hide: bool) -> Result<(), GraphError> {
        let url = self.url_on(target.host, comment_id);
        let _: Value = call(self.client.post(url).query(&[("hide", hide)]), target.access_token).await?;
        Ok(())
    }
}
