//! Loading a production: reading the file, then every check, in order.
//!
//! Owns [`load`], [`parse`] and [`Loaded`]. The steps: parse the outline (a syntax error
//! stops here); report repeated keys, unset variables and unknown keys from it; then read
//! the name, `store` and each item on its own with serde; then check what items refer to
//! (targets, cycles). Every step reports all it finds, so one run shows every problem the
//! loader can reach.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source};
use crate::document::{Document, ItemText, Step};
use crate::interpolation::Variables;
use crate::model::Production;
use crate::outline::{Node, Outline};
use crate::{admin, items, routes, schema, store, yaml_error};

/// The result of loading a production.
#[derive(Debug)]
pub struct Loaded {
    /// The production, when the file is a YAML mapping. Items that failed validation are
    /// left out of its `items` (and kept in its `rejected`); their problems are in
    /// `diagnostics`.
    pub production: Option<Production>,
    /// Every problem found. The caller adds the adapters' settings problems and refuses
    /// to start unless this is empty.
    pub diagnostics: Diagnostics,
}

impl Loaded {
    fn failed(diagnostic: Diagnostic) -> Loaded {
        Loaded {
            production: None,
            diagnostics: diagnostic.into(),
        }
    }
}

/// Reads and checks a production file. A file that cannot be read, or is not UTF-8, is a
/// diagnostic naming the path and the reason.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let message = format!("cannot read the production file: {error}");
            return Loaded::failed(Diagnostic::new(name, Location::FILE, message));
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => parse(Source::new(name, text), env),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&error.as_bytes()[..valid]);
            let at = Location::of_offset(&before, before.len());
            let message = "the production file is not UTF-8 text";
            Loaded::failed(Diagnostic::new(name, at, message))
        }
    }
}

/// Checks a production held in memory; `env` answers `${NAME}` look-ups (pass
/// `&|name| std::env::var(name).ok()` for the process environment).
pub fn parse(source: Source, env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    let source = Arc::new(source);
    let outline = match Outline::parse(&source) {
        Ok(outline) => outline,
        Err(fatal) => return Loaded::failed(fatal),
    };

    let mut diagnostics = outline.repeated_keys(&source);
    let variables = Variables::lookup(&source.text, env);
    let (reference_problems, unusable) = variables.check(&outline, &source);
    diagnostics.extend(reference_problems);

    let Some(root) = outline.root().filter(|root| root.entries().is_some()) else {
        diagnostics.push(not_a_production(&source, outline.root()));
        return Loaded {
            production: None,
            diagnostics,
        };
    };
    let mut checks = schema::unknown_keys(&outline, root, &source);

    let document = Arc::new(Document::new(Arc::clone(&source), variables));
    let context = Context {
        outline: &outline,
        document: &document,
    };
    let production = context.production(root, &mut checks);
    checks.retain(|diagnostic| !unusable.contains(&diagnostic.at));
    diagnostics.extend(checks);
    Loaded {
        production: Some(production),
        diagnostics,
    }
}

fn not_a_production(source: &Source, root: Option<&Node>) -> Diagnostic {
    let (at, message) = match root {
        None => (Location::START, "the file is empty"),
        Some(root) => (
            root.at,
            "a production file is a mapping, not a single value or a list",
        ),
    };
    Diagnostic::new(&source.name, at, message)
        .with_hint("start with `production: NAME`, then `items:` listing the items")
}

/// What every check reads from: the outline and the document.
pub(crate) struct Context<'a> {
    pub(crate) outline: &'a Outline,
    pub(crate) document: &'a Arc<Document>,
}

impl Context<'_> {
    pub(crate) fn source(&self) -> &Source {
        &self.document.source
    }

    /// A diagnostic in this file.
    pub(crate) fn error(&self, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.source().name, at, message)
    }

    /// Reads the node at `path`. `Err` means it could not be read; the reason is in
    /// `problems` unless it is a `${…}` problem, reported already.
    pub(crate) fn read<T: DeserializeOwned>(
        &self,
        path: &[Step<'_>],
        problems: &mut Diagnostics,
    ) -> Result<Option<T>, ()> {
        self.document.read(path).map_err(|error| {
            if !yaml_error::is_interpolation(&error) {
                problems.push(self.document.describe(&error));
            }
        })
    }

    /// Reads the node at `path` inside an item, like [`Context::read`].
    pub(crate) fn read_item<T: DeserializeOwned>(
        &self,
        item: ItemText,
        path: &[Step<'_>],
        problems: &mut Diagnostics,
    ) -> Result<Option<T>, ()> {
        self.document.read_item(item, path).map_err(|error| {
            if !yaml_error::is_interpolation(&error) {
                problems.push(self.document.describe(&error));
            }
        })
    }

    fn production(&self, root: &Node, problems: &mut Diagnostics) -> Production {
        let name = self.name(root, problems);
        let description = self
            .read(&[Step::Key("description")], problems)
            .ok()
            .flatten();
        let store = store::read(self, root, &name, problems);
        let admin = admin::read(self, root, problems);
        let entries = items::read(self, root, problems);
        let checked = routes::check(self, entries, problems);
        Production {
            name,
            description,
            store,
            admin,
            items: checked.items,
            rejected: checked.rejected,
            source: Arc::clone(&self.document.source),
        }
    }

    /// `production:`, which also names the store folder.
    fn name(&self, root: &Node, problems: &mut Diagnostics) -> String {
        if self.outline.given(root, "production").is_none() {
            let diagnostic = self.error(root.at, "missing `production:`, the production's name");
            problems.push(diagnostic.with_hint("e.g. production: adt-hub"));
            return String::new();
        }
        let read = self.read::<Spanned<String>>(&[Step::Key("production")], problems);
        let Ok(Some(name)) = read else {
            return String::new();
        };
        if let Some(reason) = unusable_folder_name(&name.value) {
            let message = format!(
                "production name `{}` cannot be used as a folder name: {reason}",
                name.value
            );
            let hint = "the store folder is ./var/<name> by default; use letters, digits, - and _";
            problems.push(self.error(name.referenced.into(), message).with_hint(hint));
        }
        name.value
    }
}

/// Why a name cannot be a folder name on Linux, macOS and Windows alike.
fn unusable_folder_name(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        return Some("it is empty");
    }
    if name == "." || name == ".." {
        return Some("it means the current or the parent folder");
    }
    if name.contains(['/', '\\']) {
        return Some("it contains a path separator");
    }
    if name.chars().any(char::is_control) {
        return Some("it contains a control character");
    }
    if name.contains(['<', '>', ':', '"', '|', '?', '*']) {
        return Some("it contains a character Windows does not allow in file names");
    }
    if name.starts_with(' ') || name.ends_with([' ', '.']) {
        return Some("it starts with a space or ends with a space or a dot");
    }
    if name.len() > 255 {
        return Some("it is longer than 255 bytes");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_must_be_portable() {
        assert_eq!(unusable_folder_name("adt-hub"), None);
        assert_eq!(unusable_folder_name("Lab results 2"), None);
        for bad in ["", " ", "..", "a/b", "a\\b", "a:b", "a\u{7}", "a.", " a"] {
            assert!(unusable_folder_name(bad).is_some(), "{bad:?}");
        }
    }
}
