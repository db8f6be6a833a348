//! Positions inside a scalar: where byte `n` of a value sits in the original file.
//!
//! Owns the mapping used for errors inside a `when:` expression or a search field path.
//! A scalar maps exactly when it is written on one line as plain text, single-quoted (a
//! doubled `''` counts as two characters of the file) or double-quoted without escapes;
//! the opening quote is accounted for. Anything else (several lines, escapes, an
//! interpolated value, an alias) points at the start of the scalar rather than at a wrong
//! column.

use crate::diagnostic::{Location, Source};

/// The position of byte `offset` of `value`, the scalar that serde-saphyr read at `node`.
pub(crate) fn inside_scalar(
    source: &Source,
    node: serde_saphyr::Location,
    value: &str,
    offset: usize,
) -> Location {
    // From line and column, not the span's byte offset: an item may have been read from a
    // shortened copy of the file (see `crate::document`) whose bytes are not the file's.
    let start = Location::from(node);
    match start.offset_in(&source.text) {
        Some(byte) => inside(source, start, byte, value, offset),
        None => start,
    }
}

/// The position of byte `offset` of `value`, the scalar written at byte `byte` of the
/// file (which is at `start`).
pub(crate) fn inside(
    source: &Source,
    start: Location,
    byte: usize,
    value: &str,
    offset: usize,
) -> Location {
    let Some(rest) = source.text.get(byte..) else {
        return start;
    };
    let line = rest.split('\n').next().unwrap_or_default();
    let offset_in_line = match line.as_bytes().first() {
        Some(b'\'') => single_quoted(line, value, offset),
        Some(b'"') => double_quoted(line, value, offset),
        _ => line.starts_with(value).then_some(offset),
    };
    match offset_in_line.and_then(|offset| line.get(..offset)) {
        Some(before) => start.right(before.chars().count()),
        None => start,
    }
}

/// In a single-quoted scalar each `'` of the value is written `''`.
fn single_quoted(line: &str, value: &str, offset: usize) -> Option<usize> {
    let written = value.replace('\'', "''");
    let closed = line
        .get(1..)?
        .strip_prefix(written.as_str())?
        .starts_with('\'');
    let quotes_before = value.get(..offset)?.matches('\'').count();
    closed.then_some(1 + offset + quotes_before)
}

/// A double-quoted scalar maps only without escapes.
fn double_quoted(line: &str, value: &str, offset: usize) -> Option<usize> {
    if value.contains(['\\', '"']) {
        return None;
    }
    let closed = line.get(1..)?.strip_prefix(value)?.starts_with('"');
    closed.then_some(1 + offset)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_saphyr::Spanned;

    use super::*;
    use crate::document::{Document, Step};
    use crate::interpolation::Variables;

    fn column_of(text: &str, offset: usize) -> Location {
        let source = Arc::new(Source::new("t.yaml", text));
        let document = Document::new(source.clone(), Variables::default());
        let when: Spanned<String> = document.read(&[Step::Key("when")]).unwrap().unwrap();
        inside_scalar(&source, when.referenced, &when.value, offset)
    }

    #[test]
    fn counts_the_opening_quote_and_doubled_quotes() {
        assert_eq!(column_of("when: MSH-9 = x\n", 6), Location::new(1, 13));
        assert_eq!(column_of("when: 'MSH-9 = x'\n", 6), Location::new(1, 14));
        assert_eq!(column_of("when: \"MSH-9 = x\"\n", 6), Location::new(1, 14));
        assert_eq!(column_of("when: 'a''b = x'\n", 4), Location::new(1, 13));
    }

    #[test]
    fn falls_back_to_the_start_when_unsure() {
        assert_eq!(column_of("when: \"a\\tb = x\"\n", 4), Location::new(1, 7));
        assert_eq!(column_of("when: >\n  a = b\n", 2), Location::new(2, 3));
    }
}
