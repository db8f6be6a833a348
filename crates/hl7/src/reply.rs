//! Acknowledgements Ferry receives: reading the reply a receiving system sent for one of our
//! messages (field cases B10, B26).
//!
//! [`read_ack`] is lenient about form and strict about meaning. Form: segments may end with
//! CR, LF or CRLF (and blank lines are skipped), since receivers' ACK writers differ and a
//! reply is short enough that a line break inside a value is not worth guessing about; the
//! delimiters are whatever the reply's MSH declares; a BOM or white space before the MSH is
//! skipped; the MSA may follow any other segments, and segments that are not understood are
//! ignored. The message type is not checked: query responses and other application
//! responses carry an MSA as well. Meaning: the reply must start with an MSH the pre-scan
//! accepts, must hold an MSA, and MSA-1 must be a table 0008 code; anything else is an
//! [`AckReadError`] saying what was found, and never a guess at a code.
//!
//! Values are unescaped with the reply's delimiters and decoded with the character set its
//! MSH-18 names (UTF-8 when none or an unknown one is named; undecodable bytes become
//! U+FFFD). Each line is decoded on its own, after cutting on bytes (CR and LF never occur
//! inside a character of the supported encodings): a shift into a double-byte set that a
//! value leaves open (ISO-2022-JP) then spoils that line only, not the MSA after it. No
//! function here panics on any input bytes.

use std::borrow::Cow;

use crate::ack::{AckCode, declared_encoding};
use crate::escaping::unescape;
use crate::path::FieldPath;
use crate::scan::{Delimiters, MshHeader, scan_header};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// How much of an unknown MSA-1 an error keeps: enough to recognise it, not a whole body.
const SHOWN_CODE_CHARS: usize = 40;

/// What a receiving system answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckReply {
    /// MSA-1.
    pub code: AckCode,
    /// MSA-2, unescaped: the MSH-10 of the message this acknowledges (empty when absent).
    /// The caller compares it with what it sent: a reply for another id is no answer.
    pub control_id: String,
    /// MSA-3, unescaped, when present and not the HL7 null `""`.
    pub text: Option<String>,
    /// Each error the reply reports, as readable text: one per ERR segment (ERR-3 code and
    /// text, ERR-2 location, ERR-8 user message; ERR-1 for v2.3-style replies) and MSA-6
    /// (the error condition of replies before v2.5), e.g. `205 Duplicate key identifier`
    /// or `101 Required field missing at MSH-10`.
    pub errors: Vec<String>,
    /// The reply's own MSH-10, unescaped.
    pub ack_control_id: String,
}

/// Why bytes are not a usable acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckReadError {
    /// The bytes do not start with an acceptable MSH segment (empty, text, another format).
    #[error("the reply is not an HL7 message: {reason}")]
    NotHl7 {
        /// What was found instead, with the byte offset.
        reason: String,
    },
    /// An HL7 message without an MSA segment, so it acknowledges nothing.
    #[error("the reply is an HL7 message without an MSA segment, so it acknowledges nothing")]
    NoMsa,
    /// MSA-1 is not a code of table 0008.
    #[error(
        "MSA-1 is {}, not an acknowledgment code (AA, AE, AR, CA, CE or CR)",
        shown_code(found)
    )]
    BadCode {
        /// MSA-1 as found (unescaped, trimmed, at most 40 characters).
        found: String,
    },
}

fn shown_code(found: &str) -> String {
    if found.is_empty() {
        "empty".to_owned()
    } else {
        format!("'{}'", found.escape_debug())
    }
}

/// Reads an acknowledgement (see the module docs for what is accepted).
///
/// # Errors
///
/// [`AckReadError::NotHl7`] when the bytes (after a BOM and white space) do not start with
/// an MSH segment the pre-scan accepts, [`AckReadError::NoMsa`] when no MSA segment
/// follows it, [`AckReadError::BadCode`] when MSA-1 is not AA, AE, AR, CA, CE or CR (upper
/// or lower case, surrounding spaces ignored).
pub fn read_ack(bytes: &[u8]) -> Result<AckReply, AckReadError> {
    let (message, header) = read_header(bytes)?;
    let delimiters = header.delimiters;
    let encoding = declared_encoding(&header).unwrap_or(encoding_rs::UTF_8);
    let lines: Vec<Cow<'_, str>> = message
        .split(|&byte| byte == CR || byte == LF)
        .filter(|line| !line.is_empty())
        .map(|line| encoding.decode_without_bom_handling(line).0)
        .collect();
    let segments: Vec<Segment<'_>> = lines
        .iter()
        .map(|line| Segment::new(line, &delimiters))
        .collect();

    let msa = segments
        .iter()
        .skip(1)
        .find(|segment| segment.id == "MSA")
        .ok_or(AckReadError::NoMsa)?;
    let code = read_code(msa.text(1, &delimiters))?;
    let text = Some(msa.text(3, &delimiters)).filter(|text| !text.is_empty() && text != "\"\"");

    let mut errors: Vec<String> = coded_text(msa.raw(6), &delimiters).into_iter().collect();
    let err_segments = segments
        .iter()
        .skip(1)
        .filter(|segment| segment.id == "ERR");
    for segment in err_segments {
        errors.extend(describe_err(segment, &delimiters));
    }

    Ok(AckReply {
        code,
        control_id: msa.text(2, &delimiters),
        text,
        errors,
        ack_control_id: segments
            .first()
            .map(|msh| msh.text(10, &delimiters))
            .unwrap_or_default(),
    })
}

