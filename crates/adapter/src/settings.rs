//! Setting checks that several adapters share, so that one setting name means one thing
//! and reads one way in every adapter: problems, charsets (`charset`, `invalid_charset`),
//! `duplicates`, `max_connections`, durations and sizes with their bounds, one-of-a-few-
//! words settings, and the TLS files of a listening side. Each helper collects a problem
//! and returns a usable default, so one `ferry validate` run reports every problem.

use std::path::PathBuf;
use std::time::Duration;

use encoding_rs::Encoding;
use ferry_production::{DurationSetting, Location, Setting, SettingsReader, SizeSetting};

use crate::{CharsetChoice, DuplicatePolicy, InvalidText};

/// How many connections a listening service serves at once unless told otherwise; more
/// wait in the listen backlog.
const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Certificate files of a listening side, in PEM; read when the item starts.
#[derive(Debug, Clone)]
pub struct ServerTlsFiles {
    /// The certificate chain the service presents.
    pub certificate: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this authority.
    pub client_ca: Option<PathBuf>,
}

const CHARSET_HINT: &str =
    "an HL7 name such as 8859/1 or UNICODE UTF-8, or a label such as ISO-8859-1";

/// Checks that the environment variable a setting names for a secret is set and not empty,
/// so `ferry validate` and `ferry run` refuse a production whose secret is missing at
/// load, at the setting's place, instead of an item failing later. The value itself is
/// read only when the item starts.
pub fn require_secret_variable(
    reader: &mut SettingsReader<'_>,
    at: Location,
    variable: &str,
    holds: &str,
) -> bool {
    let set = std::env::var_os(variable).is_some_and(|value| !value.is_empty());
    if !set {
        let message = format!("the environment variable {variable} ({holds}) is not set");
        let hint = "secrets are never written in the production: set the variable";
        setting_problem(reader, at, message, Some(hint));
    }
    set
}

/// Collects a problem an adapter found in its settings at `at`, with an optional hint.
pub fn setting_problem(
    reader: &mut SettingsReader<'_>,
    at: Location,
    message: impl Into<String>,
    hint: Option<&str>,
) {
    let mut diagnostic = reader.item().diagnostic(at, message);
    diagnostic.hint = hint.map(str::to_owned);
    reader.push(diagnostic);
}

/// The charset choice of the `charset` and `force_charset` settings: the charset of
/// messages that declare none (UTF-8 when unset), or of every message when forced.
pub fn charset_choice(
    reader: &mut SettingsReader<'_>,
    setting: Option<&Setting<String>>,
    force: bool,
) -> CharsetChoice {
    let encoding = match setting {
        None => encoding_rs::UTF_8,
        Some(setting) => find_encoding(&setting.value).unwrap_or_else(|| {
            let message = format!("unknown charset '{}'", setting.value);
            setting_problem(reader, setting.at, message, Some(CHARSET_HINT));
            encoding_rs::UTF_8
        }),
    };
    if force {
        CharsetChoice::Forced(encoding)
    } else {
        CharsetChoice::Declared { default: encoding }
    }
}

/// An HL7 table 0211 name or a WHATWG label.
fn find_encoding(name: &str) -> Option<&'static Encoding> {
    ferry_hl7::encoding_for_msh18(name).or_else(|| Encoding::for_label(name.trim().as_bytes()))
}

/// A duration setting, or `default` when it is not written.
pub fn duration_or(setting: Option<&DurationSetting>, default: Duration) -> Duration {
    setting.map_or(default, DurationSetting::duration)
}

/// A duration that must be above zero (a timeout of 0 would fail every attempt at once);
/// a zero is a problem and gives `default`.
pub fn positive_duration(
    reader: &mut SettingsReader<'_>,
    setting: Option<DurationSetting>,
    default: Duration,
) -> Duration {
    match setting {
        None => default,
        Some(setting) if setting.value.is_zero() => {
            setting_problem(reader, setting.at, "the duration must be above 0", None);
            default
        }
        Some(setting) => setting.value,
    }
}

