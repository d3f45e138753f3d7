//! The Send API's wire form of a message (`POST /{sender}/messages`).

use serde_json::{Value, json};

use crate::domain::{Button, Element, MessagingBasis, QuickReply, Template};
use crate::ports::{ActionCall, OutgoingContent, OutgoingMessage, Recipient};

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
        OutgoingContent::Uploaded { kind, attachment_id } => {
            json!({ "attachment": { "type": kind, "payload": { "attachment_id": attachment_id } } })
        }
        OutgoingContent::Choices { text, replies } => {
            json!({ "text": text, "quick_replies": replies.iter().map(quick_reply).collect::<Vec<_>>() })
        }
        OutgoingContent::Template(template) => json!({ "attachment": template_attachment(template) }),
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

/// The body of an attachment upload (`message_attachments`): the file at `url`, kept for
/// reuse; on a Page, `platform` says an Instagram account's.
pub fn attachment_upload_body(kind: &str, url: &str, platform: Option<&str>) -> Value {
    let mut body = json!({ "message": { "attachment": {
        "type": kind, "payload": { "url": url, "is_reusable": true },
    }}});
    if let Some(platform) = platform {
        body["platform"] = json!(platform);
    }
    body
}

/// The body of a sender action to `recipient_id`.
pub fn action_body(recipient_id: &str, action: ActionCall<'_>) -> Value {
    let (name, payload) = match action {
        ActionCall::TypingOn => ("typing_on", None),
        ActionCall::TypingOff => ("typing_off", None),
        ActionCall::MarkSeen => ("mark_seen", None),
        ActionCall::React { message_id, reaction } => {
            ("react", Some(json!({ "message_id": message_id, "reaction": reaction })))
        }
        ActionCall::Unreact { message_id } => ("unreact", Some(json!({ "message_id": message_id }))),
    };
    let mut body = json!({ "recipient": { "id": recipient_id }, "sender_action": name });
    if let Some(payload) = payload {
        body["payload"] = payload;
    }
    body
}

fn quick_reply(reply: &QuickReply) -> Value {
    match reply {
        QuickReply::Text { title, payload, image_url } => {
            let mut r = json!({ "content_type": "text", "title": title, "payload": payload });
            if let Some(url) = image_url {
                r["image_url"] = json!(url);
            }
            r
        }
        QuickReply::UserEmail => json!({ "content_type": "user_email" }),
        QuickReply::UserPhoneNumber => json!({ "content_type": "user_phone_number" }),
    }
}

pub(crate) fn button(b: &Button) -> Value {
    match b {
        Button::WebUrl { title, url } => json!({ "type": "web_url", "title": title, "url": url }),
        Button::Postback { title, payload } => json!({ "type": "postback", "title": title, "payload": payload }),
    }
}

fn element(e: &Element) -> Value {
    let mut card = json!({ "title": e.title });
    if let Some(subtitle) = &e.subtitle {
        card["subtitle"] = json!(subtitle);
    }
    if let Some(url) = &e.image_url {
        card["image_url"] = json!(url);
    }
    if let Some(url) = &e.default_url {
        card["default_action"] = json!({ "type": "web_url", "url": url });
    }
    if !e.buttons.is_empty() {
        card["buttons"] = e.buttons.iter().map(button).collect();
    }
    card
}

/// A template as the Send API takes it and its echo gives it back:
/// `{"type":"template","payload":{"template_type",...}}`.
pub fn template_attachment(template: &Template) -> Value {
    let payload = match template {
        Template::Generic { elements } => {
            json!({ "template_type": "generic", "elements": elements.iter().map(element).collect::<Vec<_>>() })
        }
        Template::Button { text, buttons } => {
            json!({ "template_type": "button", "text": text, "buttons": buttons.iter().map(button).collect::<Vec<_>>() })
        }
    };
    json!({ "type": "template", "payload": payload })
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

    #[test]
    fn choices_and_templates_are_written_in_meta_s_names() {
        let replies =
            [QuickReply::Text { title: "Red".into(), payload: "RED".into(), image_url: None }, QuickReply::UserEmail];
        let choices = OutgoingMessage {
            recipient: Recipient::Person("6185"),
            content: OutgoingContent::Choices { text: "Colour?", replies: &replies },
            basis: MessagingBasis::Response,
            metadata: None,
        };
        assert_eq!(
            body(&choices)["message"],
            json!({"text": "Colour?", "quick_replies": [
                {"content_type": "text", "title": "Red", "payload": "RED"}, {"content_type": "user_email"}]})
        );
        let card = Element {
            title: "Sandals".into(),
            subtitle: Some("In stock".into()),
            image_url: None,
            default_url: Some("https://shop.example/s".into()),
            buttons: vec![Button::Postback { title: "Buy".into(), payload: "BUY_S".into() }],
        };
        assert_eq!(
            template_attachment(&Template::Generic { elements: vec![card] }),
            json!({"type": "template", "payload": {"template_type": "generic", "elements": [{
                "title": "Sandals", "subtitle": "In stock",
                "default_action": {"type": "web_url", "url": "https://shop.example/s"},
                "buttons": [{"type": "postback", "title": "Buy", "payload": "BUY_S"}]}]}})
        );
    }
}
