//! `GET /api/inbox/events`: the organization's events as Server-Sent Events, each with its
//! log position as `id`, so a client (a browser's `EventSource` does it by itself) resumes
//! with `Last-Event-ID` within the log's retention. The stream ends after a while; the client
//! reconnects and resumes. Behind a host that buffers whole answers (API Gateway and
//! Lambda), each answer ends once it told something, and the client reconnects at once.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::time::Instant;

use crate::config::Config;
use crate::domain::LoggedEvent;
use crate::services::Inbox;
use crate::services::inbox::StreamCursor;

use super::OrgId;

/// How often the log is read for new events.
const POLL: Duration = Duration::from_millis(500);
/// How long one stream lasts before the client reconnects (and resumes).
const MAX_STREAM: Duration = Duration::from_secs(300);
/// Behind a buffering host: how long an answer waits for something to tell.
const MAX_BUFFERED: Duration = Duration::from_secs(10);
/// How soon a client reconnects after a buffered answer (the SSE `retry` field).
const BUFFERED_RETRY: Duration = Duration::from_millis(500);

struct Reader {
    inbox: Arc<Inbox>,
    org: String,
    cursor: StreamCursor,
    pending: VecDeque<LoggedEvent>,
    ends_at: Instant,
    /// Behind a buffering host: the answer ends once it has told something.
    buffered: bool,
    told: bool,
}

pub async fn events(
    State(inbox): State<Arc<Inbox>>,
    State(config): State<Arc<Config>>,
    OrgId(org): OrgId,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let buffered = config.limits.event_stream_buffered;
    let reader = Reader {
        inbox,
        org,
        cursor: StreamCursor::resume(last),
        pending: VecDeque::new(),
        ends_at: Instant::now() + if buffered { MAX_BUFFERED } else { MAX_STREAM },
        buffered,
        told: false,
    };
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if let Some(logged) = r.pending.pop_front() {
                let mut event = Event::default().id(logged.position).event(logged.event.kind.as_str());
                if r.buffered && !r.told {
                    event = event.retry(BUFFERED_RETRY);
                }
                r.told = true;
                let event = event.json_data(&logged.event).unwrap_or_else(|_| Event::default().comment("unreadable"));
                return Some((Ok(event), r));
            }
            if Instant::now() >= r.ends_at || (r.buffered && r.told) {
                return None;
            }
            match r.inbox.next_events(&r.org, &mut r.cursor).await {
                Ok(fresh) if !fresh.is_empty() => r.pending.extend(fresh),
                Ok(_) => tokio::time::sleep(POLL).await,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: the log could not be read; trying again");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
