//! `GET /api/inbox/events`: the organization's events as Server-Sent Events, each with its
//! log position as `id`, so a client (a browser's `EventSource` does it by itself) resumes
//! with `Last-Event-ID` within the log's retention. The stream ends after a while; the client
//! reconnects and resumes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::time::Instant;

use crate::domain::LoggedEvent;
use crate::services::Inbox;
use crate::services::inbox::StreamCursor;

use super::OrgId;

/// How often the log is read for new events.
const POLL: Duration = Duration::from_millis(500);
/// How long one stream lasts before the client reconnects (and resumes).
const MAX_STREAM: Duration = Duration::from_secs(300);

struct Reader {
    inbox: Arc<Inbox>,
    org: String,
    cursor: StreamCursor,
    pending: VecDeque<LoggedEvent>,
    ends_at: Instant,
}

pub async fn events(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let reader = Reader {
        inbox,
        org,
        cursor: StreamCursor::resume(last),
        pending: VecDeque::new(),
        ends_at: Instant::now() + MAX_STREAM,
    };
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if let Some(logged) = r.pending.pop_front() {
                let event = Event::default().id(logged.position).event(logged.event.kind.as_str());
                let event = event.json_data(&logged.event).unwrap_or_else(|_| Event::default().comment("unreadable"));
                return Some((Ok(event), r));
            }
            if Instant::now() >= r.ends_at {
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
