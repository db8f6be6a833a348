//! The structural view of one decoded message, used by routing rules and transforms.
//!
//! [`Hl7Message::parse`] cuts the text into segments and fields once; [`Hl7Message::get`] then
//! walks to a field, repetition, component or subcomponent by index, without parsing again.
//! Values stay slices of the text: [`Hl7Message::get_raw`] returns them still escaped,
//! [`Hl7Message::get`] decodes the escape sequences of the one value asked for.
//!
//! Who does what. hl7-parser 0.3.0 splits each field into repetitions, components and
//! subcomponents (it does that correctly, on slices of the text, byte-exact). Ferry does the
//! rest itself, because hl7-parser gets it wrong:
//! - segments: hl7-parser either splits on CR only (CRLF input then stops after MSH) or, in
//!   its lenient mode, on LF as well, which cuts an OBX-5 that holds a line break (field case
//!   B09); it also stops without an error at the first segment it cannot read (a blank line,
//!   a segment holding only its id such as `PD1`, a stray line), dropping the rest. Here
//!   segments are cut by the B09 rule (see `lines`), blank lines are not segments, a bare id
//!   is a segment without fields, and a line that is not a segment is a [`ParseError`];
//! - MSH: hl7-parser reads MSH-2 as exactly four characters, so with the v2.7 truncation
//!   character every MSH field shifts by one (field case B12). Here MSH-1 and MSH-2 are read
//!   by the MSH pre-scan and the fields from MSH-3 on are handed to hl7-parser one by one;
//! - escape sequences: hl7-parser's decoding mixes byte and char offsets (wrong text or a
//!   panic after non-ASCII text) and drops `\X..\` and formatting codes; Ferry's own
//!   [`unescape`] is used instead.
//!
//! Invariants after a successful parse:
//! - the text starts with an MSH segment that the pre-scan accepts (a leading BOM is
//!   skipped; offsets still count it);
//! - every segment id is three upper-case letters or digits, the first a letter, followed by
//!   the field separator or the end of the segment;
//! - every field was consumed whole by hl7-parser; field, repetition, component and
//!   subcomponent numbers are 1-based, and MSH-1 / MSH-2 (FHS, BHS alike) are the field
//!   separator and the encoding characters exactly as declared, so MSH-3 onwards never shift.
//!
//! What [`Hl7Message::get`] returns (field case B15): [`FieldValue::Null`] exactly when the
//! addressed value is `""`; [`FieldValue::Missing`] when the segment, field, repetition,
//! component or subcomponent is absent, or present but empty or made only of separators
//! (`^^`); otherwise [`FieldValue::Text`] with escape sequences decoded. A path without a
//! component gives the whole repetition (the first when the path names none), its separators
//! kept; MSH-1 and MSH-2 are returned as declared, never decoded.

use std::borrow::Cow;

use hl7_parser::message::{Field, Separators};

use crate::escaping::unescape;
use crate::lines::{Lines, terminator_for};
use crate::path::FieldPath;
use crate::scan::{Delimiters, msh_segment_end, read_delimiters, show_byte};
use crate::value::FieldValue;

/// Why a message could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct ParseError {
    /// Byte offset of the problem in the parsed text.
    pub offset: usize,
    /// What is wrong, in words an interface analyst understands.
    pub reason: String,
}

impl ParseError {
    fn new(offset: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            reason: reason.into(),
        }
    }
}

/// One parsed message, borrowing its text.
#[derive(Debug, Clone)]
pub struct Hl7Message<'a> {
    text: &'a str,
    delimiters: Delimiters,
    segments: Vec<Segment<'a>>,
}

/// One segment: its id, where it starts, and its fields.
#[derive(Debug, Clone)]
struct Segment<'a> {
    id: &'a str,
    offset: usize,
    /// For MSH, FHS and BHS: fields 1 and 2, the field separator and the encoding
    /// characters, which are not split.
    header: Option<(&'a str, &'a str)>,
    /// The split fields: from field 3 on for MSH, FHS and BHS, from field 1 otherwise.
    /// `None` is an empty field: most fields of a real message are empty, and leaving them
    /// unsplit saves hl7-parser three allocations each.
    fields: Vec<Option<Field<'a>>>,
}

