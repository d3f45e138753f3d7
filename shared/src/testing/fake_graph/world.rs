//! What the fake Meta knows: the objects it told the app about (in webhooks and answers) or a
//! test set up, the tokens that stand for them, and the webhook subscriptions made. A request
//! about an object Meta never mentioned is refused as Meta refuses it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::meta::id_string;

/// The kinds of object the product talks to Meta about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A Facebook Page.
    Page,
    /// An Instagram professional account: `IGUser` on graph.facebook.com, `IGUserForIGOnlyAPI`
    /// on graph.instagram.com.
    InstagramAccount,
    /// A person on Instagram as an account sees them (IGSID).
    InstagramUser,
    /// A person on Messenger as a Page sees them (PSID).
    MessengerUser,
    InstagramComment,
    InstagramMedia,
    /// The Facebook user who logs in.
    User,
    /// Our Meta app.
    Application,
    /// A conversation (Conversations API thread).
    Thread,
}

/// One object's webhook subscription in the app's settings (`/{app-id}/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSubscription {
    pub callback_url: String,
    pub fields: BTreeSet<String>,
}

/// What `debug_token` says of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub valid: bool,
    pub scopes: Vec<String>,
    /// Unix seconds; 0: never.
    pub expires_at: i64,
}

#[derive(Default)]
pub struct World {
    objects: HashMap<String, Object>,
    /// Page tokens: the Page each stands for.
    page_tokens: HashMap<String, String>,
    /// Instagram Login tokens: the account each stands for.
    instagram_tokens: HashMap<String, String>,
    /// Facebook Login user tokens: the user each stands for.
    user_tokens: HashMap<String, String>,
    /// The Facebook user who logs in next (the code exchange's token stands for them); a test
    /// sets another to connect as someone else.
    pub login_user: String,
    /// The fields our app gets from each Page (`/{page-id}/subscribed_apps`).
    pub page_subscriptions: BTreeMap<String, BTreeSet<String>>,
    /// The fields our app gets from each Instagram Login account (`/me/subscribed_apps`).
    pub instagram_subscriptions: BTreeMap<String, BTreeSet<String>>,
    /// The app's webhook objects (`instagram`, `page`) as its settings hold them.
    pub app_subscriptions: BTreeMap<String, AppSubscription>,
    /// What `debug_token` answers for a token; unlisted tokens get the fixture's answer.
    pub token_info: HashMap<String, TokenInfo>,
    /// Instagram accounts whose owner turned off "Allow access to messages".
    pub messaging_disabled: HashSet<String>,
    /// What each Instagram account is broadcasting live now (`/{ig-id}/live_media`).
    pub live_media: HashMap<String, Vec<String>>,
    /// Fields of a customer's profile a test sets (a fake CDN's `profile_pic`, a new
    /// `follower_count`), over the fixture's.
    pub profiles: HashMap<String, serde_json::Map<String, serde_json::Value>>,
    app_id: String,
    /// The app's secret, when a test says it: `debug_token` then refuses the app token of
    /// another secret, as Meta does.
    pub app_secret: Option<String>,
    /// Threads another app controls: the customer, and that app (`"standby"` when Meta
    /// delivered their messages on standby without naming it). Our app may not send there.
    pub thread_owners: HashMap<String, String>,
    /// Each account's messenger profile (ice breakers, menu), by `{id}|{platform}`.
    pub messenger_profiles: HashMap<String, serde_json::Map<String, Value>>,
    /// Files Meta keeps for an account (the attachment upload API), by `attachment_id`.
    pub attachments: HashMap<String, super::attachment_rules::KeptAttachment>,
    /// Messages sent so far: each gets its own id, as Meta's do.
    pub(super) sent: u64,
    /// Conversations, for the Conversations API (`add_thread`).
    pub(super) threads: Vec<super::thread::Thread>,
}

/// The Facebook user who logs in unless a test says another (`debug_token.json`'s user).
pub const LOGIN_USER: &str = "10220000000000001";

