//! Writing messages: segments of escaped values, each ended by CR.
//!
//! [`MessageWriter`] owns the bytes of one message; [`MessageWriter::msh`] and
//! [`MessageWriter::segment`] hand out a [`SegmentWriter`] that adds fields to one segment.
//! What holds for every message written here, whatever values are passed in:
//! - every segment, the last included, ends with exactly one CR (Ch.2 §2.5.4), written when
//!   its [`SegmentWriter`] is dropped, so a segment cannot be left open;
//! - no value holds a bare delimiter, CR or LF: text goes through [`escape`], and raw values
//!   copied from another message have their field separators, CRs and LFs escaped, so a
//!   value can never split a field or end a segment early. A whole segment copied with
//!   [`MessageWriter::raw_segment`] is the one exception: it keeps its LFs (data in a
//!   CR-terminated message), and only a CR in it is escaped;
//! - trailing empty fields and trailing empty components are left out: the standard reads
//!   an absent trailing field as empty (Ch.2 §2.6.1), and receivers that count fields are
//!   not surprised by a row of separators;
//! - text is encoded in the writer's encoding (UTF-8 unless told otherwise), one value at a
//!   time, so a stateful encoding such as ISO-2022-JP is back in ASCII at every delimiter;
//!   a character the encoding cannot hold becomes `?`.

use encoding_rs::{EncoderResult, Encoding};

use crate::escaping::escape;
use crate::scan::Delimiters;

const CR: u8 = b'\r';

/// The bytes of one message being written, with the delimiters it declares.
#[derive(Debug, Clone)]
pub struct MessageWriter {
    delimiters: Delimiters,
    encoding: &'static Encoding,
    bytes: Vec<u8>,
}

impl MessageWriter {
    /// A writer for a message with these delimiters, writing text as UTF-8.
    pub fn new(delimiters: Delimiters) -> MessageWriter {
        MessageWriter {
            delimiters,
            encoding: encoding_rs::UTF_8,
            bytes: Vec::with_capacity(256),
        }
    }

    /// Writes text in `encoding` instead of UTF-8: the one MSH-18 of the message names, so
    /// that the bytes agree with the declaration. UTF-16 encodings are written as UTF-8
    /// (their delimiters would not be single bytes).
    pub fn with_encoding(mut self, encoding: &'static Encoding) -> MessageWriter {
        self.encoding = encoding.output_encoding();
        self
    }

    /// The delimiters the message declares.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Starts the MSH segment: writes `MSH`, MSH-1 and MSH-2 from the delimiters (a
    /// truncation character included). The first field added is MSH-3.
    pub fn msh(&mut self) -> SegmentWriter<'_> {
        self.bytes.extend_from_slice(b"MSH");
        self.bytes.push(self.delimiters.field);
        self.bytes
            .extend_from_slice(self.delimiters.encoding_characters().as_bytes());
        SegmentWriter::new(self)
    }

    /// Starts a segment with `id` (`MSA`, `ERR`, ...). The id is written escaped like a
    /// value, so a wrong id gives a wrong segment, never a broken message.
    pub fn segment(&mut self, id: &str) -> SegmentWriter<'_> {
        self.push_text(id);
        SegmentWriter::new(self)
    }

    /// Copies a whole segment as sent (id, separators, escape sequences and all) and ends
    /// it with CR: how a segment the flow did not change is written back byte for byte. It
    /// must use this writer's delimiters. An LF in it is kept, since in a CR-terminated
    /// message an LF is data (field case B09 a); a CR is escaped, since it would end the
    /// segment early.
    pub fn raw_segment(&mut self, segment: &[u8]) {
        for &byte in segment {
            if byte == CR {
                self.push_escaped(b"X0D");
            } else {
                self.bytes.push(byte);
            }
        }
        self.bytes.push(CR);
    }

    /// The message written so far, every segment ended by CR.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// Escapes `value` and appends it in the writer's encoding.
    fn push_text(&mut self, value: &str) {
        let escaped = escape(value, &self.delimiters);
        if self.encoding == encoding_rs::UTF_8 {
            self.bytes.extend_from_slice(escaped.as_bytes());
            return;
        }
        encode_into(self.encoding, &escaped, &mut self.bytes);
    }

    /// Appends a raw value, escaping only what would end the field or the segment.
    fn push_raw(&mut self, raw: &[u8]) {
        for &byte in raw {
            let code: &[u8] = match byte {
                b'\r' => b"X0D",
                b'\n' => b"X0A",
                _ if byte == self.delimiters.field => b"F",
                _ => {
                    self.bytes.push(byte);
                    continue;
                }
            };
            self.push_escaped(code);
        }
    }

    /// Appends the escape sequence for `code`: `\X0D\` for `X0D`.
    fn push_escaped(&mut self, code: &[u8]) {
        self.bytes.push(self.delimiters.escape);
        self.bytes.extend_from_slice(code);
        self.bytes.push(self.delimiters.escape);
    }
}

