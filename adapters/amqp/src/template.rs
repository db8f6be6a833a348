//! Routing key templates: `hl7.{MSH-9.1}.{MSH-9.2}`, `{doctype}`, `adt.{MSH-4}`.
//!
//! A template is parsed when the production loads, like the file adapter's name
//! templates. Rendering never fails: a field the message does not have renders empty,
//! and a key over AMQP's 255-byte limit is refused by the operation before it publishes.
//! Values go into the key as they are: a topic exchange splits on `.`, so a `.` inside a
//! field value adds a word, which is what a topic binding on that value would expect.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Id,
    Session,
    Source,
    DocType,
    Field(FieldPath),
}

/// A parsed routing key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// Why a template is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    /// Parses `text`; `{{` and `}}` stand for literal braces. An empty template is the
    /// empty routing key (fanout exchanges ignore the key).
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("{{") {
                literal.push('{');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("}}") {
                literal.push('}');
                rest = after;
            } else if c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| TemplateError("a '{' is never closed".to_owned()))?;
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(placeholder(&rest[1..end])?);
                rest = &rest[end + 1..];
            } else if c == '}' {
                return Err(TemplateError("a '}' has no '{'".to_owned()));
            } else {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The routing key for a message.
    pub(crate) fn render(&self, header: &Header, body: &Body) -> String {
        let reads_fields = self.parts.iter().any(|p| matches!(p, Part::Field(_)));
        let text = (reads_fields && body.kind == ContentKind::Hl7v2).then(|| body_text(body));
        let message = text
            .as_deref()
            .and_then(|text| Hl7Message::parse(text).ok());

        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Id => key.push_str(&header.id.to_string()),
                Part::Session => key.push_str(&header.session.to_string()),
                Part::Source => key.push_str(header.source.as_str()),
                Part::DocType => key.push_str(header.doc_type.as_deref().unwrap_or_default()),
                Part::Field(path) => {
                    if let Some(FieldValue::Text(value)) = message.as_ref().map(|m| m.get(path)) {
                        key.push_str(&value);
                    }
                }
            }
        }
        key
    }
}

fn placeholder(name: &str) -> Result<Part, TemplateError> {
    let part = match name.trim() {
        "id" => Part::Id,
        "session" => Part::Session,
        "source" => Part::Source,
        "doctype" => Part::DocType,
        other => Part::Field(FieldPath::parse(other).map_err(|error| {
            TemplateError(format!(
                "unknown placeholder '{{{other}}}': {}",
                error.reason
            ))
        })?),
    };
    Ok(part)
}

/// The body as text in its stored charset (UTF-8 when unknown).
fn body_text(body: &Body) -> String {
    let encoding = body
        .charset
        .as_deref()
        .and_then(|label| ferry_hl7::encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(ferry_hl7::encoding_rs::UTF_8);
    encoding
        .decode_without_bom_handling(&body.bytes)
        .0
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_braces() {
        let template = Template::parse("hl7.{MSH-9.1}.{MSH-9.2}").unwrap();
        assert_eq!(template.parts.len(), 4);
        let braces = Template::parse("{{x}}.{doctype}").unwrap();
        assert_eq!(braces.parts[0], Part::Literal("{x}.".to_owned()));
        assert!(Template::parse("").unwrap().parts.is_empty());
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{MSH-9", "x}", "{nope}", "{PID.3}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
