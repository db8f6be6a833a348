//! What the engine reads from an inbound message before storing it: whether it is usable,
//! its document type, its search field values, the charset of its text and the key that
//! duplicate detection compares.
//!
//! For HL7 v2 the MSH pre-scan runs on the raw bytes first, so even a message whose full
//! parse fails is stored with a precise reason. Text is decoded once per message, by the
//! service's charset choice; the stored body keeps the original bytes.
//!
//! An XML or JSON body is checked once here, so a rule never meets a broken one unawares:
//! one that is not well-formed is rejected with what is wrong and where, and is stored
//! with status Error like any rejected message. XML is decoded by its byte order mark or
//! declared encoding (else UTF-8), whatever the service's charset says, since the document
//! itself is the authority on its encoding; JSON is UTF-8 (RFC 8259). Document types:
//!
//! - XML: the root element's local name (`ClinicalDocument`); for a SOAP 1.1 or 1.2
//!   envelope, the local name of the first element in its Body (`SubmitResult`, or
//!   `Fault`), since every SOAP message has the same root; `Envelope` when the Body is
//!   empty.
//! - JSON: a top-level string `resourceType` (FHIR: `Patient`), else a top-level string
//!   `@odata.type` (Dataverse: `Microsoft.Dynamics.CRM.contact`, its leading `#` left
//!   out); none otherwise.

use std::borrow::Cow;

use encoding_rs::Encoding;
use ferry_adapter::{CharsetChoice, InboundMessage, InvalidText};
use ferry_hl7::{FieldPath, FieldValue, Hl7Message, MshHeader};
use ferry_message::{ContentKind, ItemName};
use ferry_store::SearchValue;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;
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

/// The longest property value kept; longer ones are cut (on a character boundary).
const PROPERTY_LIMIT: usize = 512;

/// Inspects `message` as received by `source`, indexing `search_fields`, its origin and
/// its properties.
pub(crate) fn inspect(
    message: &InboundMessage,
    source: &ItemName,
    search_fields: &[FieldPath],
) -> Inspection {
    let mut inspection = inspect_content(message, source, search_fields);
    let origin = message
        .origin
        .iter()
        .map(|origin| ("origin", origin.as_str()));
    let properties = message
        .properties
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (field, value) in origin.chain(properties) {
        inspection.search.push(SearchValue {
            field: field.to_owned(),
            value: cut(value, PROPERTY_LIMIT).to_owned(),
        });
    }
    inspection
}

/// `text` up to `limit` bytes, ending on a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What the content of `message` says about it.
fn inspect_content(
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
    } else if matches!(message.kind, ContentKind::Xml | ContentKind::Json) {
        let facts = if message.kind == ContentKind::Xml {
            xml_facts(&message.bytes)
        } else {
            json_facts(&message.bytes)
        };
        let (doc_type, rejected) = match facts {
            Ok(doc_type) => (doc_type, None),
            Err(reason) => (None, Some(reason)),
        };
        Inspection {
            doc_type,
            rejected,
            duplicate_key: Some(duplicate_key(source, &[], &message.bytes)),
            ..Inspection::default()
        }
    } else if message.kind == ContentKind::Text {
        inspect_text(message, source)
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

/// Plain text is checked against its charset (the sender's declared one, else the
/// service's) like HL7 is, so `invalid_charset: reject` means the same for every kind.
fn inspect_text(message: &InboundMessage, source: &ItemName) -> Inspection {
    let encoding = match message.charset {
        CharsetChoice::Forced(encoding) | CharsetChoice::Declared { default: encoding } => encoding,
    };
    let mut inspection = Inspection {
        charset: Some(encoding.name().to_owned()),
        duplicate_key: Some(duplicate_key(source, &[], &message.bytes)),
        ..Inspection::default()
    };

    let (_, had_errors) = encoding.decode_without_bom_handling(&message.bytes);
    if had_errors && message.invalid_text == InvalidText::Reject {
        inspection.rejected = Some(format!("bytes not valid in {}", encoding.name()));
    } else if had_errors {
        inspection.warnings.push(format!(
            "bytes not valid in {}: decoded with replacement characters for rules and \
             display (the stored body keeps the original bytes)",
            encoding.name()
        ));
    }
    inspection
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

/// The document type of a well-formed XML body, or why the body is not well-formed.
///
/// Besides what quick-xml checks (tag syntax, matching end tags), this requires exactly
/// one root element, no text outside it, well-formed attributes without duplicates, and
/// only predefined entities and valid character references unless a DOCTYPE may declare
/// more.
fn xml_facts(bytes: &[u8]) -> Result<Option<String>, String> {
    let text =
        ferry_rules::xml_text(bytes).map_err(|error| format!("not well-formed XML: {error}"))?;
    let bom = match &text {
        Cow::Borrowed(own) => Some(bytes.len() - own.len()),
        Cow::Owned(_) => None,
    };
    let mut reader = Reader::from_str(&text);
    let mut walk = XmlWalk::default();
    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = reader.error_position();
                return Err(xml_error(&text, bom, at, &error.to_string()));
            }
        };
        let checked = match event {
            Event::Start(start) => walk.start(&start, true),
            Event::Empty(start) => walk.start(&start, false),
            Event::End(_) => walk.end(),
            Event::Text(text) if walk.depth == 0 && !is_xml_space(&text) => {
                Err("text outside the root element".to_owned())
            }
            Event::CData(_) if walk.depth == 0 => Err("CDATA outside the root element".to_owned()),
            Event::GeneralRef(reference) => walk.reference(&reference),
            Event::DocType(_) => {
                walk.doctype = true;
                Ok(())
            }
            Event::Eof => {
                let end = u64::try_from(text.len()).unwrap_or(u64::MAX);
                return walk
                    .finish()
                    .map_err(|what| xml_error(&text, bom, end, &what));
            }
            Event::Text(_)
            | Event::CData(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_) => Ok(()),
        };
        checked.map_err(|what| xml_error(&text, bom, at, &what))?;
    }
}

