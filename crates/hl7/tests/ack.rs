//! Acknowledgements: field cases B10, B12, B21, B23 and B26 (docs/field-cases.md) for the
//! ACKs Ferry builds and the replies it reads, and properties over generated input: every
//! ACK built reads back, and no bytes make the reader panic.

use std::time::SystemTime;

use ferry_hl7::{
    AckCode, AckCondition, AckError, AckOptions, AckReadError, AckReply, Delimiters, ErrorLocation,
    MshHeader, RequestedAcks, Severity, build_ack, escape, hl7_timestamp, missing_header_field,
    read_ack, scan_header,
};
use proptest::prelude::*;

const NOW: &str = "20240101120005";
const ACK_ID: &str = "FERRY0001";

fn options() -> AckOptions<'static> {
    AckOptions {
        control_id: ACK_ID,
        timestamp: NOW,
        local_application: None,
        local_facility: None,
    }
}

/// Options for a NAK to input whose header could not be read: Ferry names itself.
fn hub_options() -> AckOptions<'static> {
    AckOptions {
        local_application: Some("FERRY"),
        local_facility: Some("HUB"),
        ..options()
    }
}

fn header(inbound: &str) -> MshHeader {
    scan_header(inbound.as_bytes()).expect("the inbound MSH scans")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("the ACK is UTF-8")
}

/// Reads an ACK Ferry built back, checking what every one of them must say.
fn read_back(ack: &[u8], code: AckCode) -> AckReply {
    let reply = read_ack(ack).expect("an ACK Ferry built reads back");
    assert_eq!(reply.code, code);
    assert_eq!(reply.ack_control_id, ACK_ID);
    assert!(ack.ends_with(b"\r"));
    assert!(!ack.contains(&b'\n'));
    reply
}

// B21: the generated ACK header.

const B21: &str = concat!(
    "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|MSG0039|P|2.5.1\r",
    "EVN|A01|20240101120000\r",
    "PID|1||TEST0039^^^TESTHOSP^MR||TEST^PATIENT\r",
);

#[test]
fn b21_ack_swaps_sender_and_receiver_and_names_the_structure_ack() {
    let inbound = header(B21);
    assert!(!RequestedAcks::from_header(&inbound).is_enhanced());

    let ack = build_ack(Some(&inbound), AckCode::AA, None, None, &options());
    assert_eq!(
        text(&ack),
        "MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|20240101120005||ACK^A01^ACK|FERRY0001|P|2.5.1\r\
         MSA|AA|MSG0039\r"
    );

    let reply = read_back(&ack, AckCode::AA);
    assert_eq!(reply.control_id, "MSG0039");
    assert_eq!(reply.text, None);
    assert!(reply.errors.is_empty());
}

#[test]
fn b21_second_run_echoes_processing_id_and_version_before_2_3_1() {
    let second = B21.replace("|P|2.5.1\r", "|T|2.3\r");
    let ack = build_ack(Some(&header(&second)), AckCode::AA, None, None, &options());
    assert_eq!(
        text(&ack),
        "MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|20240101120005||ACK^A01|FERRY0001|T|2.3\r\
         MSA|AA|MSG0039\r"
    );
    assert_eq!(read_back(&ack, AckCode::AA).control_id, "MSG0039");
}

#[test]
fn b21_local_application_and_facility_replace_the_inbound_receiver() {
    let ack = build_ack(Some(&header(B21)), AckCode::AA, None, None, &hub_options());
    assert!(
        text(&ack).starts_with("MSH|^~\\&|FERRY|HUB|SENDAPP|SENDFAC|20240101120005||"),
        "{}",
        text(&ack)
    );
}

#[test]
fn b21_components_of_msh3_and_msh4_stay_and_msh18_is_echoed() {
    let inbound = concat!(
        "MSH|^~\\&|LAB^1.2.3^ISO|HOSP^2.16.840^ISO|RECVAPP|RECVFAC|20240101120000||ORU^R01^ORU_R01",
        "|MSG0040|P|2.5.1|||||DEU|8859/1\r",
    );
    let ack = build_ack(Some(&header(inbound)), AckCode::AA, None, None, &options());
    assert_eq!(
        text(&ack),
        "MSH|^~\\&|RECVAPP|RECVFAC|LAB^1.2.3^ISO|HOSP^2.16.840^ISO|20240101120005||ACK^R01^ACK\
         |FERRY0001|P|2.5.1||||||8859/1\rMSA|AA|MSG0040\r"
    );
    assert_eq!(read_back(&ack, AckCode::AA).control_id, "MSG0040");
}

