//! Properties over generated input: no panic on any bytes, and the round trips that must
//! hold (paths, escaping, splitting without normalisation, writing an unchanged message
//! back). The ACK properties are in `ack.rs`.

use ferry_hl7::{
    Delimiters, FieldPath, Hl7Message, MessageWriter, Piece, SplitOptions, escape, scan_header,
    split_messages, unescape,
};
use proptest::prelude::*;

const PATHS: &[&str] = &[
    "MSH-1",
    "MSH-2",
    "MSH-3",
    "MSH-9.1",
    "MSH-9.2",
    "MSH-10",
    "MSH-18",
    "PID-3[2].1",
    "PID-5.1.2",
    "OBX[2]-5",
    "ZPI-2[1].1",
    "EVN-1",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Bytes that often look like HL7: an MSH start, delimiters and terminators among noise.
fn hl7ish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"MSH|^~\\&|".to_vec()),
        Just(b"MSH|^~\\&#|".to_vec()),
        Just(b"BHS|^~\\&\r".to_vec()),
        Just(b"BTS|1\r".to_vec()),
        Just(b"FHS|^~\\&\r".to_vec()),
        Just(b"FTS|x\r".to_vec()),
        Just(b"PID|1||".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\\X0D\\".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
        "[|^~&#\\\\A-Z0-9\"]{0,6}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..200), hl7ish_bytes()]
}

fn exact() -> SplitOptions {
    SplitOptions {
        normalise_terminators: false,
        ..SplitOptions::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scan_header_never_panics(input in any_input()) {
        if let Ok(header) = scan_header(&input) {
            let _ = header.doc_type();
            prop_assert!(input.starts_with(b"MSH"));
        }
    }

    #[test]
    fn split_never_panics_and_pieces_are_in_order(input in any_input(), lenient in any::<bool>()) {
        for normalise in [true, false] {
            let options = SplitOptions { normalise_terminators: normalise, lenient_lf: lenient };
            let split = split_messages(&input, &options);
            let mut last_end = 0;
            for piece in &split.pieces {
                prop_assert!(piece.offset() >= last_end);
                match piece {
                    Piece::Message(message) => {
                        prop_assert!(scan_header(&message.bytes).is_ok());
                        if !normalise {
                            let end = message.offset + message.bytes.len();
                            prop_assert_eq!(&input[message.offset..end], message.bytes.as_slice());
                        }
                        last_end = message.offset + 1;
                    }
                    Piece::Rejected { offset, bytes, reason } => {
                        prop_assert!(!reason.is_empty());
                        prop_assert_eq!(&input[*offset..offset + bytes.len()], bytes.as_slice());
                        last_end = offset + bytes.len();
                    }
                }
            }
        }
    }

    #[test]
    fn parse_and_get_never_panic(input in any_input()) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(message) = Hl7Message::parse(&text) {
            for path in PATHS {
                let path = FieldPath::parse(path).unwrap();
                let _ = message.get(&path);
                let _ = message.get_raw(&path);
            }
            prop_assert!(message.segment_count() >= 1);
        }
    }

    #[test]
    fn field_path_display_then_parse_is_identity(path in field_path()) {
        let written = path.to_string();
        prop_assert_eq!(FieldPath::parse(&written).unwrap(), path);
    }

    #[test]
    fn escape_then_unescape_is_identity(value in any::<String>(), delimiters in delimiters()) {
        let escaped = escape(&value, &delimiters);
        prop_assert!(!escaped.bytes().any(|byte| delimiters.is_separator(byte)));
        prop_assert!(!escaped.contains(['\r', '\n']));
        let decoded = unescape(&escaped, &delimiters);
        prop_assert_eq!(decoded.text.as_ref(), value.as_str());
        prop_assert!(!decoded.kept_literally);
    }

    #[test]
    fn split_without_normalising_gives_back_the_input(
        messages in prop::collection::vec(message_segments(), 1..5),
        crlf in any::<bool>(),
    ) {
        let terminator = if crlf { "\r\n" } else { "\r" };
        let written: Vec<String> = messages
            .iter()
            .map(|segments| segments.iter().map(|s| format!("{s}{terminator}")).collect())
            .collect();
        let input = written.concat();

        let split = split_messages(input.as_bytes(), &exact());
        let pieces: Vec<&[u8]> = split.messages().map(|m| m.bytes.as_slice()).collect();
        prop_assert_eq!(pieces.len(), messages.len());
        prop_assert_eq!(pieces.concat(), input.as_bytes());

        let normalised = split_messages(input.as_bytes(), &SplitOptions::default());
        for (message, segments) in normalised.messages().zip(&messages) {
            let expected: String = segments.iter().map(|s| format!("{s}\r")).collect();
            prop_assert_eq!(message.bytes.as_slice(), expected.as_bytes());
            let text = std::str::from_utf8(&message.bytes).unwrap();
            let parsed = Hl7Message::parse(text).unwrap();
            prop_assert_eq!(parsed.segment_count(), segments.len());
        }
    }

    /// An unchanged message is written back byte for byte (B05, B15, B17): its segments, as
    /// the parse found them, each followed by CR, are the text again (CRLF becomes CR).
    #[test]
    fn parsed_segments_rejoined_give_back_the_text(
        segments in message_segments(),
        crlf in any::<bool>(),
    ) {
        let written: String = segments.iter().map(|s| format!("{s}\r")).collect();
        let sent = if crlf { written.replace('\r', "\r\n") } else { written.clone() };
        let message = Hl7Message::parse(&sent).unwrap();

        let rejoined: String = message.segments().map(|s| format!("{s}\r")).collect();
        prop_assert_eq!(&rejoined, &written);

        let mut writer = MessageWriter::new(message.delimiters());
        for segment in message.segments() {
            writer.raw_segment(segment.as_bytes());
        }
        prop_assert_eq!(writer.finish(), written.into_bytes());
    }
}