const SOAP_NAMESPACES: [&str; 2] = [
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
];

/// What [`xml_facts`] has seen so far.
#[derive(Default)]
struct XmlWalk {
    /// Open elements.
    depth: usize,
    root: Option<String>,
    soap: bool,
    in_soap_body: bool,
    body_child: Option<String>,
    doctype: bool,
}

impl XmlWalk {
    fn start(&mut self, start: &BytesStart<'_>, has_content: bool) -> Result<(), String> {
        let name = start.local_name().as_ref().to_owned();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| format!("bad attribute: {error}"))?;
            attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|error| format!("bad attribute value: {error}"))?;
        }

        match self.depth {
            0 if self.root.is_some() => return Err(format!("a second root element <{name}>")),
            0 => {
                self.soap = name == "Envelope" && binds_soap(start);
                self.root = Some(name);
            }
            1 if self.soap && name == "Body" => self.in_soap_body = has_content,
            2 if self.in_soap_body && self.body_child.is_none() => self.body_child = Some(name),
            _ => {}
        }
        self.depth += usize::from(has_content);
        Ok(())
    }

    fn end(&mut self) -> Result<(), String> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 1 {
            self.in_soap_body = false;
        }
        Ok(())
    }

    fn reference(&self, reference: &BytesRef<'_>) -> Result<(), String> {
        let name: &str = reference;
        if self.depth == 0 {
            return Err(format!("reference &{name}; outside the root element"));
        }
        if reference.is_char_ref() {
            return match reference.resolve_char_ref() {
                Ok(Some(_)) => Ok(()),
                _ => Err(format!("bad character reference &{name};")),
            };
        }
        if matches!(name, "lt" | "gt" | "amp" | "apos" | "quot") || self.doctype {
            return Ok(());
        }
        Err(format!("undeclared entity &{name};"))
    }

    fn finish(self) -> Result<Option<String>, String> {
        let Some(root) = self.root else {
            return Err("no root element".to_owned());
        };
        if self.depth > 0 {
            return Err(format!(
                "unexpected end of input, {} element(s) not closed",
                self.depth
            ));
        }
        if self.soap {
            return Ok(Some(self.body_child.unwrap_or(root)));
        }
        Ok(Some(root))
    }
}

/// Whether the root element's own prefix is bound, on the root, to a SOAP namespace.
fn binds_soap(root: &BytesStart<'_>) -> bool {
    let prefix = root
        .name()
        .prefix()
        .map(|prefix| prefix.as_ref().to_owned());
    root.attributes().flatten().any(|attribute| {
        let binds = match attribute.key.as_namespace_binding() {
            Some(quick_xml::name::PrefixDeclaration::Default) => prefix.is_none(),
            Some(quick_xml::name::PrefixDeclaration::Named(name)) => {
                prefix.as_deref() == Some(name)
            }
            None => false,
        };
        binds && SOAP_NAMESPACES.contains(&attribute.value.as_ref())
    })
}

