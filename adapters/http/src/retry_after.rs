//! `Retry-After` (RFC 9110 §10.2.3): how long a server asks a client to wait, as a number
//! of seconds or as an HTTP date.

use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::rfc2822::DateTimeParser;

/// The longest wait taken from a header: a server asking for more (or a date far ahead)
/// is capped here, and the engine's failure timeout still applies on top.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// The wait a `Retry-After` value asks for, measured from `now`; `None` when the value
/// is neither form. A date in the past asks for no wait.
pub(crate) fn parse(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(LONGEST));
    }
    static PARSER: DateTimeParser = DateTimeParser::new();
    let then = PARSER.parse_timestamp(value).ok()?;
    let wait = then.duration_since(now);
    let millis = u64::try_from(wait.as_millis()).unwrap_or(0);
    Some(Duration::from_millis(millis).min(LONGEST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates_are_read() {
        let now: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        assert_eq!(parse("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse("Fri, 04 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Fri, 04 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("99999999999999999999", now), Some(LONGEST));
        assert_eq!(parse("-5", now), None);
        assert_eq!(parse("soon", now), None);
    }

    proptest::proptest! {
        /// A far side's header is arbitrary text: reading it never panics, and a number of
        /// seconds reads as itself up to the cap.
        #[test]
        fn any_header_value_reads_without_panic(value in ".{0,64}", seconds in 0u64..1_000_000) {
            let now: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
            let _ = parse(&value, now);
            proptest::prop_assert_eq!(
                parse(&seconds.to_string(), now),
                Some(Duration::from_secs(seconds).min(LONGEST))
            );
        }
    }
}
