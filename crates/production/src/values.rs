//! Setting value types for adapters' settings structs, and the duration syntax.
//!
//! Each type deserializes from the production file, keeps the [`Location`] of its node
//! so that an adapter can point at it in its own checks, and refuses a bad value with a
//! message that says what was expected. A refusal carries its hint to the loader through
//! [`crate::yaml_error::HINT_SEPARATOR`]; read through another deserializer it still reads
//! as one sentence.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Location;
use crate::yaml_error::HINT_SEPARATOR;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Its position in the production file.
    pub at: Location,
}

impl<T> Setting<T> {
    /// The value, without its position.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Setting<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Setting<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        Ok(Setting {
            value: spanned.value,
            at: spanned.referenced.into(),
        })
    }
}

/// A duration written as a number and a unit: `500ms`, `5s`, `1m`, `2h`, `7d`, or several
/// from largest to smallest such as `1m30s`. A bare number is refused: nobody should have
/// to guess whether `30` meant seconds or milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSetting {
    /// The duration.
    pub value: Duration,
    /// Its position in the production file.
    pub at: Location,
}

impl DurationSetting {
    /// The duration.
    pub fn duration(&self) -> Duration {
        self.value
    }
}

impl<'de> Deserialize<'de> for DurationSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::<String>::deserialize(deserializer)?;
        let value = parse_duration(&text.value).map_err(de::Error::custom)?;
        Ok(DurationSetting {
            value,
            at: text.referenced.into(),
        })
    }
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    written: String,
    reason: String,
    hint: Option<String>,
}

impl DurationError {
    /// The message without its hint.
    pub(crate) fn message(&self) -> String {
        format!("bad duration '{}': {}", self.written, self.reason)
    }

    /// How to fix it, when that is clear.
    pub(crate) fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())?;
        if let Some(hint) = &self.hint {
            write!(f, "{HINT_SEPARATOR}{hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DurationError {}

const DURATION_EXPECTED: &str = "expected a number and a unit, e.g. 500ms, 5s, 1m, 2h, 7d";

/// Units from largest to smallest, in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses `1h30m`-style durations.
///
/// # Errors
///
/// A [`DurationError`] saying what was expected, e.g. `bad duration '5 sec': expected a
/// number and a unit, e.g. 500ms, 5s, 1m, 2h, 7d`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let refuse = |reason: &str, hint: Option<String>| DurationError {
        written: text.to_owned(),
        reason: reason.to_owned(),
        hint,
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let hint = format!("add a unit: {text}s for seconds, {text}ms for milliseconds");
        return Err(refuse(DURATION_EXPECTED, Some(hint)));
    }
    if text.is_empty() {
        return Err(refuse(DURATION_EXPECTED, None));
    }

    let mut rest = text;
    let mut total: u64 = 0;
    let mut previous: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let letters = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let (number, unit) = (&rest[..digits], &rest[digits..digits + letters]);
        let rank = UNITS.iter().position(|(name, _)| *name == unit);
        let Some(rank) = rank.filter(|_| digits > 0) else {
            return Err(refuse(DURATION_EXPECTED, None));
        };
        if previous.is_some_and(|previous| rank <= previous) {
            let reason = "units must go from largest to smallest, each once, e.g. 1h30m";
            return Err(refuse(reason, None));
        }
        previous = Some(rank);

        let part = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(UNITS[rank].1))
            .and_then(|ms| total.checked_add(ms));
        total = part.ok_or_else(|| refuse("too long", None))?;
        rest = &rest[digits + letters..];
    }
    Ok(Duration::from_millis(total))
}

/// File permissions, written as a quoted octal string such as `'0640'`.
///
/// Quoting is required because an unquoted `0640` is ambiguous: YAML 1.1 reads it as the
/// octal number 416, YAML 1.2 as the decimal number 640, and neither is what `ls -l`
/// shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode {
    /// The permission bits, e.g. `0o640`.
    pub mode: u32,
    /// Its position in the production file.
    pub at: Location,
}

impl FileMode {
    /// The permission bits, e.g. `0o640`.
    pub fn bits(&self) -> u32 {
        self.mode
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::<ModeText>::deserialize(deserializer)?;
        let mode = parse_mode(&text.value.0).map_err(de::Error::custom)?;
        Ok(FileMode {
            mode,
            at: text.referenced.into(),
        })
    }
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let octal =
        (3..=4).contains(&digits.len()) && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if !octal {
        return Err(format!(
            "bad file mode '{text}': expected 3 or 4 octal digits (0-7){HINT_SEPARATOR}\
             e.g. '0640' for rw-r-----"
        ));
    }
    u32::from_str_radix(digits, 8).map_err(|error| error.to_string())
}

