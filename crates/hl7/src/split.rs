//! Splitting a file's bytes into messages.
//!
//! A file (or any byte stream that is not MLLP-framed) may hold one message, several
//! messages in a row, or batches wrapped in FHS/BHS ... BTS/FTS envelopes. This module cuts
//! it into [`Piece`]s: each message, or each run of bytes that belongs to no message, with
//! its offset in the input. It works on bytes, before any charset decoding.
//!
//! Segment terminators follow field case B09: if the input contains any CR, only CR
//! (optionally followed by LF) ends a segment, and a lone LF is data (a line break inside
//! OBX-5). Only when the input has no CR at all, and [`SplitOptions::lenient_lf`] is on, does
//! LF end segments; with it off such an input is one rejected piece, "no CR segment
//! terminator". LF bytes right after a terminator, before the next segment id, are part of
//! the line break (a CRLF file with an extra blank LF line), never data.
//!
//! Invariants of the result:
//! - every [`Piece::Message`] starts with `MSH` and passes [`scan_header`]; a message whose
//!   MSH does not becomes [`Piece::Rejected`] with the scan's reason;
//! - with [`SplitOptions::normalise_terminators`] off, a message's bytes are exactly the input
//!   bytes from its MSH to the terminator of its last segment; with it on, every segment of
//!   the message ends with exactly one CR (CRLF and, in LF-only input, LF become CR, a last
//!   segment without terminator gets one, blank lines and LFs at the start of a line are
//!   line breaks, not segments, and are dropped) and nothing else changes;
//! - a [`Piece::Rejected`] always carries the input bytes unchanged;
//! - pieces are in input order and never overlap; bytes that are in no piece are the BOM,
//!   blank lines, and the FHS/BHS/BTS/FTS envelope segments.
//!
//! What happens to each kind of fault:
//! - UTF-8 BOM at the start: dropped, offsets still count it.
//! - Blank lines and trailing whitespace between messages: ignored.
//! - Several MSH in a row: each MSH at the start of a segment begins a new message. An `MSH`
//!   in the middle of a line is data, not a new message.
//! - Segments before the first MSH, after a BTS/FTS, or in a file without any MSH: one
//!   rejected piece per run of them, whose reason names the first one. This also covers
//!   text markers such as `[SOM]MSH|...` (Mirth's SimpleSender format): the message is not
//!   recovered, because stripping the markers would change the message bytes; the reason
//!   says where the embedded `MSH` is.
//! - Text after a message's last segment (a trailing `[EOM]`, or a line that is not a
//!   segment) stays in that message: only a parse can tell it is not a segment.
//! - An MSH that [`scan_header`] refuses (MSH-2 with three characters, a letter as a
//!   delimiter): that message is rejected with the scan's reason; the others go on.
//! - FHS/BHS/BTS/FTS: not part of any message. Each envelope is reported in
//!   [`Split::envelopes`] with what it counted; a BTS-1 or FTS-1 that disagrees with the
//!   count, cannot be read, or is missing its header or trailer gives a [`SplitWarning`].
//! - LF-only input with [`SplitOptions::lenient_lf`] on: split on LF, with a warning.
//! - MLLP framing bytes in a file (VT before `MSH`, FS after the last segment) are not
//!   removed: unwrapping frames is the MLLP codec's work, and a line that starts with VT is
//!   not a segment, so it is rejected like any other text outside a message.

use std::fmt;

use crate::lines::{Line, Lines, terminator_for};
use crate::scan::{ScanError, scan_header, show_byte};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// End every segment of a message with exactly one CR. On by default: the store and
    /// the outbound side then see one form, whatever line ends the file had.
    pub normalise_terminators: bool,
    /// In an input without any CR, let LF end segments. On by default (files edited on
    /// Unix); off, such an input is rejected as "no CR segment terminator".
    pub lenient_lf: bool,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            normalise_terminators: true,
            lenient_lf: true,
        }
    }
}

/// The result of splitting: the pieces in input order, the envelopes seen and the warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Messages and rejected runs of bytes, in input order.
    pub pieces: Vec<Piece>,
    /// Problems that did not stop the split.
    pub warnings: Vec<SplitWarning>,
    /// Each batch (BHS) and file (FHS) envelope, in input order.
    pub envelopes: Vec<Envelope>,
}

impl Split {
    /// The messages, leaving out rejected pieces.
    pub fn messages(&self) -> impl Iterator<Item = &MessageBytes> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Message(message) => Some(message),
            Piece::Rejected { .. } => None,
        })
    }
}

