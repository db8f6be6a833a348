//! Positions inside a scalar: where byte `n` of a value sits in the original file.
//!
//! Owns the mapping used for errors inside a `when:` expression, a search field path or a
//! `${…}` reference. The scalar is read again from the file the way YAML reads it, each
//! character of the value paired with the bytes it was written as: plain and quoted
//! scalars on one line or several (line folding, a doubled `''`, every double-quoted
//! escape, an escaped line break) and block scalars (`|` and `>`, with `-`/`+` chomping
//! and an indentation indicator). The pairing is used only when that second reading
//! reproduces the value exactly; a value that is not the file's text (interpolated from
//! the environment, read through an alias) points at the start of the scalar instead of
//! at a wrong column.

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

/// The position of byte `offset` of `value`, the scalar whose first character (after any
/// anchor or tag; for a block scalar, the first character of its first non-empty line) is
/// at byte `byte` of the file, which is at `start`.
pub(crate) fn inside(
    source: &Source,
    start: Location,
    byte: usize,
    value: &str,
    offset: usize,
) -> Location {
    match Trace::of(&source.text, byte, value).and_then(|trace| trace.locate(offset)) {
        Some(written) => Location::of_offset(&source.text, written),
        None => start,
    }
}

/// One character of the value and where it was written.
#[derive(Debug, Clone, Copy)]
struct Written {
    /// Its byte offset in the value.
    at: usize,
    /// The byte offset of what produced it in the file (an escape's `\`, a `''`'s first
    /// quote, a line break).
    source: usize,
    /// How many bytes of the file produced it.
    width: usize,
    /// Produced by folding or keeping a line break, not written as a character.
    from_break: bool,
}

/// The value as read again from the file, character by character.
struct Trace<'a> {
    text: &'a str,
    value: &'a str,
    written: Vec<Written>,
}