/// The text of a file mode; refuses unquoted numbers.
struct ModeText(String);

impl<'de> Deserialize<'de> for ModeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ModeVisitor)
    }
}

struct ModeVisitor;

const MODE_UNQUOTED: &str = "a file mode must be a quoted octal string, e.g. '0640'\
    \n  hint: write mode: '0640'; unquoted, YAML 1.1 reads 0640 as octal 416 and YAML 1.2 \
    as decimal 640";

impl<'de> Visitor<'de> for ModeVisitor {
    type Value = ModeText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quoted octal file mode such as '0640'")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ModeText, E> {
        Ok(ModeText(value.to_owned()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<ModeText, E> {
        Err(E::custom(MODE_UNQUOTED))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<ModeText, E> {
        Err(E::custom(MODE_UNQUOTED))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<ModeText, E> {
        Err(E::custom(MODE_UNQUOTED))
    }
}

/// A network address, `host:port` or `IP:PORT` (`[::1]:2575` for IPv6), kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSetting {
    /// The address as written, e.g. `127.0.0.1:2575` or `lab.example.org:443`.
    pub text: String,
    /// The host part, without brackets for IPv6.
    pub host: String,
    /// The port, 0 to 65535 (0 asks the system for a free port when listening).
    pub port: u16,
    /// Its position in the production file.
    pub at: Location,
}

impl<'de> Deserialize<'de> for AddressSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::<String>::deserialize(deserializer)?;
        let (host, port) = parse_address(&text.value).map_err(de::Error::custom)?;
        Ok(AddressSetting {
            text: text.value,
            host,
            port,
            at: text.referenced.into(),
        })
    }
}

const ADDRESS_EXAMPLE: &str = "e.g. 127.0.0.1:2575, lab.example.org:443 or '[::1]:2575'";

fn parse_address(text: &str) -> Result<(String, u16), String> {
    let bad =
        |reason: &str| format!("bad address '{text}': {reason}{HINT_SEPARATOR}{ADDRESS_EXAMPLE}");
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(bad("missing the port (host:port)"));
    };
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let Some(port) = port.parse::<u16>().ok().filter(|_| digits) else {
        return Err(bad("the port must be a number from 0 to 65535"));
    };
    let host =
        host_part(host).ok_or_else(|| bad("the host is not an IP address or a host name"))?;
    Ok((host, port))
}

/// The host of an address, if it is an IPv4 address, a bracketed IPv6 address or a DNS
/// host name.
fn host_part(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|_| inner.to_owned());
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() || is_host_name(host) {
        return Some(host.to_owned());
    }
    None
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 characters.
fn is_host_name(host: &str) -> bool {
    let all_numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    !host.is_empty()
        && host.len() <= 253
        && !all_numeric
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Text that must not be empty or only blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmptyString {
    /// The text as written.
    pub value: String,
    /// Its position in the production file.
    pub at: Location,
}

impl Deref for NonEmptyString {
    type Target = str;

    fn deref(&self) -> &str {
        &self.value
    }
}

impl<'de> Deserialize<'de> for NonEmptyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::<String>::deserialize(deserializer)?;
        if text.value.trim().is_empty() {
            return Err(de::Error::custom("expected text, found an empty value"));
        }
        Ok(NonEmptyString {
            value: text.value,
            at: text.referenced.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_combine_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn durations_say_what_was_expected() {
        assert_eq!(
            parse_duration("5 sec").unwrap_err().to_string(),
            "bad duration '5 sec': expected a number and a unit, e.g. 500ms, 5s, 1m, 2h, 7d"
        );
        let bare = parse_duration("30").unwrap_err().to_string();
        assert!(bare.ends_with("hint: add a unit: 30s for seconds, 30ms for milliseconds"));
        for bad in [
            "",
            "s",
            "1x",
            "-1s",
            "1.5s",
            "30s1m",
            "1s1s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_modes_are_octal_text() {
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert_eq!(parse_mode("755"), Ok(0o755));
        assert_eq!(parse_mode("0o600"), Ok(0o600));
        assert!(parse_mode("0980").is_err());
        assert!(parse_mode("06400").is_err());
    }

    #[test]
    fn addresses_need_a_host_and_a_port() {
        assert_eq!(
            parse_address("127.0.0.1:2575"),
            Ok(("127.0.0.1".to_owned(), 2575))
        );
        assert_eq!(
            parse_address("lab.example.org:0"),
            Ok(("lab.example.org".to_owned(), 0))
        );
        assert_eq!(parse_address("[::1]:443"), Ok(("::1".to_owned(), 443)));
        for bad in [
            "localhost",
            "host:",
            "host:65536",
            "bad host:1",
            ":80",
            "1.2.3:80",
            "h:+1",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