/// Skips what may precede the MSH and scans it; returns the message from its MSH on.
fn read_header(bytes: &[u8]) -> Result<(&[u8], MshHeader), AckReadError> {
    let skipped = leading_noise(bytes);
    let message = bytes.get(skipped..).unwrap_or_default();
    if message.is_empty() {
        let reason = if bytes.is_empty() {
            "it is empty"
        } else {
            "it holds only white space"
        };
        return Err(not_hl7(reason.to_owned()));
    }

    // Only the first line: a reply cut on LF has no CR before its MSA.
    let msh_end = message
        .iter()
        .position(|&byte| byte == CR || byte == LF)
        .unwrap_or(message.len());
    let header = scan_header(message.get(..msh_end).unwrap_or_default()).map_err(|error| {
        let offset = error.offset + skipped;
        not_hl7(format!("{} at byte {offset}", error.reason))
    })?;
    Ok((message, header))
}

fn not_hl7(reason: String) -> AckReadError {
    AckReadError::NotHl7 { reason }
}

/// How many bytes before the MSH are skipped: a UTF-8 BOM and ASCII white space, which
/// some receivers put before their reply inside the frame.
fn leading_noise(bytes: &[u8]) -> usize {
    let bom = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let rest = bytes.get(bom..).unwrap_or_default();
    bom + rest
        .iter()
        .take_while(|byte| byte.is_ascii_whitespace())
        .count()
}

fn read_code(msa1: String) -> Result<AckCode, AckReadError> {
    let found = msa1.trim();
    AckCode::parse(&found.to_ascii_uppercase()).ok_or_else(|| AckReadError::BadCode {
        found: found.chars().take(SHOWN_CODE_CHARS).collect(),
    })
}

/// One line of the reply, cut into fields.
struct Segment<'a> {
    id: &'a str,
    /// The fields numbered as the standard numbers them: `fields[n]` is field n (for MSH,
    /// `fields[1]` is MSH-2, since MSH-1 is the separator itself).
    fields: Vec<&'a str>,
}

impl<'a> Segment<'a> {
    fn new(line: &'a str, delimiters: &Delimiters) -> Segment<'a> {
        let mut fields: Vec<&str> = line.split(char::from(delimiters.field)).collect();
        let id = fields.first().copied().unwrap_or_default();
        if id == "MSH" {
            fields.insert(1, "");
        }
        Segment { id, fields }
    }

    /// Field `number` as sent, empty when absent.
    fn raw(&self, number: usize) -> &'a str {
        self.fields.get(number).copied().unwrap_or_default()
    }

    /// Field `number`, unescaped.
    fn text(&self, number: usize, delimiters: &Delimiters) -> String {
        unescape(self.raw(number), delimiters).text.into_owned()
    }
}

/// The errors one ERR segment reports: ERR-3 with ERR-2 and ERR-8 (v2.5), else each
/// repetition of ERR-1 (the ELD of v2.3 and v2.4).
fn describe_err(segment: &Segment<'_>, delimiters: &Delimiters) -> Vec<String> {
    let user_message = segment.text(8, delimiters);
    let severity = match segment.raw(4).trim() {
        "W" => Some("warning"),
        "I" => Some("information"),
        _ => None,
    };

    let condition = coded_text(segment.raw(3), delimiters);
    if condition.is_some() || !user_message.is_empty() {
        let location = first_repetition(segment.raw(2), delimiters);
        let location = location_text(&parts(location, delimiters.component, delimiters));
        let described = describe(severity, condition, location, &user_message);
        return described.into_iter().collect();
    }

    let repetitions = segment.raw(1).split(char::from(delimiters.repetition));
    repetitions
        .filter_map(|element| {
            let components: Vec<&str> = element.split(char::from(delimiters.component)).collect();
            let location = location_text(&unescaped(components.get(..3), delimiters));
            let code = components.get(3).copied().unwrap_or_default();
            let condition = coded_text_with(code, delimiters.subcomponent, delimiters);
            describe(severity, condition, location, "")
        })
        .collect()
}

