//! Compiler-style diagnostics: `FILE:LINE:COL: message` and an optional `  hint: …` line.
//!
//! Owns [`Source`], [`Location`], [`Diagnostic`] and [`Diagnostics`]. Every location is
//! 1-based and points into the original file as its author wrote it, never into a copy
//! that was interpolated or re-indented. [`Location::FILE`] (line 0) stands for the file
//! as a whole, for problems such as an unreadable file that have no position.

use std::cmp::Ordering;
use std::fmt;

/// A production file's text and the name it is shown under in diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as the user gave it, shown at the start of every diagnostic.
    pub name: String,
    /// The whole file.
    pub text: String,
}

impl Source {
    /// Wraps a file's name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// A position in a production file: 1-based line and column, columns counted in characters
/// (a tab counts as one), as editors and compilers report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// 1-based line; 0 only in [`Location::FILE`].
    pub line: u32,
    /// 1-based column in characters; 0 only in [`Location::FILE`].
    pub column: u32,
}

impl Location {
    /// The file as a whole: for problems that have no position, such as a file that cannot
    /// be read. Shown as `FILE: message`.
    pub const FILE: Location = Location { line: 0, column: 0 };

    /// The first character of the file.
    pub const START: Location = Location { line: 1, column: 1 };

    /// A position from 1-based line and column.
    pub fn new(line: u32, column: u32) -> Location {
        Location { line, column }
    }

    /// The same line, `columns` characters further right.
    pub(crate) fn right(self, columns: usize) -> Location {
        let columns = u32::try_from(columns).unwrap_or(u32::MAX);
        Location {
            line: self.line,
            column: self.column.saturating_add(columns),
        }
    }

    /// The position of a byte offset in `text` (clamped to the text).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl Location {
    /// The byte offset of this position in `text`, if it is inside it.
    pub(crate) fn offset_in(self, text: &str) -> Option<usize> {
        let line = usize::try_from(self.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(self.column).ok()?.checked_sub(1)?;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let rest = text.get(start..)?;
        match rest.char_indices().nth(column) {
            Some((within, _)) => Some(start + within),
            None => Some(start + rest.len()),
        }
    }
}

impl From<serde_saphyr::Location> for Location {
    /// serde-saphyr counts the same way (1-based, characters); its unknown location (0:0)
    /// becomes the start of the file so that a diagnostic never points nowhere.
    fn from(location: serde_saphyr::Location) -> Location {
        if location.line() == 0 {
            return Location::START;
        }
        Location {
            line: u32::try_from(location.line()).unwrap_or(u32::MAX),
            column: u32::try_from(location.column().max(1)).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a production file: where, what, and how to fix it when that is clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as named in its [`Source`].
    pub file: String,
    /// Where in the file.
    pub at: Location,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a hint.
    pub fn new(file: impl Into<String>, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            at,
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Sort order: by file, then position; diagnostics on the same spot keep their order.
    fn position_cmp(&self, other: &Diagnostic) -> Ordering {
        (&self.file, self.at).cmp(&(&other.file, other.at))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at == Location::FILE {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(f, "{}:{}: {}", self.file, self.at, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Every problem found in a production, kept in the order found and shown sorted by
/// position. Pushing a diagnostic identical to one already held does nothing, so checks
/// that may meet the same problem twice (a document read once per item) report it once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds a problem unless the same one is already held.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if !self.0.contains(&diagnostic) {
            self.0.push(diagnostic);
        }
    }

    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        for diagnostic in other {
            self.push(diagnostic);
        }
    }

    /// Keeps only the problems `keep` accepts.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.0.retain(keep);
    }

    /// The problems in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// The problems sorted by file and position, as they are displayed.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut sorted: Vec<&Diagnostic> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.position_cmp(b));
        sorted
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics(vec![diagnostic])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        Diagnostics::extend(self, iter);
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        diagnostics.extend(iter);
        diagnostics
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.sorted().into_iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_a_compiler() {
        let plain = Diagnostic::new("p.yaml", Location::new(3, 7), "unknown key `polo`");
        let hinted = plain.clone().with_hint("did you mean `pool`?");
        assert_eq!(plain.to_string(), "p.yaml:3:7: unknown key `polo`");
        assert_eq!(
            hinted.to_string(),
            "p.yaml:3:7: unknown key `polo`\n  hint: did you mean `pool`?"
        );
    }

    #[test]
    fn a_whole_file_problem_has_no_position() {
        let diagnostic = Diagnostic::new("p.yaml", Location::FILE, "cannot read it");
        assert_eq!(diagnostic.to_string(), "p.yaml: cannot read it");
    }

    #[test]
    fn sorts_by_position_and_drops_repeats() {
        let mut all = Diagnostics::new();
        all.push(Diagnostic::new("p.yaml", Location::new(9, 1), "later"));
        all.push(Diagnostic::new("p.yaml", Location::new(2, 5), "earlier"));
        all.push(Diagnostic::new("p.yaml", Location::new(9, 1), "later"));
        assert_eq!(all.len(), 2);
        assert_eq!(all.to_string(), "p.yaml:2:5: earlier\np.yaml:9:1: later");
    }

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "a: ü\nbb: x\n";
        assert_eq!(Location::of_offset(text, 0), Location::new(1, 1));
        assert_eq!(Location::of_offset(text, 3), Location::new(1, 4));
        assert_eq!(Location::of_offset(text, 6), Location::new(2, 1));
        assert_eq!(Location::of_offset(text, 10), Location::new(2, 5));
        assert_eq!(Location::of_offset(text, 99), Location::new(3, 1));
    }

    #[test]
    fn positions_become_offsets() {
        let text = "ü: 1\nab: 2\n";
        assert_eq!(Location::new(1, 4).offset_in(text), Some(4));
        assert_eq!(Location::new(2, 5).offset_in(text), Some(10));
        assert_eq!(Location::START.offset_in(""), Some(0));
        assert_eq!(Location::FILE.offset_in(text), None);
    }
}
