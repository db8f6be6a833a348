//! The keyspace: every key starts with one byte naming its keyspace, then big-endian numbers,
//! so sled's byte order is id order (or time order) inside each keyspace.
//!
//! Variable-length parts (document types, search fields and values) are written with a
//! 4-byte length in front, so the prefix of one value can never be the prefix of another.
//! The table of keyspaces is in the crate documentation.

use ferry_message::{BodyId, MessageId, SessionId, Status};

/// Item table: item name → its compact number.
pub(crate) const ITEM: u8 = b'I';
/// Headers by message id.
pub(crate) const HEADER: u8 = b'H';
/// Body records and chunks by body id and chunk index.
pub(crate) const BODY: u8 = b'B';
/// Queues: item number + seq → message id.
pub(crate) const QUEUE: u8 = b'Q';
/// Leases (in flight): item number + seq → message id.
pub(crate) const LEASE: u8 = b'L';
/// Index: created time + message id.
pub(crate) const BY_TIME: u8 = b'T';
/// Index: session + message id.
pub(crate) const BY_SESSION: u8 = b'S';
/// Index: status byte + message id.
pub(crate) const BY_STATUS: u8 = b'U';
/// Index: source item number + message id.
pub(crate) const BY_SOURCE: u8 = b'F';
/// Index: target item number + message id.
pub(crate) const BY_TARGET: u8 = b'G';
/// Index: document type + message id.
pub(crate) const BY_DOC_TYPE: u8 = b'D';
/// Index: search field + value + message id.
pub(crate) const BY_FIELD: u8 = b'V';
/// Duplicate keys: digest → the last header accepted with it, and when.
pub(crate) const DUPLICATE: u8 = b'K';
/// The event log by event id.
pub(crate) const EVENT: u8 = b'E';

/// The one key of the meta keyspace (`M`): the store's format version.
pub(crate) const META_FORMAT: &[u8] = b"Mformat";

/// A message id's key in the header keyspace.
pub(crate) fn header(id: MessageId) -> [u8; 9] {
    with_u64(HEADER, id.0)
}

