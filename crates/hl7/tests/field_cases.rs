//! Field cases B09, B10, B12, B13, B15, B17 and B19 (docs/field-cases.md) at the parsing
//! level. Each input is written out byte for byte as the case documents it; each test fails
//! if the behaviour the case asks for breaks.

use ferry_hl7::{
    FieldPath, FieldValue, Hl7Message, Piece, SplitOptions, decode, escape, scan_header,
    split_messages, unescape,
};

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).expect("a valid path")
}

fn text_at(message: &Hl7Message<'_>, at: &str) -> Option<String> {
    message.get(&path(at)).as_text().map(str::to_owned)
}

fn only_message(input: &[u8], options: &SplitOptions) -> Vec<u8> {
    let split = split_messages(input, options);
    assert_eq!(split.pieces.len(), 1, "{:?}", split.pieces);
    match &split.pieces[0] {
        Piece::Message(message) => message.bytes.clone(),
        Piece::Rejected { reason, .. } => panic!("rejected: {reason}"),
    }
}

const EXACT: SplitOptions = SplitOptions {
    normalise_terminators: false,
    lenient_lf: true,
};

// B09: segment terminators, LF in data, CRLF and LF files.

const B09_A: &str = concat!(
    "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ORU^R01^ORU_R01|MSG0018|P|2.5.1\r",
    "OBX|1|TX|NOTE^Note||line one\nline two||||||F\r",
);

#[test]
fn b09_a_lf_inside_obx5_is_data() {
    let bytes = only_message(B09_A.as_bytes(), &SplitOptions::default());
    assert_eq!(bytes, B09_A.as_bytes());

    let message = Hl7Message::parse(B09_A).unwrap();
    assert_eq!(message.segment_ids().collect::<Vec<_>>(), ["MSH", "OBX"]);
    assert_eq!(
        text_at(&message, "OBX-5").as_deref(),
        Some("line one\nline two")
    );
}

#[test]
fn b09_b_crlf_gives_two_clean_segments() {
    let crlf = B09_A.replace('\r', "\r\n");

    let message = Hl7Message::parse(&crlf).unwrap();
    assert_eq!(message.segment_ids().collect::<Vec<_>>(), ["MSH", "OBX"]);
    assert_eq!(
        text_at(&message, "OBX-5").as_deref(),
        Some("line one\nline two")
    );
    assert_eq!(text_at(&message, "OBX-11").as_deref(), Some("F"));

    let normalised = only_message(crlf.as_bytes(), &SplitOptions::default());
    assert_eq!(normalised, B09_A.as_bytes());
    let exact = only_message(crlf.as_bytes(), &EXACT);
    assert_eq!(exact, crlf.as_bytes());
}

#[test]
fn b09_c_lf_only_is_rejected_unless_lenient_then_split_on_segment_starts() {
    let lf_only = B09_A.replace('\r', "\n");

    let strict = SplitOptions {
        lenient_lf: false,
        ..SplitOptions::default()
    };
    let split = split_messages(lf_only.as_bytes(), &strict);
    let [
        Piece::Rejected {
            offset: 0,
            bytes,
            reason,
        },
    ] = split.pieces.as_slice()
    else {
        panic!("expected one rejected piece: {:?}", split.pieces);
    };
    assert_eq!(bytes, lf_only.as_bytes());
    assert!(reason.starts_with("no CR segment terminator"), "{reason}");

    // Lenient: LF ends segments, except an LF before a line that cannot start a segment
    // ("line two" has no segment id), which stays data: the result is message a again.
    let bytes = only_message(lf_only.as_bytes(), &SplitOptions::default());
    assert_eq!(bytes, B09_A.as_bytes());
    let message = Hl7Message::parse(&lf_only).unwrap();
    assert_eq!(message.segment_ids().collect::<Vec<_>>(), ["MSH", "OBX"]);
    assert_eq!(
        text_at(&message, "OBX-5").as_deref(),
        Some("line one\nline two")
    );
}

// B10: custom delimiters.

const B10_INBOUND: &str = concat!(
    "MSH:;~\\&:SENDAPP:SENDFAC:FERRY:HUB:20240101120000::ADT;A01;ADT_A01:MSG0019:P:2.3\r",
    "PID:1::TEST0019;;;TESTHOSP;MR::TEST;PATIENT\r",
);

#[test]
fn b10_custom_delimiters_address_fields_as_usual() {
    let header = scan_header(B10_INBOUND.as_bytes()).unwrap();
    assert_eq!(header.delimiters.field, b':');
    assert_eq!(header.delimiters.component, b';');
    assert_eq!(header.trigger_event(), "A01");
    assert_eq!(header.control_id(), "MSG0019");
    assert_eq!(header.doc_type().as_deref(), Some("ADT^A01"));

    let message = Hl7Message::parse(B10_INBOUND).unwrap();
    assert_eq!(text_at(&message, "PID-3.1").as_deref(), Some("TEST0019"));
    assert_eq!(text_at(&message, "PID-5.2").as_deref(), Some("PATIENT"));
    assert_eq!(text_at(&message, "MSH-9.2").as_deref(), Some("A01"));
    assert_eq!(text_at(&message, "MSH-1").as_deref(), Some(":"));
    assert_eq!(message.delimiters().to_string(), ":;~\\&");
    assert_eq!(escape("A:B;C", &message.delimiters()), "A\\F\\B\\S\\C");
}

