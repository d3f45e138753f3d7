//! A fake of Meta's CDN (lookaside.fbsbx.com, scontent.xx.fbcdn.net) for media copies: it
//! serves files at signed-looking links, and as Meta's does, answers a link whose signature
//! expired with `403 URL signature expired`; it can also fail or stall, to test retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Default)]
struct Files {
    /// name → (bytes, the content type the CDN claims)
    served: HashMap<String, (Vec<u8>, String)>,
    expired: Vec<String>,
    /// Answers with this status (a 5xx), this many times, before serving.
    failures: Vec<u16>,
    hits: HashMap<String, usize>,
}

pub struct FakeCdn {
    pub url: String,
    files: Arc<Mutex<Files>>,
}

impl FakeCdn {
    pub async fn start() -> FakeCdn {
        let files = Arc::new(Mutex::new(Files::default()));
        let app = axum::Router::new().route("/v/{*name}", axum::routing::get(serve)).with_state(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeCdn { url, files }
    }

    /// Serves `bytes` under `name`, claiming `content_type`; the link to put in a webhook.
    pub fn put(&self, name: &str, bytes: &[u8], content_type: &str) -> String {
        self.files.lock().unwrap().served.insert(name.to_owned(), (bytes.to_vec(), content_type.to_owned()));
        format!("{}/v/{name}?stp=dst-jpg&_nc_sid=fake&oh=00_AfS&oe=6790A1B2", self.url)
    }

    /// The link's signature expires: 403 from now on.
    pub fn expire(&self, name: &str) {
        self.files.lock().unwrap().expired.push(name.to_owned());
    }

    /// The next `times` requests answer `status`.
    pub fn fail(&self, status: u16, times: usize) {
        self.files.lock().unwrap().failures.extend(std::iter::repeat_n(status, times));
    }

    /// How many times `name` was asked for.
    pub fn hits(&self, name: &str) -> usize {
        self.files.lock().unwrap().hits.get(name).copied().unwrap_or(0)
    }
}

async fn serve(State(files): State<Arc<Mutex<Files>>>, Path(name): Path<String>) -> Response {
    let mut files = files.lock().unwrap();
    *files.hits.entry(name.clone()).or_default() += 1;
    if !files.failures.is_empty() {
        let status = files.failures.remove(0);
        return (StatusCode::from_u16(status).unwrap(), "upstream unavailable").into_response();
    }
    if files.expired.contains(&name) {
        return (StatusCode::FORBIDDEN, "URL signature expired").into_response();
    }
    match files.served.get(&name) {
        Some((bytes, content_type)) => ([("content-type", content_type.clone())], bytes.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
