//! File name templates: `{MSH-10}.hl7`, `{date}-{id}.xml`.
//!
//! A template is parsed once when the production loads. Each value put into a name is
//! made safe first ([`crate::names::safe_component`]): no folder separators, no `..`,
//! no control characters; an empty value becomes the message id, so a name is never
//! empty and never escapes the output folder.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header};
use jiff::ZonedDateTime;

use crate::names::safe_component;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Id,
    Session,
    Source,
    DocType,
    Date,
    Time,
    Seq,
    Field(FieldPath),
}

/// A parsed file name template.
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

/// The values a rendered name may use besides the message itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderContext<'a> {
    pub(crate) header: &'a Header,
    pub(crate) body: &'a Body,
    pub(crate) seq: u64,
    pub(crate) now: &'a ZonedDateTime,
}

impl Template {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, next)| *next) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, next)| *next) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let end = rest
                        .find('}')
                        .ok_or_else(|| TemplateError(format!("'{{' at {at} is never closed")))?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(placeholder(&rest[..end])?);
                    for _ in 0..rest[..end].chars().count() + 1 {
                        chars.next();
                    }
                }
                '}' => return Err(TemplateError(format!("'}}' at {at} has no '{{'"))),
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }

        if parts.is_empty() {
            return Err(TemplateError("the template is empty".to_owned()));
        }
        if parts
            .iter()
            .any(|part| matches!(part, Part::Literal(text) if text.contains('/')))
        {
            return Err(TemplateError("a file name cannot contain '/'".to_owned()));
        }
        Ok(Template { parts })
    }

    /// True when rendering needs the message parsed as HL7.
    fn reads_fields(&self) -> bool {
        self.parts.iter().any(|part| matches!(part, Part::Field(_)))
    }

    /// The file name for a message.
    pub(crate) fn render(&self, context: RenderContext<'_>) -> String {
        let text = match (self.reads_fields(), context.body.kind) {
            (true, ContentKind::Hl7v2) => Some(crate::names::body_text(context.body)),
            _ => None,
        };
        let message = text
            .as_deref()
            .and_then(|text| Hl7Message::parse(text).ok());
        let id = context.header.id.to_string();

        let mut name = String::new();
        for part in &self.parts {
            let value = match part {
                Part::Literal(text) => {
                    name.push_str(text);
                    continue;
                }
                Part::Id => id.clone(),
                Part::Session => context.header.session.to_string(),
                Part::Source => context.header.source.to_string(),
                Part::DocType => context.header.doc_type.clone().unwrap_or_default(),
                Part::Date => context.now.strftime("%Y%m%d").to_string(),
                Part::Time => context.now.strftime("%H%M%S").to_string(),
                Part::Seq => context.seq.to_string(),
                Part::Field(path) => match message.as_ref().map(|m| m.get(path)) {
                    Some(FieldValue::Text(text)) => text.into_owned(),
                    _ => String::new(),
                },
            };
            name.push_str(&safe_component(&value, &id));
        }
        crate::names::safe_file_name(&name, &id)
    }
}

fn placeholder(name: &str) -> Result<Part, TemplateError> {
    let part = match name.trim() {
        "id" => Part::Id,
        "session" => Part::Session,
        "source" => Part::Source,
        "doctype" => Part::DocType,
        "date" => Part::Date,
        "time" => Part::Time,
        "seq" => Part::Seq,
        other => Part::Field(FieldPath::parse(other).map_err(|error| {
            TemplateError(format!(
                "unknown placeholder '{{{other}}}': {}",
                error.reason
            ))
        })?),
    };
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_braces() {
        let template = Template::parse("{MSH-10}-{id}{{x}}.hl7").unwrap();
        assert_eq!(template.parts.len(), 4);
        assert!(template.reads_fields());
        assert_eq!(template.parts[3], Part::Literal("{x}.hl7".to_owned()));
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["", "{MSH-10", "x}", "{nope}", "a/{id}", "{PID.3}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
