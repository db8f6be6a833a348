//! What the engine reads from an inbound message before storing it: whether it is usable,
//! its document type, its search field values, the charset of its text and the key that
//! duplicate detection compares.
//!
//! For HL7 v2 the MSH pre-scan runs on the raw bytes first, so even a message whose full
//! parse fails is stored with a precise reason. Text is decoded once per message, by the
//! service's charset choice; the stored body keeps the original bytes.

use std::borrow::Cow;

use encoding_rs::Encoding;
use ferry_adapter::{CharsetChoice, InboundMessage, InvalidText};
use ferry_hl7::{FieldPath, FieldValue, Hl7Message, MshHeader};
use ferry_message::{ContentKind, ItemName};
use ferry_store::SearchValue;
use xxhash_rust::xxh3::Xxh3;

/// The result of inspecting one inbound message.
#[derive(Debug, Default)]
pub(crate) struct Inspection {
    /// Where the message came from (a file and offset, a peer), for event texts.
    pub(crate) origin: Option<String>,
    pub(crate) doc_type: Option<String>,
    pub(crate) search: Vec<SearchValue>,
    /// The encoding_rs name of the charset the text was decoded with.
    pub(crate) charset: Option<String>,
    pub(crate) duplicate_key: Option<[u8; 16]>,
    /// Problems that do not stop the message.
    pub(crate) warnings: Vec<String>,
    /// Why the message cannot be used, when it cannot.
    pub(crate) rejected: Option<String>,
}

/// Inspects `message` as received by `source`, indexing `search_fields`.
pub(crate) fn inspect(
    message: &InboundMessage,
    source: &ItemName,
    search_fields: &[FieldPath],
) -> Inspection {
    let inspection = if let Some(reason) = &message.rejected {
        Inspection {
            rejected: Some(reason.clone()),
            ..Inspection::default()
        }
    } else if message.kind == ContentKind::Hl7v2 {
        inspect_hl7(message, source, search_fields)
    } else {
        Inspection {
            duplicate_key: Some(duplicate_key(source, &[], &message.bytes)),
            ..Inspection::default()
        }
    };
    Inspection {
        origin: message.origin.clone(),
        ..inspection
    }
}

fn inspect_hl7(message: &InboundMessage, source: &ItemName, fields: &[FieldPath]) -> Inspection {
    let bytes = &message.bytes;
    let header = match ferry_hl7::scan_header(bytes) {
        Ok(header) => header,
        Err(error) => {
            return Inspection {
                rejected: Some(format!("not a usable HL7 v2 message: {error}")),
                ..Inspection::default()
            };
        }
    };

    let mut inspection = Inspection {
        doc_type: header.doc_type(),
        duplicate_key: Some(duplicate_key(source, &sender_identity(&header), bytes)),
        ..Inspection::default()
    };
    let encoding = choose_encoding(&header, message.charset, &mut inspection.warnings);
    inspection.charset = Some(encoding.name().to_owned());

    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors && message.invalid_text == InvalidText::Reject {
        inspection.rejected = Some(format!(
            "bytes not valid in {} ({})",
            encoding.name(),
            charset_source(&header, message.charset)
        ));
        return inspection;
    }
    if had_errors {
        inspection.warnings.push(format!(
            "bytes not valid in {}: decoded with replacement characters for rules and \
             display (the stored body keeps the original bytes)",
            encoding.name()
        ));
    }

    match Hl7Message::parse(&text) {
        Ok(parsed) => inspection.search = search_values(&parsed, fields),
        Err(error) => inspection.rejected = Some(format!("HL7 v2 parse failed: {error}")),
    }
    inspection
}

/// MSH-3, MSH-4 and MSH-10: who sent the message and what they called it.
fn sender_identity(header: &MshHeader) -> Vec<u8> {
    let mut identity = Vec::new();
    for field in [
        header.sending_application(),
        header.sending_facility(),
        header.control_id(),
    ] {
        identity.extend_from_slice(field.as_bytes());
        identity.push(0);
    }
    identity
}

/// The charset to decode with: forced by the service, else declared in MSH-18, else the
/// service's default. An MSH-18 Ferry does not know falls back to the default, with a
/// warning rather than a rejection.
fn choose_encoding(
    header: &MshHeader,
    choice: CharsetChoice,
    warnings: &mut Vec<String>,
) -> &'static Encoding {
    let default = match choice {
        CharsetChoice::Forced(encoding) => return encoding,
        CharsetChoice::Declared { default } => default,
    };

    let declared = header.character_set();
    let declared = declared.trim();
    if declared.is_empty() {
        return default;
    }
    ferry_hl7::encoding_for_msh18(declared).unwrap_or_else(|| {
        warnings.push(format!(
            "unknown character set '{declared}' in MSH-18: decoded as {}",
            default.name()
        ));
        default
    })
}

/// Where the charset a message was decoded with came from, for a rejection's reason.
fn charset_source(header: &MshHeader, choice: CharsetChoice) -> String {
    let declared = header.character_set();
    let declared = declared.trim();
    match choice {
        CharsetChoice::Forced(_) => "forced by the service's settings".to_owned(),
        CharsetChoice::Declared { .. } if declared.is_empty() => {
            "MSH-18 empty, the service's default".to_owned()
        }
        CharsetChoice::Declared { .. } if ferry_hl7::encoding_for_msh18(declared).is_some() => {
            format!("MSH-18 '{declared}'")
        }
        CharsetChoice::Declared { .. } => format!(
            "MSH-18 '{declared}' is not a charset Ferry knows, so the service's default was used"
        ),
    }
}

fn search_values(message: &Hl7Message<'_>, fields: &[FieldPath]) -> Vec<SearchValue> {
    fields
        .iter()
        .filter_map(|path| match message.get(path) {
            FieldValue::Text(value) => Some(SearchValue {
                field: path.to_string(),
                value: value.into_owned(),
            }),
            FieldValue::Missing | FieldValue::Null => None,
        })
        .collect()
}

/// Same source, same sender identity, same bytes: the same message.
fn duplicate_key(source: &ItemName, identity: &[u8], bytes: &[u8]) -> [u8; 16] {
    let mut hasher = Xxh3::new();
    hasher.update(source.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(identity);
    hasher.update(bytes);
    hasher.digest128().to_be_bytes()
}

/// Decodes a stored body's text with the charset it was stored with.
pub(crate) fn body_text<'a>(bytes: &'a [u8], charset: Option<&str>) -> Cow<'a, str> {
    let encoding = charset
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_without_bom_handling(bytes).0
}
