//! Ferry's message model.
//!
//! A message is an immutable [`Header`] plus a [`Body`]. Every hop through a production
//! creates a new header; a body is stored once and shared by every header that carries it
//! unchanged. The header id ([`MessageId`], sled's monotonic `u64`) is the one id users see
//! in logs, the store, the admin API and the UI.
//!
//! Headers change only in their delivery state (`status`, `attempts`, `reason`,
//! `response`, `updated`); everything else is fixed when the header is written.

mod body;
mod header;
mod ids;
mod status;

pub use body::{Body, ContentKind, NewBody};
pub use header::Header;
pub use ids::{BodyId, ItemName, MessageId, SessionId};
pub use status::{ParseStatusError, Status};
