//! The store's one error type.

use ferry_message::{MessageId, Status};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed to read or write.
    #[error("store database error: {0}")]
    Database(#[from] sled::Error),
    /// A file operation of the durability barrier or of opening the store failed.
    #[error("store file error ({context}): {source}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be decoded (corruption, or a newer format version).
    #[error("corrupt store record {key}: {reason}")]
    Corrupt {
        /// The key, printed for a person.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds the store (a running `ferry`).
    #[error("the store at {} is in use by another process", path.display())]
    InUse {
        /// The store folder.
        path: std::path::PathBuf,
    },
    /// No message with that id.
    #[error("no message {0}")]
    NotFound(MessageId),
    /// The message is not in a state that allows the action.
    #[error("message {id} is {status}: cannot {action}{}", wrong_state_hint(*status))]
    WrongState {
        /// The message.
        id: MessageId,
        /// Its current status.
        status: Status,
        /// What was asked.
        action: &'static str,
    },
    /// The lease was already finished or released (a bug in the caller).
    #[error("message {0} is not leased")]
    NotLeased(MessageId),
    /// The store's barrier task has stopped (the store is closing).
    #[error("the store is closed")]
    Closed,
    /// A test hook made this write fail.
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// What a person can do about a message in `status` that refused an action.
fn wrong_state_hint(status: Status) -> &'static str {
    match status {
        Status::Delivered => {
            " while a worker holds it (it is being delivered or retried); disable its item \
             to return it to the queue first"
        }
        _ => "",
    }
}

impl StoreError {
    /// True when trying the same call again later may succeed (I/O trouble, a full disk),
    /// false for a wrong request or a corrupt record.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sled::Error::Io(_))
                | StoreError::Io { .. }
                | StoreError::Injected(_)
        )
    }
}
