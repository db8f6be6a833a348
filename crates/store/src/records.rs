//! The private on-disk records and their conversion to the message model.
//!
//! The model's types are never serialized directly: a change to `Header` must not change
//! the disk format by accident. Times are i64 microseconds, enums are their documented
//! bytes (`Status::as_byte`, the `ContentKind` discriminants), ids are plain u64.

use ferry_message::{BodyId, ContentKind, Header, ItemName, MessageId, SessionId, Status};
use serde::{Deserialize, Serialize};

use crate::codec::{self, corrupt};
use crate::{Event, EventKind, EventLevel, NewEvent, SearchValue, StoreError};

/// A header with what the store keeps beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredHeader {
    /// The header as users see it.
    pub(crate) header: Header,
    /// Its seq in its target's queue, once it was queued (also the seq of its lease).
    pub(crate) queue_seq: Option<u64>,
    /// The duplicate digest it was accepted with, so a purge can remove that entry.
    pub(crate) duplicate_key: Option<[u8; 16]>,
    /// The search values indexed for it, so a purge can remove those entries.
    pub(crate) search: Vec<SearchValue>,
}

#[derive(Serialize, Deserialize)]
struct HeaderRecord {
    session: u64,
    parent: Option<u64>,
    resend_of: Option<u64>,
    source: String,
    target: String,
    created: i64,
    updated: i64,
    status: u8,
    doc_type: Option<String>,
    body: u64,
    possible_duplicate: bool,
    attempts: u32,
    reason: Option<String>,
    response: Option<u64>,
    queue_seq: Option<u64>,
    duplicate_key: Option<[u8; 16]>,
    search: Vec<(String, String)>,
}

impl StoredHeader {
    /// The value stored under the header's key.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let h = &self.header;
        codec::encode(&HeaderRecord {
            session: h.session.0,
            parent: h.parent.map(|id| id.0),
            resend_of: h.resend_of.map(|id| id.0),
            source: h.source.as_str().to_owned(),
            target: h.target.as_str().to_owned(),
            created: codec::micros(h.created),
            updated: codec::micros(h.updated),
            status: h.status.as_byte(),
            doc_type: h.doc_type.clone(),
            body: h.body.0,
            possible_duplicate: h.possible_duplicate,
            attempts: h.attempts,
            reason: h.reason.clone(),
            response: h.response.map(|id| id.0),
            queue_seq: self.queue_seq,
            duplicate_key: self.duplicate_key,
            search: self
                .search
                .iter()
                .map(|s| (s.field.clone(), s.value.clone()))
                .collect(),
        })
    }

    /// The header stored under `key` for message `id`.
    pub(crate) fn decode(key: &[u8], id: MessageId, value: &[u8]) -> Result<Self, StoreError> {
        let r: HeaderRecord = codec::decode(key, value)?;
        let status = Status::from_byte(r.status)
            .ok_or_else(|| corrupt(key, format!("unknown status byte {}", r.status)))?;

        let header = Header {
            id,
            session: SessionId(r.session),
            parent: r.parent.map(MessageId),
            resend_of: r.resend_of.map(MessageId),
            source: ItemName::from(r.source),
            target: ItemName::from(r.target),
            created: codec::timestamp(key, r.created)?,
            updated: codec::timestamp(key, r.updated)?,
            status,
            doc_type: r.doc_type,
            body: BodyId(r.body),
            possible_duplicate: r.possible_duplicate,
            attempts: r.attempts,
            reason: r.reason,
            response: r.response.map(BodyId),
        };
        Ok(StoredHeader {
            header,
            queue_seq: r.queue_seq,
            duplicate_key: r.duplicate_key,
            search: r
                .search
                .into_iter()
                .map(|(field, value)| SearchValue { field, value })
                .collect(),
        })
    }
}

/// The first key of a body: what it is, how long, and how many chunks it has. The bytes of
/// the first chunk follow the record in the same value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BodyRecord {
    /// The `ContentKind` discriminant.
    pub(crate) kind: u8,
    /// The declared character set.
    pub(crate) charset: Option<String>,
    /// Total length in bytes, over all chunks.
    pub(crate) len: u64,
    /// Number of chunks, counting the first.
    pub(crate) chunks: u32,
}

/// The discriminant stored for a content kind.
pub(crate) fn kind_byte(kind: ContentKind) -> u8 {
    kind as u8
}

/// The content kind a stored byte stands for.
pub(crate) fn kind_from_byte(key: &[u8], byte: u8) -> Result<ContentKind, StoreError> {
    match byte {
        1 => Ok(ContentKind::Hl7v2),
        2 => Ok(ContentKind::Xml),
        3 => Ok(ContentKind::Json),
        4 => Ok(ContentKind::Text),
        5 => Ok(ContentKind::Binary),
        other => Err(corrupt(key, format!("unknown content kind byte {other}"))),
    }
}

/// A queue entry or a lease: the message waiting or in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Slot {
    /// The message.
    pub(crate) message: u64,
}

/// The last acceptance of a duplicate digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DuplicateRecord {
    /// The first header written for it.
    pub(crate) message: u64,
    /// When, in microseconds.
    pub(crate) time: i64,
}

/// An item's compact number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ItemRecord {
    /// The number used in queue, lease and item index keys.
    pub(crate) number: u32,
}

#[derive(Serialize, Deserialize)]
struct EventRecord {
    time: i64,
    level: u8,
    kind: u8,
    item: Option<String>,
    message: Option<u64>,
    actor: Option<String>,
    text: String,
}

