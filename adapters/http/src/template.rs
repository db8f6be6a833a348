//! URL templates: `https://lab.example.org/results/{PID-3.1}?visit={PV1-19}`.
//!
//! A template is parsed once when the production loads. Placeholders may only stand in
//! the path and query, never in the scheme or authority: the host a certificate is
//! checked against is then fixed by the production, not by a message. Each value is
//! percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`), so a field holding `/`, `?` or
//! `#` stays inside its own segment. Placeholders: `{id}`, `{session}`, `{source}`,
//! `{doctype}` and HL7 field paths such as `{MSH-10}` or `{PID-3[2].1}`; `{{` and `}}`
//! write literal braces.

use std::fmt;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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

/// A parsed URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlTemplate {
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

impl UrlTemplate {
    /// Parses `text` and checks that it makes an http or https URL.
    pub(crate) fn parse(text: &str) -> Result<UrlTemplate, TemplateError> {
        let parts = split(text)?;
        let template = UrlTemplate { parts };

        let Some(Part::Literal(head)) = template.parts.first() else {
            return Err(TemplateError(
                "the URL must start with http:// or https://".into(),
            ));
        };
        let after_scheme = head.split_once("://").map(|(_, rest)| rest);
        let fixed_authority = after_scheme.is_some_and(|rest| rest.contains(['/', '?']));
        if template.parts.len() > 1 && !fixed_authority {
            return Err(TemplateError(
                "placeholders may only stand in the path or query, after the host".into(),
            ));
        }
        let sample = template.expand(|_| "x".to_owned());
        let url = Url::parse(&sample)
            .map_err(|error| TemplateError(format!("not a usable URL: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(TemplateError(
                "the URL must start with http:// or https:// and name a host".into(),
            ));
        }
        Ok(template)
    }

    /// The URL for a message.
    pub(crate) fn render(&self, header: &Header, body: &Body) -> String {
        let text = match (self.reads_fields(), body.kind) {
            (true, ContentKind::Hl7v2) => Some(body_text(body)),
            _ => None,
        };
        let message = text
            .as_deref()
            .and_then(|text| Hl7Message::parse(text).ok());
        self.expand(|part| match part {
            Part::Id => header.id.to_string(),
            Part::Session => header.session.to_string(),
            Part::Source => header.source.to_string(),
            Part::DocType => header.doc_type.clone().unwrap_or_default(),
            Part::Field(path) => match message.as_ref().map(|message| message.get(path)) {
                Some(FieldValue::Text(text)) => text.into_owned(),
                _ => String::new(),
            },
            Part::Literal(text) => text.clone(),
        })
    }

    fn reads_fields(&self) -> bool {
        self.parts.iter().any(|part| matches!(part, Part::Field(_)))
    }

    fn expand(&self, mut value: impl FnMut(&Part) -> String) -> String {
        let mut url = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => url.push_str(text),
                other => url.extend(utf8_percent_encode(&value(other), COMPONENT)),
            }
        }
        url
    }
}

fn split(text: &str) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        literal.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
            literal.push_str(&tail[..1]);
            rest = after;
            continue;
        }
        if tail.starts_with('}') {
            return Err(TemplateError("a '}' has no '{'".into()));
        }
        let end = tail
            .find('}')
            .ok_or_else(|| TemplateError("a '{' is never closed".into()))?;
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(placeholder(&tail[1..end])?);
        rest = &tail[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

fn placeholder(name: &str) -> Result<Part, TemplateError> {
    Ok(match name.trim() {
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
    })
}

/// The body as text in its recorded charset (UTF-8 when none is recorded).
fn body_text(body: &Body) -> std::borrow::Cow<'_, str> {
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
    fn placeholders_stay_out_of_the_authority() {
        assert!(UrlTemplate::parse("https://lab:9443/results/{PID-3.1}").is_ok());
        assert!(UrlTemplate::parse("https://lab/r?id={id}&x={{1}}").is_ok());
        for bad in [
            "https://{MSH-4}/results",
            "https://lab{id}/x",
            "ftp://lab/x",
            "lab/results",
            "https://lab/{nope",
            "https://lab/x}",
            "https://lab/{PID.3}",
        ] {
            assert!(
                UrlTemplate::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn values_are_percent_encoded_within_their_segment() {
        let template = UrlTemplate::parse("https://lab/results/{id}").unwrap();
        let url = template.expand(|_| "A/B?c#d é".to_owned());
        assert_eq!(url, "https://lab/results/A%2FB%3Fc%23d%20%C3%A9");
    }
}
