//! The tables: each figure beside its floor, the ratio, and whether the target holds.

use std::fmt::Write;
use std::time::Duration;

use crate::aws_work::{Entry, PathWork};
use crate::cold::ColdStart;
use crate::cost;
use crate::heat::{self, Simulated};
use crate::ingest::{Compared, Load, Measured};
use crate::logs::{self, Logged};
use inbox_shared::adapters::dynamodb::heat::PARTITION_WRITE_UNITS;

/// The machine the figures were measured on.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    format!("# inbox-bench, {date}\n\nmachine: {cores} cores, {}\n", model.unwrap_or("unknown CPU").trim())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn ratio(product: f64, floor: f64) -> f64 {
    if floor > 0.0 { product / floor } else { 0.0 }
}

fn check(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

fn line(name: &str, m: &Measured) -> String {
    format!(
        "| {name} | {:.0} req/s | {} | {} | {} | {} |",
        m.stats.per_second,
        ms(m.stats.p50),
        ms(m.stats.p99),
        mib(m.peak_rss_kib),
        m.stats.errors
    )
}

/// Ingest: each store against its floor. Targets: at least 0.5 of the floor's throughput,
/// p99 within 3× of the floor's.
pub fn ingest(compared: &[Compared], load: &Load) -> String {
    let mut out = format!(
        "## Webhook ingest ({} connections on loopback, unique signed single-item DMs, {} s after {} s warm-up)\n\n",
        load.connections,
        load.measure.as_secs(),
        load.warmup.as_secs()
    );
    out += "| server | throughput | p50 | p99 | peak RSS | errors |\n|---|---|---|---|---|---|\n";
    for c in compared {
        let _ = writeln!(out, "{}", line(c.floor_name, &c.floor));
        let _ = writeln!(out, "{}", line(&format!("inbox-local, {} store", c.store), &c.product));
    }
    out += "\n| store | throughput ratio (target ≥ 0.5) | p50 × floor | p99 × floor (target ≤ 3) | met |\n|---|---|---|---|---|\n";
    for c in compared {
        let (p, f) = (&c.product.stats, &c.floor.stats);
        let throughput = ratio(p.per_second, f.per_second);
        let p50 = ratio(p.p50.as_secs_f64(), f.p50.as_secs_f64());
        let p99 = ratio(p.p99.as_secs_f64(), f.p99.as_secs_f64());
        let met = throughput >= 0.5 && p99 <= 3.0 && p.errors == 0;
        let _ = writeln!(
            out,
            "| {} vs {} | {throughput:.2} | {p50:.1}× | {p99:.1}× | {} |",
            c.store,
            c.floor_name,
            check(met)
        );
    }
    out
}

/// Cold starts against the floor binary. Targets: within 1.5× of the floor's first poll;
/// every binary under 8 MB.
pub fn cold(starts: &[ColdStart]) -> String {
    let mut out = String::from("## Cold start (fake Runtime API, local AWS server; median of 5)\n\n");
    out += "| function | first poll | × floor (target ≤ 1.5) | first answer | binary | peak RSS | met |\n|---|---|---|---|---|---|---|\n";
    let floor = starts.iter().find(|s| s.function == "lambda-floor").map(|s| s.first_poll);
    for s in starts {
        let times = floor.map_or(0.0, |f| ratio(s.first_poll.as_secs_f64(), f.as_secs_f64()));
        let size_mb = s.size_bytes as f64 / 1_000_000.0;
        let met = times <= 1.5 && size_mb < 8.0;
        let _ = writeln!(
            out,
            "| {} | {} | {times:.2}× | {} | {size_mb:.1} MB | {} | {} |",
            s.function,
            ms(s.first_poll),
            ms(s.answered),
            mib(s.peak_rss_kib),
            check(met)
        );
    }
    out
}

/// CloudWatch Logs per invocation of each function a path invokes, which the dollars above
/// leave out.
pub fn logs(logged: &[Logged]) -> String {
    let mut out = format!(
        "## CloudWatch Logs per invocation (warm; ${:.2} a GB ingested; not in the dollars above)\n\n",
        logs::PRICE_PER_GB
    );
    out += "| invocation | function, event | its lines | + Lambda's platform records | $ per million |\n|---|---|---|---|---|\n";
    for l in logged {
        let _ = writeln!(
            out,
            "| {} | {}, {} | {} B | {} B | ${:.2} |",
            l.what,
            l.function,
            l.event,
            l.app_bytes,
            l.bytes(),
            l.per_million()
        );
    }
    out
}

/// AWS work per path and its dollars per million. Targets: at most $4 per million inbound
/// DMs (into an existing conversation) and $5 per million replies.
pub fn aws(paths: &[PathWork]) -> String {
    let mut out =
        String::from("## AWS work per path (local AWS server; capacity by DynamoDB's rules from the items)\n\n");
    out += "| path | calls | rounds | WRU | RRU | relay: calls, WRU, events | time in function (moto) |\n|---|---|---|---|---|---|---|\n";
    for p in paths {
        let calls: Vec<String> = p.work.calls.iter().map(|(op, n)| format!("{n} {op}")).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {}, {}, {} | {}{} |",
            p.name,
            calls.join(", "),
            p.work.rounds,
            p.work.write_units,
            p.work.read_units,
            p.relay.total(),
            p.relay.write_units,
            p.events,
            ms(p.elapsed),
            if p.jobs > 0 { format!(" + {} job(s) {}", p.jobs, ms(p.jobs_elapsed)) } else { String::new() }
        );
    }
    out += "\n## Dollars per million (us-east-1 prices in tools/bench/src/cost.rs)\n\n";
    out += "| path | DynamoDB | Lambda | HTTP API | EventBridge | SQS | KMS | total | target | met |\n|---|---|---|---|---|---|---|---|---|---|\n";
    // A path once more under the template's cost options: a webhook on its function URL
    // (`WebhookOnFunctionUrl`: no HTTP API request), then with no event bus as well
    // (`PublishEvents=false`: no EventBridge events); a reply with no bus.
    let rows = paths.iter().flat_map(|p| {
        let c = cost::of(p);
        let on_url = cost::Cost { http_api: 0.0, ..c };
        let no_bus = |v: cost::Cost| cost::Cost { eventbridge: 0.0, ..v };
        let mut variants = Vec::new();
        if p.entry == Entry::Webhook {
            variants.push((", on the function URL", on_url));
        }
        if c.eventbridge > 0.0 {
            variants.push(match p.entry {
                Entry::Webhook => (", on the function URL, no bus", no_bus(on_url)),
                _ => (", no bus", no_bus(c)),
            });
        }
        let variants = variants.into_iter().map(move |(suffix, v)| (format!("{}{suffix}", p.name), v, p.target));
        std::iter::once((p.name.to_string(), c, p.target)).chain(variants)
    });
    for (name, c, target) in rows {
        let _ = writeln!(
            out,
            "| {} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** | {} | {} |",
            name,
            c.dynamodb,
            c.lambda,
            c.http_api,
            c.eventbridge,
            c.sqs,
            c.kms,
            c.total(),
            target.map_or("".into(), |t| format!("≤ ${t:.0}")),
            target.map_or("", |t| check(c.total() <= t))
        );
    }
    out
}

/// One organization at 10 000 DMs a second, simulated. Target: every partition under its
/// ceiling (1 000 write units a second).
pub fn heat(sim: &Simulated) -> String {
    let ceiling = PARTITION_WRITE_UNITS;
    let ((lists, log), sharded) = &sim.sharded;
    let mut out = format!(
        "## One organization at {} inbound DMs/s over {} conversations (simulated; partitions split for heat)\n\n",
        heat::RATE,
        heat::CONVERSATIONS
    );
    let _ = writeln!(
        out,
        "| write | WRU/s | hottest partition, unsharded | hottest, {lists} list and {log} log shards | under {ceiling:.0} |\n|---|---|---|---|---|"
    );
    for h in &sim.unsharded {
        let after = sharded.iter().find(|s| s.what == h.what).map_or(h.hottest, |s| s.hottest);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {after:.0} | {} |",
            h.what,
            h.units_per_second,
            h.hottest,
            check(after <= ceiling)
        );
    }
    out
}