/// The value stored for an event recorded at `time_micros`.
pub(crate) fn encode_event(event: &NewEvent, time_micros: i64) -> Result<Vec<u8>, StoreError> {
    codec::encode(&EventRecord {
        time: time_micros,
        level: level_byte(event.level),
        kind: event_kind_byte(event.kind),
        item: event.item.as_ref().map(|item| item.as_str().to_owned()),
        message: event.message.map(|id| id.0),
        actor: event.actor.clone(),
        text: event.text.clone(),
    })
}

/// The event stored under `key` with id `id`.
pub(crate) fn decode_event(key: &[u8], id: u64, value: &[u8]) -> Result<Event, StoreError> {
    let r: EventRecord = codec::decode(key, value)?;
    Ok(Event {
        id,
        time: codec::timestamp(key, r.time)?,
        event: NewEvent {
            level: level_from_byte(key, r.level)?,
            kind: event_kind_from_byte(key, r.kind)?,
            item: r.item.map(ItemName::from),
            message: r.message.map(MessageId),
            actor: r.actor,
            text: r.text,
        },
    })
}

const LEVELS: [EventLevel; 3] = [EventLevel::Info, EventLevel::Warn, EventLevel::Error];

const EVENT_KINDS: [EventKind; 8] = [
    EventKind::Started,
    EventKind::Stopped,
    EventKind::Recovered,
    EventKind::Failed,
    EventKind::Retry,
    EventKind::Suspended,
    EventKind::Warning,
    EventKind::Admin,
];

fn level_byte(level: EventLevel) -> u8 {
    match level {
        EventLevel::Info => 1,
        EventLevel::Warn => 2,
        EventLevel::Error => 3,
    }
}

fn level_from_byte(key: &[u8], byte: u8) -> Result<EventLevel, StoreError> {
    LEVELS
        .into_iter()
        .find(|level| level_byte(*level) == byte)
        .ok_or_else(|| corrupt(key, format!("unknown event level byte {byte}")))
}

fn event_kind_byte(kind: EventKind) -> u8 {
    match kind {
        EventKind::Started => 1,
        EventKind::Stopped => 2,
        EventKind::Recovered => 3,
        EventKind::Failed => 4,
        EventKind::Retry => 5,
        EventKind::Suspended => 6,
        EventKind::Warning => 7,
        EventKind::Admin => 8,
    }
}

fn event_kind_from_byte(key: &[u8], byte: u8) -> Result<EventKind, StoreError> {
    EVENT_KINDS
        .into_iter()
        .find(|kind| event_kind_byte(*kind) == byte)
        .ok_or_else(|| corrupt(key, format!("unknown event kind byte {byte}")))
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::codec::FORMAT_VERSION;

    fn stored() -> StoredHeader {
        StoredHeader {
            header: Header {
                id: MessageId(42),
                session: SessionId(40),
                parent: Some(MessageId(41)),
                resend_of: None,
                source: "router".into(),
                target: "out".into(),
                created: Timestamp::from_microsecond(1_700_000_000_123_456).unwrap(),
                updated: Timestamp::from_microsecond(1_700_000_000_223_456).unwrap(),
                status: Status::Error,
                doc_type: Some("ADT^A01".into()),
                body: BodyId(39),
                possible_duplicate: true,
                attempts: 3,
                reason: Some("refused".into()),
                response: Some(BodyId(50)),
            },
            queue_seq: Some(42),
            duplicate_key: Some([9; 16]),
            search: vec![SearchValue {
                field: "MSH-10".into(),
                value: "X1".into(),
            }],
        }
    }

    #[test]
    fn headers_round_trip() {
        let header = stored();
        let value = header.encode().unwrap();
        assert_eq!(value[0], FORMAT_VERSION);
        assert_eq!(
            StoredHeader::decode(b"H", MessageId(42), &value).unwrap(),
            header
        );
    }

    #[test]
    fn a_header_with_an_unknown_status_or_version_is_corrupt() {
        let value = stored().encode().unwrap();
        let mut record: HeaderRecord = codec::decode(b"H", &value).unwrap();
        record.status = 99;
        let bad = codec::encode(&record).unwrap();
        let err = StoredHeader::decode(b"H", MessageId(42), &bad).unwrap_err();
        assert!(err.to_string().contains("unknown status byte 99"), "{err}");

        let mut newer = value;
        newer[0] = FORMAT_VERSION + 1;
        assert!(matches!(
            StoredHeader::decode(b"H", MessageId(42), &newer),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn events_round_trip_every_level_and_kind() {
        for (level, kind) in LEVELS.into_iter().zip(EVENT_KINDS.into_iter().cycle()) {
            let event = NewEvent {
                level,
                kind,
                item: Some("in".into()),
                message: Some(MessageId(3)),
                actor: Some("cli".into()),
                text: "hello".into(),
            };
            let value = encode_event(&event, 1_000).unwrap();
            let back = decode_event(b"E", 7, &value).unwrap();
            assert_eq!(back.event, event);
            assert_eq!(back.id, 7);
        }
        for kind in EVENT_KINDS {
            assert_eq!(
                event_kind_from_byte(b"E", event_kind_byte(kind)).unwrap(),
                kind
            );
        }
        assert!(event_kind_from_byte(b"E", 0).is_err());
    }

    #[test]
    fn content_kinds_round_trip() {
        for kind in [
            ContentKind::Hl7v2,
            ContentKind::Xml,
            ContentKind::Json,
            ContentKind::Text,
            ContentKind::Binary,
        ] {
            assert_eq!(kind_from_byte(b"B", kind_byte(kind)).unwrap(), kind);
        }
        assert!(kind_from_byte(b"B", 0).is_err());
    }
}
