//! The production overview and the queues.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::views;
use crate::web::router::WebState;
use crate::web::session::Session;

/// The production and every item with its live state, in production order.
pub(in crate::web) async fn overview(State(web): State<WebState>, _: Session) -> Json<Value> {
    let engine = &web.admin.engine;
    let production = engine.production();
    let statuses = engine.items();

    let items: Vec<Value> = production
        .items
        .iter()
        .map(|info| {
            let status = statuses.iter().find(|status| status.name == info.name);
            views::item(info, status)
        })
        .collect();
    Json(json!({
        "production": {
            "name": production.name,
            "description": production.description,
            "file": production.file,
            "started": production.started.to_string(),
        },
        "items": items,
    }))
}

/// Every item that has a queue (processes and operations), with its depth.
pub(in crate::web) async fn queues(State(web): State<WebState>, _: Session) -> Json<Value> {
    let queues: Vec<Value> = web
        .admin
        .engine
        .items()
        .iter()
        .filter(|status| status.role != ferry_production::Role::Service)
        .map(|status| {
            json!({
                "item": status.name.as_str(),
                "depth": status.queue_depth,
                "oldest_queued": status.oldest_queued.map(|t| t.to_string()),
            })
        })
        .collect();
    Json(json!({ "queues": queues }))
}
