//! Retention: removing whole finished sessions older than a cutoff.
//!
//! The time index is walked from the oldest entry up to the cutoff; an entry that is the
//! first header of its session (its id is the session id) names a session created before
//! the cutoff. A session is removed only when every header is Completed or Discarded;
//! otherwise it is kept whole. Each removed session is one batch: its headers, every index
//! entry of each, the duplicate entries still pointing at them, and all chunks of its bodies
//! and responses (a body is never shared across sessions: outputs and resends stay in the
//! session of the header they come from).
//!
//! sled frees space lazily and its file may not shrink after a purge; the store offers no
//! offline compaction yet (sled's export/import into a fresh folder would be the way).

use std::collections::BTreeSet;
use std::sync::PoisonError;

use ferry_message::{BodyId, MessageId, SessionId, Status};
use jiff::Timestamp;

use crate::codec::{self, corrupt};
use crate::records::{DuplicateRecord, StoredHeader};
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{PurgeReport, StoreError, index, keys};

/// What removing one session took away.
struct Removed {
    headers: u64,
    bodies: u64,
}

impl SledStore {
    /// See [`crate::Store::purge`].
    pub(crate) fn purge_before(&self, before: Timestamp) -> Result<PurgeReport, StoreError> {
        let mut report = PurgeReport::default();
        let end = keys::time_bound(codec::micros(before));
        let mut from = vec![keys::BY_TIME];

        loop {
            let Some(entry) = self.db.range(from.as_slice()..&end[..]).next() else {
                break;
            };
            let (key, _) = entry?;
            let (_, id) = keys::parse_time(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            from = key.to_vec();
            from.push(0);

            let session = SessionId::from(id);
            if !self.db.contains_key(keys::by_session(session, id))? {
                continue;
            }

            // Resends take this lock too, so none can point into a session being removed.
            let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
            match self.purge_session(session)? {
                Some(removed) => {
                    report.sessions += 1;
                    report.headers += removed.headers;
                    report.bodies += removed.bodies;
                }
                None => report.kept += 1,
            }
        }

        tracing::info!(
            sessions = report.sessions,
            headers = report.headers,
            bodies = report.bodies,
            kept = report.kept,
            "store purge finished"
        );
        Ok(report)
    }

    /// Removes `session` when all its headers are final and not failed; `None` keeps it.
    fn purge_session(&self, session: SessionId) -> Result<Option<Removed>, StoreError> {
        let mut headers = Vec::new();
        for key in self.db.scan_prefix(keys::session_prefix(session)).keys() {
            let key = key?;
            let id = MessageId(keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?);
            let stored = self.referenced_header(&key, id)?;
            if !matches!(stored.header.status, Status::Completed | Status::Discarded) {
                return Ok(None);
            }
            headers.push(stored);
        }

        let mut writer = Writer::new(self);
        let mut bodies = BTreeSet::new();
        for stored in &headers {
            self.remove_header(&mut writer, stored)?;
            bodies.insert(stored.header.body);
            bodies.extend(stored.header.response);
        }
        for body in &bodies {
            self.remove_body(&mut writer, *body)?;
        }

        writer.commit()?;
        Ok(Some(Removed {
            headers: headers.len() as u64,
            bodies: bodies.len() as u64,
        }))
    }

    fn remove_header(
        &self,
        writer: &mut Writer<'_>,
        stored: &StoredHeader,
    ) -> Result<(), StoreError> {
        let h = &stored.header;
        let source = self.items.get(&h.source).map(|q| q.number);
        let target = self.items.get(&h.target).map(|q| q.number);

        writer.remove(&keys::header(h.id));
        for key in index::keys(stored, source, target) {
            writer.remove(&key);
        }

        if let Some(digest) = stored.duplicate_key {
            let key = keys::duplicate(&digest);
            if let Some(value) = self.db.get(key)? {
                let last: DuplicateRecord = codec::decode(&key, &value)?;
                if last.message == h.id.0 {
                    writer.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn remove_body(&self, writer: &mut Writer<'_>, body: BodyId) -> Result<(), StoreError> {
        for key in self.db.scan_prefix(keys::body_prefix(body)).keys() {
            writer.remove(&key?);
        }
        Ok(())
    }
}
