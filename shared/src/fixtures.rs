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
