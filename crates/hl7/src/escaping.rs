//! Escape sequences: decoding a value once, encoding every delimiter (field case B13).
//!
//! Decoding is one left-to-right pass. Each sequence is replaced once and what it produced is
//! never scanned again, so `\E\T\E\` gives `\T\`, not `&` (HL7 v2 Ch.2 §2.7: sequences do not
//! nest). Sequences:
//! - `\F\ \S\ \T\ \R\ \E\` become the field, component, subcomponent, repetition and escape
//!   characters the message declares; `\P\` becomes its truncation character when it
//!   declares one;
//! - `\Xhh...\` (an even number of hex digits) becomes those bytes; adjacent hex sequences
//!   are joined first, so a UTF-8 character sent as `\XC3\\X9C\` survives, and bytes that are
//!   not UTF-8 become U+FFFD;
//! - formatting (`\.br\`, `\H\`, `\N\`, `\.sp\`, ...), character set switches (`\Cxxyy\`,
//!   `\Mxxyyzz\`), local sequences (`\Z..\`) and anything unknown are kept as written, and so
//!   is an escape character with no closing one (`PATH C:\TEMP`). [`Unescaped::kept_literally`]
//!   says when that happened, for a warning.
//!
//! Encoding writes every separator, the escape character, a declared truncation character,
//! CR and LF as sequences, so any text can be put back into one value: `unescape(escape(x))`
//! is `x` for every string.

use std::borrow::Cow;

use crate::scan::Delimiters;

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unescaped<'a> {
    /// The text with its escape sequences decoded.
    pub text: Cow<'a, str>,
    /// Whether an unknown, formatting or unterminated sequence was kept as written.
    pub kept_literally: bool,
}

/// Decodes the escape sequences in a raw value (see the module docs).
///
/// Borrows the value when it holds no escape character.
pub fn unescape<'a>(value: &'a str, delimiters: &Delimiters) -> Unescaped<'a> {
    let escape = delimiters.escape;
    if !value.as_bytes().contains(&escape) {
        return Unescaped {
            text: Cow::Borrowed(value),
            kept_literally: false,
        };
    }

    let mut decoder = Decoder {
        out: String::with_capacity(value.len()),
        hex: Vec::new(),
        kept_literally: false,
    };
    let mut rest = value;
    while let Some(start) = rest.bytes().position(|byte| byte == escape) {
        decoder.literal(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(length) = after.bytes().position(|byte| byte == escape) else {
            decoder.kept(&rest[start..]);
            rest = "";
            break;
        };
        decoder.sequence(
            &after[..length],
            &rest[start..start + length + 2],
            delimiters,
        );
        rest = &after[length + 1..];
    }
    decoder.literal(rest);

    Unescaped {
        text: Cow::Owned(decoder.finish()),
        kept_literally: decoder.kept_literally,
    }
}

/// The decoded text being built, with hex bytes waiting to be joined.
struct Decoder {
    out: String,
    hex: Vec<u8>,
    kept_literally: bool,
}

impl Decoder {
    fn literal(&mut self, text: &str) {
        if !text.is_empty() {
            self.flush_hex();
            self.out.push_str(text);
        }
    }

    fn kept(&mut self, text: &str) {
        self.literal(text);
        self.kept_literally = true;
    }

    fn character(&mut self, byte: u8) {
        self.flush_hex();
        self.out.push(char::from(byte));
    }

    /// One sequence: `code` is the text between the escape characters, `written` the whole
    /// sequence as sent.
    fn sequence(&mut self, code: &str, written: &str, delimiters: &Delimiters) {
        match code {
            "F" => self.character(delimiters.field),
            "S" => self.character(delimiters.component),
            "T" => self.character(delimiters.subcomponent),
            "R" => self.character(delimiters.repetition),
            "E" => self.character(delimiters.escape),
            "P" => match delimiters.truncation {
                Some(truncation) => self.character(truncation),
                None => self.kept(written),
            },
            _ => match hex_bytes(code) {
                Some(bytes) => self.hex.extend(bytes),
                None => self.kept(written),
            },
        }
    }

    fn flush_hex(&mut self) {
        if !self.hex.is_empty() {
            self.out.push_str(&String::from_utf8_lossy(&self.hex));
            self.hex.clear();
        }
    }

    fn finish(&mut self) -> String {
        self.flush_hex();
        std::mem::take(&mut self.out)
    }
}

