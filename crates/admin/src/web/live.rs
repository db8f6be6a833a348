//! `/api/live`: the engine's live events as a server-sent event stream.
//!
//! Event names: `depth` (an item's queue depth), `item` (an item's state), `logged` (a new
//! event-log entry) and `resync` (this stream fell behind and missed changes: read the
//! overview again). The stream ends when the server stops, so graceful shutdown does not
//! wait on it, and when its session ends, so a logged-out browser stops seeing changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use ferry_runtime::LiveEvent;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::api::views;
use super::problem::Problem;
use super::router::WebState;
use super::session::{Session, cookie_id};

/// How often a stream checks that its session is still live.
const SESSION_CHECK: Duration = Duration::from_secs(10);

/// Events waiting for a slow browser before the stream pauses reading the engine.
const BUFFER: usize = 64;

/// Streams live events to a logged-in browser.
pub(super) async fn live(
    State(web): State<WebState>,
    _: Session,
    parts: Parts,
) -> Result<impl IntoResponse, Problem> {
    let id = cookie_id(&parts).unwrap_or_default();
    let (sender, receiver) = mpsc::channel(BUFFER);
    let engine = web.admin.engine.subscribe();
    tokio::spawn(forward(web, id, engine, sender));
    Ok(Sse::new(ReceiverStream::new(receiver)).keep_alive(KeepAlive::default()))
}

async fn forward(
    web: WebState,
    session_id: String,
    mut engine: broadcast::Receiver<LiveEvent>,
    sender: mpsc::Sender<Result<Event, Infallible>>,
) {
    let mut check = tokio::time::interval(SESSION_CHECK);
    loop {
        let event = tokio::select! {
            () = web.stop.cancelled() => break,
            () = sender.closed() => break,
            _ = check.tick() => {
                if web.sessions.is_live(&session_id) {
                    continue;
                }
                break;
            }
            received = engine.recv() => match received {
                Ok(live) => sse_event(&live),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    Event::default().event("resync").data("{}")
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        if sender.send(Ok(event)).await.is_err() {
            break;
        }
    }
}

fn sse_event(live: &LiveEvent) -> Event {
    let (name, data) = match live {
        LiveEvent::Logged(event) => ("logged", views::event(event)),
        LiveEvent::QueueDepth {
            item,
            depth,
            oldest,
        } => (
            "depth",
            json!({
                "item": item.as_str(),
                "depth": depth,
                "oldest_queued": oldest.map(|t| t.to_string()),
            }),
        ),
        LiveEvent::ItemState(status) => ("item", views::item_status(status)),
    };
    Event::default().event(name).data(data.to_string())
}