/// One piece of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A message, starting with an MSH that [`scan_header`] accepts.
    Message(MessageBytes),
    /// Bytes that are not a usable message, unchanged, with the reason.
    Rejected {
        /// Byte offset of the piece in the input.
        offset: usize,
        /// The input bytes of the piece, unchanged.
        bytes: Vec<u8>,
        /// Why these bytes are not a message.
        reason: String,
    },
}

impl Piece {
    /// Byte offset of the piece in the input.
    pub fn offset(&self) -> usize {
        match self {
            Piece::Message(message) => message.offset,
            Piece::Rejected { offset, .. } => *offset,
        }
    }
}

/// The bytes of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBytes {
    /// Byte offset of the message's `MSH` in the input.
    pub offset: usize,
    /// The message, terminators normalised or not as the options said.
    pub bytes: Vec<u8>,
}

/// Which envelope: a batch (BHS ... BTS) or a file (FHS ... FTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeKind {
    /// BHS ... BTS; BTS-1 counts the messages.
    Batch,
    /// FHS ... FTS; FTS-1 counts the batches.
    File,
}

impl EnvelopeKind {
    /// The header segment id: `BHS` or `FHS`.
    pub fn header(self) -> &'static str {
        match self {
            EnvelopeKind::Batch => "BHS",
            EnvelopeKind::File => "FHS",
        }
    }

    /// The trailer segment id: `BTS` or `FTS`.
    pub fn trailer(self) -> &'static str {
        match self {
            EnvelopeKind::Batch => "BTS",
            EnvelopeKind::File => "FTS",
        }
    }

    /// What the trailer's first field counts.
    fn counted(self) -> &'static str {
        match self {
            EnvelopeKind::Batch => "messages",
            EnvelopeKind::File => "batches",
        }
    }
}

/// One FHS or BHS envelope and what it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Batch or file.
    pub kind: EnvelopeKind,
    /// Byte offset of its header segment.
    pub offset: usize,
    /// Messages in a batch (rejected ones included), batches in a file.
    pub count: usize,
    /// The count its trailer declares (BTS-1, FTS-1), when there is a readable one.
    pub declared: Option<u64>,
    /// Whether its trailer was found.
    pub closed: bool,
}

impl Envelope {
    /// Whether the trailer's count agrees with what was found; `None` when there is no
    /// declared count to compare.
    pub fn count_matches(&self) -> Option<bool> {
        self.declared.map(|declared| declared == self.count as u64)
    }
}

/// A problem that did not stop the split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitWarning {
    /// The input has no CR; its segments were split on LF.
    LfTerminators,
    /// A BTS-1 or FTS-1 disagrees with what the envelope held.
    CountMismatch {
        /// Byte offset of the trailer.
        offset: usize,
        /// Which envelope.
        kind: EnvelopeKind,
        /// The count the trailer declares.
        declared: u64,
        /// What was found.
        counted: usize,
    },
    /// A BTS-1 or FTS-1 that is not a number.
    UnreadableCount {
        /// Byte offset of the trailer.
        offset: usize,
        /// Which envelope.
        kind: EnvelopeKind,
        /// The field as sent (lossy UTF-8).
        text: String,
    },
    /// A BHS or FHS without its BTS or FTS.
    MissingTrailer {
        /// Byte offset of the header.
        offset: usize,
        /// Which envelope.
        kind: EnvelopeKind,
    },
    /// A BTS or FTS without its BHS or FHS.
    UnexpectedTrailer {
        /// Byte offset of the trailer.
        offset: usize,
        /// Which envelope.
        kind: EnvelopeKind,
    },
}

