//! Media kept in the deployment's own storage: what a file is, told from its first bytes
//! (never from what the sender or a CDN header claims), whether that fits the attachment
//! Meta said it was, and where a copy lives (under its organization).

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
pub fn media_key(org: &str, conversation_id: &str, message_id: &str, index: usize) -> String {
    format!("{}{message_id}/{index}", media_prefix(org, Some(conversation_id)))
}

/// Every copy of an organization, or of one of its conversations.
pub fn media_prefix(org: &str, conversation_id: Option<&str>) -> String {
    match conversation_id {
        Some(c) => format!("{org}/{c}/"),
        None => format!("{org}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
