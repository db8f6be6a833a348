//! XML paths from any text, read from any bytes as an XML body: no panic; a compile error
//! points inside the text; a compiled condition reprints to an equal one.
//!
//! The input's first line is the path (after `xml:`), the rest the body. Fixed paths are
//! read from the body too, so deep documents are explored even while the fuzzed path is
//! still nonsense.

#![no_main]

use ferry_hl7::{FieldPath, FieldValue};
use ferry_rules::{Document, Property, XmlPath, compile, xml_text};
use libfuzzer_sys::fuzz_target;

/// Tests written after the fuzzed path: every kind of read the language makes.
const TESTS: &[&str] = &[
    "exists",
    "is null",
    "is empty",
    "= \"1\"",
    "< 10",
    "in (\"a\", 2)",
    "contains \"x\"",
    "starts with \"<\"",
];

const FIXED: &[&str] = &[
    "xml:/a exists",
    "xml:/*/*/@k = \"v\"",
    "xml:/*[1]/*[2]/* contains \"&\"",
    "xml:/a/b[2]/text() is empty",
    "xml:/Envelope/Body/*/@id exists",
    "xml:/ClinicalDocument/recordTarget/patientRole/id/@extension exists",
    "xml:/*/*/*/*/*/*/*/* is null",
];

struct Body(Option<String>);

impl Document for Body {
    fn hl7(&self, _path: &FieldPath) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn property(&self, _property: Property) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn xml(&self, path: &XmlPath) -> FieldValue<'_> {
        match &self.0 {
            Some(text) => path.read(text),
            None => FieldValue::Missing,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let body = Body(
        xml_text(data.get(split + 1..).unwrap_or_default())
            .ok()
            .map(Into::into),
    );

    if let Ok(path) = std::str::from_utf8(&data[..split]) {
        for test in TESTS {
            check(&format!("xml:{path} {test}"), &body);
        }
    }
    for fixed in FIXED {
        check(fixed, &body);
    }
});

fn check(source: &str, body: &Body) {
    match compile(source) {
        Ok(condition) => {
            condition.matches(body);
            let printed = condition.to_string();
            let again = compile(&printed).expect("the printed form compiles");
            assert_eq!(again, condition, "{printed}");
            assert_eq!(again.matches(body), condition.matches(body));
        }
        Err(error) => {
            assert!(
                error.offset + error.len <= source.len(),
                "{source:?}: {error:?}"
            );
            assert!(source.is_char_boundary(error.offset));
            assert!(source.is_char_boundary(error.offset + error.len));
        }
    }
}
