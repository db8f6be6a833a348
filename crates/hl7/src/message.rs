//! The structural view of one decoded message, used by routing rules and transforms.
//!
//! [`Hl7Message::parse`] finds the segments and checks what can be checked without looking
//! inside a field; it keeps one small record per segment (its id and byte range) and nothing
//! per field. [`Hl7Message::get`] then finds the segment occurrence a path names and splits
//! only that segment, on the fly: up to the wanted field, then that field's repetition,
//! component and subcomponent. Values stay slices of the text: [`Hl7Message::get_raw`]
//! returns them still escaped, [`Hl7Message::get`] decodes the escape sequences of the one
//! value asked for.
//!
//! Why lazy: the engine parses every message to read a handful of paths (search fields,
//! routing rules), and an ORU can carry hundreds of thousands of OBX segments. Splitting all
//! of them up front cost hundreds of bytes of heap per field (gigabytes for a 50 MB message);
//! now the heap is one `Segment` record per segment, and splitting one segment again on each
//! `get` costs a scan over that segment's bytes.
//!
//! Who does what. hl7-parser 0.3.0 is not used here any more (it stays a dev-dependency: the
//! tests pin its faults and check that this module splits a field exactly as it does). Ferry
//! does it all itself, because hl7-parser gets it wrong or costs too much:
//! - segments: hl7-parser either splits on CR only (CRLF input then stops after MSH) or, in
//!   its lenient mode, on LF as well, which cuts an OBX-5 that holds a line break (field case
//!   B09); it also stops without an error at the first segment it cannot read (a blank line,
//!   a segment holding only its id such as `PD1`, a stray line), dropping the rest. Here
//!   segments are cut by the B09 rule (see `lines`), blank lines are not segments, a bare id
//!   is a segment without fields, and a line that is not a segment is a [`ParseError`];
//! - MSH: hl7-parser reads MSH-2 as exactly four characters, so with the v2.7 truncation
//!   character every MSH field shifts by one (field case B12). Here MSH-1 and MSH-2 are read
//!   by the MSH pre-scan, and the fields from MSH-3 on are split like any other;
//! - fields: hl7-parser's field parser splits correctly, but into a vector of repetitions,
//!   each with a vector of components, each with a vector of subcomponents: at least three
//!   allocations even for a plain value, and all of them for the parts a path skips. Here a
//!   field is split by a byte loop that stops at the wanted part and keeps only that slice,
//!   which allocates nothing. The delimiters are ASCII, so every cut is a `char` boundary;
//! - escape sequences: hl7-parser's decoding mixes byte and char offsets (wrong text or a
//!   panic after non-ASCII text) and drops `\X..\` and formatting codes; Ferry's own
//!   [`unescape`] is used instead.
//!
//! No check per field. Splitting a field cannot fail and always consumes the whole field: a
//! field never holds a CR (a CR always ends a segment, and input with no CR at all is cut on
//! LF), and the only other bytes that stop a part are the four separators, which are exactly
//! where it is cut. (The earlier "the field splitter stopped before the end of the field"
//! error came from hl7-parser stopping at a CR, which cannot occur inside a segment, so it was
//! never reported.) Every [`ParseError`] is therefore found in MSH and at segment starts.
//!
//! Invariants after a successful parse:
//! - the text starts with an MSH segment that the pre-scan accepts (a leading BOM is
//!   skipped; offsets still count it);
//! - every segment id is three upper-case letters or digits, the first a letter, followed by
//!   the field separator or the end of the segment;
//! - the message holds one `Segment` per segment (a `Copy` record of 24 bytes on 64-bit
//!   targets, no heap of its own) in one vector, and nothing else on the heap;
//! - field, repetition, component and subcomponent numbers are 1-based, and MSH-1 / MSH-2
//!   (FHS, BHS alike) are the field separator and the encoding characters exactly as
//!   declared, so MSH-3 onwards never shift.
//!
//! What [`Hl7Message::get`] returns (field case B15): [`FieldValue::Null`] exactly when the
//! addressed value is `""`; [`FieldValue::Missing`] when the segment, field, repetition,
//! component or subcomponent is absent, or present but empty or made only of separators
//! (`^^`); otherwise [`FieldValue::Text`] with escape sequences decoded. A path without a
//! component gives the whole repetition (the first when the path names none), its separators
//! kept; MSH-1 and MSH-2 are returned as declared, never decoded. An empty field splits as
//! any text does: into one empty repetition, component and subcomponent.
//!
//! Cost of a lookup: `get` walks the segment records to the occurrence (linear in the number
//! of segments, a few bytes each), then scans one segment's bytes up to the wanted field; it
//! allocates only when escape sequences must be decoded.

