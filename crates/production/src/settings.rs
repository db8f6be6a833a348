//! An item's `settings:`, read by its adapter one key at a time.
//!
//! Owns [`SettingsReader`] and what the loader records for it about an item's `settings:`
//! ([`SettingsText`]): where it is, its keys as written, and where its text can be read on
//! its own. serde stops at the first error of a struct, so one misspelt key would hide a
//! bad duration, which would hide a missing folder. The reader instead deserializes every
//! key on its own from the `settings:` mapping, with the same rules and exact positions as
//! the rest of the file (see [`crate::document`]), reports every key the adapter does not
//! know, and collects every problem, the adapter's own checks included, until
//! [`SettingsReader::finish`] returns them all.
//!
//! A mapping without aliases is read from a copy of its own text, at its own lines and
//! columns, so reading a key costs the size of the settings rather than of the file. A
//! mapping read through an alias (`settings: *common`) is read where the anchor defines
//! it, so a problem in shared settings is reported once, where it can be fixed.

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::document::Step;
use crate::load::Context;
use crate::model::Item;
use crate::outline::Node;
use crate::{suggest, yaml_error};

/// What the loader knows about an item's `settings:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingsText {
    /// Where the value starts (the first key of a block mapping).
    pub(crate) at: Location,
    /// Its keys as written, with their positions (`None` for a key that is not text);
    /// `None` when the value is not a mapping.
    pub(crate) keys: Option<Vec<(Option<String>, Location)>>,
    /// The bytes that hold the mapping and nothing else, when it can be read alone.
    pub(crate) alone: Option<(usize, usize)>,
}

impl SettingsText {
    /// Records the `settings:` value `node` (an alias already followed to its anchor).
    pub(crate) fn of(cx: &Context<'_>, node: &Node) -> SettingsText {
        let keys = node.entries().map(|_| {
            cx.outline
                .entries(node)
                .map(|(key, _)| (key.text().map(str::to_owned), key.at))
                .collect()
        });
        SettingsText {
            at: node.at,
            keys,
            alone: alone(cx, node),
        }
    }

    /// Whether `key` is written.
    fn has(&self, key: &str) -> bool {
        let keys = self.keys.as_deref().unwrap_or_default();
        keys.iter().any(|(name, _)| name.as_deref() == Some(key))
    }
}

/// The bytes of a mapping that can be read without the rest of the file: a flow mapping
/// from its `{` to its `}`; a block mapping from its first key to the end of its last line,
/// never into the line where the next node starts.
fn alone(cx: &Context<'_>, node: &Node) -> Option<(usize, usize)> {
    if node.entries().is_none() || cx.outline.has_alias(node) || cx.outline.has_lone_cr() {
        return None;
    }
    let text = &cx.source().text;
    if text.as_bytes().get(node.offset) == Some(&b'{') {
        return Some((node.offset, node.end));
    }
    let line_start = |offset: usize| {
        let before = text.get(..offset).unwrap_or_default();
        before.rfind('\n').map_or(0, |newline| newline + 1)
    };
    let line_end = text
        .get(node.end..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |newline| node.end + newline + 1);
    let next = cx
        .outline
        .next_start(node.end)
        .map_or(text.len(), line_start);
    let end = line_end.min(next);
    (node.offset < end).then_some((node.offset, end))
}

