//! Rich replies: quick replies under a text, and templates (a carousel of cards, or a text
//! with buttons), with the limits Meta's Send API documents for each channel. Checked before
//! a reply is queued, so Meta never refuses one the inbox accepted.

use serde::{Deserialize, Serialize};

use super::Provider;

/// Instagram's text limit, in UTF-8 bytes.
pub const INSTAGRAM_TEXT_BYTES: usize = 1000;
/// Messenger's text limit, in characters.
pub const MESSENGER_TEXT_CHARS: usize = 2000;
pub const MAX_QUICK_REPLIES: usize = 13;
/// A quick reply's or a button's title, in characters.
pub const MAX_TITLE_CHARS: usize = 20;
/// A quick reply's or a postback button's payload, in characters.
pub const MAX_PAYLOAD_CHARS: usize = 1000;
pub const MAX_ELEMENTS: usize = 10;
pub const MAX_BUTTONS: usize = 3;
/// A card's title and subtitle, in characters.
pub const MAX_ELEMENT_TEXT_CHARS: usize = 80;
/// A button template's text, in characters.
pub const MAX_BUTTON_TEXT_CHARS: usize = 640;
const MAX_URL_CHARS: usize = 2048;

/// One choice offered under a text. A tap comes back as the customer's message, its payload
/// in `metaJson.quickReply`; an email or phone choice is pre-filled from their profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum QuickReply {
    #[serde(rename_all = "camelCase")]
    Text {
        title: String,
        payload: String,
        /// Messenger only: an icon beside the title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
    },
    UserEmail,
    UserPhoneNumber,
}

/// A template's button: a link opened in Meta's browser, or a postback whose payload comes
/// back as the customer's message (`metaJson.postback`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum Button {
    WebUrl { title: String, url: String },
    Postback { title: String, payload: String },
}

/// One card of a generic template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Element {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Opened when the card itself is tapped (Meta's `default_action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

/// A structured message: cards side by side (`GENERIC`), or a text with buttons (`BUTTON`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum Template {
    Generic { elements: Vec<Element> },
    Button { text: String, buttons: Vec<Button> },
}

/// Why content cannot go out on a channel: malformed, over one of the channel's limits, or
/// something the channel does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Invalid(String),
    OverLimit(String),
    Unsupported(String),
}

type Checked = Result<(), Refused>;

fn channel(provider: Provider) -> &'static str {
    match provider {
        Provider::Instagram => "Instagram",
        Provider::Messenger => "Messenger",
    }
}

/// A DM's text: not blank, within the channel's length (Instagram counts bytes, Messenger
/// characters).
pub fn check_text(text: &str, provider: Provider) -> Checked {
    if text.trim().is_empty() {
        return Err(Refused::Invalid("text must not be empty".into()));
    }
    let (over, limit) = match provider {
        Provider::Instagram => (text.len() > INSTAGRAM_TEXT_BYTES, format!("{INSTAGRAM_TEXT_BYTES} UTF-8 bytes")),
        Provider::Messenger => {
            (text.chars().count() > MESSENGER_TEXT_CHARS, format!("{MESSENGER_TEXT_CHARS} characters"))
        }
    };
    if over {
        // VALIDATION_ERROR, as a long text always answered.
        return Err(Refused::Invalid(format!("text is over {}'s limit of {limit}", channel(provider))));
    }
    Ok(())
}

/// `what` is 1 to `max` characters.
pub(super) fn bounded(what: &str, value: &str, max: usize) -> Checked {
    if value.trim().is_empty() {
        return Err(Refused::Invalid(format!("{what} must not be empty")));
    }
    let n = value.chars().count();
    if n > max {
        return Err(Refused::OverLimit(format!("{what} has {n} characters; Meta takes at most {max}")));
    }
    Ok(())
}

pub(super) fn at_most(what: &str, n: usize, max: usize) -> Checked {
    if n > max {
        return Err(Refused::OverLimit(format!("{what} has {n} items; Meta takes at most {max}")));
    }
    Ok(())
}

/// An absolute http(s) link Meta can open.
fn link(what: &str, url: &str) -> Checked {
    let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if !ok || url.len() > MAX_URL_CHARS {
        return Err(Refused::Invalid(format!("{what} must be an http(s) URL of at most {MAX_URL_CHARS} characters")));
    }
    Ok(())
}

/// Quick replies under a text: 1 to 13, titles and payloads within Meta's lengths; icons on
/// Messenger only.
pub fn check_quick_replies(replies: &[QuickReply], provider: Provider) -> Checked {
    if replies.is_empty() {
        return Err(Refused::Invalid("quickReplies must not be empty (leave it out instead)".into()));
    }
    at_most("quickReplies", replies.len(), MAX_QUICK_REPLIES)?;
    for (i, reply) in replies.iter().enumerate() {
        if let QuickReply::Text { title, payload, image_url } = reply {
            bounded(&format!("quickReplies[{i}].title"), title, MAX_TITLE_CHARS)?;
            bounded(&format!("quickReplies[{i}].payload"), payload, MAX_PAYLOAD_CHARS)?;
            match (image_url, provider) {
                (Some(_), Provider::Instagram) => {
                    return Err(Refused::Unsupported("Instagram's quick replies are plain text: no imageUrl".into()));
                }
                (Some(url), _) => link(&format!("quickReplies[{i}].imageUrl"), url)?,
                (None, _) => {}
            }
        }
    }
    Ok(())
}

