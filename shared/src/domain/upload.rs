//! A file an agent sends from their own computer: declared first (name, type, size, checked
//! against what the conversation's channel takes), put by the agent straight into the
//! deployment's media storage, then sent. Its record lives beside the file, under the
//! conversation's media prefix, so erasing the customer or the organization removes both.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Provider;
use super::media::{Sniffed, media_prefix};
use super::rich::Refused;

const MB: u64 = 1024 * 1024;

/// What one of Meta's attachment types takes on a channel: its formats and its largest file.
struct Accepts {
    kind: &'static str,
    /// `None`: any format (Messenger's files).
    content_types: Option<&'static [&'static str]>,
    max_bytes: u64,
}

const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif"];
const VIDEOS: &[&str] = &["video/mp4", "video/ogg", "video/x-msvideo", "video/quicktime", "video/webm"];
const INSTAGRAM_AUDIO: &[&str] = &["audio/aac", "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav"];
const AUDIO: &[&str] =
    &["audio/aac", "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav", "audio/mpeg", "audio/ogg"];

/// Instagram's attachment upload API: images png, jpeg, gif up to 8 MB; video mp4, ogg, avi,
/// mov, webm and audio aac, m4a, wav, mp4 up to 25 MB; files PDF up to 25 MB.
const INSTAGRAM: [Accepts; 4] = [
    Accepts { kind: "image", content_types: Some(IMAGES), max_bytes: 8 * MB },
    Accepts { kind: "video", content_types: Some(VIDEOS), max_bytes: 25 * MB },
    Accepts { kind: "audio", content_types: Some(INSTAGRAM_AUDIO), max_bytes: 25 * MB },
    Accepts { kind: "file", content_types: Some(&["application/pdf"]), max_bytes: 25 * MB },
];

/// Messenger: images up to 8 MB, everything else up to 25 MB, any document as a file.
const MESSENGER: [Accepts; 4] = [
    Accepts { kind: "image", content_types: Some(IMAGES), max_bytes: 8 * MB },
    Accepts { kind: "video", content_types: Some(VIDEOS), max_bytes: 25 * MB },
    Accepts { kind: "audio", content_types: Some(AUDIO), max_bytes: 25 * MB },
    Accepts { kind: "file", content_types: None, max_bytes: 25 * MB },
];

fn accepted(provider: Provider) -> &'static [Accepts; 4] {
    match provider {
        Provider::Instagram => &INSTAGRAM,
        Provider::Messenger => &MESSENGER,
    }
}

fn channel(provider: Provider) -> &'static str {
    match provider {
        Provider::Instagram => "Instagram",
        Provider::Messenger => "Messenger",
    }
}

/// The attachment type a file of `content_type` and `size` bytes goes as on `provider`, or
/// why it cannot go: a format the channel does not take (`Unsupported`), over the type's
/// size (`OverLimit`, naming it).
pub fn kind_for(provider: Provider, content_type: &str, size: u64) -> Result<&'static str, Refused> {
    let content_type = normalized_type(content_type);
    if size == 0 {
        return Err(Refused::Invalid("size must be at least 1 byte".into()));
    }
    let takes = |a: &&Accepts| a.content_types.is_none_or(|types| types.contains(&content_type.as_str()));
    let Some(accepts) = accepted(provider).iter().find(takes) else {
        let formats: Vec<String> = accepted(provider)
            .iter()
            .map(|a| format!("{} ({})", a.kind, a.content_types.map_or("any".into(), |t| t.join(", "))))
            .collect();
        return Err(Refused::Unsupported(format!(
            "{} does not take {content_type} files; it takes {}",
            channel(provider),
            formats.join("; ")
        )));
    };
    if size > accepts.max_bytes {
        return Err(Refused::OverLimit(format!(
            "the file is {size} bytes; {} takes an {} of at most {} MB ({} bytes)",
            channel(provider),
            accepts.kind,
            accepts.max_bytes / MB,
            accepts.max_bytes
        )));
    }
    Ok(accepts.kind)
}

/// A MIME type as compared and kept: without its parameters, in lower case.
pub fn normalized_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether the file's first bytes show what it was declared as: the same kind (an `m4a`
/// shows as `audio/mp4`, a `mov` as `video/quicktime`), a PDF as a PDF. A file of any other
/// document type (Messenger's) is not told from its bytes.
pub fn bytes_fit(upload: &Upload, sniffed: Option<Sniffed>) -> bool {
    let pdf = "application/pdf";
    match (upload.kind.as_str(), sniffed) {
        ("file", _) if upload.content_type != pdf => true,
        ("file", Some(s)) => s.content_type == pdf,
        (kind, Some(s)) => s.kind == kind,
        (_, None) => false,
    }
}

/// A declared upload and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    pub organization_id: String,
    pub conversation_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Meta's attachment type: `image`, `video`, `audio`, `file`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Meta's reusable `attachment_id` for this file, by the account that uploaded it: each
    /// account uploads a file once, then sends it by id.
    #[serde(default)]
    pub attachment_ids: BTreeMap<String, String>,
}

