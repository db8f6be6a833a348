//! The file adapter's settings, as a production writes them, and their checks.

use std::path::PathBuf;
use std::time::Duration;

use encoding_rs::Encoding;
use ferry_adapter::CharsetChoice;
use ferry_message::ContentKind;
use ferry_production::{Diagnostics, DurationSetting, FileMode, Item, Setting};
use serde::Deserialize;

use crate::template::Template;

/// `service: file` settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundSettings {
    /// The folder to poll.
    path: Setting<String>,
    /// Which file names to take (default `*`).
    glob: Option<Setting<String>>,
    /// How often to look (default 1s).
    poll_interval: Option<DurationSetting>,
    /// How long size and modification time must stay unchanged (default 1s).
    quiet_period: Option<DurationSetting>,
    /// Where taken files go.
    archive: Option<Setting<String>>,
    /// Delete taken files instead of archiving them.
    #[serde(default)]
    delete: bool,
    /// Where unreadable or unusable files go.
    error: Setting<String>,
    /// What the files hold (default hl7v2).
    content: Option<Setting<String>>,
    /// Split HL7 files holding several messages or batches (default true).
    split: Option<bool>,
    /// The charset of messages that declare none (default UTF-8).
    charset: Option<Setting<String>>,
    /// Use `charset` even when a message declares another (for senders that lie).
    #[serde(default)]
    force_charset: bool,
    /// Turn CRLF and LF segment terminators into CR (default true).
    normalise_terminators: Option<bool>,
    /// Accept a message with no CR at all by splitting its segments on LF (default true).
    lenient_terminators: Option<bool>,
}

/// The checked inbound configuration.
#[derive(Debug, Clone)]
pub(crate) struct InboundConfig {
    pub(crate) folder: PathBuf,
    pub(crate) glob: glob::Pattern,
    pub(crate) poll_interval: Duration,
    pub(crate) quiet_period: Duration,
    pub(crate) after: AfterTaking,
    pub(crate) error_folder: PathBuf,
    pub(crate) kind: ContentKind,
    pub(crate) split: bool,
    pub(crate) charset: CharsetChoice,
    pub(crate) normalise_terminators: bool,
    pub(crate) lenient_terminators: bool,
}

/// What happens to a file once its messages are durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterTaking {
    Archive(PathBuf),
    Delete,
}

/// `operation: file` settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundSettings {
    /// The folder to write to.
    path: Setting<String>,
    /// The file name template (default `{id}.hl7`).
    filename: Option<Setting<String>>,
    /// Replace a file that has the same name instead of adding a suffix.
    #[serde(default)]
    overwrite: bool,
    /// Permissions of written files, as a quoted octal string like '0640'.
    mode: Option<FileMode>,
    /// Create the folder when it is missing (default true).
    create_folder: Option<bool>,
    /// fsync each file and the folder before the message counts as delivered (default
    /// true).
    fsync: Option<bool>,
}

/// The file name when a production gives none: the message id is always unique.
const DEFAULT_FILENAME: &str = "{id}.hl7";

const TEMPLATE_HINT: &str = "placeholders are {id}, {session}, {source}, {doctype}, {date}, \
    {time}, {seq} and HL7 paths such as {MSH-10}; write {{ and }} for braces";

const CHARSET_HINT: &str =
    "an HL7 name such as 8859/1 or UNICODE UTF-8, or a label such as ISO-8859-1";

/// The checked outbound configuration.
#[derive(Debug, Clone)]
pub(crate) struct OutboundConfig {
    pub(crate) folder: PathBuf,
    pub(crate) filename: Template,
    pub(crate) overwrite: bool,
    pub(crate) mode: Option<u32>,
    pub(crate) create_folder: bool,
    pub(crate) fsync: bool,
}

/// Reads and checks a file service's settings.
pub(crate) fn inbound(item: &Item) -> Result<InboundConfig, Diagnostics> {
    let settings: InboundSettings = item.settings()?;
    let mut problems = Diagnostics::default();

    let folder = folder(item, &settings.path, "path", &mut problems);
    let error_folder = folder_setting(item, &settings.error, "error", &mut problems);
    let after = match (&settings.archive, settings.delete) {
        (Some(archive), false) => {
            AfterTaking::Archive(folder_setting(item, archive, "archive", &mut problems))
        }
        (None, true) => AfterTaking::Delete,
        (Some(archive), true) => {
            problems.push(problem(
                item,
                archive,
                "set either archive or delete: true, not both",
                None,
            ));
            AfterTaking::Delete
        }
        (None, false) => {
            let mut diagnostic = item.diagnostic(
                item.settings_location(),
                "a file service needs `archive: FOLDER` or `delete: true`",
            );
            diagnostic.hint =
                Some("taken files must go somewhere so they are not read twice".into());
            problems.push(diagnostic);
            AfterTaking::Delete
        }
    };
    for (name, other) in [
        ("error", Some(&error_folder)),
        ("archive", archived(&after)),
    ] {
        if other == Some(&folder) {
            problems.push(item.diagnostic(
                settings.path.at,
                format!("the {name} folder must not be the polled folder"),
            ));
        }
    }

    let glob = glob_pattern(item, settings.glob.as_ref(), &mut problems);
    let kind = content_kind(item, settings.content.as_ref(), &mut problems);
    let charset = charset_choice(
        item,
        settings.charset.as_ref(),
        settings.force_charset,
        &mut problems,
    );

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(InboundConfig {
        folder,
        glob,
        poll_interval: duration(settings.poll_interval.as_ref(), Duration::from_secs(1)),
        quiet_period: duration(settings.quiet_period.as_ref(), Duration::from_secs(1)),
        after,
        error_folder,
        kind,
        split: settings.split.unwrap_or(true),
        charset,
        normalise_terminators: settings.normalise_terminators.unwrap_or(true),
        lenient_terminators: settings.lenient_terminators.unwrap_or(true),
    })
}