impl SplitWarning {
    /// Byte offset in the input the warning is about.
    pub fn offset(&self) -> usize {
        match self {
            SplitWarning::LfTerminators => 0,
            SplitWarning::CountMismatch { offset, .. }
            | SplitWarning::UnreadableCount { offset, .. }
            | SplitWarning::MissingTrailer { offset, .. }
            | SplitWarning::UnexpectedTrailer { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for SplitWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitWarning::LfTerminators => {
                f.write_str("the input has no CR; segments were split on LF")
            }
            SplitWarning::CountMismatch {
                offset,
                kind,
                declared,
                counted,
            } => write!(
                f,
                "{}-1 declares {declared} {} but {counted} were found, at byte {offset}",
                kind.trailer(),
                kind.counted()
            ),
            SplitWarning::UnreadableCount { offset, kind, text } => write!(
                f,
                "{}-1 ('{text}') is not a count of {}, at byte {offset}",
                kind.trailer(),
                kind.counted()
            ),
            SplitWarning::MissingTrailer { offset, kind } => write!(
                f,
                "{} with no {} after it, at byte {offset}",
                kind.header(),
                kind.trailer()
            ),
            SplitWarning::UnexpectedTrailer { offset, kind } => write!(
                f,
                "{} with no {} before it, at byte {offset}",
                kind.trailer(),
                kind.header()
            ),
        }
    }
}

/// Splits `input` into messages and rejected pieces.
///
/// Never fails: whatever cannot be a message becomes a [`Piece::Rejected`] with its reason.
pub fn split_messages(input: &[u8], options: &SplitOptions) -> Split {
    let start = if input.starts_with(BOM) { BOM.len() } else { 0 };
    let terminator = terminator_for(input);
    let has_lf = input[start..].contains(&LF);
    if terminator == LF && has_lf && !options.lenient_lf {
        return no_cr_terminator(input, start);
    }

    let mut splitter = Splitter::new(input, *options);
    if terminator == LF && has_lf {
        splitter.split.warnings.push(SplitWarning::LfTerminators);
    }
    for line in Lines::new(input, start, terminator) {
        splitter.take(line);
    }
    splitter.finish()
}

/// The whole input as one rejected piece: LF-only while lenient LF splitting is off.
fn no_cr_terminator(input: &[u8], start: usize) -> Split {
    if input[start..].iter().all(u8::is_ascii_whitespace) {
        return Split::default();
    }
    let reason = "no CR segment terminator: the input ends its lines with LF only, and \
                  splitting on LF is off";
    Split {
        pieces: vec![Piece::Rejected {
            offset: 0,
            bytes: input.to_vec(),
            reason: reason.to_owned(),
        }],
        ..Split::default()
    }
}

/// What a line is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Msh,
    Header(EnvelopeKind),
    Trailer(EnvelopeKind),
    Other,
}

fn classify(content: &[u8]) -> LineKind {
    if content.iter().all(u8::is_ascii_whitespace) {
        return LineKind::Blank;
    }
    let id_ends = content
        .get(3)
        .is_none_or(|byte| !byte.is_ascii_alphanumeric());
    if !id_ends {
        return LineKind::Other;
    }
    match content.get(..3) {
        Some(b"MSH") => LineKind::Msh,
        Some(b"BHS") => LineKind::Header(EnvelopeKind::Batch),
        Some(b"FHS") => LineKind::Header(EnvelopeKind::File),
        Some(b"BTS") => LineKind::Trailer(EnvelopeKind::Batch),
        Some(b"FTS") => LineKind::Trailer(EnvelopeKind::File),
        _ => LineKind::Other,
    }
}

/// Lines collected for one piece.
#[derive(Debug)]
enum Group {
    Message(Vec<Line>),
    Outside(Vec<Line>),
}

/// The split in progress.
struct Splitter<'a> {
    input: &'a [u8],
    options: SplitOptions,
    split: Split,
    group: Option<Group>,
    open_batch: Option<usize>,
    open_file: Option<usize>,
}