impl<'a> Trace<'a> {
    /// Reads the scalar at `byte` of `text` again; `None` unless that reproduces `value`.
    fn of(text: &'a str, byte: usize, value: &'a str) -> Option<Trace<'a>> {
        let first = text.get(byte..)?.chars().next();
        // Block content may start with a quote, so a quote alone does not decide.
        type Attempt<'t> = fn(&mut Trace<'t>, usize) -> Option<()>;
        let mut attempts: Vec<Attempt<'a>> = match first {
            Some('\'') => vec![Trace::single_quoted],
            Some('"') => vec![Trace::double_quoted],
            _ => Vec::new(),
        };
        attempts.extend([Trace::block as Attempt<'a>, Trace::plain]);
        attempts.into_iter().find_map(|attempt| {
            let mut trace = Trace {
                text,
                value,
                written: Vec::new(),
            };
            attempt(&mut trace, byte)?;
            (trace.produced() == value.len()).then_some(trace)
        })
    }

    /// The file offset for byte `offset` of the value; past its end, the place just after
    /// its last written character.
    fn locate(&self, offset: usize) -> Option<usize> {
        if offset < self.value.len() {
            let index = self.written.partition_point(|c| c.at <= offset);
            return self.written.get(index.checked_sub(1)?).map(|c| c.source);
        }
        let last = self.written.iter().rev().find(|c| !c.from_break)?;
        Some(last.source + last.width)
    }

    /// How many bytes of the value are produced so far.
    fn produced(&self) -> usize {
        self.written
            .last()
            .and_then(|c| Some(c.at + self.value.get(c.at..)?.chars().next()?.len_utf8()))
            .unwrap_or(0)
    }

    /// Adds one character; `None` when the value does not continue with it.
    fn push(&mut self, c: char, source: usize, width: usize, from_break: bool) -> Option<()> {
        let at = self.produced();
        self.value.get(at..)?.starts_with(c).then_some(())?;
        self.written.push(Written {
            at,
            source,
            width,
            from_break,
        });
        Some(())
    }

    fn done(&self) -> bool {
        self.produced() >= self.value.len()
    }

    /// A plain scalar: up to the value's length, lines folded.
    fn plain(&mut self, byte: usize) -> Option<()> {
        let mut folding = Folding::new(byte);
        while !self.done() {
            let c = self.text.get(folding.at..)?.chars().next()?;
            folding.step(self, c)?;
        }
        Some(())
    }

    /// `'…'`: a doubled quote is one quote; lines folded.
    fn single_quoted(&mut self, byte: usize) -> Option<()> {
        let mut folding = Folding::new(byte + 1);
        loop {
            let rest = self.text.get(folding.at..)?;
            if rest.starts_with("''") {
                folding.flush(self)?;
                self.push('\'', folding.at, 2, false)?;
                folding.at += 2;
            } else if rest.starts_with('\'') {
                return folding.flush(self);
            } else {
                folding.step(self, rest.chars().next()?)?;
            }
        }
    }

    /// `"…"`: escapes, an escaped line break that joins lines, lines folded.
    fn double_quoted(&mut self, byte: usize) -> Option<()> {
        let mut folding = Folding::new(byte + 1);
        loop {
            let rest = self.text.get(folding.at..)?;
            let c = rest.chars().next()?;
            match c {
                '"' => return folding.flush(self),
                '\\' if line_break(rest.get(1..)?).is_some() => {
                    // Whitespace before an escaped break is content.
                    folding.flush(self)?;
                    folding.at += 1;
                    folding.line_break(self, false)?;
                }
                '\\' => {
                    folding.flush(self)?;
                    let (escaped, width) = escape(rest)?;
                    self.push(escaped, folding.at, width, false)?;
                    folding.at += width;
                }
                _ => folding.step(self, c)?,
            }
        }
    }

    /// `|` or `>`: `byte` is the first character of the first non-empty line, whose column
    /// is the content's indentation.
    fn block(&mut self, byte: usize) -> Option<()> {
        let text = self.text;
        let line_start = text.get(..byte)?.rfind(['\n', '\r']).map_or(0, |at| at + 1);
        let indent = byte - line_start;
        if !text.get(line_start..byte)?.bytes().all(|b| b == b' ') {
            return None;
        }
        let (header, content_start) = header_before(text, line_start)?;
        let lines = content_lines(text, content_start, indent);
        let last_text = lines.iter().rposition(|line| line.text.is_some())?;
        self.block_body(header.folded, &lines[..=last_text])?;
        self.chomp(&header.chomping, &lines[last_text..])
    }

    /// A block scalar's lines up to its last non-empty one, folded or kept.
    fn block_body(&mut self, folded: bool, lines: &[Line<'_>]) -> Option<()> {
        let mut previous: Option<&Line> = None;
        let mut empty_since: Vec<&Line> = Vec::new();
        for line in lines {
            let Some((text_start, content)) = line.text else {
                empty_since.push(line);
                continue;
            };
            match previous {
                None => {
                    for empty in &empty_since {
                        self.push('\n', empty.break_at?, 1, true)?;
                    }
                }
                Some(previous) => {
                    let folds =
                        folded && !previous.is_spaced() && !content.starts_with([' ', '\t']);
                    if !folds {
                        self.push('\n', previous.break_at?, 1, true)?;
                    } else if empty_since.is_empty() {
                        self.push(' ', previous.break_at?, 1, true)?;
                    }
                    for empty in &empty_since {
                        self.push('\n', empty.break_at?, 1, true)?;
                    }
                }
            }
            for (index, c) in content.char_indices() {
                self.push(c, text_start + index, c.len_utf8(), false)?;
            }
            empty_since.clear();
            previous = Some(line);
        }
        Some(())
    }

    /// The line breaks after the last non-empty line (`lines[0]`): none, its own, or its
    /// own and every empty line's.
    fn chomp(&mut self, chomping: &Chomping, lines: &[Line<'_>]) -> Option<()> {
        let kept = match chomping {
            Chomping::Strip => 0,
            Chomping::Clip => 1,
            Chomping::Keep => lines.len(),
        };
        for at in lines.iter().take(kept).filter_map(|line| line.break_at) {
            self.push('\n', at, 1, true)?;
        }
        Some(())
    }
}

/// Line folding shared by the plain and quoted styles: blanks before a line break are
/// dropped, blanks starting the next line are dropped, and the break becomes a space, or
/// one newline per empty line that follows it.
struct Folding {
    /// The byte offset being read.
    at: usize,
    /// Blanks read but not yet known to be content: `(offset, character)`.
    blanks: Vec<(usize, char)>,
}

impl Folding {
    fn new(at: usize) -> Folding {
        Folding {
            at,
            blanks: Vec::new(),
        }
    }

    /// Reads one character that is not an escape or a closing quote.
    fn step(&mut self, trace: &mut Trace<'_>, c: char) -> Option<()> {
        if c == ' ' || c == '\t' {
            self.blanks.push((self.at, c));
            self.at += 1;
            return Some(());
        }
        if line_break(trace.text.get(self.at..)?).is_some() {
            self.blanks.clear();
            return self.line_break(trace, true);
        }
        self.flush(trace)?;
        trace.push(c, self.at, c.len_utf8(), false)?;
        self.at += c.len_utf8();
        Some(())
    }

    /// Blanks followed by content, or by a closing quote, are content.
    fn flush(&mut self, trace: &mut Trace<'_>) -> Option<()> {
        for (at, c) in self.blanks.drain(..) {
            trace.push(c, at, 1, false)?;
        }
        Some(())
    }

    /// Reads the line break at `self.at` and the empty lines after it; `space` says
    /// whether a break followed by no empty line becomes a space (an escaped break does
    /// not).
    fn line_break(&mut self, trace: &mut Trace<'_>, space: bool) -> Option<()> {
        let first = self.at;
        self.at += line_break(trace.text.get(self.at..)?)?;
        let mut empty = Vec::new();
        loop {
            let rest = trace.text.get(self.at..)?;
            let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            match line_break(&rest[blanks..]) {
                Some(width) => {
                    empty.push(self.at + blanks);
                    self.at += blanks + width;
                }
                None => {
                    self.at += blanks;
                    break;
                }
            }
        }
        if empty.is_empty() && space {
            trace.push(' ', first, 1, true)?;
        }
        for at in empty {
            trace.push('\n', at, 1, true)?;
        }
        Some(())
    }
}

/// The width of the line break `text` starts with: CR LF, LF or CR.
fn line_break(text: &str) -> Option<usize> {
    if text.starts_with("\r\n") {
        Some(2)
    } else if text.starts_with(['\n', '\r']) {
        Some(1)
    } else {
        None
    }
}

/// The character a double-quoted escape stands for, and how many bytes it is written in.
fn escape(text: &str) -> Option<(char, usize)> {
    let letter = text.get(1..)?.chars().next()?;
    let simple = match letter {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => return hex(text, 2),
        'u' => return hex(text, 4),
        'U' => return hex(text, 8),
        _ => return None,
    };
    Some((simple, 1 + letter.len_utf8()))
}

/// `\xXX`, `\uXXXX`, `\UXXXXXXXX`.
fn hex(text: &str, digits: usize) -> Option<(char, usize)> {
    let code = u32::from_str_radix(text.get(2..2 + digits)?, 16).ok()?;
    Some((char::from_u32(code)?, 2 + digits))
}

/// A block scalar's header: `|` or `>`, chomping and an indentation indicator.
struct Header {
    folded: bool,
    chomping: Chomping,
}

enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// The header on the last line before `line_start` that is not blank, and where the
/// line after it starts. Only blank lines may stand between the header and the content.
fn header_before(text: &str, line_start: usize) -> Option<(Header, usize)> {
    let before = text.get(..line_start)?;
    let mut end = line_start;
    loop {
        let body_end = before[..end].trim_end_matches(['\n', '\r']).len();
        if body_end == end {
            return None;
        }
        let start = before[..body_end]
            .rfind(['\n', '\r'])
            .map_or(0, |at| at + 1);
        let line = &before[start..body_end];
        if line.bytes().all(|b| b == b' ') {
            end = start;
            continue;
        }
        let header_end = start + line.len() + line_break(&before[body_end..])?;
        return Some((parse_header(line)?, header_end));
    }
}

/// The header at the end of a line such as `when: >- # comment`.
fn parse_header(line: &str) -> Option<Header> {
    let mut tokens = line.split([' ', '\t']).filter(|token| !token.is_empty());
    let mut last = None;
    for token in tokens.by_ref() {
        if token.starts_with('#') {
            break;
        }
        last = Some(token);
    }
    let token = last?;
    let folded = match token.chars().next()? {
        '|' => false,
        '>' => true,
        _ => return None,
    };
    let indicators = &token[1..];
    let chomps = indicators.matches(['-', '+']).count();
    let digits = indicators
        .matches(|c: char| ('1'..='9').contains(&c))
        .count();
    if indicators.len() != chomps + digits || chomps > 1 || digits > 1 {
        return None;
    }
    let chomping = if indicators.contains('-') {
        Chomping::Strip
    } else if indicators.contains('+') {
        Chomping::Keep
    } else {
        Chomping::Clip
    };
    Some(Header { folded, chomping })
}

/// One line of a block scalar's body.
struct Line<'a> {
    /// Where its content starts (after the indentation) and the content; `None` for an
    /// empty line.
    text: Option<(usize, &'a str)>,
    /// Where its line break is; `None` on the last line of a file without one.
    break_at: Option<usize>,
}

impl Line<'_> {
    /// A "more indented" line, whose line breaks a folded scalar keeps.
    fn is_spaced(&self) -> bool {
        self.text
            .is_some_and(|(_, content)| content.starts_with([' ', '\t']))
    }
}

/// The body of a block scalar from `start` (the line after its header): lines indented at
/// least `indent`, and empty lines, up to the first line indented less.
fn content_lines(text: &str, start: usize, indent: usize) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut at = start;
    while at < text.len() {
        let rest = &text[at..];
        let body = rest.find(['\n', '\r']).map_or(rest.len(), |end| end);
        let spaces = rest[..body].len() - rest[..body].trim_start_matches(' ').len();
        let break_at = (body < rest.len()).then_some(at + body);
        let line = if spaces >= indent && body > indent {
            Line {
                text: Some((at + indent, &rest[indent..body])),
                break_at,
            }
        } else if spaces == body {
            Line {
                text: None,
                break_at,
            }
        } else {
            break;
        };
        lines.push(line);
        at += body + line_break(&rest[body..]).unwrap_or(0);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use serde_saphyr::Spanned;

    use super::*;
    use crate::document::{Document, Step};
    use crate::interpolation::Variables;

    /// Where byte `offset` of `when:`'s value is, as the loader reads the value.
    fn position(text: &str, offset: usize) -> Location {
        let source = Arc::new(Source::new("t.yaml", text));
        let document = Document::new(source.clone(), Variables::default());
        let when: Spanned<String> = document.read(&[Step::Key("when")]).unwrap().unwrap();
        inside_scalar(&source, when.referenced, &when.value, offset)
    }

    /// Where the first `needle` of `when:`'s value is.
    fn position_of(text: &str, needle: &str) -> Location {
        let source = Arc::new(Source::new("t.yaml", text));
        let document = Document::new(source.clone(), Variables::default());
        let when: Spanned<String> = document.read(&[Step::Key("when")]).unwrap().unwrap();
        let offset = when.value.find(needle).unwrap();
        inside_scalar(&source, when.referenced, &when.value, offset)
    }

    #[test]
    fn single_line_scalars_count_the_opening_quote_and_doubled_quotes() {
        assert_eq!(position("when: MSH-9 = x\n", 6), Location::new(1, 13));
        assert_eq!(position("when: 'MSH-9 = x'\n", 6), Location::new(1, 14));
        assert_eq!(position("when: \"MSH-9 = x\"\n", 6), Location::new(1, 14));
        assert_eq!(position("when: 'a''b = x'\n", 4), Location::new(1, 13));
        assert_eq!(position("when: 'a''b = x'\n", 1), Location::new(1, 9));
    }

    #[test]
    fn the_end_of_a_value_is_just_after_its_last_character() {
        assert_eq!(position("when: a =\n", 3), Location::new(1, 10));
        assert_eq!(position("when: 'a = '\n", 4), Location::new(1, 12));
        assert_eq!(position("when: >-\n  a =\n  b =\n", 7), Location::new(3, 6));
        assert_eq!(position("when: |\n  a =\n", 4), Location::new(2, 6));
    }

    #[test]
    fn plain_scalars_fold_their_lines() {
        let text = "when: MSH-9 = x and\n    PID-3 = y\n\n    or z\nnext: 1\n";
        assert_eq!(position_of(text, "PID"), Location::new(2, 5));
        assert_eq!(position_of(text, "z"), Location::new(4, 8));
    }

    #[test]
    fn single_quoted_scalars_fold_their_lines() {
        let text = "when: 'MSH-9 = x  \n   and it''s = y'\n";
        assert_eq!(position_of(text, "and"), Location::new(2, 4));
        assert_eq!(position_of(text, "s ="), Location::new(2, 12));
    }

    #[test]
    fn double_quoted_scalars_map_escapes_and_folded_lines() {
        let text = "when: \"a\\tb = \\\"x\\\" \\u00e9\\x41 \\\n   c\n\n  d \\\\ e\"\n";
        assert_eq!(position_of(text, "b ="), Location::new(1, 11));
        assert_eq!(position_of(text, "\"x"), Location::new(1, 15));
        assert_eq!(position_of(text, "é"), Location::new(1, 21));
        assert_eq!(position_of(text, "A"), Location::new(1, 27));
        assert_eq!(position_of(text, "c"), Location::new(2, 4));
        assert_eq!(position_of(text, "d"), Location::new(4, 3));
        assert_eq!(position_of(text, "\\"), Location::new(4, 5));
        assert_eq!(position_of(text, "e"), Location::new(4, 8));
    }

    #[test]
    fn literal_block_scalars_keep_their_lines() {
        let text = "when: |\n  MSH-9 = x\n\n  and PID-3 = y\nnext: 1\n";
        assert_eq!(position_of(text, "PID"), Location::new(4, 7));
        let kept = "when: |+\n  a\n\n  b = \n\nnext: 1\n";
        assert_eq!(position_of(kept, "b"), Location::new(4, 3));
        let stripped = "when: |-\n\n  a\n   b\n";
        assert_eq!(position_of(stripped, "b"), Location::new(4, 4));
    }

    #[test]
    fn folded_block_scalars_fold_like_yaml() {
        let text = "when: >-  # a comment\n  MSH-9.1 = \"ADT\"\n  and MSH-9.2 in (\"A01\")\n\n  \
                    and not\n     indented\n  msg.duplicate\nnext: 1\n";
        assert_eq!(position_of(text, "MSH-9.2"), Location::new(3, 7));
        assert_eq!(position_of(text, "not"), Location::new(5, 7));
        assert_eq!(position_of(text, "indented"), Location::new(6, 6));
        assert_eq!(position_of(text, "msg"), Location::new(7, 3));
    }

    #[test]
    fn block_scalars_honour_indentation_indicators_and_crlf() {
        assert_eq!(
            position_of("when: >2\n   a\n  b\n", "b"),
            Location::new(3, 3)
        );
        assert_eq!(
            position_of("when: |1-\n  a\n b\n", "a"),
            Location::new(2, 3)
        );
        let crlf = "when: >\r\n  a =\r\n  b\r\n";
        assert_eq!(position_of(crlf, "b"), Location::new(3, 3));
        let nested = "- when: >-\n    x = 1\n    and é = 2\n";
        let source = Arc::new(Source::new("t.yaml", nested));
        let document = Document::new(source.clone(), Variables::default());
        let path = [Step::Index(0), Step::Key("when")];
        let when: Spanned<String> = document.read(&path).unwrap().unwrap();
        let offset = when.value.find('=').map(|first| first + 1).unwrap();
        let offset = offset + when.value[offset..].find('=').unwrap();
        let at = inside_scalar(&source, when.referenced, &when.value, offset);
        assert_eq!(at, Location::new(3, 11));
    }

    #[test]
    fn a_value_that_is_not_the_files_text_points_at_its_start() {
        let source = Source::new("t.yaml", "when: 'a = ${X}'\n");
        let at = inside(&source, Location::new(1, 7), 6, "a = 1", 4);
        assert_eq!(at, Location::new(1, 7));
        let at = inside(&source, Location::new(1, 7), 6, "a = ${X}", 4);
        assert_eq!(at, Location::new(1, 12));
    }

    /// Lines of text for the styles below: words, blanks, quotes and backslashes.
    fn lines() -> impl Strategy<Value = Vec<String>> {
        let line = "[ a-zé=()\"'\\\t]{0,12}";
        prop::collection::vec(line, 1..5)
    }

    /// Every character that is written as itself is found where it is written.
    fn maps_exactly(text: &str, path: &[Step<'_>]) {
        let source = Source::new("t.yaml", text);
        let document = Document::new(Arc::new(source.clone()), Variables::default());
        let Ok(Some(when)) = document.read::<Spanned<String>>(path) else {
            return;
        };
        // A scalar of blank lines has no character to point at.
        if when.value.trim().is_empty() {
            return;
        }
        let start = Location::from(when.referenced);
        let byte = start.offset_in(text).unwrap();
        let trace = Trace::of(text, byte, &when.value);
        let trace = trace.unwrap_or_else(|| panic!("{text:?} read as {:?}", when.value));
        for written in &trace.written {
            let c = when.value[written.at..].chars().next().unwrap();
            if !written.from_break && written.width == c.len_utf8() {
                assert_eq!(&text[written.source..][..written.width], c.to_string());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn block_scalars_map_exactly(
            lines in lines(),
            indents in prop::collection::vec(0..3usize, 5),
            style in prop::sample::select(vec!["|", ">", "|-", ">-", "|+", ">+", "|2", ">2-"]),
        ) {
            let mut text = format!("- when: {style}\n");
            for (line, extra) in lines.iter().zip(indents) {
                let line = line.trim_end_matches([' ', '\t']);
                let indent = if line.is_empty() { 0 } else { 4 + extra };
                text.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            }
            text.push_str("- next\n");
            maps_exactly(&text, &[Step::Index(0), Step::Key("when")]);
        }

        #[test]
        fn quoted_and_plain_scalars_map_exactly(
            lines in lines(),
            style in 0..3usize,
        ) {
            let body = match style {
                0 => lines.join("\n  ").replace('\'', "''"),
                1 => lines
                    .join("\n  ")
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace("é", "\\u00e9\\\n"),
                _ => lines.join("\n  ").replace(['\'', '"', '\\', '\t'], "x"),
            };
            let quote = ["'", "\"", ""][style];
            let body = if style == 2 { format!("a{}", body.trim_end()) } else { body };
            maps_exactly(&format!("when: {quote}{body}{quote}\nnext: 1\n"), &[Step::Key("when")]);
        }
    }
}