use std::borrow::Cow;

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
    segments: Vec<Segment>,
}

/// What the parse keeps of one segment: its id and where its content lies in the text.
///
/// `Copy`, so it can hold nothing on the heap; fields are found again from `start..end` when
/// a path asks for one.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// The id, kept beside the range so that finding the n-th OBX reads only these records,
    /// not the text.
    id: [u8; 3],
    /// Byte offset of the id in the text.
    start: usize,
    /// End of the content: the terminator's first byte, or the end of the text.
    end: usize,
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
    /// CR is split on LF instead, as the splitter does for files. Fields are not split here
    /// (see the module docs): the work and the memory are one record per segment.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] with the byte offset: the MSH is not acceptable (the reasons of
    /// `scan_header`), or a line is not a segment (bad id, no field separator after the id).
    pub fn parse(text: &'a str) -> Result<Hl7Message<'a>, ParseError> {
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let bytes = text.as_bytes();
        let msh_end = start + msh_segment_end(&bytes[start..]);
        let declared = read_delimiters(&bytes[start..msh_end])
            .map_err(|error| ParseError::new(start + error.offset, error.reason))?;
        let delimiters = declared.delimiters;

        let mut segments = Vec::with_capacity(16);
        for line in Lines::new(bytes, start, terminator_for(bytes)) {
            let content = &text[line.start..line.end];
            if !content.bytes().all(|byte| byte.is_ascii_whitespace()) {
                let id = segment_id(content, line.start, delimiters.field)?;
                segments.push(Segment {
                    id,
                    start: line.start,
                    end: line.end,
                });
            }
        }

        Ok(Hl7Message {
            text,
            delimiters,
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
        let text = self.text;
        self.segments.iter().map(move |segment| {
            text.get(segment.start..segment.start + 3)
                .unwrap_or_default()
        })
    }

    /// Byte offset in the text of each segment, in message order.
    pub fn segment_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.segments.iter().map(|segment| segment.start)
    }

    /// Each segment's text exactly as sent, without its terminator, in message order (blank
    /// lines are not segments). A segment the flow did not change is written back from here
    /// byte for byte (field cases B05, B15, B17), e.g. with
    /// [`MessageWriter::raw_segment`](crate::write::MessageWriter::raw_segment).
    pub fn segments(&self) -> impl Iterator<Item = &'a str> + '_ {
        let text = self.text;
        self.segments
            .iter()
            .map(move |segment| text.get(segment.start..segment.end).unwrap_or_default())
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
        let occurrence = index(path.occurrence)?;
        let segment = self
            .segments
            .iter()
            .filter(|segment| segment.id == path.segment)
            .nth(occurrence)?;
        let content = self.text.get(segment.start..segment.end)?;

        let field_number = usize::try_from(path.field).ok()?;
        let (fields, field_index) = if matches!(&segment.id, b"MSH" | b"FHS" | b"BHS") {
            let header = HeaderFields::read(content, self.delimiters.field);
            match field_number {
                1 => return declared_value(header.field_separator, path),
                2 => return declared_value(header.encoding_characters, path),
                number => (header.rest, number.checked_sub(3)?),
            }
        } else {
            (content.get(4..), field_number.checked_sub(1)?)
        };

        let field = nth_part(fields?, self.delimiters.field, field_index)?;
        walk_field(field, path, &self.delimiters).map(Found::Value)
    }
}

/// The id of a segment, checked: three upper-case letters or digits, the first a letter,
/// then the field separator or the end of the segment.
fn segment_id(content: &str, offset: usize, field: u8) -> Result<[u8; 3], ParseError> {
    let bytes = content.as_bytes();
    let id = match bytes {
        [first, second, third, ..]
            if first.is_ascii_uppercase()
                && [second, third]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
        {
            [*first, *second, *third]
        }
        _ => {
            let shown: String = content.chars().take(8).collect();
            let reason = format!(
                "'{}' does not start with a segment id (three upper-case letters or digits, \
                 the first a letter)",
                shown.escape_debug()
            );
            return Err(ParseError::new(offset, reason));
        }
    };

    match bytes.get(3) {
        Some(&byte) if byte != field => {
            let reason = format!(
                "segment id '{}' is followed by {} instead of the field separator {}",
                String::from_utf8_lossy(&id),
                show_byte(byte),
                show_byte(field)
            );
            Err(ParseError::new(offset + 3, reason))
        }
        _ => Ok(id),
    }
}

/// MSH-1, MSH-2 and the fields after them, in the content of an MSH, FHS or BHS segment.
///
/// MSH-2 runs to the next field separator, whatever its length, so that the pre-scan's
/// four or five encoding characters never shift MSH-3 onwards (field case B12).
struct HeaderFields<'a> {
    field_separator: &'a str,
    encoding_characters: &'a str,
    /// The text from MSH-3 on; `None` when the segment ends within MSH-2, so that MSH-3 is
    /// absent rather than empty.
    rest: Option<&'a str>,
}

