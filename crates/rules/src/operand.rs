//! Operands: the things a test reads from a message or compares with.
//!
//! This module is the one place that knows where a value comes from. An [`Operand`] is an
//! HL7 field path, a message [`Property`] or a [`Literal`]; [`from_word`] decides which
//! kind of path an unquoted word names, and [`Operand::read`] fetches its value from a
//! [`Document`]. XML paths (`xml:/…`) and JSON pointers (`json:/…`) are planned: each
//! becomes a variant of `Operand`, a branch of `from_word` (the prefixes are already
//! recognised there) and a branch of `read`.
//!
//! Invariant: an `Operand` is fully resolved when compiled, so reading it never parses
//! anything and never allocates beyond what the document itself returns.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, PathError};

use crate::condition::Document;
use crate::error::{RuleError, Span};
use crate::number::Number;
use crate::value::Value;

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
    if let Some((prefix, _)) = word.split_once(':') {
        return Err(prefixed_path(prefix, span));
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

fn prefixed_path(prefix: &str, span: Span) -> RuleError {
    let hint = "conditions read HL7 fields such as MSH-9.1 and the msg. properties";
    if prefix.eq_ignore_ascii_case("xml") {
        return RuleError::new(span, "XML paths are not available yet").hint(hint);
    }
    if prefix.eq_ignore_ascii_case("json") {
        return RuleError::new(span, "JSON pointers are not available yet").hint(hint);
    }
    RuleError::new(span, format!("unknown path prefix '{prefix}:'"))
        .hint("a field path looks like PID-3.1; quote text: \"…\"")
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

        let error = from_word("xml:/a/@b", Span::new(0, 9)).unwrap_err();
        assert_eq!(error.message, "XML paths are not available yet");
    }
}
