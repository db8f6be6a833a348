//! Accepting inbound records: bodies, headers, queue entries, indexes, duplicate digests and
//! events of a whole call in one batch.
//!
//! A record becomes one session named after its first header. A record for a service with
//! no targets is kept as one Discarded header (target = the service), so it is never lost
//! without a trace.

use std::collections::HashMap;
use std::sync::PoisonError;

use ferry_message::{BodyId, Header, ItemName, MessageId, SessionId, Status};

use crate::clock::Stamp;
use crate::records::{DuplicateRecord, StoredHeader};
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{Accepted, Disposition, InboundRecord, NewEvent, StoreError, codec, keys};

/// One header an inbound record becomes.
struct Planned {
    target: ItemName,
    status: Status,
    reason: Option<String>,
}

impl SledStore {
    /// See [`crate::Store::accept`].
    pub(crate) fn accept_records(
        &self,
        records: Vec<InboundRecord>,
        events: &[NewEvent],
    ) -> Result<Vec<Accepted>, StoreError> {
        let checks_duplicates = records.iter().any(|r| r.duplicate_key.is_some());
        let _duplicates = checks_duplicates.then(|| {
            self.duplicates
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        });

        let ids = records.iter().map(|r| 1 + header_count(r)).sum::<usize>() + events.len();
        let mut stamp = self.clock.stamp(ids)?;
        let mut writer = Writer::new(self);
        let mut seen = HashMap::new();

        let mut accepted = Vec::with_capacity(records.len());
        for record in records {
            accepted.push(self.accept_one(&mut writer, &mut stamp, record, &mut seen)?);
        }
        writer.events(&mut stamp, events)?;

        writer.commit()?;
        Ok(accepted)
    }

    fn accept_one(
        &self,
        writer: &mut Writer<'_>,
        stamp: &mut Stamp,
        record: InboundRecord,
        seen: &mut HashMap<[u8; 16], MessageId>,
    ) -> Result<Accepted, StoreError> {
        let earlier = self.earlier_duplicate(record.duplicate_key, stamp, seen)?;
        if let Some(earlier) = earlier.filter(|_| record.skip_redelivery) {
            return Ok(Accepted {
                session: SessionId::from(earlier),
                headers: vec![earlier],
                possible_duplicate: true,
                already_stored: true,
            });
        }
        let possible_duplicate = earlier.is_some();

        let body = BodyId(stamp.id()?);
        writer.body(body, &record.body)?;

        let first = MessageId(stamp.id()?);
        let session = SessionId::from(first);
        let mut headers = Vec::new();
        for planned in plan(&record, possible_duplicate) {
            let id = if headers.is_empty() {
                first
            } else {
                MessageId(stamp.id()?)
            };
            let queued = planned.status == Status::Queued;
            let stored = StoredHeader {
                header: Header {
                    id,
                    session,
                    parent: None,
                    resend_of: None,
                    source: record.source.clone(),
                    target: planned.target,
                    created: stamp.time,
                    updated: stamp.time,
                    status: planned.status,
                    doc_type: record.doc_type.clone(),
                    body,
                    possible_duplicate,
                    attempts: 0,
                    reason: planned.reason,
                    response: None,
                },
                queue_seq: queued.then_some(id.0),
                duplicate_key: record.duplicate_key,
                search: record.search.clone(),
            };

            writer.new_header(&stored)?;
            if queued {
                let queue = writer.item(&stored.header.target)?;
                writer.enqueue(&queue, id.0, id)?;
            }
            headers.push(id);
        }

        if let Some(digest) = record.duplicate_key {
            let value = codec::encode(&DuplicateRecord {
                message: first.0,
                time: stamp.micros(),
            })?;
            writer.insert(&keys::duplicate(&digest), value);
            seen.insert(digest, first);
        }

        Ok(Accepted {
            session,
            headers,
            possible_duplicate,
            already_stored: false,
        })
    }

    /// The first header of the record accepted with `digest` within the duplicate window
    /// (or earlier in this call), if any.
    fn earlier_duplicate(
        &self,
        digest: Option<[u8; 16]>,
        stamp: &Stamp,
        seen: &HashMap<[u8; 16], MessageId>,
    ) -> Result<Option<MessageId>, StoreError> {
        let Some(digest) = digest else {
            return Ok(None);
        };
        if let Some(id) = seen.get(&digest) {
            return Ok(Some(*id));
        }

        let key = keys::duplicate(&digest);
        let Some(value) = self.db.get(key)? else {
            return Ok(None);
        };
        let last: DuplicateRecord = codec::decode(&key, &value)?;
        let window = i64::try_from(self.duplicate_window.as_micros()).unwrap_or(i64::MAX);
        let recent = stamp.micros().saturating_sub(last.time) <= window;
        Ok(recent.then_some(MessageId(last.message)))
    }
}

/// How many headers a record becomes.
fn header_count(record: &InboundRecord) -> usize {
    match &record.disposition {
        Disposition::Enqueue { targets } => targets.len().max(1),
        Disposition::Reject { .. } => 1,
    }
}

/// The headers a record becomes, in target order (never none).
fn plan(record: &InboundRecord, possible_duplicate: bool) -> Vec<Planned> {
    match &record.disposition {
        Disposition::Enqueue { targets } if possible_duplicate && record.discard_duplicate => {
            let reason = "possible duplicate, discarded as the service's `duplicates` \
                          setting asks";
            targets
                .iter()
                .map(|target| Planned {
                    target: target.clone(),
                    status: Status::Discarded,
                    reason: Some(reason.to_owned()),
                })
                .collect()
        }
        Disposition::Enqueue { targets } if targets.is_empty() => vec![Planned {
            target: record.source.clone(),
            status: Status::Discarded,
            reason: Some("the service has no targets".to_owned()),
        }],
        Disposition::Enqueue { targets } => targets
            .iter()
            .map(|target| Planned {
                target: target.clone(),
                status: Status::Queued,
                reason: None,
            })
            .collect(),
        Disposition::Reject { reason } => vec![Planned {
            target: record.source.clone(),
            status: Status::Error,
            reason: Some(reason.clone()),
        }],
    }
}
