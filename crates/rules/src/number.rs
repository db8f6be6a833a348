//! Exact decimal numbers for numeric comparisons.
//!
//! Numbers are compared digit by digit, never through a float, so two long identifiers
//! that differ in their twentieth digit never compare equal and `0.1` is exactly `0.1`.
//! Owns [`Number`] (a literal, kept from compile time) and [`Decimal`] (a borrowed view of
//! a number written in a field, made without allocating).
//!
//! Invariant: both keep the integer digits without leading zeros and the fraction digits
//! without trailing zeros, and zero is never negative, so equal values have equal parts
//! and `Decimal`'s derived equality agrees with its order.

use std::cmp::Ordering;
use std::fmt;

/// A number, borrowed from the text it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    /// Reads text written as the HL7 NM type: an optional sign, digits, and an optional
    /// decimal point (`-1`, `+2.50`, `.5`, `7.`), with at least one digit.
    pub(crate) fn parse_nm(text: &'a str) -> Option<Decimal<'a>> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));

        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
            return None;
        }
        Some(Decimal::normalised(negative, int, frac))
    }

    fn normalised(negative: bool, int: &'a str, frac: &'a str) -> Decimal<'a> {
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        Decimal {
            negative: negative && !zero,
            int,
            frac,
        }
    }

    /// Compares absolute values: more integer digits is larger; then digit by digit.
    fn magnitude_cmp(&self, other: &Decimal<'_>) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A number literal of a condition, normalised when compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Number {
    negative: bool,
    int: String,
    frac: String,
}

impl Number {
    /// Reads a literal as the language writes it: `-?digits(.digits)?`.
    ///
    /// Stricter than [`Decimal::parse_nm`]: `+5`, `.5` and `5.` are refused in a condition
    /// so each number has one spelling there.
    pub(crate) fn parse_literal(text: &str) -> Option<Number> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match unsigned.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (unsigned, None),
        };

        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|frac| !digits(frac)) {
            return None;
        }
        let decimal = Decimal::parse_nm(text)?;
        Some(Number {
            negative: decimal.negative,
            int: decimal.int.to_owned(),
            frac: decimal.frac.to_owned(),
        })
    }

    pub(crate) fn as_decimal(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
        }
    }
}

impl fmt::Display for Number {
    /// Writes the normalised spelling, which [`Number::parse_literal`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(if self.int.is_empty() { "0" } else { &self.int })?;
        if !self.frac.is_empty() {
            write!(f, ".{}", self.frac)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nm(text: &str) -> Decimal<'_> {
        Decimal::parse_nm(text).unwrap()
    }

    #[test]
    fn reads_the_hl7_nm_forms() {
        assert_eq!(nm("007"), nm("7"));
        assert_eq!(nm("+2.50"), nm("2.5"));
        assert_eq!(nm(".5"), nm("0.5"));
        assert_eq!(nm("7."), nm("7"));
        assert_eq!(nm("-0.0"), nm("0"));
        for text in [
            "", "-", "+", ".", "1.2.3", "1e5", " 1", "1 ", "--1", "abc", "٣",
        ] {
            assert_eq!(Decimal::parse_nm(text), None, "{text:?}");
        }
    }

    #[test]
    fn orders_by_value_not_by_spelling() {
        let ascending = [
            "-100", "-9.5", "-9.25", "-1", "0", "0.05", "0.5", "0.51", "9", "10",
        ];
        for pair in ascending.windows(2) {
            assert!(nm(pair[0]) < nm(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(nm(pair[1]) > nm(pair[0]), "{} > {}", pair[1], pair[0]);
        }
        assert_ne!(nm("12345678901234567890"), nm("12345678901234567891"));
    }

    #[test]
    fn literals_have_one_spelling() {
        for text in ["+5", ".5", "5.", "-", "1.2.3", "-.5", "1-"] {
            assert_eq!(Number::parse_literal(text), None, "{text:?}");
        }
        let number = Number::parse_literal("-007.500").unwrap();
        assert_eq!(number.to_string(), "-7.5");
        assert_eq!(Number::parse_literal("-0").unwrap().to_string(), "0");
        assert_eq!(Number::parse_literal("0.25").unwrap().to_string(), "0.25");
        assert_eq!(number.as_decimal(), nm("-7.5"));
    }
}
