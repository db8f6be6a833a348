//! Compile-time checks that a test can mean something.
//!
//! A test that could never change its answer, or that mixes kinds the language keeps
//! apart, is refused here when the production loads instead of quietly never matching at
//! run time: two fixed values compared, true/false against text (JSON pointers may meet
//! them: JSON has booleans), a number against a property that is never a number, a
//! presence test on a fixed value. Invariant: every test the parser builds has passed the
//! check for its form, so evaluation meets only the combinations documented in `value.rs`.

use ferry_hl7::FieldPath;

use crate::error::{RuleError, Span};
use crate::expr::{CompareOp, Expr};
use crate::operand::{self, Literal, Operand, Property};

/// An operand with the span it was written at.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// What kind of value an operand gives, as far as the checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An HL7 field or an XML path: text read from the message.
    Field,
    /// A JSON pointer: text read from the message, or `true`/`false`.
    Json,
    TextProperty,
    Flag,
    Text,
    Number,
    Bool,
}

impl Kind {
    fn of(operand: &Operand) -> Kind {
        match operand {
            Operand::Hl7(_) | Operand::Xml(_) => Kind::Field,
            Operand::Json(_) => Kind::Json,
            Operand::Property(property) if property.is_flag() => Kind::Flag,
            Operand::Property(_) => Kind::TextProperty,
            Operand::Literal(Literal::Text(_)) => Kind::Text,
            Operand::Literal(Literal::Number(_)) => Kind::Number,
            Operand::Literal(Literal::Bool(_)) => Kind::Bool,
        }
    }

    fn is_fixed(self) -> bool {
        matches!(self, Kind::Text | Kind::Number | Kind::Bool)
    }

    fn is_boolean(self) -> bool {
        matches!(self, Kind::Flag | Kind::Bool)
    }
}

/// Checks `left op right`.
///
/// # Errors
///
/// Two fixed values; an order asked of true/false; true/false against a non-boolean;
/// a number against a text property.
pub(crate) fn comparison(
    left: &Spanned<Operand>,
    op: Spanned<CompareOp>,
    right: &Spanned<Operand>,
) -> Result<(), RuleError> {
    let (left_kind, right_kind) = (Kind::of(&left.value), Kind::of(&right.value));
    if left_kind.is_fixed() && right_kind.is_fixed() {
        return Err(two_fixed_values(left, right));
    }

    if left_kind.is_boolean() || right_kind.is_boolean() {
        return boolean_comparison(left, op, right);
    }

    number_against_text(left, right)?;
    number_against_text(right, left)
}

fn two_fixed_values(left: &Spanned<Operand>, right: &Spanned<Operand>) -> RuleError {
    let error = RuleError::new(
        left.span.to(right.span),
        "both sides are fixed values, so the test never changes",
    );
    let hint = quoted_path_hint(&left.value)
        .or_else(|| quoted_path_hint(&right.value))
        .unwrap_or_else(|| "one side must be a field path or a msg. property".to_owned());
    error.hint(hint)
}

fn boolean_comparison(
    left: &Spanned<Operand>,
    op: Spanned<CompareOp>,
    right: &Spanned<Operand>,
) -> Result<(), RuleError> {
    if op.value.is_ordering() {
        return Err(RuleError::new(op.span, "true and false have no order")
            .hint("compare them with = or !="));
    }

    let (left_kind, right_kind) = (Kind::of(&left.value), Kind::of(&right.value));
    if left_kind.is_boolean() && right_kind.is_boolean() {
        return Ok(());
    }

    let (boolean, other) = if left_kind.is_boolean() {
        (left, right)
    } else {
        (right, left)
    };
    if Kind::of(&boolean.value) == Kind::Flag {
        return Err(flag_misused(boolean, other.span));
    }
    // JSON has true and false of its own; HL7 and XML only have text.
    if Kind::of(&other.value) == Kind::Json {
        return Ok(());
    }
    Err(RuleError::new(
        boolean.span,
        "true and false compare only with msg.duplicate and JSON pointers",
    )
    .hint(format!(
        "to compare with the text, quote it: \"{}\"",
        boolean.value
    )))
}

fn flag_misused(flag: &Spanned<Operand>, at: Span) -> RuleError {
    RuleError::new(at, format!("{} is true or false", flag.value)).hint(format!(
        "use it alone ({0}, not {0}) or compare it with true or false",
        flag.value
    ))
}

fn number_against_text(
    number: &Spanned<Operand>,
    other: &Spanned<Operand>,
) -> Result<(), RuleError> {
    if Kind::of(&number.value) != Kind::Number || Kind::of(&other.value) != Kind::TextProperty {
        return Ok(());
    }
    Err(RuleError::new(
        number.span,
        format!("{} is text, never a number", other.value),
    )
    .hint(format!("quote the value: \"{}\"", number.value)))
}

