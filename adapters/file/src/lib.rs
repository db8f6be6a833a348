//! Ferry's file adapter.
//!
//! - **Inbound** ([`inbound`]): polls a folder for files matching a glob, takes a file only
//!   once its size and modification time have been stable for a quiet period, splits HL7
//!   files into messages, hands them to the engine in one atomic write, and only when
//!   that write is durable moves the file to the archive folder (or deletes it). Files
//!   that cannot be read, or hold nothing usable, go to the error folder with a reason.
//! - **Outbound** ([`outbound`]): writes each message to a file named from a template,
//!   atomically (a temporary file, synced, then linked into place), never overwriting an
//!   existing file unless told to: a name that exists gets a numbered suffix.

pub mod inbound;
mod moves;
mod names;
pub mod outbound;
mod settings;
mod stability;
mod template;

pub use inbound::FileServiceFactory;
pub use outbound::FileOperationFactory;
