//! XML paths: the `xml:/…` operands, and the text of an XML body they are read from.
//!
//! The subset is what routing needs from a CDA header or a SOAP envelope, read with
//! quick-xml's pull reader and no document tree:
//!
//! ```text
//! xml-path = "xml:" step { step } [ "/@" name | "/text()" ]
//! step     = "/" ( name | "*" ) [ "[" n "]" ]        n = 1, 2, …
//! ```
//!
//! Element and attribute names match by local name: the author writes
//! `/ClinicalDocument/id/@extension` whatever prefix the sender bound the HL7 v3
//! namespace to, because prefixes are the sender's choice and routing rules must not break
//! when a sender changes them. `[n]` picks the n-th matching child of each matching parent,
//! as in XPath; without it any child of that name may match. The first match in document
//! order wins, as a repeated HL7 v2 field reads its first repetition.
//!
//! What a path reads: an attribute's value (entities decoded); an element's text, which is
//! all the text inside it, that of child elements included, in document order, entities
//! decoded and CDATA sections included, trimmed of surrounding XML white space (so an
//! element holding only child elements and indentation reads as empty text); an element
//! marked `xsi:nil="true"` reads as null; no match reads as missing.
//!
//! Invariants: an [`XmlPath`] is parsed once, when its condition compiles, and has at most
//! [`MAX_STEPS`] element steps, so reading keeps its per-step counters on the stack and
//! allocates only the text it returns; reading never panics, whatever the text.

use std::borrow::Cow;
use std::fmt;

use encoding_rs::Encoding;
use ferry_hl7::FieldValue;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// How many element steps one path may have: deeper than any real CDA header path, and
/// small enough to keep the sibling counters of a read on the stack.
pub(crate) const MAX_STEPS: usize = 32;

/// A compiled XML path such as `/ClinicalDocument/recordTarget/patientRole/id/@extension`.
///
/// `Display` writes the canonical form, without the `xml:` prefix: `text()` is left out,
/// since a path to an element reads its text anyway.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XmlPath {
    steps: Vec<Step>,
    target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Step {
    /// The local name to match; `None` for `*`.
    name: Option<String>,
    /// The 1-based position among the parent's children that match `name`.
    index: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    /// The text of the element the last step matches.
    Text,
    /// The attribute with this local name on that element.
    Attribute(String),
}

/// A mistake in an XML path: where it is (bytes from the start of the path text), what is
/// wrong and, where obvious, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathSyntaxError {
    pub(crate) offset: usize,
    pub(crate) len: usize,
    pub(crate) reason: String,
    pub(crate) hint: Option<&'static str>,
}

impl PathSyntaxError {
    fn new(offset: usize, len: usize, reason: impl Into<String>) -> PathSyntaxError {
        PathSyntaxError {
            offset,
            len,
            reason: reason.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: &'static str) -> PathSyntaxError {
        self.hint = Some(hint);
        self
    }
}

impl XmlPath {
    /// Parses the text after `xml:`, such as `/ClinicalDocument/id/@root`.
    ///
    /// # Errors
    ///
    /// A [`PathSyntaxError`] at the first mistake: a path that is not absolute, an empty
    /// step, `//`, a namespace prefix, a bad name, an index that is not a positive number,
    /// anything after `@name` or `text()`, more than [`MAX_STEPS`] steps.
    pub(crate) fn parse(text: &str) -> Result<XmlPath, PathSyntaxError> {
        if !text.starts_with('/') {
            return Err(
                PathSyntaxError::new(0, text.len(), "an XML path starts with /")
                    .hint("write the path from the root element: xml:/ClinicalDocument/id/@root"),
            );
        }

        let mut steps = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let start = at + 1;
            let end = text[start..]
                .find('/')
                .map_or(text.len(), |slash| start + slash);
            let part = &text[start..end];

            if let Some(target) = final_target(part, start, end == text.len())? {
                if steps.is_empty() {
                    return Err(
                        PathSyntaxError::new(start, part.len(), "no element before it")
                            .hint("name the elements from the root first: xml:/root/@attribute"),
                    );
                }
                return Ok(XmlPath { steps, target });
            }
            if steps.len() == MAX_STEPS {
                return Err(PathSyntaxError::new(
                    start,
                    text.len() - start,
                    format!("more than {MAX_STEPS} steps"),
                ));
            }
            steps.push(step(part, start)?);
            at = end;
        }
        Ok(XmlPath {
            steps,
            target: Target::Text,
        })
    }

