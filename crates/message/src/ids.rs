//! Identifier newtypes, so a message id is never mixed up with a body id or a session id.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The id of one header: the one id users see everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub u64);

/// The id of a session: the id of the header that started it (the inbound message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId(pub u64);

/// The id of a stored body; several headers may share one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BodyId(pub u64);

macro_rules! display_as_number {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}
display_as_number!(MessageId, SessionId, BodyId);

impl From<MessageId> for SessionId {
    /// A session is named after the message that started it.
    fn from(id: MessageId) -> Self {
        SessionId(id.0)
    }
}

/// The name of an item of a production, as written in its YAML file.
///
/// Cheap to clone: every header carries two of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemName(Arc<str>);

impl ItemName {
    /// Wraps a name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ItemName(name.into())
    }

    /// The name as written in the production.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ItemName {
    fn from(name: &str) -> Self {
        ItemName::new(name)
    }
}

impl From<String> for ItemName {
    fn from(name: String) -> Self {
        ItemName::new(name)
    }
}