#[test]
fn b21_timestamp_is_an_hl7_ts() {
    let now = hl7_timestamp(SystemTime::now());
    assert_eq!(now.len(), 14);
    assert!(now.bytes().all(|byte| byte.is_ascii_digit()));
    assert!(now.as_str() > "20240101000000");
}

// B23: a negative ACK for input that cannot be used.

fn b23_nak(input: &[u8]) -> Vec<u8> {
    match scan_header(input) {
        Err(error) => {
            let reason = format!("not an HL7 message: {error}");
            let nak = AckError::standard(AckError::SEGMENT_SEQUENCE_ERROR);
            build_ack(None, AckCode::AR, Some(&reason), Some(&nak), &hub_options())
        }
        Ok(header) => {
            let nak = missing_header_field(&header).expect("input 3 lacks MSH-10");
            let reason = "MSH-10 (message control id) is empty";
            build_ack(
                Some(&header),
                AckCode::AR,
                Some(reason),
                Some(&nak),
                &hub_options(),
            )
        }
    }
}

#[test]
fn b23_input_without_an_msh_gets_an_ar_with_default_delimiters() {
    let inputs: [&[u8]; 3] = [b"", b"HELLO WORLD\r", b"<?xml version=\"1.0\"?><a/>"];
    for input in inputs {
        let nak = b23_nak(input);
        assert_eq!(
            text(&nak),
            "MSH|^~\\&|FERRY|HUB|||20240101120005||ACK|FERRY0001|P|2.5.1\r\
             MSA|AR||not an HL7 message: the message does not start with an MSH segment at byte \
             0\rERR|||100^Segment sequence error^HL70357|E\r",
            "{input:?}"
        );

        let reply = read_back(&nak, AckCode::AR);
        assert_eq!(reply.control_id, "");
        assert_eq!(reply.errors, ["100 Segment sequence error"]);
        let reason = reply.text.expect("MSA-3 holds the reason");
        assert!(reason.contains("does not start with an MSH"), "{reason}");
    }
}

#[test]
fn b23_input_without_msh10_gets_an_ar_naming_msh10() {
    let input = concat!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01||P|2.5.1\r",
        "PID|1\r",
    );
    let nak = b23_nak(input.as_bytes());
    assert_eq!(
        text(&nak),
        "MSH|^~\\&|FERRY|HUB|SENDAPP|SENDFAC|20240101120005||ACK^A01^ACK|FERRY0001|P|2.5.1\r\
         MSA|AR||MSH-10 (message control id) is empty\r\
         ERR||MSH^1^10|101^Required field missing^HL70357|E\r"
    );

    let reply = read_back(&nak, AckCode::AR);
    assert_eq!(reply.control_id, "");
    assert_eq!(reply.errors, ["101 Required field missing at MSH-10"]);
}

#[test]
fn b23_a_complete_message_gets_an_aa() {
    let input = concat!(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0041|P|2.5.1\r",
        "PID|1||TEST0041^^^TESTHOSP^MR||TEST^PATIENT\r",
    );
    let inbound = header(input);
    assert_eq!(missing_header_field(&inbound), None);
    let ack = build_ack(Some(&inbound), AckCode::AA, None, None, &hub_options());
    assert_eq!(read_back(&ack, AckCode::AA).control_id, "MSG0041");
}

#[test]
fn err_severity_and_deeper_locations_are_written() {
    let error = AckError::new(102, "Data type error")
        .at(ErrorLocation {
            component: Some(2),
            ..ErrorLocation::new("PID", 1, 7)
        })
        .with_severity(Severity::Warning);
    let ack = build_ack(
        Some(&header(B21)),
        AckCode::AA,
        None,
        Some(&error),
        &options(),
    );
    assert!(
        text(&ack).ends_with("\rERR||PID^1^7^1^2|102^Data type error^HL70357|W\r"),
        "{}",
        text(&ack)
    );
    let reply = read_back(&ack, AckCode::AA);
    assert_eq!(reply.errors, ["warning: 102 Data type error at PID-7.2"]);
}

