//! The secondary index entries of a header.
//!
//! Index entries are keys with an empty value; each ends with the message id, so a prefix
//! scan yields ids in id order. They are written with the header and removed with it (by a
//! purge); only the status entry moves, in the same batch as the status change.

use crate::keys;
use crate::records::StoredHeader;

/// Every index key of `stored`: time, session, status, source, target, document type and
/// search fields. Source and target entries need the items' numbers (`None` skips them).
pub(crate) fn keys(
    stored: &StoredHeader,
    source: Option<u32>,
    target: Option<u32>,
) -> Vec<Vec<u8>> {
    let h = &stored.header;
    let mut keys = Vec::with_capacity(6 + stored.search.len());

    keys.push(keys::by_time(crate::codec::micros(h.created), h.id).to_vec());
    keys.push(keys::by_session(h.session, h.id).to_vec());
    keys.push(keys::by_status(h.status, h.id).to_vec());

    if let Some(number) = source {
        keys.push(keys::by_item(keys::BY_SOURCE, number, h.id).to_vec());
    }
    if let Some(number) = target {
        keys.push(keys::by_item(keys::BY_TARGET, number, h.id).to_vec());
    }
    if let Some(doc_type) = &h.doc_type {
        keys.push(keys::by_doc_type(doc_type, h.id));
    }
    for search in &stored.search {
        keys.push(keys::by_field(&search.field, &search.value, h.id));
    }
    keys
}
