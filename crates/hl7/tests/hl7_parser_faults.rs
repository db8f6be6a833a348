//! The faults of hl7-parser 0.3.0 that docs/dependencies.md lists, one test each.
//!
//! Each test asserts the faulty behaviour as it is today, and says what Ferry does instead.
//! When a new hl7-parser release fixes a fault, its test fails: then re-read that part of
//! the crate and decide whether Ferry's own code can give way to hl7-parser again.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ferry_hl7::{FieldPath, Hl7Message, SplitOptions, split_messages};
use hl7_parser::Message;
use hl7_parser::message::Separators;

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).expect("a valid path")
}

const TRUNCATION: &str =
    "MSH|^~\\&#|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0024|P|2.7\rPID|1\r";

/// Fault: MSH-2 is read as exactly four characters, so `^~\&#` shifts every MSH field.
/// Ferry reads MSH-1 and MSH-2 itself (`scan`) and never uses hl7-parser's MSH parser.
#[test]
fn msh2_with_five_characters_shifts_every_msh_field() {
    let parsed = Message::parse(TRUNCATION).unwrap();
    let msh = parsed.segment("MSH").unwrap();
    assert_eq!(msh.field(2).unwrap().raw_value(), "^~\\&");
    assert_eq!(msh.field(9).unwrap().raw_value(), "");
    assert_eq!(msh.field(10).unwrap().raw_value(), "ADT^A01^ADT_A01");

    let ferry = Hl7Message::parse(TRUNCATION).unwrap();
    assert_eq!(ferry.get(&path("MSH-10")).as_text(), Some("MSG0024"));
}

/// Fault, same cause: with three encoding characters the field separator is taken as the
/// subcomponent separator. Ferry rejects such an MSH-2.
#[test]
fn msh2_with_three_characters_takes_the_field_separator_as_a_delimiter() {
    let input = "MSH|^~\\|SENDAPP|SENDFAC\rPID|1\r";
    let parsed = Message::parse(input).unwrap();
    assert_eq!(parsed.separators.subcomponent, '|');

    assert!(Hl7Message::parse(input).is_err());
}

/// Fault: the parse stops without an error at the first segment it cannot read, and drops
/// everything after it. Ferry cuts segments itself and reports a line that is not one.
#[test]
fn stops_quietly_at_a_segment_it_cannot_read() {
    let input = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\rPID|1\rXY|stray\rPV1|1|I\r";
    let parsed = Message::parse(input).unwrap();
    assert_eq!(parsed.segments().count(), 2);
    assert!(parsed.segment("PV1").is_none());

    let error = Hl7Message::parse(input).unwrap_err();
    assert_eq!(error.offset, input.find("XY|").unwrap());
}

/// Fault, same cause: CRLF input in strict mode gives the MSH alone, and a segment that holds
/// only its id (`PD1`) ends the parse in any mode. Ferry keeps all of them.
#[test]
fn crlf_and_bare_segment_ids_end_the_parse() {
    let input = "MSH|^~\\&|A|B|C|D|1||ADT^A31|X|P|2.3\r\nPID|1\r\nPD1\r\nPV1||N\r\n";
    let strict = Message::parse(input).unwrap();
    assert_eq!(strict.segments().count(), 1);
    let lenient = Message::parse_with_lenient_newlines(input, true).unwrap();
    assert_eq!(lenient.segments().count(), 2);

    let ferry = Hl7Message::parse(input).unwrap();
    assert_eq!(
        ferry.segment_ids().collect::<Vec<_>>(),
        ["MSH", "PID", "PD1", "PV1"]
    );
}

/// Fault: lenient newlines also split a value on LF, so an OBX-5 with a line break is cut
/// in two (field case B09 a). Ferry treats a lone LF as data when the message has CR.
#[test]
fn lenient_newlines_cut_a_value_at_lf() {
    let input = "MSH|^~\\&|A|B|C|D|1||ORU^R01|X|P|2.5\rOBX|1|TX|N||line one\nline two\r";
    let lenient = Message::parse_with_lenient_newlines(input, true).unwrap();
    let obx5 = lenient.segment("OBX").unwrap().field(5).unwrap();
    assert_eq!(obx5.raw_value(), "line one");

    let ferry = Hl7Message::parse(input).unwrap();
    assert_eq!(
        ferry.get(&path("OBX-5")).as_text(),
        Some("line one\nline two")
    );
}

