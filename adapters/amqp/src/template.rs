//! Routing key templates: `hl7.{MSH-9.1}.{MSH-9.2}`, `{doctype}`, `adt.{MSH-4}`.
//!
//! The syntax and rendering are [`ferry_adapter::MessageTemplate`]'s, with the common
//! placeholders only. An empty template is the empty routing key (fanout exchanges ignore
//! the key). A key over AMQP's 255-byte limit is refused by the operation before it
//! publishes. Values go into the key as they are: a topic exchange splits on `.`, so a `.`
//! inside a field value adds a word, which is what a topic binding on that value would
//! expect.

use ferry_adapter::{MessageTemplate, TemplateError};
use ferry_message::{Body, Header};

/// A parsed routing key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    template: MessageTemplate,
}

impl Template {
    /// Parses `text`; `{{` and `}}` stand for literal braces.
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let template = MessageTemplate::parse(text, &[])?;
        Ok(Template { template })
    }

    /// The routing key for a message.
    pub(crate) fn render(&self, header: &Header, body: &Body) -> String {
        let no_extras = |_: &str| String::new();
        self.template
            .render(header, body, no_extras, |value| value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use ferry_adapter::TemplatePart;

    use super::*;

    #[test]
    fn parses_placeholders_and_braces() {
        let template = Template::parse("hl7.{MSH-9.1}.{MSH-9.2}").unwrap();
        assert_eq!(template.template.parts().len(), 4);
        let braces = Template::parse("{{x}}.{doctype}").unwrap();
        let first = &braces.template.parts()[0];
        assert_eq!(*first, TemplatePart::Literal("{x}.".to_owned()));
        assert!(Template::parse("").unwrap().template.parts().is_empty());
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{MSH-9", "x}", "{nope}", "{PID.3}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