fn check_buttons(at: &str, buttons: &[Button]) -> Checked {
    at_most(&format!("{at}buttons"), buttons.len(), MAX_BUTTONS)?;
    for (i, button) in buttons.iter().enumerate() {
        let at = format!("{at}buttons[{i}]");
        match button {
            Button::WebUrl { title, url } => {
                bounded(&format!("{at}.title"), title, MAX_TITLE_CHARS)?;
                link(&format!("{at}.url"), url)?;
            }
            Button::Postback { title, payload } => {
                bounded(&format!("{at}.title"), title, MAX_TITLE_CHARS)?;
                bounded(&format!("{at}.payload"), payload, MAX_PAYLOAD_CHARS)?;
            }
        }
    }
    Ok(())
}

impl Template {
    /// Within Meta's limits: 1 to 10 cards of up to 3 buttons, titles and subtitles of up to
    /// 80 characters; a button template's text of up to 640 characters and 1 to 3 buttons.
    /// Both channels take both kinds.
    pub fn check(&self) -> Checked {
        match self {
            Template::Generic { elements } => {
                if elements.is_empty() {
                    return Err(Refused::Invalid("template.elements must not be empty".into()));
                }
                at_most("template.elements", elements.len(), MAX_ELEMENTS)?;
                for (i, e) in elements.iter().enumerate() {
                    let at = format!("template.elements[{i}].");
                    bounded(&format!("{at}title"), &e.title, MAX_ELEMENT_TEXT_CHARS)?;
                    if let Some(subtitle) = &e.subtitle {
                        bounded(&format!("{at}subtitle"), subtitle, MAX_ELEMENT_TEXT_CHARS)?;
                    }
                    for (name, url) in [("imageUrl", &e.image_url), ("defaultUrl", &e.default_url)] {
                        if let Some(url) = url {
                            link(&format!("{at}{name}"), url)?;
                        }
                    }
                    check_buttons(&at, &e.buttons)?;
                }
                Ok(())
            }
            Template::Button { text, buttons } => {
                bounded("template.text", text, MAX_BUTTON_TEXT_CHARS)?;
                if buttons.is_empty() {
                    return Err(Refused::Invalid("template.buttons must not be empty".into()));
                }
                check_buttons("template.", buttons)
            }
        }
    }

    /// What the inbox shows as the message's text: a button template's text, a carousel's
    /// first title.
    pub fn summary(&self) -> &str {
        match self {
            Template::Generic { elements } => elements.first().map_or("", |e| e.title.as_str()),
            Template::Button { text, .. } => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_reply(title: &str) -> QuickReply {
        QuickReply::Text { title: title.into(), payload: "P".into(), image_url: None }
    }

    #[test]
    fn texts_are_measured_as_each_channel_measures_them() {
        let accents = "é".repeat(501); // 1002 bytes, 501 characters
        assert!(matches!(check_text(&accents, Provider::Instagram), Err(Refused::Invalid(m)) if m.contains("1000")));
        check_text(&accents, Provider::Messenger).unwrap();
        assert!(matches!(check_text(&"a".repeat(2001), Provider::Messenger), Err(Refused::Invalid(_))));
        assert!(matches!(check_text("  ", Provider::Messenger), Err(Refused::Invalid(_))));
    }

    #[test]
    fn quick_replies_keep_to_thirteen_short_titles_and_icons_only_on_messenger() {
        check_quick_replies(&vec![text_reply("Yes"); 13], Provider::Instagram).unwrap();
        assert!(matches!(
            check_quick_replies(&vec![text_reply("Yes"); 14], Provider::Instagram),
            Err(Refused::OverLimit(m)) if m.contains("at most 13")
        ));
        assert!(matches!(
            check_quick_replies(&[text_reply(&"x".repeat(21))], Provider::Messenger),
            Err(Refused::OverLimit(_))
        ));
        check_quick_replies(&[text_reply(&"ü".repeat(20)), QuickReply::UserEmail], Provider::Messenger).unwrap();
        let icon =
            QuickReply::Text { title: "Red".into(), payload: "R".into(), image_url: Some("https://x.io/r.png".into()) };
        check_quick_replies(std::slice::from_ref(&icon), Provider::Messenger).unwrap();
        assert!(matches!(check_quick_replies(&[icon], Provider::Instagram), Err(Refused::Unsupported(_))));
        assert!(matches!(check_quick_replies(&[], Provider::Instagram), Err(Refused::Invalid(_))));
    }

    #[test]
    fn templates_keep_to_ten_cards_of_three_buttons() {
        let button = Button::Postback { title: "Buy".into(), payload: "BUY".into() };
        let card = |buttons: usize| Element {
            title: "Sandals".into(),
            subtitle: None,
            image_url: Some("https://cdn.example.com/s.jpg".into()),
            default_url: None,
            buttons: vec![button.clone(); buttons],
        };
        Template::Generic { elements: vec![card(3); 10] }.check().unwrap();
        assert!(matches!(Template::Generic { elements: vec![card(1); 11] }.check(), Err(Refused::OverLimit(_))));
        assert!(matches!(Template::Generic { elements: vec![card(4)] }.check(), Err(Refused::OverLimit(_))));
        let bad_link = Button::WebUrl { title: "Open".into(), url: "javascript:alert(1)".into() };
        let text = |t: &str, buttons: Vec<Button>| Template::Button { text: t.into(), buttons };
        assert!(matches!(text("Pick", vec![bad_link]).check(), Err(Refused::Invalid(_))));
        assert!(matches!(text(&"t".repeat(641), vec![button.clone()]).check(), Err(Refused::OverLimit(_))));
        assert!(matches!(text("Pick", vec![]).check(), Err(Refused::Invalid(_))));
        text("Pick", vec![button]).check().unwrap();
    }
}
