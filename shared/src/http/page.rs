//! The development inbox page at `/` (the local server in development only): plain HTML, CSS
//! and a small script served from the binary, on this server's own API and live stream.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/inbox.js");
const STYLE: &str = include_str!("page/inbox.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response() }))
        .route("/dev/inbox.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT).into_response() }))
        .route("/dev/inbox.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response() }))
}