#[test]
fn b10_reply_with_custom_delimiters_is_an_aa() {
    let reply = concat!(
        "MSH:;~\\&:RECVAPP:RECVFAC:FERRY:HUB:20240101120001::ACK;A01;ACK:R0020:P:2.3\r",
        "MSA:AA:MSG0020\r",
    );
    let header = scan_header(reply.as_bytes()).unwrap();
    assert_eq!(header.message_type(), "ACK");

    let message = Hl7Message::parse(reply).unwrap();
    assert_eq!(text_at(&message, "MSA-1").as_deref(), Some("AA"));
    assert_eq!(text_at(&message, "MSA-2").as_deref(), Some("MSG0020"));
}

// B12: the v2.7 truncation character.

fn b12(version: &str) -> String {
    format!(
        "MSH|^~\\&#|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0024|P|{version}\r\
         PID|1||TEST0024^^^TESTHOSP^MR||TEST^PATIENT||||||APT #4^^TESTCITY\r"
    )
}

fn assert_b12(input: &str) {
    let header = scan_header(input.as_bytes()).expect("MSH scans");
    assert_eq!(header.sending_application(), "SENDAPP");
    assert_eq!(header.trigger_event(), "A01");
    assert_eq!(header.control_id(), "MSG0024");

    let message = Hl7Message::parse(input).expect("message parses");
    assert_eq!(text_at(&message, "MSH-2").as_deref(), Some("^~\\&#"));
    assert_eq!(text_at(&message, "MSH-3").as_deref(), Some("SENDAPP"));
    assert_eq!(text_at(&message, "MSH-9.2").as_deref(), Some("A01"));
    assert_eq!(text_at(&message, "MSH-10").as_deref(), Some("MSG0024"));
    assert_eq!(text_at(&message, "PID-11.1").as_deref(), Some("APT #4"));
    assert_eq!(text_at(&message, "PID-11.3").as_deref(), Some("TESTCITY"));
    assert_eq!(message.delimiters().encoding_characters(), "^~\\&#");
}

#[test]
fn b12_truncation_character_in_v27() {
    assert_b12(&b12("2.7"));
}

#[test]
fn b12_truncation_character_whatever_msh12_says() {
    assert_b12(&b12("2.5.1"));
}

// B13: escape sequences, decoded once, encoded all.

const B13_DECODE: &str = concat!(
    "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ORU^R01^ORU_R01|MSG0025|P|2.5.1\r",
    "OBX|1|TX|NOTE^Note||",
    "A\\E\\T\\E\\B~C\\X0D\\\\X0A\\D~END\\E\\~\\E\\R\\E\\~PATH C:\\TEMP||||||F\r",
);

#[test]
fn b13_decodes_each_sequence_once() {
    let message = Hl7Message::parse(B13_DECODE).unwrap();
    let expected = ["A\\T\\B", "C\r\nD", "END\\", "\\R\\", "PATH C:\\TEMP"];
    for (index, value) in expected.iter().enumerate() {
        let at = format!("OBX-5[{}]", index + 1);
        assert_eq!(text_at(&message, &at).as_deref(), Some(*value), "{at}");
    }
    assert_eq!(message.get(&path("OBX-5[6]")), FieldValue::Missing);

    let unterminated = message.get_raw(&path("OBX-5[5]")).unwrap();
    assert!(unescape(unterminated, &message.delimiters()).kept_literally);
    let known = message.get_raw(&path("OBX-5[1]")).unwrap();
    assert!(!unescape(known, &message.delimiters()).kept_literally);
}

#[test]
fn b13_encodes_every_delimiter() {
    let delimiters = ferry_hl7::Delimiters::default();
    let pid5 = format!(
        "{}^{}",
        escape("\\\\SRV\\SHARE", &delimiters),
        escape("A|B^C&D~E", &delimiters)
    );
    assert_eq!(pid5, "\\E\\\\E\\SRV\\E\\SHARE^A\\F\\B\\S\\C\\T\\D\\R\\E");

    let nte = format!("NTE|1||{}\r", escape("line1\rline2", &delimiters));
    assert_eq!(nte, "NTE|1||line1\\X0D\\line2\r");

    let written = format!("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5.1\rPID|1||1||{pid5}\r{nte}");
    let message = Hl7Message::parse(&written).unwrap();
    assert_eq!(
        message.segment_ids().collect::<Vec<_>>(),
        ["MSH", "PID", "NTE"]
    );
    assert_eq!(
        text_at(&message, "PID-5.1").as_deref(),
        Some("\\\\SRV\\SHARE")
    );
    assert_eq!(text_at(&message, "PID-5.2").as_deref(), Some("A|B^C&D~E"));
    assert_eq!(text_at(&message, "NTE-3").as_deref(), Some("line1\rline2"));
}

