//! File name templates: `{MSH-10}.hl7`, `{date}-{id}.xml`.
//!
//! The syntax and rendering are [`ferry_adapter::MessageTemplate`]'s; this module adds the
//! file rules. Besides the common placeholders a name may use `{date}`, `{time}` and
//! `{seq}`. Each value put into a name is made safe first
//! ([`crate::names::safe_component`]): no folder separators, no `..`, no control
//! characters; an empty value becomes the message id, so a name is never empty and never
//! escapes the output folder.

use ferry_adapter::{MessageTemplate, TemplateError, TemplatePart};
use ferry_message::{Body, Header};
use jiff::ZonedDateTime;

use crate::names::{safe_component, safe_file_name};

/// The placeholders only file names have.
const FILE_PLACEHOLDERS: &[&str] = &["date", "time", "seq"];

/// A parsed file name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    template: MessageTemplate,
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
    /// Parses `text`; a name must not be empty and its literal text must not hold a `/`.
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let template = MessageTemplate::parse(text, FILE_PLACEHOLDERS)?;
        if template.parts().is_empty() {
            return Err(TemplateError::new("the template is empty"));
        }
        // Values are made safe when rendered; only the production's own text could
        // name another folder.
        let slash = template
            .parts()
            .iter()
            .any(|part| matches!(part, TemplatePart::Literal(text) if text.contains('/')));
        if slash {
            return Err(TemplateError::new("a file name cannot contain '/'"));
        }
        Ok(Template { template })
    }

    /// The file name for a message.
    pub(crate) fn render(&self, context: RenderContext<'_>) -> String {
        let id = context.header.id.to_string();
        let extra = |name: &str| match name {
            "date" => context.now.strftime("%Y%m%d").to_string(),
            "time" => context.now.strftime("%H%M%S").to_string(),
            // `seq`, the only other name FILE_PLACEHOLDERS allows.
            _ => context.seq.to_string(),
        };
        let name = self
            .template
            .render(context.header, context.body, extra, |value| {
                safe_component(value, &id)
            });
        safe_file_name(&name, &id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_braces() {
        let template = Template::parse("{MSH-10}-{id}{{x}}.hl7").unwrap();
        let parts = template.template.parts();
        assert_eq!(parts.len(), 4);
        assert!(template.template.reads_fields());
        assert_eq!(parts[3], TemplatePart::Literal("{x}.hl7".to_owned()));
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["", "{MSH-10", "x}", "{nope}", "a/{id}", "{PID.3}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