/// Encodes `text` with `encoding` (not UTF-8, not UTF-16) and appends it; a character the
/// encoding cannot hold becomes `?`, since encoding_rs's own replacement (`&#NNNN;`) holds
/// the subcomponent separator.
fn encode_into(encoding: &'static Encoding, text: &str, out: &mut Vec<u8>) {
    let mut encoder = encoding.new_encoder();
    let mut rest = text;
    let mut buffer = [0u8; 256];
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buffer, true);
        out.extend_from_slice(buffer.get(..written).unwrap_or_default());
        rest = rest.get(read..).unwrap_or_default();
        match result {
            EncoderResult::InputEmpty => return,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

/// Adds fields to one segment; the segment ends (CR) when this is dropped.
///
/// Fields are written in order, the first one after the segment id (after MSH-2 for MSH).
/// An empty field is held back and written only when a non-empty field follows it.
#[derive(Debug)]
pub struct SegmentWriter<'w> {
    message: &'w mut MessageWriter,
    /// Empty fields added since the last non-empty one, not yet written.
    pending_empty: usize,
}

impl<'w> SegmentWriter<'w> {
    fn new(message: &'w mut MessageWriter) -> SegmentWriter<'w> {
        SegmentWriter {
            message,
            pending_empty: 0,
        }
    }

    /// Adds a field holding `value`, escaped: every delimiter, CR and LF in it becomes an
    /// escape sequence, so it reads back as exactly `value`.
    pub fn field(&mut self, value: &str) -> &mut Self {
        if self.start_field(value.is_empty()) {
            self.message.push_text(value);
        }
        self
    }

    /// Adds a field of components, each escaped; trailing empty components are left out.
    pub fn components(&mut self, components: &[&str]) -> &mut Self {
        let used = components
            .iter()
            .rposition(|component| !component.is_empty())
            .map_or(0, |last| last + 1);
        let components = components.get(..used).unwrap_or_default();
        if !self.start_field(components.is_empty()) {
            return self;
        }
        for (index, component) in components.iter().enumerate() {
            if index > 0 {
                self.message.bytes.push(self.message.delimiters.component);
            }
            self.message.push_text(component);
        }
        self
    }

    /// Adds a field copied as sent from a message with the same delimiters (its components,
    /// repetitions and escape sequences stay as they are). Only a field separator, CR or LF
    /// in it is escaped, so it still cannot split the segment.
    pub fn raw_field(&mut self, raw: &[u8]) -> &mut Self {
        if self.start_field(raw.is_empty()) {
            self.message.push_raw(raw);
        }
        self
    }

    /// Adds `count` empty fields.
    pub fn empty_fields(&mut self, count: usize) -> &mut Self {
        self.pending_empty = self.pending_empty.saturating_add(count);
        self
    }

    /// Counts an empty field, or writes the separators before a non-empty one; returns
    /// whether the value is to be written.
    fn start_field(&mut self, empty: bool) -> bool {
        if empty {
            self.pending_empty = self.pending_empty.saturating_add(1);
            return false;
        }
        let separators = self.pending_empty.saturating_add(1);
        let field = self.message.delimiters.field;
        self.message
            .bytes
            .extend(std::iter::repeat_n(field, separators));
        self.pending_empty = 0;
        true
    }
}

impl Drop for SegmentWriter<'_> {
    fn drop(&mut self) {
        self.message.bytes.push(CR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(build: impl FnOnce(&mut MessageWriter)) -> String {
        let mut writer = MessageWriter::new(Delimiters::default());
        build(&mut writer);
        String::from_utf8(writer.finish()).unwrap()
    }

    #[test]
    fn writes_msh_with_its_declared_delimiters() {
        let text = written(|writer| {
            writer
                .msh()
                .field("A")
                .field("")
                .components(&["ACK", "A01"]);
        });
        assert_eq!(text, "MSH|^~\\&|A||ACK^A01\r");

        let delimiters = Delimiters {
            truncation: Some(b'#'),
            ..Delimiters::default()
        };
        let mut writer = MessageWriter::new(delimiters);
        writer.msh().field("A#1");
        assert_eq!(writer.finish(), b"MSH|^~\\&#|A\\P\\1\r");
    }

    #[test]
    fn escapes_every_value_and_ends_every_segment() {
        let text = written(|writer| {
            writer
                .segment("MSA")
                .field("AR")
                .field("")
                .field("a|b^c\rd");
            writer
                .segment("ERR")
                .empty_fields(2)
                .components(&["100", "x&y", "HL70357"]);
        });
        assert_eq!(
            text,
            "MSA|AR||a\\F\\b\\S\\c\\X0D\\d\rERR|||100^x\\T\\y^HL70357\r"
        );
    }

    #[test]
    fn leaves_out_trailing_empty_fields_and_components() {
        let text = written(|writer| {
            writer.segment("MSA").field("AA").field("").empty_fields(3);
            writer
                .segment("ZZZ")
                .components(&["", ""])
                .components(&["A", "", ""]);
            writer.segment("NTE");
        });
        assert_eq!(text, "MSA|AA\rZZZ||A\rNTE\r");
    }

    #[test]
    fn raw_fields_keep_their_components_but_cannot_split_the_segment() {
        let text = written(|writer| {
            writer
                .segment("MSH")
                .raw_field(b"APP^FAC\\E\\")
                .raw_field(b"a|b\rc\nd");
        });
        assert_eq!(text, "MSH|APP^FAC\\E\\|a\\F\\b\\X0D\\c\\X0A\\d\r");
    }

    #[test]
    fn encodes_text_in_the_declared_charset() {
        let mut writer =
            MessageWriter::new(Delimiters::default()).with_encoding(encoding_rs::WINDOWS_1252);
        writer.segment("NTE").field("MÜLLER").field("Ω&");
        assert_eq!(writer.finish(), b"NTE|M\xDCLLER|?\\T\\\r");

        let mut writer =
            MessageWriter::new(Delimiters::default()).with_encoding(encoding_rs::UTF_16LE);
        writer.segment("NTE").field("Ü");
        assert_eq!(writer.finish(), "NTE|Ü\r".as_bytes());
    }

    #[test]
    fn raw_segments_are_copied_as_sent() {
        let mut writer = MessageWriter::new(Delimiters::default());
        writer.raw_segment(b"OBX|1|TX|N||line one\nline two\\E\\||F");
        writer.raw_segment(b"NTE|a\rb");
        assert_eq!(
            writer.finish(),
            b"OBX|1|TX|N||line one\nline two\\E\\||F\rNTE|a\\X0D\\b\r"
        );
    }

    #[test]
    fn a_segment_id_cannot_break_the_message() {
        let text = written(|writer| {
            writer.segment("A|\rB").field("x");
        });
        assert_eq!(text, "A\\F\\\\X0D\\B|x\r");
    }
}