    /// The value at this path in `xml`, the text of a whole document (see [`xml_text`]).
    ///
    /// Scans from the start and stops at the first match. A document that is not
    /// well-formed is read up to its first error: what matched before it counts, the rest
    /// reads as missing.
    pub fn read<'d>(&self, xml: &'d str) -> FieldValue<'d> {
        let mut reader = Reader::from_str(xml);
        let mut scan = Scan::default();
        loop {
            let Ok(event) = reader.read_event() else {
                return FieldValue::Missing;
            };
            let found = match event {
                Event::Start(start) => scan.open(self, &start, true),
                Event::Empty(start) => scan.open(self, &start, false),
                Event::End(_) => scan.close(),
                Event::Text(text) if scan.collecting => scan.text(text.xml10_content()),
                Event::CData(data) if scan.collecting => scan.text(data.xml10_content()),
                Event::GeneralRef(reference) if scan.collecting => match entity_text(&reference) {
                    Some(text) => scan.text(text),
                    None => Some(FieldValue::Missing),
                },
                Event::Eof => Some(FieldValue::Missing),
                Event::Text(_)
                | Event::CData(_)
                | Event::GeneralRef(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => None,
            };
            if let Some(value) = found {
                return value;
            }
        }
    }
}

/// Reads `@name` or `text()` as the last part of a path; `None` for an element step.
fn final_target(part: &str, start: usize, last: bool) -> Result<Option<Target>, PathSyntaxError> {
    let target = if let Some(name) = part.strip_prefix('@') {
        check_name(name, start + 1, "attribute")?;
        Target::Attribute(name.to_owned())
    } else if part == "text()" {
        Target::Text
    } else {
        return Ok(None);
    };
    if !last {
        return Err(
            PathSyntaxError::new(start, part.len(), format!("'{part}' must end the path"))
                .hint("an attribute or text() has no children; remove the steps after it"),
        );
    }
    Ok(Some(target))
}

/// One element step: `name`, `*`, `name[n]` or `*[n]`.
fn step(part: &str, start: usize) -> Result<Step, PathSyntaxError> {
    if part.is_empty() {
        return Err(
            PathSyntaxError::new(start.saturating_sub(1), 1, "empty step")
                .hint("descendant steps (//) are not supported: name every element from the root"),
        );
    }

    let (name, index) = match part.find('[') {
        Some(open) => (&part[..open], Some(index(&part[open..], start + open)?)),
        None => (part, None),
    };
    let name = if name == "*" {
        None
    } else {
        check_name(name, start, "element")?;
        Some(name.to_owned())
    };
    Ok(Step { name, index })
}

/// `[n]` with n a positive number, ending the step.
fn index(bracketed: &str, start: usize) -> Result<u32, PathSyntaxError> {
    let bad = || {
        PathSyntaxError::new(start, bracketed.len(), format!("bad index '{bracketed}'"))
            .hint("an index is a number from 1 in brackets, such as [2]; no other filters")
    };
    let digits = bracketed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match digits.parse::<u32>() {
        Ok(0) => Err(
            PathSyntaxError::new(start, bracketed.len(), "indexes start at 1")
                .hint("the first child of that name is [1]"),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(PathSyntaxError::new(
            start,
            bracketed.len(),
            "index too large",
        )),
    }
}

/// A local name as XML writes one; a prefix is refused with a hint, since matching is by
/// local name and a prefix in the path would suggest otherwise.
fn check_name(name: &str, start: usize, what: &str) -> Result<(), PathSyntaxError> {
    if let Some(colon) = name.find(':') {
        return Err(
            PathSyntaxError::new(start, colon + 1, "namespace prefixes are not written").hint(
                "names match by local name whatever prefix the document uses: drop the prefix",
            ),
        );
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii());
    let rest_ok =
        chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii());
    if first_ok && rest_ok {
        return Ok(());
    }
    let message = if name.is_empty() {
        format!("missing {what} name")
    } else {
        format!("'{name}' is not an {what} name")
    };
    Err(PathSyntaxError::new(start, name.len(), message)
        .hint("names start with a letter or _ and hold letters, digits, _, - and ."))
}

impl fmt::Display for XmlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            f.write_str("/")?;
            f.write_str(step.name.as_deref().unwrap_or("*"))?;
            if let Some(index) = step.index {
                write!(f, "[{index}]")?;
            }
        }
        match &self.target {
            Target::Text => Ok(()),
            Target::Attribute(name) => write!(f, "/@{name}"),
        }
    }
}

