//! Media copies in a folder (`DATA_DIR/media`): the local server's storage. Its signed URLs
//! lead to the server's own route, `GET /api/media/<key>?expires=<unix s>&signature=<hex>`,
//! the signature an HMAC-SHA256 of the key and the expiry under a key of this folder's own
//! (made at first use, kept beside the files), checked in constant time. Its signed upload
//! URLs lead to `PUT /api/media/<key>?expires=&maxBytes=&signature=`, signed apart (a GET's
//! signature never lets anyone write) over the key, the expiry, the type and the size.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ports::{Head, MediaError, MediaStore, SignedPut};

/// The route the signed URLs lead to.
pub const MEDIA_ROUTE: &str = "/api/media/";

pub struct MediaFolder {
    root: PathBuf,
    /// The server's own origin (`http://127.0.0.1:3000`), before `MEDIA_ROUTE`.
    origin: String,
    signing_key: Vec<u8>,
    clock: std::sync::Arc<dyn crate::ports::Clock>,
}

fn backend(e: impl std::fmt::Display) -> MediaError {
    MediaError::Backend(e.to_string())
}

/// Beside each copy, its content type.
fn type_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".type");
    PathBuf::from(name)
}

/// A key is `<org>/<message>/<index>`: ids only, never a path that climbs out of the folder.
fn safe(key: &str) -> Option<&str> {
    let ok = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    (key.split('/').all(|p| ok(p) && p != "." && p != "..")).then_some(key)
}

impl MediaFolder {
    /// The folder at `root` (created), its signing key read or made.
    pub fn open(
        root: &Path,
        origin: &str,
        clock: std::sync::Arc<dyn crate::ports::Clock>,
    ) -> Result<MediaFolder, MediaError> {
        std::fs::create_dir_all(root).map_err(backend)?;
        let key_file = root.join(".signing-key");
        let signing_key = match std::fs::read(&key_file) {
            Ok(key) if key.len() == 32 => key,
            _ => {
                let key: [u8; 32] = rand::random();
                std::fs::write(&key_file, key).map_err(backend)?;
                key.to_vec()
            }
        };
        Ok(MediaFolder { root: root.to_owned(), origin: origin.trim_end_matches('/').to_owned(), signing_key, clock })
    }

    fn path(&self, key: &str) -> Result<PathBuf, MediaError> {
        safe(key).map(|k| self.root.join(k)).ok_or_else(|| backend(format!("not a media key: {key}")))
    }

