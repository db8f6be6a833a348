//! MSH pre-scan: the delimiters and the routing fields of a message, read from raw bytes.
//!
//! The engine needs MSH-9, MSH-10 and MSH-18 before it can decode the body (MSH-18 names the
//! character set), and it needs them even when the full parse fails, to index the message
//! and to build a NAK. So this module reads only the MSH segment, byte by byte, without
//! assuming UTF-8 and without looking at the segments after it.
//!
//! Invariants when [`scan_header`] returns `Ok`:
//! - the input starts with `MSH`, MSH-1 is one byte and MSH-2 has four or five bytes;
//! - every delimiter is a printable ASCII character that is not a letter or digit, and no
//!   two delimiters are the same byte;
//! - the MSH segment ends at the first CR; only when the input holds no CR at all does it
//!   end at the first LF (field case B09), else at the end of the input;
//! - every field value is kept exactly as sent: still escaped, in the sender's charset.
//!
//! Fields are numbered as the standard numbers them: MSH-1 is the field separator, MSH-2 the
//! encoding characters, MSH-3 the first field after them. A fifth encoding character is the
//! v2.7 truncation character (`#`); it is accepted whatever MSH-12 says (field case B12),
//! never splits a value, and does not shift the fields after it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// The delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// MSH-1, separates fields (`|`).
    pub field: u8,
    /// MSH-2.1, separates components (`^`).
    pub component: u8,
    /// MSH-2.2, separates repetitions (`~`).
    pub repetition: u8,
    /// MSH-2.3, starts and ends an escape sequence (`\`).
    pub escape: u8,
    /// MSH-2.4, separates subcomponents (`&`).
    pub subcomponent: u8,
    /// MSH-2.5, the v2.7 truncation character (`#`), when declared. It marks a value that
    /// was cut short and is never used to split.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// The delimiters the standard recommends: `|^~\&`, no truncation character.
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            truncation: None,
        }
    }
}

impl Delimiters {
    /// MSH-2 exactly as declared (four or five characters), for writing an ACK that echoes
    /// the sender's encoding characters.
    pub fn encoding_characters(&self) -> String {
        let mut text = String::with_capacity(5);
        for byte in [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ] {
            text.push(char::from(byte));
        }
        if let Some(truncation) = self.truncation {
            text.push(char::from(truncation));
        }
        text
    }

    /// Whether `byte` splits values: the field, component, repetition or subcomponent
    /// separator (not the escape or truncation character).
    pub fn is_separator(&self, byte: u8) -> bool {
        byte == self.field
            || byte == self.component
            || byte == self.repetition
            || byte == self.subcomponent
    }
}

/// Why the MSH segment could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct ScanError {
    /// Byte offset of the problem in the scanned input.
    pub offset: usize,
    /// What is wrong, in words an interface analyst understands.
    pub reason: String,
}

impl ScanError {
    fn new(offset: usize, reason: impl Into<String>) -> ScanError {
        ScanError {
            offset,
            reason: reason.into(),
        }
    }
}

/// The MSH segment of one message: its delimiters and its fields, raw.
///
/// Field accessors return the bytes exactly as sent (still escaped). The text accessors
/// convert them lossily from UTF-8; header fields are ASCII codes in practice, and
/// [`MshHeader::field`] gives the exact bytes when they are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MshHeader {
    /// The delimiters from MSH-1 and MSH-2.
    pub delimiters: Delimiters,
    segment: Vec<u8>,
    msh2: Range<usize>,
    fields: Vec<Range<usize>>,
}

impl MshHeader {
    /// The raw bytes of field MSH-`number` (1-based, as the standard numbers them), or
    /// `None` when the segment has fewer fields.
    pub fn field(&self, number: usize) -> Option<&[u8]> {
        match number {
            0 => None,
            1 => self.segment.get(3..4),
            2 => self.segment.get(self.msh2.clone()),
            _ => {
                let range = self.fields.get(number - 3)?;
                self.segment.get(range.clone())
            }
        }
    }

    /// The whole MSH segment as sent, without its terminator.
    pub fn segment(&self) -> &[u8] {
        &self.segment
    }