/// The bytes of an `Xhh...` code: `X` and a non-zero, even number of hex digits.
fn hex_bytes(code: &str) -> Option<impl Iterator<Item = u8> + '_> {
    let digits = code.strip_prefix('X')?;
    let valid = !digits.is_empty()
        && digits.len() % 2 == 0
        && digits.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid {
        return None;
    }
    let pairs = digits.as_bytes().chunks_exact(2);
    Some(pairs.map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1])))
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'A').wrapping_add(10),
    }
}

/// Encodes a value so that it can be written into one field, component or subcomponent:
/// every delimiter and CR/LF becomes an escape sequence (see the module docs).
pub fn escape(value: &str, delimiters: &Delimiters) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let escape = char::from(delimiters.escape);
    for character in value.chars() {
        let Some(code) = escape_code(character, delimiters) else {
            out.push(character);
            continue;
        };
        out.push(escape);
        out.push_str(code);
        out.push(escape);
    }
    out
}

/// The code that stands for `character` inside escape characters, if it needs one.
fn escape_code(character: char, delimiters: &Delimiters) -> Option<&'static str> {
    let byte = u8::try_from(character).ok().filter(u8::is_ascii)?;
    let code = match byte {
        b'\r' => "X0D",
        b'\n' => "X0A",
        _ if byte == delimiters.escape => "E",
        _ if byte == delimiters.field => "F",
        _ if byte == delimiters.component => "S",
        _ if byte == delimiters.subcomponent => "T",
        _ if byte == delimiters.repetition => "R",
        _ if Some(byte) == delimiters.truncation => "P",
        _ => return None,
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(value: &str) -> String {
        unescape(value, &Delimiters::default()).text.into_owned()
    }

    #[test]
    fn decodes_each_sequence_once() {
        assert_eq!(decoded(r"A\E\T\E\B"), r"A\T\B");
        assert_eq!(decoded(r"C\X0D\\X0A\D"), "C\r\nD");
        assert_eq!(decoded(r"END\E\"), r"END\");
        assert_eq!(decoded(r"\E\R\E\"), r"\R\");
        assert_eq!(decoded(r"a\F\b\S\c\T\d\R\e"), "a|b^c&d~e");
    }

    #[test]
    fn keeps_unknown_and_unterminated_sequences() {
        let result = unescape(r"PATH C:\TEMP", &Delimiters::default());
        assert_eq!(result.text, r"PATH C:\TEMP");
        assert!(result.kept_literally);

        assert_eq!(decoded(r"a\.br\b\H\c\N\d"), r"a\.br\b\H\c\N\d");
        assert_eq!(decoded(r"\C2842\x\Zlocal\"), r"\C2842\x\Zlocal\");
        assert_eq!(decoded(r"\X0\\XZZ\\X\\\"), r"\X0\\XZZ\\X\\\");
        assert_eq!(decoded(r"\P\"), r"\P\");
        assert!(!unescape(r"a\T\b", &Delimiters::default()).kept_literally);
    }

    #[test]
    fn joins_adjacent_hex_and_is_byte_safe() {
        assert_eq!(decoded(r"M\XC3\\X9C\LLER"), "MÜLLER");
        assert_eq!(decoded(r"\X41a0\"), "A\u{FFFD}");
        assert_eq!(decoded(r"Grüße\T\Köhler"), "Grüße&Köhler");
        assert_eq!(decoded(r"üü\T\x"), "üü&x");
    }

    #[test]
    fn uses_the_message_delimiters() {
        let delimiters = Delimiters {
            field: b':',
            component: b';',
            escape: b'!',
            truncation: Some(b'#'),
            ..Delimiters::default()
        };
        let result = unescape("a!F!b!S!c!P!d!E!", &delimiters);
        assert_eq!(result.text, "a:b;c#d!");
        assert_eq!(escape("a:b;c#d!\\", &delimiters), "a!F!b!S!c!P!d!E!\\");
    }

    #[test]
    fn borrows_when_there_is_nothing_to_decode() {
        let result = unescape("PLAIN", &Delimiters::default());
        assert!(matches!(result.text, Cow::Borrowed("PLAIN")));
    }

    #[test]
    fn encodes_every_delimiter_and_line_break() {
        let delimiters = Delimiters::default();
        assert_eq!(escape(r"\\SRV\SHARE", &delimiters), r"\E\\E\SRV\E\SHARE");
        assert_eq!(escape("A|B^C&D~E", &delimiters), r"A\F\B\S\C\T\D\R\E");
        assert_eq!(
            escape("line1\rline2\n", &delimiters),
            r"line1\X0D\line2\X0A\"
        );
        assert_eq!(escape("APT #4 Ü", &delimiters), "APT #4 Ü");
    }
}
