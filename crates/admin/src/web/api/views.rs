//! How engine and store records look in the API's JSON. Ids are numbers, times RFC 3339
//! strings, names and texts plain strings: the UI inserts every one of them as text.

use ferry_message::{Body, ContentKind, Header};
use ferry_runtime::{ItemInfo, ItemStatus};
use ferry_store::{Event, EventKind, EventLevel};
use serde_json::{Value, json};

/// At most this many bytes of a body are shown inline; the raw download has all.
pub(in crate::web) const SHOWN_BYTES: usize = 1024 * 1024;

/// A header: one hop of a message.
pub(in crate::web) fn header(header: &Header) -> Value {
    json!({
        "id": header.id.0,
        "session": header.session.0,
        "parent": header.parent.map(|id| id.0),
        "resend_of": header.resend_of.map(|id| id.0),
        "source": header.source.as_str(),
        "target": header.target.as_str(),
        "created": header.created.to_string(),
        "updated": header.updated.to_string(),
        "status": header.status.as_str(),
        "doc_type": header.doc_type,
        "possible_duplicate": header.possible_duplicate,
        "attempts": header.attempts,
        "reason": header.reason,
        "has_response": header.response.is_some(),
    })
}

/// An item as defined, with its live state when it has one.
pub(in crate::web) fn item(info: &ItemInfo, status: Option<&ItemStatus>) -> Value {
    let mut value = json!({
        "name": info.name.as_str(),
        "role": info.role.as_str(),
        "kind": info.kind,
        "targets": info.targets.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
    });
    let state = status.map(item_status);
    if let (Some(object), Some(Value::Object(fields))) = (value.as_object_mut(), state) {
        object.extend(fields);
    }
    value
}

/// An item's live state: what changes while the production runs.
pub(in crate::web) fn item_status(status: &ItemStatus) -> Value {
    json!({
        "name": status.name.as_str(),
        "enabled": status.enabled,
        "queue_depth": status.queue_depth,
        "oldest_queued": status.oldest_queued.map(|t| t.to_string()),
        "listening": status.listening.map(|a| a.to_string()),
        "trouble": status.trouble.as_ref().map(|t| json!({
            "state": t.state,
            "reason": t.reason,
        })),
        "counts": {
            "received": status.counts.received,
            "processed": status.counts.processed,
            "errors": status.counts.errors,
        },
    })
}

/// A body as text for the detail view: decoded from its charset, cut at
/// [`SHOWN_BYTES`]; binary bodies carry no text.
pub(in crate::web) fn body(body: &Body) -> Value {
    let size = body.bytes.len();
    let shown = &body.bytes[..size.min(SHOWN_BYTES)];
    let text = match body.kind {
        ContentKind::Binary => None,
        _ => Some(decode(shown, body.charset.as_deref())),
    };
    json!({
        "kind": body.kind.as_str(),
        "charset": body.charset,
        "size": size,
        "truncated": size > SHOWN_BYTES,
        "text": text,
    })
}

fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// An event of the log.
pub(in crate::web) fn event(event: &Event) -> Value {
    let new = &event.event;
    json!({
        "id": event.id,
        "time": event.time.to_string(),
        "level": level(new.level),
        "kind": kind(new.kind),
        "item": new.item.as_ref().map(|i| i.as_str()),
        "message": new.message.map(|id| id.0),
        "actor": new.actor,
        "text": new.text,
    })
}

fn level(level: EventLevel) -> &'static str {
    match level {
        EventLevel::Info => "info",
        EventLevel::Warn => "warn",
        EventLevel::Error => "error",
    }
}

fn kind(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Started => "started",
        EventKind::Stopped => "stopped",
        EventKind::Recovered => "recovered",
        EventKind::Failed => "failed",
        EventKind::Retry => "retry",
        EventKind::Suspended => "suspended",
        EventKind::Warning => "warning",
        EventKind::Admin => "admin",
    }
}
