//! Meta's attachment upload API (`/{page}/message_attachments`; Instagram Login's
//! `/{ig-id}/messageattachments`) and the sends that name what it keeps by `attachment_id`.
//! The spec types `message` as a bare object; the documented rules are here. Meta fetches the
//! file from the link at once: so does the fake, which refuses a link it cannot fetch, and
//! bytes over the type's size or not of the type named.

use serde_json::{Map, Value, json};

use super::refusal::Refusal;
use super::spec::{Params, as_object, scalar};
use super::world::World;
use crate::domain::media::{fits, sniff};

const MB: usize = 1024 * 1024;
const KINDS: [&str; 4] = ["image", "video", "audio", "file"];

/// A file Meta keeps for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAttachment {
    /// The Page or Instagram account that uploaded it: only its sends may name it.
    pub owner: String,
    pub kind: String,
    pub reusable: bool,
    /// Sends that named it.
    pub sent: u32,
}

fn attachment_of(message: Option<&Value>) -> Result<Map<String, Value>, Refusal> {
    let message = message.and_then(as_object).ok_or_else(|| Refusal::param("Param message must be a JSON object"))?;
    message
        .get("attachment")
        .and_then(as_object)
        .ok_or_else(|| Refusal::param("Param message[attachment] must be a JSON object"))
}

/// An upload's `message`: one attachment of a kind Meta keeps, by an http(s) `url`. Its kind
/// and link.
pub fn check_upload(params: &Params) -> Result<(String, String), Refusal> {
    let attachment = attachment_of(params.get("message"))?;
    let kind = attachment.get("type").map(scalar).unwrap_or_default();
    if !KINDS.contains(&kind.as_str()) {
        return Err(Refusal::param(format!("Param message[attachment][type] must be one of {KINDS:?}")));
    }
    let payload = attachment.get("payload").and_then(as_object).unwrap_or_default();
    let url = payload.get("url").map(scalar).unwrap_or_default();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Refusal::param("Param message[attachment][payload][url] must be a URL"));
    }
    if let Some(reusable) = payload.get("is_reusable")
        && !matches!(scalar(reusable).as_str(), "true" | "false")
    {
        return Err(Refusal::param("Param message[attachment][payload][is_reusable] must be a boolean"));
    }
    Ok((kind, url))
}

/// What Meta does with the fetched bytes: over the type's size (images 8 MB, the rest
/// 25 MB), or not of the type named, it refuses.
pub fn check_fetched(kind: &str, bytes: &[u8]) -> Result<(), Refusal> {
    let max = if kind == "image" { 8 * MB } else { 25 * MB };
    if bytes.len() > max {
        return Err(Refusal::param(format!("The {kind} is {} bytes; the limit is {max}", bytes.len())));
    }
    let fits = sniff(bytes).is_some_and(|s| fits(kind, s)) || (kind == "file" && sniff(bytes).is_none());
    if !fits {
        return Err(Refusal::param(format!("The file at the url is not a valid {kind}")));
    }
    Ok(())
}

/// Fetches the file as Meta does (at once, following no redirect): its bytes, or the refusal.
pub async fn fetch(url: &str) -> Result<Vec<u8>, Refusal> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let failed = |why: String| Refusal::param(format!("Failed to fetch the file from the url: {why}"));
    let response = client.get(url).send().await.map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    Ok(response.bytes().await.map_err(|e| failed(e.to_string()))?.to_vec())
}

/// Meta keeps the file for `owner` and answers its id.
pub fn answer(owner: &str, params: &Params, world: &mut World) -> Value {
    let attachment = attachment_of(params.get("message")).unwrap_or_default();
    let kind = attachment.get("type").map(scalar).unwrap_or_default();
    let payload = attachment.get("payload").and_then(as_object).unwrap_or_default();
    let reusable = payload.get("is_reusable").is_some_and(|r| scalar(r) == "true");
    let id = format!("{}", 1_857_777_774_821_000u64 + world.attachments.len() as u64);
    world.attachments.insert(id.clone(), KeptAttachment { owner: owner.to_owned(), kind, reusable, sent: 0 });
    json!({ "attachment_id": id })
}

/// A send naming an `attachment_id`: one `owner` uploaded, of the type named, reusable or not
/// sent before.
pub fn check_send(owner: &str, params: &Params, world: &World) -> Result<(), Refusal> {
    let Ok(attachment) = attachment_of(params.get("message")) else { return Ok(()) };
    let payload = attachment.get("payload").and_then(as_object).unwrap_or_default();
    let Some(id) = payload.get("attachment_id").map(scalar) else { return Ok(()) };
    let unknown = || Refusal::param(format!("Param message[attachment][payload][attachment_id] {id} is not valid"));
    let kept = world.attachments.get(&id).filter(|a| a.owner == owner).ok_or_else(unknown)?;
    if attachment.get("type").map(scalar).as_deref() != Some(kept.kind.as_str()) {
        return Err(Refusal::param(format!("Attachment {id} is a {}, not the type named", kept.kind)));
    }
    if !kept.reusable && kept.sent > 0 {
        return Err(Refusal::param(format!("Attachment {id} is not reusable and was sent already")));
    }
    Ok(())
}

/// Counts a send of an uploaded attachment.
pub fn note_send(params: &Params, world: &mut World) {
    let Ok(attachment) = attachment_of(params.get("message")) else { return };
    let id = attachment.get("payload").and_then(|p| p.get("attachment_id")).map(scalar);
    if let Some(kept) = id.and_then(|id| world.attachments.get_mut(&id)) {
        kept.sent += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn uploads_and_the_sends_that_name_them_follow_metas_rules() {
        let upload = |a: Value| params(json!({"platform": "instagram", "message": {"attachment": a}}));
        let ok = upload(json!({"type": "image", "payload": {"url": "https://x/y", "is_reusable": true}}));
        assert_eq!(check_upload(&ok).unwrap(), ("image".to_owned(), "https://x/y".to_owned()));
        assert!(check_upload(&upload(json!({"type": "sticker", "payload": {"url": "https://x/y"}}))).is_err());
        assert!(check_upload(&upload(json!({"type": "image", "payload": {"attachment_id": "1"}}))).is_err());
        assert!(check_fetched("image", b"\x89PNG\r\n\x1A\n").is_ok());
        assert!(check_fetched("image", b"%PDF-1.4").is_err());
        assert!(check_fetched("image", &vec![0xFF; 8 * MB + 1]).is_err());
        let mut world = World::default();
        let id = answer("page_1", &ok, &mut world)["attachment_id"].as_str().unwrap().to_owned();
        let send = |kind: &str, id: &str| {
            params(json!({"message": {"attachment": {"type": kind, "payload": {"attachment_id": id}}}}))
        };
        check_send("page_1", &send("image", &id), &world).unwrap();
        assert!(check_send("page_2", &send("image", &id), &world).is_err(), "another Page's");
        assert!(check_send("page_1", &send("video", &id), &world).is_err(), "another type");
        assert!(check_send("page_1", &send("image", "999"), &world).is_err(), "unknown");
        note_send(&send("image", &id), &mut world);
        check_send("page_1", &send("image", &id), &world).unwrap();
        let once = upload(json!({"type": "image", "payload": {"url": "https://x/z"}}));
        let once_id = answer("page_1", &once, &mut world)["attachment_id"].as_str().unwrap().to_owned();
        note_send(&send("image", &once_id), &mut world);
        assert!(check_send("page_1", &send("image", &once_id), &world).is_err(), "not reusable");
    }
}