/// Checks the subject of `exists` or `is …`.
///
/// # Errors
///
/// A fixed value, or a flag (which is always present).
pub(crate) fn presence(subject: &Spanned<Operand>, test: Spanned<&str>) -> Result<(), RuleError> {
    match Kind::of(&subject.value) {
        Kind::Field | Kind::Json | Kind::TextProperty => Ok(()),
        Kind::Flag => Err(RuleError::new(
            test.span,
            format!("{} is always true or false, never missing", subject.value),
        )
        .hint(format!("use it alone: {0} or not {0}", subject.value))),
        Kind::Text | Kind::Number | Kind::Bool => Err(fixed_subject(subject, test.value)),
    }
}

/// Checks the subject of `in` / `not in`, before the list is read.
///
/// # Errors
///
/// A fixed value or a flag on the left of `in`.
pub(crate) fn member_subject(subject: &Spanned<Operand>) -> Result<(), RuleError> {
    match Kind::of(&subject.value) {
        Kind::Field | Kind::Json | Kind::TextProperty => Ok(()),
        Kind::Flag => Err(flag_misused(subject, subject.span)),
        Kind::Text | Kind::Number | Kind::Bool => Err(fixed_subject(subject, "in")),
    }
}

/// Checks one value of an `in` list and returns it.
///
/// # Errors
///
/// Anything but quoted text or a number, or a number tested against a text property.
pub(crate) fn list_item(
    subject: &Spanned<Operand>,
    item: Spanned<Operand>,
) -> Result<Literal, RuleError> {
    number_against_text(&item, subject)?;
    match item.value {
        Operand::Literal(literal @ (Literal::Text(_) | Literal::Number(_))) => Ok(literal),
        Operand::Literal(Literal::Bool(_)) => Err(RuleError::new(
            item.span,
            "a list holds quoted text or numbers, not true or false",
        )
        .hint(format!("quote text: \"{}\"", item.value))),
        Operand::Hl7(_) | Operand::Xml(_) | Operand::Json(_) | Operand::Property(_) => {
            Err(RuleError::new(
                item.span,
                "a list holds fixed values: quoted text or numbers",
            )
            .hint(format!(
                "to compare two fields, write {} = {}",
                subject.value, item.value
            )))
        }
    }
}

/// Checks `subject contains needle` / `subject starts with needle`.
///
/// # Errors
///
/// Two fixed values, true/false or a flag on either side, or a number on either side.
pub(crate) fn text_test(
    subject: &Spanned<Operand>,
    needle: &Spanned<Operand>,
) -> Result<(), RuleError> {
    let (subject_kind, needle_kind) = (Kind::of(&subject.value), Kind::of(&needle.value));
    if subject_kind.is_fixed() && needle_kind.is_fixed() {
        return Err(two_fixed_values(subject, needle));
    }

    for side in [subject, needle] {
        match Kind::of(&side.value) {
            Kind::Field | Kind::Json | Kind::TextProperty | Kind::Text => {}
            Kind::Number => {
                return Err(
                    RuleError::new(side.span, "contains and starts with test text")
                        .hint(format!("quote the number: \"{}\"", side.value)),
                );
            }
            Kind::Flag | Kind::Bool => {
                return Err(RuleError::new(
                    side.span,
                    "contains and starts with test text, not true or false",
                ));
            }
        }
    }
    Ok(())
}

/// An operand written alone as a whole test: only true/false values may stand alone.
///
/// # Errors
///
/// A field, a text property or a text/number literal written alone.
pub(crate) fn alone(operand: Spanned<Operand>) -> Result<Expr, RuleError> {
    match operand.value {
        Operand::Literal(Literal::Bool(value)) => Ok(Expr::Const(value)),
        Operand::Property(property) if property.is_flag() => Ok(Expr::Flag(operand.value)),
        Operand::Hl7(_) | Operand::Xml(_) | Operand::Json(_) | Operand::Property(_) => {
            Err(RuleError::new(
                operand.span,
                format!("{} alone is not a test", operand.value),
            )
            .hint(format!(
                "test it ({0} exists) or compare it ({0} = \"…\")",
                operand.value
            )))
        }
        Operand::Literal(_) => Err(RuleError::new(operand.span, "a value alone is not a test")
            .hint(quoted_path_hint(&operand.value).unwrap_or_else(|| {
                format!("compare a field with it: MSH-9.1 = {}", operand.value)
            }))),
    }
}

fn fixed_subject(subject: &Spanned<Operand>, operator: &str) -> RuleError {
    RuleError::new(
        subject.span,
        format!(
            "'{operator}' needs a field path or a msg. property on its left, not a fixed value"
        ),
    )
    .hint(quoted_path_hint(&subject.value).unwrap_or_else(|| "for example PID-3 exists".to_owned()))
}

/// `"MSH-9.1"` in quotes is text; say so when text looks like a path or a property.
fn quoted_path_hint(operand: &Operand) -> Option<String> {
    let Operand::Literal(Literal::Text(text)) = operand else {
        return None;
    };
    let prefixed = text.contains(':') && operand::from_word(text, Span::new(0, 0)).is_ok();
    let what = if FieldPath::parse(text).is_ok() {
        "field"
    } else if prefixed {
        "value at that path"
    } else if Property::from_name(text).is_some() {
        "property"
    } else {
        return None;
    };
    Some(format!(
        "\"{text}\" in quotes is text; write {text} without quotes to read the {what}"
    ))
}
