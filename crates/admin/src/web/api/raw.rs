//! Raw downloads of a message's body and response, byte for byte.
//!
//! They are always attachments, typed `text/plain` or `application/octet-stream` with
//! `nosniff`, so a body that holds markup is saved, never rendered by the browser.

use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use ferry_message::{Body, ContentKind, MessageId};

use super::messages::message_id;
use crate::web::problem::Problem;
use crate::web::router::WebState;
use crate::web::session::Session;

/// The message's body.
pub(in crate::web) async fn body(
    State(web): State<WebState>,
    _: Session,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = message_id(&id)?;
    let detail = load(&web, id)?;
    let body = detail
        .body
        .ok_or_else(|| Problem::not_found(format!("message {id} has no body any more")))?;
    Ok(download(&body, &format!("message-{id}")))
}

/// The response kept with the message.
pub(in crate::web) async fn response(
    State(web): State<WebState>,
    _: Session,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = message_id(&id)?;
    let detail = load(&web, id)?;
    let response = detail
        .response
        .ok_or_else(|| Problem::not_found(format!("message {id} has no response")))?;
    Ok(download(&response, &format!("message-{id}-response")))
}

fn load(web: &WebState, id: MessageId) -> Result<ferry_runtime::MessageDetail, Problem> {
    web.admin
        .engine
        .message(id)
        .map_err(|error| Problem::store(&error))?
        .ok_or_else(|| Problem::not_found(format!("no message {id}")))
}

/// The bytes as an attachment named `stem` plus the kind's extension. The file name is
/// made here from the id, never from anything a sender chose.
fn download(body: &Body, stem: &str) -> Response {
    let (content_type, extension) = match body.kind {
        ContentKind::Binary => ("application/octet-stream".to_owned(), "bin"),
        kind => {
            let charset = body.charset.as_deref().unwrap_or("utf-8");
            let charset = encoding_rs::Encoding::for_label(charset.as_bytes())
                .map_or("utf-8", |encoding| encoding.name());
            let extension = match kind {
                ContentKind::Hl7v2 => "hl7",
                ContentKind::Xml => "xml",
                ContentKind::Json => "json",
                _ => "txt",
            };
            let charset = charset.to_ascii_lowercase();
            (format!("text/plain; charset={charset}"), extension)
        }
    };
    let disposition = format!("attachment; filename=\"{stem}.{extension}\"");
    let headers = [
        (CONTENT_TYPE, content_type),
        (CONTENT_DISPOSITION, disposition),
        (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (CACHE_CONTROL, "no-store".to_owned()),
    ];
    (headers, body.bytes.clone()).into_response()
}
