//! JSON pointers: the `json:/…` operands (RFC 6901).
//!
//! `json:/address/0/city` names the key `address`, then the array element 0, then the key
//! `city`; `~1` stands for `/` and `~0` for `~` inside a key (`json:/a~1b` is the key
//! `a/b`). What a pointer reads from a parsed body:
//!
//! | JSON | reads as |
//! | --- | --- |
//! | a string | its text (`""` is empty text) |
//! | a number | its decimal text, no exponent, so it compares numerically with a number |
//! | `true` / `false` | the text `true` / `false`, equal to the literals `true` / `false` |
//! | `null` | null (`is null`) |
//! | an object or an array | its compact JSON text, so `exists` holds for it |
//! | nothing there | missing |
//!
//! Invariant: a [`JsonPointer`] holds its reference tokens unescaped, parsed once when its
//! condition compiles; reading walks the parsed value and allocates only for numbers,
//! objects and arrays.

use std::borrow::Cow;
use std::fmt;

use ferry_hl7::FieldValue;
use serde_json::Value;

use crate::xml_path::PathSyntaxError;

/// A compiled JSON pointer such as `/name/0/family`.
///
/// `Display` writes it as RFC 6901 does, without the `json:` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPointer {
    tokens: Vec<String>,
}

impl JsonPointer {
    /// Parses the text after `json:`: empty (the whole document) or `/`-separated tokens.
    ///
    /// # Errors
    ///
    /// A [`PathSyntaxError`] for text that does not start with `/`, or a `~` that is not
    /// `~0` or `~1`.
    pub(crate) fn parse(text: &str) -> Result<JsonPointer, PathSyntaxError> {
        if !text.is_empty() && !text.starts_with('/') {
            return Err(PathSyntaxError {
                offset: 0,
                len: text.len(),
                reason: "a JSON pointer starts with /".to_owned(),
                hint: Some("write the keys from the top: json:/resourceType"),
            });
        }

        let mut tokens = Vec::new();
        let mut start = 1;
        while start <= text.len() {
            let end = text[start..]
                .find('/')
                .map_or(text.len(), |slash| start + slash);
            tokens.push(unescape(&text[start..end], start)?);
            start = end + 1;
        }
        Ok(JsonPointer { tokens })
    }

    /// The value this pointer names in `json`.
    pub fn read<'d>(&self, json: &'d Value) -> FieldValue<'d> {
        let mut value = json;
        for token in &self.tokens {
            let next = match value {
                Value::Object(map) => map.get(token.as_str()),
                Value::Array(items) => array_index(token).and_then(|index| items.get(index)),
                _ => None,
            };
            match next {
                Some(next) => value = next,
                None => return FieldValue::Missing,
            }
        }

        match value {
            Value::Null => FieldValue::Null,
            Value::String(text) => FieldValue::Text(Cow::Borrowed(text)),
            Value::Bool(true) => FieldValue::Text(Cow::Borrowed("true")),
            Value::Bool(false) => FieldValue::Text(Cow::Borrowed("false")),
            Value::Number(number) => FieldValue::Text(Cow::Owned(decimal(number))),
            Value::Object(_) | Value::Array(_) => FieldValue::Text(Cow::Owned(value.to_string())),
        }
    }
}

/// Resolves `~1` and `~0` (in that order, as RFC 6901 §4 asks, so `~01` is `~1`).
fn unescape(token: &str, start: usize) -> Result<String, PathSyntaxError> {
    let mut text = String::with_capacity(token.len());
    let mut chars = token.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '~' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '0')) => text.push('~'),
            Some((_, '1')) => text.push('/'),
            other => {
                let len = 1 + other.map_or(0, |(_, c)| c.len_utf8());
                return Err(PathSyntaxError {
                    offset: start + at,
                    len,
                    reason: format!("'{}' is not an escape", &token[at..at + len]),
                    hint: Some("in a JSON pointer write ~0 for ~ and ~1 for /"),
                });
            }
        }
    }
    Ok(text)
}