/// Reads and checks a file operation's settings.
pub(crate) fn outbound(item: &Item) -> Result<OutboundConfig, Diagnostics> {
    let settings: OutboundSettings = item.settings()?;
    let mut problems = Diagnostics::default();

    let folder = folder(item, &settings.path, "path", &mut problems);
    let (text, at) = match &settings.filename {
        Some(template) => (template.value.as_str(), template.at),
        None => (DEFAULT_FILENAME, item.settings_location()),
    };
    let filename = match Template::parse(text) {
        Ok(template) => Some(template),
        Err(error) => {
            let mut diagnostic = item.diagnostic(at, format!("bad file name template: {error}"));
            diagnostic.hint = Some(TEMPLATE_HINT.to_owned());
            problems.push(diagnostic);
            None
        }
    };

    match filename {
        Some(filename) if problems.is_empty() => Ok(OutboundConfig {
            folder,
            filename,
            overwrite: settings.overwrite,
            mode: settings.mode.map(|mode| mode.bits()),
            create_folder: settings.create_folder.unwrap_or(true),
            fsync: settings.fsync.unwrap_or(true),
        }),
        _ => Err(problems),
    }
}

fn archived(after: &AfterTaking) -> Option<&PathBuf> {
    match after {
        AfterTaking::Archive(folder) => Some(folder),
        AfterTaking::Delete => None,
    }
}

fn problem(
    item: &Item,
    setting: &Setting<impl Sized>,
    message: &str,
    hint: Option<&str>,
) -> ferry_production::Diagnostic {
    let mut diagnostic = item.diagnostic(setting.at, message.to_owned());
    diagnostic.hint = hint.map(str::to_owned);
    diagnostic
}

fn folder(
    item: &Item,
    setting: &Setting<String>,
    name: &str,
    problems: &mut Diagnostics,
) -> PathBuf {
    folder_setting(item, setting, name, problems)
}

fn folder_setting(
    item: &Item,
    setting: &Setting<String>,
    name: &str,
    problems: &mut Diagnostics,
) -> PathBuf {
    if setting.value.trim().is_empty() {
        problems.push(problem(
            item,
            setting,
            &format!("`{name}` must name a folder"),
            None,
        ));
    }
    PathBuf::from(&setting.value)
}

fn glob_pattern(
    item: &Item,
    setting: Option<&Setting<String>>,
    problems: &mut Diagnostics,
) -> glob::Pattern {
    let Some(setting) = setting else {
        return glob::Pattern::new("*").unwrap_or_default();
    };
    match glob::Pattern::new(&setting.value) {
        Ok(pattern) => pattern,
        Err(error) => {
            problems.push(problem(
                item,
                setting,
                &format!("bad glob: {error}"),
                Some("e.g. '*.hl7'"),
            ));
            glob::Pattern::default()
        }
    }
}

fn content_kind(
    item: &Item,
    setting: Option<&Setting<String>>,
    problems: &mut Diagnostics,
) -> ContentKind {
    let Some(setting) = setting else {
        return ContentKind::Hl7v2;
    };
    ContentKind::from_name(&setting.value).unwrap_or_else(|| {
        problems.push(problem(
            item,
            setting,
            &format!("unknown content '{}'", setting.value),
            Some("one of hl7v2, xml, json, text, binary"),
        ));
        ContentKind::Binary
    })
}

fn charset_choice(
    item: &Item,
    setting: Option<&Setting<String>>,
    force: bool,
    problems: &mut Diagnostics,
) -> CharsetChoice {
    let encoding = match setting {
        None => encoding_rs::UTF_8,
        Some(setting) => match find_encoding(&setting.value) {
            Some(encoding) => encoding,
            None => {
                problems.push(problem(
                    item,
                    setting,
                    &format!("unknown charset '{}'", setting.value),
                    Some(CHARSET_HINT),
                ));
                encoding_rs::UTF_8
            }
        },
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

fn duration(setting: Option<&DurationSetting>, default: Duration) -> Duration {
    setting.map(DurationSetting::duration).unwrap_or(default)
}