impl<'a> HeaderFields<'a> {
    /// Reads `content`, whose id is followed by the field separator or nothing (checked by
    /// the parse).
    fn read(content: &'a str, separator: u8) -> HeaderFields<'a> {
        let Some(after_separator) = content.get(4..) else {
            return HeaderFields {
                field_separator: content.get(3..).unwrap_or_default(),
                encoding_characters: "",
                rest: None,
            };
        };
        let msh2_length = after_separator
            .bytes()
            .position(|byte| byte == separator)
            .unwrap_or(after_separator.len());
        HeaderFields {
            field_separator: content.get(3..4).unwrap_or_default(),
            encoding_characters: after_separator.get(..msh2_length).unwrap_or_default(),
            rest: after_separator.get(msh2_length + 1..),
        }
    }
}

/// MSH-1 or MSH-2: a whole value, not split into components.
fn declared_value<'a>(value: &'a str, path: &FieldPath) -> Option<Found<'a>> {
    let first = |index: Option<u32>| index.is_none_or(|index| index == 1);
    let whole = first(path.repetition) && first(path.component) && first(path.subcomponent);
    whole.then_some(Found::Declared(value))
}

/// From a field to the repetition, component and subcomponent the path names.
fn walk_field<'a>(field: &'a str, path: &FieldPath, delimiters: &Delimiters) -> Option<&'a str> {
    let repetition_index = index(path.repetition.unwrap_or(1))?;
    let repetition = nth_part(field, delimiters.repetition, repetition_index)?;
    let Some(component_number) = path.component else {
        return Some(repetition);
    };
    let component = nth_part(repetition, delimiters.component, index(component_number)?)?;
    let Some(subcomponent_number) = path.subcomponent else {
        return Some(component);
    };
    nth_part(
        component,
        delimiters.subcomponent,
        index(subcomponent_number)?,
    )
}

/// The part at 0-based `wanted` of `text` cut at `separator`; text without the separator,
/// the empty text included, is one part.
///
/// A plain byte loop: parts are short, and calling a searcher once per part cost more than
/// the scan itself. `separator` is ASCII, so every cut is a `char` boundary.
fn nth_part(text: &str, separator: u8, wanted: usize) -> Option<&str> {
    let mut part = 0;
    let mut start = 0;
    for (position, &byte) in text.as_bytes().iter().enumerate() {
        if byte == separator {
            if part == wanted {
                return text.get(start..position);
            }
            part += 1;
            start = position + 1;
        }
    }
    if part == wanted {
        text.get(start..)
    } else {
        None
    }
}

