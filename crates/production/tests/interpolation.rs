//! `${NAME}` and `${NAME:-default}` from the environment: defaults, set values, unset
//! names, values that look like YAML, and interpolation inside adapter settings.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use ferry_production::{Loaded, Setting, Source, parse};
use serde::Deserialize;

const PRODUCTION: &str = "production: env-check
store:
  path: ${FERRY_DATA:-./var/env-check}
items:
  - name: In
    service: file
    targets: [Out]
    settings:
      path: ${INBOX}
      note: \"box ${INBOX:-none} of ${OWNER:-nobody}\"
  - name: Out
    operation: file
    pool: ${POOL:-2}
    settings: { path: \"${OUTBOX:-./var/out}\", literal: '$${NOT_A_VARIABLE}' }
";

fn with_env(text: &str, env: &[(&str, &str)]) -> Loaded {
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    parse(Source::new("env.yaml", text), &lookup)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Folder {
    path: Setting<String>,
    note: Option<String>,
    literal: Option<String>,
}

#[test]
fn defaults_fill_in_for_unset_names() {
    let loaded = with_env(PRODUCTION, &[("INBOX", "/in")]);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();
    assert_eq!(production.store.path, PathBuf::from("./var/env-check"));
    assert_eq!(production.item("Out").unwrap().pool, 2);

    let out: Folder = production.item("Out").unwrap().settings().unwrap();
    assert_eq!(out.path.value, "./var/out");
    assert_eq!(out.literal.as_deref(), Some("${NOT_A_VARIABLE}"));
}

#[test]
fn set_values_replace_references_in_settings_too() {
    let env = [
        ("FERRY_DATA", "/srv/ferry"),
        ("INBOX", "/in"),
        ("OWNER", "lab"),
        ("POOL", "8"),
        ("OUTBOX", "/out"),
    ];
    let production = with_env(PRODUCTION, &env).production.unwrap();
    assert_eq!(production.store.path, PathBuf::from("/srv/ferry"));
    assert_eq!(production.item("Out").unwrap().pool, 8);

    let input: Folder = production.item("In").unwrap().settings().unwrap();
    assert_eq!(input.path.value, "/in");
    assert_eq!((input.path.at.line, input.path.at.column), (9, 13));
    assert_eq!(input.note.as_deref(), Some("box /in of lab"));
    let out: Folder = production.item("Out").unwrap().settings().unwrap();
    assert_eq!(out.path.value, "/out");
}

#[test]
fn an_empty_value_takes_the_default() {
    let production = with_env(PRODUCTION, &[("INBOX", "/in"), ("FERRY_DATA", "")]).production;
    assert_eq!(
        production.unwrap().store.path,
        PathBuf::from("./var/env-check")
    );
}

#[test]
fn an_unset_name_without_default_is_an_error_naming_it() {
    let loaded = with_env(PRODUCTION, &[]);
    assert_eq!(
        common::shown(&loaded),
        ["env.yaml:9:13: environment variable `INBOX` is not set\n  \
          hint: set it, or give a default: ${INBOX:-value}"]
    );
}

#[test]
fn every_unset_name_is_reported() {
    let text = "production: p\nitems:\n  - name: A\n    operation: ${KIND}\n    \
                settings: { a: \"${ONE}\", b: \"x ${TWO}\" }\n";
    let shown: Vec<String> = common::shown(&with_env(text, &[]))
        .iter()
        .map(|shown| shown.lines().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        shown,
        [
            "env.yaml:4:16: environment variable `KIND` is not set",
            "env.yaml:5:21: environment variable `ONE` is not set",
            "env.yaml:5:36: environment variable `TWO` is not set",
        ]
    );
}

#[test]
fn a_value_that_looks_like_yaml_stays_one_string() {
    let value = "a: b # not a comment\nsecond: line";
    let loaded = with_env(PRODUCTION, &[("INBOX", value), ("OUTBOX", "[x, y]")]);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();
    let input: Folder = production.item("In").unwrap().settings().unwrap();
    assert_eq!(input.path.value, value);
    let out: Folder = production.item("Out").unwrap().settings().unwrap();
    assert_eq!(out.path.value, "[x, y]");
}

#[test]
fn a_value_cannot_add_keys_to_a_mapping() {
    let text = "production: p\nitems:\n  - name: Out\n    operation: file\n    \
                settings: { headers: { X-A: \"${HEADER}\" } }\n";
    let loaded = with_env(text, &[("HEADER", "1, X-B: 2 }")]);
    let production = loaded.production.unwrap();

    #[derive(Deserialize)]
    struct Headers {
        headers: BTreeMap<String, String>,
    }
    let settings: Headers = production.items[0].settings().unwrap();
    assert_eq!(settings.headers.len(), 1);
    assert_eq!(settings.headers["X-A"], "1, X-B: 2 }");
}

#[test]
fn a_bare_dollar_name_is_refused_instead_of_replaced() {
    let text = "production: p\nitems:\n  - name: Out\n    operation: file\n    \
                settings: { password: 'pa$word' }\n";
    assert_eq!(
        common::shown(&with_env(text, &[("word", "secret")])),
        ["env.yaml:5:30: `$word` would be replaced by a variable\n  \
          hint: write ${word} for the variable, or $$word for a literal `$`"]
    );
}

#[test]
fn each_name_is_looked_up_once() {
    let asked = RefCell::new(Vec::new());
    let lookup = |name: &str| {
        asked.borrow_mut().push(name.to_owned());
        Some("x".to_owned())
    };
    let loaded = parse(Source::new("env.yaml", PRODUCTION), &lookup);
    let production = loaded.production.unwrap();
    let _: Folder = production.item("In").unwrap().settings().unwrap();
    let mut asked = asked.take();
    asked.sort();
    assert_eq!(
        asked,
        [
            "FERRY_DATA",
            "INBOX",
            "NOT_A_VARIABLE",
            "OUTBOX",
            "OWNER",
            "POOL"
        ]
    );
}

#[test]
fn values_from_the_environment_stay_out_of_debug_output() {
    let loaded = with_env(PRODUCTION, &[("INBOX", "s3cr3t-inbox")]);
    let shown = format!("{loaded:?}");
    assert!(!shown.contains("s3cr3t-inbox"));
}
