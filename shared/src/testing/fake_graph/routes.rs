//! Which endpoint a request names, and whether Meta would take it: the object it names must
//! exist for Meta, its type must have that endpoint (Meta's spec), the parameters must be
//! valid (the spec, and the Send API's documented rules); the OAuth endpoints outside the
//! spec need what Meta's OAuth reference lists.

use serde_json::Value;

use super::refusal::Refusal;
use super::send_rules;
use super::spec::{Params, scalar, spec};
use super::world::{Object, World};

/// Which of Meta's hosts a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// graph.facebook.com
    Facebook,
    /// graph.instagram.com
    Instagram,
    /// api.instagram.com (Instagram Login's code exchange)
    InstagramApi,
}

/// Fields a person's profile has (Meta's User Profile API pages; outside the codegen spec).
const INSTAGRAM_PROFILE_FIELDS: [&str; 8] = [
    "id",
    "name",
    "username",
    "profile_pic",
    "follower_count",
    "is_user_follow_business",
    "is_business_follow_user",
    "is_verified_user",
];
const MESSENGER_PROFILE_FIELDS: [&str; 6] = ["id", "first_name", "last_name", "name", "profile_pic", "locale"];

/// A request Meta would take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `method /{id}/{edge}` of Meta's spec on a node of type `node`.
    Graph {
        node: &'static str,
        object: Object,
        id: String,
        edge: String,
    },
    /// A person's profile (IGSID or PSID).
    Profile {
        object: Object,
        id: String,
    },
    /// `GET /oauth/access_token` with a code.
    CodeExchange,
    /// `GET /oauth/access_token?grant_type=fb_exchange_token`.
    LongLivedExchange,
    DebugToken,
    /// api.instagram.com `POST /oauth/access_token`.
    InstagramCodeExchange,
    /// graph.instagram.com `GET /access_token?grant_type=ig_exchange_token`.
    InstagramLongLived,
    /// graph.instagram.com `GET /refresh_access_token`.
    InstagramRefresh,
}

pub struct Request<'a> {
    pub host: Host,
    pub method: &'a str,
    pub path: &'a str,
    pub params: &'a Params,
    pub token: Option<&'a str>,
}

/// The endpoint a request names, if Meta would take it as it is.
pub fn check(req: &Request<'_>, world: &World) -> Result<Endpoint, Refusal> {
    let segments = path_segments(req)?;
    if let Some(endpoint) = oauth_endpoint(req, &segments)? {
        return Ok(endpoint);
    }
    let (id, edge) = match segments.as_slice() {
        [id] => (*id, ""),
        [id, edge] => (*id, *edge),
        _ => return Err(Refusal::unknown_path(&segments[1..].join("/"))),
    };
    if req.token.is_none() {
        return Err(Refusal::no_token());
    }
    if req.host == Host::InstagramApi {
        return Err(Refusal::unknown_path(req.path.trim_start_matches('/')));
    }
    let (object, id) = object_of(req, id, world)?;
    // A thread is read with its owner's token only.
    if object == Object::Thread && !world.thread_readable_with(&id, req.token.unwrap_or_default()) {
        return Err(Refusal::unsupported(req.method, &id));
    }
    let Some(node) = node_type(req.host, object) else {
        return check_profile(req, object, id, edge);
    };
    spec().check(node, &id, req.method, edge, req.params)?;
    if edge == "messages" && req.method == "POST" {
        send_rules::check(req.params, world, req.host == Host::Instagram)?;
        super::attachment_rules::check_send(&id, req.params, world)?;
    }
    if edge.ends_with("attachments") && req.method == "POST" {
        super::attachment_rules::check_upload(req.params)?;
    }
    if edge == "messenger_profile" && req.method == "POST" {
        super::greeting_rules::check(req.params)?;
    }
    Ok(Endpoint::Graph { node, object, id, edge: edge.to_owned() })
}

/// The path without the version (`/v21.0/...`); unversioned paths are Meta's default version.
fn path_segments<'a>(req: &Request<'a>) -> Result<Vec<&'a str>, Refusal> {
    let mut segments: Vec<&str> = req.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let versioned = segments.first().is_some_and(|s| {
        s.strip_prefix('v').is_some_and(|v| {
            v.split_once('.').is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
        })
    });
    if versioned {
        segments.remove(0);
    }
    if segments.is_empty() {
        return Err(Refusal::param("Unsupported request: no object named"));
    }
    Ok(segments)
}