/// `[severity: ]condition[ at location][: user message]`, or `None` when all are empty.
fn describe(
    severity: Option<&str>,
    condition: Option<String>,
    location: Option<String>,
    user_message: &str,
) -> Option<String> {
    let mut text = condition.unwrap_or_default();
    if let Some(location) = location {
        let joiner = if text.is_empty() { "at " } else { " at " };
        text = format!("{text}{joiner}{location}");
    }
    if !user_message.is_empty() {
        let joiner = if text.is_empty() { "" } else { ": " };
        text = format!("{text}{joiner}{user_message}");
    }
    if text.is_empty() {
        return None;
    }
    Some(match severity {
        Some(severity) => format!("{severity}: {text}"),
        None => text,
    })
}

/// A coded element (CE, CWE: identifier^text^system^alternate identifier^alternate text)
/// as `identifier text`, the alternate pair when the first is empty.
fn coded_text(raw: &str, delimiters: &Delimiters) -> Option<String> {
    coded_text_with(
        first_repetition(raw, delimiters),
        delimiters.component,
        delimiters,
    )
}

fn coded_text_with(raw: &str, separator: u8, delimiters: &Delimiters) -> Option<String> {
    let parts = parts(raw, separator, delimiters);
    let pair = |first: usize| {
        let words: Vec<&str> = [first, first + 1]
            .iter()
            .filter_map(|&index| parts.get(index))
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect();
        Some(words.join(" ")).filter(|text| !text.is_empty())
    };
    pair(0).or_else(|| pair(3))
}

/// An ERL or the location part of an ELD as a field path (`MSH-10`, `PID[2]-5.1`); as
/// written (`^`-joined) when it is not a valid path; `None` when it is empty.
fn location_text(components: &[String]) -> Option<String> {
    if components
        .iter()
        .all(|component| component.trim().is_empty())
    {
        return None;
    }
    Some(location_path(components).unwrap_or_else(|| components.join("^")))
}

fn location_path(components: &[String]) -> Option<String> {
    let number = |index: usize| -> Option<Option<u32>> {
        match components.get(index).map(|text| text.trim()) {
            None | Some("") => Some(None),
            Some(text) => text.parse::<u32>().ok().filter(|&n| n > 0).map(Some),
        }
    };
    let segment = components.first()?.trim().as_bytes();
    let &[first, second, third] = segment else {
        return None;
    };
    let path = FieldPath {
        segment: [first, second, third],
        occurrence: number(1)?.unwrap_or(1),
        field: number(2)??,
        repetition: number(3)?.filter(|&repetition| repetition != 1),
        component: number(4)?,
        subcomponent: number(5)?,
    };
    let written = path.to_string();
    FieldPath::parse(&written).is_ok().then_some(written)
}

fn first_repetition<'a>(raw: &'a str, delimiters: &Delimiters) -> &'a str {
    raw.split(char::from(delimiters.repetition))
        .next()
        .unwrap_or_default()
}

/// `raw` cut at `separator`, each part unescaped.
fn parts(raw: &str, separator: u8, delimiters: &Delimiters) -> Vec<String> {
    raw.split(char::from(separator))
        .map(|part| unescape(part, delimiters).text.into_owned())
        .collect()
}