/// Reads an item's `settings:` key by key and collects every problem, so that an adapter
/// reports all of them in one run.
///
/// Made by [`Item::settings_reader`] with every key the adapter accepts; each key of the
/// settings not in that list is reported at once, with the closest known key as a hint.
/// Then, for each setting, [`SettingsReader::optional`] or [`SettingsReader::required`]
/// reads it as any serde type (usually [`crate::Setting`] and the other setting types,
/// which keep their position); a value that cannot be read is collected and reads as
/// `None`. The adapter runs its own checks on whatever was read, adds what it finds with
/// [`SettingsReader::push`], and ends with [`SettingsReader::finish`].
///
/// ```
/// use ferry_production::{DurationSetting, Setting, Source, parse};
///
/// let text = "production: p\nitems:\n  - name: Out\n    operation: file\n    \
///             settings: { pth: ./out, timeout: 5 sec }\n";
/// let production = parse(Source::new("p.yaml", text), &|_| None).production.unwrap();
/// let item = &production.items[0];
///
/// let mut reader = item.settings_reader(&["path", "timeout"]);
/// let path: Option<Setting<String>> = reader.required("path");
/// let timeout: Option<DurationSetting> = reader.optional("timeout");
/// let folder = path.map(|path| (path.value, timeout));
/// assert_eq!(
///     reader.finish(folder).unwrap_err().to_string(),
///     "p.yaml:5:15: `path` is required\n\
///      p.yaml:5:17: unknown key `pth` in `settings`\n  hint: did you mean `path`?\n\
///      p.yaml:5:38: bad duration '5 sec': expected a number and a unit, e.g. 500ms, 5s, \
///      1m, 2h, 7d"
/// );
/// ```
#[derive(Debug)]
pub struct SettingsReader<'i> {
    item: &'i Item,
    /// The settings' own text, when they can be read without the rest of the file.
    copy: Option<String>,
    /// False when `settings:` is not a mapping; that is reported once and nothing is read.
    mapping: bool,
    problems: Diagnostics,
    /// Settings that were written but could not be read.
    failed: Vec<String>,
}

impl<'i> SettingsReader<'i> {
    pub(crate) fn new(item: &'i Item, known: &[&str]) -> SettingsReader<'i> {
        let mut reader = SettingsReader {
            item,
            copy: None,
            mapping: true,
            problems: Diagnostics::new(),
            failed: Vec::new(),
        };
        let Some(settings) = &item.settings else {
            return reader;
        };
        let Some(keys) = &settings.keys else {
            let message = "`settings` must be a mapping of setting names to values";
            let hint = "e.g. settings: { path: ./in }";
            reader.push(item.diagnostic(settings.at, message).with_hint(hint));
            reader.mapping = false;
            return reader;
        };
        for (key, at) in keys {
            let diagnostic = match key {
                None => item.diagnostic(*at, "expected a key name in `settings`"),
                Some(key) if known.contains(&key.as_str()) => continue,
                Some(key) => item
                    .diagnostic(*at, format!("unknown key `{key}` in `settings`"))
                    .with_hint(suggest::hint(key, known.iter().copied())),
            };
            reader.push(diagnostic);
        }
        reader.copy = settings
            .alone
            .and_then(|(start, end)| item.document.alone(start, end));
        reader
    }

    /// Reads the setting `key` if it is written and not null (`~` or nothing). A value
    /// that cannot be read as `T` is collected as a problem and reads as `None`.
    pub fn optional<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.has(key) {
            return None;
        }
        self.read::<Option<T>>(key).flatten()
    }

