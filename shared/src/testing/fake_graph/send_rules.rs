//! The Send API's documented rules, which Meta's spec leaves out (it types `message` as a bare
//! object): who may be addressed, `messaging_type` on Messenger, text and quick-reply limits,
//! templates, sender actions. See `../shared/fixtures/meta/specs/README.md`.

use serde_json::{Map, Value};

use super::refusal::Refusal;
use super::spec::{Params, as_object, scalar};
use super::world::{Object, World};

/// Instagram's text limit, in UTF-8 bytes.
const INSTAGRAM_TEXT_BYTES: usize = 1000;
/// Messenger's text limit, in characters.
const MESSENGER_TEXT_CHARS: usize = 2000;
/// `message.metadata`: a string the Send API hands back on the echo, 1000 characters at most.
const METADATA_CHARS: usize = 1000;
const MAX_QUICK_REPLIES: usize = 13;
/// A quick reply's or a button's title.
const TITLE_CHARS: usize = 20;
const PAYLOAD_CHARS: usize = 1000;
/// A card's title and subtitle.
const ELEMENT_TEXT_CHARS: usize = 80;
const BUTTON_TEXT_CHARS: usize = 640;
const MESSENGER_TAGS: [&str; 4] = ["HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"];

/// The channel a send goes out on, from whom it addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Instagram,
    Messenger,
}

/// Checks a `POST /{sender}/messages` body. `instagram_host`: sent on graph.instagram.com
/// (Instagram Login), where only Instagram people can be addressed.
pub fn check(params: &Params, world: &World, instagram_host: bool) -> Result<(), Refusal> {
    let recipient = params.get("recipient").and_then(as_object).unwrap_or_default();
    let channel = channel_of(&recipient, world, instagram_host)?;
    let message = params
        .get("message")
        .map(|m| as_object(m).ok_or_else(|| Refusal::param("Param message must be a JSON object")));
    let action = params.get("sender_action").map(scalar);
    match (message, action) {
        (Some(_), Some(_)) => return Err(Refusal::param("Cannot send a message and a sender_action in one request")),
        (None, None) => return Err(Refusal::param("The parameter message or sender_action is required")),
        (Some(message), None) => {
            check_owner(&recipient, world)?;
            check_message(&message?, channel)?
        }
        (None, Some(action)) => check_action(&action, params, channel)?,
    }
    check_messaging_type(params, channel)
}

/// A thread another app controls takes no message from ours (Meta's permission error).
fn check_owner(recipient: &Map<String, Value>, world: &World) -> Result<(), Refusal> {
    let customer = recipient.get("id").and_then(crate::meta::id_string).unwrap_or_default();
    match world.thread_owners.get(&customer) {
        Some(app) => Err(Refusal {
            status: 403,
            code: 10,
            subcode: None,
            kind: "OAuthException",
            message: format!(
                "(#10) Application does not have permission for this action: app {app} controls the thread"
            ),
        }),
        None => Ok(()),
    }
}

/// The recipient must be someone Meta knows on a channel the sender can reach.
fn channel_of(recipient: &Map<String, Value>, world: &World, instagram_host: bool) -> Result<Channel, Refusal> {
    let id_of = |k: &str| recipient.get(k).and_then(crate::meta::id_string);
    if let Some(comment) = id_of("comment_id") {
        return match world.object(&comment) {
            Some(Object::InstagramComment) => Ok(Channel::Instagram),
            _ => Err(Refusal::unsupported("post", &comment)),
        };
    }
    if !instagram_host && (id_of("post_id").is_some() || id_of("user_ref").is_some()) {
        return Ok(Channel::Messenger);
    }
    let Some(id) = id_of("id") else {
        return Err(Refusal::param("param recipient must be non-empty."));
    };
    match world.object(&id) {
        Some(Object::InstagramUser) => Ok(Channel::Instagram),
        Some(Object::MessengerUser) if !instagram_host => Ok(Channel::Messenger),
        _ => Err(Refusal::no_matching_user()),
    }
}

