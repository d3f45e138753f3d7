//! Meta's sample payloads from `../shared/fixtures/meta/` beside the checkout, and this
//! project's own (`shared/fixtures/meta/`: comments, mentions, Page messages), for tests.

use std::path::PathBuf;

pub fn dir() -> PathBuf {
    let root = std::env::var("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    root.join("fixtures/meta")
}

/// This project's fixtures, in Meta's shapes, for the events `../shared` has none of.
pub fn own_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/meta")
}

fn read(kind: &str, name: &str) -> String {
    let own = own_dir().join(kind).join(name);
    let path = if own.exists() { own } else { dir().join(kind).join(name) };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn webhook(name: &str) -> String {
    read("webhooks", name)
}

pub fn graph(name: &str) -> String {
    read("graph", name)
}

/// Every webhook fixture, by file name.
pub fn all_webhooks() -> Vec<(String, String)> {
    let listed = |d: PathBuf| std::fs::read_dir(d.join("webhooks")).expect("webhook fixtures folder");
    let mut names: Vec<_> = listed(dir())
        .chain(listed(own_dir()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names.into_iter().map(|n| (webhook(&n), n)).map(|(body, n)| (n, body)).collect()
}

/// One of Meta's documented examples (`../shared/fixtures/meta/docs/`): the payloads to
/// deliver first (`setup`, e.g. the message a reaction names), then the example itself.
#[derive(Debug, Clone)]
pub struct Documented {
    pub name: String,
    pub source: String,
    pub setup: Vec<String>,
    pub payload: String,
}

impl Documented {
    /// Everything to deliver, in order.
    pub fn deliveries(&self) -> impl Iterator<Item = &String> {
        self.setup.iter().chain(std::iter::once(&self.payload))
    }

    /// The payload's `object` and first `entry.id`: whose channel it is.
    pub fn addressed_to(&self) -> (String, String) {
        let payload: serde_json::Value = serde_json::from_str(&self.payload).expect("payload is JSON");
        let object = payload["object"].as_str().unwrap_or_default().to_owned();
        let entry = crate::meta::id_string(&payload["entry"][0]["id"]).unwrap_or_default();
        (object, entry)
    }
}

/// Every documented example, by file name.
pub fn all_documented() -> Vec<Documented> {
    let folder = dir().join("docs");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("documented examples folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names.into_iter().map(|n| documented(&n)).collect()
}

/// The documented example `name`.
pub fn documented(name: &str) -> Documented {
    let path = dir().join("docs").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("example {}: {e}", path.display()));
    let example: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("example {name}: {e}"));
    let setup = example["setup"].as_array().into_iter().flatten().map(|s| s.to_string()).collect();
    Documented {
        name: name.to_owned(),
        source: example["source"].as_str().unwrap_or_default().to_owned(),
        setup,
        payload: example["payload"].to_string(),
    }
}
