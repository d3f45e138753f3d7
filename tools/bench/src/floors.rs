//! The two floors ingest is measured against, each its own process (so its memory is its
//! own), on the same HTTP stack as the product (axum on tokio):
//! - stateless: check the signature (HMAC-SHA256, constant time), parse the JSON, answer;
//! - durable: the same, then one row per item committed to SQLite (WAL, `synchronous=FULL`)
//!   by one writer thread that groups the requests waiting into one transaction, answering
//!   each after the commit: the least a server that never loses an acknowledged DM does.

use std::sync::mpsc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;

use crate::load::APP_SECRET;

type Rows = Vec<(String, String)>;
type Writer = mpsc::Sender<(Rows, oneshot::Sender<()>)>;

/// The items of a signed webhook (`mid`, the item), or `None` when the signature or the JSON
/// does not hold.
fn items(headers: &HeaderMap, body: &[u8]) -> Option<Rows> {
    let signature = headers.get("x-hub-signature-256")?.to_str().ok()?.strip_prefix("sha256=")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).ok()?;
    mac.update(body);
    mac.verify_slice(&hex::decode(signature).ok()?).ok()?;
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut rows = Vec::new();
    for entry in json["entry"].as_array()? {
        for item in entry["messaging"].as_array().into_iter().flatten() {
            let mid = item["message"]["mid"].as_str().unwrap_or_default().to_owned();
            rows.push((mid, item.to_string()));
        }
    }
    Some(rows)
}

async fn stateless(headers: HeaderMap, body: Bytes) -> StatusCode {
    match items(&headers, &body) {
        Some(_) => StatusCode::OK,
        None => StatusCode::FORBIDDEN,
    }
}

async fn durable(State(writer): State<Writer>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(rows) = items(&headers, &body) else { return StatusCode::FORBIDDEN };
    let (done, committed) = oneshot::channel();
    if writer.send((rows, done)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match committed.await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The writer thread: waits for one request, takes every other one waiting, commits them
/// in one transaction, answers them all.
fn write_loop(path: &std::path::Path, requests: mpsc::Receiver<(Rows, oneshot::Sender<()>)>) -> anyhow::Result<()> {
    let mut db = rusqlite::Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute("CREATE TABLE IF NOT EXISTS item (mid TEXT PRIMARY KEY, body TEXT NOT NULL)", [])?;
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        batch.extend(requests.try_iter().take(1023));
        let tx = db.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO item (mid, body) VALUES (?1, ?2)")?;
            for (mid, body) in batch.iter().flat_map(|(rows, _)| rows) {
                insert.execute((mid, body))?;
            }
        }
        tx.commit()?;
        for (_, done) in batch {
            let _ = done.send(());
        }
    }
    Ok(())
}

/// Serves a floor on `port` until killed: `durable` with its SQLite file at `db`.
pub async fn serve(port: u16, db: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let route = "/api/webhooks/instagram";
    let app = match db {
        None => axum::Router::new().route(route, post(stateless)),
        Some(path) => {
            let (writer, requests) = mpsc::channel();
            std::thread::spawn(move || write_loop(&path, requests).expect("the floor's writer"));
            axum::Router::new().route(route, post(durable)).with_state(writer)
        }
    };
    let app = app.route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
