//! The HL7 field cases the rule language must handle, on their reproducer messages.

use ferry_rules::{Property, compile};

use crate::support::TestDoc;

/// B15: `""` is the HL7 null (present, "delete the old value"); an absent field is empty.
#[test]
fn b15_null_is_not_empty() {
    let doc = TestDoc::hl7(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A08^ADT_A01|MSG0026|P|2.5.1\r\
         PID|1||TEST0026^^^TESTHOSP^MR||TEST^PATIENT^\"\"||\"\"|U|||||\"\"\r",
    );
    let holds = |condition: &str| compile(condition).unwrap().matches(&doc);

    assert!(holds("PID-7 is null"));
    assert!(holds("PID-5.3 is null and PID-13 is null"));
    assert!(holds("PID-9 is empty"));
    assert!(holds("PID-7 exists and not PID-7 is empty"));
    assert!(!holds("PID-9 exists"));
    assert!(!holds("PID-9 is null"));
    assert!(!holds("PID-7 is empty"));
    assert!(holds(r#"PID-8 = "U" and PID-8 is not null"#));
}

/// B17: Z-segments are addressed like any other; ZPI-2 has two repetitions.
#[test]
fn b17_z_segment_repetitions_route() {
    let doc = TestDoc::hl7(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0028|P|2.5.1\r\
         PID|1||TEST0028^^^TESTHOSP^MR||TEST^PATIENT\r\
         ZPI|1|VIP^Y~NOPUB^Y|TESTVALUE\r\
         PV1|1|I|WARD1^101^A\r\
         ZXT|EXTRA\r",
    );
    let holds = |condition: &str| compile(condition).unwrap().matches(&doc);

    assert!(holds(r#"ZPI-2[1].1 = "VIP""#));
    assert!(holds(r#"ZPI-2.1 = "VIP""#));
    assert!(holds(r#"ZPI-2[2].1 = "NOPUB" and ZPI-2[2].2 = "Y""#));
    assert!(!holds("ZPI-2[3] exists"));
    assert!(holds(r#"ZXT-1 = "EXTRA" and PV1-3.2 = 101"#));
}

/// B28: the possible-duplicate flag is usable in rules, e.g. to discard duplicates.
#[test]
fn b28_duplicates_can_be_routed() {
    let discard_duplicates = compile("msg.duplicate").unwrap();
    let keep_fresh = compile(r#"not msg.duplicate and MSH-10 = "MSG0048""#).unwrap();

    let first = TestDoc::new()
        .field("MSH-10", "MSG0048")
        .property(Property::Duplicate, "false");
    let second = TestDoc::new()
        .field("MSH-10", "MSG0048")
        .property(Property::Duplicate, "true");

    assert!(!discard_duplicates.matches(&first));
    assert!(discard_duplicates.matches(&second));
    assert!(keep_fresh.matches(&first));
    assert!(!keep_fresh.matches(&second));
}

/// B10: a path names the same field whatever delimiters the message declared; the rule
/// reads through `Document`, so only the document knows the separators.
#[test]
fn b10_paths_ignore_the_delimiters() {
    let standard = TestDoc::hl7(
        "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|MSG0019|P|2.3\r\
         PID|1||TEST0019^^^TESTHOSP^MR||TEST^PATIENT\r",
    );
    let custom = TestDoc::hl7(
        "MSH:;~\\&:SENDAPP:SENDFAC:FERRY:HUB:20240101120000::ADT;A01;ADT_A01:MSG0019:P:2.3\r\
         PID:1::TEST0019;;;TESTHOSP;MR::TEST;PATIENT\r",
    );
    let condition = compile(
        r#"MSH-9.1 = "ADT" and MSH-9.2 in ("A01") and MSH-10 = "MSG0019"
           and PID-3.1 = "TEST0019" and PID-3.4 = "TESTHOSP" and PID-5.2 = "PATIENT""#,
    )
    .unwrap();

    assert!(condition.matches(&standard));
    assert!(condition.matches(&custom));
    assert!(compile(r#"MSH-1 = ":""#).unwrap().matches(&custom));
}
