//! The file adapter's settings, as a production writes them, and their checks.
//!
//! Each setting is read on its own through a [`SettingsReader`], and every check runs on
//! whatever could be read, so one run of `ferry validate` reports every problem of an
//! item's settings: an unknown key, a bad duration, a bad glob and a missing folder
//! together. A configuration is returned only when there is no problem at all.

use std::path::PathBuf;
use std::time::Duration;

use ferry_adapter::{CharsetChoice, FolderUse, charset_choice, setting_problem};
use ferry_message::ContentKind;
use ferry_production::{Diagnostics, DurationSetting, FileMode, Item, Setting, SettingsReader};

use crate::template::Template;

/// The settings of `service: file`.
const INBOUND_KEYS: &[&str] = &[
    // The folder to poll.
    "path",
    // Which file names to take (default `*`).
    "glob",
    // How often to look (default 1s).
    "poll_interval",
    // How long size and modification time must stay unchanged (default 1s).
    "quiet_period",
    // Where taken files go.
    "archive",
    // Delete taken files instead of archiving them.
    "delete",
    // Where unreadable or unusable files go.
    "error",
    // What the files hold (default hl7v2).
    "content",
    // Split HL7 files holding several messages or batches (default true).
    "split",
    // The charset of messages that declare none (default UTF-8).
    "charset",
    // Use `charset` even when a message declares another (for senders that lie).
    "force_charset",
    // Turn CRLF and LF segment terminators into CR (default true).
    "normalise_terminators",
    // Accept a message with no CR at all by splitting its segments on LF (default true).
    "lenient_terminators",
];

/// The settings of `operation: file`.
const OUTBOUND_KEYS: &[&str] = &[
    // The folder to write to.
    "path",
    // The file name template (default `{id}.hl7`).
    "filename",
    // Replace a file that has the same name instead of adding a suffix.
    "overwrite",
    // Permissions of written files, as a quoted octal string like '0640'.
    "mode",
    // Create the folder when it is missing (default true).
    "create_folder",
    // fsync each file and the folder before the message counts as delivered (default true).
    "fsync",
];

/// The shortest poll interval: each poll lists the whole folder, so polling faster only
/// burns CPU (`0s` would spin a core) without taking files any sooner in practice.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

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
    /// The polled, error and archive folders, for the production-wide loop check.
    pub(crate) folders: Vec<FolderUse>,
}

/// What happens to a file once its messages are durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterTaking {
    Archive(PathBuf),
    Delete,
}

/// The file name when a production gives none: the message id is always unique.
const DEFAULT_FILENAME: &str = "{id}.hl7";

const TEMPLATE_HINT: &str = "placeholders are {id}, {session}, {source}, {doctype}, {date}, \
    {time}, {seq} and HL7 paths such as {MSH-10}; write {{ and }} for braces";

/// The checked outbound configuration.
#[derive(Debug, Clone)]
pub(crate) struct OutboundConfig {
    pub(crate) folder: PathBuf,
    pub(crate) filename: Template,
    pub(crate) overwrite: bool,
    pub(crate) mode: Option<u32>,
    pub(crate) create_folder: bool,
    pub(crate) fsync: bool,
    /// The folder written, for the production-wide loop check.
    pub(crate) folders: Vec<FolderUse>,
}

fn folder_use(setting: &Setting<String>, name: &'static str, polled: bool) -> FolderUse {
    FolderUse {
        path: PathBuf::from(&setting.value),
        polled,
        setting: name,
        at: setting.at,
    }
}

/// Reads and checks a file service's settings.
pub(crate) fn inbound(item: &Item) -> Result<InboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(INBOUND_KEYS);
    let path = reader.required::<Setting<String>>("path");
    let glob = reader.optional::<Setting<String>>("glob");
    let poll_interval = reader.optional::<DurationSetting>("poll_interval");
    let quiet_period = reader.optional::<DurationSetting>("quiet_period");
    let archive = reader.optional::<Setting<String>>("archive");
    let delete = reader.optional::<bool>("delete").unwrap_or(false);
    let error = reader.required::<Setting<String>>("error");
    let content = reader.optional::<Setting<String>>("content");
    let split = reader.optional::<bool>("split").unwrap_or(true);
    let charset = reader.optional::<Setting<String>>("charset");
    let force_charset = reader.optional::<bool>("force_charset").unwrap_or(false);
    let normalise_terminators = reader.optional::<bool>("normalise_terminators");
    let lenient_terminators = reader.optional::<bool>("lenient_terminators");

    let folder = path
        .as_ref()
        .map(|path| folder_setting(&mut reader, path, "path"));
    let error_folder = error
        .as_ref()
        .map(|error| folder_setting(&mut reader, error, "error"));
    let after = after_taking(&mut reader, archive.as_ref(), delete);
    if let (Some(path), Some(folder)) = (&path, &folder) {
        for (name, other) in [
            ("error", error_folder.as_ref()),
            ("archive", after.as_ref().and_then(archived)),
        ] {
            if other == Some(folder) {
                let message = format!("the {name} folder must not be the polled folder");
                setting_problem(&mut reader, path.at, message, None);
            }
        }
    }

    let glob = glob_pattern(&mut reader, glob.as_ref());
    let poll_interval = poll_interval_of(&mut reader, poll_interval.as_ref());
    let kind = content_kind(&mut reader, content.as_ref());
    let charset = charset_choice(&mut reader, charset.as_ref(), force_charset);

    let folders = [
        (path.as_ref(), "path", true),
        (error.as_ref(), "error", false),
        (archive.as_ref(), "archive", false),
    ]
    .into_iter()
    .filter_map(|(setting, name, polled)| setting.map(|s| folder_use(s, name, polled)))
    .collect();

    let config = match (folder, error_folder, after, glob) {
        (Some(folder), Some(error_folder), Some(after), Some(glob)) => Some(InboundConfig {
            folder,
            glob,
            poll_interval,
            quiet_period: duration(quiet_period.as_ref(), Duration::from_secs(1)),
            after,
            error_folder,
            kind,
            split,
            charset,
            normalise_terminators: normalise_terminators.unwrap_or(true),
            lenient_terminators: lenient_terminators.unwrap_or(true),
            folders,
        }),
        _ => None,
    };
    reader.finish(config)
}

