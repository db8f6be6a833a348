//! Character sets: from MSH-18 (HL7 table 0211) to an encoding, and decoding a message.
//!
//! HL7 names character sets its own way (`8859/1`, `UNICODE UTF-8`, `ISO IR87`); encoding_rs
//! knows the WHATWG labels (`iso-8859-1`, `utf-8`). [`encoding_for_msh18`] maps the former
//! and accepts the latter. A message is decoded once, whole, after framing: delimiters and
//! terminators are ASCII and never occur inside a multi-byte sequence of the supported
//! encodings, so splitting on bytes first is safe (field case B19).
//!
//! Choices a reader should know:
//! - encoding_rs follows WHATWG, which decodes ISO-8859-1 as windows-1252: the bytes
//!   0x80-0x9F become the windows-1252 characters (`€`, `‚`, ...) instead of C1 controls. HL7
//!   text has no C1 controls, so nothing real is lost, and every byte still decodes.
//!   `8859/9` likewise decodes as windows-1254.
//! - `ASCII` and `ISO IR6` decode as UTF-8: ASCII is a subset of UTF-8, so a message that
//!   keeps its declaration decodes the same, and one that does not (bytes above 0x7F) is
//!   either read as the UTF-8 it most likely is or reported through
//!   [`Decoded::had_errors`], never silently turned into other letters.
//! - `UNICODE` (deprecated in HL7, with no byte form stated) is read as UTF-8, the only
//!   Unicode form whose delimiters are single ASCII bytes.
//! - `UNICODE UTF-16`, `UNICODE UTF-32` and encoding_rs's UTF-16 labels are refused: their
//!   delimiters are not single bytes, so framing and the MSH pre-scan cannot work on them.
//!   `CNS 11643-1992` has no encoding in encoding_rs and is refused too.
//! - Japanese: `ISO IR87` (JIS X 0208) and `ISO IR159` (JIS X 0212) are ISO 2022 graphic
//!   sets, switched in by escape sequences, so they decode as ISO-2022-JP (encoding_rs does
//!   not decode JIS X 0212 in ISO-2022-JP; such characters are reported as errors).
//!   `ISO IR13` and `ISO IR14` (JIS X 0201, half-width katakana and Roman) are single-byte
//!   sets sent as 8-bit bytes, which Shift_JIS decodes.
//! - MSH-18 may repeat (`~ISO IR87`: the first repetition is the default character set, the
//!   others are code extensions). The first non-empty repetition decides.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// Table 0211 names, upper case, and the encoding each decodes with.
static TABLE_0211: &[(&str, &Encoding)] = &[
    ("ASCII", encoding_rs::UTF_8),
    ("ISO IR6", encoding_rs::UTF_8),
    ("8859/1", encoding_rs::WINDOWS_1252),
    ("ISO IR100", encoding_rs::WINDOWS_1252),
    ("8859/2", encoding_rs::ISO_8859_2),
    ("8859/3", encoding_rs::ISO_8859_3),
    ("8859/4", encoding_rs::ISO_8859_4),
    ("8859/5", encoding_rs::ISO_8859_5),
    ("8859/6", encoding_rs::ISO_8859_6),
    ("8859/7", encoding_rs::ISO_8859_7),
    ("8859/8", encoding_rs::ISO_8859_8),
    ("8859/9", encoding_rs::WINDOWS_1254),
    ("8859/10", encoding_rs::ISO_8859_10),
    ("8859/13", encoding_rs::ISO_8859_13),
    ("8859/14", encoding_rs::ISO_8859_14),
    ("8859/15", encoding_rs::ISO_8859_15),
    ("UNICODE", encoding_rs::UTF_8),
    ("UNICODE UTF-8", encoding_rs::UTF_8),
    ("ISO IR192", encoding_rs::UTF_8),
    ("BIG-5", encoding_rs::BIG5),
    ("GB 18030", encoding_rs::GB18030),
    ("KS X 1001", encoding_rs::EUC_KR),
    ("ISO IR87", encoding_rs::ISO_2022_JP),
    ("ISO IR159", encoding_rs::ISO_2022_JP),
    ("ISO IR13", encoding_rs::SHIFT_JIS),
    ("ISO IR14", encoding_rs::SHIFT_JIS),
];

/// Table 0211 names Ferry knows but cannot decode, with the reason.
static REFUSED: &[&str] = &["UNICODE UTF-16", "UNICODE UTF-32", "CNS 11643-1992"];

/// The encoding for an MSH-18 value: a table 0211 name or an encoding_rs label, compared
/// without regard to case or surrounding spaces. `None` when it is unknown or refused (see
/// the module docs).
pub fn encoding_for_msh18(name: &str) -> Option<&'static Encoding> {
    let name = name.trim().to_ascii_uppercase();
    if REFUSED.contains(&name.as_str()) {
        return None;
    }
    if let Some((_, encoding)) = TABLE_0211.iter().find(|(hl7, _)| *hl7 == name) {
        return Some(encoding);
    }

    let encoding = Encoding::for_label_no_replacement(name.as_bytes())?;
    let multi_byte_delimiters =
        encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE;
    (!multi_byte_delimiters).then_some(encoding)
}