/// Messenger sends say why they are sent (`RESPONSE`, `UPDATE`, or `MESSAGE_TAG` with a tag);
/// a tag only comes with `MESSAGE_TAG`.
fn check_messaging_type(params: &Params, channel: Channel) -> Result<(), Refusal> {
    let messaging_type = params.get("messaging_type").map(scalar).map(|t| t.to_uppercase());
    let tag = params.get("tag").map(scalar);
    if channel == Channel::Messenger && messaging_type.is_none() && params.get("sender_action").is_none() {
        return Err(Refusal::param("The parameter messaging_type is required"));
    }
    match (messaging_type.as_deref(), tag) {
        (Some("MESSAGE_TAG"), None) => Err(Refusal::param("The parameter tag is required with MESSAGE_TAG")),
        (Some("MESSAGE_TAG"), Some(tag)) => {
            let allowed: &[&str] = match channel {
                Channel::Messenger => &MESSENGER_TAGS,
                Channel::Instagram => &["HUMAN_AGENT"],
            };
            if allowed.contains(&tag.as_str()) {
                Ok(())
            } else {
                Err(Refusal::param(format!("Param tag must be one of {{{}}} - got \"{tag}\"", allowed.join(", "))))
            }
        }
        (_, Some(_)) => Err(Refusal::param("Param tag is only allowed with messaging_type MESSAGE_TAG")),
        _ => Ok(()),
    }
}

fn check_message(message: &Map<String, Value>, channel: Channel) -> Result<(), Refusal> {
    let text = message.get("text");
    let attachment = message.get("attachment").or(message.get("attachments"));
    match (text, attachment) {
        (Some(_), Some(_)) => return Err(Refusal::param("Param message must have text or an attachment, not both")),
        (None, None) => return Err(Refusal::param("Param message must have text or an attachment")),
        (Some(text), None) => check_text(text, channel)?,
        (None, Some(attachment)) => check_attachments(attachment, channel)?,
    }
    if let Some(replies) = message.get("quick_replies") {
        // Instagram's quick replies go under a text only.
        if channel == Channel::Instagram && text.is_none() {
            return Err(Refusal::param("Param message[quick_replies] requires message[text] on Instagram"));
        }
        check_quick_replies(replies, channel)?;
    }
    if let Some(metadata) = message.get("metadata")
        && metadata.as_str().is_none_or(|m| m.chars().count() > METADATA_CHARS)
    {
        return Err(Refusal::param(format!(
            "Param message[metadata] must be a string of at most {METADATA_CHARS} characters"
        )));
    }
    Ok(())
}

fn check_text(text: &Value, channel: Channel) -> Result<(), Refusal> {
    let Some(text) = text.as_str().filter(|t| !t.trim().is_empty()) else {
        return Err(Refusal::param("Param message[text] must be a non-empty UTF-8 encoded string"));
    };
    let (too_long, limit) = match channel {
        Channel::Instagram => (text.len() > INSTAGRAM_TEXT_BYTES, INSTAGRAM_TEXT_BYTES),
        Channel::Messenger => (text.chars().count() > MESSENGER_TEXT_CHARS, MESSENGER_TEXT_CHARS),
    };
    if too_long {
        return Err(Refusal::param(format!("Length of param message[text] must be less than or equal to {limit}")));
    }
    Ok(())
}

