//! Message bodies: the original bytes and what kind of content they are.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::BodyId;

/// What a body holds. Decides how rules read it and how the UI shows it.
///
/// The numeric values are part of the store's on-disk format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum ContentKind {
    /// HL7 v2 (ER7, pipe and hat).
    Hl7v2 = 1,
    /// XML.
    Xml = 2,
    /// JSON.
    Json = 3,
    /// Plain text.
    Text = 4,
    /// Anything else, kept as bytes.
    Binary = 5,
}

impl ContentKind {
    /// The name used in productions and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Hl7v2 => "hl7v2",
            ContentKind::Xml => "xml",
            ContentKind::Json => "json",
            ContentKind::Text => "text",
            ContentKind::Binary => "binary",
        }
    }

    /// The kind a production names, if any.
    pub fn from_name(name: &str) -> Option<ContentKind> {
        [
            ContentKind::Hl7v2,
            ContentKind::Xml,
            ContentKind::Json,
            ContentKind::Text,
            ContentKind::Binary,
        ]
        .into_iter()
        .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ContentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A body about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBody {
    /// What the bytes are.
    pub kind: ContentKind,
    /// The character set the text is in (an encoding_rs label such as `UTF-8` or
    /// `ISO-8859-1`), when the body is text and the charset is known.
    pub charset: Option<String>,
    /// The bytes exactly as received (after the inbound's documented normalisation).
    pub bytes: Bytes,
}

impl NewBody {
    /// A body of `kind` with no declared charset.
    pub fn new(kind: ContentKind, bytes: impl Into<Bytes>) -> Self {
        NewBody {
            kind,
            charset: None,
            bytes: bytes.into(),
        }
    }
}

/// A stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Its id in the store.
    pub id: BodyId,
    /// What the bytes are.
    pub kind: ContentKind,
    /// The character set of the text, when known (see [`NewBody::charset`]).
    pub charset: Option<String>,
    /// The stored bytes.
    pub bytes: Bytes,
}
