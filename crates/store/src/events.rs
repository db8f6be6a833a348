//! The event log: events keyed by rising ids, read back oldest first or newest first.
//!
//! Events usually ride in the batch of the step they describe; `append_events` is for the
//! ones that belong to no step (starts, stops, settings changes).

use crate::codec::corrupt;
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{Event, NewEvent, StoreError, keys, records};

impl SledStore {
    /// See [`crate::Store::append_events`].
    pub(crate) fn write_events(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut stamp = self.clock.stamp(events.len())?;
        let mut writer = Writer::new(self);
        writer.events(&mut stamp, events)?;
        writer.commit()
    }

    /// See [`crate::Store::events`]: at most `limit` events with an id above `after`.
    pub(crate) fn read_events(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let from = match after {
            None => keys::event(0),
            Some(id) => match id.checked_add(1) {
                Some(next) => keys::event(next),
                None => return Ok(Vec::new()),
            },
        };
        let to = keys::prefix_end(&[keys::EVENT]);

        let mut events = Vec::with_capacity(limit.min(1024));
        for entry in self.db.range(&from[..]..&to[..]).take(limit) {
            let (key, value) = entry?;
            let id = keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            events.push(records::decode_event(&key, id, &value)?);
        }
        Ok(events)
    }
}

impl SledStore {
    /// See [`crate::Store::recent_events`]: at most `limit` events below `before`, newest
    /// first.
    pub(crate) fn read_recent_events(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let from = keys::event(0);
        let to = match before {
            None => keys::prefix_end(&[keys::EVENT]),
            Some(id) => keys::event(id).to_vec(),
        };

        let mut events = Vec::with_capacity(limit.min(1024));
        for entry in self.db.range(&from[..]..&to[..]).rev().take(limit) {
            let (key, value) = entry?;
            let id = keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            events.push(records::decode_event(&key, id, &value)?);
        }
        Ok(events)
    }
}
