//! A TCP proxy between the code under test and the local AWS server that makes AWS slow or
//! unreachable on demand: `set_latency` delays every request (the first bytes a client sends
//! after each answer), `cut` drops every open connection and refuses new ones for a while,
//! `fail_requests` fails only the requests that name one operation: before AWS sees them, or
//! after AWS did the work but before its answer comes back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give it to the SDK as its endpoint.
    pub url: String,
    state: Arc<State>,
}

struct State {
    target: String,
    latency_ms: AtomicU64,
    /// Milliseconds since `epoch` until which connections are refused.
    cut_until_ms: AtomicU64,
    epoch: Instant,
    /// Bumped by `cut`: open connections end when they see it move.
    generation: watch::Sender<u64>,
    /// The requests to fail (their first bytes hold the marker) and how.
    failing: Mutex<Option<(Vec<u8>, Unanswered)>>,
    /// How many requests `failing` has failed.
    failed: AtomicU64,
}

/// Where a request named by `FaultProxy::fail_requests` is lost; either way the connection
/// closes with no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unanswered {
    /// AWS never sees it.
    BeforeAws,
    /// AWS does it; its answer is dropped.
    AfterAws,
}

impl State {
    fn is_cut(&self) -> bool {
        (self.epoch.elapsed().as_millis() as u64) < self.cut_until_ms.load(Ordering::SeqCst)
    }
}

impl FaultProxy {
    /// Starts a proxy to `target` (`http://host:port`) on a free loopback port.
    pub async fn start(target: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let target = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let state = Arc::new(State {
            target,
            latency_ms: AtomicU64::new(0),
            cut_until_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            generation: watch::channel(0).0,
            failing: Mutex::new(None),
            failed: AtomicU64::new(0),
        });
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.is_cut() {
                    drop(client); // refused: the connection closes at once
                    continue;
                }
                tokio::spawn(relay(client, accepting.clone()));
            }
        });
        FaultProxy { url, state }
    }

    pub fn set_latency(&self, latency: Duration) {
        self.state.latency_ms.store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// AWS unreachable for `duration` from now: open connections are dropped, new ones closed.
    pub fn cut(&self, duration: Duration) {
        let until = self.state.epoch.elapsed() + duration;
        self.state.cut_until_ms.store(until.as_millis() as u64, Ordering::SeqCst);
        self.state.generation.send_modify(|g| *g += 1);
    }
}

impl FaultProxy {
    /// Every request whose first bytes contain `marker` (for DynamoDB, its operation's name in
    /// `X-Amz-Target`, as `.BatchGetItem`) fails `where` until `heal`.
    pub fn fail_requests(&self, marker: &str, at: Unanswered) {
        *self.state.failing.lock().unwrap() = Some((marker.as_bytes().to_vec(), at));
    }

    /// Requests go through again.
    pub fn heal(&self) {
        *self.state.failing.lock().unwrap() = None;
    }

    /// How many requests `fail_requests` has failed so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }
}

impl State {
    /// How the request starting with `first` fails, if it does.
    fn fails(&self, first: &[u8]) -> Option<Unanswered> {
        let failing = self.failing.lock().unwrap();
        let (marker, at) = failing.as_ref()?;
        let named = first.windows(marker.len()).any(|w| w == marker.as_slice());
        named.then(|| {
            self.failed.fetch_add(1, Ordering::SeqCst);
            *at
        })
    }
}

async fn relay(mut client: TcpStream, state: Arc<State>) {
    let Ok(mut server) = TcpStream::connect(&state.target).await else { return };
    let mut cut = state.generation.subscribe();
    let (mut client_rd, mut client_wr) = client.split();
    let (mut server_rd, mut server_wr) = server.split();
    // A new request starts with the first bytes the client sends after an answer.
    let answered = AtomicBool::new(true);
    // The request AWS is doing is to go unanswered (`Unanswered::AfterAws`).
    let swallow = AtomicBool::new(false);
    let lost = || std::io::Error::other("request failed by the fault proxy");
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_rd.read(&mut buf).await?;
            if n == 0 {
                return server_wr.shutdown().await;
            }
            if answered.swap(false, Ordering::SeqCst) {
                let latency = state.latency_ms.load(Ordering::SeqCst);
                if latency > 0 {
                    tokio::time::sleep(Duration::from_millis(latency)).await;
                }
                match state.fails(&buf[..n]) {
                    Some(Unanswered::BeforeAws) => return Err(lost()),
                    Some(Unanswered::AfterAws) => swallow.store(true, Ordering::SeqCst),
                    None => {}
                }
            }
            server_wr.write_all(&buf[..n]).await?;
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_rd.read(&mut buf).await?;
            if n == 0 {
                return client_wr.shutdown().await;
            }
            if swallow.load(Ordering::SeqCst) {
                return Err(lost());
            }
            answered.store(true, Ordering::SeqCst);
            client_wr.write_all(&buf[..n]).await?;
        }
    };
    let result: std::io::Result<_> = tokio::select! {
        r = async { tokio::try_join!(upstream, downstream) } => r.map(|_| ()),
        _ = cut.changed() => Ok(()),
    };
    let _ = result;
}
