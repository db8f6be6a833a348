//! Finding messages through the indexes.
//!
//! A query walks one index (its driver) from the newest entry down and checks every other
//! condition on the header. The driver is the index whose range for this query holds the
//! fewest entries, counted up to [`ESTIMATE_CAP`]; with no indexed condition it is the
//! header keyspace itself. Every driver yields newest first: prefix indexes end with the
//! message id, and the time index is in id order because a larger id never has an earlier
//! `created` time within a run (see `clock`).

use ferry_message::{Header, MessageId, SessionId};

use crate::codec::{self, corrupt};
use crate::records::StoredHeader;
use crate::sled_store::SledStore;
use crate::{Query, StoreError, keys};

/// Results when a query sets no limit.
const DEFAULT_LIMIT: usize = 100;

/// How many entries of each candidate index are counted to pick the driver.
const ESTIMATE_CAP: usize = 512;

/// A key range of one index, walked from its end.
struct Driver {
    from: Vec<u8>,
    to: Vec<u8>,
}

impl SledStore {
    /// See [`crate::Store::search`].
    pub(crate) fn search_headers(&self, query: &Query) -> Result<Vec<Header>, StoreError> {
        let limit = if query.limit == 0 {
            DEFAULT_LIMIT
        } else {
            query.limit
        };
        let Some(candidates) = self.drivers(query)? else {
            return Ok(Vec::new());
        };
        let driver = self.most_selective(candidates, query.before)?;

        let mut found = Vec::new();
        for entry in self.db.range(driver.from..driver.to).rev() {
            let (key, _) = entry?;
            let id = MessageId(keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?);
            let Some(stored) = self.indexed_header(&key, id)? else {
                continue;
            };
            if matches(query, &stored) {
                found.push(stored.header);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// See [`crate::Store::session`].
    pub(crate) fn session_headers(&self, session: SessionId) -> Result<Vec<Header>, StoreError> {
        let mut headers = Vec::new();
        for key in self.db.scan_prefix(keys::session_prefix(session)).keys() {
            let key = key?;
            let id = MessageId(keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?);
            if let Some(stored) = self.indexed_header(&key, id)? {
                headers.push(stored.header);
            }
        }
        Ok(headers)
    }

    /// One driver per indexed condition, or `None` when the query names an item the store
    /// never saw (nothing can match).
    fn drivers(&self, query: &Query) -> Result<Option<Vec<Driver>>, StoreError> {
        let mut prefixes: Vec<Vec<u8>> = Vec::new();
        if let Some(session) = query.session {
            prefixes.push(keys::session_prefix(session).to_vec());
        }
        if let Some(field) = &query.field {
            prefixes.push(keys::field_prefix(&field.field, &field.value));
        }
        if let Some(doc_type) = &query.doc_type {
            prefixes.push(keys::doc_type_prefix(doc_type));
        }
        for (space, item) in [
            (keys::BY_TARGET, &query.target),
            (keys::BY_SOURCE, &query.source),
        ] {
            if let Some(item) = item {
                let Some(queue) = self.items.get(item) else {
                    return Ok(None);
                };
                prefixes.push(keys::item_prefix(space, queue.number).to_vec());
            }
        }
        if let Some(status) = query.status {
            prefixes.push(keys::status_prefix(status).to_vec());
        }

        let mut drivers: Vec<Driver> = prefixes
            .into_iter()
            .map(|prefix| prefix_driver(prefix, query.before))
            .collect();
        if query.from.is_some() || query.to.is_some() {
            drivers.push(self.time_driver(query)?);
        }
        Ok(Some(drivers))
    }

    /// The time index between `from` and `to`, below `before`'s own entry when it exists.
    fn time_driver(&self, query: &Query) -> Result<Driver, StoreError> {
        let from = match query.from {
            Some(from) => keys::time_bound(codec::micros(from)).to_vec(),
            None => vec![keys::BY_TIME],
        };
        let mut to = match query.to {
            Some(to) => keys::time_bound(codec::micros(to)).to_vec(),
            None => keys::prefix_end(&[keys::BY_TIME]),
        };

        if let Some(before) = query.before
            && let Some(stored) = self.stored_header(before)?
        {
            let below = keys::by_time(codec::micros(stored.header.created), before).to_vec();
            to = to.min(below);
        }
        Ok(Driver { from, to })
    }

    /// The driver with the fewest entries (the first one on a tie); the header keyspace
    /// when the query has no indexed condition.
    fn most_selective(
        &self,
        drivers: Vec<Driver>,
        before: Option<MessageId>,
    ) -> Result<Driver, StoreError> {
        let mut best: Option<(usize, Driver)> = None;
        for driver in drivers {
            let count = self.count_up_to_cap(&driver)?;
            if best.as_ref().is_none_or(|(fewest, _)| count < *fewest) {
                best = Some((count, driver));
            }
        }
        Ok(best.map_or_else(
            || prefix_driver(vec![keys::HEADER], before),
            |(_, driver)| driver,
        ))
    }

    fn count_up_to_cap(&self, driver: &Driver) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self
            .db
            .range(&driver.from[..]..&driver.to[..])
            .keys()
            .take(ESTIMATE_CAP)
        {
            key?;
            count += 1;
        }
        Ok(count)
    }
}

/// The entries of `prefix` whose id is below `before`.
fn prefix_driver(prefix: Vec<u8>, before: Option<MessageId>) -> Driver {
    let to = match before {
        Some(before) => {
            let mut to = prefix.clone();
            to.extend_from_slice(&before.0.to_be_bytes());
            to
        }
        None => keys::prefix_end(&prefix),
    };
    Driver { from: prefix, to }
}

/// Every condition of `query`, checked on one header.
fn matches(query: &Query, stored: &StoredHeader) -> bool {
    let h = &stored.header;
    query.before.is_none_or(|before| h.id < before)
        && query.from.is_none_or(|from| h.created >= from)
        && query.to.is_none_or(|to| h.created < to)
        && query
            .source
            .as_ref()
            .is_none_or(|source| &h.source == source)
        && query
            .target
            .as_ref()
            .is_none_or(|target| &h.target == target)
        && query.status.is_none_or(|status| h.status == status)
        && query
            .doc_type
            .as_ref()
            .is_none_or(|doc| h.doc_type.as_ref() == Some(doc))
        && query.session.is_none_or(|session| h.session == session)
        && query
            .field
            .as_ref()
            .is_none_or(|field| stored.search.contains(field))
}
