//! Message actions: resend, suspend and discard, for one message or many. Each id gets
//! its own result, so one refused message does not hide what happened to the others; the
//! engine records every action with the session's actor.

use axum::Json;
use axum::extract::{Path, State};
use ferry_message::MessageId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::messages::message_id;
use crate::web::problem::Problem;
use crate::web::router::WebState;
use crate::web::session::Session;

/// The most ids one request may name.
const MAX_IDS: usize = 1000;

/// What the UI asks for several messages.
#[derive(Debug, Deserialize)]
pub(in crate::web) struct ActionRequest {
    action: String,
    ids: Vec<u64>,
}

/// The three message actions.
#[derive(Debug, Clone, Copy)]
enum Action {
    Resend,
    Suspend,
    Discard,
}

impl Action {
    fn parse(text: &str) -> Result<Action, Problem> {
        match text {
            "resend" => Ok(Action::Resend),
            "suspend" => Ok(Action::Suspend),
            "discard" => Ok(Action::Discard),
            _ => Err(Problem::not_found(
                "the message actions are resend, suspend and discard",
            )),
        }
    }
}

/// Applies an action to the message in the path.
pub(in crate::web) async fn act_on_one(
    State(web): State<WebState>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let id = message_id(&id)?;
    let action = Action::parse(&action)?;
    Ok(Json(
        json!({ "results": [apply(&web, &session, action, id)] }),
    ))
}

/// Applies an action to every id of the request.
pub(in crate::web) async fn act_on_many(
    State(web): State<WebState>,
    session: Session,
    Json(request): Json<ActionRequest>,
) -> Result<Json<Value>, Problem> {
    let action = Action::parse(&request.action)?;
    if request.ids.is_empty() || request.ids.len() > MAX_IDS {
        let text = format!("name between 1 and {MAX_IDS} message ids");
        return Err(Problem::bad_request(text));
    }

    let results: Vec<Value> = request
        .ids
        .iter()
        .map(|&id| apply(&web, &session, action, MessageId(id)))
        .collect();
    Ok(Json(json!({ "results": results })))
}

fn apply(web: &WebState, session: &Session, action: Action, id: MessageId) -> Value {
    let engine = &web.admin.engine;
    let actor = session.actor.0.as_str();
    let done = match action {
        Action::Resend => engine.resend(id, actor).map(|new| Some(new.0)),
        Action::Suspend => engine.suspend(id, actor).map(|()| None),
        Action::Discard => engine.discard(id, actor).map(|()| None),
    };
    tracing::info!(message = %id, ?action, actor, ok = done.is_ok(), "admin web: message action");
    match done {
        Ok(resent) => json!({ "id": id.0, "ok": true, "resent_as": resent }),
        Err(error) => json!({ "id": id.0, "ok": false, "error": error.to_string() }),
    }
}
