//! serde-saphyr errors in a production author's words.
//!
//! Owns the translation of every [`serde_saphyr::Error`] into a [`Diagnostic`] at the
//! offending node of the original file: `yes` for a boolean suggests `true`, a number
//! written with a leading zero is explained as ambiguous, an unknown key gets a "did you
//! mean", a message from one of Ferry's setting types keeps its hint, and a breached safety
//! limit is named in words. serde-saphyr's own snippet (which names `<input>`) is never
//! shown.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, Error, MessageFormatter, UserMessageFormatter};

use crate::diagnostic::{Diagnostic, Location, Source};
use crate::suggest;

/// Separates a message from its hint inside a custom serde error; the setting types in
/// [`crate::values`] use it so that their hints survive the trip through serde.
pub(crate) const HINT_SEPARATOR: &str = "\n  hint: ";

/// True for errors about `${…}` references, which [`crate::interpolation`] has already
/// reported at their exact position.
pub(crate) fn is_interpolation(error: &Error) -> bool {
    matches!(
        original(error),
        Error::UnresolvedProperty { .. }
            | Error::InvalidPropertyName { .. }
            | Error::PropertyRequiredButUnset { .. }
            | Error::PropertyRequiredButEmpty { .. }
    )
}

/// The diagnostic for a serde-saphyr error in `source`.
pub(crate) fn describe(error: &Error, source: &Source) -> Diagnostic {
    let error = original(error);
    let at = error.location().map_or(Location::START, Location::from);
    let written = error
        .location()
        .and_then(|location| written_at(source, location))
        .unwrap_or_default();
    let (message, hint) = explain(error, &written);

    let diagnostic = Diagnostic::new(&source.name, at, message);
    match hint {
        Some(hint) => diagnostic.with_hint(hint),
        None => diagnostic,
    }
}

/// The error itself, without the wrappers that only add snippets or alias positions.
fn original(error: &Error) -> &Error {
    match error.without_snippet() {
        Error::AliasError { error, .. } => original(error),
        other => other,
    }
}

fn explain(error: &Error, written: &str) -> (String, Option<String>) {
    match error {
        Error::InvalidBooleanStrict { .. } => boolean(written),
        Error::InvalidScalar { ty, .. } => scalar(ty, written),
        Error::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(field, expected),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown_value(variant, expected),
        Error::SerdeMissingField { field, .. } => (format!("missing key `{field}`"), None),
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (format!("expected {expected}, found {unexpected}"), None),
        Error::NullIntoString { .. } => (
            "expected text, found nothing".to_owned(),
            Some("write '' for an empty text".to_owned()),
        ),
        Error::Unexpected { expected, .. } => (unexpected(expected), None),
        Error::Message { msg, .. } => custom(msg),
        Error::InvalidPropertyName { name, .. } => (
            format!("bad variable reference `{name}`"),
            Some("write ${NAME} or ${NAME:-default}".to_owned()),
        ),
        Error::UnresolvedProperty { name, .. } => {
            (format!("environment variable `{name}` is not set"), None)
        }
        Error::Budget { breach, .. } => too_large(breach),
        other => (
            UserMessageFormatter.format_message(other).into_owned(),
            None,
        ),
    }
}

/// YAML 1.2 booleans are `true` and `false`; YAML 1.1's `yes`, `on`, … are refused.
fn boolean(written: &str) -> (String, Option<String>) {
    let message = format!("expected true or false, found `{written}`");
    let spelled = written.to_ascii_lowercase();
    let hint = match spelled.as_str() {
        "yes" | "y" | "on" => "write true: YAML 1.2 booleans are only true and false",
        "no" | "n" | "off" => "write false: YAML 1.2 booleans are only true and false",
        _ => "a boolean is written true or false",
    };
    (message, Some(hint.to_owned()))
}

/// A scalar that does not parse as the wanted type.
fn scalar(ty: &str, written: &str) -> (String, Option<String>) {
    if let Some(range) = integer_range(ty) {
        if let Some(explained) = leading_zero(written) {
            return explained;
        }
        return (format!("expected {range}, found `{written}`"), None);
    }
    let wanted = match ty {
        "f32" | "f64" | "floating point" => "a number",
        "boolean" => "true or false",
        "char" => "a single character",
        other => other,
    };
    (format!("expected {wanted}, found `{written}`"), None)
}

fn integer_range(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        _ => return None,
    })
}

/// `0640` is octal to YAML 1.1 and decimal to YAML 1.2: refuse to guess.
fn leading_zero(written: &str) -> Option<(String, Option<String>)> {
    let unsigned = written.trim_start_matches(['+', '-']);
    let ambiguous = unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.bytes().all(|b| b.is_ascii_digit());
    if !ambiguous {
        return None;
    }

    let decimal = unsigned.trim_start_matches('0');
    let decimal = if decimal.is_empty() { "0" } else { decimal };
    let octal = u128::from_str_radix(unsigned, 8).ok();
    let message = match octal {
        Some(octal) => format!(
            "ambiguous number `{written}`: YAML 1.1 reads a leading zero as octal ({octal}), \
             YAML 1.2 as decimal ({decimal})"
        ),
        None => format!("ambiguous number `{written}`: a leading zero meant octal in YAML 1.1"),
    };
    let hint = match octal {
        Some(_) => format!(
            "write {decimal} for decimal, or 0o{} for octal",
            &unsigned[1..]
        ),
        None => format!("write {decimal}"),
    };
    Some((message, Some(hint)))
}

