//! The fake Meta's conversations: threads a test sets up, listed and read as Meta's
//! Conversations API answers (newest first, in pages with cursors, `user_id` to find one
//! person's, details for the 20 most recent messages of a thread only).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::spec::{Params, scalar, top_level_fields};
use super::thread::Thread;
use super::world::{Object, World};
use crate::domain::Provider;

/// Meta details only this many of a thread's messages, the most recent.
pub const DETAILED_MESSAGES: usize = 20;
/// A listing's page when the request names no `limit`.
const DEFAULT_LIMIT: usize = 25;

/// Meta's time format (`2026-11-30T10:00:00+0000`).
fn meta_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// `GET /{owner}/conversations`: the owner's threads on the platform, newest first, a page.
pub fn list(owner: &str, params: &Params, world: &World) -> Value {
    let platform = params.get("platform").map(scalar).unwrap_or_else(|| "messenger".into());
    let user = params.get("user_id").map(scalar);
    let mut threads: Vec<&Thread> = world
        .threads
        .iter()
        .filter(|t| t.owner == owner && t.platform.as_str().eq_ignore_ascii_case(&platform))
        .filter(|t| user.as_ref().is_none_or(|u| *u == t.customer))
        .collect();
    threads.sort_by(|a, b| b.updated_time().cmp(&a.updated_time()).then_with(|| a.id.cmp(&b.id)));
    let limit = params.get("limit").and_then(|l| scalar(l).parse().ok()).unwrap_or(DEFAULT_LIMIT).max(1);
    let start = params.get("after").and_then(|a| scalar(a).strip_prefix("after_")?.parse().ok()).unwrap_or(0usize);
    let fields = params.get("fields").map(scalar).unwrap_or_else(|| "id,updated_time".into());
    let asked = top_level_fields(&fields);
    let data: Vec<Value> = threads
        .iter()
        .skip(start)
        .take(limit)
        .map(|t| {
            let mut out = json!({"id": t.id});
            if asked.contains(&"updated_time") {
                out["updated_time"] = json!(t.updated_time().map(meta_time));
            }
            if asked.contains(&"participants") {
                out["participants"] = json!({"data": [{"id": t.account}, {"id": t.customer}]});
            }
            if asked.contains(&"messages") {
                out["messages"] = messages(t);
            }
            out
        })
        .collect();
    let end = start + data.len();
    let mut paging = json!({"cursors": {"before": format!("after_{start}"), "after": format!("after_{end}")}});
    if end < threads.len() {
        paging["next"] = json!(format!("https://graph.facebook.com/{owner}/conversations?after=after_{end}"));
    }
    json!({ "data": data, "paging": paging })
}

/// `GET /{thread-id}?fields=...`: the thread, with its most recent messages detailed.
pub fn read(id: &str, params: &Params, world: &World) -> Value {
    let Some(thread) = world.threads.iter().find(|t| t.id == id) else { return json!({"id": id}) };
    let fields = params.get("fields").map(scalar).unwrap_or_else(|| "id".into());
    let mut out = json!({"id": id});
    if top_level_fields(&fields).contains(&"messages") {
        out["messages"] = messages(thread);
    }
    out
}

fn messages(thread: &Thread) -> Value {
    let data: Vec<Value> = thread
        .messages
        .iter()
        .rev()
        .take(DETAILED_MESSAGES)
        .map(|m| {
            json!({"id": m.id, "created_time": meta_time(m.at), "from": {"id": m.from},
                   "to": {"data": [{"id": m.to}]}, "message": m.text})
        })
        .collect();
    json!({ "data": data })
}

impl World {
    /// Meta has this thread (and knows its people and its id).
    pub fn add_thread(&mut self, thread: Thread) {
        let person = match thread.platform {
            Provider::Instagram => Object::InstagramUser,
            Provider::Messenger => Object::MessengerUser,
        };
        self.know(&thread.customer, person);
        self.know(&thread.id, Object::Thread);
        self.threads.retain(|t| t.id != thread.id);
        self.threads.push(thread);
    }

    /// The thread `id`, to change (a message Meta has whose webhook never came).
    pub fn thread_mut(&mut self, id: &str) -> Option<&mut Thread> {
        self.threads.iter_mut().find(|t| t.id == id)
    }

    /// Whether the token stands for the thread's owner (a Page token, or an Instagram Login one).
    pub fn thread_readable_with(&self, id: &str, token: &str) -> bool {
        let holder = self.page_of_token(token).or_else(|| self.instagram_account_of_token(token));
        self.threads
            .iter()
            .any(|t| t.id == id && (Some(t.owner.as_str()) == holder || Some(t.account.as_str()) == holder))
    }
}

#[cfg(test)]
mod tests {
    use super::super::routes::{Host, Request, check};
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
    }

    #[test]
    fn threads_are_listed_newest_first_in_pages_and_read_only_with_their_owner_s_token() {
        let mut world = World::default();
        world.page("page_1", "token_1");
        world.page("page_2", "token_2");
        let first = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        for i in 0..3 {
            let at = first + chrono::Duration::hours(i);
            world.add_thread(
                Thread::between(&format!("t_{i}"), "page_1", "ig_1", Provider::Instagram, &format!("u_{i}"))
                    .with_messages(22, at),
            );
        }
        let page = list(
            "page_1",
            &params(&[("platform", "instagram"), ("limit", "2"), ("fields", "id,participants")]),
            &world,
        );
        let ids: Vec<&str> = page["data"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["t_2", "t_1"]);
        assert_eq!(page["data"][0]["participants"]["data"][1]["id"], "u_2");
        let after = page["paging"]["cursors"]["after"].as_str().unwrap();
        let rest = list("page_1", &params(&[("platform", "INSTAGRAM"), ("after", after)]), &world);
        assert_eq!((rest["data"][0]["id"].as_str(), rest["paging"].get("next")), (Some("t_0"), None));
        assert_eq!(list("page_1", &params(&[("platform", "messenger")]), &world)["data"], json!([]));
        assert_eq!(
            list("page_1", &params(&[("platform", "instagram"), ("user_id", "u_1")]), &world)["data"][0]["id"],
            "t_1"
        );
        let read = super::read("t_0", &params(&[("fields", "messages{id,message}")]), &world);
        assert_eq!(read["messages"]["data"].as_array().unwrap().len(), DETAILED_MESSAGES, "the 20 most recent");
        assert_eq!(read["messages"]["data"][0]["id"], "t_0_m21", "newest first");

        let get = |token, fields| {
            let p = params(&[("fields", fields)]);
            let req =
                Request { host: Host::Facebook, method: "GET", path: "/v21.0/t_0", params: &p, token: Some(token) };
            check(&req, &world).map(|_| ())
        };
        get("token_1", "messages{id,created_time}").unwrap();
        assert!(get("token_2", "messages").is_err(), "another Page's token");
        assert!(get("token_1", "messagez").is_err(), "not a field or edge of UnifiedThread");
    }
}