/// A size limit that must be above zero (a limit of 0 would refuse everything); a zero is
/// a problem, "`what` must be above 0", and gives `default`.
pub fn positive_size(
    reader: &mut SettingsReader<'_>,
    setting: Option<SizeSetting>,
    default: usize,
    what: &str,
) -> usize {
    match setting {
        None => default,
        Some(size) if size.bytes == 0 => {
            setting_problem(reader, size.at, format!("{what} must be above 0"), None);
            default
        }
        Some(size) => size.bytes_usize(),
    }
}

/// The `max_connections` of a listening service: how many connections it serves at once
/// (default 256); 0 would serve none, so it is a problem.
pub fn connection_limit(reader: &mut SettingsReader<'_>, setting: Option<&Setting<u32>>) -> usize {
    match setting {
        None => DEFAULT_MAX_CONNECTIONS,
        Some(count) if count.value == 0 => {
            setting_problem(reader, count.at, "max_connections must be above 0", None);
            DEFAULT_MAX_CONNECTIONS
        }
        Some(count) => usize::try_from(count.value).unwrap_or(usize::MAX),
    }
}

/// The `invalid_charset` setting: reject (default) or replace.
pub fn invalid_text(
    reader: &mut SettingsReader<'_>,
    setting: Option<&Setting<String>>,
) -> InvalidText {
    let choices = [
        ("reject", InvalidText::Reject),
        ("replace", InvalidText::Replace),
    ];
    choice(reader, setting, "invalid_charset", &choices).unwrap_or(InvalidText::Reject)
}

/// The `duplicates` setting: flag (default), discard or off.
pub fn duplicate_policy(
    reader: &mut SettingsReader<'_>,
    setting: Option<&Setting<String>>,
) -> DuplicatePolicy {
    let choices = [
        ("flag", DuplicatePolicy::Flag),
        ("discard", DuplicatePolicy::Discard),
        ("off", DuplicatePolicy::Off),
    ];
    choice(reader, setting, "duplicates", &choices).unwrap_or(DuplicatePolicy::Flag)
}

/// The value of a setting written as one of a few words; `None` when it is not written,
/// or when the word is unknown, which is a problem "unknown `name` '…'" with the words as
/// the hint ("a, b or c").
pub fn choice<T: Copy>(
    reader: &mut SettingsReader<'_>,
    setting: Option<&Setting<String>>,
    name: &str,
    choices: &[(&str, T)],
) -> Option<T> {
    let setting = setting?;
    if let Some((_, value)) = choices.iter().find(|(word, _)| *word == setting.value) {
        return Some(*value);
    }
    let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
    let message = format!("unknown {name} '{}'", setting.value);
    setting_problem(reader, setting.at, message, Some(&or_list(&words)));
    None
}

/// `a`, `a or b`, `a, b or c`: the words of a hint, as a person would list them.
fn or_list(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

/// `tls.certificate` and `tls.key` of a side that may present its own certificate: both
/// or neither, since one without the other cannot make an identity.
pub fn tls_identity(
    reader: &mut SettingsReader<'_>,
    at: Location,
    certificate: Option<String>,
    key: Option<String>,
) -> Option<(PathBuf, PathBuf)> {
    match (certificate, key) {
        (Some(certificate), Some(key)) => Some((PathBuf::from(certificate), PathBuf::from(key))),
        (None, None) => None,
        _ => {
            let message = "`tls.certificate` and `tls.key` go together";
            setting_problem(reader, at, message, None);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_list_the_words_as_a_person_would() {
        assert_eq!(or_list(&["reject"]), "reject");
        assert_eq!(or_list(&["retry", "suspend"]), "retry or suspend");
        assert_eq!(or_list(&["flag", "discard", "off"]), "flag, discard or off");
    }
}