    /// MSH-3, Sending Application.
    pub fn sending_application(&self) -> Cow<'_, str> {
        self.text(3)
    }

    /// MSH-4, Sending Facility.
    pub fn sending_facility(&self) -> Cow<'_, str> {
        self.text(4)
    }

    /// MSH-5, Receiving Application.
    pub fn receiving_application(&self) -> Cow<'_, str> {
        self.text(5)
    }

    /// MSH-6, Receiving Facility.
    pub fn receiving_facility(&self) -> Cow<'_, str> {
        self.text(6)
    }

    /// MSH-7, Date/Time of Message, as sent.
    pub fn date_time(&self) -> Cow<'_, str> {
        self.text(7)
    }

    /// MSH-9 as sent, all components: `ADT^A01^ADT_A01`.
    pub fn message_type_field(&self) -> Cow<'_, str> {
        self.text(9)
    }

    /// MSH-9.1, the message type (message code): `ADT`.
    pub fn message_type(&self) -> Cow<'_, str> {
        self.msh9_component(0)
    }

    /// MSH-9.2, the trigger event: `A01`.
    pub fn trigger_event(&self) -> Cow<'_, str> {
        self.msh9_component(1)
    }

    /// MSH-9.3, the message structure: `ADT_A01`.
    pub fn structure(&self) -> Cow<'_, str> {
        self.msh9_component(2)
    }

    /// MSH-10, Message Control ID; an ACK echoes it in MSA-2.
    pub fn control_id(&self) -> Cow<'_, str> {
        self.text(10)
    }

    /// MSH-11, Processing ID (`P`, `T`, `D`).
    pub fn processing_id(&self) -> Cow<'_, str> {
        self.text(11)
    }

    /// MSH-12, Version ID (`2.5.1`).
    pub fn version_id(&self) -> Cow<'_, str> {
        self.text(12)
    }

    /// MSH-15, Accept Acknowledgment Type (`AL`, `NE`, `ER`, `SU`).
    pub fn accept_ack_type(&self) -> Cow<'_, str> {
        self.text(15)
    }

    /// MSH-16, Application Acknowledgment Type.
    pub fn application_ack_type(&self) -> Cow<'_, str> {
        self.text(16)
    }

    /// MSH-18, Character Set (HL7 table 0211: `8859/1`, `UNICODE UTF-8`, ...).
    pub fn character_set(&self) -> Cow<'_, str> {
        self.text(18)
    }

    /// The document type used to index and route: `ADT^A01`, or just `ORU` when MSH-9 has
    /// no trigger event; `None` when MSH-9.1 is empty. Always written with `^`, whatever the
    /// message's component separator, so one index serves every sender.
    pub fn doc_type(&self) -> Option<String> {
        let message_type = self.message_type();
        if message_type.is_empty() {
            return None;
        }
        let trigger_event = self.trigger_event();
        if trigger_event.is_empty() {
            return Some(message_type.into_owned());
        }
        Some(format!("{message_type}^{trigger_event}"))
    }

    fn text(&self, number: usize) -> Cow<'_, str> {
        String::from_utf8_lossy(self.field(number).unwrap_or_default())
    }

    /// A component of the first repetition of MSH-9.
    fn msh9_component(&self, index: usize) -> Cow<'_, str> {
        let field = self.field(9).unwrap_or_default();
        let first_repetition = field
            .split(|&byte| byte == self.delimiters.repetition)
            .next()
            .unwrap_or_default();
        let component = first_repetition
            .split(|&byte| byte == self.delimiters.component)
            .nth(index)
            .unwrap_or_default();
        String::from_utf8_lossy(component)
    }
}

/// Reads the MSH segment at the start of `message`.
///
/// # Errors
///
/// A [`ScanError`] when the input does not start with `MSH`, when MSH-2 has fewer than four
/// or more than five characters, or when a delimiter is a letter, a digit, CR, LF, not
/// printable ASCII, or the same as another delimiter.
pub fn scan_header(message: &[u8]) -> Result<MshHeader, ScanError> {
    let segment_end = msh_segment_end(message);
    let segment = &message[..segment_end];
    let declared = read_delimiters(segment)?;

    let fields = match declared.msh2.end {
        end if end < segment.len() => split_fields(segment, end + 1, declared.delimiters.field),
        _ => Vec::new(),
    };
    Ok(MshHeader {
        delimiters: declared.delimiters,
        segment: segment.to_vec(),
        msh2: declared.msh2,
        fields,
    })
}

/// The delimiters of an MSH segment and where MSH-2 lies in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclaredDelimiters {
    pub(crate) delimiters: Delimiters,
    /// Byte range of MSH-2 (the encoding characters).
    pub(crate) msh2: Range<usize>,
}

/// Where the MSH segment at the start of `message` ends: the first CR; with no CR in the
/// whole input, the first LF; else the end of the input (field case B09).
pub(crate) fn msh_segment_end(message: &[u8]) -> usize {
    let first_cr = message.iter().position(|&byte| byte == CR);
    let first_lf = || message.iter().position(|&byte| byte == LF);
    first_cr.or_else(first_lf).unwrap_or(message.len())
}

