//! Operands: the things a test reads from a message or compares with.
//!
//! This module is the one place that knows where a value comes from. An [`Operand`] is an
//! HL7 field path, an XML path (`xml:/…`), a JSON pointer (`json:/…`), a message
//! [`Property`] or a [`Literal`]; [`from_word`] decides which kind of path an unquoted word
//! names (by its prefix, else by its punctuation), and [`Operand::read`] fetches its value
//! from a [`Document`].
//!
//! Invariant: an `Operand` is fully resolved when compiled, so reading it never parses
//! anything and never allocates beyond what the document itself returns.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, PathError};

use crate::condition::Document;
use crate::error::{RuleError, Span};
use crate::json_pointer::JsonPointer;
use crate::number::Number;
use crate::value::Value;
use crate::xml_path::{PathSyntaxError, XmlPath};

/// A property of the message as a whole rather than of its content, written `msg.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    /// `msg.source`: the name of the item that sent the message.
    Source,
    /// `msg.doctype`: the document type, such as `ADT^A01`.
    DocType,
    /// `msg.kind`: the body's kind: `hl7v2`, `xml`, `json`, `text` or `binary`.
    Kind,
    /// `msg.duplicate`: whether the message is flagged as a possible duplicate; a
    /// [`Document`] gives it as `Text("true")` or `Text("false")`.
    Duplicate,
}

impl Property {
    /// Every property, in the order the documentation lists them.
    pub const ALL: [Property; 4] = [
        Property::Source,
        Property::DocType,
        Property::Kind,
        Property::Duplicate,
    ];

    /// The name a condition uses, such as `msg.doctype`.
    pub fn name(self) -> &'static str {
        match self {
            Property::Source => "msg.source",
            Property::DocType => "msg.doctype",
            Property::Kind => "msg.kind",
            Property::Duplicate => "msg.duplicate",
        }
    }

    /// The property a condition names, ignoring ASCII case (`msg.` prefix included).
    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL
            .into_iter()
            .find(|property| property.name().eq_ignore_ascii_case(name))
    }

    /// Whether the property is true or false rather than text.
    pub(crate) fn is_flag(self) -> bool {
        self == Property::Duplicate
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value written in the condition itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    /// Quoted text, escapes resolved; never empty (the compiler refuses `""`).
    Text(String),
    /// An unquoted number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(text) => f.write_str(&quote(text)),
            Literal::Number(number) => number.fmt(f),
            Literal::Bool(value) => value.fmt(f),
        }
    }
}

/// What a test reads or compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    /// An HL7 v2 field path such as `PID-3[2].1`.
    Hl7(FieldPath),
    /// An XML path such as `xml:/ClinicalDocument/id/@root`.
    Xml(XmlPath),
    /// A JSON pointer such as `json:/resourceType`.
    Json(JsonPointer),
    /// A message property such as `msg.doctype`.
    Property(Property),
    /// A fixed value.
    Literal(Literal),
}

impl Operand {
    /// The operand's value for one message.
    pub(crate) fn read<'a>(&'a self, doc: &'a dyn Document) -> Value<'a> {
        match self {
            Operand::Hl7(path) => Value::Read(doc.hl7(path)),
            Operand::Xml(path) => Value::Read(doc.xml(path)),
            Operand::Json(pointer) => Value::Read(doc.json(pointer)),
            Operand::Property(property) if property.is_flag() => {
                Value::Bool(is_true(&doc.property(*property)))
            }
            Operand::Property(property) => Value::Read(doc.property(*property)),
            Operand::Literal(Literal::Text(text)) => Value::Quoted(text),
            Operand::Literal(Literal::Number(number)) => Value::Number(number.as_decimal()),
            Operand::Literal(Literal::Bool(value)) => Value::Bool(*value),
        }
    }
}

/// A flag is set only when the document says `true`; missing or anything else is false.
fn is_true(value: &FieldValue<'_>) -> bool {
    value
        .as_text()
        .is_some_and(|text| text.eq_ignore_ascii_case("true"))
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Hl7(path) => path.fmt(f),
            Operand::Xml(path) => write!(f, "xml:{path}"),
            Operand::Json(pointer) => write!(f, "json:{pointer}"),
            Operand::Property(property) => property.fmt(f),
            Operand::Literal(literal) => literal.fmt(f),
        }
    }
}

/// Writes `text` as a string literal the lexer reads back to the same text.
pub(crate) fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Resolves an unquoted word that is not a keyword, a number or a `msg.` property.
///
/// # Errors
///
/// A [`RuleError`] when the word is a path with a mistake in it (pointing at the mistake),
/// uses a path prefix that is not available, or is not a path at all.
pub(crate) fn from_word(word: &str, span: Span) -> Result<Operand, RuleError> {
    if let Some((prefix, path)) = word.split_once(':') {
        let inside = Span::new(span.offset + prefix.len() + 1, path.len());
        if prefix.eq_ignore_ascii_case("xml") {
            return XmlPath::parse(path)
                .map(Operand::Xml)
                .map_err(|error| syntax_error(&error, "XML path", word, inside));
        }
        if prefix.eq_ignore_ascii_case("json") {
            return JsonPointer::parse(path)
                .map(Operand::Json)
                .map_err(|error| syntax_error(&error, "JSON pointer", word, inside));
        }
        return Err(unknown_prefix(prefix, span));
    }

    if looks_like_hl7_path(word) {
        return FieldPath::parse(word)
            .map(Operand::Hl7)
            .map_err(|error| path_error(&error, word, span));
    }

    Err(bare_word(word, span))
}