/// The app id the tests configure (`META_APP_ID`), as the fixtures name it.
pub const TEST_APP_ID: &str = "1234567890";

impl World {
    /// Meta's profile of `id` answers with `fields` (an object) over the fixture's, from now on.
    pub fn set_profile(&mut self, id: &str, fields: serde_json::Value) {
        let profile = self.profiles.entry(id.to_owned()).or_default();
        profile.extend(fields.as_object().cloned().unwrap_or_default());
    }

    /// Meta with our app in it.
    pub fn with_app(app_id: &str) -> Self {
        let login_user = LOGIN_USER.to_owned();
        let mut world = World { app_id: app_id.to_owned(), login_user, ..World::default() };
        world.know(app_id, Object::Application);
        world
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn object(&self, id: &str) -> Option<Object> {
        self.objects.get(id).copied()
    }

    /// Makes `id` known as `kind` (an existing kind is kept: Meta's ids do not change type).
    pub fn know(&mut self, id: &str, kind: Object) {
        self.objects.entry(id.to_owned()).or_insert(kind);
    }

    /// A Page and its token.
    pub fn page(&mut self, page_id: &str, token: &str) {
        self.know(page_id, Object::Page);
        self.page_tokens.insert(token.to_owned(), page_id.to_owned());
    }

    /// An Instagram Login account and its token.
    pub fn instagram_login(&mut self, account_id: &str, token: &str) {
        self.know(account_id, Object::InstagramAccount);
        self.instagram_tokens.insert(token.to_owned(), account_id.to_owned());
    }

    /// The Page a token stands for.
    pub fn page_of_token(&self, token: &str) -> Option<&str> {
        self.page_tokens.get(token).map(String::as_str)
    }

    /// The Instagram Login account a token stands for.
    pub fn instagram_account_of_token(&self, token: &str) -> Option<&str> {
        self.instagram_tokens.get(token).map(String::as_str)
    }

    /// The Facebook user a token that is neither a Page's nor an Instagram Login account's
    /// stands for: the one it was issued to, else whoever logs in.
    pub fn user_of_token(&self, token: &str) -> &str {
        self.user_tokens.get(token).unwrap_or(&self.login_user)
    }

    /// A user token Meta issued: by the code exchange to whoever logs in, or by the long-lived
    /// exchange to the user of the token it replaces (`exchanged`).
    pub fn learn_user_grant(&mut self, answer: &Value, exchanged: Option<&str>) {
        let Some(token) = answer.get("access_token").and_then(Value::as_str) else { return };
        let user = exchanged.map_or_else(|| self.login_user.clone(), |t| self.user_of_token(t).to_owned());
        self.know(&user, Object::User);
        self.user_tokens.insert(token.to_owned(), user);
    }

    /// Learns what a webhook Meta delivers names: the account or Page, the people writing,
    /// the comments and media.
    pub fn learn_webhook(&mut self, body: &Value) {
        let page = body.get("object").and_then(Value::as_str) == Some("page");
        let (owner, person) = if page {
            (Object::Page, Object::MessengerUser)
        } else {
            (Object::InstagramAccount, Object::InstagramUser)
        };
        for entry in body.get("entry").and_then(Value::as_array).into_iter().flatten() {
            let entry_id = entry.get("id").and_then(id_string);
            if let Some(id) = entry_id.as_deref().filter(|id| *id != "0") {
                self.know(id, owner);
            }
            let items = ["messaging", "standby"].into_iter().filter_map(|k| entry.get(k).and_then(Value::as_array));
            for item in items.flatten() {
                self.learn_thread_owner(item, entry.get("standby").is_some());
                for side in ["sender", "recipient"] {
                    if let Some(id) = item.get(side).and_then(|s| s.get("id")).and_then(id_string)
                        && Some(&id) != entry_id.as_ref()
                    {
                        self.know(&id, person);
                    }
                }
            }
            for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
                let handover = change.get("field").and_then(Value::as_str) == Some("messaging_handover");
                match change.get("value") {
                    Some(value) if handover => self.learn_thread_owner(value, false),
                    Some(value) if !page => self.learn_comment(value),
                    _ => {}
                }
            }
        }
    }