/// The first key of a body (its record) or one of its further chunks.
pub(crate) fn body_chunk(id: BodyId, chunk: u32) -> [u8; 13] {
    let mut key = [0; 13];
    key[..9].copy_from_slice(&with_u64(BODY, id.0));
    key[9..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// The prefix shared by every chunk of a body.
pub(crate) fn body_prefix(id: BodyId) -> [u8; 9] {
    with_u64(BODY, id.0)
}

/// A queue entry of item number `item`.
pub(crate) fn queue(item: u32, seq: u64) -> [u8; 13] {
    item_and_u64(QUEUE, item, seq)
}

/// The prefix of one item's queue.
pub(crate) fn queue_prefix(item: u32) -> [u8; 5] {
    with_u32(QUEUE, item)
}

/// A lease of item number `item`.
pub(crate) fn lease(item: u32, seq: u64) -> [u8; 13] {
    item_and_u64(LEASE, item, seq)
}

/// A time index entry.
pub(crate) fn by_time(created_micros: i64, id: MessageId) -> [u8; 17] {
    let mut key = [0; 17];
    key[..9].copy_from_slice(&time_bound(created_micros));
    key[9..].copy_from_slice(&id.0.to_be_bytes());
    key
}

/// The first time index key at or after `micros`.
///
/// The sign bit is flipped so negative times sort before positive ones byte-wise.
pub(crate) fn time_bound(micros: i64) -> [u8; 9] {
    with_u64(BY_TIME, micros.cast_unsigned() ^ (1 << 63))
}

/// The created time (microseconds) and message id of a time index key.
pub(crate) fn parse_time(key: &[u8]) -> Option<(i64, MessageId)> {
    let time = u64_at(key, 1)?;
    let id = u64_at(key, 9)?;
    Some(((time ^ (1 << 63)).cast_signed(), MessageId(id)))
}

/// A session index entry.
pub(crate) fn by_session(session: SessionId, id: MessageId) -> [u8; 17] {
    let mut key = [0; 17];
    key[..9].copy_from_slice(&session_prefix(session));
    key[9..].copy_from_slice(&id.0.to_be_bytes());
    key
}

/// The prefix of a session's index entries.
pub(crate) fn session_prefix(session: SessionId) -> [u8; 9] {
    with_u64(BY_SESSION, session.0)
}

/// A status index entry.
pub(crate) fn by_status(status: Status, id: MessageId) -> [u8; 10] {
    let mut key = [0; 10];
    key[..2].copy_from_slice(&status_prefix(status));
    key[2..].copy_from_slice(&id.0.to_be_bytes());
    key
}

/// The prefix of one status's index entries.
pub(crate) fn status_prefix(status: Status) -> [u8; 2] {
    [BY_STATUS, status.as_byte()]
}

/// A source or target index entry (`space` is [`BY_SOURCE`] or [`BY_TARGET`]).
pub(crate) fn by_item(space: u8, item: u32, id: MessageId) -> [u8; 13] {
    item_and_u64(space, item, id.0)
}

/// The prefix of one item's source or target index entries.
pub(crate) fn item_prefix(space: u8, item: u32) -> [u8; 5] {
    with_u32(space, item)
}

/// A document type index entry.
pub(crate) fn by_doc_type(doc_type: &str, id: MessageId) -> Vec<u8> {
    let mut key = doc_type_prefix(doc_type);
    key.extend_from_slice(&id.0.to_be_bytes());
    key
}

/// The prefix of one document type's index entries.
pub(crate) fn doc_type_prefix(doc_type: &str) -> Vec<u8> {
    let mut key = vec![BY_DOC_TYPE];
    push_text(&mut key, doc_type);
    key
}

/// A search field index entry.
pub(crate) fn by_field(field: &str, value: &str, id: MessageId) -> Vec<u8> {
    let mut key = field_prefix(field, value);
    key.extend_from_slice(&id.0.to_be_bytes());
    key
}

/// The prefix of one (field, value) pair's index entries.
pub(crate) fn field_prefix(field: &str, value: &str) -> Vec<u8> {
    let mut key = vec![BY_FIELD];
    push_text(&mut key, field);
    push_text(&mut key, value);
    key
}

/// A duplicate key entry.
pub(crate) fn duplicate(digest: &[u8; 16]) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = DUPLICATE;
    key[1..].copy_from_slice(digest);
    key
}

/// An event's key.
pub(crate) fn event(id: u64) -> [u8; 9] {
    with_u64(EVENT, id)
}

/// An item table key.
pub(crate) fn item(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(ITEM);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The big-endian number in the last 8 bytes of a key: the message id of every index key,
/// the seq of queue and lease keys.
pub(crate) fn trailing_u64(key: &[u8]) -> Option<u64> {
    u64_at(key, key.len().checked_sub(8)?)
}

/// The item number of a queue or lease key.
pub(crate) fn item_number(key: &[u8]) -> Option<u32> {
    let bytes = key.get(1..5)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// The key for a person reading an error: the keyspace letter and the key's bytes in hex.
pub(crate) fn describe(key: &[u8]) -> String {
    let Some((space, rest)) = key.split_first() else {
        return "(empty key)".to_owned();
    };
    let hex: String = rest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}/{hex}", char::from(*space))
}

/// The smallest key greater than every key starting with `prefix` (for exclusive ranges).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

fn with_u64(space: u8, number: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = space;
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

fn with_u32(space: u8, number: u32) -> [u8; 5] {
    let mut key = [0; 5];
    key[0] = space;
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

fn item_and_u64(space: u8, item: u32, number: u64) -> [u8; 13] {
    let mut key = [0; 13];
    key[..5].copy_from_slice(&with_u32(space, item));
    key[5..].copy_from_slice(&number.to_be_bytes());
    key
}

fn push_text(key: &mut Vec<u8>, text: &str) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(text.as_bytes());
}

fn u64_at(key: &[u8], at: usize) -> Option<u64> {
    let bytes = key.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_by_time_then_id_across_the_epoch() {
        let keys = [
            by_time(-5, MessageId(9)),
            by_time(0, MessageId(1)),
            by_time(0, MessageId(2)),
            by_time(1_700_000_000_000_000, MessageId(0)),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(parse_time(&keys[0]), Some((-5, MessageId(9))));
    }

    #[test]
    fn text_prefixes_do_not_overlap() {
        let short = by_doc_type("ADT", MessageId(1));
        assert!(!short.starts_with(&doc_type_prefix("ADT^A01")));
        assert!(!by_doc_type("ADT^A01", MessageId(1)).starts_with(&doc_type_prefix("ADT")));
        assert!(!by_field("MSH-10", "1", MessageId(1)).starts_with(&field_prefix("MSH-1", "0")));
    }

    #[test]
    fn trailing_numbers_read_back() {
        assert_eq!(trailing_u64(&queue(3, 77)), Some(77));
        assert_eq!(item_number(&lease(3, 77)), Some(3));
        assert_eq!(trailing_u64(&[1, 2]), None);
    }

    #[test]
    fn prefix_end_is_past_the_prefix() {
        assert_eq!(prefix_end(&[b'Q', 0, 0, 0, 1]), vec![b'Q', 0, 0, 0, 2]);
        assert_eq!(prefix_end(&[b'Q', 0xff]), vec![b'R']);
    }
}
