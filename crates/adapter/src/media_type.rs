//! Media types: which [`ContentKind`] a `Content-Type` (HTTP header, AMQP property) names,
//! and the content type Ferry writes for a body of a kind.
//!
//! HL7 v2 travels as `x-application/hl7-v2+er7` (the HL7 HTTP transport guide's name);
//! senders also write `application/hl7-v2`, `application/x-hl7` or `text/hl7`. XML and
//! JSON are recognised by their structured suffixes too (`application/fhir+json`,
//! `application/cda+xml`), and any other `text/…` is text. Parameters other than `charset`
//! are ignored. One table for every adapter, so a body is the same kind whichever
//! protocol brought it.

use ferry_message::ContentKind;

/// The content type Ferry writes and recognises for HL7 v2 (ER7).
pub const HL7_V2_MEDIA_TYPE: &str = "x-application/hl7-v2+er7";

/// A parsed content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// The kind of body it names, when Ferry knows it.
    pub kind: Option<ContentKind>,
    /// `type/subtype`, lower case, without parameters.
    pub essence: String,
    /// The `charset` parameter, unquoted.
    pub charset: Option<String>,
}

impl MediaType {
    /// Parses `type/subtype; parameters`; `None` when it is not of that form.
    pub fn parse(value: &str) -> Option<MediaType> {
        let mut parts = value.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (main, sub) = essence.split_once('/')?;
        if main.is_empty() || sub.is_empty() || essence.contains(char::is_whitespace) {
            return None;
        }

        let charset = parts.find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_owned())
        });
        Some(MediaType {
            kind: kind_of(main, sub),
            essence,
            charset,
        })
    }
}

fn kind_of(main: &str, sub: &str) -> Option<ContentKind> {
    match (main, sub) {
        ("x-application", "hl7-v2+er7" | "hl7-v2")
        | ("application", "hl7-v2" | "hl7-v2+er7" | "x-hl7" | "edi-hl7")
        | ("text", "hl7") => Some(ContentKind::Hl7v2),
        ("application" | "text", "xml") => Some(ContentKind::Xml),
        ("application" | "text", "json") => Some(ContentKind::Json),
        ("application", "octet-stream") => Some(ContentKind::Binary),
        (_, sub) if sub.ends_with("+xml") => Some(ContentKind::Xml),
        (_, sub) if sub.ends_with("+json") => Some(ContentKind::Json),
        ("text", _) => Some(ContentKind::Text),
        _ => None,
    }
}

/// The content type of a body of `kind`, with its charset when known.
pub fn content_type_for(kind: ContentKind, charset: Option<&str>) -> String {
    let essence = match kind {
        ContentKind::Hl7v2 => HL7_V2_MEDIA_TYPE,
        ContentKind::Xml => "application/xml",
        ContentKind::Json => "application/json",
        ContentKind::Text => "text/plain",
        ContentKind::Binary => "application/octet-stream",
    };
    match charset {
        Some(charset) if kind != ContentKind::Binary => format!("{essence}; charset={charset}"),
        _ => essence.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<ContentKind> {
        MediaType::parse(text).and_then(|media| media.kind)
    }

    #[test]
    fn kinds_come_from_the_type_its_suffix_or_an_alias() {
        assert_eq!(kind("x-application/hl7-v2+er7"), Some(ContentKind::Hl7v2));
        assert_eq!(kind("application/hl7-v2"), Some(ContentKind::Hl7v2));
        assert_eq!(kind("application/x-hl7"), Some(ContentKind::Hl7v2));
        assert_eq!(kind("Application/FHIR+JSON"), Some(ContentKind::Json));
        assert_eq!(kind("text/xml; charset=utf-8"), Some(ContentKind::Xml));
        assert_eq!(kind("application/cda+xml"), Some(ContentKind::Xml));
        assert_eq!(kind("text/plain"), Some(ContentKind::Text));
        assert_eq!(kind("text/csv"), Some(ContentKind::Text));
        assert_eq!(kind("image/png"), None);
        assert_eq!(MediaType::parse("nonsense"), None);
        assert_eq!(MediaType::parse("text/ plain"), None);
    }

    #[test]
    fn the_charset_parameter_is_read_unquoted_and_written_back() {
        let media = MediaType::parse("text/plain; format=flowed; Charset=\"ISO-8859-1\"");
        assert_eq!(media.unwrap().charset.as_deref(), Some("ISO-8859-1"));
        assert_eq!(
            content_type_for(ContentKind::Hl7v2, Some("UTF-8")),
            "x-application/hl7-v2+er7; charset=UTF-8"
        );
        assert_eq!(
            content_type_for(ContentKind::Binary, Some("UTF-8")),
            "application/octet-stream"
        );
    }
}
