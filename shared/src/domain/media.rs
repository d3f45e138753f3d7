//! Media kept in the deployment's own storage: what a file is, told from its first bytes
//! (never from what the sender or a CDN header claims), whether that fits the attachment
//! Meta said it was, and where a copy lives (under its organization).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Message, MessageStatus};

/// The largest copy kept unless `MEDIA_MAX_BYTES` says otherwise (Meta's own limit for a DM
/// attachment is 25 MB).
pub const DEFAULT_MEDIA_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// What the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    /// `image`, `video`, `audio` or `file`: Meta's attachment types.
    pub kind: &'static str,
}

const fn sniffed(content_type: &'static str, kind: &'static str) -> Option<Sniffed> {
    Some(Sniffed { content_type, kind })
}

/// The type the first bytes of a file show, for the formats Instagram and Messenger carry;
/// `None` for anything else (refused: a copy is only kept of what it claims to be).
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let at = |from: usize, magic: &[u8]| bytes.get(from..from + magic.len()) == Some(magic);
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => sniffed("image/jpeg", "image"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => sniffed("image/png", "image"),
        _ if at(0, b"GIF87a") || at(0, b"GIF89a") => sniffed("image/gif", "image"),
        _ if at(0, b"RIFF") && at(8, b"WEBP") => sniffed("image/webp", "image"),
        _ if at(0, b"RIFF") && at(8, b"WAVE") => sniffed("audio/wav", "audio"),
        _ if at(4, b"ftyp") && (at(8, b"M4A ") || at(8, b"M4B ")) => sniffed("audio/mp4", "audio"),
        _ if at(4, b"ftyp") && at(8, b"qt  ") => sniffed("video/quicktime", "video"),
        _ if at(4, b"ftyp") => sniffed("video/mp4", "video"),
        _ if at(0, b"OggS") => sniffed("audio/ogg", "audio"),
        _ if at(0, b"ID3") => sniffed("audio/mpeg", "audio"),
        [0xFF, 0xFB | 0xF3 | 0xF2, ..] => sniffed("audio/mpeg", "audio"),
        [0xFF, 0xF1 | 0xF9, ..] => sniffed("audio/aac", "audio"),
        _ if at(0, b"%PDF-") => sniffed("application/pdf", "file"),
        _ if at(0, b"PK\x03\x04") => sniffed("application/zip", "file"),
        _ => None,
    }
}

/// Whether bytes of `sniffed` may be kept as the attachment Meta called `declared`: an
/// image is an image, and so on; a `file` may be any document (Meta sends PDFs and office
/// files as files) or media.
pub fn fits(declared: &str, sniffed: Sniffed) -> bool {
    declared == sniffed.kind || declared == "file"
}

/// Where the copy of a message's `index`th attachment lives: under its organization and its
/// conversation, so a key never names another organization's file, and erasing a
/// conversation or an organization removes one prefix (`media_prefix`).
/// When a link on Meta's CDN stops working: its `oe` parameter, the expiry in hexadecimal
/// Unix seconds (`...?_nc_ht=...&oh=...&oe=5939B5DC`); `None` for a link without one.
pub fn cdn_link_expiry(url: &str) -> Option<DateTime<Utc>> {
    let parsed = url::Url::parse(url).ok()?;
    let oe = parsed.query_pairs().find(|(k, _)| k == "oe")?.1;
    DateTime::from_timestamp(i64::from_str_radix(&oe, 16).ok()?, 0)
}

pub fn media_key(org: &str, conversation_id: &str, message_id: &str, index: usize) -> String {
    format!("{}{index}", message_media_prefix(org, conversation_id, message_id))
}

/// Every copy of one message (unsent: all of them go).
pub fn message_media_prefix(org: &str, conversation_id: &str, message_id: &str) -> String {
    format!("{}{message_id}/", media_prefix(org, Some(conversation_id)))
}

/// Where a customer's profile picture is kept: under their organization, beside (never
/// inside) its conversations, so erasing the customer removes `contact_media_prefix`. `None`
/// for an id that is no id (Meta's are digits): no picture is kept under it.
pub fn contact_media_key(org: &str, participant_id: &str) -> Option<String> {
    contact_media_prefix(org, participant_id).map(|prefix| format!("{prefix}picture"))
}

pub fn contact_media_prefix(org: &str, participant_id: &str) -> Option<String> {
    let id_like = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
    let fits = !participant_id.is_empty() && participant_id.len() <= 128 && participant_id.chars().all(id_like);
    fits.then(|| format!("{org}/contacts/{participant_id}/"))
}