// B10: the ACK uses the inbound delimiters.

#[test]
fn b10_ack_uses_the_senders_delimiters() {
    let inbound = concat!(
        "MSH:;~\\&:SENDAPP:SENDFAC:FERRY:HUB:20240101120000::ADT;A01;ADT_A01:MSG0019:P:2.3\r",
        "PID:1::TEST0019;;;TESTHOSP;MR::TEST;PATIENT\r",
    );
    let ack = build_ack(
        Some(&header(inbound)),
        AckCode::AE,
        Some("bad: PID;3"),
        None,
        &options(),
    );
    assert_eq!(
        text(&ack),
        "MSH:;~\\&:FERRY:HUB:SENDAPP:SENDFAC:20240101120005::ACK;A01:FERRY0001:P:2.3\r\
         MSA:AE:MSG0019:bad\\F\\ PID\\S\\3\r"
    );
    let reply = read_back(&ack, AckCode::AE);
    assert_eq!(reply.control_id, "MSG0019");
    assert_eq!(reply.text.as_deref(), Some("bad: PID;3"));
}

#[test]
fn b10_ack_with_unusual_delimiters_escapes_each_of_them() {
    let inbound = "MSH*!@$%*APP*FAC*FERRY*HUB*20240101120000**ORU!R01!ORU_R01*M1*P*2.5.1\r";
    let error = AckError::standard(207).at(ErrorLocation::new("OBX", 2, 5));
    let ack = build_ack(
        Some(&header(inbound)),
        AckCode::AE,
        Some("a*b!c@d$e%f|g^h"),
        Some(&error),
        &options(),
    );
    assert_eq!(
        text(&ack),
        "MSH*!@$%*FERRY*HUB*APP*FAC*20240101120005**ACK!R01!ACK*FERRY0001*P*2.5.1\r\
         MSA*AE*M1*a$F$b$S$c$R$d$E$e$T$f|g^h\r\
         ERR**OBX!2!5*207!Application internal error!HL70357*E\r"
    );
    let reply = read_back(&ack, AckCode::AE);
    assert_eq!(reply.control_id, "M1");
    assert_eq!(
        reply.text.as_deref(),
        Some("a*b!c@d$e%f|g^h"),
        "MSA-3 reads back whole"
    );
    assert_eq!(reply.errors, ["207 Application internal error at OBX[2]-5"]);
}

#[test]
fn b10_reply_with_custom_delimiters_is_an_aa() {
    let reply = read_ack(
        concat!(
            "MSH:;~\\&:RECVAPP:RECVFAC:FERRY:HUB:20240101120001::ACK;A01;ACK:R0020:P:2.3\r",
            "MSA:AA:MSG0020\r",
        )
        .as_bytes(),
    );
    let reply = reply.expect("the ':'-delimited reply reads");
    assert_eq!(reply.code, AckCode::AA);
    assert_eq!(reply.control_id, "MSG0020");
    assert_eq!(reply.ack_control_id, "R0020");
}

// B12: the truncation character is echoed.

#[test]
fn b12_ack_echoes_the_truncation_character() {
    let inbound = concat!(
        "MSH|^~\\&#|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0024|P|2.7\r",
        "PID|1||TEST0024^^^TESTHOSP^MR||TEST^PATIENT||||||APT #4^^TESTCITY\r",
    );
    let ack = build_ack(
        Some(&header(inbound)),
        AckCode::AE,
        Some("APT #4"),
        None,
        &options(),
    );
    assert_eq!(
        text(&ack),
        "MSH|^~\\&#|FERRY|HUB|SENDAPP|SENDFAC|20240101120005||ACK^A01^ACK|FERRY0001|P|2.7\r\
         MSA|AE|MSG0024|APT \\P\\4\r"
    );
    let reply = read_back(&ack, AckCode::AE);
    assert_eq!(reply.text.as_deref(), Some("APT #4"));
}

#[test]
fn text_is_written_in_the_charset_msh18_names() {
    let inbound = B21.replace("|P|2.5.1\r", "|P|2.5.1|||||DEU|8859/1\r");
    let inbound = header(&inbound);
    let ack = build_ack(Some(&inbound), AckCode::AE, Some("JÖRG"), None, &options());
    assert!(ack.ends_with(b"||8859/1\rMSA|AE|MSG0039|J\xD6RG\r"));
    assert_eq!(read_back(&ack, AckCode::AE).text.as_deref(), Some("JÖRG"));
}