impl<'a> Splitter<'a> {
    fn new(input: &'a [u8], options: SplitOptions) -> Splitter<'a> {
        Splitter {
            input,
            options,
            split: Split::default(),
            group: None,
            open_batch: None,
            open_file: None,
        }
    }

    fn take(&mut self, line: Line) {
        match classify(&self.input[line.start..line.end]) {
            LineKind::Blank => {}
            LineKind::Msh => self.start_message(line),
            LineKind::Header(kind) => self.open_envelope(kind, line),
            LineKind::Trailer(kind) => self.close_envelope(kind, line),
            LineKind::Other => self.add_to_group(line),
        }
    }

    fn finish(mut self) -> Split {
        self.flush();
        self.close_unfinished(EnvelopeKind::Batch);
        self.close_unfinished(EnvelopeKind::File);
        self.split
    }

    fn start_message(&mut self, line: Line) {
        self.flush();
        if let Some(batch) = self.open_batch {
            self.split.envelopes[batch].count += 1;
        }
        self.group = Some(Group::Message(vec![line]));
    }

    fn add_to_group(&mut self, line: Line) {
        match &mut self.group {
            Some(Group::Message(lines) | Group::Outside(lines)) => lines.push(line),
            None => self.group = Some(Group::Outside(vec![line])),
        }
    }

    fn open_envelope(&mut self, kind: EnvelopeKind, line: Line) {
        self.flush();
        self.close_unfinished(EnvelopeKind::Batch);
        if kind == EnvelopeKind::File {
            self.close_unfinished(EnvelopeKind::File);
        } else if let Some(file) = self.open_file {
            self.split.envelopes[file].count += 1;
        }

        self.split.envelopes.push(Envelope {
            kind,
            offset: line.start,
            count: 0,
            declared: None,
            closed: false,
        });
        let index = Some(self.split.envelopes.len() - 1);
        match kind {
            EnvelopeKind::Batch => self.open_batch = index,
            EnvelopeKind::File => self.open_file = index,
        }
    }

    fn close_envelope(&mut self, kind: EnvelopeKind, line: Line) {
        self.flush();
        if kind == EnvelopeKind::File {
            self.close_unfinished(EnvelopeKind::Batch);
        }
        let open = match kind {
            EnvelopeKind::Batch => self.open_batch.take(),
            EnvelopeKind::File => self.open_file.take(),
        };
        let Some(index) = open else {
            let offset = line.start;
            self.split
                .warnings
                .push(SplitWarning::UnexpectedTrailer { offset, kind });
            return;
        };

        let content = &self.input[line.start..line.end];
        let envelope = &mut self.split.envelopes[index];
        envelope.closed = true;
        if let Some(warning) = check_count(envelope, content, line.start) {
            self.split.warnings.push(warning);
        }
    }

    /// Warns about an envelope of `kind` still open, and closes it.
    fn close_unfinished(&mut self, kind: EnvelopeKind) {
        let open = match kind {
            EnvelopeKind::Batch => self.open_batch.take(),
            EnvelopeKind::File => self.open_file.take(),
        };
        if let Some(index) = open {
            let offset = self.split.envelopes[index].offset;
            self.split
                .warnings
                .push(SplitWarning::MissingTrailer { offset, kind });
        }
    }

    /// Turns the collected lines into a piece.
    fn flush(&mut self) {
        let piece = match self.group.take() {
            None => return,
            Some(Group::Message(lines)) => self.message_piece(&lines),
            Some(Group::Outside(lines)) => self.outside_piece(&lines),
        };
        self.split.pieces.push(piece);
    }

    fn message_piece(&self, lines: &[Line]) -> Piece {
        let (offset, exact) = self.exact_bytes(lines);
        let bytes = if self.options.normalise_terminators {
            self.normalised_bytes(lines)
        } else {
            exact.to_vec()
        };

        match scan_header(&bytes) {
            Ok(_) => Piece::Message(MessageBytes { offset, bytes }),
            Err(ScanError { offset: at, reason }) => Piece::Rejected {
                offset,
                bytes: exact.to_vec(),
                reason: format!("{reason} (byte {at} of the message)"),
            },
        }
    }

    fn outside_piece(&self, lines: &[Line]) -> Piece {
        let (offset, exact) = self.exact_bytes(lines);
        let first = &self.input[lines[0].start..lines[0].end];
        let mut reason = format!(
            "{} at byte {offset} is outside any message: a message starts with an MSH segment",
            describe_line(first)
        );
        if let Some(hint) = embedded_msh(exact) {
            reason.push_str(&format!(
                "; 'MSH' appears at byte {} inside a line, after text that is not HL7 \
                 (markers such as [SOM] are not part of a message)",
                offset + hint
            ));
        }
        Piece::Rejected {
            offset,
            bytes: exact.to_vec(),
            reason,
        }
    }

    /// The input bytes from the first line to the terminator of the last one.
    fn exact_bytes(&self, lines: &[Line]) -> (usize, &'a [u8]) {
        let start = lines.first().map_or(0, |line| line.start);
        let end = lines.last().map_or(start, |line| line.next);
        (start, &self.input[start..end])
    }

    /// Every non-blank line followed by exactly one CR.
    fn normalised_bytes(&self, lines: &[Line]) -> Vec<u8> {
        let length = lines.iter().map(|line| line.end - line.start + 1).sum();
        let mut bytes = Vec::with_capacity(length);
        for line in lines {
            let content = &self.input[line.start..line.end];
            if classify(content) != LineKind::Blank {
                bytes.extend_from_slice(content);
                bytes.push(CR);
            }
        }
        bytes
    }
}

/// Compares a trailer's first field with what the envelope held.
fn check_count(envelope: &mut Envelope, trailer: &[u8], offset: usize) -> Option<SplitWarning> {
    let kind = envelope.kind;
    let field = trailer_count_field(trailer);
    let text = String::from_utf8_lossy(field);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }

