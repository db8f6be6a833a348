//! JSON for scripts: the answers of `ferry.admin.v1` with names as the `.proto` spells
//! them, enums as lower-case words, times in RFC 3339 and ages in seconds.

use ferry_admin_proto::v1 as pb;
use serde_json::{Value, json};

use super::render;

fn time(time: Option<&prost_types::Timestamp>) -> Value {
    render::timestamp(time).map_or(Value::Null, |time| Value::String(time.to_string()))
}

fn seconds(age: Option<&prost_types::Duration>) -> Value {
    age.map_or(Value::Null, |age| json!(age.seconds))
}

pub(crate) fn production(production: &pb::GetProductionResponse) -> Value {
    json!({
        "name": production.name,
        "description": production.description,
        "file": production.file,
        "started": time(production.started.as_ref()),
        "items": production.items.iter().map(item).collect::<Vec<_>>(),
    })
}

pub(crate) fn item(item: &pb::Item) -> Value {
    let counts = item.counts.unwrap_or_default();
    json!({
        "name": item.name,
        "role": render::role(item.role),
        "kind": item.kind,
        "enabled": item.enabled,
        "queue_depth": item.queue_depth,
        "oldest_queued": time(item.oldest_queued.as_ref()),
        "oldest_queued_age_seconds": seconds(item.oldest_queued_age.as_ref()),
        "trouble": item.trouble.as_ref().map(|t| json!({"state": t.state, "reason": t.reason})),
        "counts": {
            "received": counts.received,
            "processed": counts.processed,
            "errors": counts.errors,
        },
        "listening": item.listening,
        "targets": item.targets,
    })
}

pub(crate) fn queue(queue: &pb::Queue) -> Value {
    json!({
        "item": queue.item,
        "depth": queue.depth,
        "oldest_queued": time(queue.oldest_queued.as_ref()),
        "oldest_queued_age_seconds": seconds(queue.oldest_queued_age.as_ref()),
    })
}

pub(crate) fn header(header: &pb::MessageHeader) -> Value {
    json!({
        "id": header.id,
        "session": header.session,
        "parent": header.parent,
        "resend_of": header.resend_of,
        "source": header.source,
        "target": header.target,
        "created": time(header.created.as_ref()),
        "updated": time(header.updated.as_ref()),
        "status": render::status(header.status),
        "doc_type": header.doc_type,
        "possible_duplicate": header.possible_duplicate,
        "attempts": header.attempts,
        "reason": header.reason,
        "has_response": header.has_response,
    })
}

/// A body's bytes as text (invalid UTF-8 replaced); `--raw` gives the exact bytes.
fn body(body: &pb::Body) -> Value {
    json!({
        "kind": render::content_kind(body.kind),
        "charset": body.charset,
        "text": String::from_utf8_lossy(&body.bytes),
    })
}

pub(crate) fn message(message: &pb::GetMessageResponse) -> Value {
    json!({
        "header": message.header.as_ref().map(header),
        "body": message.body.as_ref().map(body),
        "response": message.response.as_ref().map(body),
        "fields": message
            .fields
            .iter()
            .map(|f| json!({"field": f.field, "value": f.value}))
            .collect::<Vec<_>>(),
    })
}

pub(crate) fn result(result: &pb::MessageResult) -> Value {
    json!({
        "id": result.id,
        "ok": result.ok,
        "error": (!result.ok).then_some(&result.error),
        "resent_as": result.resent_as,
    })
}

pub(crate) fn event(event: &pb::Event) -> Value {
    json!({
        "id": event.id,
        "time": time(event.time.as_ref()),
        "level": render::level(event.level),
        "kind": render::event_kind(event.kind),
        "item": event.item,
        "message": event.message,
        "actor": event.actor,
        "text": event.text,
    })
}

/// One live change, tagged with what it is.
pub(crate) fn change(change: &pb::watch_events_response::Change) -> Value {
    use pb::watch_events_response::Change;
    match change {
        Change::Logged(logged) => json!({"event": event(logged)}),
        Change::QueueDepth(depth) => json!({"queue_depth": queue(depth)}),
        Change::ItemState(state) => json!({"item_state": item(state)}),
        Change::Missed(missed) => json!({"missed": missed}),
    }
}