/// Where a path leads: a value to decode, or MSH-1 / MSH-2, which are taken as they are.
enum Found<'a> {
    Value(&'a str),
    Declared(&'a str),
}

impl<'a> Hl7Message<'a> {
    /// Parses one message from text that is already decoded (see `charset`).
    ///
    /// Segments end at CR (an LF right after it is part of the terminator); text without any
    /// CR is split on LF instead, as the splitter does for files.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] with the byte offset: the MSH is not acceptable (the reasons of
    /// `scan_header`), a line is not a segment (bad id, no field separator after the id), or
    /// hl7-parser did not consume a field whole.
    pub fn parse(text: &'a str) -> Result<Hl7Message<'a>, ParseError> {
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let bytes = text.as_bytes();
        let msh_end = start + msh_segment_end(&bytes[start..]);
        let declared = read_delimiters(&bytes[start..msh_end])
            .map_err(|error| ParseError::new(start + error.offset, error.reason))?;

        let reader = SegmentReader::new(declared.delimiters);
        let mut segments = Vec::with_capacity(16);
        for line in Lines::new(bytes, start, terminator_for(bytes)) {
            let content = &text[line.start..line.end];
            if !content.bytes().all(|byte| byte.is_ascii_whitespace()) {
                segments.push(reader.segment(content, line.start)?);
            }
        }

        Ok(Hl7Message {
            text,
            delimiters: declared.delimiters,
            segments,
        })
    }

    /// The value at `path`, escape sequences decoded (see the module docs for the states).
    pub fn get(&self, path: &FieldPath) -> FieldValue<'a> {
        match self.find(path) {
            None => FieldValue::Missing,
            Some(Found::Declared("")) => FieldValue::Missing,
            Some(Found::Declared(value)) => FieldValue::Text(Cow::Borrowed(value)),
            Some(Found::Value(raw)) => self.value(raw),
        }
    }

    /// The value at `path` exactly as sent (still escaped), or `None` when it is absent.
    /// Unlike [`Hl7Message::get`], an empty value is `Some("")`.
    pub fn get_raw(&self, path: &FieldPath) -> Option<&'a str> {
        match self.find(path)? {
            Found::Value(raw) | Found::Declared(raw) => Some(raw),
        }
    }

    /// The delimiters the message declares in MSH-1 and MSH-2.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// How many segments the message has (blank lines are not segments).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The segment ids in message order, Z-segments and unknown ones included.
    pub fn segment_ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.segments.iter().map(|segment| segment.id)
    }

    /// Byte offset in the text of each segment, in message order.
    pub fn segment_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.segments.iter().map(|segment| segment.offset)
    }

    /// The text the message was parsed from.
    pub fn text(&self) -> &'a str {
        self.text
    }

    fn value(&self, raw: &'a str) -> FieldValue<'a> {
        if raw == "\"\"" {
            return FieldValue::Null;
        }
        let only_separators = raw.bytes().all(|byte| self.delimiters.is_separator(byte));
        if only_separators {
            return FieldValue::Missing;
        }
        FieldValue::Text(unescape(raw, &self.delimiters).text)
    }

    fn find(&self, path: &FieldPath) -> Option<Found<'a>> {
        let occurrence = usize::try_from(path.occurrence).ok()?.checked_sub(1)?;
        let segment = self
            .segments
            .iter()
            .filter(|segment| segment.id.as_bytes() == path.segment)
            .nth(occurrence)?;

        let field_number = usize::try_from(path.field).ok()?;
        let index = match segment.header {
            Some((field_separator, encoding_characters)) => match field_number {
                1 => return declared_value(field_separator, path),
                2 => return declared_value(encoding_characters, path),
                number => number.checked_sub(3)?,
            },
            None => field_number.checked_sub(1)?,
        };
        match segment.fields.get(index)? {
            Some(field) => walk_field(field, path).map(Found::Value),
            None => empty_field(path).then_some(Found::Value("")),
        }
    }
}

/// MSH-1 or MSH-2: a whole value, not split into components.
fn declared_value<'a>(value: &'a str, path: &FieldPath) -> Option<Found<'a>> {
    let first = |index: Option<u32>| index.is_none_or(|index| index == 1);
    let whole = first(path.repetition) && first(path.component) && first(path.subcomponent);
    whole.then_some(Found::Declared(value))
}

/// Whether a path into an empty field names something that is there (empty): the first
/// repetition, component and subcomponent, as hl7-parser would split `""`.
fn empty_field(path: &FieldPath) -> bool {
    [path.repetition, path.component, path.subcomponent]
        .into_iter()
        .all(|number| number.is_none_or(|number| number == 1))
}

/// From a field to the repetition, component and subcomponent the path names.
fn walk_field<'a>(field: &Field<'a>, path: &FieldPath) -> Option<&'a str> {
    let repeat = field.repeats.get(index(path.repetition.unwrap_or(1))?)?;
    let Some(component_number) = path.component else {
        return Some(repeat.raw_value());
    };
    let component = repeat.components.get(index(component_number)?)?;
    let Some(subcomponent_number) = path.subcomponent else {
        return Some(component.raw_value());
    };
    let subcomponent = component.subcomponents.get(index(subcomponent_number)?)?;
    Some(subcomponent.raw_value())
}

