//! MLLP: HL7 v2 over TCP, optionally inside TLS.
//!
//! - [`codec`]: the framing (`<VT>` … `<FS><CR>`) on bytes, with a size limit;
//! - `inbound`: `service: mllp`, a listener that stores each message and answers with an
//!   ACK built by the rules of HL7 v2 chapter 2 once the message is durable (or the reply
//!   of a downstream operation, per the `ack_mode` setting);
//! - `outbound`: `operation: mllp`, a persistent connection that sends one message at a
//!   time, waits for the ACK whose MSA-2 names it and turns the reply into completion,
//!   retry, suspension or error through the `reply_actions` setting;
//! - `tls`: certificates and keys from PEM files for both sides.
//!
//! Settings are documented in `docs/productions.md` and checked in `settings`.

mod answer;
pub mod codec;
mod connection;
mod enhanced;
mod inbound;
mod outbound;
mod receive;
mod reply_actions;
mod settings;
mod tls;

pub use codec::{Framed, MllpCodec, frame};
pub use inbound::MllpServiceFactory;
pub use outbound::MllpOperationFactory;
pub use reply_actions::{ReplyAction, ReplyActions, ReplyKind};