/// A word is meant as a field path when it has a path's punctuation; `ADT` is not one.
fn looks_like_hl7_path(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic()) && word.contains(['-', '[', '.'])
}

fn unknown_prefix(prefix: &str, span: Span) -> RuleError {
    RuleError::new(span, format!("unknown path prefix '{prefix}:'")).hint(
        "paths look like PID-3.1, xml:/ClinicalDocument/id/@root or json:/resourceType; \
         quote text: \"…\"",
    )
}

/// Maps a mistake inside an XML path or JSON pointer, whose text starts at `inside`, into
/// the condition text. An empty span (something missing at the end) points at the last
/// character instead, since only the end of the whole condition may have an empty span.
fn syntax_error(error: &PathSyntaxError, what: &str, word: &str, inside: Span) -> RuleError {
    let offset = inside.offset + error.offset.min(inside.len);
    let len = error.len.min(inside.offset + inside.len - offset);
    let at = if len == 0 {
        Span::new(offset.saturating_sub(1), 1)
    } else {
        Span::new(offset, len)
    };
    let error_text = RuleError::new(at, format!("bad {what} '{word}': {}", error.reason));
    match error.hint {
        Some(hint) => error_text.hint(hint),
        None => error_text,
    }
}

/// Maps a [`PathError`] into the condition text, pointing from the mistake to the end of
/// the path.
fn path_error(error: &PathError, word: &str, span: Span) -> RuleError {
    let inside = error.offset.min(word.len());
    let at = Span::new(span.offset + inside, word.len() - inside);
    let error = RuleError::new(at, format!("bad field path '{word}': {}", error.reason));

    let upper = word.to_ascii_uppercase();
    if upper != word && FieldPath::parse(&upper).is_ok() {
        return error.hint(format!("segment ids are upper case: {upper}"));
    }
    error
}

fn bare_word(word: &str, span: Span) -> RuleError {
    RuleError::new(
        span,
        format!("'{word}' is not a field path, a msg. property or a keyword"),
    )
    .hint(format!(
        "quote text: {}; a field path looks like PID-5.1",
        quote(word)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_ignore_case() {
        assert_eq!(Property::from_name("msg.DocType"), Some(Property::DocType));
        assert_eq!(
            Property::from_name("MSG.duplicate"),
            Some(Property::Duplicate)
        );
        assert_eq!(Property::from_name("msg.size"), None);
        for property in Property::ALL {
            assert_eq!(Property::from_name(property.name()), Some(property));
        }
    }

    #[test]
    fn quote_escapes_only_quotes_and_backslashes() {
        assert_eq!(quote(r#"a"b\c^~"#), r#""a\"b\\c^~""#);
    }

    #[test]
    fn words_resolve_to_paths_or_explain_themselves() {
        let span = Span::new(10, 7);
        let path = from_word("PID-3.1", span).unwrap();
        assert_eq!(path.to_string(), "PID-3.1");

        let error = from_word("PID.5.1", span).unwrap_err();
        assert_eq!((error.offset, error.len), (13, 4));

        let error = from_word("pid-5", Span::new(0, 5)).unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("segment ids are upper case: PID-5")
        );

        let error = from_word("ADT", Span::new(0, 3)).unwrap_err();
        assert!(error.hint.unwrap().starts_with("quote text: \"ADT\""));

        let error = from_word("hl8:/a", Span::new(0, 6)).unwrap_err();
        assert_eq!(error.message, "unknown path prefix 'hl8:'");
    }

    #[test]
    fn prefixed_words_are_xml_paths_or_json_pointers() {
        let xml = from_word("XML:/a/b[2]/text()", Span::new(0, 18)).unwrap();
        assert_eq!(xml.to_string(), "xml:/a/b[2]");
        let json = from_word("json:/a~1b/0", Span::new(0, 12)).unwrap();
        assert_eq!(json.to_string(), "json:/a~1b/0");

        let error = from_word("xml:/a//b", Span::new(10, 9)).unwrap_err();
        assert_eq!((error.offset, error.len), (16, 1));
        assert_eq!(error.message, "bad XML path 'xml:/a//b': empty step");
        let error = from_word("json:/a~2", Span::new(3, 9)).unwrap_err();
        assert_eq!((error.offset, error.len), (10, 2));
        let error = from_word("xml:/a/@", Span::new(0, 8)).unwrap_err();
        assert_eq!((error.offset, error.len), (7, 1));
        let error = from_word("xml:", Span::new(0, 4)).unwrap_err();
        assert_eq!((error.offset, error.len), (3, 1));
    }
}
