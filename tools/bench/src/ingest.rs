//! Webhook ingest of the local server (`inbox-local`, release build) on each embedded store,
//! against the floor of the same durability, measured in the same run with the same load.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use inbox_shared::testing::fake_graph::{FakeGraph, Object};
use inbox_shared::testing::runtime_api::peak_rss_kib;

use crate::load::{self, ACCOUNT, Stats};

const PAGE: &str = "112233445566778";

/// One server under load: what it did and the most memory it held.
pub struct Measured {
    pub stats: Stats,
    pub peak_rss_kib: Option<u64>,
}

/// Ingest on one store against its floor.
pub struct Compared {
    pub store: &'static str,
    pub floor_name: &'static str,
    pub floor: Measured,
    pub product: Measured,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `cmd` on `port`, loads it, kills it.
async fn measure(mut cmd: tokio::process::Command, port: u16, load: &Load) -> anyhow::Result<Measured> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/health")).await.is_err() {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "{cmd:?} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("{base}/api/webhooks/instagram");
    let stats = load::run(&url, load.connections, load.warmup, load.measure).await;
    let peak_rss_kib = child.id().and_then(peak_rss_kib);
    child.kill().await?;
    Ok(Measured { stats, peak_rss_kib })
}

pub struct Load {
    pub connections: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

fn floor(durable: Option<&Path>, port: u16) -> anyhow::Result<tokio::process::Command> {
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.arg("floor").arg(port.to_string());
    if let Some(db) = durable {
        cmd.arg(db);
    }
    Ok(cmd)
}

/// The local server as a new user runs it, on `store`, with an account connected (the
/// development fallback) so every DM lands in a conversation.
fn local_server(bin_dir: &Path, store: &str, dir: &Path, port: u16, graph: &FakeGraph) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin_dir.join("inbox-local"));
    cmd.env_clear()
        .envs([
            ("APP_ENV", "development"),
            ("PORT", &port.to_string()),
            ("STORE", store),
            ("DATA_DIR", &dir.display().to_string()),
            ("META_APP_ID", "1234567890"),
            ("META_APP_SECRET", load::APP_SECRET),
            ("META_OAUTH_REDIRECT_URL", "https://inbox.example.com/api/integrations/meta/oauth/callback"),
            ("DEFAULT_ORGANIZATION_ID", "org_bench"),
            ("INSTAGRAM_USER_ID", ACCOUNT),
            ("INSTAGRAM_PAGE_ID", PAGE),
            ("META_PAGE_ACCESS_TOKEN", "bench-page-token"),
        ])
        .envs(graph.env())
        .current_dir(dir);
    cmd
}

/// Memory store against the stateless floor, SQLite against the durable one.
pub async fn compare(bin_dir: &Path, load: &Load) -> anyhow::Result<Vec<Compared>> {
    let graph = FakeGraph::start().await;
    graph.world().page(PAGE, "bench-page-token");
    graph.world().know(ACCOUNT, Object::InstagramAccount);
    for customer in load::customers() {
        graph.world().know(&customer, Object::InstagramUser);
    }
    let scratch = std::env::temp_dir().join(inbox_shared::domain::new_id("inbox-bench"));
    std::fs::create_dir_all(&scratch)?;
    let mut out = Vec::new();
    for (store, durable) in [("memory", false), ("sqlite", true)] {
        let db: Option<PathBuf> = durable.then(|| scratch.join("floor.sqlite3"));
        let port = free_port();
        let floor = measure(floor(db.as_deref(), port)?, port, load).await?;
        let dir = scratch.join(store);
        std::fs::create_dir_all(&dir)?;
        let port = free_port();
        let product = measure(local_server(bin_dir, store, &dir, port, &graph), port, load).await?;
        let floor_name = if durable { "durable floor (SQLite, grouped commits)" } else { "stateless floor" };
        out.push(Compared { store, floor_name, floor, product });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    drop(graph.take_refusals());
    Ok(out)
}