/// A safety limit of the YAML reader, in words. The outline already refuses a file with
/// too many nodes as written; what is left is mostly aliases that expand past the limits.
fn too_large(breach: &BudgetBreach) -> (String, Option<String>) {
    let limits = Budget::default();
    let what = match breach {
        BudgetBreach::Nodes { .. } => format!(
            "more than {} values (scalars, lists and mappings), counting each use of an alias",
            limits.max_nodes
        ),
        BudgetBreach::Events { .. } => format!("more than {} YAML events", limits.max_events),
        BudgetBreach::Aliases { .. } => format!("more than {} aliases", limits.max_aliases),
        BudgetBreach::Anchors { .. } => format!("more than {} anchors", limits.max_anchors),
        BudgetBreach::Depth { .. } => format!("nested more than {} levels", limits.max_depth),
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} MiB of text",
            limits.max_total_scalar_bytes / (1024 * 1024)
        ),
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
            "anchors that hold too much to be reused".to_owned()
        }
        _ => "beyond the YAML reader's safety limits".to_owned(),
    };
    let message = format!("the production file is too large or too complex: {what}");
    let hint = "the limits guard against runaway files and alias bombs; a production needs far \
                less";
    (message, Some(hint.to_owned()))
}

fn unknown_key(field: &str, expected: &[&str]) -> (String, Option<String>) {
    let message = format!("unknown key `{field}`");
    if field == "<<" {
        let hint = "merge keys (<<) are a YAML 1.1 feature and not supported; write the keys out";
        return (message, Some(hint.to_owned()));
    }
    (
        message,
        Some(suggest::hint(field, expected.iter().copied())),
    )
}

fn unknown_value(value: &str, expected: &[&str]) -> (String, Option<String>) {
    let message = format!("unknown value `{value}`");
    (
        message,
        Some(suggest::hint(value, expected.iter().copied())),
    )
}

fn unexpected(expected: &str) -> String {
    match expected {
        "string scalar" | "scalar" | "value" => "expected a single value, not a list or mapping",
        "sequence start" => "expected a list",
        "mapping start" => "expected a mapping",
        other => return format!("expected {other}"),
    }
    .to_owned()
}

/// A message from a custom `Deserialize` impl, with its hint split off.
fn custom(message: &str) -> (String, Option<String>) {
    match message.split_once(HINT_SEPARATOR) {
        Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
        None => (message.to_owned(), None),
    }
}

/// The scalar written at an error's position, as the author wrote it (at most 40
/// characters), to quote it back.
fn written_at(source: &Source, location: serde_saphyr::Location) -> Option<String> {
    // From line and column, not the span's byte offset: an item may have been read from a
    // shortened copy of the file (see `crate::document`) whose bytes are not the file's.
    let offset = Location::from(location).offset_in(&source.text)?;
    let rest = source.text.get(offset..)?;
    let line = rest.lines().next().unwrap_or_default();

    let token = match line.chars().next() {
        Some(quote @ ('\'' | '"')) => match line[1..].find(quote) {
            Some(end) => &line[..end + 2],
            None => line,
        },
        _ => plain_token(line),
    };
    Some(shorten(token))
}

/// A plain scalar ends at a flow indicator, a comment, or the end of the line.
fn plain_token(line: &str) -> &str {
    let mut end = line.len();
    for (index, c) in line.char_indices() {
        let comment = c == '#' && line[..index].ends_with([' ', '\t']);
        if matches!(c, ',' | ']' | '}') || comment {
            end = index;
            break;
        }
    }
    line[..end].trim_end()
}

fn shorten(token: &str) -> String {
    const LIMIT: usize = 40;
    if token.chars().count() <= LIMIT {
        return token.to_owned();
    }
    let mut short: String = token.chars().take(LIMIT).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_are_explained() {
        let (message, hint) = leading_zero("0640").unwrap();
        assert_eq!(
            message,
            "ambiguous number `0640`: YAML 1.1 reads a leading zero as octal (416), \
             YAML 1.2 as decimal (640)"
        );
        assert_eq!(hint.unwrap(), "write 640 for decimal, or 0o640 for octal");
        assert!(leading_zero("0").is_none());
        assert!(leading_zero("640").is_none());
        assert_eq!(leading_zero("09").unwrap().1.unwrap(), "write 9");
    }

    #[test]
    fn plain_tokens_end_where_yaml_ends_them() {
        assert_eq!(plain_token("yes   # comment"), "yes");
        assert_eq!(plain_token("on, X-Next: 1 }"), "on");
        assert_eq!(plain_token("a#b"), "a#b");
    }
}