/// Reads and checks a file operation's settings.
pub(crate) fn outbound(item: &Item) -> Result<OutboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(OUTBOUND_KEYS);
    let path = reader.required::<Setting<String>>("path");
    let filename = reader.optional::<Setting<String>>("filename");
    let overwrite = reader.optional::<bool>("overwrite").unwrap_or(false);
    let mode = reader.optional::<FileMode>("mode");
    let create_folder = reader.optional::<bool>("create_folder").unwrap_or(true);
    let fsync = reader.optional::<bool>("fsync").unwrap_or(true);

    let folder = path
        .as_ref()
        .map(|path| folder_setting(&mut reader, path, "path"));
    let (text, at) = match &filename {
        Some(template) => (template.value.as_str(), template.at),
        None => (DEFAULT_FILENAME, item.settings_location()),
    };
    let filename = match Template::parse(text) {
        Ok(template) => Some(template),
        Err(error) => {
            let message = format!("bad file name template: {error}");
            setting_problem(&mut reader, at, message, Some(TEMPLATE_HINT));
            None
        }
    };

    let folders = path
        .iter()
        .map(|path| folder_use(path, "path", false))
        .collect();
    let config = match (folder, filename) {
        (Some(folder), Some(filename)) => Some(OutboundConfig {
            folder,
            filename,
            overwrite,
            mode: mode.map(|mode| mode.bits()),
            create_folder,
            fsync,
            folders,
        }),
        _ => None,
    };
    reader.finish(config)
}

/// Archive or delete: exactly one of them. Quiet when either was written but could not be
/// read, since that problem is reported already.
fn after_taking(
    reader: &mut SettingsReader<'_>,
    archive: Option<&Setting<String>>,
    delete: bool,
) -> Option<AfterTaking> {
    match (archive, delete) {
        (Some(archive), false) => Some(AfterTaking::Archive(folder_setting(
            reader, archive, "archive",
        ))),
        (None, true) => Some(AfterTaking::Delete),
        (Some(archive), true) => {
            let message = "set either archive or delete: true, not both";
            setting_problem(reader, archive.at, message, None);
            None
        }
        (None, false) if reader.failed("archive") || reader.failed("delete") => None,
        (None, false) => {
            let at = reader.item().settings_location();
            let message = "a file service needs `archive: FOLDER` or `delete: true`";
            let hint = "taken files must go somewhere so they are not read twice";
            setting_problem(reader, at, message, Some(hint));
            None
        }
    }
}

fn archived(after: &AfterTaking) -> Option<&PathBuf> {
    match after {
        AfterTaking::Archive(folder) => Some(folder),
        AfterTaking::Delete => None,
    }
}

fn folder_setting(
    reader: &mut SettingsReader<'_>,
    setting: &Setting<String>,
    name: &str,
) -> PathBuf {
    if setting.value.trim().is_empty() {
        let message = format!("`{name}` must name a folder");
        setting_problem(reader, setting.at, message, None);
    }
    PathBuf::from(&setting.value)
}

/// The glob, which matches names inside the polled folder only.
fn glob_pattern(
    reader: &mut SettingsReader<'_>,
    setting: Option<&Setting<String>>,
) -> Option<glob::Pattern> {
    let Some(setting) = setting else {
        return glob::Pattern::new("*").ok();
    };
    if setting.value.contains('/') {
        let message = format!(
            "glob '{}' contains `/`: it matches file names in the polled folder only",
            setting.value
        );
        let hint = "put the folder in `path` and the name pattern in `glob`, e.g. glob: \
                    '*.hl7'; sub-folders are never searched (no `**`)";
        setting_problem(reader, setting.at, message, Some(hint));
        return None;
    }
    match glob::Pattern::new(&setting.value) {
        Ok(pattern) => Some(pattern),
        Err(error) => {
            let message = format!("bad glob '{}': {error}", setting.value);
            setting_problem(reader, setting.at, message, Some("e.g. '*.hl7'"));
            None
        }
    }
}

fn poll_interval_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<&DurationSetting>,
) -> Duration {
    let Some(setting) = setting else {
        return Duration::from_secs(1);
    };
    if setting.value < MIN_POLL_INTERVAL {
        let message = format!(
            "`poll_interval` must be at least {}ms",
            MIN_POLL_INTERVAL.as_millis()
        );
        let hint = "each poll lists the folder; polling faster only burns CPU";
        setting_problem(reader, setting.at, message, Some(hint));
    }
    setting.value
}

fn content_kind(reader: &mut SettingsReader<'_>, setting: Option<&Setting<String>>) -> ContentKind {
    let Some(setting) = setting else {
        return ContentKind::Hl7v2;
    };
    ContentKind::from_name(&setting.value).unwrap_or_else(|| {
        let message = format!("unknown content '{}'", setting.value);
        let hint = "one of hl7v2, xml, json, text, binary";
        setting_problem(reader, setting.at, message, Some(hint));
        ContentKind::Binary
    })
}

fn duration(setting: Option<&DurationSetting>, default: Duration) -> Duration {
    setting.map(DurationSetting::duration).unwrap_or(default)
}