/// Reads MSH-1 and MSH-2 from `segment`, which starts with `MSH` and holds no terminator.
pub(crate) fn read_delimiters(segment: &[u8]) -> Result<DeclaredDelimiters, ScanError> {
    if !segment.starts_with(b"MSH") {
        return Err(ScanError::new(
            0,
            "the message does not start with an MSH segment",
        ));
    }
    let field = *segment.get(3).ok_or_else(|| {
        ScanError::new(3, "the MSH segment ends before MSH-1 (the field separator)")
    })?;
    check_delimiter(field, 3, "MSH-1 (the field separator)")?;

    let msh2_end = segment[4..]
        .iter()
        .position(|&byte| byte == field)
        .map_or(segment.len(), |position| position + 4);
    let msh2 = 4..msh2_end;
    let characters = &segment[msh2.clone()];
    check_msh2_length(characters.len())?;

    for (index, &byte) in characters.iter().enumerate() {
        let what = format!("MSH-2 character {}", index + 1);
        check_delimiter(byte, 4 + index, &what)?;
    }
    check_distinct(field, characters)?;

    let delimiters = Delimiters {
        field,
        component: characters[0],
        repetition: characters[1],
        escape: characters[2],
        subcomponent: characters[3],
        truncation: characters.get(4).copied(),
    };
    Ok(DeclaredDelimiters { delimiters, msh2 })
}

fn check_msh2_length(length: usize) -> Result<(), ScanError> {
    if length < 4 {
        let reason = format!(
            "MSH-2 (the encoding characters) has {length} character(s); four are required: \
             component, repetition, escape and subcomponent"
        );
        return Err(ScanError::new(4, reason));
    }
    if length > 5 {
        let reason = format!(
            "MSH-2 (the encoding characters) has {length} characters; at most five are allowed \
             (the fifth is the v2.7 truncation character)"
        );
        return Err(ScanError::new(4, reason));
    }
    Ok(())
}

/// A delimiter must not be mistaken for data or for a segment terminator.
fn check_delimiter(byte: u8, offset: usize, what: &str) -> Result<(), ScanError> {
    let problem = match byte {
        CR | LF => "it is a segment terminator (CR or LF)",
        _ if byte.is_ascii_alphanumeric() => "it is a letter or digit",
        _ if !byte.is_ascii_graphic() => "it is not a printable ASCII character",
        _ => return Ok(()),
    };
    let reason = format!(
        "{what} is {} and cannot be a delimiter: {problem}",
        show_byte(byte)
    );
    Err(ScanError::new(offset, reason))
}

fn check_distinct(field: u8, characters: &[u8]) -> Result<(), ScanError> {
    for (index, &byte) in characters.iter().enumerate() {
        let mut earlier = std::iter::once(field).chain(characters[..index].iter().copied());
        if earlier.any(|other| other == byte) {
            let reason = format!(
                "MSH-2 character {} ({}) repeats a delimiter declared before it; each delimiter \
                 must be different",
                index + 1,
                show_byte(byte)
            );
            return Err(ScanError::new(4 + index, reason));
        }
    }
    Ok(())
}

/// Ranges of the fields in `segment` from `start`, split on the field separator.
fn split_fields(segment: &[u8], start: usize, field: u8) -> Vec<Range<usize>> {
    let mut ranges = Vec::with_capacity(20);
    let mut field_start = start;
    for (position, &byte) in segment.iter().enumerate().skip(start) {
        if byte == field {
            ranges.push(field_start..position);
            field_start = position + 1;
        }
    }
    ranges.push(field_start..segment.len());
    ranges
}

/// A byte as a reader wants to see it in an error: `'#'`, or `0x0D` when not printable.
pub(crate) fn show_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", char::from(byte))
    } else {
        format!("0x{byte:02X}")
    }
}

