//! A loopback HTTP server that answers from a script, for the HTTP adapters' failure tests: it
//! reads each request whole, then hangs up without a word or answers a status and body, by
//! the request's number; it counts requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// Closes the connection before any answer.
    HangUp,
    /// Answers this status, content type and body.
    Answer(u16, &'static str, &'static str),
}

pub struct ScriptedServer {
    pub url: String,
    requests: Arc<AtomicUsize>,
}

impl ScriptedServer {
    /// Starts a server whose `n`th request (from 0) gets `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (counted, script) = (requests.clone(), Arc::new(script));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (counted, script) = (counted.clone(), script.clone());
                tokio::spawn(async move {
                    while read_request(&mut socket).await {
                        let Reply::Answer(status, content_type, body) = script(counted.fetch_add(1, Ordering::SeqCst))
                        else {
                            return;
                        };
                        let head = format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}");
                        let answer = format!("{head}\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                        socket.write_all(answer.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        ScriptedServer { url, requests }
    }

    /// How many requests came in whole.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and `content-length` body); false when the client hung up.
async fn read_request(socket: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length = head.lines().find_map(|l| l.strip_prefix("content-length:")?.trim().parse().ok());
            if seen.len() >= end + 4 + length.unwrap_or(0) {
                return true;
            }
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}