/// Where a read is in the document.
///
/// `depth` counts the open elements that match the path's first steps; elements inside a
/// non-matching one are skipped by counting `skip`; once the target element is open its
/// text is gathered in `text` until its end tag (`nested` counts its open children).
#[derive(Default)]
struct Scan<'d> {
    depth: usize,
    skip: usize,
    counts: [u32; MAX_STEPS],
    collecting: bool,
    nested: usize,
    text: Option<Cow<'d, str>>,
}

impl<'d> Scan<'d> {
    /// A start tag (`has_content`) or an empty-element tag.
    fn open(
        &mut self,
        path: &XmlPath,
        start: &BytesStart<'_>,
        has_content: bool,
    ) -> Option<FieldValue<'d>> {
        if self.skip > 0 || self.collecting {
            let inside = if self.collecting {
                &mut self.nested
            } else {
                &mut self.skip
            };
            *inside += usize::from(has_content);
            return None;
        }

        let step = path.steps.get(self.depth)?;
        let name = start.local_name();
        let name_matches = step
            .name
            .as_deref()
            .is_none_or(|want| want == name.as_ref());
        let count = &mut self.counts[self.depth];
        if name_matches {
            *count = count.saturating_add(1);
        }
        if !name_matches || step.index.is_some_and(|index| index != *count) {
            self.skip = usize::from(has_content);
            return None;
        }

        if self.depth + 1 < path.steps.len() {
            if has_content {
                self.depth += 1;
                self.counts[self.depth] = 0;
            }
            return None;
        }
        match &path.target {
            // Like XPath, the first element that has the attribute wins, not the first
            // element of that name.
            Target::Attribute(name) => match attribute(start, name) {
                FieldValue::Missing => {
                    self.skip = usize::from(has_content);
                    None
                }
                value => Some(value),
            },
            Target::Text if is_nil(start) => Some(FieldValue::Null),
            Target::Text if !has_content => Some(FieldValue::Text(Cow::Borrowed(""))),
            Target::Text => {
                self.collecting = true;
                None
            }
        }
    }

    fn close(&mut self) -> Option<FieldValue<'d>> {
        if self.collecting {
            if self.nested > 0 {
                self.nested -= 1;
                return None;
            }
            return Some(FieldValue::Text(trimmed(
                self.text.take().unwrap_or_default(),
            )));
        }
        if self.skip > 0 {
            self.skip -= 1;
        } else {
            self.depth = self.depth.saturating_sub(1);
        }
        None
    }

    /// A piece of the target element's text.
    fn text(&mut self, piece: Cow<'d, str>) -> Option<FieldValue<'d>> {
        match &mut self.text {
            None => self.text = Some(piece),
            Some(text) => text.to_mut().push_str(&piece),
        }
        None
    }
}

/// The value of the attribute with local name `name`; namespace declarations are not
/// attributes for a path.
fn attribute<'d>(start: &BytesStart<'_>, name: &str) -> FieldValue<'d> {
    for attribute in start.attributes() {
        let Ok(attribute) = attribute else {
            return FieldValue::Missing;
        };
        if attribute.key.as_namespace_binding().is_some()
            || attribute.key.local_name().as_ref() != name
        {
            continue;
        }
        return match attribute.normalized_value(XmlVersion::Implicit1_0) {
            Ok(value) => FieldValue::Text(Cow::Owned(value.into_owned())),
            Err(_) => FieldValue::Missing,
        };
    }
    FieldValue::Missing
}

/// `xsi:nil="true"` (any prefix): the sender says the element has no value.
fn is_nil(start: &BytesStart<'_>) -> bool {
    start.attributes().flatten().any(|attribute| {
        attribute.key.prefix().is_some()
            && attribute.key.local_name().as_ref() == "nil"
            && matches!(attribute.value.trim(), "true" | "1")
    })
}

/// The text an entity or character reference stands for; `None` for an entity the
/// document would have to declare, which a path cannot read past.
fn entity_text<'d>(reference: &quick_xml::events::BytesRef<'_>) -> Option<Cow<'d, str>> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(Cow::Owned(c.to_string()));
    }
    let text = match reference.as_ref() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    };
    Some(Cow::Borrowed(text))
}