impl Upload {
    /// Where the agent puts the file.
    pub fn file_key(&self) -> String {
        upload_file_key(&self.organization_id, &self.conversation_id, &self.id)
    }

    pub fn record_key(&self) -> String {
        upload_record_key(&self.organization_id, &self.conversation_id, &self.id)
    }

    /// The message's attachment while it is ours: the kept file (shown by a signed URL).
    pub fn attachment_json(&self) -> Value {
        json!({ "type": self.kind, "payload": {
            "storedKey": self.file_key(), "contentType": self.content_type, "size": self.size,
            "fileName": self.file_name, "uploadId": self.id,
        }})
    }
}

/// An upload's folder: inside its conversation's media, so it goes with it.
fn upload_prefix(org: &str, conversation_id: &str, upload_id: &str) -> String {
    format!("{}uploads/{upload_id}/", media_prefix(org, Some(conversation_id)))
}

pub fn upload_file_key(org: &str, conversation_id: &str, upload_id: &str) -> String {
    format!("{}file", upload_prefix(org, conversation_id, upload_id))
}

pub fn upload_record_key(org: &str, conversation_id: &str, upload_id: &str) -> String {
    format!("{}upload.json", upload_prefix(org, conversation_id, upload_id))
}

/// A name as the agent's computer called the file: kept for the inbox to show, never used as
/// a key. Control characters go; at most 255 characters.
pub fn clean_file_name(name: &str) -> Result<String, Refused> {
    let clean: String = name.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean.chars().count() > 255 {
        return Err(Refused::Invalid("fileName must be 1 to 255 characters".into()));
    }
    Ok(clean.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::media::sniff;

    #[test]
    fn each_channel_takes_its_own_formats_and_sizes() {
        assert_eq!(kind_for(Provider::Instagram, "image/jpeg", 8 * MB), Ok("image"));
        assert_eq!(kind_for(Provider::Instagram, "IMAGE/PNG; q=1", 10), Ok("image"));
        assert!(
            matches!(kind_for(Provider::Instagram, "image/jpeg", 8 * MB + 1), Err(Refused::OverLimit(m)) if m.contains("8 MB"))
        );
        assert_eq!(kind_for(Provider::Instagram, "video/quicktime", 25 * MB), Ok("video"));
        assert!(matches!(kind_for(Provider::Instagram, "video/mp4", 25 * MB + 1), Err(Refused::OverLimit(_))));
        assert_eq!(kind_for(Provider::Instagram, "audio/x-m4a", 1), Ok("audio"));
        assert_eq!(kind_for(Provider::Instagram, "application/pdf", 1), Ok("file"));
        assert!(
            matches!(kind_for(Provider::Instagram, "application/zip", 1), Err(Refused::Unsupported(m)) if m.contains("Instagram"))
        );
        assert!(matches!(kind_for(Provider::Instagram, "image/webp", 1), Err(Refused::Unsupported(_))));
        assert!(matches!(kind_for(Provider::Instagram, "audio/mpeg", 1), Err(Refused::Unsupported(_))));
        assert_eq!(kind_for(Provider::Messenger, "audio/mpeg", 1), Ok("audio"));
        assert_eq!(kind_for(Provider::Messenger, "application/zip", 25 * MB), Ok("file"));
        assert!(matches!(kind_for(Provider::Messenger, "application/zip", 25 * MB + 1), Err(Refused::OverLimit(_))));
        assert!(matches!(kind_for(Provider::Messenger, "image/png", 0), Err(Refused::Invalid(_))));
    }

    #[test]
    fn the_bytes_must_be_what_was_declared() {
        let upload = |kind: &str, content_type: &str| Upload {
            id: "up_1".into(),
            organization_id: "org_a".into(),
            conversation_id: "conv_1".into(),
            file_name: "a".into(),
            content_type: content_type.into(),
            size: 3,
            kind: kind.into(),
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            attachment_ids: BTreeMap::new(),
        };
        assert!(bytes_fit(&upload("image", "image/png"), sniff(b"\x89PNG\r\n\x1A\n")));
        assert!(!bytes_fit(&upload("image", "image/png"), sniff(b"%PDF-1.7")));
        assert!(!bytes_fit(&upload("image", "image/png"), sniff(b"MZ\x90\0")));
        assert!(bytes_fit(&upload("file", "application/pdf"), sniff(b"%PDF-1.7")));
        assert!(!bytes_fit(&upload("file", "application/pdf"), sniff(b"hello")));
        assert!(bytes_fit(&upload("file", "application/msword"), sniff(b"\xD0\xCF\x11\xE0")));
        assert_eq!(upload("image", "image/png").file_key(), "org_a/conv_1/uploads/up_1/file");
        assert_eq!(clean_file_name(" a\u{0}b.png\n"), Ok("ab.png".into()));
        assert!(clean_file_name("\n").is_err());
    }
}
