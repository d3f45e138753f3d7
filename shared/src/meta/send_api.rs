//! The Send API's wire form of a message (`POST /{sender}/messages`).

use serde_json::{Value, json};

use crate::domain::MessagingBasis;
use crate::ports::{OutgoingContent, OutgoingMessage, Recipient};

/// The JSON body of `message`. Every send states its `messaging_type`: Messenger refuses a
/// Page send without one, and Instagram's sends take it too; a person's reply past 24 h goes
/// as `MESSAGE_TAG` with `HUMAN_AGENT`. A private reply addresses the comment, not the person.
pub fn body(message: &OutgoingMessage<'_>) -> Value {
    let recipient = match message.recipient {
        Recipient::Person(id) => json!({ "id": id }),
        Recipient::CommentAuthor(comment_id) => json!({ "comment_id": comment_id }),
    };
    let content = match message.content {
        OutgoingContent::Text(text) => json!({ "text": text }),
        OutgoingContent::Attachment { kind, url } => {
            json!({ "attachment": { "type": kind, "payload": { "url": url } } })
        }
    };
    let mut body = json!({ "recipient": recipient, "message": content });
    if let Some(metadata) = message.metadata {
        body["message"]["metadata"] = json!(metadata);
    }
    match message.basis {
        MessagingBasis::Response => body["messaging_type"] = json!("RESPONSE"),
        MessagingBasis::HumanAgent => {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_written_as_the_send_api_takes_it() {
        let dm = OutgoingMessage {
            recipient: Recipient::Person("6185"),
            content: OutgoingContent::Text("hi"),
            basis: MessagingBasis::Response,
            metadata: None,
        };
        assert_eq!(
            body(&dm),
            json!({"recipient": {"id": "6185"}, "message": {"text": "hi"}, "messaging_type": "RESPONSE"})
        );
        let tagged = OutgoingMessage {
            recipient: Recipient::CommentAuthor("1786"),
            content: OutgoingContent::Attachment { kind: "image", url: "https://x/y.jpg" },
            basis: MessagingBasis::HumanAgent,
            metadata: Some("job:job_1"),
        };
        assert_eq!(
            body(&tagged),
            json!({"recipient": {"comment_id": "1786"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                   "message": {"attachment": {"type": "image", "payload": {"url": "https://x/y.jpg"}},
                               "metadata": "job:job_1"}})
        );
    }
}