fn unescaped(parts: Option<&[&str]>, delimiters: &Delimiters) -> Vec<String> {
    parts
        .unwrap_or_default()
        .iter()
        .map(|part| unescape(part, delimiters).text.into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<AckReply, AckReadError> {
        read_ack(text.as_bytes())
    }

    const B26: &str = concat!(
        "MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R0045|P|2.5.1\r",
        "MSA|AR|MSG0045|Duplicate control id\r",
        "ERR|||205^Duplicate key identifier^HL70357|E\r",
    );

    #[test]
    fn reads_a_reject_with_its_error() {
        let reply = read(B26).unwrap();
        assert_eq!(reply.code, AckCode::AR);
        assert_eq!(reply.control_id, "MSG0045");
        assert_eq!(reply.text.as_deref(), Some("Duplicate control id"));
        assert_eq!(reply.errors, ["205 Duplicate key identifier"]);
        assert_eq!(reply.ack_control_id, "R0045");
    }

    #[test]
    fn accepts_any_segment_terminator() {
        for terminator in ["\r", "\n", "\r\n", "\n\r", "\r\r\n"] {
            let reply = read(&B26.replace('\r', terminator)).unwrap();
            assert_eq!(reply.control_id, "MSG0045", "{terminator:?}");
            assert_eq!(reply.errors.len(), 1, "{terminator:?}");
        }
        let unterminated = "MSH|^~\\&|R|F|||1||ACK|R1|P|2.5.1\rMSA|AA|M1";
        assert_eq!(read(unterminated).unwrap().control_id, "M1");
    }

    #[test]
    fn msa_may_follow_other_segments_and_values_are_unescaped() {
        let reply = read(concat!(
            "\u{feff}\r\nMSH:;~!&:R:F:::1::ACK:R\\1:P:2.3\r",
            "ZXX:whatever\rnot a segment\r",
            "MSA: ae :M!F!1:a!S!b|c\r",
        ))
        .unwrap();
        assert_eq!(reply.code, AckCode::AE);
        assert_eq!(reply.control_id, "M:1");
        assert_eq!(reply.text.as_deref(), Some("a;b|c"));
        assert_eq!(reply.ack_control_id, "R\\1");
    }

    #[test]
    fn decodes_with_the_declared_charset_line_by_line() {
        let latin1 = b"MSH|^~\\&|R|F|||1||ACK|R1|P|2.5.1||||||8859/1\rMSA|AE|M1|M\xDCLLER\r";
        assert_eq!(read_ack(latin1).unwrap().text.as_deref(), Some("MÜLLER"));

        let open_shift = b"MSH|^~\\&|\x1b$B|F|||1||ACK|R1|P|2.5.1||||||ISO IR87\rMSA|AA|M1\r";
        let reply = read_ack(open_shift).unwrap();
        assert_eq!((reply.code, reply.control_id.as_str()), (AckCode::AA, "M1"));
    }

    #[test]
    fn reads_older_and_richer_error_forms() {
        let reply = read(concat!(
            "MSH|^~\\&|R|F|||1||ACK^A01|R1|P|2.3\r",
            "MSA|AE|M1|\"\"|||204^Unknown key identifier\r",
            "ERR|PID^1^3^204&Unknown key identifier&HL70357~PV1^1^2^103&Table value\r",
            "ERR||PID^2^5^1^2|102^Data type error^HL70357|W||||check the name\r",
            "ERR||MSH^x^10|^^^L1^Local text|E\r",
            "ERR|||||||||\r",
        ))
        .unwrap();
        assert_eq!(reply.text, None);
        assert_eq!(
            reply.errors,
            [
                "204 Unknown key identifier",
                "204 Unknown key identifier at PID-3",
                "103 Table value at PV1-2",
                "warning: 102 Data type error at PID[2]-5.2: check the name",
                "L1 Local text at MSH^x^10",
            ]
        );
    }

    #[test]
    fn says_why_bytes_are_no_ack() {
        let not_hl7 = |input: &[u8]| match read_ack(input) {
            Err(AckReadError::NotHl7 { reason }) => reason,
            other => panic!("{other:?} for {input:?}"),
        };
        assert_eq!(not_hl7(b""), "it is empty");
        assert_eq!(not_hl7(b" \r\n"), "it holds only white space");
        assert!(not_hl7(b"M").contains("does not start with an MSH"));
        assert!(not_hl7(b"HELLO WORLD\r").contains("at byte 0"));
        assert!(not_hl7(b"\r\nMSH|^~|\r").ends_with("at byte 6"));

        let no_msa = read("MSH|^~\\&|R|F|||1||ADT^A01|R1|P|2.5.1\rPID|1\rMSAX|AA\r");
        assert_eq!(no_msa, Err(AckReadError::NoMsa));
        assert!(no_msa.unwrap_err().to_string().contains("without an MSA"));

        let bad = read("MSH|^~\\&|R|F|||1||ACK|R1|P|2.5.1\rMSA|OK|M1\r").unwrap_err();
        assert_eq!(bad.to_string().split(',').next(), Some("MSA-1 is 'OK'"));
        let empty = read("MSH|^~\\&|R|F|||1||ACK|R1|P|2.5.1\rMSA||M1\r").unwrap_err();
        assert!(empty.to_string().starts_with("MSA-1 is empty"), "{empty}");
    }

    #[test]
    fn a_bare_msa_id_gives_a_bad_code() {
        let bare = read("MSH|^~\\&|R|F|||1||ACK|R1|P|2.5.1\rMSA\r").unwrap_err();
        let empty = AckReadError::BadCode {
            found: String::new(),
        };
        assert_eq!(bare, empty);
    }
}
