//! What the fake Meta answers to a request it takes when no test scripted the answer: the
//! fixtures' success bodies, only the fields asked for, and the subscriptions it keeps.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::routes::{Endpoint, Request};
use super::spec::{Params, scalar, top_level_fields};
use super::world::{AppSubscription, Object, World};
use crate::fixtures;

/// Meta's answer (status, body) to `endpoint`, applying what it changes to `world`.
pub fn answer(endpoint: &Endpoint, req: &Request<'_>, world: &mut World) -> (u16, String) {
    match endpoint {
        Endpoint::Graph { node, id, edge, .. } => graph_answer(node, id, edge, req, world),
        Endpoint::Profile { object, id } => (200, profile(*object, id, req.params, world).to_string()),
        Endpoint::CodeExchange => ok(fixtures::graph("oauth_code_exchange.json")),
        Endpoint::LongLivedExchange | Endpoint::InstagramLongLived | Endpoint::InstagramRefresh => {
            ok(fixtures::graph("oauth_long_lived.json"))
        }
        Endpoint::DebugToken => (200, debug_token(req, world).to_string()),
        Endpoint::InstagramCodeExchange => ok(json!({"data": [{
            "access_token": "IGAA-short-lived-token", "user_id": "17841400000000009",
            "permissions": "instagram_business_basic,instagram_business_manage_messages"}]})
        .to_string()),
    }
}

fn ok(body: String) -> (u16, String) {
    (200, body)
}

/// A send's answer: the fixture's, its `message_id` unique after the first (Meta never gives
/// two messages one id).
fn sent(world: &mut World) -> (u16, String) {
    world.sent += 1;
    let mut answer: Value = serde_json::from_str(&fixtures::graph("send_ok.json")).expect("fixture");
    if world.sent > 1
        && let Some(mid) = answer["message_id"].as_str()
    {
        answer["message_id"] = json!(format!("{mid}_{}", world.sent));
    }
    ok(answer.to_string())
}

/// The thread's owner changes: ours on a take, the target's on a pass.
fn thread_control(edge: &str, req: &Request<'_>, world: &mut World) -> (u16, String) {
    let recipient = req.params.get("recipient").and_then(super::spec::as_object).unwrap_or_default();
    let customer = recipient.get("id").and_then(crate::meta::id_string).unwrap_or_default();
    match (edge, req.params.get("target_app_id").map(scalar)) {
        ("pass_thread_control", Some(app)) if app != world.app_id() => drop(world.thread_owners.insert(customer, app)),
        _ => drop(world.thread_owners.remove(&customer)),
    }
    success()
}

fn success() -> (u16, String) {
    ok(json!({"success": true}).to_string())
}

fn graph_answer(node: &str, id: &str, edge: &str, req: &Request<'_>, world: &mut World) -> (u16, String) {
    match (node, req.method, edge) {
        ("Page" | "IGUserForIGOnlyAPI", "POST", "messages") => {
            super::attachment_rules::note_send(req.params, world);
            sent(world)
        }
        ("Page", "POST", "message_attachments") | ("IGUserForIGOnlyAPI", "POST", "messageattachments") => {
            ok(super::attachment_rules::answer(id, req.params, world).to_string())
        }
        ("Page", "POST", "take_thread_control" | "pass_thread_control") => thread_control(edge, req, world),
        ("Page" | "IGUserForIGOnlyAPI", _, "messenger_profile") => {
            ok(super::greeting_rules::answer(id, req.method, req.params, world).to_string())
        }
        ("Page" | "IGUserForIGOnlyAPI", _, "subscribed_apps") => subscribed_apps(node, id, req, world),
        ("Page" | "IGUserForIGOnlyAPI", "GET", "conversations") => conversations(id, req.params, world),
        ("UnifiedThread", "GET", "") => ok(super::threads::read(id, req.params, world).to_string()),
        ("Application", _, "subscriptions") => app_subscriptions(req, world),
        (_, "GET", "live_media") => {
            let live = world.live_media.get(id).into_iter().flatten().map(|m| json!({"id": m}));
            ok(json!({ "data": live.collect::<Vec<_>>() }).to_string())
        }
        ("User", "GET", "accounts") => ok(fixtures::graph("me_accounts.json")),
        ("IGComment", "POST", "replies") => ok(fixtures::graph("comment_reply_ok.json")),
        ("IGComment", "POST", "") => success(),
        ("IGMedia", "GET", "") => {
            let media: Value = serde_json::from_str(&fixtures::graph("media_permalink.json")).expect("fixture");
            ok(only_fields(&media, id, req.params).to_string())
        }
        ("IGUserForIGOnlyAPI", "GET", "") => {
            let me = json!({"user_id": id, "username": "coast.shop", "name": "Coast Shop", "account_type": "BUSINESS"});
            ok(only_fields(&me, id, req.params).to_string())
        }
        _ => ok(only_fields(&json!({"name": format!("{node} {id}")}), id, req.params).to_string()),
    }
}