/// XML white space around the text is layout, not content.
fn trimmed(text: Cow<'_, str>) -> Cow<'_, str> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim_matches(is_space)),
        Cow::Owned(text) => {
            let inner = text.trim_matches(is_space);
            if inner.len() == text.len() {
                Cow::Owned(text)
            } else {
                Cow::Owned(inner.to_owned())
            }
        }
    }
}

/// Why the bytes of an XML body are no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlTextError {
    /// The bytes are not valid in the document's encoding.
    #[error("bytes not valid {encoding} at byte {offset}")]
    Invalid {
        /// The encoding_rs name of the encoding.
        encoding: &'static str,
        /// Where the first bad byte is, for UTF-8; where the text starts, for others.
        offset: usize,
    },
    /// The declaration names an encoding Ferry does not know.
    #[error("unknown encoding '{0}' in the XML declaration")]
    UnknownEncoding(String),
}

/// The text of an XML body, decoded by its byte order mark, else the encoding its
/// declaration names, else UTF-8 (XML's default).
///
/// The runtime decodes a body once per message and reads every path of every rule from
/// that text. The declaration is left in the text: quick-xml reads a `&str` as UTF-8
/// whatever it says.
///
/// # Errors
///
/// An [`XmlTextError`] when the bytes are not valid in that encoding, or the declaration
/// names an encoding encoding_rs does not know.
pub fn xml_text(bytes: &[u8]) -> Result<Cow<'_, str>, XmlTextError> {
    let (encoding, bom) = match Encoding::for_bom(bytes) {
        Some((encoding, bom)) => (encoding, bom),
        None if bytes.starts_with(&[0, b'<', 0, b'?']) => (encoding_rs::UTF_16BE, 0),
        None if bytes.starts_with(&[b'<', 0, b'?', 0]) => (encoding_rs::UTF_16LE, 0),
        None => (declared_encoding(bytes)?, 0),
    };
    let bytes = &bytes[bom..];

    if encoding == encoding_rs::UTF_8 {
        return std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|error| XmlTextError::Invalid {
                encoding: "UTF-8",
                offset: bom + error.valid_up_to(),
            });
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(XmlTextError::Invalid {
            encoding: encoding.name(),
            offset: bom,
        })
}