    /// Who controls the customer's thread, as a handover webhook or a message on standby says.
    fn learn_thread_owner(&mut self, item: &Value, standby: bool) {
        let Some(customer) = item.get("sender").and_then(|s| s.get("id")).and_then(id_string) else { return };
        let control = item.get("pass_thread_control").or(item.get("take_thread_control"));
        match control.and_then(|c| c.get("new_owner_app_id")).and_then(id_string) {
            Some(app) if app == self.app_id => drop(self.thread_owners.remove(&customer)),
            Some(app) => drop(self.thread_owners.insert(customer, app)),
            None if standby => drop(self.thread_owners.entry(customer).or_insert_with(|| "standby".into())),
            None => {}
        }
    }

    fn learn_comment(&mut self, value: &Value) {
        let id_at = |path: &[&str]| path.iter().try_fold(value, |v, k| v.get(k)).and_then(id_string);
        for path in [&["id"][..], &["comment_id"], &["parent_id"]] {
            if let Some(id) = id_at(path) {
                self.know(&id, Object::InstagramComment);
            }
        }
        for path in [&["media", "id"][..], &["media_id"]] {
            if let Some(id) = id_at(path) {
                self.know(&id, Object::InstagramMedia);
            }
        }
        for path in [&["from", "id"][..], &["from", "self_ig_scoped_id"]] {
            if let Some(id) = id_at(path) {
                self.know(&id, Object::InstagramUser);
            }
        }
    }

    /// Learns what an answer the fake gave names: Pages and their tokens, Instagram Login
    /// accounts and theirs. `given_token` is the token the request carried.
    pub fn learn_answer(&mut self, answer: &Value, given_token: Option<&str>) {
        for page in answer.get("data").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(id), Some(token)) = (page.get("id").and_then(id_string), page.get("access_token")) {
                self.page(&id, token.as_str().unwrap_or_default());
                if let Some(ig) = page.get("instagram_business_account").and_then(|i| i.get("id")).and_then(id_string) {
                    self.know(&ig, Object::InstagramAccount);
                }
            }
        }
        // Instagram Login: the code exchange (flat or in `data[]`) and `me`.
        let grant = answer.get("data").and_then(|d| d.get(0)).unwrap_or(answer);
        let token = grant.get("access_token").and_then(Value::as_str);
        match (grant.get("user_id").and_then(id_string), token) {
            (Some(user), Some(token)) => self.instagram_login(&user, token),
            (Some(user), None) => {
                if let Some(given) = given_token {
                    self.instagram_login(&user, given);
                }
            }
            // A long-lived or refreshed token stands for what the one it replaces stood for.
            (None, Some(token)) => {
                if let Some(owner) = given_token.and_then(|t| self.instagram_tokens.get(t)).cloned() {
                    self.instagram_login(&owner, token);
                }
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn webhooks_teach_the_people_comments_and_media_they_name() {
        let mut world = World::default();
        world.learn_webhook(&serde_json::from_str(&fixtures::webhook("text.json")).unwrap());
        world.learn_webhook(&serde_json::from_str(&fixtures::webhook("comment.json")).unwrap());
        world.learn_webhook(&serde_json::from_str(&fixtures::webhook("page_message.json")).unwrap());
        assert_eq!(world.object("17841400000000001"), Some(Object::InstagramAccount));
        assert_eq!(world.object("6185000000000001"), Some(Object::InstagramUser));
        assert_eq!(world.object("112233445566778"), Some(Object::Page));
        assert!(world.objects.values().any(|o| *o == Object::InstagramComment));
        assert!(world.objects.values().any(|o| *o == Object::InstagramMedia));
        assert!(world.objects.values().any(|o| *o == Object::MessengerUser));
    }
}