/// Every copy of an organization, or of one of its conversations.
pub fn media_prefix(org: &str, conversation_id: Option<&str>) -> String {
    match conversation_id {
        Some(c) => format!("{org}/{c}/"),
        None => format!("{org}/"),
    }
}

/// What became of copying one attachment, recorded in its `payload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCopy {
    /// Kept under `key` (`storedKey`, `contentType`, `size`).
    Stored { key: String, content_type: String, size: u64 },
    /// Not kept, for good (`copyError`), and Meta's link stays: `TOO_LARGE`, `TYPE_MISMATCH`
    /// (the bytes are not what Meta called them), `LINK_EXPIRED` (the CDN no longer serves it).
    Refused(&'static str),
}

/// The attachment types whose file is the customer's own and is kept: not story mentions
/// (Meta's policy forbids keeping them), shared posts, reels or templates (Meta's content).
const KEPT_TYPES: [&str; 4] = ["image", "video", "audio", "file"];

/// One attachment still to copy: its place in the message, the type Meta named, Meta's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCopy {
    pub index: usize,
    pub kind: String,
    pub url: String,
}

fn payload_of(attachment: &Value) -> Option<&Map<String, Value>> {
    attachment.get("payload").and_then(Value::as_object)
}

/// Whether a copy of the attachment was made or refused already.
fn settled(payload: &Map<String, Value>) -> bool {
    payload.contains_key("storedKey") || payload.contains_key("copyError")
}

impl Message {
    /// The attachments a copy is still to be made of (none once unsent).
    pub fn pending_copies(&self) -> Vec<PendingCopy> {
        if self.status == MessageStatus::Deleted {
            return Vec::new();
        }
        let pending = |(index, a): (usize, &Value)| {
            let kind = a.get("type").and_then(Value::as_str).filter(|t| KEPT_TYPES.contains(t))?;
            let payload = payload_of(a).filter(|p| !settled(p))?;
            let url = payload.get("url").and_then(Value::as_str).filter(|u| u.starts_with("http"))?;
            Some(PendingCopy { index, kind: kind.to_owned(), url: url.to_owned() })
        };
        self.attachments.iter().enumerate().filter_map(pending).collect()
    }

    /// Records what became of copying attachment `index`; false when that changes nothing
    /// (unsent meanwhile, no such attachment, already recorded).
    pub(super) fn record_copy(&mut self, index: usize, copy: &MediaCopy) -> bool {
        if self.status == MessageStatus::Deleted {
            return false;
        }
        let payload = self.attachments.get_mut(index).and_then(|a| a.get_mut("payload")).and_then(Value::as_object_mut);
        let Some(payload) = payload.filter(|p| !settled(p)) else { return false };
        match copy {
            MediaCopy::Stored { key, content_type, size } => {
                payload.insert("storedKey".into(), json!(key));
                payload.insert("contentType".into(), json!(content_type));
                payload.insert("size".into(), json!(size));
            }
            MediaCopy::Refused(why) => {
                payload.insert("copyError".into(), json!(why));
            }
        }
        true
    }

    /// The keys of its copies, with the payload each is recorded in (to show a signed URL).
    pub fn stored_copies_mut(&mut self) -> Vec<(String, &mut Map<String, Value>)> {
        let copies = self.attachments.iter_mut().filter_map(|a| a.get_mut("payload")?.as_object_mut());
        copies.filter_map(|p| Some((p.get("storedKey")?.as_str()?.to_owned(), p))).collect()
    }
}

