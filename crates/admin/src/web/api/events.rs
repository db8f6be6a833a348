//! The event log, newest first, paged backwards by event id.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::views;
use crate::web::problem::Problem;
use crate::web::router::WebState;
use crate::web::session::Session;

/// The most events one page may ask for.
const MAX_PAGE: usize = 500;

/// Paging parameters.
#[derive(Debug, Deserialize)]
pub(in crate::web) struct Page {
    /// Only events with a lower id.
    before: Option<u64>,
    /// At most this many (default 100).
    limit: Option<usize>,
}

/// One page of the log, with the `before` for the next one.
pub(in crate::web) async fn events(
    State(web): State<WebState>,
    _: Session,
    Query(page): Query<Page>,
) -> Result<Json<Value>, Problem> {
    let limit = page.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let events = web
        .admin
        .engine
        .events_before(page.before, limit)
        .map_err(|error| Problem::store(&error))?;

    let next_before = match events.last() {
        Some(last) if events.len() == limit => Some(last.id),
        _ => None,
    };
    let events: Vec<Value> = events.iter().map(views::event).collect();
    Ok(Json(
        json!({ "events": events, "next_before": next_before }),
    ))
}
