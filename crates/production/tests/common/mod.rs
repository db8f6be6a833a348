//! Helpers shared by the integration tests.

#![allow(
    dead_code,
    reason = "each test file uses its own subset of the helpers"
)]

use ferry_production::{Loaded, Source, parse};

/// A service sending to an operation; cases append to it or replace parts.
pub(crate) const BASE: &str = "production: p
items:
  - name: In
    service: file
    targets: [Out]
  - name: Out
    operation: file
";

/// Loads `text` as `p.yaml` with an empty environment.
pub(crate) fn load(text: &str) -> Loaded {
    parse(Source::new("p.yaml", text), &|_| None)
}

/// Every diagnostic of `text`, displayed and sorted by position.
pub(crate) fn problems(text: &str) -> Vec<String> {
    shown(&load(text))
}

/// The diagnostics of a load, displayed and sorted by position.
pub(crate) fn shown(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .sorted()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// The one diagnostic of `text`.
pub(crate) fn problem(text: &str) -> String {
    let found = problems(text);
    assert_eq!(found.len(), 1, "expected one problem, found {found:#?}");
    found.into_iter().next().unwrap_or_default()
}
