//! `inbox-bench`: the product measured against the fastest thing that could do its job, in
//! one run, one table (README, "Speed and cost"). Run by `bash infra/bench.sh`, which builds
//! the release binaries and starts the local AWS-compatible server; `inbox-bench floor
//! <port> [<sqlite file>]` is one of the floors it starts.

mod aws_work;
mod cold;
mod cost;
mod floors;
mod heat;
mod ingest;
mod load;
mod logs;
mod report;

use std::time::Duration;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("floor") {
        let port = args.get(1).and_then(|p| p.parse().ok()).ok_or_else(|| anyhow::anyhow!("floor <port> [db]"))?;
        return floors::serve(port, args.get(2).map(Into::into)).await;
    }
    let bin_dir = std::env::current_exe()?.parent().map(ToOwned::to_owned).unwrap_or_default();
    let load = ingest::Load {
        connections: env_num("BENCH_CONNECTIONS", 32) as usize,
        warmup: Duration::from_secs(env_num("BENCH_WARMUP_SECONDS", 2)),
        measure: Duration::from_secs(env_num("BENCH_SECONDS", 8)),
    };
    // BENCH_PARTS=ingest,aws,cold,logs,heat (the default: all five) runs only those named.
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "ingest,aws,cold,logs,heat".into());
    let wanted = |part: &str| parts.split(',').any(|p| p.trim() == part);
    println!("{}", report::machine());
    if wanted("ingest") {
        let compared = ingest::compare(&bin_dir, &load).await?;
        println!("{}", report::ingest(&compared, &load));
    }
    let skipped = "skipped (no local AWS server: run through infra/bench.sh)";
    if wanted("aws") {
        match aws_work::measure_paths().await? {
            Some(paths) => println!("{}", report::aws(&paths)),
            None => println!("AWS work: {skipped}"),
        }
    }
    if wanted("cold") {
        match cold::measure(&bin_dir).await? {
            Some(cold) => println!("{}", report::cold(&cold)),
            None => println!("cold start: {skipped}"),
        }
    }
    if wanted("logs") {
        match logs::measure(&bin_dir).await? {
            Some(logged) => println!("{}", report::logs(&logged)),
            None => println!("CloudWatch Logs: {skipped}"),
        }
    }
    if wanted("heat") {
        println!("{}", report::heat(&heat::simulate_organization()?));
    }
    Ok(())
}