    let Ok(declared) = text.parse::<u64>() else {
        let text = text.to_owned();
        return Some(SplitWarning::UnreadableCount { offset, kind, text });
    };
    envelope.declared = Some(declared);
    let counted = envelope.count;
    (declared != counted as u64).then_some(SplitWarning::CountMismatch {
        offset,
        kind,
        declared,
        counted,
    })
}

/// BTS-1 or FTS-1: from the byte after the id (the field separator) to the next one.
fn trailer_count_field(trailer: &[u8]) -> &[u8] {
    let Some(&separator) = trailer.get(3) else {
        return &[];
    };
    let rest = &trailer[4..];
    let length = rest
        .iter()
        .position(|&byte| byte == separator)
        .unwrap_or(rest.len());
    &rest[..length]
}

/// Where `MSH` occurs inside a line (not at its start) in `bytes`, if it does.
fn embedded_msh(bytes: &[u8]) -> Option<usize> {
    let found = bytes.windows(3).position(|window| window == b"MSH")?;
    let at_line_start = found == 0 || matches!(bytes[found - 1], CR | LF);
    (!at_line_start).then_some(found)
}

/// The start of a line, as a reader wants to see it in a reason.
fn describe_line(content: &[u8]) -> String {
    let mut shown = String::new();
    for &byte in content.iter().take(12) {
        if byte.is_ascii_graphic() || byte == b' ' {
            shown.push(char::from(byte));
        } else {
            shown.push_str(&show_byte(byte));
        }
    }
    let more = if content.len() > 12 { "..." } else { "" };
    format!("the line '{shown}{more}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u32) -> String {
        format!(
            "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG{n:04}|P\
             |2.5.1\rPID|1||TEST{n:04}^^^TESTHOSP^MR||TEST^PATIENT\r"
        )
    }

    fn messages(split: &Split) -> Vec<&[u8]> {
        split
            .messages()
            .map(|message| message.bytes.as_slice())
            .collect()
    }

    fn reasons(split: &Split) -> Vec<&str> {
        split
            .pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Rejected { reason, .. } => Some(reason.as_str()),
                Piece::Message(_) => None,
            })
            .collect()
    }

    #[test]
    fn several_messages_in_a_row() {
        let input = format!("{}{}{}", m(1), m(2), m(3));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(
            messages(&split),
            [m(1).as_bytes(), m(2).as_bytes(), m(3).as_bytes()]
        );
        assert_eq!(split.pieces[1].offset(), m(1).len());
        assert!(split.warnings.is_empty());
    }

    #[test]
    fn crlf_becomes_cr_or_stays_exact() {
        let input = format!("{}\r\n{}", m(1), m(2)).replace('\r', "\r\n");
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(messages(&split), [m(1).as_bytes(), m(2).as_bytes()]);

        let exact = SplitOptions {
            normalise_terminators: false,
            ..SplitOptions::default()
        };
        let split = split_messages(input.as_bytes(), &exact);
        let first = m(1).replace('\r', "\r\n");
        assert_eq!(messages(&split)[0], first.as_bytes());
        assert_eq!(split.pieces[1].offset(), first.len() + "\r\n\n".len());
    }

    #[test]
    fn lf_only_input_splits_on_lf_when_lenient() {
        let input = format!("{}{}", m(1), m(2)).replace('\r', "\n");
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(messages(&split), [m(1).as_bytes(), m(2).as_bytes()]);
        assert_eq!(split.warnings, [SplitWarning::LfTerminators]);

        let strict = SplitOptions {
            lenient_lf: false,
            ..SplitOptions::default()
        };
        let split = split_messages(input.as_bytes(), &strict);
        assert_eq!(split.pieces.len(), 1);
        assert!(reasons(&split)[0].starts_with("no CR segment terminator"));
    }

    #[test]
    fn a_lone_lf_is_data_when_the_input_has_cr() {
        let input = "MSH|^~\\&|A|B|C|D|1||ORU^R01|X|P|2.5\rOBX|1|TX|N||one\ntwo\r";
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(messages(&split), [input.as_bytes()]);
    }

    #[test]
    fn bom_blank_lines_and_missing_last_terminator() {
        let input = format!("\u{feff}\r\n{}\r\n   \r\n{}", m(1), m(2).trim_end());
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(messages(&split), [m(1).as_bytes(), m(2).as_bytes()]);
        assert_eq!(split.pieces[0].offset(), 5);
    }

    #[test]
    fn segments_before_the_first_msh_are_rejected() {
        let input = format!("EVN|A04\rPID|1\r{}", m(1));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(split.pieces.len(), 2);
        let Piece::Rejected {
            offset,
            bytes,
            reason,
        } = &split.pieces[0]
        else {
            panic!("expected a rejected piece");
        };
        assert_eq!(*offset, 0);
        assert_eq!(bytes, b"EVN|A04\rPID|1\r");
        assert!(reason.contains("'EVN|A04'"), "{reason}");
    }

    #[test]
    fn text_markers_are_rejected_with_a_hint() {
        let input = format!("[SOM]{}[EOM]", m(1).trim_end());
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(split.pieces.len(), 1);
        assert!(
            reasons(&split)[0].contains("'MSH' appears at byte 5"),
            "{:?}",
            reasons(&split)
        );
    }

    #[test]
    fn mllp_framing_bytes_are_not_unwrapped() {
        let input = format!("\x0b{}\x1c\r", m(1));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(split.pieces.len(), 1);
        assert!(
            reasons(&split)[0].contains("'MSH' appears at byte 1"),
            "{:?}",
            reasons(&split)
        );
    }

    #[test]
    fn a_bad_msh_rejects_only_its_message() {
        let bad = "MSH|~\\&|A|B\rPID|1\r";
        let input = format!("{}{bad}{}", m(1), m(3));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(split.pieces.len(), 3);
        assert!(
            matches!(&split.pieces[1], Piece::Rejected { bytes, .. } if bytes == bad.as_bytes())
        );
        assert!(reasons(&split)[0].contains("(byte 4 of the message)"));
    }

    #[test]
    fn batch_envelopes_are_counted_and_checked() {
        let input = format!(
            "FHS|^~\\&|A\rBHS|^~\\&|A\r{}{}BTS|2\rBHS|^~\\&|A\r{}BTS|3\rFTS|2\r",
            m(1),
            m(2),
            m(3)
        );
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(
            messages(&split),
            [m(1).as_bytes(), m(2).as_bytes(), m(3).as_bytes()]
        );
        let counts: Vec<_> = split
            .envelopes
            .iter()
            .map(|e| (e.kind, e.count, e.declared))
            .collect();
        assert_eq!(
            counts,
            [
                (EnvelopeKind::File, 2, Some(2)),
                (EnvelopeKind::Batch, 2, Some(2)),
                (EnvelopeKind::Batch, 1, Some(3)),
            ]
        );
        assert_eq!(split.warnings.len(), 1);
        let warning = &split.warnings[0];
        assert!(matches!(
            warning,
            SplitWarning::CountMismatch {
                declared: 3,
                counted: 1,
                ..
            }
        ));
        assert_eq!(
            warning.to_string(),
            format!(
                "BTS-1 declares 3 messages but 1 were found, at byte {}",
                warning.offset()
            )
        );
    }

    #[test]
    fn envelope_faults_are_warnings() {
        let input = format!("BTS|x\rFHS|^~\\&\rBHS|^~\\&\r{}BTS|one\r", m(1));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(messages(&split).len(), 1);
        let kinds: Vec<_> = split.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(kinds[0].starts_with("BTS with no BHS before it"));
        assert!(kinds[1].starts_with("BTS-1 ('one') is not a count"));
        assert!(kinds[2].starts_with("FHS with no FTS after it"));
    }

    #[test]
    fn segments_after_a_trailer_are_outside_any_message() {
        let input = format!("BHS|^~\\&\r{}BTS|1\rEVN|A04\r", m(1));
        let split = split_messages(input.as_bytes(), &SplitOptions::default());
        assert_eq!(split.pieces.len(), 2);
        assert!(reasons(&split)[0].contains("outside any message"));
    }

    #[test]
    fn empty_and_blank_inputs_give_nothing() {
        for input in [&b""[..], b"\r\n\r\n", b"   \n", b"\xEF\xBB\xBF"] {
            let split = split_messages(input, &SplitOptions::default());
            assert!(split.pieces.is_empty(), "{input:?}");
        }
    }
}
