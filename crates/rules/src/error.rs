//! Compile errors and the source spans they point at.
//!
//! Owns [`RuleError`] and the crate-internal [`Span`]. Invariant: every error a compile
//! returns carries the byte span of the token it is about, inside the compiled text (a span
//! may be empty only at the very end of the text, where something is missing), so a
//! production loader can turn it into a line and column of the YAML file.

/// A byte range in the condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

impl Span {
    pub(crate) fn new(offset: usize, len: usize) -> Span {
        Span { offset, len }
    }

    /// The span from the start of `self` to the end of `other`.
    pub(crate) fn to(self, other: Span) -> Span {
        let end = (other.offset + other.len).max(self.offset + self.len);
        Span::new(self.offset, end - self.offset)
    }
}

/// Why a condition did not compile, and exactly where.
///
/// A condition is compiled when its production loads, so this is always a configuration
/// mistake: the production must not start until the author fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", hint_suffix(.hint))]
pub struct RuleError {
    /// Byte offset of the offending token in the condition text.
    pub offset: usize,
    /// Length in bytes of the offending token (0 when something is missing at the end).
    pub len: usize,
    /// What is wrong, in the production author's words.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!("; hint: {hint}"),
        None => String::new(),
    }
}

impl RuleError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> RuleError {
        RuleError {
            offset: span.offset,
            len: span.len,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> RuleError {
        self.hint = Some(hint.into());
        self
    }

    /// The line of `source` holding the error, with carets under the offending token.
    ///
    /// `source` must be the text that was compiled. Meant for command-line output and
    /// logs, where a reader has no editor to jump to the offset:
    ///
    /// ```text
    /// MSH-9.1 == "ADT"
    ///         ^^
    /// ```
    pub fn excerpt(&self, source: &str) -> String {
        let start = floor_char_boundary(source, self.offset);
        let line_start = source[..start].rfind('\n').map_or(0, |at| at + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |at| start + at);
        let end = floor_char_boundary(source, (self.offset + self.len).min(line_end)).max(start);

        // Tabs are kept in the padding so the carets line up under a tab-indented line.
        let padding: String = source[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = source[start..end].chars().count().max(1);
        format!(
            "{}\n{padding}{}",
            &source[line_start..line_end],
            "^".repeat(width)
        )
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_message_and_hint() {
        let error = RuleError::new(Span::new(8, 2), "'==' is not an operator").hint("write =");
        assert_eq!(error.to_string(), "'==' is not an operator; hint: write =");
        let error = RuleError::new(Span::new(0, 1), "bad");
        assert_eq!(error.to_string(), "bad");
    }

    #[test]
    fn excerpt_underlines_the_token_on_its_line() {
        let source = "MSH-9.1 = \"ADT\"\nand\tPID-3 == \"x\"";
        let error = RuleError::new(Span::new(26, 2), "bad");
        assert_eq!(error.excerpt(source), "and\tPID-3 == \"x\"\n   \t      ^^");
        let error = RuleError::new(Span::new(source.len(), 0), "bad");
        assert!(error.excerpt(source).ends_with("\"x\"\n   \t            ^"));
    }

    #[test]
    fn excerpt_survives_offsets_inside_characters_and_past_the_end() {
        let error = RuleError::new(Span::new(2, 40), "bad");
        assert_eq!(error.excerpt("\"ü\" x"), "\"ü\" x\n ^^^^");
        let error = RuleError::new(Span::new(99, 3), "bad");
        assert_eq!(error.excerpt("ab"), "ab\n  ^");
    }
}
