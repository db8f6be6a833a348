//! Sizes in settings: `64MiB`, `512KB`, `1GiB`, or a plain number of bytes.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Location;
use crate::yaml_error::HINT_SEPARATOR;

/// A size in bytes, written as a number with an optional unit: `B`, `KB`, `MB`, `GB`
/// (powers of 1000) or `KiB`, `MiB`, `GiB` (powers of 1024), with or without a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeSetting {
    /// The size in bytes.
    pub bytes: u64,
    /// Its position in the production file.
    pub at: Location,
}

impl SizeSetting {
    /// The size in bytes, capped at what this machine can address.
    pub fn bytes_usize(&self) -> usize {
        usize::try_from(self.bytes).unwrap_or(usize::MAX)
    }
}

const SIZE_EXPECTED: &str = "e.g. 64MiB, 512KB or 1048576 (bytes)";

const SIZE_UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Parses a size such as `64MiB`.
///
/// # Errors
///
/// A message saying what was expected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let unit = trimmed[digits..].trim_start();
    let multiplier = if unit.is_empty() {
        Some(1)
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, multiplier)| *multiplier)
    };
    let bytes = trimmed[..digits]
        .parse::<u64>()
        .ok()
        .zip(multiplier)
        .and_then(|(number, multiplier)| number.checked_mul(multiplier));
    bytes.ok_or_else(|| format!("bad size '{text}'{HINT_SEPARATOR}{SIZE_EXPECTED}"))
}

/// A size as YAML may write it: a number or a string.
struct SizeText(String);

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = SizeText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SIZE_EXPECTED)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<SizeText, E> {
        Ok(SizeText(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<SizeText, E> {
        Ok(SizeText(value.to_string()))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<SizeText, E> {
        Ok(SizeText(value.to_owned()))
    }
}

impl<'de> Deserialize<'de> for SizeSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::<SizeText>::deserialize(deserializer)?;
        let bytes = parse_size(&text.value.0).map_err(de::Error::custom)?;
        Ok(SizeSetting {
            bytes,
            at: text.referenced.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512KB"), Ok(512_000));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for bad in ["", "MiB", "-1", "1.5MiB", "10 parsecs", "99999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