/// Fault: decoding mixes byte and char offsets, so non-ASCII text before an escape sequence
/// comes out wrong. Ferry decodes escapes itself (`escaping::unescape`).
#[test]
fn decode_garbles_non_ascii_text_before_an_escape() {
    let separators = Separators::default();
    let decoded = separators.decode("Grüße\\T\\Köhler").to_string();
    assert_eq!(decoded, "GrüßeeKöhler");

    let ferry = ferry_hl7::unescape("Grüße\\T\\Köhler", &ferry_hl7::Delimiters::default());
    assert_eq!(ferry.text, "Grüße&Köhler");
}

/// Fault, same cause: after two non-ASCII characters, decoding panics.
#[test]
fn decode_panics_after_non_ascii_text() {
    let separators = Separators::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        separators.decode("üü\\T\\x").to_string()
    }));
    assert!(outcome.is_err());

    let ferry = ferry_hl7::unescape("üü\\T\\x", &ferry_hl7::Delimiters::default());
    assert_eq!(ferry.text, "üü&x");
}

/// Fault: hex and formatting sequences come out as bare text. Ferry decodes `\X41\` and
/// keeps formatting sequences as written.
#[test]
fn decode_strips_hex_and_formatting_sequences() {
    let separators = Separators::default();
    let decoded = separators
        .decode("a\\X41\\b\\H\\c\\N\\d\\C2842\\e")
        .to_string();
    assert_eq!(decoded, "aX41bHcNdC2842e");

    let delimiters = ferry_hl7::Delimiters::default();
    let ferry = ferry_hl7::unescape("a\\X41\\b\\H\\c\\N\\d\\C2842\\e", &delimiters);
    assert_eq!(ferry.text, "aAb\\H\\c\\N\\d\\C2842\\e");
}

/// Fault: a builder made from a parsed message escapes the raw values again. Ferry never
/// uses the builder; a pass-through keeps the message bytes.
#[test]
fn builder_from_message_escapes_raw_values_again() {
    let input = "MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5\rNTE|1||A\\T\\B\r";
    let parsed = Message::parse(input).unwrap();
    let builder = hl7_parser::builder::MessageBuilder::from(&parsed);
    let rendered = builder.render_with_segment_separators("\r").to_string();
    assert!(rendered.contains("A\\E\\T\\E\\B"), "{rendered}");

    let split = split_messages(input.as_bytes(), &SplitOptions::default());
    assert_eq!(split.messages().next().unwrap().bytes, input.as_bytes());
}

/// Fault: `query()` panics (an unfinished error path) on a path number that does not fit a
/// `usize`. Ferry parses paths with `FieldPath`, which caps numbers at 9999 and returns an
/// error.
#[test]
fn query_panics_on_an_overflowing_number() {
    let parsed = Message::parse("MSH|^~\\&|A\r").unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        parsed.query("MSH.99999999999999999999999").is_none()
    }));
    assert!(outcome.is_err());

    assert!(FieldPath::parse("MSH-99999999999999999999999").is_err());
}

/// Fault: a negative offset below one hour loses its sign: `-0030` is read as `+0030`.
/// Ferry does not use hl7-parser's timestamps (its own HL7 TS parser lives elsewhere).
#[test]
fn timestamp_offset_minus_thirty_minutes_reads_as_plus() {
    let stamp: hl7_parser::datetime::TimeStamp = "20240101120000-0030".parse().unwrap();
    let offset = stamp.offset.unwrap();
    assert_eq!((offset.hours, offset.minutes), (0, 30));
}

/// Fault: no FHS/BHS batches; a batch file is an error at position 0. Ferry splits batches
/// itself (`split`).
#[test]
fn batch_files_fail_at_position_zero() {
    let input = "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\rBTS|1\rFTS|1\r";
    let error = Message::parse(input).unwrap_err();
    assert!(error.to_string().contains("position 0"), "{error}");

    let split = split_messages(input.as_bytes(), &SplitOptions::default());
    assert_eq!(split.messages().count(), 1);
    assert!(split.warnings.is_empty());
}
