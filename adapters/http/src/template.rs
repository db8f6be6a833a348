//! URL templates: `https://lab.example.org/results/{PID-3.1}?visit={PV1-19}`.
//!
//! The syntax and rendering are [`ferry_adapter::MessageTemplate`]'s; this module adds the
//! URL rules. Placeholders may only stand in the path and query, never in the scheme or
//! authority: the host a certificate is checked against is then fixed by the production,
//! not by a message. Each value is percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`),
//! so a field holding `/`, `?` or `#` stays inside its own segment. Placeholders: `{id}`,
//! `{session}`, `{source}`, `{doctype}` and HL7 field paths such as `{MSH-10}` or
//! `{PID-3[2].1}`; `{{` and `}}` write literal braces.

use ferry_adapter::{MessageTemplate, Placeholder, TemplateError, TemplatePart};
use ferry_message::{Body, Header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A parsed URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlTemplate {
    template: MessageTemplate,
}

impl UrlTemplate {
    /// Parses `text` and checks that it makes an http or https URL.
    pub(crate) fn parse(text: &str) -> Result<UrlTemplate, TemplateError> {
        let template = UrlTemplate {
            template: MessageTemplate::parse(text, &[])?,
        };
        let parts = template.template.parts();

        let Some(TemplatePart::Literal(head)) = parts.first() else {
            return Err(TemplateError::new(
                "the URL must start with http:// or https://",
            ));
        };
        let after_scheme = head.split_once("://").map(|(_, rest)| rest);
        let fixed_authority = after_scheme.is_some_and(|rest| rest.contains(['/', '?']));
        if parts.len() > 1 && !fixed_authority {
            return Err(TemplateError::new(
                "placeholders may only stand in the path or query, after the host",
            ));
        }
        let sample = template.expand(|_| "x".to_owned());
        let url = Url::parse(&sample)
            .map_err(|error| TemplateError::new(format!("not a usable URL: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(TemplateError::new(
                "the URL must start with http:// or https:// and name a host",
            ));
        }
        Ok(template)
    }

    /// The URL for a message.
    pub(crate) fn render(&self, header: &Header, body: &Body) -> String {
        let no_extras = |_: &str| String::new();
        self.template.render(header, body, no_extras, encode)
    }

    /// The template with every placeholder's value from `value`, percent-encoded.
    fn expand(&self, mut value: impl FnMut(&Placeholder) -> String) -> String {
        self.template
            .expand(|placeholder| encode(&value(placeholder)))
    }
}

/// A value percent-encoded so that it stays inside its own path segment or query value.
fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
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