fn is_xml_space(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// `not well-formed XML: {what} at byte N (line L, column C)`. The byte is given only when
/// `text` is the body's own UTF-8 bytes after a BOM of `bom` bytes (`Some(bom)`), where it
/// points into what the sender sent; a transcoded text gives line and column alone.
fn xml_error(text: &str, bom: Option<usize>, at: u64, what: &str) -> String {
    let at = usize::try_from(at).unwrap_or(usize::MAX).min(text.len());
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    match bom {
        Some(bom) => format!(
            "not well-formed XML: {what} at byte {} (line {line}, column {column})",
            at + bom
        ),
        None => format!("not well-formed XML: {what} at line {line}, column {column}"),
    }
}

/// The document type of a valid JSON body, or why it is not valid.
fn json_facts(bytes: &[u8]) -> Result<Option<String>, String> {
    let bytes = without_bom(bytes);
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| format!("not valid JSON: {error}"))?;
    let named = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(|name| name.trim_start_matches('#'))
            .filter(|name| !name.is_empty())
    };
    Ok(named("resourceType")
        .or_else(|| named("@odata.type"))
        .map(str::to_owned))
}

/// JSON without a UTF-8 byte order mark: RFC 8259 lets a receiver ignore one, and some
/// Windows tools write it.
pub(crate) fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn inspected(kind: ContentKind, body: &[u8]) -> Inspection {
        let message = InboundMessage::new(kind, Bytes::copy_from_slice(body));
        inspect(&message, &ItemName::new("In"), &[])
    }

    fn rejected(kind: ContentKind, body: &[u8]) -> String {
        let inspection = inspected(kind, body);
        inspection
            .rejected
            .unwrap_or_else(|| panic!("{body:?} was accepted"))
    }

    #[test]
    fn xml_that_is_not_well_formed_is_rejected_with_what_and_where() {
        let cases: [(&[u8], &str); 11] = [
            (
                b"<a><b></b>",
                "unexpected end of input, 1 element(s) not closed at byte 10 (line 1, column 11)",
            ),
            (
                b"<a>\n  <b></c></a>",
                "expected `</b>`, but `</c>` was found at byte 9 (line 2, column 6)",
            ),
            (
                b"<a",
                "tag not closed: `>` not found before end of input at byte 0 (line 1, column 1)",
            ),
            (
                b"<a/><b/>",
                "a second root element <b> at byte 4 (line 1, column 5)",
            ),
            (
                b"hello <a/>",
                "text outside the root element at byte 0 (line 1, column 1)",
            ),
            (
                b"<a/>junk",
                "text outside the root element at byte 4 (line 1, column 5)",
            ),
            (b"<a x='1' x='2'/>", "bad attribute: "),
            (
                b"<a>&nbsp;</a>",
                "undeclared entity &nbsp; at byte 3 (line 1, column 4)",
            ),
            (b"<a>&#0;</a>", "bad character reference &#0; at byte 3"),
            (b"", "no root element at byte 0 (line 1, column 1)"),
            (b"<a>\xff</a>", "bytes not valid UTF-8 at byte 3"),
        ];
        for (body, reason) in cases {
            let said = rejected(ContentKind::Xml, body);
            assert!(said.starts_with("not well-formed XML: "), "{said}");
            assert!(said.contains(reason), "{body:?}: {said}");
        }
    }

    #[test]
    fn xml_positions_count_lines_and_characters_in_the_decoded_text() {
        let latin = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<a>\xfc\xfc</b>";
        let said = rejected(ContentKind::Xml, latin);
        assert!(said.ends_with("was found at line 2, column 6"), "{said}");
        let said = rejected(ContentKind::Xml, b"\xEF\xBB\xBF<a>");
        assert!(said.ends_with("at byte 6 (line 1, column 4)"), "{said}");
    }

    #[test]
    fn xml_doc_types_name_the_root_or_the_soap_body() {
        let cda = br#"<?xml version="1.0"?><!-- header --><cda:ClinicalDocument
            xmlns:cda="urn:hl7-org:v3"><cda:id root="1.2" extension="x"/></cda:ClinicalDocument>"#;
        let soap12 = br#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
            <env:Header><a:To xmlns:a="urn:a">x</a:To></env:Header>
            <env:Body><m:GetPatient xmlns:m="urn:m"><m:Id>7</m:Id></m:GetPatient></env:Body>
            </env:Envelope>"#;
        let soap11_fault = br#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">
            <Body><Fault><faultcode>Client</faultcode></Fault></Body></Envelope>"#;
        let empty_body = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
            <s:Body/></s:Envelope>"#;
        let not_soap =
            br#"<x:Envelope xmlns:x="urn:mail"><x:Body><x:Letter/></x:Body></x:Envelope>"#;
        let cases: [(&[u8], &str); 5] = [
            (cda, "ClinicalDocument"),
            (soap12, "GetPatient"),
            (soap11_fault, "Fault"),
            (empty_body, "Envelope"),
            (not_soap, "Envelope"),
        ];
        for (body, doc_type) in cases {
            let inspection = inspected(ContentKind::Xml, body);
            assert_eq!(inspection.rejected, None);
            assert_eq!(inspection.doc_type.as_deref(), Some(doc_type));
            assert!(inspection.duplicate_key.is_some());
        }
    }

    #[test]
    fn json_that_is_not_valid_is_rejected_with_serde_jsons_position() {
        let said = rejected(ContentKind::Json, br#"{"a": [1,"#);
        assert_eq!(
            said,
            "not valid JSON: EOF while parsing a value at line 1 column 9"
        );
        let said = rejected(ContentKind::Json, b"{\n  \"a\": tru }");
        assert_eq!(said, "not valid JSON: expected ident at line 2 column 11");
        let said = rejected(ContentKind::Json, b"{} {}");
        assert_eq!(
            said,
            "not valid JSON: trailing characters at line 1 column 4"
        );
        let deep = "[".repeat(10_000);
        assert!(rejected(ContentKind::Json, deep.as_bytes()).starts_with("not valid JSON: "));
    }

    #[test]
    fn json_with_a_byte_order_mark_is_read_without_it() {
        let inspection = inspected(
            ContentKind::Json,
            b"\xEF\xBB\xBF{\"resourceType\": \"Patient\"}",
        );
        assert_eq!(inspection.rejected, None);
        assert_eq!(inspection.doc_type.as_deref(), Some("Patient"));
    }

    #[test]
    fn text_is_checked_against_its_charset_like_hl7() {
        let mut message = InboundMessage::new(ContentKind::Text, &b"caf\xff"[..]);
        message.invalid_text = InvalidText::Reject;
        let inspection = inspect(&message, &ItemName::new("In"), &[]);
        assert_eq!(
            inspection.rejected.as_deref(),
            Some("bytes not valid in UTF-8")
        );

        message.invalid_text = InvalidText::Replace;
        let inspection = inspect(&message, &ItemName::new("In"), &[]);
        assert_eq!(inspection.rejected, None);
        assert_eq!(inspection.warnings.len(), 1);

        message.charset = CharsetChoice::Forced(encoding_rs::WINDOWS_1252);
        message.invalid_text = InvalidText::Reject;
        let inspection = inspect(&message, &ItemName::new("In"), &[]);
        assert_eq!(
            inspection.rejected, None,
            "every byte is a character in windows-1252"
        );
        assert_eq!(inspection.charset.as_deref(), Some("windows-1252"));
    }

    #[test]
    fn json_doc_types_come_from_resource_type_or_odata_type() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (
                br#"{"resourceType": "Patient", "id": "p1"}"#,
                Some("Patient"),
            ),
            (
                br##"{"@odata.type": "#Microsoft.Dynamics.CRM.contact", "contactid": "c1"}"##,
                Some("Microsoft.Dynamics.CRM.contact"),
            ),
            (
                br##"{"@odata.context": "x#contacts/$entity", "firstname": "Nora"}"##,
                None,
            ),
            (br#"{"resourceType": 5}"#, None),
            (br#"["resourceType"]"#, None),
        ];
        for (body, doc_type) in cases {
            let inspection = inspected(ContentKind::Json, body);
            assert_eq!(inspection.rejected, None);
            assert_eq!(inspection.doc_type.as_deref(), doc_type);
        }
    }

    #[test]
    fn text_and_binary_bodies_are_not_checked() {
        for kind in [ContentKind::Text, ContentKind::Binary] {
            let inspection = inspected(kind, b"<a>{");
            assert_eq!(inspection.rejected, None);
            assert_eq!(inspection.doc_type, None);
        }
    }

    const PIECES: [&str; 16] = [
        "<a>",
        "</a>",
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'>",
        "<s:Body>",
        "</s:Body>",
        "</s:Envelope>",
        "<b k='1' k='2'/>",
        "&amp;",
        "&x;",
        "&#0;",
        "<!DOCTYPE a>",
        "<![CDATA[x]]>",
        "text",
        "{\"resourceType\": \"P\"}",
        "\u{fc}",
        "\n",
    ];

    proptest::proptest! {
        #[test]
        fn inspecting_any_xml_or_json_body_never_panics(
            pieces in proptest::collection::vec(proptest::sample::select(&PIECES[..]), 0..20),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..32),
        ) {
            for body in [pieces.concat().into_bytes(), noise.clone()] {
                for kind in [ContentKind::Xml, ContentKind::Json] {
                    let inspection = inspected(kind, &body);
                    proptest::prop_assert!(
                        inspection.rejected.is_some() || kind == ContentKind::Json
                            || inspection.doc_type.is_some(),
                        "well-formed XML always has a root, so a document type"
                    );
                }
            }
        }
    }
}
