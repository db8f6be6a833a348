//! The delivery state of a header.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a header is in its life: `Queued → Delivered → Completed`, or one of the
/// held or final states.
///
/// The numeric values are part of the store's on-disk format (status index keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Status {
    /// Waiting in its target's queue.
    Queued = 1,
    /// Taken by a worker of its target (in flight, under a lease).
    Delivered = 2,
    /// Processed or delivered; final.
    Completed = 3,
    /// Failed for good (bad input, permanent refusal, failure timeout); final until resent.
    Error = 4,
    /// Held for a person to resend or discard.
    Suspended = 5,
    /// Dropped on purpose (a rule, or a person); final.
    Discarded = 6,
}

impl Status {
    /// Every status, in their on-disk order.
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Delivered,
        Status::Completed,
        Status::Error,
        Status::Suspended,
        Status::Discarded,
    ];

    /// The byte that stands for this status on disk.
    pub fn as_byte(self) -> u8 {
        self as u8
    }

    /// The status a byte stands for, if any.
    pub fn from_byte(byte: u8) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_byte() == byte)
    }

    /// True when nothing more will happen to the header without a person acting.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Error | Status::Discarded)
    }

    /// The name users see, as in the architecture document.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "Queued",
            Status::Delivered => "Delivered",
            Status::Completed => "Completed",
            Status::Error => "Error",
            Status::Suspended => "Suspended",
            Status::Discarded => "Discarded",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of [`Status::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown status '{0}' (expected Queued, Delivered, Completed, Error, Suspended or Discarded)"
)]
pub struct ParseStatusError(String);

impl FromStr for Status {
    type Err = ParseStatusError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| ParseStatusError(text.to_owned()))
    }
}
