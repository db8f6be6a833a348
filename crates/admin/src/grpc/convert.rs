//! Engine and store records in the shapes of `ferry.admin.v1`. Conversions never fail:
//! every engine value has a protobuf form, and absent values become unset fields.

use ferry_admin_proto::v1 as pb;
use ferry_message::{Body, ContentKind, Header, Status};
use ferry_production::Role;
use ferry_runtime::{ItemInfo, ItemStatus};
use ferry_store::{Event, EventKind, EventLevel, SearchValue};
use jiff::Timestamp;

/// A protobuf timestamp of a jiff one.
pub(crate) fn timestamp(time: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.as_second(),
        nanos: time.subsec_nanosecond(),
    }
}

/// How long ago `since` was, as of `now`; zero for a time in the future (clock skew).
fn age(since: Timestamp, now: Timestamp) -> prost_types::Duration {
    let waited = now.duration_since(since);
    if waited.is_negative() {
        return prost_types::Duration::default();
    }
    prost_types::Duration {
        seconds: waited.as_secs(),
        nanos: waited.subsec_nanos(),
    }
}

/// An item's definition and state; `info` is `None` only if the two disagree on names.
pub(crate) fn item(status: &ItemStatus, info: Option<&ItemInfo>, now: Timestamp) -> pb::Item {
    let trouble = status.trouble.as_ref().map(|trouble| pb::Trouble {
        state: trouble.state.clone(),
        reason: trouble.reason.clone(),
    });
    let counts = pb::ItemCounts {
        received: status.counts.received,
        processed: status.counts.processed,
        errors: status.counts.errors,
    };
    pb::Item {
        name: status.name.to_string(),
        role: role(status.role).into(),
        kind: info.map(|info| info.kind.clone()).unwrap_or_default(),
        enabled: status.enabled,
        queue_depth: status.queue_depth,
        oldest_queued: status.oldest_queued.map(timestamp),
        oldest_queued_age: status.oldest_queued.map(|oldest| age(oldest, now)),
        trouble,
        counts: Some(counts),
        listening: status
            .listening
            .map(|address| address.to_string())
            .unwrap_or_default(),
        targets: info
            .map(|info| info.targets.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

/// One queue's depth and age.
pub(crate) fn queue(
    item: &str,
    depth: u64,
    oldest: Option<Timestamp>,
    now: Timestamp,
) -> pb::Queue {
    pb::Queue {
        item: item.to_owned(),
        depth,
        oldest_queued: oldest.map(timestamp),
        oldest_queued_age: oldest.map(|oldest| age(oldest, now)),
    }
}

pub(crate) fn role(role: Role) -> pb::Role {
    match role {
        Role::Service => pb::Role::Service,
        Role::Process => pb::Role::Process,
        Role::Operation => pb::Role::Operation,
    }
}

pub(crate) fn status(status: Status) -> pb::Status {
    match status {
        Status::Queued => pb::Status::Queued,
        Status::Delivered => pb::Status::Delivered,
        Status::Completed => pb::Status::Completed,
        Status::Error => pb::Status::Error,
        Status::Suspended => pb::Status::Suspended,
        Status::Discarded => pb::Status::Discarded,
    }
}

/// The engine status a protobuf one names; `None` for UNSPECIFIED (any status).
pub(crate) fn engine_status(status: pb::Status) -> Option<Status> {
    match status {
        pb::Status::Unspecified => None,
        pb::Status::Queued => Some(Status::Queued),
        pb::Status::Delivered => Some(Status::Delivered),
        pb::Status::Completed => Some(Status::Completed),
        pb::Status::Error => Some(Status::Error),
        pb::Status::Suspended => Some(Status::Suspended),
        pb::Status::Discarded => Some(Status::Discarded),
    }
}

pub(crate) fn header(header: &Header) -> pb::MessageHeader {
    pb::MessageHeader {
        id: header.id.0,
        session: header.session.0,
        parent: header.parent.map(|parent| parent.0),
        resend_of: header.resend_of.map(|original| original.0),
        source: header.source.to_string(),
        target: header.target.to_string(),
        created: Some(timestamp(header.created)),
        updated: Some(timestamp(header.updated)),
        status: status(header.status).into(),
        doc_type: header.doc_type.clone().unwrap_or_default(),
        possible_duplicate: header.possible_duplicate,
        attempts: header.attempts,
        reason: header.reason.clone().unwrap_or_default(),
        has_response: header.response.is_some(),
    }
}

pub(crate) fn body(body: &Body) -> pb::Body {
    let kind = match body.kind {
        ContentKind::Hl7v2 => pb::ContentKind::Hl7v2,
        ContentKind::Xml => pb::ContentKind::Xml,
        ContentKind::Json => pb::ContentKind::Json,
        ContentKind::Text => pb::ContentKind::Text,
        ContentKind::Binary => pb::ContentKind::Binary,
    };
    pb::Body {
        bytes: body.bytes.to_vec(),
        kind: kind.into(),
        charset: body.charset.clone().unwrap_or_default(),
    }
}

pub(crate) fn field(value: &SearchValue) -> pb::Field {
    pb::Field {
        field: value.field.clone(),
        value: value.value.clone(),
    }
}

pub(crate) fn event(event: &Event) -> pb::Event {
    let level = match event.event.level {
        EventLevel::Info => pb::EventLevel::Info,
        EventLevel::Warn => pb::EventLevel::Warn,
        EventLevel::Error => pb::EventLevel::Error,
    };
    let kind = match event.event.kind {
        EventKind::Started => pb::EventKind::Started,
        EventKind::Stopped => pb::EventKind::Stopped,
        EventKind::Recovered => pb::EventKind::Recovered,
        EventKind::Failed => pb::EventKind::Failed,
        EventKind::Retry => pb::EventKind::Retry,
        EventKind::Suspended => pb::EventKind::Suspended,
        EventKind::Warning => pb::EventKind::Warning,
        EventKind::Admin => pb::EventKind::Admin,
    };
    pb::Event {
        id: event.id,
        time: Some(timestamp(event.time)),
        level: level.into(),
        kind: kind.into(),
        item: event
            .event
            .item
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        message: event.event.message.map(|id| id.0),
        actor: event.event.actor.clone().unwrap_or_default(),
        text: event.event.text.clone(),
    }
}