fn check_attachments(attachment: &Value, channel: Channel) -> Result<(), Refusal> {
    let list = match attachment {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    for a in &list {
        let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
        if !["image", "video", "audio", "file", "template", "MEDIA_SHARE"].contains(&kind) {
            return Err(Refusal::param(format!("Param message[attachment][type] is invalid: \"{kind}\"")));
        }
        let payload = a.get("payload").and_then(Value::as_object);
        let addressed =
            payload.is_some_and(|p| p.contains_key("url") || p.contains_key("attachment_id") || p.contains_key("id"));
        if kind == "template" {
            check_template(payload.cloned().unwrap_or_default(), channel)?;
        } else if !addressed {
            return Err(Refusal::param("Param message[attachment][payload] must have a url or an attachment_id"));
        }
    }
    Ok(())
}

/// A string of 1 to `max` characters at `at`.
fn bounded(value: Option<&Value>, at: &str, max: usize) -> Result<(), Refusal> {
    match value.and_then(Value::as_str) {
        Some(v) if !v.trim().is_empty() && v.chars().count() <= max => Ok(()),
        _ => Err(Refusal::param(format!("Param {at} must be a non-empty string of at most {max} characters"))),
    }
}

fn check_template(payload: Map<String, Value>, channel: Channel) -> Result<(), Refusal> {
    let at = "message[attachment][payload]";
    match payload.get("template_type").and_then(Value::as_str) {
        Some("generic") => {
            let elements = payload.get("elements").and_then(Value::as_array);
            let Some(elements) = elements.filter(|e| !e.is_empty() && e.len() <= 10) else {
                return Err(Refusal::param(format!("Param {at}[elements] must have 1 to 10 elements")));
            };
            for (i, e) in elements.iter().enumerate() {
                let at = format!("{at}[elements][{i}]");
                bounded(e.get("title"), &format!("{at}[title]"), ELEMENT_TEXT_CHARS)?;
                if let Some(subtitle) = e.get("subtitle") {
                    bounded(Some(subtitle), &format!("{at}[subtitle]"), ELEMENT_TEXT_CHARS)?;
                }
                if let Some(buttons) = e.get("buttons") {
                    check_buttons(buttons, &at, channel)?;
                }
            }
            Ok(())
        }
        Some("button") => {
            bounded(payload.get("text"), &format!("{at}[text]"), BUTTON_TEXT_CHARS)?;
            check_buttons(payload.get("buttons").unwrap_or(&Value::Null), at, channel)
        }
        Some(_) if channel == Channel::Messenger => Ok(()),
        other => Err(Refusal::param(format!("Param {at}[template_type] is invalid: {other:?}"))),
    }
}

fn check_buttons(buttons: &Value, at: &str, channel: Channel) -> Result<(), Refusal> {
    let Some(buttons) = buttons.as_array().filter(|b| !b.is_empty() && b.len() <= 3) else {
        return Err(Refusal::param(format!("Param {at}[buttons] must have 1 to 3 buttons")));
    };
    for (i, b) in buttons.iter().enumerate() {
        let at = format!("{at}[buttons][{i}]");
        bounded(b.get("title"), &format!("{at}[title]"), TITLE_CHARS)?;
        match b.get("type").and_then(Value::as_str) {
            Some("web_url") if b.get("url").and_then(Value::as_str).is_some_and(|u| u.starts_with("http")) => {}
            Some("postback") => bounded(b.get("payload"), &format!("{at}[payload]"), PAYLOAD_CHARS)?,
            Some("phone_number") if channel == Channel::Messenger => {}
            _ => return Err(Refusal::param(format!("Param {at} is not a valid button"))),
        }
    }
    Ok(())
}

fn check_quick_replies(replies: &Value, channel: Channel) -> Result<(), Refusal> {
    let Some(replies) = replies.as_array().filter(|r| r.len() <= MAX_QUICK_REPLIES) else {
        return Err(Refusal::param(format!(
            "Param message[quick_replies] must have at most {MAX_QUICK_REPLIES} items"
        )));
    };
    for (i, reply) in replies.iter().enumerate() {
        let at = format!("message[quick_replies][{i}]");
        match reply.get("content_type").and_then(Value::as_str) {
            Some("user_phone_number" | "user_email") => {}
            Some("text") => {
                bounded(reply.get("title"), &format!("{at}[title]"), TITLE_CHARS)?;
                bounded(reply.get("payload"), &format!("{at}[payload]"), PAYLOAD_CHARS)?;
                if channel == Channel::Instagram && reply.get("image_url").is_some() {
                    return Err(Refusal::param(format!("Param {at}[image_url] is not supported on Instagram")));
                }
            }
            _ => return Err(Refusal::param(format!("Param {at}[content_type] is invalid"))),
        }
    }
    Ok(())
}

/// Typing and seen anywhere; a reaction needs the message, and on Instagram is `love` only
/// (Messenger takes an emoji); `unreact` names the message only.
fn check_action(action: &str, params: &Params, channel: Channel) -> Result<(), Refusal> {
    let payload = params.get("payload").and_then(as_object).unwrap_or_default();
    let message_id = payload.get("message_id").and_then(Value::as_str).filter(|m| !m.is_empty());
    let reaction = payload.get("reaction").and_then(Value::as_str);
    match action.to_lowercase().as_str() {
        "typing_on" | "typing_off" | "mark_seen" => Ok(()),
        "react" | "unreact" if message_id.is_none() => {
            Err(Refusal::param(format!("Param payload[message_id] is required to {action}")))
        }
        "react" => match (channel, reaction) {
            (Channel::Instagram, Some("love")) => Ok(()),
            (Channel::Messenger, Some(r)) if !r.is_empty() && !r.is_ascii() => Ok(()),
            _ => Err(Refusal::param(format!("Param payload[reaction] is invalid: {reaction:?}"))),
        },
        "unreact" if reaction.is_some() => Err(Refusal::param("Param payload[reaction] is not taken by unreact")),
        "unreact" => Ok(()),
        _ => Err(Refusal::param(format!("Param sender_action is invalid for this recipient: \"{action}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn world() -> World {
        let mut w = World::default();
        w.know("igsid", Object::InstagramUser);
        w.know("psid", Object::MessengerUser);
        w.know("c1", Object::InstagramComment);
        w
    }

    fn send(body: Value) -> Result<(), Refusal> {
        let params: Params = body.as_object().unwrap().clone().into_iter().collect();
        check(&params, &world(), false)
    }

    #[test]
    fn a_messenger_send_needs_its_messaging_type_and_an_instagram_one_does_not() {
        let refusal = send(json!({"recipient": {"id": "psid"}, "message": {"text": "hi"}})).unwrap_err();
        assert_eq!(refusal.message, "(#100) The parameter messaging_type is required");
        send(json!({"recipient": {"id": "psid"}, "messaging_type": "RESPONSE", "message": {"text": "hi"}})).unwrap();
        send(json!({"recipient": {"id": "igsid"}, "message": {"text": "hi"}})).unwrap();
        let untagged = json!({"recipient": {"id": "psid"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "x"}});
        assert!(send(untagged).is_err());
        let tagged = json!({"recipient": {"id": "igsid"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                            "message": {"text": "x"}});
        send(tagged).unwrap();
    }

    #[test]
    fn unknown_recipients_and_long_texts_are_refused() {
        assert_eq!(
            send(json!({"recipient": {"id": "nobody"}, "message": {"text": "hi"}})).unwrap_err().subcode,
            Some(2534014)
        );
        let long = "é".repeat(501); // 1002 bytes, 501 characters
        assert!(send(json!({"recipient": {"id": "igsid"}, "message": {"text": long}})).is_err());
        send(json!({"recipient": {"id": "psid"}, "messaging_type": "UPDATE", "message": {"text": long}})).unwrap();
        send(json!({"recipient": {"comment_id": "c1"}, "message": {"text": "thanks"}})).unwrap();
        assert!(send(json!({"recipient": {"comment_id": "c2"}, "message": {"text": "thanks"}})).is_err());
    }

    #[test]
    fn metadata_is_a_string_of_at_most_1000_characters() {
        let with = |metadata: Value| {
            json!({"recipient": {"id": "psid"}, "messaging_type": "RESPONSE",
                                            "message": {"text": "hi", "metadata": metadata}})
        };
        send(with(json!("job:job_1"))).unwrap();
        send(with(json!("m".repeat(1000)))).unwrap();
        assert!(send(with(json!("m".repeat(1001)))).is_err());
        assert!(send(with(json!({"job": 1}))).is_err());
    }

    #[test]
    fn quick_replies_and_sender_actions_follow_the_documented_limits() {
        let reply = json!({"content_type": "text", "title": "Yes", "payload": "Y"});
        let fourteen = vec![reply.clone(); 14];
        let body = json!({"recipient": {"id": "igsid"}, "message": {"text": "?", "quick_replies": fourteen}});
        assert!(send(body).is_err());
        let thirteen = vec![reply; 13];
        send(json!({"recipient": {"id": "igsid"}, "message": {"text": "?", "quick_replies": thirteen}})).unwrap();
        send(json!({"recipient": {"id": "psid"}, "sender_action": "typing_on"})).unwrap();
        assert!(send(json!({"recipient": {"id": "psid"}, "sender_action": "react"})).is_err());
        let messenger_react = |reaction: &str| {
            json!({"recipient": {"id": "psid"}, "sender_action": "react",
                                                      "payload": {"message_id": "m1", "reaction": reaction}})
        };
        send(messenger_react("😂")).unwrap();
        assert!(send(messenger_react("lol")).is_err());
        let ig_react = json!({"recipient": {"id": "igsid"}, "sender_action": "react",
                              "payload": {"message_id": "m1", "reaction": "😂"}});
        assert!(send(ig_react).is_err());
        send(json!({"recipient": {"id": "igsid"}, "sender_action": "unreact", "payload": {"message_id": "m1"}}))
            .unwrap();
        let react = json!({"recipient": {"id": "igsid"}, "sender_action": "react",
                           "payload": {"message_id": "m1", "reaction": "love"}});
        send(react).unwrap();
        assert!(
            send(json!({"recipient": {"id": "igsid"}, "sender_action": "typing_on", "message": {"text": "x"}}))
                .is_err()
        );
    }

    #[test]
    fn templates_follow_the_documented_limits_on_each_channel() {
        let button = json!({"type": "postback", "title": "Buy", "payload": "BUY"});
        let generic = |elements: Value| json!({"type": "template", "payload": {"template_type": "generic", "elements": elements}});
        let to = |id: &str, attachment: Value| json!({"recipient": {"id": id}, "messaging_type": "RESPONSE", "message": {"attachment": attachment}});
        let card = |buttons: usize| json!({"title": "Sandals", "buttons": vec![button.clone(); buttons]});
        send(to("igsid", generic(json!(vec![card(3); 10])))).unwrap();
        assert!(send(to("igsid", generic(json!(vec![card(1); 11])))).is_err());
        assert!(send(to("psid", generic(json!([card(4)])))).is_err());
        assert!(send(to("psid", generic(json!([{"title": "t".repeat(81)}])))).is_err());
        let buttons = |text: String| json!({"type": "template", "payload": {"template_type": "button", "text": text, "buttons": [button]}});
        send(to("igsid", buttons("What next?".into()))).unwrap();
        assert!(send(to("psid", buttons("t".repeat(641)))).is_err());
        let receipt = json!({"type": "template", "payload": {"template_type": "receipt"}});
        send(to("psid", receipt.clone())).unwrap();
        assert!(send(to("igsid", receipt)).is_err());
        let icon = json!({"content_type": "text", "title": "Red", "payload": "R", "image_url": "https://x/r.png"});
        let choices = |id: &str| {
            json!({"recipient": {"id": id}, "messaging_type": "RESPONSE",
                                        "message": {"text": "?", "quick_replies": [icon]}})
        };
        send(choices("psid")).unwrap();
        assert!(send(choices("igsid")).is_err());
    }
}
