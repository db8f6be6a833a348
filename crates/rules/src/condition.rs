//! Compiled conditions and the document they are evaluated against.
//!
//! Owns [`Condition`], [`compile`], [`always`] and the [`Document`] trait. Invariants: a
//! `Condition` holds the text it was compiled from and a checked expression tree that is
//! never re-parsed; evaluating it only reads from the document, so one `Condition` can be
//! shared by every worker thread of a router.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue};

use crate::error::{RuleError, Span};
use crate::expr::Expr;
use crate::json_pointer::JsonPointer;
use crate::operand::Property;
use crate::parser;
use crate::xml_path::XmlPath;

/// One message as a condition sees it.
///
/// The runtime implements this over its one parse of the message, so every rule of a
/// router reads fields from the same parse. Delimiters and escapes are the document's
/// business: a path addresses the same field whatever separators the message declared.
pub trait Document {
    /// The value at an HL7 v2 field path ([`FieldValue::Missing`] for a message that is not
    /// HL7 v2).
    fn hl7(&self, path: &FieldPath) -> FieldValue<'_>;

    /// A message property; [`Property::Duplicate`] as `Text("true")` or `Text("false")`.
    fn property(&self, property: Property) -> FieldValue<'_>;

    /// The value at an XML path, read from the body's text with [`XmlPath::read`]
    /// ([`FieldValue::Missing`] for a message that is not XML).
    ///
    /// The default reads nothing, so a document that never holds XML need not say so.
    fn xml(&self, _path: &XmlPath) -> FieldValue<'_> {
        FieldValue::Missing
    }

    /// The value a JSON pointer names, read from the body parsed once with
    /// [`JsonPointer::read`] ([`FieldValue::Missing`] for a message that is not JSON).
    ///
    /// The default reads nothing, so a document that never holds JSON need not say so.
    fn json(&self, _pointer: &JsonPointer) -> FieldValue<'_> {
        FieldValue::Missing
    }
}

/// A compiled routing condition.
///
/// Compile once when the production loads, evaluate per message. Two conditions are equal
/// when they test the same thing as written, whatever their spacing, keyword case or
/// redundant parentheses; [`Condition::source`] keeps the author's text for messages and
/// logs, and `Display` writes the canonical form.
#[derive(Debug, Clone)]
pub struct Condition {
    source: String,
    expr: Expr,
}

/// Compiles a condition such as `MSH-9.1 = "ADT" and MSH-9.2 in ("A01", "A04")`.
///
/// # Errors
///
/// A [`RuleError`] for the first mistake, reading left to right, with the byte span of the
/// offending token in `source`, a message and, where there is an obvious fix, a hint.
pub fn compile(source: &str) -> Result<Condition, RuleError> {
    if source.trim().is_empty() {
        return Err(
            RuleError::new(Span::new(0, source.len()), "the condition is empty").hint(
                "leave out when: to match every message, or write a test such as MSH-9.1 = \"ADT\"",
            ),
        );
    }

    let expr = parser::parse(source)?;
    Ok(Condition {
        source: source.to_owned(),
        expr,
    })
}

/// The condition of a rule without `when:`: it matches every message, and its source reads
/// `true`, the condition that means the same.
pub fn always() -> Condition {
    Condition {
        source: "true".to_owned(),
        expr: Expr::Const(true),
    }
}

impl Condition {
    /// Whether the message holds the condition.
    ///
    /// Reads each operand from `doc` as it is reached (`and` and `or` stop early) and
    /// allocates nothing beyond what `doc` returns.
    pub fn matches(&self, doc: &dyn Document) -> bool {
        self.expr.matches(doc)
    }

    /// Every HL7 path the condition reads, each once, in the order written, so the
    /// runtime can fetch them before evaluating.
    pub fn hl7_paths(&self) -> Vec<&FieldPath> {
        let mut paths = Vec::new();
        self.expr.hl7_paths(&mut paths);
        paths
    }

    /// The text the condition was compiled from, as the author wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Condition {}

impl fmt::Display for Condition {
    /// The canonical form, which [`compile`] reads back to an equal condition.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}