/// The encoding an ASCII-compatible document's declaration names; UTF-8 without one.
fn declared_encoding(bytes: &[u8]) -> Result<&'static Encoding, XmlTextError> {
    if !bytes.starts_with(b"<?xml") {
        return Ok(encoding_rs::UTF_8);
    }
    // The declaration is ASCII in every encoding this branch reads, so its own bytes
    // can be parsed before the rest of the text is decoded.
    let end = bytes
        .windows(2)
        .position(|pair| pair == b"?>")
        .map_or(bytes.len(), |at| at + 2);
    let Ok(declaration) = std::str::from_utf8(&bytes[..end]) else {
        return Ok(encoding_rs::UTF_8);
    };
    let mut reader = Reader::from_str(declaration);
    let Ok(Event::Decl(decl)) = reader.read_event() else {
        return Ok(encoding_rs::UTF_8);
    };
    match decl.encoding() {
        Some(Ok(label)) => Encoding::for_label(label.trim().as_bytes())
            .map(|encoding| {
                // A UTF-16 label on bytes without a BOM or a UTF-16 pattern: the bytes are
                // ASCII-compatible, so the label is wrong; read them as UTF-8.
                if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
                    encoding_rs::UTF_8
                } else {
                    encoding
                }
            })
            .ok_or_else(|| XmlTextError::UnknownEncoding(label.into_owned())),
        _ => Ok(encoding_rs::UTF_8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str, xml: &str) -> FieldValue<'static> {
        XmlPath::parse(path).unwrap().read(xml).into_owned()
    }

    fn text(value: &str) -> FieldValue<'static> {
        FieldValue::Text(Cow::Owned(value.to_owned()))
    }

    #[test]
    fn parses_steps_indexes_and_targets() {
        let path = XmlPath::parse("/a/*[2]/c[10]/@d").unwrap();
        assert_eq!(path.to_string(), "/a/*[2]/c[10]/@d");
        let path = XmlPath::parse("/a/b/text()").unwrap();
        assert_eq!(path, XmlPath::parse("/a/b").unwrap());
        assert_eq!(path.to_string(), "/a/b");
        assert!(XmlPath::parse(&"/a".repeat(MAX_STEPS)).is_ok());
    }

    #[test]
    fn syntax_errors_point_at_the_mistake() {
        let cases = [
            ("a/b", 0, 3, "an XML path starts with /"),
            ("/a//b", 2, 1, "empty step"),
            ("/a/", 2, 1, "empty step"),
            ("/", 0, 1, "empty step"),
            ("/cda:a", 1, 4, "namespace prefixes are not written"),
            ("/a/b[0]", 4, 3, "indexes start at 1"),
            ("/a/b[x]", 4, 3, "bad index '[x]'"),
            ("/a/b[1", 4, 2, "bad index '[1'"),
            ("/a/b[99999999999]", 4, 13, "index too large"),
            ("/a/@b/c", 3, 2, "'@b' must end the path"),
            ("/a/@", 4, 0, "missing attribute name"),
            ("/@b", 1, 2, "no element before it"),
            ("/1a", 1, 2, "'1a' is not an element name"),
            ("/a/text()/b", 3, 6, "'text()' must end the path"),
        ];
        for (path, offset, len, reason) in cases {
            let error = XmlPath::parse(path).unwrap_err();
            assert_eq!(
                (error.offset, error.len, error.reason.as_str()),
                (offset, len, reason),
                "{path}"
            );
        }
        let error = XmlPath::parse(&"/a".repeat(MAX_STEPS + 1)).unwrap_err();
        assert_eq!(error.reason, format!("more than {MAX_STEPS} steps"));
    }

    #[test]
    fn names_match_by_local_name_and_the_first_match_wins() {
        let xml =
            r#"<p:a xmlns:p="urn:x"><p:b n="1"/><q:b xmlns:q="urn:y" n="2"><c>x</c></q:b></p:a>"#;
        assert_eq!(read("/a/b/@n", xml), text("1"));
        assert_eq!(read("/a/b/c", xml), text("x"));
        assert_eq!(read("/a/b[2]/@n", xml), text("2"));
        assert_eq!(read("/a/*[2]/@n", xml), text("2"));
        assert_eq!(read("/a/b[3]/@n", xml), FieldValue::Missing);
        assert_eq!(read("/a/b/@xmlns", xml), FieldValue::Missing);
        assert_eq!(read("/a/@p", xml), FieldValue::Missing);
        assert_eq!(read("/b", xml), FieldValue::Missing);
    }

    #[test]
    fn indexes_count_siblings_under_each_parent() {
        let xml = "<r><g><i>1</i></g><g><i k='a'>2</i><i k='b'>3</i></g></r>";
        assert_eq!(read("/r/g/i/@k", xml), text("a"));
        assert_eq!(read("/r/g/i[2]", xml), text("3"));
        assert_eq!(read("/r/g[2]/i", xml), text("2"));
        assert_eq!(read("/r/g[1]/i[2]", xml), FieldValue::Missing);
    }

    #[test]
    fn text_decodes_entities_joins_cdata_and_children_and_trims() {
        let xml = "<a>\n  <b>Tom &amp; Jerry&#x21;</b>\n  <c><![CDATA[1 < 2]]> ok</c><d/>\n</a>";
        assert_eq!(read("/a/b", xml), text("Tom & Jerry!"));
        assert_eq!(read("/a/c/text()", xml), text("1 < 2 ok"));
        assert_eq!(read("/a/d", xml), text(""));
        assert_eq!(read("/a", xml), text("Tom & Jerry!\n  1 < 2 ok"));
        let nil =
            r#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/></a>"#;
        assert_eq!(read("/a/b", nil), FieldValue::Null);
    }

    #[test]
    fn broken_documents_read_as_missing_after_the_break() {
        assert_eq!(read("/a/b/@x", "<a><b x='1'"), FieldValue::Missing);
        assert_eq!(read("/a/b", "<a><b>x</c></a>"), FieldValue::Missing);
        assert_eq!(read("/a/b/@x", "<a><b x='1'/><"), text("1"));
        assert_eq!(read("/a/b", "<a><b>&unknown;</b></a>"), FieldValue::Missing);
    }

    #[test]
    fn text_follows_the_bom_then_the_declaration() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>M\xfcller</a>";
        assert_eq!(
            xml_text(latin).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Müller</a>"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(xml_text(&utf16).unwrap(), "<a>é</a>");
        assert_eq!(
            xml_text(b"<a>\xff</a>"),
            Err(XmlTextError::Invalid {
                encoding: "UTF-8",
                offset: 3
            })
        );
        assert_eq!(
            xml_text(b"<?xml version='1.0' encoding='klingon'?><a/>"),
            Err(XmlTextError::UnknownEncoding("klingon".to_owned()))
        );
    }
}
