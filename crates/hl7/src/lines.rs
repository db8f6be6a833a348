//! Cutting bytes into lines by the segment terminator rule of field case B09.
//!
//! With `terminator` CR, a CR ends a line and one LF right after it belongs to that
//! terminator; with `terminator` LF (only for input that holds no CR), an LF ends a line. In
//! both modes, LFs at the start of a line belong to the line break before it: a segment
//! starts with its id, never with an LF, so they cannot be data. Everything else is content.
//!
//! In LF mode an LF is also data when what follows it cannot start a segment (no segment
//! id followed by the field separator of the last MSH seen): a note with a line break in
//! OBX-5 then stays in its segment, as it does in CR mode (B09 c).
//! Lines cover the input in order without overlapping; CR and LF are ASCII, so every
//! boundary is also a `char` boundary of UTF-8 text.

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// One line of the input: a segment, an envelope segment or a blank line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    /// First byte of the line's content.
    pub(crate) start: usize,
    /// End of the content: the terminator's first byte, or the end of the input.
    pub(crate) end: usize,
    /// First byte after the terminator.
    pub(crate) next: usize,
}

/// The lines of the input; in CR mode a CR, with an LF after it, ends a line, and LFs before
/// a line's first byte belong to the line break.
pub(crate) struct Lines<'a> {
    input: &'a [u8],
    position: usize,
    terminator: u8,
    /// The field separator of the last MSH line, once one was seen.
    field_separator: Option<u8>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a [u8], start: usize, terminator: u8) -> Lines<'a> {
        Lines {
            input,
            position: start,
            terminator,
            field_separator: None,
        }
    }
}

impl Iterator for Lines<'_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let rest = self.input.get(self.position..)?;
        let leading_lf = rest.iter().take_while(|&&byte| byte == LF).count();
        let start = self.position + leading_lf;
        if start >= self.input.len() {
            self.position = self.input.len() + 1;
            return None;
        }

        if self.input[start..].starts_with(b"MSH") {
            self.field_separator = self.input.get(start + 3).copied();
        }
        let end = self.content_end(start);
        let mut next = (end + 1).min(self.input.len());
        if self.terminator == CR && self.input.get(next) == Some(&LF) {
            next += 1;
        }

        self.position = next;
        Some(Line { start, end, next })
    }
}

impl Lines<'_> {
    /// Where the content of the line starting at `start` ends: at the next terminator, except
    /// that in LF mode an LF before something that cannot start a segment is data.
    fn content_end(&self, start: usize) -> usize {
        let mut from = start;
        loop {
            let Some(found) = self.input[from..]
                .iter()
                .position(|&b| b == self.terminator)
            else {
                return self.input.len();
            };
            let end = from + found;
            let after = &self.input[end + 1..];
            if self.terminator == CR || after.is_empty() || self.starts_segment(after) {
                return end;
            }
            from = end + 1;
        }
    }

    /// True when `rest` begins a segment (an id and the field separator, or a bare id) or a
    /// blank line.
    fn starts_segment(&self, rest: &[u8]) -> bool {
        let blank = rest
            .iter()
            .take_while(|&&b| b != LF)
            .all(u8::is_ascii_whitespace);
        let id = rest.len() >= 3
            && rest[0].is_ascii_uppercase()
            && rest[1..3]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let id_ends = match (rest.get(3), self.field_separator) {
            (None | Some(&LF), _) => true,
            (Some(byte), Some(separator)) => *byte == separator,
            (Some(byte), None) => !byte.is_ascii_alphanumeric(),
        };
        blank || (id && id_ends) || rest.starts_with(b"MSH")
    }
}

/// The segment terminator of `input`: CR if it holds any CR, else LF.
pub(crate) fn terminator_for(input: &[u8]) -> u8 {
    if input.contains(&CR) { CR } else { LF }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(input: &[u8]) -> Vec<&[u8]> {
        let terminator = terminator_for(input);
        Lines::new(input, 0, terminator)
            .map(|line| &input[line.start..line.end])
            .collect()
    }

    #[test]
    fn cr_mode_keeps_a_lone_lf_as_data() {
        assert_eq!(
            contents(b"A|1\nB\rC|2\r\n\nD"),
            [&b"A|1\nB"[..], b"C|2", b"D"]
        );
        assert_eq!(contents(b"A\r\rB\r"), [&b"A"[..], b"", b"B"]);
    }

    #[test]
    fn lf_mode_without_any_cr() {
        assert_eq!(contents(b"ABC\nDEF\n\n"), [&b"ABC"[..], b"DEF"]);
        assert_eq!(contents(b""), Vec::<&[u8]>::new());
    }

    #[test]
    fn lf_mode_keeps_a_line_break_inside_a_field() {
        let input = b"MSH|^~\\&|A\nOBX|1|TX|N||line one\nline two||F\nNTE|1\n";
        assert_eq!(
            contents(input),
            [
                &b"MSH|^~\\&|A"[..],
                b"OBX|1|TX|N||line one\nline two||F",
                b"NTE|1"
            ]
        );
        let custom = b"MSH:;~\\&:A\nPID:1\nPID|not a segment here\n";
        assert_eq!(
            contents(custom),
            [&b"MSH:;~\\&:A"[..], b"PID:1\nPID|not a segment here"]
        );
    }

    #[test]
    fn lines_cover_the_input() {
        let input = b"MSH|x\r\nPID|1\rOBX|a\nb\r\n";
        let lines: Vec<Line> = Lines::new(input, 0, CR).collect();
        assert_eq!(lines.first().map(|line| line.start), Some(0));
        assert_eq!(lines.last().map(|line| line.next), Some(input.len()));
        for pair in lines.windows(2) {
            assert_eq!(pair[0].next, pair[1].start);
        }
    }
}
