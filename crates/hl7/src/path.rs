//! Field paths in the standard's notation: `SEG[n]-f[r].c.s`.
//!
//! `PID-3[2].1` is the first component of the second repetition of PID-3 in the first PID
//! segment. Every index is 1-based; an index left out means 1, except that a path without a
//! component names the whole field (or repetition) and a path without a subcomponent names
//! the whole component. Paths are parsed once, when a production loads.

use std::fmt;
use std::str::FromStr;

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// Segment id: three characters, an upper-case letter then letters or digits.
    pub segment: [u8; 3],
    /// Which occurrence of the segment, 1-based.
    pub occurrence: u32,
    /// Field number, 1-based (`MSH-1` is the field separator itself).
    pub field: u32,
    /// Repetition, 1-based; `None` means the first.
    pub repetition: Option<u32>,
    /// Component, 1-based; `None` means the whole field.
    pub component: Option<u32>,
    /// Subcomponent, 1-based; `None` means the whole component.
    pub subcomponent: Option<u32>,
}

/// Why a path could not be parsed, and where (a byte offset into the path text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at offset {offset}")]
pub struct PathError {
    /// Byte offset of the problem in the path text.
    pub offset: usize,
    /// What is wrong, in words a production author understands.
    pub reason: String,
}

impl FieldPath {
    /// Parses a path such as `MSH-9.1`, `PID-3[2].1` or `OBX[2]-5.1.2`.
    ///
    /// # Errors
    ///
    /// A [`PathError`] naming the offset and what was expected there.
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let mut cursor = Cursor { text, pos: 0 };

        let segment = cursor.segment_id()?;
        let occurrence = cursor.bracketed()?.unwrap_or(1);
        cursor.expect(b'-', "'-' and a field number after the segment id")?;
        let field = cursor.number("a field number")?;
        let repetition = cursor.bracketed()?;
        let component = cursor.dotted("a component number")?;
        let subcomponent = match component {
            Some(_) => cursor.dotted("a subcomponent number")?,
            None => None,
        };

        if cursor.pos != text.len() {
            return Err(cursor.error("unexpected text after the path"));
        }
        Ok(FieldPath {
            segment,
            occurrence,
            field,
            repetition,
            component,
            subcomponent,
        })
    }

    /// The segment id as text.
    pub fn segment_id(&self) -> &str {
        std::str::from_utf8(&self.segment).unwrap_or("???")
    }

    /// A path naming the same segment, field and repetition with another component.
    pub fn with_component(&self, component: u32) -> FieldPath {
        FieldPath {
            component: Some(component),
            subcomponent: None,
            ..self.clone()
        }
    }
}

impl FromStr for FieldPath {
    type Err = PathError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FieldPath::parse(text)
    }
}

impl fmt::Display for FieldPath {
    /// Writes the shortest form: indexes equal to their default are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.segment_id())?;
        if self.occurrence != 1 {
            write!(f, "[{}]", self.occurrence)?;
        }
        write!(f, "-{}", self.field)?;
        if let Some(repetition) = self.repetition {
            write!(f, "[{repetition}]")?;
        }
        if let Some(component) = self.component {
            write!(f, ".{component}")?;
        }
        if let Some(subcomponent) = self.subcomponent {
            write!(f, ".{subcomponent}")?;
        }
        Ok(())
    }
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, reason: &str) -> PathError {
        PathError {
            offset: self.pos,
            reason: reason.to_owned(),
        }
    }

    fn segment_id(&mut self) -> Result<[u8; 3], PathError> {
        let bytes = self.text.as_bytes();
        let id = bytes
            .get(..3)
            .ok_or_else(|| self.error("expected a segment id such as PID"))?;
        let valid = id[0].is_ascii_uppercase()
            && id[1..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            return Err(self.error(concat!(
                "expected a segment id: an upper-case letter, ",
                "then two upper-case letters or digits"
            )));
        }
        self.pos = 3;
        Ok([id[0], id[1], id[2]])
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), PathError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            return Ok(());
        }
        let hint = if byte == b'-' && self.peek() == Some(b'.') {
            "expected '-' after the segment id (write PID-5.1, not PID.5.1)".to_owned()
        } else {
            format!("expected {what}")
        };
        Err(self.error(&hint))
    }

    fn number(&mut self, what: &str) -> Result<u32, PathError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            self.pos = start;
            return Err(self.error(&format!("expected {what}")));
        }
        let digits = &self.text[start..self.pos];
        match digits.parse::<u32>() {
            Ok(0) => Err(PathError {
                offset: start,
                reason: format!("{what} starts at 1, not 0"),
            }),
            Ok(value) if value <= 9_999 => Ok(value),
            _ => Err(PathError {
                offset: start,
                reason: format!("{what} is too large (at most 9999)"),
            }),
        }
    }

    fn bracketed(&mut self) -> Result<Option<u32>, PathError> {
        if self.peek() != Some(b'[') {
            return Ok(None);
        }
        self.pos += 1;
        let value = self.number("a number inside [ ]")?;
        self.expect(b']', "']'")?;
        Ok(Some(value))
    }

    fn dotted(&mut self, what: &str) -> Result<Option<u32>, PathError> {
        if self.peek() != Some(b'.') {
            return Ok(None);
        }
        self.pos += 1;
        self.number(what).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_standard_notation() {
        let path = FieldPath::parse("PID-3[2].1").unwrap();
        assert_eq!(path.segment_id(), "PID");
        assert_eq!(path.occurrence, 1);
        assert_eq!(path.field, 3);
        assert_eq!(path.repetition, Some(2));
        assert_eq!(path.component, Some(1));
        assert_eq!(path.subcomponent, None);

        let path = FieldPath::parse("OBX[2]-5.1.2").unwrap();
        assert_eq!(path.occurrence, 2);
        assert_eq!(path.subcomponent, Some(2));
        assert_eq!(path.to_string(), "OBX[2]-5.1.2");
    }

    #[test]
    fn reports_where_a_path_is_wrong() {
        let err = FieldPath::parse("PID.5.1").unwrap_err();
        assert_eq!(err.offset, 3);
        assert!(err.reason.contains("PID-5.1"), "{err}");

        assert_eq!(FieldPath::parse("PID-0").unwrap_err().offset, 4);
        assert_eq!(FieldPath::parse("PID-3[").unwrap_err().offset, 6);
        assert_eq!(FieldPath::parse("pid-3").unwrap_err().offset, 0);
        assert_eq!(FieldPath::parse("PID-3.1x").unwrap_err().offset, 7);
        assert!(FieldPath::parse("PID-99999999999").is_err());
    }
}