    fn mac(&self, key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("HMAC takes any key length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// A PUT's signature: `PUT` first, so no GET link's signature is one.
    fn put_mac(&self, key: &str, expires: i64, content_type: &str, max_bytes: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("HMAC takes any key length");
        for part in ["PUT", key, &expires.to_string(), content_type, &max_bytes.to_string()] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }
}

#[async_trait]
impl MediaStore for MediaFolder {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), MediaError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend)?;
        }
        std::fs::write(type_file(&path), content_type).map_err(backend)?;
        std::fs::write(&path, bytes).map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        // A key no copy could have been put under has nothing to delete.
        let Ok(path) = self.path(key) else { return Ok(()) };
        for file in [type_file(&path), path] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(backend(e)),
                _ => {}
            }
        }
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError> {
        // A prefix is a folder of the tree (`<org>/` or `<org>/<conversation>/`).
        let Ok(dir) = self.path(prefix.trim_end_matches('/')) else { return Ok(()) };
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(backend(e)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, MediaError> {
        let mut keys = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).map_err(backend)? {
                let path = entry.map_err(backend)?.path();
                let key = path.strip_prefix(&self.root).map_err(backend)?.to_string_lossy().replace('\\', "/");
                match path.is_dir() {
                    true => dirs.push(path),
                    false
                        if safe(&key).is_some()
                            && !key.ends_with(".type")
                            && !key.starts_with(".")
                            && key.starts_with(prefix) =>
                    {
                        keys.push(key)
                    }
                    false => {}
                }
            }
        }
        Ok(keys)
    }

    async fn signed_url(&self, key: &str, ttl: std::time::Duration) -> Result<String, MediaError> {
        safe(key).ok_or_else(|| backend(format!("not a media key: {key}")))?;
        let expires = self.clock.now().timestamp() + ttl.as_secs() as i64;
        let signature = hex::encode(self.mac(key, expires).finalize().into_bytes());
        Ok(format!("{}{MEDIA_ROUTE}{key}?expires={expires}&signature={signature}", self.origin))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, MediaError> {
        match std::fs::read(self.path(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn head(&self, key: &str, n: usize) -> Result<Option<Head>, MediaError> {
        use std::io::Read;
        let file = match std::fs::File::open(self.path(key)?) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let size = file.metadata().map_err(backend)?.len();
        let mut first_bytes = Vec::with_capacity(n.min(4096));
        file.take(n as u64).read_to_end(&mut first_bytes).map_err(backend)?;
        Ok(Some(Head { size, first_bytes }))
    }

    async fn signed_put_url(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl: std::time::Duration,
    ) -> Result<String, MediaError> {
        safe(key).ok_or_else(|| backend(format!("not a media key: {key}")))?;
        let expires = self.clock.now().timestamp() + ttl.as_secs() as i64;
        let signature = hex::encode(self.put_mac(key, expires, content_type, max_bytes).finalize().into_bytes());
        let query = format!("expires={expires}&maxBytes={max_bytes}&signature={signature}");
        Ok(format!("{}{MEDIA_ROUTE}{key}?{query}", self.origin))
    }

    async fn put_signed(&self, signed: &SignedPut<'_>, bytes: Vec<u8>) -> Result<bool, MediaError> {
        let Ok(signature) = hex::decode(signed.signature) else { return Ok(false) };
        let mac = self.put_mac(signed.key, signed.expires, signed.content_type, signed.max_bytes);
        let holds = mac.verify_slice(&signature).is_ok()
            && self.clock.now().timestamp() <= signed.expires
            && bytes.len() as u64 <= signed.max_bytes;
        if !holds {
            return Ok(false);
        }
        self.put(signed.key, bytes, signed.content_type).await.map(|()| true)
    }

    async fn open_signed(&self, key: &str, expires: i64, signature: &str) -> Option<(Vec<u8>, String)> {
        let signature = hex::decode(signature).ok()?;
        self.mac(key, expires).verify_slice(&signature).ok()?;
        if self.clock.now().timestamp() > expires {
            return None;
        }
        let path = self.path(key).ok()?;
        let bytes = std::fs::read(&path).ok()?;
        let content_type = std::fs::read_to_string(type_file(&path)).ok()?;
        Some((bytes, content_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ManualClock;

    fn folder() -> (MediaFolder, std::sync::Arc<ManualClock>) {
        let clock = std::sync::Arc::new(ManualClock::new(chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap()));
        let root = std::env::temp_dir().join(crate::domain::new_id("media"));
        (MediaFolder::open(&root, "http://127.0.0.1:3000/", clock.clone()).unwrap(), clock)
    }

    fn parts(url: &str) -> (String, i64, String) {
        let url = reqwest::Url::parse(url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let key = url.path().trim_start_matches(MEDIA_ROUTE).to_owned();
        (key, q["expires"].parse().unwrap(), q["signature"].clone())
    }

    #[tokio::test]
    async fn a_signed_url_serves_its_own_copy_until_it_expires_and_nothing_else() {
        let (media, clock) = folder();
        media.put("org_a/conv_1/msg_1/0", b"\xFF\xD8\xFFphoto".to_vec(), "image/jpeg").await.unwrap();
        media.put("org_b/conv_2/msg_2/0", b"theirs".to_vec(), "image/png").await.unwrap();
        let url = media.signed_url("org_a/conv_1/msg_1/0", std::time::Duration::from_secs(300)).await.unwrap();
        assert!(url.starts_with("http://127.0.0.1:3000/api/media/org_a/conv_1/msg_1/0?expires="), "{url}");
        let (key, expires, signature) = parts(&url);
        let served = media.open_signed(&key, expires, &signature).await.expect("served");
        assert_eq!(served, (b"\xFF\xD8\xFFphoto".to_vec(), "image/jpeg".to_owned()));
        assert_eq!(
            media.open_signed("org_b/conv_2/msg_2/0", expires, &signature).await,
            None,
            "another key, another organization"
        );
        assert_eq!(media.open_signed(&key, expires + 3600, &signature).await, None, "a later expiry");
        assert_eq!(media.open_signed(&key, expires, &"0".repeat(64)).await, None, "a forged signature");
        clock.advance(chrono::Duration::seconds(301));
        assert_eq!(media.open_signed(&key, expires, &signature).await, None, "expired");
        media.delete("org_a/conv_1/msg_1/0").await.unwrap();
        media.delete("org_a/conv_1/msg_1/0").await.unwrap();
        let fresh = media.signed_url("org_a/conv_1/msg_1/0", std::time::Duration::from_secs(300)).await.unwrap();
        let (key, expires, signature) = parts(&fresh);
        assert_eq!(media.open_signed(&key, expires, &signature).await, None, "deleted");
        assert!(media.put("../../etc/passwd", vec![], "text/plain").await.is_err(), "no path out of the folder");
        // What no copy can be under (a customer id that is no id) is simply empty.
        media.delete("org_a/contacts/\u{a9}\n/picture").await.unwrap();
        media.delete_prefix("org_a/contacts/../").await.unwrap();
        // A conversation's copies go with it; another organization's stay.
        media.put("org_a/conv_9/msg_3/0", b"a".to_vec(), "image/png").await.unwrap();
        media.put("org_a/conv_9/msg_4/1", b"b".to_vec(), "image/png").await.unwrap();
        let mut listed = media.list("org_a/").await.unwrap();
        listed.sort();
        assert_eq!(listed, ["org_a/conv_9/msg_3/0", "org_a/conv_9/msg_4/1"]);
        media.delete_prefix("org_a/conv_9/").await.unwrap();
        media.delete_prefix("org_a/conv_9/").await.unwrap();
        assert_eq!(media.list("org_a/").await.unwrap(), Vec::<String>::new());
        let theirs = media.signed_url("org_b/conv_2/msg_2/0", std::time::Duration::from_secs(60)).await.unwrap();
        let (key, expires, signature) = parts(&theirs);
        assert!(media.open_signed(&key, expires, &signature).await.is_some(), "another organization's copy stays");
        media.delete_prefix("org_b/").await.unwrap();
        assert!(media.open_signed(&key, expires, &signature).await.is_none(), "an organization's copies go with it");
        assert!(!media.root.join("org_a/conv_9").exists());
        assert!(media.signed_url("org_a/../x", std::time::Duration::from_secs(1)).await.is_err());
    }
}
