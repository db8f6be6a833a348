//! JSON pointers from any text, read from any bytes as a JSON body: no panic; a compile
//! error points inside the text; a compiled condition reprints to an equal one.
//!
//! The input's first line is the pointer (after `json:`), the rest the body. Fixed
//! pointers are read from the body too.

#![no_main]

use ferry_hl7::{FieldPath, FieldValue};
use ferry_rules::{Document, JsonPointer, Property, compile};
use libfuzzer_sys::fuzz_target;

/// Tests written after the fuzzed pointer: every kind of read the language makes.
const TESTS: &[&str] = &[
    "exists",
    "is null",
    "is not empty",
    "= true",
    "!= \"1\"",
    ">= -2.5",
    "not in (\"a\", 2)",
    "contains \"{\"",
    "starts with \"[\"",
];

const FIXED: &[&str] = &[
    "json: exists",
    "json:/a = 1",
    "json:/0/0/0 > 0",
    "json:/a/b~1c/~0 = \"x\"",
    "json:/resourceType = \"Patient\"",
    "json:/@odata.etag starts with \"W/\"",
    "json:/value/0/emailaddress1 is null",
    "json:/ok = false",
];

struct Body(Option<serde_json::Value>);

impl Document for Body {
    fn hl7(&self, _path: &FieldPath) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn property(&self, _property: Property) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn json(&self, pointer: &JsonPointer) -> FieldValue<'_> {
        match &self.0 {
            Some(value) => pointer.read(value),
            None => FieldValue::Missing,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let body = Body(serde_json::from_slice(data.get(split + 1..).unwrap_or_default()).ok());

    if let Ok(pointer) = std::str::from_utf8(&data[..split]) {
        for test in TESTS {
            check(&format!("json:{pointer} {test}"), &body);
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
