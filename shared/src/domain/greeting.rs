//! What a customer sees before writing to an account: ice breakers (questions to start with)
//! and the persistent menu, per locale with a `default`, held at Meta (its messenger profile).

use serde::{Deserialize, Serialize};

use super::Provider;
use super::rich::{Button, Refused, at_most, bounded as text};

/// Meta's `default` locale, required beside any other.
pub const DEFAULT_LOCALE: &str = "default";
pub const MAX_ICE_BREAKERS: usize = 4;
/// An ice breaker's question, in characters.
pub const MAX_QUESTION_CHARS: usize = 80;
pub const MAX_MENU_ITEMS: usize = 20;
/// A menu item's title, in characters.
pub const MAX_MENU_TITLE_CHARS: usize = 30;
const MAX_PAYLOAD_CHARS: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Greeting {
    #[serde(default)]
    pub ice_breakers: Vec<IceBreakers>,
    #[serde(default)]
    pub persistent_menu: Vec<Menu>,
}

/// One locale's questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IceBreakers {
    pub locale: String,
    pub questions: Vec<IceBreaker>,
}

/// A question a customer taps to start; it arrives as a postback with `payload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceBreaker {
    pub question: String,
    pub payload: String,
}

/// One locale's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Menu {
    pub locale: String,
    /// Messenger only: the customer can only tap, not type.
    #[serde(default)]
    pub composer_input_disabled: bool,
    pub items: Vec<Button>,
}

/// Locales given once each, `default` among them.
fn locales<'a>(what: &str, locales: impl Iterator<Item = &'a str>) -> Result<(), Refused> {
    let mut seen = std::collections::BTreeSet::new();
    for locale in locales {
        if !seen.insert(locale) {
            return Err(Refused::Invalid(format!("{what}: locale {locale:?} is given twice")));
        }
    }
    if !seen.is_empty() && !seen.contains(DEFAULT_LOCALE) {
        return Err(Refused::Invalid(format!("{what}: a \"{DEFAULT_LOCALE}\" locale is required")));
    }
    Ok(())
}

impl Greeting {
    /// Within Meta's rules for the account's channel.
    pub fn check(&self, provider: Provider) -> Result<(), Refused> {
        locales("iceBreakers", self.ice_breakers.iter().map(|l| l.locale.as_str()))?;
        for set in &self.ice_breakers {
            let at = format!("iceBreakers[{}]", set.locale);
            if set.questions.is_empty() {
                return Err(Refused::Invalid(format!("{at}.questions must not be empty")));
            }
            at_most(&format!("{at}.questions"), set.questions.len(), MAX_ICE_BREAKERS)?;
            for q in &set.questions {
                text(&format!("{at}.question"), &q.question, MAX_QUESTION_CHARS)?;
                text(&format!("{at}.payload"), &q.payload, MAX_PAYLOAD_CHARS)?;
            }
        }
        locales("persistentMenu", self.persistent_menu.iter().map(|m| m.locale.as_str()))?;
        for menu in &self.persistent_menu {
            self.check_menu(menu, provider)?;
        }
        Ok(())
    }

    fn check_menu(&self, menu: &Menu, provider: Provider) -> Result<(), Refused> {
        let at = format!("persistentMenu[{}]", menu.locale);
        if menu.composer_input_disabled && provider == Provider::Instagram {
            return Err(Refused::Unsupported("Instagram's menu cannot turn off typing (composerInputDisabled)".into()));
        }
        if menu.items.is_empty() {
            return Err(Refused::Invalid(format!("{at}.items must not be empty")));
        }
        at_most(&format!("{at}.items"), menu.items.len(), MAX_MENU_ITEMS)?;
        for item in &menu.items {
            let (title, link) = match item {
                Button::WebUrl { title, url } => (title, Some(url)),
                Button::Postback { title, payload } => {
                    text(&format!("{at}.payload"), payload, MAX_PAYLOAD_CHARS)?;
                    (title, None)
                }
            };
            text(&format!("{at}.title"), title, MAX_MENU_TITLE_CHARS)?;
            if link.is_some_and(|u| url::Url::parse(u).map_or(true, |u| !matches!(u.scheme(), "http" | "https"))) {
                return Err(Refused::Invalid(format!("{at}.url must be an http(s) URL")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(locale: &str, n: usize) -> IceBreakers {
        let q = IceBreaker { question: "Opening hours?".into(), payload: "HOURS".into() };
        IceBreakers { locale: locale.into(), questions: vec![q; n] }
    }

    #[test]
    fn four_questions_a_locale_with_a_default_locale() {
        let ok = Greeting { ice_breakers: vec![questions("default", 4), questions("pt_PT", 1)], ..Default::default() };
        ok.check(Provider::Instagram).unwrap();
        let five = Greeting { ice_breakers: vec![questions("default", 5)], ..Default::default() };
        assert!(matches!(five.check(Provider::Instagram), Err(Refused::OverLimit(_))));
        let no_default = Greeting { ice_breakers: vec![questions("pt_PT", 1)], ..Default::default() };
        assert!(matches!(no_default.check(Provider::Messenger), Err(Refused::Invalid(_))));
        let twice =
            Greeting { ice_breakers: vec![questions("default", 1), questions("default", 1)], ..Default::default() };
        assert!(twice.check(Provider::Messenger).is_err());
        Greeting::default().check(Provider::Instagram).unwrap();
    }

    #[test]
    fn menus_keep_to_twenty_short_items_and_typing_stays_on_instagram() {
        let item = Button::Postback { title: "Track my order".into(), payload: "TRACK".into() };
        let menu = |n: usize, disabled: bool| Greeting {
            persistent_menu: vec![Menu {
                locale: "default".into(),
                composer_input_disabled: disabled,
                items: vec![item.clone(); n],
            }],
            ..Default::default()
        };
        menu(20, false).check(Provider::Instagram).unwrap();
        assert!(matches!(menu(21, false).check(Provider::Messenger), Err(Refused::OverLimit(_))));
        menu(1, true).check(Provider::Messenger).unwrap();
        assert!(matches!(menu(1, true).check(Provider::Instagram), Err(Refused::Unsupported(_))));
    }
}
