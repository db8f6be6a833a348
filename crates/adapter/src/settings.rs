//! Setting checks that several adapters share: the charset choice and adapter problems.

use encoding_rs::Encoding;
use ferry_production::{Location, Setting, SettingsReader};

use crate::CharsetChoice;

const CHARSET_HINT: &str =
    "an HL7 name such as 8859/1 or UNICODE UTF-8, or a label such as ISO-8859-1";

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