impl fmt::Display for Delimiters {
    /// Writes MSH-1 and MSH-2 as they appear in a message: `|^~\&`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            char::from(self.field),
            self.encoding_characters()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &[u8] = concat!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1",
        "|||AL|NE||8859/1\r",
        "PID|1||TEST0001\r",
    )
    .as_bytes();

    #[test]
    fn reads_the_routing_fields() {
        let header = scan_header(ADT).unwrap();
        assert_eq!(header.delimiters, Delimiters::default());
        assert_eq!(header.field(1), Some(&b"|"[..]));
        assert_eq!(header.field(2), Some(&b"^~\\&"[..]));
        assert_eq!(header.sending_application(), "SENDAPP");
        assert_eq!(header.sending_facility(), "SENDFAC");
        assert_eq!(header.receiving_application(), "FERRY");
        assert_eq!(header.receiving_facility(), "HUB");
        assert_eq!(header.date_time(), "20240101120000");
        assert_eq!(header.message_type_field(), "ADT^A01^ADT_A01");
        assert_eq!(header.message_type(), "ADT");
        assert_eq!(header.trigger_event(), "A01");
        assert_eq!(header.structure(), "ADT_A01");
        assert_eq!(header.control_id(), "MSG0001");
        assert_eq!(header.processing_id(), "P");
        assert_eq!(header.version_id(), "2.5.1");
        assert_eq!(header.accept_ack_type(), "AL");
        assert_eq!(header.application_ack_type(), "NE");
        assert_eq!(header.character_set(), "8859/1");
        assert_eq!(header.doc_type().as_deref(), Some("ADT^A01"));
        assert_eq!(header.field(19), None);
    }

    #[test]
    fn doc_type_without_trigger_or_type() {
        let header = scan_header(b"MSH|^~\\&|A|B|C|D|1||ORU|X|P|2.3").unwrap();
        assert_eq!(header.doc_type().as_deref(), Some("ORU"));
        let header = scan_header(b"MSH|^~\\&|A").unwrap();
        assert_eq!(header.doc_type(), None);
        assert_eq!(header.control_id(), "");
    }

    #[test]
    fn uses_the_declared_delimiters() {
        let input =
            "MSH:;~\\&:SENDAPP:SENDFAC:FERRY:HUB:20240101120000::ADT;A01;ADT_A01:MSG0019:P:2.3\r";
        let header = scan_header(input.as_bytes()).unwrap();
        assert_eq!(header.delimiters.field, b':');
        assert_eq!(header.delimiters.component, b';');
        assert_eq!(header.delimiters.to_string(), ":;~\\&");
        assert_eq!(header.trigger_event(), "A01");
        assert_eq!(header.doc_type().as_deref(), Some("ADT^A01"));
        assert_eq!(header.control_id(), "MSG0019");
    }

    #[test]
    fn truncation_character_does_not_shift_fields() {
        let input =
            "MSH|^~\\&#|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0024|P|2.7\r";
        let header = scan_header(input.as_bytes()).unwrap();
        assert_eq!(header.delimiters.truncation, Some(b'#'));
        assert_eq!(header.delimiters.encoding_characters(), "^~\\&#");
        assert_eq!(header.sending_application(), "SENDAPP");
        assert_eq!(header.trigger_event(), "A01");
        assert_eq!(header.control_id(), "MSG0024");
    }

    #[test]
    fn msh_ends_at_cr_and_lf_ends_it_only_without_any_cr() {
        let header = scan_header(b"MSH|^~\\&|A\nB|C\rPID|1").unwrap();
        assert_eq!(header.field(3), Some(&b"A\nB"[..]));
        assert_eq!(header.field(4), Some(&b"C"[..]));

        let header = scan_header(b"MSH|^~\\&|A|B\nPID|1\n").unwrap();
        assert_eq!(header.field(4), Some(&b"B"[..]));
        assert_eq!(header.segment(), b"MSH|^~\\&|A|B");
    }

    #[test]
    fn rejects_what_is_not_an_msh() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"", 0, "does not start with an MSH"),
            (b"PID|1", 0, "does not start with an MSH"),
            (b"MSH", 3, "ends before MSH-1"),
            (b"MSH|~\\&|A", 4, "has 3 character(s)"),
            (b"MSH|^~\\&#X|A", 4, "has 6 characters"),
            (b"MSH|^~\\\\&|A", 7, "repeats a delimiter"),
            (b"MSH|^~\\|", 4, "has 3 character(s)"),
            (b"MSH|^ \\E|A", 5, "not a printable"),
            (b"MSH|^~\\E|A", 7, "letter or digit"),
            (b"MSH0^~\\&", 3, "letter or digit"),
            (b"MSH|^\xff\x80&|", 5, "not a printable"),
            (b"MSH\r^~\\&", 3, "ends before MSH-1"),
            (b"MSH|^~|&|", 4, "has 2 character(s)"),
            (b"MSH|^^~\\&|", 5, "repeats a delimiter"),
        ];
        for (input, offset, reason) in cases {
            let error = scan_header(input).unwrap_err();
            assert_eq!(error.offset, *offset, "{error} for {input:?}");
            assert!(error.reason.contains(reason), "{error} for {input:?}");
            assert!(error.to_string().ends_with(&format!("at byte {offset}")));
        }
    }
}