/// A 1-based number as a vector index; `None` for 0.
fn index(number: u32) -> Option<usize> {
    usize::try_from(number).ok()?.checked_sub(1)
}

/// Reads segments with one message's delimiters.
struct SegmentReader {
    delimiters: Delimiters,
    separators: Separators,
}

impl SegmentReader {
    fn new(delimiters: Delimiters) -> SegmentReader {
        let separators = Separators {
            field: char::from(delimiters.field),
            component: char::from(delimiters.component),
            subcomponent: char::from(delimiters.subcomponent),
            repetition: char::from(delimiters.repetition),
            escape: char::from(delimiters.escape),
            lenient_newlines: false,
        };
        SegmentReader {
            delimiters,
            separators,
        }
    }

    /// One segment from its content (no terminator), at `offset` in the text.
    fn segment<'a>(&self, content: &'a str, offset: usize) -> Result<Segment<'a>, ParseError> {
        let id = self.segment_id(content, offset)?;
        let is_header = matches!(id, "MSH" | "FHS" | "BHS");
        let (header, fields_start) = if is_header {
            self.header_fields(content)
        } else {
            (None, 4)
        };

        let mut fields = Vec::new();
        if let Some(rest) = content.get(fields_start..) {
            fields.reserve(rest.len() / 8);
            let mut field_offset = offset + fields_start;
            for text in rest.split(char::from(self.delimiters.field)) {
                fields.push(self.field(text, field_offset)?);
                field_offset += text.len() + 1;
            }
        }
        Ok(Segment {
            id,
            offset,
            header,
            fields,
        })
    }

    /// The id, checked: three upper-case letters or digits, the first a letter, then the
    /// field separator or the end of the segment.
    fn segment_id<'a>(&self, content: &'a str, offset: usize) -> Result<&'a str, ParseError> {
        let bytes = content.as_bytes();
        let valid_id = bytes.len() >= 3
            && bytes[0].is_ascii_uppercase()
            && bytes[1..3]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid_id {
            let shown: String = content.chars().take(8).collect();
            let reason = format!(
                "'{}' does not start with a segment id (three upper-case letters or digits, \
                 the first a letter)",
                shown.escape_debug()
            );
            return Err(ParseError::new(offset, reason));
        }

        match bytes.get(3) {
            Some(&byte) if byte != self.delimiters.field => {
                let reason = format!(
                    "segment id '{}' is followed by {} instead of the field separator {}",
                    &content[..3],
                    show_byte(byte),
                    show_byte(self.delimiters.field)
                );
                Err(ParseError::new(offset + 3, reason))
            }
            _ => Ok(&content[..3]),
        }
    }

    /// MSH-1 and MSH-2 of a header segment, and where its split fields start.
    fn header_fields<'a>(&self, content: &'a str) -> (Option<(&'a str, &'a str)>, usize) {
        let Some(after_separator) = content.get(4..) else {
            let field_separator = content.get(3..).unwrap_or_default();
            return (Some((field_separator, "")), content.len() + 1);
        };
        let field = char::from(self.delimiters.field);
        let msh2_length = after_separator.find(field).unwrap_or(after_separator.len());
        let encoding_characters = &after_separator[..msh2_length];
        (
            Some((&content[3..4], encoding_characters)),
            4 + msh2_length + 1,
        )
    }

    /// One field, split by hl7-parser, which must consume all of it; `None` when empty.
    fn field<'a>(&self, text: &'a str, offset: usize) -> Result<Option<Field<'a>>, ParseError> {
        if text.is_empty() {
            return Ok(None);
        }
        let parsed = hl7_parser::parser::parse_field_with_separators(text, self.separators)
            .map_err(|error| ParseError::new(offset, format!("field not readable: {error}")))?;
        let consumed = parsed.raw_value().len();
        if consumed != text.len() {
            let reason = "the field splitter stopped before the end of the field";
            return Err(ParseError::new(offset + consumed, reason));
        }
        Ok(Some(parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> FieldPath {
        FieldPath::parse(text).unwrap()
    }

    fn text(message: &Hl7Message<'_>, at: &str) -> Option<String> {
        message.get(&path(at)).as_text().map(str::to_owned)
    }

    const ADT: &str = concat!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r",
        "EVN|A01\r",
        "PID|1||TEST0001^^^TESTHOSP^MR~X2^^^OTHER||TEST^PATIENT&SUB||\"\"|^^\r",
    );

    #[test]
    fn walks_fields_repetitions_components_and_subcomponents() {
        let message = Hl7Message::parse(ADT).unwrap();
        assert_eq!(message.segment_count(), 3);
        assert_eq!(
            message.segment_ids().collect::<Vec<_>>(),
            ["MSH", "EVN", "PID"]
        );
        assert_eq!(text(&message, "MSH-1").as_deref(), Some("|"));
        assert_eq!(text(&message, "MSH-2").as_deref(), Some("^~\\&"));
        assert_eq!(text(&message, "MSH-3").as_deref(), Some("SENDAPP"));
        assert_eq!(text(&message, "MSH-9.2").as_deref(), Some("A01"));
        assert_eq!(
            text(&message, "PID-3").as_deref(),
            Some("TEST0001^^^TESTHOSP^MR")
        );
        assert_eq!(text(&message, "PID-3[2].4").as_deref(), Some("OTHER"));
        assert_eq!(text(&message, "PID-5.2").as_deref(), Some("PATIENT&SUB"));
        assert_eq!(text(&message, "PID-5.2.2").as_deref(), Some("SUB"));
        assert_eq!(message.get(&path("PID-7")), FieldValue::Null);
        assert_eq!(message.get(&path("PID-8")), FieldValue::Missing);
        assert_eq!(message.get(&path("PID-6")), FieldValue::Missing);
        assert_eq!(message.get(&path("PID-99")), FieldValue::Missing);
        assert_eq!(message.get(&path("PID[2]-1")), FieldValue::Missing);
        assert_eq!(message.get(&path("PID-3[3]")), FieldValue::Missing);
        assert_eq!(message.get(&path("MSH-1.2")), FieldValue::Missing);
        assert_eq!(message.get_raw(&path("PID-6")), Some(""));
        assert_eq!(message.get_raw(&path("PID-8")), Some("^^"));
    }

    #[test]
    fn zero_indexes_in_a_hand_built_path_are_missing() {
        let message = Hl7Message::parse(ADT).unwrap();
        for field in [
            "occurrence",
            "field",
            "repetition",
            "component",
            "subcomponent",
        ] {
            let mut zero = path("PID[1]-3[1].1.1");
            match field {
                "occurrence" => zero.occurrence = 0,
                "field" => zero.field = 0,
                "repetition" => zero.repetition = Some(0),
                "component" => zero.component = Some(0),
                _ => zero.subcomponent = Some(0),
            }
            assert_eq!(message.get(&zero), FieldValue::Missing, "{field}");
        }
    }

    #[test]
    fn reports_lines_that_are_not_segments() {
        let error = Hl7Message::parse("MSH|^~\\&|A\r[EOM]\r").unwrap_err();
        assert_eq!(error.offset, 11);
        assert!(error.reason.contains("segment id"), "{error}");

        let error = Hl7Message::parse("MSH|^~\\&|A\rPID1|x\r").unwrap_err();
        assert_eq!(error.offset, 14);

        let error = Hl7Message::parse("PID|1\r").unwrap_err();
        assert_eq!(error.offset, 0);

        let error = Hl7Message::parse("\u{feff}MSH|^~|A\r").unwrap_err();
        assert_eq!(error.offset, 7);
    }

    #[test]
    fn a_bare_segment_id_is_a_segment_without_fields() {
        let message = Hl7Message::parse("MSH|^~\\&|A\r\nPD1\r\nPV1||N").unwrap();
        assert_eq!(
            message.segment_ids().collect::<Vec<_>>(),
            ["MSH", "PD1", "PV1"]
        );
        assert_eq!(message.get(&path("PD1-1")), FieldValue::Missing);
        assert_eq!(text(&message, "PV1-2").as_deref(), Some("N"));
        assert_eq!(message.segment_offsets().collect::<Vec<_>>(), [0, 12, 17]);
    }

    #[test]
    fn empty_fields_answer_as_hl7_parser_splits_an_empty_field() {
        let split = hl7_parser::parser::parse_field("").unwrap();
        assert_eq!(split.repeats.len(), 1);
        assert_eq!(split.repeats[0].components.len(), 1);
        assert_eq!(split.repeats[0].components[0].subcomponents.len(), 1);

        let message = Hl7Message::parse(ADT).unwrap();
        assert_eq!(message.get_raw(&path("PID-6[1].1.1")), Some(""));
        assert_eq!(message.get_raw(&path("PID-6.2")), None);
        assert_eq!(message.get_raw(&path("PID-6[2]")), None);
        assert_eq!(message.get(&path("PID-6.1")), FieldValue::Missing);
    }

    #[test]
    fn a_bare_msh_has_only_its_declared_fields() {
        let message = Hl7Message::parse("MSH|^~\\&").unwrap();
        assert_eq!(text(&message, "MSH-2").as_deref(), Some("^~\\&"));
        assert_eq!(message.get(&path("MSH-3")), FieldValue::Missing);
    }
}
