//! Webhook hot path on the embedded adapters: signature check, parsing, and accepting a
//! batch into the store, timed with `std::time::Instant` over many rounds (no extra crates).
//! Run: `cargo bench -p inbox-shared --bench webhook`. Numbers vary with the machine; compare
//! the ratios between lines, not the absolute times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::memory_queue::MemoryQueue;
use inbox_shared::adapters::memory_store::MemoryStore;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::time_text;
use inbox_shared::meta::{signature, webhook};
use inbox_shared::ports::{SystemClock, ThreadRngJitter};
use inbox_shared::services::Services;
use serde_json::json;
use tower::ServiceExt;

const SECRET: &str = "bench-secret";

/// A Meta-shaped batch of `n` text messages from `customers` customers.
fn batch(n: usize, customers: usize, round: usize) -> String {
    let items: Vec<_> = (0..n)
        .map(|i| {
            json!({"sender":{"id":format!("{}", 6185000000000000u64 + (i % customers) as u64)},
                   "recipient":{"id":"17841400000000001"},"timestamp":1732460000000i64 + i as i64,
                   "message":{"mid":format!("mid-{round}-{i}"),"text":format!("message number {i} with some words in it")}})
        })
        .collect();
    json!({"object":"instagram","entry":[{"id":"17841400000000001","time":1732460000000i64,"messaging":items}]})
        .to_string()
}

fn services() -> Services {
    let vars = [("DEFAULT_ORGANIZATION_ID", "org_bench"), ("META_APP_SECRET", SECRET)];
    let config =
        Config::from_lookup(AppEnv::Development, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
            .unwrap();
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn inbox_shared::ports::Store> = Arc::new(MemoryStore::new());
    let cipher: Arc<dyn inbox_shared::ports::TokenCipher> = Arc::new(StaticKeyCipher::ephemeral());
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store,
        queue: Arc::new(MemoryQueue::new(clock.clone())),
        cipher,
        clock,
        jitter: Arc::new(ThreadRngJitter),
        media: None,
    };
    inbox_shared::runtime::services_on(config, adapters)
}

/// Runs `f` for at least `min` and at least `rounds` times; returns the mean time per call.
fn time<F: FnMut(usize)>(rounds: usize, min: Duration, mut f: F) -> Duration {
    f(usize::MAX); // warm up
    let start = Instant::now();
    let mut n = 0;
    while n < rounds || start.elapsed() < min {
        f(n);
        n += 1;
    }
    start.elapsed() / n as u32
}

fn report(name: &str, per_call: Duration, items: usize) {
    let per_item = per_call / items as u32;
    let rate = items as f64 / per_call.as_secs_f64();
    println!("{name:<52} {per_call:>12.2?}/call {per_item:>10.2?}/item {rate:>12.0} items/s");
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let min = Duration::from_secs(2);
    let secrets = vec![SECRET.to_owned()];
    println!(
        "machine: {} cores; release build; means over >= 2 s",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let one = batch(1, 1, 0);
    let thousand = batch(1000, 50, 0);
    let sig_one = signature::sign(SECRET, one.as_bytes());
    let sig_thousand = signature::sign(SECRET, thousand.as_bytes());
    let verify_one = time(1000, min, |_| assert!(signature::verify(&secrets, one.as_bytes(), Some(&sig_one))));
    report("verify signature, 1 item", verify_one, 1);
    let verify_k = time(100, min, |_| assert!(signature::verify(&secrets, thousand.as_bytes(), Some(&sig_thousand))));
    report(&format!("verify signature, 1000 items ({} KiB)", thousand.len() / 1024), verify_k, 1000);
    let parse_k = time(100, min, |_| assert_eq!(webhook::parse(thousand.as_bytes()).unwrap().items.len(), 1000));
    report("parse envelope, 1000 items", parse_k, 1000);

    // A time as JSON, as every event's message and conversation write several.
    let now = chrono::Utc::now();
    let as_json = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::with_capacity(64);
        write(&mut out);
        assert!(out.len() > 20, "{}", String::from_utf8_lossy(&out));
    };
    let chrono_text = time(100_000, min, |_| as_json(&|out| serde_json::to_writer(out, &now).unwrap()));
    report("a time as JSON, chrono's serde", chrono_text, 1);
    let fast_text = time(100_000, min, |_| {
        as_json(&|out| time_text::serialize(&now, &mut serde_json::Serializer::new(out)).unwrap())
    });
    report("a time as JSON, domain::time_text", fast_text, 1);

    // Accepting: every round is new messages (new mids) into the same conversations.
    let services = services();
    let bodies: Vec<String> = (0..20).map(|r| batch(1000, 50, r + 1)).collect();
    let accept_k = time(20, Duration::ZERO, |r| {
        let body = if r == usize::MAX { batch(1000, 50, 999) } else { bodies[r % bodies.len()].clone() };
        let envelope = webhook::parse(body.as_bytes()).unwrap();
        rt.block_on(services.inbound.accept_webhook(envelope)).unwrap();
    });
    report("accept into memory store, 1000 new items", accept_k, 1000);
    let dup = webhook::parse(bodies[0].as_bytes()).unwrap();
    let accept_dup = time(20, min, |_| {
        let report = rt.block_on(services.inbound.accept_webhook(dup.clone())).unwrap();
        assert_eq!(report.duplicates, 1000);
    });
    report("accept redelivered batch (all duplicates)", accept_dup, 1000);

    // Whole HTTP request through the Router (signature, parse, accept, answer).
    let router = inbox_shared::http::router(services.clone());
    let http_one = time(2000, min, |r| {
        let body = format!(
            r#"{{"object":"instagram","entry":[{{"id":"17841400000000001","messaging":[{{"sender":{{"id":"42"}},"recipient":{{"id":"17841400000000001"}},"timestamp":1732460000000,"message":{{"mid":"http-{r}","text":"hi"}}}}]}}]}}"#
        );
        let sig = signature::sign(SECRET, body.as_bytes());
        let req = axum::http::Request::post("/api/webhooks/instagram")
            .header("x-hub-signature-256", sig)
            .body(Body::from(body))
            .unwrap();
        let res = rt.block_on(router.clone().oneshot(req)).unwrap();
        assert_eq!(res.status(), 200);
    });
    report("HTTP POST webhook, 1 item, memory store", http_one, 1);
    println!(
        "ratios: parse/verify (1000 items) = {:.1}x; accept/parse = {:.1}x; duplicate/new accept = {:.2}",
        parse_k.as_secs_f64() / verify_k.as_secs_f64(),
        accept_k.as_secs_f64() / parse_k.as_secs_f64(),
        accept_dup.as_secs_f64() / accept_k.as_secs_f64()
    );
}
