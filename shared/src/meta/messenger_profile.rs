//! An account's greeting in Meta's messenger profile form (`/{page or ig-id}/messenger_profile`):
//! `ice_breakers` in the localised format (`[{locale, call_to_actions: [{question, payload}]}]`)
//! and `persistent_menu` (`[{locale, composer_input_disabled, call_to_actions}]`).

use serde_json::{Value, json};

use crate::domain::Button;
use crate::domain::greeting::{Greeting, IceBreaker, IceBreakers, Menu};

/// The fields an inbox sets; a field left empty is deleted at Meta instead (it refuses empty
/// lists).
pub const FIELDS: [&str; 2] = ["ice_breakers", "persistent_menu"];

/// The POST body of what `greeting` sets (the fields it leaves empty are not in it).
pub fn body(greeting: &Greeting) -> Value {
    let mut body = json!({});
    if !greeting.ice_breakers.is_empty() {
        body["ice_breakers"] = greeting
            .ice_breakers
            .iter()
            .map(|set| {
                let questions: Vec<Value> =
                    set.questions.iter().map(|q| json!({"question": q.question, "payload": q.payload})).collect();
                json!({ "locale": set.locale, "call_to_actions": questions })
            })
            .collect();
    }
    if !greeting.persistent_menu.is_empty() {
        body["persistent_menu"] = greeting
            .persistent_menu
            .iter()
            .map(|m| {
                let items: Vec<Value> = m.items.iter().map(super::send_api::button).collect();
                json!({ "locale": m.locale, "composer_input_disabled": m.composer_input_disabled, "call_to_actions": items })
            })
            .collect();
    }
    body
}

/// The fields `greeting` leaves empty, to delete at Meta.
pub fn emptied(greeting: &Greeting) -> Vec<&'static str> {
    let empty = [greeting.ice_breakers.is_empty(), greeting.persistent_menu.is_empty()];
    FIELDS.into_iter().zip(empty).filter(|(_, e)| *e).map(|(f, _)| f).collect()
}

/// What Meta's `GET messenger_profile?fields=ice_breakers,persistent_menu` answers
/// (`{"data": [{...}]}`), read leniently: what cannot be read is left out.
pub fn read(answer: &Value) -> Greeting {
    let profile = &answer["data"][0];
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let ice_breakers = list(&profile["ice_breakers"])
        .iter()
        .map(|set| IceBreakers {
            locale: set["locale"].as_str().unwrap_or("default").to_owned(),
            questions: list(&set["call_to_actions"])
                .iter()
                .map(|q| IceBreaker { question: text(&q["question"]), payload: text(&q["payload"]) })
                .collect(),
        })
        .collect();
    let persistent_menu = list(&profile["persistent_menu"])
        .iter()
        .map(|m| Menu {
            locale: m["locale"].as_str().unwrap_or("default").to_owned(),
            composer_input_disabled: m["composer_input_disabled"].as_bool().unwrap_or(false),
            items: list(&m["call_to_actions"]).iter().filter_map(button_of).collect(),
        })
        .collect();
    Greeting { ice_breakers, persistent_menu }
}

fn button_of(v: &Value) -> Option<Button> {
    let title = v["title"].as_str()?.to_owned();
    match v["type"].as_str()? {
        "web_url" => Some(Button::WebUrl { title, url: v["url"].as_str()?.to_owned() }),
        "postback" => Some(Button::Postback { title, payload: v["payload"].as_str()?.to_owned() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_greeting_goes_to_meta_and_reads_back_the_same() {
        let greeting = Greeting {
            ice_breakers: vec![IceBreakers {
                locale: "default".into(),
                questions: vec![IceBreaker { question: "Opening hours?".into(), payload: "HOURS".into() }],
            }],
            persistent_menu: vec![Menu {
                locale: "default".into(),
                composer_input_disabled: false,
                items: vec![Button::WebUrl { title: "Shop".into(), url: "https://shop.example".into() }],
            }],
        };
        let sent = body(&greeting);
        assert_eq!(
            sent["ice_breakers"],
            json!([{"locale": "default", "call_to_actions": [{"question": "Opening hours?", "payload": "HOURS"}]}])
        );
        assert_eq!(read(&json!({ "data": [sent] })), greeting);
        assert_eq!(emptied(&Greeting::default()), FIELDS);
        assert_eq!(read(&json!({"data": []})), Greeting::default());
    }
}