/// A message decoded to text, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The text; borrowed from the bytes when they were valid UTF-8 read as UTF-8.
    pub text: Cow<'a, str>,
    /// The encoding used.
    pub encoding: &'static Encoding,
    /// Whether some bytes were not valid in that encoding and became U+FFFD.
    pub had_errors: bool,
    /// MSH-18 as sent, when it named no encoding Ferry can use (the default was used).
    pub unknown_charset: Option<String>,
}

/// Decodes a whole message: with the encoding MSH-18 names, else with `default` (the
/// inbound's agreed character set).
///
/// `msh18` is MSH-18 as sent (raw, all repetitions, `~`-separated); `None` or empty means
/// "not stated". A byte order mark of the chosen encoding at the start is removed, so text
/// offsets are then three bytes smaller than byte offsets. Never fails: invalid bytes
/// become U+FFFD and set [`Decoded::had_errors`], and the caller decides whether that is
/// an error (field case B19 d).
pub fn decode<'a>(bytes: &'a [u8], msh18: Option<&str>, default: &'static Encoding) -> Decoded<'a> {
    let declared = msh18.and_then(first_charset);
    let (encoding, unknown_charset) = match declared {
        None => (default, None),
        Some(name) => match encoding_for_msh18(name) {
            Some(encoding) => (encoding, None),
            None => (default, Some(name.to_owned())),
        },
    };

    let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
    Decoded {
        text,
        encoding,
        had_errors,
        unknown_charset,
    }
}

/// The first non-empty repetition of MSH-18.
fn first_charset(msh18: &str) -> Option<&str> {
    msh18
        .split('~')
        .map(str::trim)
        .find(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_table_0211_names() {
        let cases = [
            ("8859/1", "windows-1252"),
            (" 8859/1 ", "windows-1252"),
            ("iso ir100", "windows-1252"),
            ("8859/2", "ISO-8859-2"),
            ("8859/9", "windows-1254"),
            ("8859/15", "ISO-8859-15"),
            ("ASCII", "UTF-8"),
            ("UNICODE", "UTF-8"),
            ("unicode utf-8", "UTF-8"),
            ("ISO IR192", "UTF-8"),
            ("BIG-5", "Big5"),
            ("GB 18030", "gb18030"),
            ("KS X 1001", "EUC-KR"),
            ("ISO IR87", "ISO-2022-JP"),
            ("ISO IR159", "ISO-2022-JP"),
            ("ISO IR13", "Shift_JIS"),
            ("utf-8", "UTF-8"),
            ("latin1", "windows-1252"),
            ("ISO-8859-1", "windows-1252"),
        ];
        for (name, expected) in cases {
            let encoding = encoding_for_msh18(name).map(Encoding::name);
            assert_eq!(encoding, Some(expected), "{name}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_framed_or_is_unknown() {
        for name in [
            "UNICODE UTF-16",
            "UNICODE UTF-32",
            "utf-16",
            "utf-16be",
            "CNS 11643-1992",
            "iso-2022-kr",
            "KLINGON",
            "",
        ] {
            assert_eq!(encoding_for_msh18(name), None, "{name}");
        }
    }

    #[test]
    fn decodes_with_msh18_default_or_reports_unknown() {
        let latin1 = b"M\xDCLLER";
        let decoded = decode(latin1, Some("8859/1"), encoding_rs::UTF_8);
        assert_eq!(decoded.text, "MÜLLER");
        assert!(!decoded.had_errors);

        let decoded = decode(latin1, Some(""), encoding_rs::WINDOWS_1252);
        assert_eq!(decoded.text, "MÜLLER");
        assert_eq!(decoded.unknown_charset, None);

        let decoded = decode(latin1, None, encoding_rs::UTF_8);
        assert!(decoded.had_errors);
        assert_eq!(decoded.text, "M\u{FFFD}LLER");

        let decoded = decode(latin1, Some("EBCDIC"), encoding_rs::WINDOWS_1252);
        assert_eq!(decoded.unknown_charset.as_deref(), Some("EBCDIC"));
        assert_eq!(decoded.encoding, encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn first_repetition_decides_and_utf8_is_borrowed() {
        let decoded = decode(
            "JÖRG".as_bytes(),
            Some("~UNICODE UTF-8~8859/1"),
            encoding_rs::WINDOWS_1252,
        );
        assert_eq!(decoded.encoding, encoding_rs::UTF_8);
        assert!(matches!(decoded.text, Cow::Borrowed("JÖRG")));
    }
}