/// The answer holds `id` and only the fields asked for, as Meta's does.
fn only_fields(full: &Value, id: &str, params: &Params) -> Value {
    let asked = params.get("fields").map(scalar).unwrap_or_else(|| "id,name".to_owned());
    let mut out = json!({"id": id});
    for field in top_level_fields(&asked) {
        if let Some(v) = full.get(field) {
            out[field] = v.clone();
        }
    }
    out
}

fn profile(object: Object, id: &str, params: &Params, world: &World) -> Value {
    let mut full = match object {
        Object::MessengerUser => json!({"first_name": "Rui", "last_name": "Costa", "name": "Rui Costa",
                                        "profile_pic": "https://platform-lookaside.fbsbx.com/rui.jpg", "locale": "pt_PT"}),
        _ => serde_json::from_str(&fixtures::graph("user_profile.json")).expect("fixture"),
    };
    for (field, value) in world.profiles.get(id).into_iter().flatten() {
        full[field] = value.clone();
    }
    only_fields(&full, id, params)
}

/// Our app's webhook subscription on a Page or an Instagram Login account, kept as Meta keeps it.
fn subscribed_apps(node: &str, id: &str, req: &Request<'_>, world: &mut World) -> (u16, String) {
    let app_id = world.app_id().to_owned();
    let subscriptions = if node == "Page" { &mut world.page_subscriptions } else { &mut world.instagram_subscriptions };
    match req.method {
        "POST" => {
            let fields = req.params.get("subscribed_fields").map(list).unwrap_or_default();
            subscriptions.insert(id.to_owned(), fields);
            success()
        }
        "DELETE" => {
            subscriptions.remove(id);
            success()
        }
        _ => {
            let data: Vec<Value> = subscriptions
                .get(id)
                .map(|fields| json!({"id": app_id, "name": "Coast Inbox", "subscribed_fields": fields}))
                .into_iter()
                .collect();
            ok(json!({ "data": data }).to_string())
        }
    }
}

fn conversations(id: &str, params: &Params, world: &World) -> (u16, String) {
    if world.messaging_disabled.contains(id) {
        return (400, fixtures::graph("error_messaging_disabled.json"));
    }
    ok(super::threads::list(id, params, world).to_string())
}

/// The app's webhook objects (`GET`), or one set (`POST`), as the app dashboard shows them.
fn app_subscriptions(req: &Request<'_>, world: &mut World) -> (u16, String) {
    if req.method == "POST" {
        let object = req.params.get("object").map(scalar).unwrap_or_default();
        let subscription = AppSubscription {
            callback_url: req.params.get("callback_url").map(scalar).unwrap_or_default(),
            fields: req.params.get("fields").map(list).unwrap_or_default(),
        };
        world.app_subscriptions.insert(object, subscription);
        return success();
    }
    let data: Vec<Value> = world
        .app_subscriptions
        .iter()
        .map(|(object, s)| {
            let fields: Vec<Value> = s.fields.iter().map(|f| json!({"name": f, "version": "v21.0"})).collect();
            json!({"object": object, "callback_url": s.callback_url, "active": true, "fields": fields})
        })
        .collect();
    ok(json!({ "data": data }).to_string())
}

/// `debug_token`: what the world says of the token, else the fixture's answer.
fn debug_token(req: &Request<'_>, world: &World) -> Value {
    let mut answer: Value = serde_json::from_str(&fixtures::graph("debug_token.json")).expect("fixture");
    let input = req.params.get("input_token").map(scalar).unwrap_or_default();
    answer["data"]["app_id"] = json!(world.app_id());
    if let Some((app, secret)) = input.split_once('|') {
        let valid = app == world.app_id() && world.app_secret.as_deref().is_none_or(|s| s == secret);
        return json!({"data": {"app_id": app, "type": "APP", "application": "Coast Inbox", "is_valid": valid}});
    }
    if let Some(info) = world.token_info.get(&input) {
        answer["data"]["is_valid"] = json!(info.valid);
        answer["data"]["scopes"] = json!(info.scopes);
        answer["data"]["expires_at"] = json!(info.expires_at);
    }
    match world.page_of_token(&input) {
        Some(page) => {
            answer["data"]["type"] = json!("PAGE");
            answer["data"]["profile_id"] = json!(page);
        }
        None => answer["data"]["user_id"] = json!(world.user_of_token(&input)),
    }
    answer
}

/// A list parameter: a JSON array (or a string holding one), or comma-separated.
fn list(value: &Value) -> BTreeSet<String> {
    let text = scalar(value);
    match serde_json::from_str::<Vec<String>>(&text) {
        Ok(items) => items.into_iter().collect(),
        Err(_) => text.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect(),
    }
}
