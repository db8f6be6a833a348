//! Ids and timestamps, handed out together.
//!
//! Every id (message, body, event, queue seq) comes from sled's `generate_id`, which stays
//! monotonic across restarts. A step takes all its ids and its timestamp under one short
//! lock, and the timestamp never goes below the previous step's, so within one run a larger
//! message id never has an earlier `created` time. That keeps the time index in id order,
//! which search paging (`before`) relies on. A clock stepped backwards across a restart can
//! still put later ids at earlier times; only the order of such results is affected.

use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;

use crate::StoreError;
use crate::codec;

/// The source of ids and step timestamps.
#[derive(Debug)]
pub(crate) struct Clock {
    db: sled::Db,
    last_micros: Mutex<i64>,
}

/// The ids and the time of one step.
#[derive(Debug)]
pub(crate) struct Stamp {
    db: sled::Db,
    ids: std::vec::IntoIter<u64>,
    /// When the step happened.
    pub(crate) time: Timestamp,
}

impl Clock {
    /// A clock over `db`'s id generator.
    pub(crate) fn new(db: sled::Db) -> Self {
        Clock {
            db,
            last_micros: Mutex::new(i64::MIN),
        }
    }

    /// `count` fresh ids and a timestamp not before any earlier stamp's.
    pub(crate) fn stamp(&self, count: usize) -> Result<Stamp, StoreError> {
        let mut last = self
            .last_micros
            .lock()
            .unwrap_or_else(PoisonError::into_inner);

        let now = codec::micros(Timestamp::now()).max(*last);
        let ids = (0..count)
            .map(|_| self.db.generate_id())
            .collect::<Result<Vec<_>, _>>()?;
        *last = now;
        drop(last);

        Ok(Stamp {
            db: self.db.clone(),
            ids: ids.into_iter(),
            time: Timestamp::from_microsecond(now).unwrap_or_else(|_| Timestamp::now()),
        })
    }
}

impl Stamp {
    /// The next id of the step.
    ///
    /// A step that asks for more ids than it reserved still gets unique, rising ids, only
    /// without the ordering promise against concurrent steps.
    pub(crate) fn id(&mut self) -> Result<u64, StoreError> {
        match self.ids.next() {
            Some(id) => Ok(id),
            None => Ok(self.db.generate_id()?),
        }
    }

    /// The step's time in stored form.
    pub(crate) fn micros(&self) -> i64 {
        codec::micros(self.time)
    }
}
