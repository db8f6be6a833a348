//! What a body is, from the AMQP `content_type` property or the service's setting.
//!
//! AMQP carries no HL7 framing, so the content type is the only word a sender has for what
//! its bytes are. The media-type table is the one every adapter shares
//! ([`ferry_adapter::MediaType`]); a setting may also name a kind (`hl7v2`, `json`). Whether
//! an XML or JSON body is well-formed is the engine's check at intake, as for every
//! adapter: a body cut short is stored with status Error and its reason (field case B38).

use ferry_adapter::MediaType;
use ferry_message::ContentKind;

/// The kind a MIME type (parameters allowed) or a kind name stands for; `None` when
/// neither.
pub(crate) fn kind_of(content_type: &str) -> Option<ContentKind> {
    ContentKind::from_name(content_type.trim())
        .or_else(|| MediaType::parse(content_type).and_then(|media| media.kind))
}

/// The `charset` parameter of a content type, if any.
pub(crate) fn charset_of(content_type: &str) -> Option<String> {
    MediaType::parse(content_type).and_then(|media| media.charset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_kind_names_name_kinds() {
        assert_eq!(
            kind_of("x-application/hl7-v2+er7"),
            Some(ContentKind::Hl7v2)
        );
        assert_eq!(kind_of("hl7v2"), Some(ContentKind::Hl7v2));
        assert_eq!(
            kind_of("application/json; charset=utf-8"),
            Some(ContentKind::Json)
        );
        assert_eq!(kind_of("image/png"), None);
        assert_eq!(
            charset_of("text/plain; charset=\"ISO-8859-1\"").as_deref(),
            Some("ISO-8859-1")
        );
    }
}