fn field_path() -> impl Strategy<Value = FieldPath> {
    let number = 1u32..=9999;
    (
        "[A-Z][A-Z0-9]{2}",
        number.clone(),
        number.clone(),
        prop::option::of(number.clone()),
        prop::option::of((number.clone(), prop::option::of(number))),
    )
        .prop_map(|(segment, occurrence, field, repetition, component)| {
            let id = segment.as_bytes();
            FieldPath {
                segment: [id[0], id[1], id[2]],
                occurrence,
                field,
                repetition,
                component: component.map(|(component, _)| component),
                subcomponent: component.and_then(|(_, subcomponent)| subcomponent),
            }
        })
}

/// Six distinct punctuation characters: field, component, repetition, escape,
/// subcomponent, and sometimes a truncation character.
fn delimiters() -> impl Strategy<Value = Delimiters> {
    let punctuation: Vec<u8> = (b'!'..=b'~').filter(|b| b.is_ascii_punctuation()).collect();
    (Just(punctuation).prop_shuffle(), any::<bool>()).prop_map(|(chosen, truncation)| Delimiters {
        field: chosen[0],
        component: chosen[1],
        repetition: chosen[2],
        escape: chosen[3],
        subcomponent: chosen[4],
        truncation: truncation.then_some(chosen[5]),
    })
}

/// One well-formed message with the default delimiters: an MSH and a few segments whose
/// values may hold separators, escapes and a line break (data, since the input has CR).
fn message_segments() -> impl Strategy<Value = Vec<String>> {
    let value = "[A-Za-z0-9 .^~&\\\\\n-]{0,12}";
    let msh = (value, "[A-Z0-9]{1,10}").prop_map(|(sender, control_id)| {
        let sender = sender.replace('\n', " ");
        format!("MSH|^~\\&|{sender}|FAC|||20240101||ADT^A01|{control_id}|P|2.5.1")
    });
    let id = "[A-Z][A-Z0-9]{2}".prop_filter("not a header or trailer", |id| {
        !matches!(id.as_str(), "MSH" | "BHS" | "FHS" | "BTS" | "FTS")
    });
    let segment = (id, prop::collection::vec(value, 0..5)).prop_map(|(id, fields)| {
        let fields: Vec<String> = fields
            .iter()
            .map(|f| f.trim_start_matches('\n').to_owned())
            .collect();
        if fields.is_empty() {
            id
        } else {
            format!("{id}|{}", fields.join("|"))
        }
    });
    (msh, prop::collection::vec(segment, 0..6))
        .prop_map(|(msh, segments)| std::iter::once(msh).chain(segments).collect())
}