/// Shows a kept copy: `url` leads to the copy (signed, until `expires_at`), `metaUrl` keeps
/// Meta's link; the storage key stays inside.
pub fn show_copy(payload: &mut Map<String, Value>, signed_url: String, expires_at: DateTime<Utc>) {
    if let Some(meta_url) = payload.remove("url") {
        payload.insert("metaUrl".into(), meta_url);
    }
    payload.remove("storedKey");
    payload.insert("url".into(), json!(signed_url));
    payload.insert("urlExpiresAt".into(), json!(expires_at));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdn_link_says_when_it_expires() {
        let link = "https://scontent.xx.fbcdn.net/v/t39/851557_n.png?_nc_ad=z-m&oh=85e2&oe=5939B5DC";
        assert_eq!(cdn_link_expiry(link), DateTime::from_timestamp(0x5939B5DC, 0));
        assert_eq!(cdn_link_expiry("https://scontent.cdninstagram.com/v/t51/ana.jpg"), None);
        assert_eq!(cdn_link_expiry("https://x.example/a.jpg?oe=zz"), None);
    }

    #[test]
    fn the_bytes_say_what_a_file_is_not_its_name() {
        let cases: [(&[u8], Option<&str>); 14] = [
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1A\n\0\0", Some("image/png")),
            (b"GIF89a\x01\x00", Some("image/gif")),
            (b"RIFF\x10\x00\x00\x00WEBPVP8 ", Some("image/webp")),
            (b"RIFF\x10\x00\x00\x00WAVEfmt ", Some("audio/wav")),
            (b"\x00\x00\x00\x18ftypmp42\x00", Some("video/mp4")),
            (b"\x00\x00\x00\x14ftypqt  \x00", Some("video/quicktime")),
            (b"\x00\x00\x00\x1CftypM4A \x00", Some("audio/mp4")),
            (b"OggS\x00\x02", Some("audio/ogg")),
            (b"ID3\x04\x00", Some("audio/mpeg")),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"<html><script>", None),
            (b"MZ\x90\x00", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff(bytes).map(|s| s.content_type), expected, "{bytes:?}");
        }
    }

    #[test]
    fn an_attachment_is_kept_only_as_what_it_claims_to_be() {
        let jpeg = sniff(b"\xFF\xD8\xFF\xE0").unwrap();
        let pdf = sniff(b"%PDF-1.4").unwrap();
        assert!(fits("image", jpeg) && fits("file", jpeg) && fits("file", pdf));
        assert!(!fits("video", jpeg) && !fits("image", pdf) && !fits("audio", jpeg));
        assert_eq!(media_key("org_a", "conv_1", "msg_1", 0), "org_a/conv_1/msg_1/0");
        assert!(media_key("org_a", "conv_1", "msg_1", 0).starts_with(&media_prefix("org_a", Some("conv_1"))));
        assert!(media_key("org_a", "conv_1", "msg_1", 0).starts_with(&media_prefix("org_a", None)));
        assert!(!media_key("org_ab", "c", "m", 0).starts_with(&media_prefix("org_a", None)), "another organization");
    }

    #[test]
    fn a_message_copies_its_own_files_once_and_never_after_an_unsend() {
        use crate::domain::{Conversation, Direction};
        let t = chrono::Utc::now();
        let c = Conversation::opened("conv_1".into(), "org_a", "acc_1", "cust", t, t);
        let mut m = Message::told_by_meta(&c, Direction::Inbound, ("cust".into(), "acc".into()), t, t);
        m.attachments = vec![
            json!({"type": "image", "payload": {"url": "https://cdn/a.jpg"}}),
            json!({"type": "story_mention", "payload": {"url": "https://cdn/s"}}),
            json!({"type": "share", "payload": {"url": "https://cdn/p"}}),
            json!({"type": "file", "payload": {"url": "https://cdn/f.pdf"}}),
        ];
        let indexes = |m: &Message| m.pending_copies().iter().map(|p| p.index).collect::<Vec<_>>();
        assert_eq!(indexes(&m), [0, 3], "only the customer's own files");
        let stored = MediaCopy::Stored { key: "k".into(), content_type: "image/jpeg".into(), size: 3 };
        assert!(m.record_copy(0, &stored));
        assert!(!m.record_copy(0, &MediaCopy::Refused("TOO_LARGE")), "recorded once");
        assert!(!m.record_copy(9, &stored), "no such attachment");
        assert!(m.record_copy(3, &MediaCopy::Refused("TOO_LARGE")));
        assert!(indexes(&m).is_empty());
        let copies = m.stored_copies_mut();
        assert_eq!(copies.len(), 1);
        let (key, payload) = copies.into_iter().next().unwrap();
        assert_eq!(key, "k");
        show_copy(payload, "https://signed".into(), t);
        assert_eq!(m.attachments[0]["payload"]["metaUrl"], "https://cdn/a.jpg");
        assert_eq!(m.attachments[0]["payload"]["url"], "https://signed");
        assert!(m.attachments[0]["payload"].get("storedKey").is_none());
        m.status = MessageStatus::Deleted;
        m.attachments[3] = json!({"type": "video", "payload": {"url": "https://cdn/v"}});
        assert!(m.pending_copies().is_empty() && !m.record_copy(3, &stored), "unsent: nothing more is kept");
    }
}