/// A 1-based number as an index; `None` for 0.
fn index(number: u32) -> Option<usize> {
    usize::try_from(number).ok()?.checked_sub(1)
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

    #[test]
    fn a_segment_record_is_small_and_owns_no_heap() {
        fn copy_only<T: Copy>() {}
        // A `Copy` type cannot hold a `Vec`, so the parse keeps nothing per field.
        copy_only::<Segment>();
        assert!(std::mem::size_of::<Segment>() <= 32);
        assert_eq!(
            std::mem::size_of::<Segment>(),
            3 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn a_message_with_200_000_obx_segments_reads_its_last_segment() {
        const OBX: usize = 200_000;
        let mut written =
            String::from("MSH|^~\\&|LAB|HOSP|FERRY|HUB|20240101||ORU^R01|BIG|P|2.5\r");
        written.push_str("PID|1||42\r");
        for number in 1..=OBX {
            let value = format!("OBX|{number}|NM|718-7^Hemoglobin^LN||{number}.5|g/dL||N|||F\r");
            written.push_str(&value);
        }
        let message = Hl7Message::parse(&written).unwrap();
        assert_eq!(message.segment_count(), OBX + 2);

        // FieldPath::parse caps numbers at 9999; a program may still build a larger one.
        let last = |at: &str| FieldPath {
            occurrence: u32::try_from(OBX).unwrap(),
            ..path(at)
        };
        let value = format!("{OBX}.5");
        assert_eq!(message.get(&last("OBX-5")).as_text(), Some(value.as_str()));
        assert_eq!(message.get(&last("OBX-3.2")).as_text(), Some("Hemoglobin"));
        assert_eq!(message.get(&last("OBX-7")), FieldValue::Missing);
        let beyond = FieldPath {
            occurrence: u32::try_from(OBX + 1).unwrap(),
            ..path("OBX-1")
        };
        assert_eq!(message.get(&beyond), FieldValue::Missing);

        // Nothing per field: the heap is the segment records, at most doubled by the
        // vector's growth.
        let heap = message.segments.capacity() * std::mem::size_of::<Segment>();
        assert!(heap <= 2 * 32 * message.segment_count(), "{heap} bytes");
    }

    #[test]
    fn a_bad_segment_id_at_the_end_of_a_large_message_is_still_found_by_the_parse() {
        let mut written = String::from("MSH|^~\\&|A\r");
        for number in 1..=10_000 {
            written.push_str(&format!("OBX|{number}|ST|||x\r"));
        }
        let offset = written.len();
        written.push_str("OBX1|x\r");
        let error = Hl7Message::parse(&written).unwrap_err();
        assert_eq!(error.offset, offset + 3);
    }

    /// The splitting hl7-parser 0.3.0 does, kept as the reference this module must match.
    fn hl7_parser_walk<'a>(field: &'a str, path: &FieldPath) -> Option<&'a str> {
        let separators = hl7_parser::message::Separators::default();
        let split = hl7_parser::parser::parse_field_with_separators(field, separators).unwrap();
        assert_eq!(
            split.raw_value(),
            field,
            "hl7-parser consumes every field whole"
        );
        let repeat = split.repeats.get(index(path.repetition.unwrap_or(1))?)?;
        let Some(component) = path.component else {
            return Some(repeat.raw_value());
        };
        let component = repeat.components.get(index(component)?)?;
        let Some(subcomponent) = path.subcomponent else {
            return Some(component.raw_value());
        };
        Some(
            component
                .subcomponents
                .get(index(subcomponent)?)?
                .raw_value(),
        )
    }

    proptest::proptest! {
        #[test]
        fn a_field_splits_as_hl7_parser_splits_it(
            field in "[A-Z0-9 ü\"\\\\^~&\n]{0,16}",
            repetition in proptest::option::of(0u32..4),
            component in proptest::option::of(0u32..4),
            subcomponent in proptest::option::of(0u32..4),
        ) {
            let path = FieldPath { repetition, component, subcomponent, ..path("PID-3") };
            let ours = walk_field(&field, &path, &Delimiters::default());
            proptest::prop_assert_eq!(ours, hl7_parser_walk(&field, &path));
        }
    }
}
