//! Message templates: the one parser and renderer behind file names (`{MSH-10}.hl7`),
//! URLs (`https://lab/results/{PID-3.1}`) and routing keys (`hl7.{MSH-9.1}.{MSH-9.2}`).
//!
//! This module owns the template syntax: `{id}`, `{session}`, `{source}`, `{doctype}`, HL7
//! field paths such as `{MSH-10}` or `{PID-3[2].1}`, the extra names an adapter allows
//! (files add `{date}`, `{time}`, `{seq}`), and `{{`/`}}` for literal braces. A template is
//! parsed once when the production loads, so a typo is a load error, never a delivery
//! failure. Rendering never fails: a field the message lacks renders empty. What a value
//! may contain is the adapter's rule, not this module's: each use passes its own value
//! treatment (file names made safe, URL values percent-encoded, routing keys as they are),
//! and literal text is never treated, because the production wrote it.

use std::borrow::Cow;
use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header};

/// A value a template takes from the message or from its adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `{id}`: the message id.
    Id,
    /// `{session}`: the session id.
    Session,
    /// `{source}`: the item the message came from.
    Source,
    /// `{doctype}`: the document type, empty when unknown.
    DocType,
    /// An HL7 field path such as `{MSH-9.1}`; empty unless the body is HL7 v2.
    Field(FieldPath),
    /// A name the adapter allowed at parse time (e.g. `date`); the adapter supplies it.
    Extra(&'static str),
}

/// One piece of a template, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Text written as it is (with `{{` and `}}` already turned into single braces).
    Literal(String),
    /// A value filled in at render time.
    Placeholder(Placeholder),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    parts: Vec<TemplatePart>,
}

/// Why a template is wrong, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl TemplateError {
    /// An error with a message, for the checks an adapter adds after parsing.
    pub fn new(message: impl Into<String>) -> Self {
        TemplateError(message.into())
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

impl MessageTemplate {
    /// Parses `text`, allowing the common placeholders, HL7 field paths and the names in
    /// `extras`. An empty text is the empty template; adapters that need a value refuse it.
    ///
    /// # Errors
    ///
    /// An unclosed `{`, a `}` without `{`, or a placeholder that is neither a known name
    /// nor a valid field path.
    pub fn parse(text: &str, extras: &[&'static str]) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(found) = rest.find(['{', '}']) {
            literal.push_str(&rest[..found]);
            let tail = &rest[found..];
            let at = text.len() - tail.len();
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                literal.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            if tail.starts_with('}') {
                return Err(TemplateError(format!("'}}' at {at} has no '{{'")));
            }
            let end = tail
                .find('}')
                .ok_or_else(|| TemplateError(format!("'{{' at {at} is never closed")))?;
            if !literal.is_empty() {
                parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
            }
            let name = &tail[1..end];
            parts.push(TemplatePart::Placeholder(placeholder(name, extras)?));
            rest = &tail[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        Ok(MessageTemplate { parts })
    }

    /// The pieces in order, for the checks an adapter makes on its own template.
    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// True when rendering needs the body parsed as HL7.
    pub fn reads_fields(&self) -> bool {
        self.placeholders()
            .any(|placeholder| matches!(placeholder, Placeholder::Field(_)))
    }

    /// Writes the template with each placeholder's value as `value` gives it; literal text
    /// goes in unchanged. Adapters use it to try a template on sample values at load.
    pub fn expand(&self, mut value: impl FnMut(&Placeholder) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(text) => out.push_str(text),
                TemplatePart::Placeholder(placeholder) => out.push_str(&value(placeholder)),
            }
        }
        out
    }

    /// The template filled in for a message. `extra` supplies the adapter's own names;
    /// `treat` turns each value (never literal text) into what the use allows.
    pub fn render(
        &self,
        header: &Header,
        body: &Body,
        extra: impl Fn(&str) -> String,
        treat: impl Fn(&str) -> String,
    ) -> String {
        // Parsing HL7 costs more than the rest together: only for templates that read fields.
        let text =
            (self.reads_fields() && body.kind == ContentKind::Hl7v2).then(|| body_text(body));
        let message = text
            .as_deref()
            .and_then(|text| Hl7Message::parse(text).ok());

        self.expand(|placeholder| {
            let value = match placeholder {
                Placeholder::Id => header.id.to_string(),
                Placeholder::Session => header.session.to_string(),
                Placeholder::Source => header.source.to_string(),
                Placeholder::DocType => header.doc_type.clone().unwrap_or_default(),
                Placeholder::Field(path) => match message.as_ref().map(|m| m.get(path)) {
                    Some(FieldValue::Text(text)) => text.into_owned(),
                    _ => String::new(),
                },
                Placeholder::Extra(name) => extra(name),
            };
            treat(&value)
        })
    }

    fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            TemplatePart::Placeholder(placeholder) => Some(placeholder),
            TemplatePart::Literal(_) => None,
        })
    }
}

fn placeholder(name: &str, extras: &[&'static str]) -> Result<Placeholder, TemplateError> {
    let name = name.trim();
    let placeholder = match name {
        "id" => Placeholder::Id,
        "session" => Placeholder::Session,
        "source" => Placeholder::Source,
        "doctype" => Placeholder::DocType,
        other => match extras.iter().find(|extra| **extra == other) {
            Some(extra) => Placeholder::Extra(extra),
            None => Placeholder::Field(FieldPath::parse(other).map_err(|error| {
                TemplateError(format!(
                    "unknown placeholder '{{{other}}}': {}",
                    error.reason
                ))
            })?),
        },
    };
    Ok(placeholder)
}

/// The body as text in its recorded charset (UTF-8 when none is recorded).
fn body_text(body: &Body) -> Cow<'_, str> {
    let encoding = body
        .charset
        .as_deref()
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_without_bom_handling(&body.bytes).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_braces() {
        let template = MessageTemplate::parse("{MSH-10}-{id}{{x}}.{date}", &["date"]).unwrap();
        assert_eq!(template.parts().len(), 5);
        assert!(template.reads_fields());
        assert_eq!(
            template.parts()[3],
            TemplatePart::Literal("{x}.".to_owned())
        );
        assert_eq!(
            template.parts()[4],
            TemplatePart::Placeholder(Placeholder::Extra("date"))
        );
        assert!(MessageTemplate::parse("", &[]).unwrap().parts().is_empty());
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{MSH-10", "x}", "{nope}", "{PID.3}", "{date}"] {
            assert!(
                MessageTemplate::parse(bad, &[]).is_err(),
                "{bad:?} should be refused"
            );
        }
        let error = MessageTemplate::parse("ab{id", &[]).unwrap_err();
        assert_eq!(error.to_string(), "'{' at 2 is never closed");
    }

    #[test]
    fn values_are_treated_and_literals_are_not() {
        let template = MessageTemplate::parse("a/{id}", &[]).unwrap();
        let out = template.expand(|_| "x/y".replace('/', "_"));
        assert_eq!(out, "a/x_y");
    }
}