// Enhanced mode (MSH-15/16, table 0155).

#[test]
fn enhanced_mode_commit_codes() {
    let inbound = B21.replace("|P|2.5.1\r", "|P|2.5.1|||AL|ER\r");
    let inbound = header(&inbound);
    let requested = RequestedAcks::from_header(&inbound);
    assert!(requested.is_enhanced());
    assert_eq!(requested.accept, Some(AckCondition::Always));
    assert_eq!(requested.application, Some(AckCondition::Error));
    assert!(requested.accept.is_some_and(|accept| accept.wants(true)));
    assert!(!requested.application.is_some_and(|app| app.wants(true)));

    for code in [AckCode::CA, AckCode::CE, AckCode::CR] {
        assert!(code.is_enhanced());
        let ack = build_ack(Some(&inbound), code, None, None, &options());
        assert!(
            text(&ack).ends_with(&format!("|P|2.5.1\rMSA|{code}|MSG0039\r")),
            "the ACK asks for no acknowledgement itself: {}",
            text(&ack)
        );
        assert_eq!(read_back(&ack, code).control_id, "MSG0039");
    }
}

// MSA-3 holds any text safely.

#[test]
fn msa3_with_delimiters_and_line_breaks_is_escaped() {
    let reason = "PID-3 missing | see\r\nline 2 \\ ~&^";
    let ack = build_ack(
        Some(&header(B21)),
        AckCode::AE,
        Some(reason),
        None,
        &options(),
    );
    assert!(
        text(&ack).ends_with(
            "\rMSA|AE|MSG0039|PID-3 missing \\F\\ see\\X0D\\\\X0A\\line 2 \\E\\ \\R\\\\T\\\\S\\\r"
        ),
        "{}",
        text(&ack)
    );
    assert_eq!(text(&ack).matches('\r').count(), 2);
    assert_eq!(read_back(&ack, AckCode::AE).text.as_deref(), Some(reason));
}

// B26: a reject with an ERR segment, as a receiver sends it.

#[test]
fn b26_reject_for_a_duplicate_reads_with_its_reason() {
    let reply = read_ack(
        concat!(
            "MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R0045|P|2.5.1\r",
            "MSA|AR|MSG0045|Duplicate control id\r",
            "ERR|||205^Duplicate key identifier^HL70357|E\r",
        )
        .as_bytes(),
    )
    .expect("the reply reads");
    assert_eq!(reply.code, AckCode::AR);
    assert!(reply.code.is_reject());
    assert_eq!(reply.control_id, "MSG0045");
    assert_eq!(reply.text.as_deref(), Some("Duplicate control id"));
    assert_eq!(reply.errors, ["205 Duplicate key identifier"]);
}

// Replies that are no ACK.

#[test]
fn read_ack_refuses_junk_with_a_reason() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "the reply is not an HL7 message: it is empty"),
        (b"M", "does not start with an MSH segment at byte 0"),
        (b"\x0b", "does not start with an MSH segment at byte 0"),
        (
            b"HELLO WORLD\r\n",
            "does not start with an MSH segment at byte 0",
        ),
        (b"<?xml version=\"1.0\"?><a/>", "not an HL7 message"),
        (b"\x00\xff\xfe", "not an HL7 message"),
        (b"MSH", "ends before MSH-1"),
        (b"MSH|^~\\&|A|B\rPID|1\r", "without an MSA segment"),
        (b"MSH|^~\\&|A|B\nMSA|YES|X\n", "MSA-1 is 'YES'"),
        (b"MSA|AA|X\rMSH|^~\\&|A\r", "does not start with an MSH"),
    ];
    for (input, expected) in cases {
        let error = read_ack(input).expect_err("junk is no ACK");
        assert!(
            error.to_string().contains(expected),
            "{error} for {input:?}"
        );
    }
    assert!(matches!(
        read_ack(b"MSH|^~\\&|A|B\r"),
        Err(AckReadError::NoMsa)
    ));
}

// Properties.

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Five distinct punctuation characters and sometimes a sixth for truncation: any MSH-1 and
/// MSH-2 the pre-scan accepts.
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