/// An array index as RFC 6901 writes it: `0`, or digits without a leading zero. `-` (the
/// element after the last) names nothing that can be read.
fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

/// A number's exact decimal text: integers as written, other numbers by Rust's shortest
/// round-trip form, which never uses an exponent (serde_json's would, and the rule
/// language's numbers have none).
fn decimal(number: &serde_json::Number) -> String {
    if let Some(int) = number.as_i64() {
        return int.to_string();
    }
    if let Some(int) = number.as_u64() {
        return int.to_string();
    }
    number
        .as_f64()
        .map_or_else(|| number.to_string(), |float| float.to_string())
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            f.write_str("/")?;
            for c in token.chars() {
                match c {
                    '~' => f.write_str("~0")?,
                    '/' => f.write_str("~1")?,
                    c => write!(f, "{c}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(pointer: &str, json: &Value) -> FieldValue<'static> {
        JsonPointer::parse(pointer).unwrap().read(json).into_owned()
    }

    fn text(value: &str) -> FieldValue<'static> {
        FieldValue::Text(Cow::Owned(value.to_owned()))
    }

    #[test]
    fn reads_each_kind_of_value() {
        let json = json!({
            "name": "Ada", "n": 2, "big": 18446744073709551615u64, "neg": -1.5,
            "tiny": 1e-7, "ok": true, "gone": null, "list": [1, {"a": "b"}], "empty": "",
        });
        assert_eq!(read("/name", &json), text("Ada"));
        assert_eq!(read("/n", &json), text("2"));
        assert_eq!(read("/big", &json), text("18446744073709551615"));
        assert_eq!(read("/neg", &json), text("-1.5"));
        assert_eq!(read("/tiny", &json), text("0.0000001"));
        assert_eq!(read("/ok", &json), text("true"));
        assert_eq!(read("/gone", &json), FieldValue::Null);
        assert_eq!(read("/list", &json), text(r#"[1,{"a":"b"}]"#));
        assert_eq!(read("/list/1/a", &json), text("b"));
        assert_eq!(read("/empty", &json), text(""));
        assert_eq!(read("/missing", &json), FieldValue::Missing);
        assert_eq!(read("/name/0", &json), FieldValue::Missing);
    }

    #[test]
    fn array_indexes_follow_rfc_6901() {
        let json = json!({"a": ["x", "y"]});
        assert_eq!(read("/a/1", &json), text("y"));
        for pointer in ["/a/01", "/a/-", "/a/2", "/a/+1", "/a/", "/a/1.0"] {
            assert_eq!(read(pointer, &json), FieldValue::Missing, "{pointer}");
        }
    }

    #[test]
    fn escapes_name_keys_with_slashes_and_tildes() {
        let json = json!({"a/b": 1, "m~n": 2, "~1": 3, "": 4, "@odata.etag": "W/\"9\""});
        assert_eq!(read("/a~1b", &json), text("1"));
        assert_eq!(read("/m~0n", &json), text("2"));
        assert_eq!(read("/~01", &json), text("3"));
        assert_eq!(read("/", &json), text("4"));
        assert_eq!(read("/@odata.etag", &json), text("W/\"9\""));
        assert_eq!(read("", &json!("whole")), text("whole"));
        let pointer = JsonPointer::parse("/a~1b/~01/x").unwrap();
        assert_eq!(pointer.to_string(), "/a~1b/~01/x");
    }

    #[test]
    fn syntax_errors_point_at_the_mistake() {
        let error = JsonPointer::parse("a/b").unwrap_err();
        assert_eq!((error.offset, error.len), (0, 3));
        let error = JsonPointer::parse("/ab/c~2").unwrap_err();
        assert_eq!(
            (error.offset, error.len, error.reason.as_str()),
            (5, 2, "'~2' is not an escape")
        );
        let error = JsonPointer::parse("/a~").unwrap_err();
        assert_eq!((error.offset, error.len), (2, 1));
        let error = JsonPointer::parse("/~é").unwrap_err();
        assert_eq!((error.offset, error.len), (1, 3));
    }
}
