//! HL7 v2 structure for Ferry: what the engine needs to know about a message's bytes.
//!
//! The steps, in the order the engine takes them:
//! 1. [`split`]: cut a file's bytes into messages (terminators, BOM, FHS/BHS batches, junk
//!    between messages), on bytes;
//! 2. [`scan`]: read the delimiters and routing fields of MSH (MSH-9, MSH-10, MSH-18, ...)
//!    from raw bytes, so a message can be indexed and answered with a NAK even when the
//!    full parse fails;
//! 3. [`charset`]: decode the whole message once, with the character set MSH-18 names;
//! 4. [`message`]: cut the text into segments, and read values by [`FieldPath`] as
//!    [`FieldValue`]s, splitting only the segment a path names, with [`escape`] and
//!    [`unescape`] ([`escaping`]) for escape sequences;
//! 5. [`ack`]: answer the message with [`build_ack`] (AA/AE/AR, CA/CE/CR, an ERR segment for
//!    a NAK), from the scanned header alone, or from nothing when even that failed;
//!    [`RequestedAcks`] says whether the sender asked for original or enhanced mode.
//!
//! Going the other way, [`write`](mod@write) builds messages ([`MessageWriter`]: every
//! value escaped, every segment ended by CR), and [`reply`] reads the acknowledgement a
//! receiving system sent for one of Ferry's messages ([`read_ack`]).
//!
//! No function of this crate panics on any input bytes; faults are values ([`ScanError`],
//! [`ParseError`], [`Piece::Rejected`], [`SplitWarning`], [`AckReadError`]) with a byte
//! offset or what was found, and a reason.
//!
//! ```
//! use ferry_hl7::{FieldPath, FieldValue, Hl7Message, SplitOptions, decode, scan_header,
//!     split_messages};
//!
//! let file = b"MSH|^~\\&|LAB|HOSP|FERRY|HUB|20240101120000||ORU^R01|MSG1|P|2.5.1\r\n\
//!     PID|1||42\r\n";
//! let split = split_messages(file, &SplitOptions::default());
//! let bytes = &split.messages().next().unwrap().bytes;
//!
//! let header = scan_header(bytes)?;
//! assert_eq!(header.doc_type().as_deref(), Some("ORU^R01"));
//!
//! let charset = header.character_set();
//! let decoded = decode(bytes, Some(&charset), ferry_hl7::encoding_rs::UTF_8);
//! let message = Hl7Message::parse(&decoded.text)?;
//! let patient_id = FieldPath::parse("PID-3.1")?;
//! assert_eq!(message.get(&patient_id), FieldValue::Text("42".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Acknowledging it, and reading the acknowledgement back as a sender would:
//!
//! ```
//! use ferry_hl7::{AckCode, AckOptions, build_ack, read_ack, scan_header};
//!
//! let inbound = b"MSH|^~\\&|LAB|HOSP|FERRY|HUB|20240101120000||ORU^R01|MSG1|P|2.5.1\r";
//! let header = scan_header(inbound)?;
//! let options = AckOptions {
//!     control_id: "ACK1",
//!     timestamp: "20240101120001",
//!     local_application: None,
//!     local_facility: None,
//! };
//! let ack = build_ack(Some(&header), AckCode::AA, None, None, &options);
//! assert_eq!(
//!     ack,
//!     b"MSH|^~\\&|FERRY|HUB|LAB|HOSP|20240101120001||ACK^R01^ACK|ACK1|P|2.5.1\rMSA|AA|MSG1\r"
//! );
//!
//! let reply = read_ack(&ack)?;
//! assert_eq!((reply.code, reply.control_id.as_str()), (AckCode::AA, "MSG1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod ack;
pub mod charset;
pub mod escaping;
mod lines;
pub mod message;
pub mod path;
pub mod reply;
pub mod scan;
pub mod split;
mod value;
pub mod write;

pub use ack::{
    AckCode, AckCondition, AckError, AckOptions, ErrorLocation, RequestedAcks, Severity, build_ack,
    hl7_timestamp, missing_header_field, table_0357_text,
};
pub use charset::{Decoded, decode, encoding_for_msh18};
/// The encodings [`decode`] takes and returns, so callers need no own dependency on it.
pub use encoding_rs;
pub use escaping::{Unescaped, escape, unescape};
pub use message::{Hl7Message, ParseError};
pub use path::{FieldPath, PathError};
pub use reply::{AckReadError, AckReply, read_ack};
pub use scan::{Delimiters, MshHeader, ScanError, scan_header};
pub use split::{
    Envelope, EnvelopeKind, MessageBytes, Piece, Split, SplitOptions, SplitWarning, split_messages,
};
pub use value::FieldValue;
pub use write::{MessageWriter, SegmentWriter};
