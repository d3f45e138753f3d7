//! The load generator: `connections` loops on loopback, each posting unique signed
//! single-item webhooks (a new `mid` every time, a handful of customers) as fast as they are
//! answered. Latency is each request's, from send to the answer's end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const APP_SECRET: &str = "bench-app-secret";
pub const ACCOUNT: &str = "17841400000000001";
/// Customers the DMs come from: their conversations exist after the warm-up, as in a busy
/// inbox (and each new one's profile is looked up once).
const CUSTOMERS: u64 = 64;

#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn customer_id(n: u64) -> String {
    (6_185_000_000_000_000 + n).to_string()
}

/// The customers' ids (Meta knows them: their profiles are looked up once).
pub fn customers() -> Vec<String> {
    (0..CUSTOMERS).map(customer_id).collect()
}

/// One DM, as Meta delivers it.
pub fn dm(mid: &str, customer: u64, at_ms: i64) -> String {
    serde_json::json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": at_ms, "messaging": [
        {"sender": {"id": customer_id(customer)}, "recipient": {"id": ACCOUNT}, "timestamp": at_ms,
         "message": {"mid": mid, "text": "Do you ship to Lisbon?"}}]}]})
    .to_string()
}

/// Drives `url` for `warmup` (not counted), then `measure`.
pub async fn run(url: &str, connections: usize, warmup: Duration, measure: Duration) -> Stats {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut loops = Vec::new();
    for lane in 0..connections {
        let (client, url, run_id) = (client.clone(), url.to_owned(), run_id.clone());
        let (counting, stop) = (counting.clone(), stop.clone());
        loops.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::with_capacity(100_000), 0usize);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body =
                    dm(&format!("bench-{run_id}-{lane}-{n}"), n % CUSTOMERS, chrono::Utc::now().timestamp_millis());
                let signature = sign(body.as_bytes());
                let at = Instant::now();
                let sent = client.post(&url).header("x-hub-signature-256", signature).body(body).send().await;
                let ok = match sent {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if counting.load(Ordering::Relaxed) {
                    match ok {
                        true => latencies.push(at.elapsed()),
                        false => errors += 1,
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(warmup).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(measure).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (mut all, mut errors) = (Vec::new(), 0);
    for handle in loops {
        let (latencies, failed) = handle.await.expect("load loop");
        all.extend(latencies);
        errors += failed;
    }
    all.sort_unstable();
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
    Stats {
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50).unwrap_or_default(),
        p99: at(0.99).unwrap_or_default(),
        errors,
    }
}