/// The OAuth token endpoints (outside the codegen spec), with the parameters Meta requires.
fn oauth_endpoint(req: &Request<'_>, segments: &[&str]) -> Result<Option<Endpoint>, Refusal> {
    let grant = req.params.get("grant_type").map(scalar);
    let (endpoint, required): (Endpoint, &[&str]) = match (req.host, req.method, segments) {
        (Host::Facebook, "GET", ["oauth", "access_token"]) if grant.as_deref() == Some("fb_exchange_token") => {
            (Endpoint::LongLivedExchange, &["client_id", "client_secret", "fb_exchange_token"])
        }
        (Host::Facebook, "GET", ["oauth", "access_token"]) => {
            (Endpoint::CodeExchange, &["client_id", "client_secret", "redirect_uri", "code"])
        }
        (Host::Facebook, "GET", ["debug_token"]) => (Endpoint::DebugToken, &["input_token", "access_token"]),
        (Host::InstagramApi, "POST", ["oauth", "access_token"]) => {
            if grant.as_deref() != Some("authorization_code") {
                return Err(Refusal::param("grant_type must be authorization_code"));
            }
            (Endpoint::InstagramCodeExchange, &["client_id", "client_secret", "redirect_uri", "code"])
        }
        (Host::Instagram, "GET", ["access_token"]) => {
            if grant.as_deref() != Some("ig_exchange_token") {
                return Err(Refusal::param("grant_type must be ig_exchange_token"));
            }
            (Endpoint::InstagramLongLived, &["client_secret", "access_token"])
        }
        (Host::Instagram, "GET", ["refresh_access_token"]) => {
            if grant.as_deref() != Some("ig_refresh_token") {
                return Err(Refusal::param("grant_type must be ig_refresh_token"));
            }
            (Endpoint::InstagramRefresh, &["access_token"])
        }
        (_, _, ["oauth", ..] | ["debug_token"] | ["access_token"] | ["refresh_access_token"]) => {
            return Err(Refusal::unsupported(req.method, segments[0]));
        }
        _ => return Ok(None),
    };
    let present = |name: &&str| match *name {
        "access_token" => req.token.is_some() || req.params.contains_key("access_token"),
        name => req.params.get(name).is_some_and(|v| !scalar(v).is_empty()),
    };
    match required.iter().find(|name| !present(name)) {
        Some(missing) => Err(Refusal::param(format!("The parameter {missing} is required"))),
        None => Ok(Some(endpoint)),
    }
}

/// What `id` is for Meta: `me` is whoever the token stands for.
fn object_of(req: &Request<'_>, id: &str, world: &World) -> Result<(Object, String), Refusal> {
    let token = req.token.unwrap_or_default();
    if id == "me" {
        return Ok(match req.host {
            Host::Instagram => {
                let account = world.instagram_account_of_token(token).unwrap_or("me");
                (Object::InstagramAccount, account.to_owned())
            }
            _ => match world.page_of_token(token) {
                Some(page) => (Object::Page, page.to_owned()),
                None => (Object::User, world.user_of_token(token).to_owned()),
            },
        });
    }
    match world.object(id) {
        // graph.instagram.com knows Instagram objects only.
        Some(Object::Page | Object::MessengerUser | Object::User | Object::Application)
            if req.host == Host::Instagram =>
        {
            Err(Refusal::unsupported(req.method, id))
        }
        Some(object) => Ok((object, id.to_owned())),
        None => Err(Refusal::unsupported(req.method, id)),
    }
}

/// The spec's node type for an object on a host; `None` for a person (no spec node).
fn node_type(host: Host, object: Object) -> Option<&'static str> {
    Some(match (host, object) {
        (_, Object::Page) => "Page",
        (Host::Instagram, Object::InstagramAccount) => "IGUserForIGOnlyAPI",
        (_, Object::InstagramAccount) => "IGUser",
        (_, Object::InstagramComment) => "IGComment",
        (_, Object::InstagramMedia) => "IGMedia",
        (_, Object::User) => "User",
        (_, Object::Application) => "Application",
        (_, Object::Thread) => "UnifiedThread",
        (_, Object::InstagramUser | Object::MessengerUser) => return None,
    })
}

/// A person can only be read, and only for the fields their platform's profile has.
fn check_profile(req: &Request<'_>, object: Object, id: String, edge: &str) -> Result<Endpoint, Refusal> {
    if req.method != "GET" || !edge.is_empty() {
        return Err(if edge.is_empty() { Refusal::unsupported(req.method, &id) } else { Refusal::unknown_path(edge) });
    }
    let (known, node): (&[&str], _) = match object {
        Object::MessengerUser => (&MESSENGER_PROFILE_FIELDS, "User (PSID)"),
        _ => (&INSTAGRAM_PROFILE_FIELDS, "User (IGSID)"),
    };
    let fields = req.params.get("fields").and_then(Value::as_str).unwrap_or("id");
    for field in super::spec::top_level_fields(fields) {
        if !known.contains(&field) {
            return Err(Refusal::nonexisting_field(field, node));
        }
    }
    Ok(Endpoint::Profile { object, id })
}
