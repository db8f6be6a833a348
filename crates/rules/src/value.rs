//! Values at evaluation time, and how two of them compare.
//!
//! The comparison rule, in one place: a number literal on either side makes the comparison
//! numeric (the other side must read as a number); otherwise quoted text on either side
//! makes it a byte-wise text comparison; two values read from the message compare as
//! numbers when both read as numbers and as text otherwise; `true`/`false` compare with
//! the read text `true`/`false` (JSON booleans). A missing or null value compares with
//! nothing. Invariant: comparing never allocates.

use std::cmp::Ordering;

use ferry_hl7::FieldValue;

use crate::number::Decimal;

/// One operand's value for one message.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    /// Read from the message: a field or a text property.
    Read(FieldValue<'a>),
    /// A quoted literal.
    Quoted(&'a str),
    /// A number literal.
    Number(Decimal<'a>),
    /// `true`, `false` or a flag property.
    Bool(bool),
}

impl Value<'_> {
    /// The text, if the value is text: `None` for missing, null, numbers and booleans.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Read(field) => field.as_text(),
            Value::Quoted(text) => Some(text),
            Value::Number(_) | Value::Bool(_) => None,
        }
    }

    /// How `self` compares with `other`, or `None` when they cannot be compared.
    pub(crate) fn order(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Bool(left), Value::Bool(right)) => Some(left.cmp(right)),
            (Value::Bool(flag), Value::Read(read)) => Some(flag.cmp(&read_bool(read)?)),
            (Value::Read(read), Value::Bool(flag)) => Some(read_bool(read)?.cmp(flag)),
            (Value::Bool(_), _) | (_, Value::Bool(_)) => None,
            (Value::Number(_), _) | (_, Value::Number(_)) => {
                Some(self.decimal()?.cmp(&other.decimal()?))
            }
            (Value::Quoted(_), _) | (_, Value::Quoted(_)) => Some(self.text()?.cmp(other.text()?)),
            (Value::Read(_), Value::Read(_)) => Some(read_order(self.text()?, other.text()?)),
        }
    }

    /// The value as a number: literals are numbers, read text may be; quoted text never is.
    fn decimal(&self) -> Option<Decimal<'_>> {
        match self {
            Value::Number(number) => Some(*number),
            Value::Read(field) => Decimal::parse_nm(field.as_text()?),
            Value::Quoted(_) | Value::Bool(_) => None,
        }
    }
}

/// A JSON `true` or `false`, which a document reads as that text; the checks let only a
/// JSON pointer meet a `true`/`false` literal.
fn read_bool(read: &FieldValue<'_>) -> Option<bool> {
    match read.as_text()? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Two values from the message: numeric when both are numbers, so `10 > 9`; else text.
fn read_order(left: &str, right: &str) -> Ordering {
    match (Decimal::parse_nm(left), Decimal::parse_nm(right)) {
        (Some(left), Some(right)) => left.cmp(&right),
        _ => left.cmp(right),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn read(text: &str) -> Value<'_> {
        Value::Read(FieldValue::Text(Cow::Borrowed(text)))
    }

    fn number(text: &str) -> Value<'_> {
        Value::Number(Decimal::parse_nm(text).unwrap())
    }

    #[test]
    fn a_number_literal_compares_numerically_or_not_at_all() {
        assert_eq!(read("10").order(&number("9")), Some(Ordering::Greater));
        assert_eq!(number("7").order(&read("007.0")), Some(Ordering::Equal));
        assert_eq!(read("abc").order(&number("9")), None);
        assert_eq!(Value::Read(FieldValue::Null).order(&number("9")), None);
    }

    #[test]
    fn quoted_text_compares_byte_wise() {
        assert_eq!(read("10").order(&Value::Quoted("9")), Some(Ordering::Less));
        assert_eq!(read("007").order(&Value::Quoted("7")), Some(Ordering::Less));
        assert_eq!(
            Value::Read(FieldValue::Missing).order(&Value::Quoted("x")),
            None
        );
    }

    #[test]
    fn two_read_values_are_numbers_when_both_are() {
        assert_eq!(read("10").order(&read("9")), Some(Ordering::Greater));
        assert_eq!(read("10").order(&read("9x")), Some(Ordering::Less));
        assert_eq!(read("x").order(&Value::Read(FieldValue::Null)), None);
    }

    #[test]
    fn booleans_compare_only_with_booleans() {
        assert_eq!(
            Value::Bool(true).order(&Value::Bool(true)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Bool(true).order(&read("true")),
            Some(Ordering::Equal)
        );
        assert_eq!(
            read("false").order(&Value::Bool(true)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Bool(true).order(&read("yes")), None);
        assert_eq!(Value::Bool(true).order(&Value::Quoted("true")), None);
    }
}
