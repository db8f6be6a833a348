//! Bodies, stored in chunks of at most [`CHUNK`] bytes.
//!
//! sled writes any page larger than about a quarter of a segment (128 KiB) to its own file
//! under `blobs/`, which it never fsyncs; a leaf page holds up to 16 entries before it
//! splits. With 8 KiB values a leaf full of one large body's chunks crossed that line (seen
//! with 32 MiB of bodies); with 4 KiB chunks a full leaf stays near 64 KiB, so blob files
//! do not appear in practice (the barrier still fsyncs any that do).
//!
//! Chunk 0 holds a [`BodyRecord`] (kind, charset, total length, chunk count) followed by the
//! first bytes; chunks 1.. hold the version byte and raw bytes.

use bytes::Bytes;
use ferry_message::{Body, BodyId, NewBody};
use sled::Batch;

use crate::StoreError;
use crate::codec::{self, corrupt};
use crate::keys;
use crate::records::{self, BodyRecord};

/// The most body bytes one key holds.
pub(crate) const CHUNK: usize = 4096;

/// Adds the keys of a new body to `batch`.
pub(crate) fn write(batch: &mut Batch, id: BodyId, body: &NewBody) -> Result<(), StoreError> {
    let mut pieces = body.bytes.chunks(CHUNK);
    let first = pieces.next().unwrap_or_default();
    let chunks = u32::try_from(body.bytes.len().div_ceil(CHUNK).max(1)).map_err(|_| {
        StoreError::Corrupt {
            key: keys::describe(&keys::body_chunk(id, 0)),
            reason: format!("a body of {} bytes is too large to store", body.bytes.len()),
        }
    })?;

    let record = BodyRecord {
        kind: records::kind_byte(body.kind),
        charset: body.charset.clone(),
        len: body.bytes.len() as u64,
        chunks,
    };
    let mut head = codec::encode(&record)?;
    head.extend_from_slice(first);
    batch.insert(&keys::body_chunk(id, 0)[..], head);

    for (index, piece) in (1..).zip(pieces) {
        batch.insert(&keys::body_chunk(id, index)[..], codec::encode_raw(piece));
    }
    Ok(())
}

/// The body `id`, if stored.
///
/// # Errors
///
/// [`StoreError::Corrupt`] when a chunk is missing, out of place or of the wrong total
/// length.
pub(crate) fn read(tree: &sled::Tree, id: BodyId) -> Result<Option<Body>, StoreError> {
    let head_key = keys::body_chunk(id, 0);
    let Some(head) = tree.get(head_key)? else {
        return Ok(None);
    };

    let payload = codec::payload(&head_key, &head)?;
    let (record, first): (BodyRecord, &[u8]) =
        postcard::take_from_bytes(payload).map_err(|err| corrupt(&head_key, err))?;
    let kind = records::kind_from_byte(&head_key, record.kind)?;

    let bytes = if record.chunks == 1 {
        Bytes::copy_from_slice(first)
    } else {
        Bytes::from(read_rest(tree, id, &record, first)?)
    };

    if bytes.len() as u64 != record.len {
        return Err(corrupt(
            &head_key,
            format!(
                "body is {} bytes, its record says {}",
                bytes.len(),
                record.len
            ),
        ));
    }
    Ok(Some(Body {
        id,
        kind,
        charset: record.charset,
        bytes,
    }))
}

fn read_rest(
    tree: &sled::Tree,
    id: BodyId,
    record: &BodyRecord,
    first: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let capacity = usize::try_from(record.len).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    bytes.extend_from_slice(first);

    let from = keys::body_chunk(id, 1);
    let to = keys::prefix_end(&keys::body_prefix(id));
    let mut expected = 1u32;
    for entry in tree.range(&from[..]..&to[..]) {
        let (key, value) = entry?;
        if key.as_ref() != keys::body_chunk(id, expected) {
            return Err(corrupt(
                &key,
                format!("expected chunk {expected} of body {id}"),
            ));
        }
        bytes.extend_from_slice(codec::payload(&key, &value)?);
        expected += 1;
    }

    if expected != record.chunks {
        return Err(corrupt(
            &keys::body_chunk(id, 0),
            format!(
                "body has {expected} chunks, its record says {}",
                record.chunks
            ),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use ferry_message::ContentKind;

    use super::*;

    fn tree() -> (tempfile::TempDir, sled::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        (dir, db)
    }

    fn store(db: &sled::Db, id: u64, body: &NewBody) {
        let mut batch = Batch::default();
        write(&mut batch, BodyId(id), body).unwrap();
        db.apply_batch(batch).unwrap();
    }

    #[test]
    fn bodies_of_every_size_round_trip() {
        let (_dir, db) = tree();
        for (id, len) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 1 << 20]
            .into_iter()
            .enumerate()
        {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let new = NewBody {
                kind: ContentKind::Binary,
                charset: Some("ISO-8859-1".into()),
                bytes: bytes.into(),
            };
            store(&db, id as u64, &new);
            let back = read(&db, BodyId(id as u64)).unwrap().unwrap();
            assert_eq!(back.bytes, new.bytes, "len {len}");
            assert_eq!(back.kind, ContentKind::Binary);
            assert_eq!(back.charset.as_deref(), Some("ISO-8859-1"));
        }
        assert!(read(&db, BodyId(99)).unwrap().is_none());
    }

    #[test]
    fn a_missing_chunk_is_corrupt() {
        let (_dir, db) = tree();
        let new = NewBody::new(ContentKind::Text, vec![b'x'; 3 * CHUNK]);
        store(&db, 1, &new);
        db.remove(keys::body_chunk(BodyId(1), 1)).unwrap();
        assert!(matches!(
            read(&db, BodyId(1)),
            Err(StoreError::Corrupt { .. })
        ));

        store(&db, 2, &new);
        db.remove(keys::body_chunk(BodyId(2), 2)).unwrap();
        assert!(matches!(
            read(&db, BodyId(2)),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_chunk_with_an_unknown_version_is_corrupt() {
        let (_dir, db) = tree();
        store(
            &db,
            1,
            &NewBody::new(ContentKind::Text, vec![b'x'; 2 * CHUNK]),
        );
        db.insert(keys::body_chunk(BodyId(1), 1), vec![9, b'x'])
            .unwrap();
        assert!(matches!(
            read(&db, BodyId(1)),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
