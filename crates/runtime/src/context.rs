//! What every task of a running production shares.

use std::sync::Arc;

use ferry_hl7::FieldPath;
use ferry_store::Store;
use tokio_util::sync::CancellationToken;

use crate::events::EventSink;
use crate::items::Items;
use crate::reply::ReplyHub;

/// The shared state of a running production.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) items: Items,
    pub(crate) events: EventSink,
    pub(crate) replies: ReplyHub,
    /// HL7 paths indexed for search, from the production's store settings.
    pub(crate) search_fields: Vec<FieldPath>,
    /// Cancelled when the production stops.
    pub(crate) shutdown: CancellationToken,
    /// Why a service stopped on its own (it could not listen, its certificate is
    /// missing): a production with a dead inbound must not look healthy.
    pub(crate) failure: tokio::sync::watch::Sender<Option<String>>,
    /// The adapters, to build a service again when an admin restarts it.
    pub(crate) registry: Arc<ferry_adapter::Registry>,
}