    /// Reads the setting `key`, which must be written. A missing key is collected as
    /// "`key` is required" at the settings' position ([`Item::settings_location`]); a
    /// value that cannot be read as `T` is collected as a problem. Either reads as `None`.
    pub fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.mapping {
            return None;
        }
        if !self.has(key) {
            let at = self.item.settings_location();
            self.push(self.item.diagnostic(at, format!("`{key}` is required")));
            return None;
        }
        self.read::<T>(key)
    }

    /// Adds a problem the adapter found, such as a value out of range; build it with
    /// [`Item::diagnostic`] at the setting's position.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.problems.push(diagnostic);
    }

    /// Whether `key` was written but could not be read (its problem is collected). A
    /// check between settings uses it to stay quiet about a setting that reads as `None`
    /// only because it was written wrong.
    pub fn failed(&self, key: &str) -> bool {
        self.failed.iter().any(|failed| failed == key)
    }

    /// The item whose settings are read.
    pub fn item(&self) -> &'i Item {
        self.item
    }

    /// Ends the reading. `built` is what the adapter made of the settings, `None` when a
    /// setting it needs could not be read.
    ///
    /// # Errors
    ///
    /// Every problem collected, sorted by position when displayed. A `built` of `None`
    /// with no problem collected (a setting whose `${…}` reference the loader reports, or
    /// an adapter that gave up without saying why) is still an error, never an empty list:
    /// an empty list would read as "nothing wrong".
    pub fn finish<T>(mut self, built: Option<T>) -> Result<T, Diagnostics> {
        match built {
            Some(built) if self.problems.is_empty() => Ok(built),
            None if self.problems.is_empty() => {
                let at = self.item.settings_location();
                let message = format!("the settings of `{}` cannot be used", self.item.name);
                self.push(self.item.diagnostic(at, message));
                Err(self.problems)
            }
            _ => Err(self.problems),
        }
    }

    fn has(&self, key: &str) -> bool {
        (self.item.settings.as_ref()).is_some_and(|settings| settings.has(key))
    }

    /// Deserializes the value of `key` on its own; a problem is collected.
    fn read<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let document = &self.item.document;
        let read = match &self.copy {
            Some(copy) => document.read_copy(copy, &[Step::Key(key)]),
            None => document.read_item(self.item.text, &[Step::Key("settings"), Step::Key(key)]),
        };
        if read.is_err() {
            self.failed.push(key.to_owned());
        }
        match read {
            Ok(value) => value,
            // The loader reports a bad `${…}` at the reference itself.
            Err(error) if yaml_error::is_interpolation(&error) => None,
            Err(error) => {
                self.push(document.describe(&error));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diagnostic::Source;
    use crate::positioned::Positioned;

    /// Reads every setting of every item twice, from the settings' own copy and through
    /// the whole item; values, positions and errors must be the same. Returns how many
    /// items had a copy.
    fn read_both_ways(text: &str) -> usize {
        let loaded = crate::parse(Source::new("t.yaml", text), &|_| None);
        let Some(production) = loaded.production else {
            return 0;
        };
        let mut copies = 0;
        for item in production.items.iter().chain(&production.rejected) {
            let Some(keys) = item.settings.as_ref().and_then(|s| s.keys.clone()) else {
                continue;
            };
            let mut alone = SettingsReader::new(item, &[]);
            let mut whole = SettingsReader::new(item, &[]);
            copies += usize::from(alone.copy.is_some());
            whole.copy = None;
            for key in keys.iter().filter_map(|(key, _)| key.as_deref()) {
                let from_copy = alone.read::<Positioned>(key);
                let from_file = whole.read::<Positioned>(key);
                assert_eq!(from_copy, from_file, "`{key}` of {text:?}");
            }
            let shown = |reader: SettingsReader<'_>| reader.problems.to_string();
            assert_eq!(shown(alone), shown(whole), "{text:?}");
        }
        copies
    }

    const LAYOUTS: &str = "production: p
items:
- name: A
  service: file
  targets: [B]
  settings: { path: './in', when: 'x''y',
     deep: {a: [1, {b: c}]} }   # a comment
- name: B
  operation: file
  settings: &shared
    note: |
      line one
        line two
    # between keys
    kept: |+
      kept

    flag: yes
    empty:
  pool: 2
- {name: C, operation: file, settings: {path: x, n: 010}}
- name: D
  operation: file
  settings: !!map
    path: \"a\\tb\"
    list:
      - 1
      - [2, 3]
- name: E
  operation: file
  settings:
    last: >-
      folded
      text
store: {}
";

    #[test]
    fn a_setting_read_alone_reads_like_the_whole_file() {
        assert_eq!(read_both_ways(LAYOUTS), 5);
        assert_eq!(read_both_ways(&LAYOUTS.replace('\n', "\r\n")), 5);
        let indented: String = LAYOUTS.lines().map(|line| format!("  {line}\n")).collect();
        assert_eq!(read_both_ways(&indented), 5);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn settings_read_alone_survive_edits(
            deleted in prop::collection::vec(0..40usize, 0..4),
            indented in prop::collection::vec(0..40usize, 0..3),
            replaced in prop::collection::vec((0..LAYOUTS.len(), 0..14usize), 0..3),
        ) {
            let text = crate::mutation::mutated(LAYOUTS, &deleted, &indented, &replaced);
            read_both_ways(&text);
        }
    }
}
