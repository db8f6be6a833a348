//! Every compile error: where it points (offset and length) and what it says.

use ferry_rules::{RuleError, compile};

/// Compiles `source`, which must fail, and checks the span and the words of the error.
fn fails(source: &str, offset: usize, len: usize, message: &str, hint: &str) -> RuleError {
    let error = compile(source).expect_err(source);
    assert_eq!(
        (error.offset, error.len),
        (offset, len),
        "{source:?}: {error}\n{}",
        error.excerpt(source)
    );
    assert!(
        error.message.contains(message),
        "{source:?}: message {:?}",
        error.message
    );
    let shown = error.hint.clone().unwrap_or_default();
    assert!(shown.contains(hint), "{source:?}: hint {shown:?}");
    error
}

#[test]
fn unknown_operators() {
    fails(
        r#"MSH-9.1 equals "ADT""#,
        8,
        6,
        "unknown operator 'equals'",
        "starts with",
    );
    fails(r#"MSH-9.1 ~ "ADT""#, 8, 1, "unknown operator '~'", "=");
    fails(
        r#"MSH-9.1 == "ADT""#,
        8,
        2,
        "'==' is not an operator",
        "single =",
    );
    fails(r#"MSH-9.1 <> "ADT""#, 8, 2, "'<>' is not an operator", "!=");
    fails("OBX-5 => 3", 6, 2, "'=>' is not an operator", ">=");
    fails("OBX-5 =< 3", 6, 2, "'=<' is not an operator", "<=");
    fails("!PID-3 exists", 0, 1, "'!' is not an operator", "not");
    fails(
        r#"MSH-9.1 "ADT""#,
        8,
        5,
        "expected an operator after MSH-9.1",
        "=",
    );
}

#[test]
fn c_style_logic() {
    fails(r#"MSH-9.1 = "ADT" && PID-3 exists"#, 16, 2, "'&&'", "and");
    fails(r#"MSH-9.1 = "ADT" || PID-3 exists"#, 16, 2, "'||'", "or");
    fails(r#"MSH-9.1 = "ADT" & PID-3 exists"#, 16, 1, "'&'", "and");
}

#[test]
fn strings() {
    fails(
        r#"MSH-9.1 = "ADT"#,
        10,
        4,
        "unterminated string",
        "end the text with",
    );
    fails(r#"MSH-9.1 = "AD\"#, 10, 4, "no closing", "");
    fails(
        r#"MSH-9.1 = 'ADT'"#,
        10,
        5,
        "quoted with \"",
        r#"write "ADT""#,
    );
    fails("MSH-9.1 = 'ADT", 10, 1, "unexpected '", "single quotes");
    fails(
        r#"PID-5 contains "\T\""#,
        16,
        2,
        r"unknown escape '\T'",
        "character itself",
    );
    fails(r#"PID-7 = """#, 8, 2, "empty text never matches", "is null");
    fails(r#"MSH-9.2 in ("A01", "")"#, 19, 2, "empty text", "is empty");
}

#[test]
fn numbers() {
    fails(
        "OBX-5 > 1.2.3",
        8,
        5,
        "'1.2.3' is not a number",
        r#""1.2.3""#,
    );
    fails(
        "PID-3.1 = 12abc",
        10,
        5,
        "'12abc' is not a number",
        r#"quote text: "12abc""#,
    );
    fails("OBX-5 > .5", 8, 2, "'.5' is not a number", "0.5");
}

#[test]
fn field_paths_point_at_the_mistake_inside_the_path() {
    fails(r#"PID.5.1 = "x""#, 3, 4, "bad field path 'PID.5.1'", "");
    let error = compile(r#"PID.5.1 = "x""#).unwrap_err();
    assert!(error.message.contains("write PID-5.1"), "{error}");
    fails(
        "PID-4 = 1 or PID-3[0] exists",
        19,
        2,
        "starts at 1, not 0",
        "",
    );
    fails("PID-99999 exists", 4, 5, "too large", "");
    fails("PID-3[2 exists", 7, 0, "']'", "");
    fails(
        "pid-3 exists",
        0,
        5,
        "bad field path 'pid-3'",
        "upper case: PID-3",
    );
    fails("PID-3;1 exists", 5, 2, "unexpected text after the path", "");
}

#[test]
fn words_that_are_not_paths_or_keywords() {
    fails(
        "MSH-9.1 = ADT",
        10,
        3,
        "'ADT' is not a field path",
        r#"quote text: "ADT""#,
    );
    fails(
        "MSH-9.2 in (A01, A04)",
        12,
        3,
        "'A01' is not a field path",
        r#""A01""#,
    );
    fails("PID exists", 0, 3, "'PID' is not a field path", "PID-5.1");
    fails(
        r#"MSH-9.1 = and"#,
        10,
        3,
        "found 'and'",
        r#"quote it: "and""#,
    );
    fails(r#"MSH-9.1 = ("ADT")"#, 10, 1, "found '('", "in (");
    fails("MSH-9.1 = ", 10, 0, "found the end of the condition", "");
}

#[test]
fn properties() {
    let error = fails(
        r#"msg.sender = "x""#,
        0,
        10,
        "unknown property 'msg.sender'",
        "msg.source",
    );
    let hint = error.hint.unwrap();
    for name in ["msg.source", "msg.doctype", "msg.kind", "msg.duplicate"] {
        assert!(hint.contains(name), "{hint}");
    }
    fails(
        "msg.kind = 5",
        11,
        1,
        "msg.kind is text, never a number",
        r#""5""#,
    );
    fails("msg.kind in (5)", 13, 1, "msg.kind is text", r#""5""#);
    fails(
        r#"msg.duplicate = "true""#,
        16,
        6,
        "msg.duplicate is true or false",
        "not msg.duplicate",
    );
    fails(
        "msg.duplicate < true",
        14,
        1,
        "true and false have no order",
        "=",
    );
    fails(
        "msg.duplicate exists",
        14,
        6,
        "always true or false",
        "not msg.duplicate",
    );
    fails(r#"msg.duplicate in ("true")"#, 0, 13, "true or false", "");
    fails(
        "PID-8 = true",
        8,
        4,
        "compare only with msg.duplicate",
        r#""true""#,
    );
}

#[test]
fn tests_that_never_change() {
    fails(
        r#""MSH-9.1" = "ADT""#,
        0,
        17,
        "both sides are fixed values",
        "without quotes",
    );
    fails("1 < 2", 0, 5, "both sides are fixed values", "field path");
    fails(
        r#""abc" contains "b""#,
        0,
        18,
        "both sides are fixed values",
        "",
    );
    fails(
        r#""msg.kind" exists"#,
        0,
        10,
        "'exists' needs a field path",
        "without quotes",
    );
    fails(r#""x" is null"#, 0, 3, "'is' needs a field path", "");
    fails(r#"7 in (7)"#, 0, 1, "'in' needs a field path", "");
    fails("PID-3", 0, 5, "PID-3 alone is not a test", "PID-3 exists");
    fails(
        r#"MSH-9.1 = "ADT" and msg.kind"#,
        20,
        8,
        "msg.kind alone is not a test",
        "",
    );
    fails(r#""ADT""#, 0, 5, "a value alone is not a test", "MSH-9.1 =");
    fails(
        "PID-3 contains 12",
        15,
        2,
        "contains and starts with test text",
        r#""12""#,
    );
    fails("PID-3 starts with true", 18, 4, "not true or false", "");
    fails(
        "PID-3 in (PID-4)",
        10,
        5,
        "a list holds fixed values",
        "PID-3 = PID-4",
    );
    fails("PID-3 in (true)", 10, 4, "quoted text or numbers", "");
}

#[test]
fn predicates_with_missing_words() {
    fails(
        "PID-3 not exists",
        6,
        3,
        "'not' must be followed by 'in'",
        "not PID-3 exists",
    );
    fails(
        "PID-3 is nothing",
        9,
        7,
        "expected 'null' or 'empty' after 'is'",
        "is not null",
    );
    fails("PID-3 is not", 12, 0, "expected 'null' or 'empty'", "");
    fails(
        r#"PID-3 starts "x""#,
        13,
        3,
        "expected 'with' after 'starts'",
        "starts with",
    );
    fails(
        r#"MSH-9.2 in "A01""#,
        11,
        5,
        "expected '(' after 'in'",
        "in (",
    );
}

#[test]
fn lists_and_parentheses() {
    fails(
        "MSH-9.2 in ()",
        11,
        2,
        "the list after 'in' is empty",
        "at least one",
    );
    fails("MSH-9.2 in ( )", 11, 3, "the list after 'in' is empty", "");
    fails(r#"MSH-9.2 in ("A01", "A04""#, 11, 1, "missing ')'", "close");
    fails(
        r#"MSH-9.2 in ("A01" "A04")"#,
        18,
        5,
        "expected ',' or ')' in the list",
        "",
    );
    fails(r#"MSH-9.2 in ("A01",)"#, 18, 1, "found ')'", "");
    fails(
        r#"(MSH-9.1 = "ADT" or PID-3 exists"#,
        0,
        1,
        "missing ')' for this '('",
        "')'",
    );
    fails(r#"((PID-3 exists)"#, 0, 1, "missing ')'", "");
    fails(
        r#"(MSH-9.1 = "ADT" PID-3 exists)"#,
        17,
        5,
        "expected 'and', 'or' or ')'",
        "",
    );
    fails("()", 1, 1, "expected a field path", "");
}

#[test]
fn trailing_text() {
    fails(
        r#"MSH-9.1 = "ADT" MSH-9.2 = "A01""#,
        16,
        7,
        "unexpected 'MSH-9.2' after a complete test",
        "and / or",
    );
    fails(
        r#"MSH-9.1 = "ADT")"#,
        15,
        1,
        "this ')' has no matching '('",
        "",
    );
    fails(r#"PID-3 exists PID-4"#, 13, 5, "after a complete test", "");
}

#[test]
fn empty_conditions() {
    fails("", 0, 0, "the condition is empty", "leave out when:");
    fails(" \n\t", 0, 3, "the condition is empty", "");
}

#[test]
fn xml_paths_point_at_the_mistake_inside_the_path() {
    fails(
        r#"xml:ClinicalDocument/id = "1""#,
        4,
        19,
        "bad XML path 'xml:ClinicalDocument/id': an XML path starts with /",
        "from the root element",
    );
    fails(
        "xml:/ClinicalDocument//id exists",
        21,
        1,
        "empty step",
        "descendant steps (//) are not supported",
    );
    fails(
        "xml:/cda:ClinicalDocument/id exists",
        5,
        4,
        "namespace prefixes are not written",
        "local name",
    );
    fails(
        r#"xml:/ClinicalDocument/recordTarget[0] exists"#,
        34,
        3,
        "indexes start at 1",
        "[1]",
    );
    fails(
        "xml:/Envelope/Body/@a/b exists",
        19,
        2,
        "'@a' must end the path",
        "",
    );
    fails("xml:/a/@ exists", 7, 1, "missing attribute name", "");
    fails("xml: exists", 3, 1, "an XML path starts with /", "");
    fails("xml:/a/text() alone", 14, 5, "unknown operator 'alone'", "");
    fails(
        r#"xml:/a/b[@x="1"] exists"#,
        8,
        3,
        "bad index '[@x'",
        "no other filters",
    );
}

#[test]
fn json_pointers_point_at_the_mistake_inside_the_pointer() {
    fails(
        "json:resourceType exists",
        5,
        12,
        "bad JSON pointer 'json:resourceType': a JSON pointer starts with /",
        "json:/resourceType",
    );
    fails(
        r#"json:/name/0/fam~ily = "X""#,
        16,
        2,
        "'~i' is not an escape",
        "~0 for ~ and ~1 for /",
    );
    fails(
        "json:/active = yes",
        15,
        3,
        "'yes' is not a field path",
        "quote text",
    );
}

#[test]
fn xml_and_json_operands_follow_the_checks() {
    fails(
        "xml:/a/@b",
        0,
        9,
        "xml:/a/@b alone is not a test",
        "xml:/a/@b exists",
    );
    fails(
        "xml:/a/@active = true",
        17,
        4,
        "true and false compare only with msg.duplicate and JSON pointers",
        "quote it",
    );
    fails(
        "json:/active < true",
        13,
        1,
        "true and false have no order",
        "",
    );
    fails(
        "json:/a in (json:/b)",
        12,
        7,
        "a list holds fixed values",
        "json:/a = json:/b",
    );
    fails(
        "json:/n contains 5",
        17,
        1,
        "contains and starts with test text",
        "",
    );
    fails(
        r#""json:/a" = "x""#,
        0,
        15,
        "both sides are fixed values",
        "write json:/a without quotes to read the value at that path",
    );
    assert!(compile("json:/active = true and false != json:/deleted").is_ok());
    assert!(compile("json:/n > 1 and xml:/a/@n <= 2.5 and json:/a = xml:/b").is_ok());
    assert!(compile(r#"json:/a in ("x", 1) and xml:/a not in ("y")"#).is_ok());
}

#[test]
fn unknown_prefixes_are_refused() {
    fails(
        "http://example exists",
        0,
        14,
        "unknown path prefix 'http:'",
        "quote",
    );
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}PID-3 exists{}", "(".repeat(64), ")".repeat(64));
    assert!(compile(&ok).is_ok());
    let deep = format!("{}PID-3 exists{}", "(".repeat(65), ")".repeat(65));
    fails(&deep, 64, 1, "nesting too deep", "several rules");

    assert!(compile(&format!("{}PID-3 exists", "not ".repeat(64))).is_ok());
    fails(
        &format!("{}PID-3 exists", "not ".repeat(65)),
        256,
        3,
        "nesting too deep",
        "",
    );
    fails(
        &format!("not ({}", "(not ".repeat(40)),
        160,
        1,
        "nesting too deep",
        "",
    );

    // Far deeper than any stack would allow if the parser recursed freely.
    assert!(compile(&"(".repeat(1_000_000)).is_err());
    assert!(compile(&"not ".repeat(1_000_000)).is_err());
}

#[test]
fn the_first_mistake_is_reported() {
    fails(r#""a" = "b" 'c'"#, 0, 9, "both sides are fixed values", "");
    fails(r#"PID-3 == 'x'"#, 6, 2, "'=='", "");
}

#[test]
fn display_and_excerpt_show_the_error_to_a_person() {
    let source = "MSH-9.1 = \"ADT\"\n  and MSH-9.2 in (A01, A04)";
    let error = compile(source).unwrap_err();
    assert_eq!(
        error.to_string(),
        "'A01' is not a field path, a msg. property or a keyword; \
         hint: quote text: \"A01\"; a field path looks like PID-5.1"
    );
    assert_eq!(
        error.excerpt(source),
        "  and MSH-9.2 in (A01, A04)\n                  ^^^"
    );
}