// B15: null versus empty.

const B15: &str = concat!(
    "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A08^ADT_A01|MSG0026|P|2.5.1\r",
    "PID|1||TEST0026^^^TESTHOSP^MR||TEST^PATIENT^\"\"||\"\"|U|||||\"\"\r",
);

#[test]
fn b15_null_is_not_empty() {
    let message = Hl7Message::parse(B15).unwrap();
    for null in ["PID-5.3", "PID-7", "PID-13"] {
        assert_eq!(message.get(&path(null)), FieldValue::Null, "{null}");
    }
    for missing in ["PID-9", "PID-10", "PID-11", "PID-12", "PID-14", "PID-5.4"] {
        assert_eq!(
            message.get(&path(missing)),
            FieldValue::Missing,
            "{missing}"
        );
    }
    assert_eq!(text_at(&message, "PID-8").as_deref(), Some("U"));
    assert_eq!(message.get_raw(&path("PID-7")), Some("\"\""));

    let bytes = only_message(B15.as_bytes(), &SplitOptions::default());
    assert_eq!(bytes, B15.as_bytes());
}

// B17: Z-segments and unknown segments kept.

const B17: &str = concat!(
    "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0028|P|2.5.1\r",
    "PID|1||TEST0028^^^TESTHOSP^MR||TEST^PATIENT\r",
    "ZPI|1|VIP^Y~NOPUB^Y|TESTVALUE\r",
    "PV1|1|I|WARD1^101^A\r",
    "ZXT|EXTRA\r",
);

#[test]
fn b17_z_segments_are_kept_in_place() {
    let message = Hl7Message::parse(B17).unwrap();
    assert_eq!(message.segment_count(), 5);
    assert_eq!(
        message.segment_ids().collect::<Vec<_>>(),
        ["MSH", "PID", "ZPI", "PV1", "ZXT"]
    );
    assert_eq!(text_at(&message, "ZPI-2[1].1").as_deref(), Some("VIP"));
    assert_eq!(text_at(&message, "ZPI-2[2].1").as_deref(), Some("NOPUB"));
    assert_eq!(message.get(&path("ZPI-2[3]")), FieldValue::Missing);
    assert_eq!(text_at(&message, "ZXT-1").as_deref(), Some("EXTRA"));

    let bytes = only_message(B17.as_bytes(), &SplitOptions::default());
    assert_eq!(bytes, B17.as_bytes());
}

// B19: inbound character set.

fn b19(control_id: &str, charset: &str, mueller: &[u8], joerg: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|{control_id}|P|2.5.1\
         |||||DEU|{charset}\rPID|1||TEST0034^^^TESTHOSP^MR||"
    )
    .into_bytes();
    bytes.extend_from_slice(mueller);
    bytes.push(b'^');
    bytes.extend_from_slice(joerg);
    bytes.push(b'\r');
    bytes
}

fn assert_names(bytes: &[u8], default: &'static encoding_rs::Encoding) {
    let header = scan_header(bytes).expect("MSH scans");
    let charset = header.character_set();
    let decoded = decode(bytes, Some(&charset), default);
    assert!(!decoded.had_errors);
    assert_eq!(decoded.unknown_charset, None);

    let message = Hl7Message::parse(&decoded.text).expect("message parses");
    assert_eq!(text_at(&message, "PID-5.1").as_deref(), Some("MÜLLER"));
    assert_eq!(text_at(&message, "PID-5.2").as_deref(), Some("JÖRG"));
}

#[test]
fn b19_a_latin1_declared_in_msh18() {
    let bytes = b19("MSG0034", "8859/1", b"M\xDCLLER", b"J\xD6RG");
    assert_names(&bytes, encoding_rs::UTF_8);
}

#[test]
fn b19_b_utf8_declared_in_msh18() {
    let bytes = b19("MSG0035", "UNICODE UTF-8", b"M\xC3\x9CLLER", b"J\xC3\x96RG");
    assert_names(&bytes, encoding_rs::WINDOWS_1252);
}

#[test]
fn b19_c_latin1_by_the_inbound_default() {
    let bytes = b19("MSG0036", "", b"M\xDCLLER", b"J\xD6RG");
    assert_names(&bytes, encoding_rs::WINDOWS_1252);
}

#[test]
fn b19_d_latin1_read_as_utf8_is_reported() {
    let bytes = b19("MSG0037", "", b"M\xDCLLER", b"J\xD6RG");
    let decoded = decode(&bytes, None, encoding_rs::UTF_8);
    assert!(decoded.had_errors);
    assert!(decoded.text.contains("M\u{FFFD}LLER"));
}
