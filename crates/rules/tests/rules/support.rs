//! A small [`Document`] for tests: fields and properties from maps, and optionally fields
//! read from a raw HL7 v2 message split by the delimiters its own MSH declares.
//!
//! The splitting is a test fixture, not a parser: no escapes, no validation. It lets the
//! field-case tests use the reproducer messages as they are written in the field cases.

use std::borrow::Cow;
use std::collections::HashMap;

use ferry_hl7::{FieldPath, FieldValue};
use ferry_rules::{Document, JsonPointer, Property, XmlPath};

#[derive(Debug, Default)]
pub(crate) struct TestDoc {
    raw: Option<Raw>,
    fields: HashMap<FieldPath, FieldValue<'static>>,
    properties: HashMap<Property, FieldValue<'static>>,
}

impl TestDoc {
    pub(crate) fn new() -> TestDoc {
        TestDoc::default()
    }

    /// A document over a raw message, segments separated by carriage returns.
    pub(crate) fn hl7(message: &str) -> TestDoc {
        TestDoc {
            raw: Some(Raw::new(message)),
            ..TestDoc::default()
        }
    }

    /// Sets a field: `""` (two quote characters) is the HL7 null, an empty string is
    /// missing, anything else is text.
    pub(crate) fn field(mut self, path: &str, value: &str) -> TestDoc {
        let path = FieldPath::parse(path).expect("a valid test path");
        self.fields.insert(path, classify(value).into_owned());
        self
    }

    pub(crate) fn property(mut self, property: Property, value: &str) -> TestDoc {
        self.properties
            .insert(property, classify(value).into_owned());
        self
    }
}

fn classify(value: &str) -> FieldValue<'_> {
    match value {
        "" => FieldValue::Missing,
        "\"\"" => FieldValue::Null,
        text => FieldValue::Text(Cow::Borrowed(text)),
    }
}

impl Document for TestDoc {
    fn hl7(&self, path: &FieldPath) -> FieldValue<'_> {
        if let Some(value) = self.fields.get(path) {
            return value.clone();
        }
        match &self.raw {
            Some(raw) => classify(raw.lookup(path).unwrap_or("")),
            None => FieldValue::Missing,
        }
    }

    fn property(&self, property: Property) -> FieldValue<'_> {
        self.properties
            .get(&property)
            .cloned()
            .unwrap_or(FieldValue::Missing)
    }
}

/// A raw message and the separators its MSH-1 and MSH-2 declare.
#[derive(Debug)]
struct Raw {
    text: String,
    field: char,
    component: char,
    repetition: char,
    subcomponent: char,
    encoding: String,
}

impl Raw {
    fn new(text: &str) -> Raw {
        let header: Vec<char> = text.chars().skip(3).take(5).collect();
        Raw {
            text: text.to_owned(),
            field: header[0],
            component: header[1],
            repetition: header[2],
            subcomponent: header[4],
            encoding: header[1..].iter().collect(),
        }
    }

    fn lookup(&self, path: &FieldPath) -> Option<&str> {
        let id = path.segment_id();
        let segment = self
            .text
            .split('\r')
            .filter(|segment| segment.get(..3) == Some(id))
            .nth(path.occurrence as usize - 1)?;

        let mut fields = segment.split(self.field);
        let field = match (id, path.field) {
            // MSH-1 is the field separator itself, so MSH-n is the n-1th piece after "MSH".
            ("MSH", 1) => return Some(&self.text[3..3 + self.field.len_utf8()]),
            ("MSH", 2) => return Some(&self.encoding),
            ("MSH", n) => fields.nth(n as usize - 1)?,
            (_, n) => fields.nth(n as usize)?,
        };

        let repetition = field
            .split(self.repetition)
            .nth(path.repetition.unwrap_or(1) as usize - 1)?;
        let component = match path.component {
            Some(c) => repetition.split(self.component).nth(c as usize - 1)?,
            None => return Some(repetition),
        };
        match path.subcomponent {
            Some(s) => component.split(self.subcomponent).nth(s as usize - 1),
            None => Some(component),
        }
    }
}

/// A [`Document`] over a message body, read as the runtime reads one: XML decoded once
/// by its declared encoding, JSON parsed once; a body that does not decode or parse reads
/// as missing everywhere.
#[derive(Debug, Default)]
pub(crate) struct BodyDoc {
    xml: Option<String>,
    json: Option<serde_json::Value>,
}

impl BodyDoc {
    pub(crate) fn xml(bytes: &[u8]) -> BodyDoc {
        BodyDoc {
            xml: ferry_rules::xml_text(bytes).ok().map(Cow::into_owned),
            json: None,
        }
    }

    pub(crate) fn json(bytes: &[u8]) -> BodyDoc {
        BodyDoc {
            xml: None,
            json: serde_json::from_slice(bytes).ok(),
        }
    }
}

impl Document for BodyDoc {
    fn hl7(&self, _path: &FieldPath) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn property(&self, _property: Property) -> FieldValue<'_> {
        FieldValue::Missing
    }

    fn xml(&self, path: &XmlPath) -> FieldValue<'_> {
        match &self.xml {
            Some(text) => path.read(text),
            None => FieldValue::Missing,
        }
    }

    fn json(&self, pointer: &JsonPointer) -> FieldValue<'_> {
        match &self.json {
            Some(value) => pointer.read(value),
            None => FieldValue::Missing,
        }
    }
}
