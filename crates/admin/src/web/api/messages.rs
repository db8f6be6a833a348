//! Message search, message detail and session traces.

use axum::Json;
use axum::extract::{Path, Query, State};
use ferry_message::{ItemName, MessageId, SessionId, Status};
use ferry_store::SearchValue;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::views;
use crate::web::problem::Problem;
use crate::web::router::WebState;
use crate::web::session::Session;

/// The most results one page may ask for.
const MAX_PAGE: usize = 500;

/// The search form, as query parameters; empty values are "any".
#[derive(Debug, Default, Deserialize)]
pub(in crate::web) struct SearchForm {
    #[serde(default)]
    source: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    doc_type: String,
    #[serde(default)]
    session: String,
    /// A search field's name, e.g. `MSH-10`, with its `value`.
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
    /// RFC 3339 times: created at or after `from`, before `to`.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Paging: only ids below this one.
    #[serde(default)]
    before: String,
    #[serde(default)]
    limit: String,
}

/// Messages matching the form, newest first, with the `before` for the next page.
pub(in crate::web) async fn search(
    State(web): State<WebState>,
    _: Session,
    Query(form): Query<SearchForm>,
) -> Result<Json<Value>, Problem> {
    let query = form.to_query()?;
    let limit = query.limit;

    let headers = web
        .admin
        .engine
        .search(&query)
        .map_err(|error| Problem::engine(&error))?;
    let next_before = match headers.last() {
        Some(last) if headers.len() == limit => Some(last.id.0),
        _ => None,
    };
    let messages: Vec<Value> = headers.iter().map(views::header).collect();
    Ok(Json(
        json!({ "messages": messages, "next_before": next_before }),
    ))
}

impl SearchForm {
    fn to_query(&self) -> Result<ferry_store::Query, Problem> {
        let field = match (self.field.trim(), self.value.as_str()) {
            ("", "") => None,
            ("", _) => return Err(Problem::bad_request("a field value needs a field name")),
            (field, value) => Some(SearchValue {
                field: field.to_owned(),
                value: value.to_owned(),
            }),
        };
        let limit = page_size(&self.limit)?;
        let from = time(&self.from, "from")?;
        let to = time(&self.to, "to")?;
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(Problem::bad_request("`to` must be after `from`"));
        }
        Ok(ferry_store::Query {
            from,
            to,
            source: name(&self.source),
            target: name(&self.target),
            status: status(&self.status)?,
            doc_type: Some(self.doc_type.trim().to_owned()).filter(|d| !d.is_empty()),
            session: number(&self.session, "session")?.map(SessionId),
            field,
            before: number(&self.before, "before")?.map(MessageId),
            limit,
        })
    }
}

/// The page size a form asks for: any count of digits, cut to [`MAX_PAGE`]; 50 when
/// none is given.
fn page_size(text: &str) -> Result<usize, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(50);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::bad_request("limit must be a number"));
    }
    let limit = text.parse::<usize>().unwrap_or(MAX_PAGE);
    Ok(limit.clamp(1, MAX_PAGE))
}

fn name(text: &str) -> Option<ItemName> {
    Some(text.trim())
        .filter(|t| !t.is_empty())
        .map(ItemName::from)
}

fn status(text: &str) -> Result<Option<Status>, Problem> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|error: ferry_message::ParseStatusError| {
                Problem::bad_request(error.to_string())
            }),
    }
}

fn number(text: &str, what: &str) -> Result<Option<u64>, Problem> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| Problem::bad_request(format!("{what} must be a number"))),
    }
}

fn time(text: &str, what: &str) -> Result<Option<Timestamp>, Problem> {
    match text.trim() {
        "" => Ok(None),
        text => text.parse().map(Some).map_err(|_| {
            Problem::bad_request(format!("{what} must be a time like 2024-01-01T12:00:00Z"))
        }),
    }
}

/// A message id from a path segment.
pub(super) fn message_id(text: &str) -> Result<MessageId, Problem> {
    text.parse()
        .map(MessageId)
        .map_err(|_| Problem::bad_request("a message id is a number"))
}

/// One message with its fields, body and response.
pub(in crate::web) async fn detail(
    State(web): State<WebState>,
    _: Session,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let id = message_id(&id)?;
    let detail = web
        .admin
        .engine
        .message(id)
        .map_err(|error| Problem::store(&error))?
        .ok_or_else(|| Problem::not_found(format!("no message {id}")))?;

    let fields: Vec<Value> = detail
        .fields
        .iter()
        .map(|f| json!({ "field": f.field, "value": f.value }))
        .collect();
    Ok(Json(json!({
        "header": views::header(&detail.header),
        "fields": fields,
        "body": detail.body.as_ref().map(views::body),
        "response": detail.response.as_ref().map(views::body),
    })))
}

/// Every hop of a session, in id order.
pub(in crate::web) async fn trace(
    State(web): State<WebState>,
    _: Session,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let session = SessionId(message_id(&id)?.0);
    let hops = web
        .admin
        .engine
        .trace(session)
        .map_err(|error| Problem::store(&error))?;
    if hops.is_empty() {
        return Err(Problem::not_found(format!("no session {session}")));
    }
    let hops: Vec<Value> = hops.iter().map(views::header).collect();
    Ok(Json(json!({ "session": session.0, "hops": hops })))
}
