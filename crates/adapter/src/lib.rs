//! The small contract between Ferry's engine and its adapters.
//!
//! An adapter knows its protocol and nothing of queues or the store. A **service** adapter
//! receives from the outside and hands each message to an [`Intake`], which persists it and
//! queues it for the service's targets; it acknowledges its sender only after
//! [`Intake::submit`] returned, because that is when the message is durable. An
//! **operation** adapter delivers one message at a time through [`Operation::deliver`] and
//! says, by the class of its [`DeliveryError`], whether the engine should retry, fail or
//! suspend the message; retry timing belongs to the engine.
//!
//! The engine finds adapters through a [`Registry`] of factories, one per kind name
//! (`file`, `mllp`, …), filled by the `ferry` binary. Building an adapter from its settings
//! is pure (no files, sockets or threads), so `ferry validate` can build every item to check
//! it; I/O starts in [`Service::run`] and [`Operation::start`].

mod actions;
mod folders;
mod inbound;
mod listen;
mod media_type;
mod outbound;
mod registry;
mod report;
mod settings;
mod template;
mod tls;

pub use actions::{Action, ActionKey, ActionSetting, ActionTable, WrittenActions};
pub use folders::{FolderUse, ItemReference, same_folder, within_folder};
pub use inbound::{
    CharsetChoice, DuplicatePolicy, InboundMessage, Intake, IntakeError, InvalidText, Reply,
    ReplyOutcome, Service, ServiceContext, Submitted,
};
pub use listen::{WhileDisabled, announce_listener, bind_listener, serve_connections};
pub use media_type::{HL7_V2_MEDIA_TYPE, MediaType, content_type_for};
pub use outbound::{Delivered, Delivery, DeliveryError, FailureClass, Operation};
pub use registry::{OperationFactory, Registry, ServiceFactory};
pub use report::{EventLog, ReportLevel, Reporter, Trouble};
pub use settings::{
    ServerTlsFiles, charset_choice, choice, connection_limit, duplicate_policy, duration_or,
    invalid_text, positive_duration, positive_size, require_secret_variable, setting_problem,
    tls_identity,
};
pub use template::{MessageTemplate, Placeholder, TemplateError, TemplatePart};
pub use tls::{pem_certificates, pem_private_key, pem_root_store, server_tls_config};

/// Why an adapter stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[error("{item}: {message}")]
pub struct AdapterError {
    /// The item the adapter serves.
    pub item: ferry_message::ItemName,
    /// What went wrong, for a person.
    pub message: String,
}

impl AdapterError {
    /// An error of `item` with a message.
    pub fn new(item: &ferry_message::ItemName, message: impl Into<String>) -> Self {
        AdapterError {
            item: item.clone(),
            message: message.into(),
        }
    }
}