fn ack_code() -> impl Strategy<Value = AckCode> {
    prop::sample::select(vec![
        AckCode::AA,
        AckCode::AE,
        AckCode::AR,
        AckCode::CA,
        AckCode::CE,
        AckCode::CR,
    ])
}

/// An inbound MSH with these delimiters and this control id (escaped into MSH-10).
fn inbound_msh(delimiters: &Delimiters, control_id: &str, version: &str) -> String {
    let f = char::from(delimiters.field);
    let c = char::from(delimiters.component);
    let control_id = escape(control_id, delimiters);
    format!(
        "MSH{delimiters}{f}SENDAPP{f}SENDFAC{f}FERRY{f}HUB{f}20240101{f}{f}ADT{c}A01{f}{control_id}\
         {f}P{f}{version}\r",
    )
}

/// Bytes that often look like an ACK: MSH and MSA starts, delimiters and terminators among
/// noise.
fn ackish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"MSH|^~\\&|".to_vec()),
        Just(b"MSH:;~\\&#:".to_vec()),
        Just(b"MSH|^~\\&|\x1b$B|B|C|D|1||ACK|X|P|2.5|||||JPN|ISO IR87".to_vec()),
        Just(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X\xDC|P|2.5|||||DEU|8859/1".to_vec()),
        Just(b"MSA|".to_vec()),
        Just(b"MSA:".to_vec()),
        Just(b"ERR|".to_vec()),
        Just(b"AA".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\\X0D\\".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
        "[|:;^~&#\\\\A-Z0-9\"]{0,6}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_ack_reads_back_whatever_its_text_and_delimiters(
        delimiters in delimiters(),
        code in ack_code(),
        control_id in any::<String>(),
        ack_id in any::<String>(),
        text in proptest::option::of(any::<String>()),
        error_text in proptest::option::of(any::<String>()),
        old_version in any::<bool>(),
    ) {
        let version = if old_version { "2.3" } else { "2.5.1" };
        let inbound = inbound_msh(&delimiters, &control_id, version);
        let header = scan_header(inbound.as_bytes()).expect("the generated MSH scans");
        prop_assert_eq!(header.delimiters, delimiters);

        let error = error_text.map(|text| AckError::new(207, text));
        let options = AckOptions { control_id: &ack_id, ..options() };
        let ack = build_ack(Some(&header), code, text.as_deref(), error.as_ref(), &options);
        let segments = ack.iter().filter(|&&byte| byte == b'\r').count();
        prop_assert_eq!(segments, 2 + usize::from(error.is_some()));
        prop_assert!(!ack.contains(&b'\n'));
        let msh = format!("MSH{delimiters}");
        prop_assert!(ack.starts_with(msh.as_bytes()));

        let reply = read_ack(&ack).expect("a built ACK reads back");
        prop_assert_eq!(reply.code, code);
        prop_assert_eq!(reply.control_id, control_id);
        prop_assert_eq!(reply.ack_control_id, ack_id);
        let expected_text = text.filter(|text| !text.is_empty() && text != "\"\"");
        prop_assert_eq!(reply.text, expected_text);
        prop_assert_eq!(reply.errors.len(), usize::from(error.is_some()));
    }

    #[test]
    fn any_input_gets_an_ack_that_reads_back(input in ackish_bytes(), code in ack_code()) {
        let header = scan_header(&input).ok();
        let reason = String::from_utf8_lossy(&input);
        let error = AckError::standard(100).at(ErrorLocation::new("MSH", 1, 10));
        let ack = build_ack(header.as_ref(), code, Some(&reason), Some(&error), &options());

        let segments = ack.iter().filter(|&&byte| byte == b'\r').count();
        prop_assert_eq!(segments, 3);
        prop_assert!(ack.ends_with(b"\r") && !ack.contains(&b'\n'));
        let reply = read_ack(&ack).expect("an ACK to any input reads back");
        prop_assert_eq!(reply.code, code);
        prop_assert_eq!(reply.errors.len(), 1);
    }

    #[test]
    fn read_ack_never_panics(
        input in prop_oneof![prop::collection::vec(any::<u8>(), 0..200), ackish_bytes()],
    ) {
        if let Ok(reply) = read_ack(&input) {
            prop_assert!(input.windows(3).any(|window| window == b"MSA"));
            let _ = reply.code.is_accept();
        }
    }
}
