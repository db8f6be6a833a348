//! Item actions: enable, disable, restart. Each is recorded in the event log with the
//! session's actor by the engine.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::web::problem::Problem;
use crate::web::router::WebState;
use crate::web::session::Session;

/// Applies `action` (`enable`, `disable` or `restart`) to item `name`.
pub(in crate::web) async fn act(
    State(web): State<WebState>,
    session: Session,
    Path((name, action)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let engine = &web.admin.engine;
    let actor = session.actor.0.as_str();
    let done = match action.as_str() {
        "enable" => engine.set_enabled(&name, true, actor),
        "disable" => engine.set_enabled(&name, false, actor),
        "restart" => engine.restart(&name, actor),
        _ => {
            let text = "the item actions are enable, disable and restart";
            return Err(Problem::not_found(text));
        }
    };
    done.map_err(|error| Problem::not_found(error.to_string()))?;

    tracing::info!(item = %name, %action, actor, "admin web: item action");
    Ok(Json(
        json!({ "item": name, "action": action, "done": true }),
    ))
}
