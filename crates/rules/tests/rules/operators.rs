//! One test per operator and per semantic decision documented in docs/rules.md.

use ferry_rules::{Condition, Property, always, compile};

use crate::support::TestDoc;

fn holds(condition: &str, doc: &TestDoc) -> bool {
    compile(condition)
        .unwrap_or_else(|error| panic!("{condition:?}: {error}"))
        .matches(doc)
}

fn adt_a04() -> TestDoc {
    TestDoc::new()
        .field("MSH-9.1", "ADT")
        .field("MSH-9.2", "A04")
        .field("PID-7", "\"\"")
        .field("PID-8", "F")
        .field("OBX-5", "10")
        .field("OBX[2]-5", "9.5")
        .field("OBX-7", "abc")
        .field("PID-5.1", "O'Brien \"Bob\"")
        .property(Property::Source, "ADT in")
        .property(Property::DocType, "ADT^A04")
        .property(Property::Kind, "hl7v2")
        .property(Property::Duplicate, "false")
}

#[test]
fn equals_compares_text_exactly() {
    let doc = adt_a04();
    assert!(holds(r#"MSH-9.1 = "ADT""#, &doc));
    assert!(!holds(r#"MSH-9.1 = "adt""#, &doc));
    assert!(!holds(r#"MSH-9.1 = "ADT ""#, &doc));
    assert!(holds(r#""ADT" = MSH-9.1"#, &doc));
    assert!(holds(r#"PID-5.1 = "O'Brien \"Bob\"""#, &doc));
}

#[test]
fn missing_and_null_equal_nothing_and_differ_from_everything() {
    let doc = adt_a04();
    for path in ["PID-7", "PID-9"] {
        assert!(!holds(&format!(r#"{path} = "x""#), &doc), "{path}");
        assert!(holds(&format!(r#"{path} != "x""#), &doc), "{path}");
        assert!(!holds(&format!("{path} = 0"), &doc), "{path}");
        assert!(
            !holds(&format!("{path} < 5 or {path} >= 5"), &doc),
            "{path}"
        );
        assert!(!holds(&format!("{path} = PID-7"), &doc), "{path}");
    }
}

#[test]
fn not_equals_is_the_negation_of_equals() {
    let doc = adt_a04();
    assert!(holds(r#"MSH-9.1 != "ORU""#, &doc));
    assert!(!holds(r#"MSH-9.1 != "ADT""#, &doc));
}

#[test]
fn number_literals_compare_numerically() {
    let doc = adt_a04();
    assert!(holds("OBX-5 > 9.5", &doc));
    assert!(holds("OBX-5 >= 10.0", &doc));
    assert!(holds("OBX-5 = 010", &doc));
    assert!(holds("OBX[2]-5 < 10", &doc));
    assert!(holds("OBX[2]-5 <= 9.50", &doc));
    assert!(holds("OBX-5 > -3", &doc));
    assert!(holds("9 < OBX-5", &doc));
}

#[test]
fn a_field_that_is_not_a_number_never_compares_with_a_number() {
    let doc = adt_a04();
    for op in ["=", "<", "<=", ">", ">="] {
        assert!(!holds(&format!("OBX-7 {op} 5"), &doc), "{op}");
    }
    assert!(holds("OBX-7 != 5", &doc));
}

#[test]
fn quoted_values_compare_as_text() {
    let doc = adt_a04();
    // Byte-wise: "10" sorts before "9".
    assert!(holds(r#"OBX-5 < "9""#, &doc));
    assert!(!holds(r#"OBX-5 = "010""#, &doc));
    assert!(holds(r#"MSH-9.2 > "A01" and MSH-9.2 <= "A04""#, &doc));
}

#[test]
fn two_fields_compare_as_numbers_when_both_are_numbers() {
    let doc = adt_a04();
    assert!(holds("OBX-5 > OBX[2]-5", &doc));
    assert!(holds("OBX-7 > OBX-5", &doc));
    assert!(holds("MSH-9.1 = MSH-9.1", &doc));
}

#[test]
fn in_matches_any_value_of_the_list() {
    let doc = adt_a04();
    assert!(holds(r#"MSH-9.2 in ("A01", "A04", "A08")"#, &doc));
    assert!(!holds(r#"MSH-9.2 in ("A01", "A08")"#, &doc));
    assert!(holds(r#"MSH-9.2 not in ("A01", "A08")"#, &doc));
    assert!(holds("OBX-5 in (1, 10.0)", &doc));
    assert!(holds(r#"OBX-5 in ("1", 10)"#, &doc));
    assert!(!holds(r#"PID-9 in ("A01")"#, &doc));
    assert!(holds(r#"PID-9 not in ("A01")"#, &doc));
}

#[test]
fn presence_tests_tell_missing_null_and_text_apart() {
    let doc = adt_a04();
    let table = [
        ("PID-9", [false, false, true, true, false]),
        ("PID-7", [true, true, false, false, true]),
        ("PID-8", [true, false, false, true, true]),
    ];
    let tests = [
        "exists",
        "is null",
        "is empty",
        "is not null",
        "is not empty",
    ];
    for (path, expected) in table {
        for (test, expected) in tests.iter().zip(expected) {
            assert_eq!(
                holds(&format!("{path} {test}"), &doc),
                expected,
                "{path} {test}"
            );
        }
    }
}

#[test]
fn contains_and_starts_with_test_text() {
    let doc = adt_a04();
    assert!(holds(r#"msg.doctype contains "^A0""#, &doc));
    assert!(holds(r#"PID-5.1 starts with "O'B""#, &doc));
    assert!(!holds(r#"PID-5.1 starts with "Bob""#, &doc));
    assert!(!holds(r#"PID-9 contains "x""#, &doc));
    assert!(!holds(r#"PID-7 starts with "x""#, &doc));
    assert!(holds(r#"msg.doctype starts with MSH-9.1"#, &doc));
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    let doc = adt_a04();
    // or(true, and(false, …)) is true; and(or(true, false), false) would be false.
    assert!(holds(
        r#"MSH-9.1 = "ADT" or MSH-9.1 = "ORU" and PID-9 exists"#,
        &doc
    ));
    assert!(!holds(
        r#"(MSH-9.1 = "ADT" or MSH-9.1 = "ORU") and PID-9 exists"#,
        &doc
    ));
    // and(not(false), true): not applies to the first test only.
    assert!(holds(r#"not PID-9 exists and MSH-9.1 = "ADT""#, &doc));
    assert!(!holds(r#"not (PID-9 exists or MSH-9.1 = "ADT")"#, &doc));
    assert!(holds(r#"not not MSH-9.1 = "ADT""#, &doc));
}

#[test]
fn keywords_and_property_names_ignore_case() {
    let doc = adt_a04();
    assert!(holds(
        r#"MSH-9.1 = "ADT" AND MSH-9.2 IN ("A04") And PID-7 Is Null"#,
        &doc
    ));
    assert!(holds(
        r#"NOT MSG.Duplicate OR PID-5.1 STARTS WITH "x""#,
        &doc
    ));
}

#[test]
fn properties_read_the_message_as_a_whole() {
    let doc = adt_a04();
    assert!(holds(r#"msg.source = "ADT in""#, &doc));
    assert!(holds(r#"msg.doctype = "ADT^A04""#, &doc));
    assert!(holds(r#"msg.kind in ("hl7v2", "xml")"#, &doc));
    assert!(holds("msg.kind exists", &doc));
    assert!(!holds("msg.source is empty", &doc));
}

#[test]
fn the_duplicate_flag_stands_alone_or_compares_with_booleans() {
    let fresh = adt_a04();
    let duplicate = adt_a04().property(Property::Duplicate, "true");
    let unknown = TestDoc::new();
    for (doc, flagged) in [(&fresh, false), (&duplicate, true), (&unknown, false)] {
        assert_eq!(holds("msg.duplicate", doc), flagged);
        assert_eq!(holds("not msg.duplicate", doc), !flagged);
        assert_eq!(holds("msg.duplicate = true", doc), flagged);
        assert_eq!(holds("false != msg.duplicate", doc), flagged);
    }
}

#[test]
fn true_and_false_stand_alone() {
    let doc = TestDoc::new();
    assert!(holds("true", &doc));
    assert!(!holds("false", &doc));
    assert!(holds("FALSE or true", &doc));
    assert!(always().matches(&doc));
    assert_eq!(always().source(), "true");
    assert_eq!(always(), compile("true").unwrap());
}

#[test]
fn strings_may_hold_any_text_and_escapes() {
    let doc = TestDoc::new().field("PID-5.1", r#"Grüße\"#);
    assert!(holds(r#"PID-5.1 = "Grüße\\""#, &doc));
    assert!(holds("PID-5.1 contains \"ü\"", &doc));
}

#[test]
fn conditions_may_span_lines_and_omit_spaces() {
    let doc = adt_a04();
    assert!(holds("MSH-9.1=\"ADT\"\n  and\tMSH-9.2!=\"A01\"\r\n", &doc));
    assert!(holds(r#"(MSH-9.1="ADT")and(MSH-9.2 in("A04"))"#, &doc));
}

#[test]
fn hl7_paths_lists_each_path_once_in_order() {
    let condition = compile(
        r#"MSH-9.1 = "ADT" and (PID-3[2].1 exists or MSH-9.1 = PID-5) and msg.kind = "hl7v2""#,
    )
    .unwrap();
    let paths: Vec<String> = condition
        .hl7_paths()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(paths, ["MSH-9.1", "PID-3[2].1", "PID-5"]);
    assert!(always().hl7_paths().is_empty());
}

#[test]
fn display_writes_the_canonical_form_and_source_keeps_the_text() {
    let text = r#"( MSH-9.1 = "ADT"  AND msg.DUPLICATE = FALSE ) Or  NOT (OBX-5 >= 007.50)
        or PID-5 IS NOT EMPTY or PID-3 Not In ("a\"b", -0) or PID-3 STARTS WITH "x""#;
    let condition = compile(text).unwrap();
    assert_eq!(condition.source(), text);
    assert_eq!(
        condition.to_string(),
        concat!(
            r#"MSH-9.1 = "ADT" and msg.duplicate = false or not OBX-5 >= 7.5"#,
            r#" or PID-5 is not empty or PID-3 not in ("a\"b", 0) or PID-3 starts with "x""#,
        )
    );
    assert_eq!(compile(&condition.to_string()).unwrap(), condition);
}

#[test]
fn conditions_can_be_shared_between_threads() {
    fn shareable<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    shareable::<Condition>();

    let condition = compile(r#"MSH-9.1 = "ADT""#).unwrap();
    let worker = std::thread::spawn(move || condition.matches(&adt_a04()));
    assert!(worker.join().unwrap());
}
